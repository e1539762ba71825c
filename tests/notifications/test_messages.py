"""Mailings: the workflow, who receives them (channels, consent, language) and exactly-once materialisation."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from apps.alumni.models import ContactChannel
from apps.core.errors import ApplicationError
from apps.notifications import services
from apps.notifications.models import Category, Channel, ConsentEvent, Message, Notification, OutboxItem
from apps.notifications.services.messages import message_materialise
from apps.notifications.services.outbox import outbox_claim
from apps.notifications.sms import LocmemSmsBackend
from tests.alumni.factories import ContactChannelFactory, PersonFactory, SchoolClassFactory
from tests.notifications.factories import MessageFactory, SegmentFactory, alumnus_with_email

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment(staff, college):
    return SegmentFactory(created_by=staff, filters=[{"kind": "enrollment", "params": {"colleges": [college.pk]}}])


def _ready(message, actor):
    services.message_test_send(message=message, actor=actor, addresses=["staff@example.com"])
    mail.outbox.clear()
    message.refresh_from_db()
    return message


def _send(message, actor, capture):
    _ready(message, actor)
    with capture(execute=True):
        services.message_send_now(message=message, actor=actor)
    message.refresh_from_db()
    return message


def test_mailing_goes_out_once_per_person_with_placeholders_and_unsubscribe_headers(
    staff, college, segment, django_capture_on_commit_callbacks
):
    school_class = SchoolClassFactory(college=college, name="计算机2011级1班")
    person = alumnus_with_email(college=college, school_class=school_class, name="张伟", email="zhangwei@example.com")
    others = [alumnus_with_email(college=college) for _ in range(3)]
    message = _send(MessageFactory(segment=segment, created_by=staff), staff, django_capture_on_commit_callbacks)

    assert message.status == Message.Status.DONE
    assert (message.audience_count, message.recipients_count, message.sent_count) == (4, 4, 4)
    assert message.percent == 100
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        ["zhangwei@example.com", *[f"p{p.pk}@example.com" for p in others]]
    )
    email = next(m for m in mail.outbox if m.to == ["zhangwei@example.com"])
    assert email.subject == "张伟校友，您好"
    assert "亲爱的张伟（计算机2011级1班）" in email.body
    assert "/unsubscribe/" in email.extra_headers["List-Unsubscribe"]
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email.extra_headers["Message-ID"].startswith("<outbox-")
    assert email.extra_headers["List-Unsubscribe"].strip("<>") in email.body
    assert person.pk


def test_send_needs_a_test_first_and_again_after_an_edit(staff, segment):
    message = MessageFactory(segment=segment, created_by=staff)
    with pytest.raises(ApplicationError):
        services.message_send_now(message=message, actor=staff)
    _ready(message, staff)
    message.text_zh = "改过的内容 {{ name }}"
    services.message_save(message=message, actor=staff)
    with pytest.raises(ApplicationError):
        services.message_send_now(message=message, actor=staff)


def test_unknown_placeholder_is_refused(staff, segment):
    message = MessageFactory.build(segment=segment, created_by=staff, text_zh="您好 {{ salary }}")
    with pytest.raises(Exception, match="salary"):
        services.message_save(message=message, actor=staff)


def test_only_verified_or_unverified_channels_are_used(staff, college, segment, django_capture_on_commit_callbacks):
    verified = alumnus_with_email(college=college)
    unverified = alumnus_with_email(college=college, status=ContactChannel.Status.UNVERIFIED)
    bounced = alumnus_with_email(college=college, status=ContactChannel.Status.BOUNCED)
    obsolete = alumnus_with_email(college=college, status=ContactChannel.Status.OBSOLETE)
    # A person with a bounced old address and a verified new one gets the new one.
    movers = alumnus_with_email(college=college, status=ContactChannel.Status.BOUNCED, email="old@example.com")
    ContactChannelFactory(person=movers, kind=ContactChannel.Kind.EMAIL, value="new@example.com")
    message = _send(MessageFactory(segment=segment, created_by=staff), staff, django_capture_on_commit_callbacks)
    assert {m.to[0] for m in mail.outbox} == {
        f"p{verified.pk}@example.com",
        f"p{unverified.pk}@example.com",
        "new@example.com",
    }
    assert message.audience_count == 5
    assert message.no_channel_count == 2
    assert not OutboxItem.objects.filter(person__in=[bounced, obsolete]).exists()


def test_people_who_unsubscribed_from_the_category_are_skipped(
    staff, college, segment, django_capture_on_commit_callbacks
):
    stays, leaves = alumnus_with_email(college=college), alumnus_with_email(college=college)
    services.consent_set(
        person=leaves, channel=Channel.EMAIL, category=Category.NEWS, granted=False, source=ConsentEvent.Source.PORTAL
    )
    _send(
        MessageFactory(segment=segment, created_by=staff, category=Category.NEWS),
        staff,
        django_capture_on_commit_callbacks,
    )
    assert [m.to[0] for m in mail.outbox] == [f"p{stays.pk}@example.com"]
    mail.outbox.clear()
    # Another category still reaches them.
    _send(
        MessageFactory(segment=segment, created_by=staff, category=Category.EVENTS),
        staff,
        django_capture_on_commit_callbacks,
    )
    assert len(mail.outbox) == 2


def test_opt_in_category_reaches_only_those_who_said_yes(
    settings, staff, college, segment, django_capture_on_commit_callbacks
):
    settings.NOTIFICATIONS_OPT_IN_CATEGORIES = ["giving"]
    yes, silent = alumnus_with_email(college=college), alumnus_with_email(college=college)
    services.consent_set(
        person=yes, channel=Channel.EMAIL, category=Category.GIVING, granted=True, source=ConsentEvent.Source.PORTAL
    )
    _send(
        MessageFactory(segment=segment, created_by=staff, category=Category.GIVING),
        staff,
        django_capture_on_commit_callbacks,
    )
    assert [m.to[0] for m in mail.outbox] == [f"p{yes.pk}@example.com"]
    assert silent.pk


def test_withdrawal_after_materialisation_takes_effect_before_the_send(
    staff, college, segment, django_capture_on_commit_callbacks
):
    person = alumnus_with_email(college=college)
    message = _ready(MessageFactory(segment=segment, created_by=staff), staff)
    services.message_send_now(message=message, actor=staff)
    message_materialise(message_id=message.pk)  # rows written, nothing sent yet
    assert OutboxItem.objects.filter(message=message, status=OutboxItem.Status.PENDING).count() == 1
    services.consent_set(
        person=person, channel=Channel.EMAIL, category=Category.NEWS, granted=False, source=ConsentEvent.Source.PORTAL
    )
    services.outbox_drain(kind="email")
    assert mail.outbox == []
    assert OutboxItem.objects.get(message=message).status == OutboxItem.Status.SKIPPED
    message.refresh_from_db()
    assert message.status == Message.Status.DONE
    assert message.skipped_count == 1


def test_english_version_goes_to_those_who_prefer_english(staff, college, segment, django_capture_on_commit_callbacks):
    english = alumnus_with_email(college=college, name="Li Lei")
    chinese = alumnus_with_email(college=college)
    services.language_set(person=english, language="en")
    _send(MessageFactory(segment=segment, created_by=staff), staff, django_capture_on_commit_callbacks)
    by_address = {m.to[0]: m for m in mail.outbox}
    assert by_address[f"p{english.pk}@example.com"].subject == "Dear Li Lei"
    assert by_address[f"p{chinese.pk}@example.com"].subject.endswith("校友，您好")


def test_materialising_twice_writes_nobody_twice(staff, college, segment, settings):
    settings.NOTIFICATIONS_MATERIALISE_CHUNK = 2
    people = [alumnus_with_email(college=college) for _ in range(5)]
    message = _ready(MessageFactory(segment=segment, created_by=staff), staff)
    services.message_send_now(message=message, actor=staff)
    assert message_materialise(message_id=message.pk) == "done"
    assert message_materialise(message_id=message.pk) == "noop"
    # Even a materialisation started over from the beginning inserts nothing twice (the unique constraint).
    Message.objects.filter(pk=message.pk).update(status=Message.Status.QUEUED, materialise_cursor=0)
    assert message_materialise(message_id=message.pk) == "done"
    assert OutboxItem.objects.filter(message=message).count() == len(people)
    message.refresh_from_db()
    assert message.recipients_count == len(people)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the set-based insert is PostgreSQL's")
def test_materialise_uses_one_insert_select_per_chunk(staff, college, segment, settings, django_assert_max_num_queries):
    settings.NOTIFICATIONS_MATERIALISE_CHUNK = 1_000_000
    for _ in range(30):
        alumnus_with_email(college=college)
    message = _ready(MessageFactory(segment=segment, created_by=staff), staff)
    services.message_send_now(message=message, actor=staff)
    with django_assert_max_num_queries(12):
        message_materialise(message_id=message.pk)
    assert OutboxItem.objects.filter(message=message).count() == 30


def test_cancel_skips_everything_not_yet_sent(staff, college, segment):
    for _ in range(3):
        alumnus_with_email(college=college)
    message = _ready(MessageFactory(segment=segment, created_by=staff), staff)
    services.message_send_now(message=message, actor=staff)
    message_materialise(message_id=message.pk)
    message = services.message_cancel(message=message, actor=staff)
    assert message.status == Message.Status.CANCELLED
    assert message.skipped_count == 3
    services.outbox_drain(kind="email")
    assert mail.outbox == []


def test_rows_claimed_at_cancel_time_are_not_sent_when_they_come_back(staff, college, segment, settings):
    settings.NOTIFICATIONS_SEND_LEASE_SECONDS = 300
    for _ in range(2):
        alumnus_with_email(college=college)
    message = _ready(MessageFactory(segment=segment, created_by=staff), staff)
    services.message_send_now(message=message, actor=staff)
    message_materialise(message_id=message.pk)
    claimed = outbox_claim(kind="email", limit=10, token=uuid.uuid4())  # a worker holds both rows
    assert len(claimed) == 2
    services.message_cancel(message=message, actor=staff)
    stale, retried = sorted(claimed)
    # One lease runs out (its worker died); the other row comes back as after a temporary failure.
    OutboxItem.objects.filter(pk=stale).update(claimed_at=timezone.now() - timedelta(seconds=301))
    OutboxItem.objects.filter(pk=retried).update(
        status=OutboxItem.Status.PENDING, claim_token=None, claimed_at=None, next_attempt_at=timezone.now()
    )
    services.outbox_drain(kind="email")
    assert mail.outbox == []
    rows = OutboxItem.objects.filter(message=message)
    assert set(rows.values_list("status", "last_error")) == {(OutboxItem.Status.SKIPPED, "cancelled")}


def test_schedule_is_started_by_the_relay_when_due(staff, college, segment, django_capture_on_commit_callbacks):
    alumnus_with_email(college=college)
    message = _ready(MessageFactory(segment=segment, created_by=staff), staff)
    services.message_schedule(message=message, actor=staff, when=timezone.now() + timedelta(hours=2))
    assert services.outbox_relay()["started"] == 0
    Message.objects.filter(pk=message.pk).update(scheduled_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert services.outbox_relay()["started"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.DONE
    assert len(mail.outbox) == 1


def test_sms_mailing_goes_through_the_configured_backend(staff, college, segment, django_capture_on_commit_callbacks):
    person = PersonFactory(name="王芳")
    from tests.alumni.factories import EnrollmentFactory

    EnrollmentFactory(person=person, college=college)
    ContactChannelFactory(person=person, kind=ContactChannel.Kind.MOBILE, value="+86 138-0013-8000")
    message = MessageFactory(segment=segment, created_by=staff, channel=Channel.SMS, subject_zh="")
    services.message_test_send(message=message, actor=staff, addresses=["13900000000"])
    message.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.message_send_now(message=message, actor=staff)
    assert LocmemSmsBackend.outbox[-1][0] == "13800138000"
    assert "亲爱的王芳" in LocmemSmsBackend.outbox[-1][1]
    assert len(LocmemSmsBackend.outbox) == 2  # the test and the real one


def test_portal_mailing_creates_one_notice_per_account_however_often_replayed(
    staff, college, segment, alumnus, django_capture_on_commit_callbacks
):
    person = alumnus_with_email(college=college)
    person.user = alumnus
    person.save()
    alumnus_with_email(college=college)  # no portal account: not a recipient
    message = MessageFactory(segment=segment, created_by=staff, channel=Channel.PORTAL)
    _send(message, staff, django_capture_on_commit_callbacks)
    row = OutboxItem.objects.get(message=message)
    # Replay the row as if its worker had died after creating the notice but before marking it.
    OutboxItem.objects.filter(pk=row.pk).update(status=OutboxItem.Status.PENDING)
    services.outbox_drain(kind="portal")
    assert Notification.objects.filter(user=alumnus, message=message).count() == 1
