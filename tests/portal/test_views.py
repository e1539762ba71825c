import io
import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from apps.core.models import AuditEvent
from apps.portal import services
from apps.portal.card import card_token
from apps.portal.models import Conversation, DataRightsRequest, LookupStat
from tests.alumni.factories import ContactChannelFactory, EnrollmentFactory, PersonFactory

from .factories import verified_alumnus

pytestmark = pytest.mark.django_db

PAGES = [
    "portal:profile",
    "portal:job-edit",
    "portal:address-edit",
    "portal:privacy",
    "portal:my-data",
    "portal:directory",
    "portal:inbox",
    "portal:card",
]


def _object_pages(viewer):
    other = verified_alumnus(name="同学甲")
    contact = ContactChannelFactory(person=viewer, kind="email", value="me@example.com", status="unverified")
    conversation = services.relay_send(sender=viewer, recipient=other, subject="s", body="b", actor=viewer.user)
    return [
        reverse("portal:my-data-download", args=["json"]),
        reverse("portal:my-data-download", args=["xlsx"]),
        reverse("portal:contact-confirm", args=[contact.pk]),
        reverse("portal:directory-person", args=[other.pk]),
        reverse("portal:message-compose", args=[other.pk]),
        reverse("portal:conversation-detail", args=[conversation.pk]),
    ]


def test_pages_anonymous_go_to_sign_in(client, viewer):
    for url in [reverse(name) for name in PAGES] + _object_pages(viewer):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url


@pytest.mark.parametrize("role", ["staff", "college_staff", "liaison", "chapter_leader", "alumnus", "office_admin"])
def test_pages_accounts_without_a_record_get_403(client, viewer, request, role):
    user = request.getfixturevalue(role)
    client.force_login(user)
    for url in [reverse(name) for name in PAGES] + _object_pages(viewer):
        assert client.get(url).status_code == 403, url
    assert client.get(reverse("api-directory"), {"q": "张"}).status_code == 403


def test_pages_verified_alumnus_gets_every_page(client, viewer):
    client.force_login(viewer.user)
    for url in [reverse(name) for name in PAGES] + _object_pages(viewer):
        assert client.get(url).status_code == 200, url


def test_pages_inactive_account_is_not_verified(client, viewer):
    viewer.user.is_active = False
    viewer.user.save()
    client.force_login(viewer.user)
    assert client.get(reverse("portal:profile")).status_code in (302, 403)


def test_pages_other_peoples_objects_are_404(client, viewer):
    stranger = verified_alumnus()
    their_contact = ContactChannelFactory(person=stranger, kind="email", value="x@example.com", status="unverified")
    a, b = verified_alumnus(), verified_alumnus()
    their_conversation = services.relay_send(sender=a, recipient=b, subject="s", body="secret text", actor=a.user)
    client.force_login(viewer.user)
    assert client.get(reverse("portal:contact-confirm", args=[their_contact.pk])).status_code == 404
    assert client.post(reverse("portal:contact-remove", args=[their_contact.pk])).status_code == 404
    assert client.get(reverse("portal:conversation-detail", args=[their_conversation.pk])).status_code == 404
    assert client.post(reverse("portal:conversation-block", args=[their_conversation.pk])).status_code == 404
    their_contact.refresh_from_db()
    assert their_contact.status == "unverified"


def test_home_and_navigation(client, viewer, staff):
    response = client.get(reverse("home"))
    assert reverse("account_login") in response.content.decode()
    client.force_login(viewer.user)
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for name in ("portal:profile", "portal:directory", "portal:inbox", "portal:card"):
        assert reverse(name) in page
    assert "coming soon" in page  # events, giving, chapters, careers until their apps exist
    client.force_login(staff)
    page = client.get(reverse("home")).content.decode()
    assert reverse("portal:directory") not in page
    assert reverse("admin:index") in page


def test_profile_shows_all_my_records(client, viewer):
    EnrollmentFactory(person=viewer, student_id="2011990099")
    ContactChannelFactory(person=viewer, kind="mobile", value="13912345678")
    client.force_login(viewer.user)
    page = client.get(reverse("portal:profile")).content.decode()
    assert "2011990099" in page
    assert "13912345678" in page


def test_profile_add_email_then_confirm_by_code(client, viewer, django_capture_on_commit_callbacks):
    client.force_login(viewer.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:contact-add"), {"kind": "email", "value": "new@example.com"})
    contact = viewer.contacts.get(value="new@example.com")
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:contact-confirm", args=[contact.pk])
    code = re.search(r"\d{6}", mail.outbox[-1].subject).group(0)
    wrong = client.post(reverse("portal:contact-confirm", args=[contact.pk]), {"code": "xx"})
    assert wrong.status_code == 200
    contact.refresh_from_db()
    assert contact.status == "unverified"
    ok = client.post(reverse("portal:contact-confirm", args=[contact.pk]), {"code": code})
    assert ok.status_code == 302
    contact.refresh_from_db()
    assert contact.status == "verified"


def test_profile_add_contact_invalid_shows_the_form_again(client, viewer):
    client.force_login(viewer.user)
    response = client.post(reverse("portal:contact-add"), {"kind": "mobile", "value": "123"})
    assert response.status_code == 400
    assert not viewer.contacts.exists()


def test_job_address_and_privacy_forms_save(client, viewer):
    client.force_login(viewer.user)
    client.post(reverse("portal:job-edit"), {"organisation": "华为", "title": "工程师", "city": "深圳"})
    client.post(reverse("portal:address-edit"), {"address": "深圳市南山区1号"})
    client.post(
        reverse("portal:privacy"),
        {"privacy_contacts": "classmates", "privacy_employment": "verified", "privacy_location": "chapters"},
    )
    viewer.refresh_from_db()
    assert viewer.city == "深圳"
    assert viewer.employments.get(end_date__isnull=True).organisation == "华为"
    assert viewer.contacts.get(kind="address").value == "深圳市南山区1号"
    assert (viewer.privacy_contacts, viewer.privacy_employment, viewer.privacy_location) == (
        "classmates",
        "verified",
        "chapters",
    )
    assert viewer.show_in_directory is False  # the unticked box


def test_my_data_downloads_are_complete_and_audited(client, viewer):
    ContactChannelFactory(person=viewer, kind="address", value="我的地址")
    EnrollmentFactory(person=viewer, student_id="2011990077")
    client.force_login(viewer.user)
    response = client.get(reverse("portal:my-data-download", args=["json"]))
    assert response["Cache-Control"] == "no-store, private"
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["person"]["name"] == viewer.name
    assert data["enrollments"][0]["student_id"] == "2011990077"
    assert {c["value"] for c in data["contacts"]} == {"我的地址"}
    xlsx = client.get(reverse("portal:my-data-download", args=["xlsx"]))
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "2011990077" in values
    assert "我的地址" in values
    assert AuditEvent.objects.filter(action="person.data_copy", target_id=str(viewer.pk)).count() == 2
    assert client.get(f"{reverse('portal:my-data')}copy.csv").status_code == 404


def test_rights_request_from_the_page(client, viewer):
    client.force_login(viewer.user)
    response = client.post(
        reverse("portal:my-data"), {"kind": "deletion", "fields": ["address", "photo"], "message": "请删除"}
    )
    assert response.status_code == 302
    request = DataRightsRequest.objects.get()
    assert (request.person, request.kind, request.fields) == (viewer, "deletion", ["address", "photo"])


def test_directory_page_requires_a_criterion_and_counts_lookups(client, viewer):
    PersonFactory(name="王小明", show_in_directory=True)
    client.force_login(viewer.user)
    empty = client.get(reverse("portal:directory"))
    assert empty.status_code == 200
    assert LookupStat.objects.count() == 0
    found = client.get(reverse("portal:directory"), {"q": "王小"})
    assert "王小明" in found.content.decode()
    assert LookupStat.objects.get().kind == "name"
    assert LookupStat.objects.get().bucket == "1"
    client.get(reverse("portal:directory"), {"q": "王小", "page": 2})
    assert LookupStat.objects.get().count == 1  # paging is not a new lookup


@override_settings(
    REST_FRAMEWORK={
        **__import__("django.conf").conf.settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **__import__("django.conf").conf.settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "portal_directory": "2/min",
            "portal_card_verify": "2/min",
        },
    }
)
def test_directory_page_and_card_check_are_rate_limited(client, viewer):
    client.force_login(viewer.user)
    for _ in range(2):
        assert client.get(reverse("portal:directory"), {"q": "王"}).status_code == 200
    throttled = client.get(reverse("portal:directory"), {"q": "王"})
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    client.logout()
    url = reverse("portal:card-verify", args=["nonsense"])
    assert [client.get(url).status_code for _ in range(3)] == [404, 404, 429]


def test_messages_compose_reply_block_through_pages(client, viewer, django_capture_on_commit_callbacks):
    other = verified_alumnus(name="乙同学")
    ContactChannelFactory(person=other, kind="email", value="other@example.com")
    client.force_login(viewer.user)
    page = client.get(reverse("portal:message-compose", args=[other.pk])).content.decode()
    assert "other@example.com" not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portal:message-compose", args=[other.pk]), {"subject": "问候", "body": "你好"})
    conversation = Conversation.objects.get()
    assert response["Location"] == reverse("portal:conversation-detail", args=[conversation.pk])
    assert mail.outbox[-1].to == ["other@example.com"]
    client.force_login(other.user)
    inbox = client.get(reverse("portal:inbox")).content.decode()
    assert "问候" in inbox
    client.post(reverse("portal:conversation-detail", args=[conversation.pk]), {"body": "收到"})
    client.post(reverse("portal:conversation-block", args=[conversation.pk]), {"action": "block"})
    client.force_login(viewer.user)
    thread = client.get(reverse("portal:conversation-detail", args=[conversation.pk])).content.decode()
    assert "收到" in thread
    sent = client.post(reverse("portal:conversation-detail", args=[conversation.pk]), {"body": "再见"})
    assert sent.status_code == 302  # the same "sent" as ever
    assert conversation.messages.get(body="再见").status == "withheld"
    client.force_login(other.user)
    assert "再见" not in client.get(reverse("portal:conversation-detail", args=[conversation.pk])).content.decode()


@override_settings(PORTAL_RELAY_PER_HOUR=1)
def test_messages_rate_limit_is_a_429_form_error(client, viewer):
    other = verified_alumnus()
    client.force_login(viewer.user)
    client.post(reverse("portal:message-compose", args=[other.pk]), {"body": "一"})
    response = client.post(reverse("portal:message-compose", args=[other.pk]), {"body": "二"})
    assert response.status_code == 429
    assert Conversation.objects.count() == 1


def test_card_page_has_a_qr_code_of_a_verify_link(client, viewer):
    EnrollmentFactory(person=viewer)
    client.force_login(viewer.user)
    page = client.get(reverse("portal:card")).content.decode()
    assert "<svg" in page
    assert viewer.name in page
    assert "card-print.css" in page
    assert "<script>" not in page
    assert 'style="' not in page


def test_card_verify_says_only_valid_or_invalid(client, viewer):
    token = card_token(viewer).token
    response = client.get(reverse("portal:card-verify", args=[token]), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Valid alumnus" in body
    assert viewer.name not in body
    main = re.search(r"<main.*</main>", body, re.S).group(0)
    assert re.sub(r"<[^>]+>", " ", main).split() == ["✔", "Valid", "alumnus"]  # and nothing else
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get(reverse("portal:card-verify", args=[tampered])).status_code == 404
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert client.get(reverse("portal:card-verify", args=[token])).status_code == 404
    viewer.user.is_active = False
    viewer.user.save()
    assert client.get(reverse("portal:card-verify", args=[token])).status_code == 404


def test_card_token_is_short_enough_for_a_qr(viewer):
    assert len(card_token(viewer).token) < 80


def test_directory_page_lists_my_classmates(client, viewer, school_class):
    EnrollmentFactory(person=viewer, college=school_class.college, school_class=school_class)
    mate = PersonFactory(name="同班同学", show_in_directory=True)
    EnrollmentFactory(person=mate, college=school_class.college, school_class=school_class)
    client.force_login(viewer.user)
    page = client.get(reverse("portal:directory")).content.decode()
    assert f"?school_class={school_class.pk}" in page
    found = client.get(reverse("portal:directory"), {"school_class": school_class.pk}).content.decode()
    assert "同班同学" in found
    assert LookupStat.objects.get().kind == "class"


def test_directory_htmx_fragment_does_not_read_my_classes(client, viewer, school_class):
    EnrollmentFactory(person=viewer, college=school_class.college, school_class=school_class)
    client.force_login(viewer.user)
    page = client.get(reverse("portal:directory"), {"q": "同班"})
    assert [d.school_class_id for d in page.context["my_classes"]] == [school_class.pk]
    fragment = client.get(reverse("portal:directory"), {"q": "同班"}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "my_classes" not in fragment.context


def test_directory_page_loads_htmx_from_static_files(client, viewer):
    client.force_login(viewer.user)
    page = client.get(reverse("portal:directory")).content.decode()
    assert '<script src="/static/vendor/htmx/htmx.min.js" defer></script>' in page
    assert 'hx-get="' in page
