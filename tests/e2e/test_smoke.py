"""The browser reaches the site at all: home page in Chinese, sign-in form, no script errors."""

import pytest


@pytest.mark.django_db(transaction=True)
def test_home_and_sign_in_render_in_chinese_without_script_errors(browser_page, screenshot):
    page = browser_page
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "home")
    page.goto("/accounts/login/")
    assert page.locator("input[type=password]").count() == 1
    screenshot(page, "login")
    assert page.console_errors == []
