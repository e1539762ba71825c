"""The outbox in process: claims and leases, retries with backoff, SMTP refusals, relay, idempotent drains."""

import smtplib
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.alumni.models import ContactChannel
from apps.notifications import services
from apps.notifications.models import OutboxItem
from apps.notifications.services.outbox import outbox_claim, retry_delay
from apps.notifications.tasks import outbox_drain_task
from tests.notifications.factories import alumnus_with_email

pytestmark = pytest.mark.django_db


def _row(**values) -> OutboxItem:
    defaults = {
        "kind": OutboxItem.Kind.EMAIL,
        "priority": OutboxItem.Priority.TRANSACTIONAL,
        "address": f"{uuid.uuid4().hex[:8]}@example.com",
        "subject": "主题",
        "body_text": "正文",
        "next_attempt_at": timezone.now(),
    }
    return OutboxItem.objects.create(**{**defaults, **values})


def test_claim_takes_due_rows_once_and_a_second_claim_gets_the_others():
    rows = [_row() for _ in range(5)]
    first = outbox_claim(kind="email", limit=3, token=uuid.uuid4())
    second = outbox_claim(kind="email", limit=3, token=uuid.uuid4())
    assert len(first) == 3
    assert sorted(first + second) == sorted(r.pk for r in rows)
    assert outbox_claim(kind="email", limit=3, token=uuid.uuid4()) == []
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxItem.Status.SENDING}


def test_claim_skips_rows_not_yet_due_and_puts_transactional_first():
    later = _row(next_attempt_at=timezone.now() + timedelta(minutes=5))
    bulk = _row(priority=OutboxItem.Priority.BULK)
    urgent = _row()
    assert outbox_claim(kind="email", limit=1, token=uuid.uuid4()) == [urgent.pk]
    assert outbox_claim(kind="email", limit=5, token=uuid.uuid4()) == [bulk.pk]
    assert later.pk


def test_row_stuck_in_sending_is_claimable_only_after_the_lease(settings):
    settings.NOTIFICATIONS_SEND_LEASE_SECONDS = 300
    token = uuid.uuid4()
    row = _row(status=OutboxItem.Status.SENDING, claimed_at=timezone.now() - timedelta(seconds=60), claim_token=token)
    assert outbox_claim(kind="email", limit=5, token=uuid.uuid4()) == []
    OutboxItem.objects.filter(pk=row.pk).update(claimed_at=timezone.now() - timedelta(seconds=301))
    new_token = uuid.uuid4()
    assert outbox_claim(kind="email", limit=5, token=new_token) == [row.pk]
    row.refresh_from_db()
    assert row.claim_token == new_token


def test_drain_sends_each_row_once_even_when_run_again():
    rows = [_row() for _ in range(4)]
    assert outbox_drain_task.apply(args=["email", 0]).get() == "idle"
    assert outbox_drain_task.apply(args=["email", 0]).get() == "idle"
    assert outbox_drain_task.apply(args=["email", 1]).get() == "idle"
    assert sorted(m.to[0] for m in mail.outbox) == sorted(r.address for r in rows)
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxItem.Status.SENT}
    assert all(
        m.extra_headers["Message-ID"] == f"<outbox-{r.pk}@alumni.example.edu>"
        for m, r in zip(sorted(mail.outbox, key=lambda m: m.to[0]), sorted(rows, key=lambda r: r.address), strict=True)
    )


class _FlakyConnection:
    """An SMTP connection that raises ``error`` for every message."""

    def __init__(self, error):
        self.error = error

    def open(self):
        return True

    def close(self):
        pass

    def send_messages(self, messages):
        raise self.error


def test_temporary_failure_is_retried_with_backoff_then_recorded_failed(monkeypatch, settings):
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    refusal = smtplib.SMTPRecipientsRefused({"x@example.com": (451, b"try later")})
    monkeypatch.setattr("apps.notifications.services.senders.mail_connection", lambda: _FlakyConnection(refusal))
    row = _row()
    for attempt in (1, 2):
        services.outbox_drain(kind="email")
        row.refresh_from_db()
        assert (row.status, row.attempts) == (OutboxItem.Status.PENDING, attempt)
        assert row.next_attempt_at > timezone.now() + timedelta(seconds=retry_delay(attempt) - 5)
        assert "451" in row.last_error
        OutboxItem.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    services.outbox_drain(kind="email")
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxItem.Status.FAILED, 3)
    assert [retry_delay(n) for n in (1, 2, 3)] == [60, 120, 240]


def test_permanent_refusal_fails_at_once_and_marks_the_channel_bounced(monkeypatch, college, staff):
    person = alumnus_with_email(college=college, email="gone@example.com")
    channel = person.contacts.get()
    refusal = smtplib.SMTPRecipientsRefused({"gone@example.com": (550, b"no such user")})
    monkeypatch.setattr("apps.notifications.services.senders.mail_connection", lambda: _FlakyConnection(refusal))
    row = _row(person=person, channel=channel, address="gone@example.com")
    services.outbox_drain(kind="email")
    row.refresh_from_db()
    channel.refresh_from_db()
    assert row.status == OutboxItem.Status.FAILED
    assert channel.status == ContactChannel.Status.BOUNCED


def test_broken_connection_gives_the_rest_of_the_batch_back(monkeypatch):
    monkeypatch.setattr(
        "apps.notifications.services.senders.mail_connection",
        lambda: _FlakyConnection(smtplib.SMTPServerDisconnected("gone")),
    )
    rows = [_row() for _ in range(3)]
    services.outbox_drain(kind="email")
    states = dict(OutboxItem.objects.values_list("pk", "status"))
    assert set(states.values()) == {OutboxItem.Status.PENDING}
    assert {r.pk: r.attempts for r in OutboxItem.objects.all()} == {rows[0].pk: 1, rows[1].pk: 0, rows[2].pk: 0}


def test_relay_wakes_senders_for_due_rows(django_capture_on_commit_callbacks):
    _row()
    outcome = services.outbox_relay()
    assert outcome["senders_woken"] >= 1
    assert OutboxItem.objects.get().status == OutboxItem.Status.SENT


def test_tasks_are_configured_for_redelivery():
    from apps.notifications.tasks import message_materialise_task

    for task in (outbox_drain_task, message_materialise_task):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True


def test_outbox_email_is_standard_mime_that_mail_clients_decode():
    from email import message_from_bytes, policy

    from apps.notifications.rendering import build_email

    subject = "张伟校友：诚邀您参加母校一百二十周年校庆暨第十三届校友代表大会"
    email = build_email(
        outbox_id=42,
        to="zhangwei@example.com",
        subject=subject,
        text="亲爱的张伟：\n欢迎回家。" * 20,
        html="<p>亲爱的张伟</p>",
        unsubscribe="https://alumni.example.edu/unsubscribe/abc/",
    )
    raw = email.message().as_bytes(linesep="\r\n")
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Subject"] == subject
    assert parsed["To"] == "zhangwei@example.com"
    assert parsed["Message-ID"] == "<outbox-42@alumni.example.edu>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_body(("plain",)).get_content() == "亲爱的张伟：\n欢迎回家。" * 20
    assert parsed.get_body(("html",)).get_content() == "<p>亲爱的张伟</p>"
