"""An alumnus's first visit, in a real browser: sign up, confirm the email, claim the record with a
code, change a phone number and a privacy setting, find a classmate, open the alumni card."""

import datetime
import re

import pytest
from django.core import mail

from apps.alumni.models import ContactChannel, Person
from tests.alumni.factories import (
    CollegeFactory,
    ContactChannelFactory,
    EmploymentFactory,
    EnrollmentFactory,
    PersonFactory,
    SchoolClassFactory,
)
from tests.portal.factories import verified_alumnus

PASSWORD = "Lanterns-over-the-lake-2026"
CODE = re.compile(r"\b(\d{6})\b")


def _seed_class():
    college = CollegeFactory(code="CS", name="计算机学院")
    school_class = SchoolClassFactory(college=college, name="计算机2011级1班", graduation_year=2015)
    me = PersonFactory(name="李晓梅", birth_date=datetime.date(1993, 4, 18), city="杭州")
    EnrollmentFactory(person=me, student_id="2011301234", college=college, school_class=school_class)
    ContactChannelFactory(person=me, kind=ContactChannel.Kind.EMAIL, value="xiaomei.li@alumni.example.cn")
    classmate = verified_alumnus(name="王思远", city="上海", privacy_employment="classmates")
    EnrollmentFactory(person=classmate, student_id="2011301299", college=college, school_class=school_class)
    EmploymentFactory(person=classmate, organisation="中国商用飞机有限责任公司", title="高级工程师")
    return me, classmate


def _submit(page, field_name: str):
    """Press the submit button of the form that holds ``field_name`` (not the language switch)."""
    page.locator(f"form:has([name='{field_name}']) [type=submit]").first.click()


def _last_code(outbox_text: str) -> str:
    return CODE.findall(outbox_text)[-1]


@pytest.mark.django_db(transaction=True)
def test_sign_up_claim_update_find_classmate_and_open_card(browser_page, screenshot):
    me, _classmate = _seed_class()
    page = browser_page

    # Sign up with an email address and confirm it from the message.
    page.goto("/accounts/signup/")
    page.fill("input[name=email]", "new.alumna@example.org")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    screenshot(page, "01-signup")
    _submit(page, "password1")
    page.wait_for_load_state()
    confirmation = next(m for m in mail.outbox if "new.alumna@example.org" in m.to)
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+", confirmation.body).group(0)
    page.goto(link)
    page.locator("form[action*='confirm-email'] [type=submit]").click()
    page.wait_for_url(lambda url: "confirm-email" not in url)

    # Claim my record: a unique match with a verified email on file gets a one-time code there.
    page.goto("/me/claim/")
    page.fill("input[name=name]", "李晓梅")
    page.fill("input[name=birth_date]", "1993-04-18")
    page.fill("input[name=student_id]", "2011301234")
    screenshot(page, "02-claim")
    _submit(page, "student_id")
    page.wait_for_url(re.compile(r"/me/claim/confirm/"))
    claim_mail = [m for m in mail.outbox if "xiaomei.li@alumni.example.cn" in m.to]
    assert claim_mail, "the code goes to the verified contact on file"
    page.fill("input[name=code]", _last_code(claim_mail[-1].body))
    screenshot(page, "03-claim-code")
    _submit(page, "code")
    page.wait_for_load_state()
    me.refresh_from_db()
    assert me.user is not None
    assert me.user.email == "new.alumna@example.org"

    # My profile: a new mobile number stays self-reported (unverified) until confirmed.
    page.goto("/me/")
    screenshot(page, "04-profile")
    page.select_option("select[name=kind]", "mobile")
    page.fill("input[name=value]", "+86 139-1234-5678")
    _submit(page, "value")
    page.wait_for_load_state()
    mobile = ContactChannel.objects.get(person=me, kind="mobile")
    assert mobile.value_normalised == "13912345678"
    assert mobile.status == ContactChannel.Status.UNVERIFIED

    # Privacy: let classmates see my contacts and list me in the directory.
    page.goto("/me/privacy/")
    page.select_option("select[name=privacy_contacts]", "classmates")
    if not page.is_checked("input[name=show_in_directory]"):
        page.check("input[name=show_in_directory]")
    screenshot(page, "05-privacy")
    _submit(page, "privacy_contacts")
    page.wait_for_load_state()
    me.refresh_from_db()
    assert me.privacy_contacts == "classmates"
    assert me.show_in_directory is True

    # Directory: the classmate is found by pinyin, with the employer their settings let classmates see.
    page.goto("/directory/")
    page.fill("input[name=q]", "wangsiyuan")
    _submit(page, "q")
    page.wait_for_load_state()
    results = page.locator("main")
    results.get_by_text("王思远").first.wait_for()
    assert "中国商用飞机有限责任公司" in results.inner_text()
    screenshot(page, "06-directory")

    # The alumni card carries a QR code whose verify link says only "valid".
    page.goto("/card/")
    assert page.locator("svg").count() >= 1
    assert "李晓梅" in page.locator("main").inner_text()
    screenshot(page, "07-card")

    assert Person.objects.filter(user__isnull=False).count() == 2
    assert page.console_errors == []
