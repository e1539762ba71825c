import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from apps.alumni.models import ContactChannel, Employment, Visibility
from apps.core.models import AuditEvent
from apps.portal import services
from apps.portal.models import ContactConfirmation, LookupStat, RelayBlock, RelayMessage
from tests.alumni.factories import ContactChannelFactory, EmploymentFactory, PersonFactory

from .factories import verified_alumnus

pytestmark = pytest.mark.django_db


def _code_from_mail() -> str:
    return re.search(r"\d{6}", mail.outbox[-1].subject).group(0)


def _audits(target) -> list[str]:
    return list(
        AuditEvent.objects.filter(target_type=target._meta.label_lower, target_id=str(target.pk)).values_list(
            "action", flat=True
        )
    )


def test_contact_add_email_is_unverified_until_the_code_comes_back(viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contact = services.contact_add(person=viewer, kind="email", value="Li.Hua@Example.com", actor=viewer.user)
    assert (contact.status, contact.source, contact.value_normalised) == (
        "unverified",
        "self-reported",
        "li.hua@example.com",
    )
    assert mail.outbox[-1].to == ["Li.Hua@Example.com"]
    assert "contactchannel.create" in _audits(contact)
    confirmed = services.contact_confirm(contact=contact, code=_code_from_mail(), actor=viewer.user)
    assert confirmed.status == "verified"
    assert confirmed.verified_at is not None
    assert "contactchannel.update" in _audits(contact)
    with pytest.raises(ValidationError) as error:  # a code works once
        services.contact_confirm(contact=contact, code=_code_from_mail(), actor=viewer.user)
    assert error.value.code == "expired"


def test_contact_add_phone_stays_self_reported_and_sends_nothing(viewer):
    contact = services.contact_add(person=viewer, kind="mobile", value="+86 139-1234-5678", actor=viewer.user)
    assert (contact.status, contact.source, contact.value_normalised) == ("unverified", "self-reported", "13912345678")
    assert not ContactConfirmation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(("kind", "value"), [("email", "not-an-email"), ("mobile", "12345"), ("address", "x")])
def test_contact_add_refuses_bad_values(viewer, kind, value):
    with pytest.raises(ValidationError):
        services.contact_add(person=viewer, kind=kind, value=value, actor=viewer.user)
    assert not viewer.contacts.exists()


@pytest.mark.parametrize("value", ["+8612345", "+86-1234-5678"])
def test_contact_add_refuses_mobile_numbers_that_are_not_numbers(viewer, value):
    with pytest.raises(ValidationError) as error:
        services.contact_add(person=viewer, kind="mobile", value=value, actor=viewer.user)
    assert error.value.code == "mobile"
    assert not viewer.contacts.exists()


@pytest.mark.parametrize("value", ["0044 7700 900123", "+44 7700 900123", "008613912345678"])
def test_contact_add_takes_mobile_numbers_as_accounts_do(viewer, value):
    contact = services.contact_add(person=viewer, kind="mobile", value=value, actor=viewer.user)
    assert (contact.value, contact.status) == (value, "unverified")


def test_contact_add_twice_is_refused_but_an_obsolete_one_comes_back(viewer):
    contact = services.contact_add(person=viewer, kind="mobile", value="13912345678", actor=viewer.user)
    with pytest.raises(ValidationError) as error:
        services.contact_add(person=viewer, kind="mobile", value="139 1234 5678", actor=viewer.user)
    assert error.value.code == "duplicate"
    services.contact_remove(contact=contact, actor=viewer.user)
    again = services.contact_add(person=viewer, kind="mobile", value="13912345678", actor=viewer.user)
    assert again.pk == contact.pk
    assert again.status == "unverified"


def test_contact_confirm_wrong_codes_count_and_lock(viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contact = services.contact_add(person=viewer, kind="email", value="a@example.com", actor=viewer.user)
    right = _code_from_mail()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(ValidationError) as error:
            services.contact_confirm(contact=contact, code=wrong, actor=viewer.user)
        assert error.value.code == "wrong_code"
    assert ContactConfirmation.objects.get(contact=contact).attempts == 5
    with pytest.raises(ValidationError) as error:
        services.contact_confirm(contact=contact, code=right, actor=viewer.user)
    assert error.value.code == "locked"
    contact.refresh_from_db()
    assert contact.status == "unverified"


def test_contact_confirm_code_expires(viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contact = services.contact_add(person=viewer, kind="email", value="a@example.com", actor=viewer.user)
    code = _code_from_mail()
    with time_machine.travel(timezone.now() + timedelta(minutes=11)), pytest.raises(ValidationError) as error:
        services.contact_confirm(contact=contact, code=code, actor=viewer.user)
    assert error.value.code == "expired"


def test_contact_confirm_after_remove_fails_and_the_contact_stays_removed(viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contact = services.contact_add(person=viewer, kind="email", value="a@example.com", actor=viewer.user)
    code = _code_from_mail()
    services.contact_remove(contact=contact, actor=viewer.user)
    with pytest.raises(ValidationError) as error:
        services.contact_confirm(contact=contact, code=code, actor=viewer.user)
    assert error.value.code == "expired"
    contact.refresh_from_db()
    assert (contact.status, contact.verified_at) == ("obsolete", None)


def test_contact_confirm_refuses_a_bounced_address(viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contact = services.contact_add(person=viewer, kind="email", value="a@example.com", actor=viewer.user)
    code = _code_from_mail()
    ContactChannel.objects.filter(pk=contact.pk).update(status=ContactChannel.Status.BOUNCED)
    contact.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        services.contact_confirm(contact=contact, code=code, actor=viewer.user)
    assert error.value.code == "not_needed"
    contact.refresh_from_db()
    assert (contact.status, contact.verified_at) == ("bounced", None)


def test_contact_resend_replaces_the_code_and_is_limited(viewer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        contact = services.contact_add(person=viewer, kind="email", value="a@example.com", actor=viewer.user)
    first = _code_from_mail()
    with django_capture_on_commit_callbacks(execute=True):
        services.contact_confirmation_send(contact=contact)
    second = _code_from_mail()
    if first != second:
        with pytest.raises(ValidationError):
            services.contact_confirm(contact=contact, code=first, actor=viewer.user)
    for _ in range(3):
        services.contact_confirmation_send(contact=contact)
    with pytest.raises(ValidationError) as error:
        services.contact_confirmation_send(contact=contact)
    assert error.value.code == "too_many"


def test_job_update_new_employer_ends_the_old_job(viewer):
    old = EmploymentFactory(
        person=viewer, organisation="旧公司", title="工程师", start_date=timezone.localdate() - timedelta(days=900)
    )
    job = services.job_update(person=viewer, organisation="新公司", title="总监", city="深圳", actor=viewer.user)
    old.refresh_from_db()
    viewer.refresh_from_db()
    assert old.end_date == timezone.localdate()
    assert (job.organisation, job.title, job.city, job.end_date) == ("新公司", "总监", "深圳", None)
    assert viewer.city == "深圳"
    assert "employment.create" in _audits(job)
    assert "employment.update" in _audits(old)
    assert "person.update" in _audits(viewer)
    same = services.job_update(person=viewer, organisation="新公司", title="副总裁", city="深圳", actor=viewer.user)
    assert same.pk == job.pk
    assert same.title == "副总裁"
    assert services.job_update(person=viewer, organisation="", title="", city="深圳", actor=viewer.user) is None
    assert not Employment.objects.filter(person=viewer, end_date__isnull=True).exists()


def test_address_update_replaces_the_old_one(viewer):
    first = services.address_update(person=viewer, value="北京市海淀区学院路1号", actor=viewer.user)
    second = services.address_update(person=viewer, value="上海市徐汇区2号", actor=viewer.user)
    first.refresh_from_db()
    assert first.status == "obsolete"
    assert second.status == "unverified"
    assert second.source == "self-reported"
    assert services.address_update(person=viewer, value="上海市徐汇区2号", actor=viewer.user).pk == second.pk


def test_privacy_update_is_audited(viewer):
    services.privacy_update(
        person=viewer,
        contacts=Visibility.CLASSMATES,
        employment=Visibility.VERIFIED_ALUMNI,
        location=Visibility.CHAPTERS,
        show_in_directory=False,
        actor=viewer.user,
    )
    viewer.refresh_from_db()
    assert (viewer.privacy_contacts, viewer.privacy_employment, viewer.privacy_location) == (
        "classmates",
        "verified",
        "chapters",
    )
    event = AuditEvent.objects.filter(action="person.update", target_id=str(viewer.pk)).latest("id")
    assert {c["field"] for c in event.changes} >= {"privacy_contacts", "privacy_employment", "show_in_directory"}
    with pytest.raises(ValidationError):
        services.privacy_update(
            person=viewer,
            contacts="everyone",
            employment="office",
            location="office",
            show_in_directory=True,
            actor=viewer.user,
        )


def test_rights_request_create_and_handle(viewer, staff):
    request = services.rights_request_create(
        person=viewer, kind="correction", fields=["name", "birth_date"], message="生日错了", actor=viewer.user
    )
    assert request.status == "open"
    assert request.fields == ["birth_date", "name"]
    with pytest.raises(ValidationError):
        services.rights_request_create(person=viewer, kind="deletion", fields=["salary"], message="", actor=viewer.user)
    done = services.rights_request_handle(request=request, status="done", response="已更正", actor=staff)
    assert (done.status, done.handled_by, done.response) == ("done", staff, "已更正")
    assert AuditEvent.objects.filter(action="portal.rights_request_done", target_id=str(viewer.pk)).exists()
    with pytest.raises(Exception, match="already"):
        services.rights_request_handle(request=request, status="refused", response="", actor=staff)


def test_relay_send_delivers_by_email_without_revealing_addresses(viewer, django_capture_on_commit_callbacks):
    recipient = verified_alumnus(name="收信人")
    ContactChannelFactory(person=recipient, kind="email", value="recipient-secret@example.com")
    ContactChannelFactory(person=viewer, kind="email", value="sender-secret@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        conversation = services.relay_send(
            sender=viewer, recipient=recipient, subject="你好", body="还记得我吗？", actor=viewer.user
        )
    [email] = mail.outbox
    assert email.to == ["recipient-secret@example.com"]
    assert "还记得我吗" in email.body
    assert viewer.name in email.subject
    assert "sender-secret@example.com" not in email.body + email.subject
    assert str(conversation.pk) in email.body  # the link to reply in the portal
    message = conversation.messages.get()
    assert message.emailed_at is not None
    assert services.relay_message_deliver(message_id=message.pk) is False  # idempotent
    assert len(mail.outbox) == 1


def test_relay_reply_shares_only_chosen_contacts(viewer, django_capture_on_commit_callbacks):
    recipient = verified_alumnus()
    shared = ContactChannelFactory(person=recipient, kind="wechat", value="wx_shared")
    ContactChannelFactory(person=recipient, kind="mobile", value="13700000000")
    conversation = services.relay_send(sender=viewer, recipient=recipient, subject="", body="hi", actor=viewer.user)
    reply = services.relay_reply(
        conversation=conversation, author=recipient, body="好久不见", contact_ids=[shared.pk], actor=recipient.user
    )
    assert reply.shared_contacts == [{"kind": "wechat", "value": "wx_shared"}]
    stranger = verified_alumnus()
    with pytest.raises(Exception, match="not yours"):
        services.relay_reply(conversation=conversation, author=stranger, body="x", actor=stranger.user)


def test_relay_to_a_blocker_is_withheld_silently(viewer, django_capture_on_commit_callbacks):
    recipient = verified_alumnus()
    ContactChannelFactory(person=recipient, kind="email", value="r@example.com")
    services.relay_block(blocker=recipient, blocked_id=viewer.pk)
    with django_capture_on_commit_callbacks(execute=True):
        conversation = services.relay_send(sender=viewer, recipient=recipient, subject="", body="hi", actor=viewer.user)
    assert conversation.messages.get().status == RelayMessage.Status.WITHHELD
    assert mail.outbox == []
    services.relay_unblock(blocker=recipient, blocked_id=viewer.pk)
    assert not RelayBlock.objects.exists()


@override_settings(PORTAL_RELAY_PER_HOUR=3)
def test_relay_rate_limit_per_sender(viewer):
    recipient = verified_alumnus()
    for n in range(3):
        services.relay_send(sender=viewer, recipient=recipient, subject="", body=f"#{n}", actor=viewer.user)
    with pytest.raises(services.RelayRateLimited) as error:
        services.relay_send(sender=viewer, recipient=recipient, subject="", body="again", actor=viewer.user)
    assert error.value.code == "rate_limited"
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        services.relay_send(sender=viewer, recipient=recipient, subject="", body="later", actor=viewer.user)


def test_relay_only_to_listed_people(viewer):
    hidden = PersonFactory(show_in_directory=False)
    with pytest.raises(Exception, match="cannot be contacted"):
        services.relay_send(sender=viewer, recipient=hidden, subject="", body="hi", actor=viewer.user)
    with pytest.raises(ValidationError):
        services.relay_send(sender=viewer, recipient=viewer, subject="", body="hi", actor=viewer.user)


def test_lookup_count_upserts_one_row_per_day_kind_bucket():
    for _ in range(3):
        services.lookup_count(kind="name", bucket="1")
    services.lookup_count(kind="name", bucket="0")
    services.lookup_count(kind="pinyin", bucket="1")
    assert dict(LookupStat.objects.filter(kind="name").values_list("bucket", "count")) == {"1": 3, "0": 1}
    assert LookupStat.objects.count() == 3


def test_contact_status_of_office_verified_channel_is_untouched_by_address_update(viewer):
    kept = ContactChannelFactory(person=viewer, kind=ContactChannel.Kind.MOBILE, value="13800000000")
    services.address_update(person=viewer, value="某地", actor=viewer.user)
    kept.refresh_from_db()
    assert kept.status == "verified"
