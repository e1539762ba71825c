"""Staff pages render in Simplified Chinese by default and in English on request.

Only Django's own admin strings are asserted: the project's catalogue is still being written.
"""

import pytest
from django.conf import settings
from django.urls import reverse

from tests.alumni.factories import alumnus_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(college):
    person = alumnus_in(college, name="张伟")
    return {
        "index": (reverse("admin:index"), "站点管理", "Site administration"),
        "changelist": (reverse("admin:alumni_person_changelist"), 'value="搜索"', 'value="Search"'),
        "change": (reverse("admin:alumni_person_change", args=[person.pk]), "保存", "Save"),
        "contact-rate": (reverse("reports:contact-rate"), "首页", "Home"),
    }


PAGES = ["index", "changelist", "change", "contact-rate"]


def _language_switch(html: str) -> str:
    start = html.index('class="language-switch"')
    return html[start : html.index("</form>", start)]


@pytest.mark.parametrize("page", PAGES)
def test_staff_page_renders_in_simplified_chinese_by_default(client, staff, pages, page):
    url, chinese, english = pages[page]
    client.force_login(staff)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans"' in html
    assert chinese in html
    assert "欢迎" in html  # "Welcome," in the admin's user tools
    assert english not in html
    assert response["Content-Language"] == "zh-hans"
    switch = _language_switch(html)
    assert reverse("set_language") in html
    assert 'value="en"' in switch
    assert 'value="zh-hans"' not in switch


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("how", ["cookie", "accept-language"])
def test_staff_page_renders_in_english_on_request(client, staff, pages, page, how):
    url, chinese, english = pages[page]
    client.force_login(staff)
    if how == "cookie":
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = client.get(url)
    else:
        response = client.get(url, headers={"accept-language": "en-US,en;q=0.9"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en"' in html
    assert english in html
    assert "Welcome" in html
    assert chinese not in html
    assert 'value="zh-hans"' in _language_switch(html)


def test_language_switch_form_sets_english_then_back(client, staff, pages):
    client.force_login(staff)
    url = pages["index"][0]
    response = client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302
    assert response.url == url
    assert "Site administration" in client.get(url).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": url})
    assert "站点管理" in client.get(url).content.decode()


def test_unsupported_language_falls_back_to_simplified_chinese(client, staff, pages):
    client.force_login(staff)
    response = client.get(pages["index"][0], headers={"accept-language": "fr"})
    assert '<html lang="zh-hans"' in response.content.decode()
