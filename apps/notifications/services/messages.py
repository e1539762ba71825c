"""Mailings: draft → test send → schedule or send now → materialise recipients → sending → done.

The decision to send (``message_send_now`` / a due schedule) moves the message to "queued" and
queues materialisation. Materialisation writes the outbox rows in chunks of person ids; each
chunk is one transaction that re-checks, under the message's row lock, that the message is still
queued and moves the cursor with the rows, so a repeated or resumed run inserts nobody twice
(the (message, person) unique constraint is the second guard).
"""

import logging
import smtplib
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Case, Count, F, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.alumni.models import ContactChannel, Person
from apps.alumni.selectors import visible_people
from apps.core import audit
from apps.core.errors import ApplicationError

from .. import rendering
from ..filters import filters_condition
from ..models import Channel, ContactPreference, Message, Notification, OutboxItem
from ..permissions import can_send_message
from ..sms import SmsDeliveryError, get_sms_backend
from .consent import consent_condition
from .outbox import TEMPORARY_SMTP_ERRORS, _slot, mail_connection, outbox_kick, task_options

logger = logging.getLogger(__name__)
Status = Message.Status
USABLE = [ContactChannel.Status.VERIFIED, ContactChannel.Status.UNVERIFIED]
_CONTENT_FIELDS = ["subject_zh", "subject_en", "text_zh", "text_en", "html_zh", "html_en"]


def message_content_check(message: Message) -> None:
    errors = {}
    for name in _CONTENT_FIELDS:
        try:
            rendering.placeholders_check(getattr(message, name))
        except ValidationError as exc:
            errors[name] = exc.messages
    if not message.text_zh.strip():
        errors["text_zh"] = [_("Write the Chinese text.")]
    if message.channel == Channel.EMAIL and not message.subject_zh.strip():
        errors["subject_zh"] = [_("An email needs a subject.")]
    if message.text_en.strip() and message.channel == Channel.EMAIL and not message.subject_en.strip():
        errors["subject_en"] = [_("The English version needs its own subject.")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def message_save(*, message: Message, actor) -> Message:
    """Create or edit a draft; any edit needs a new test send before it can go out."""
    if message.pk is not None:
        current = Message.objects.select_for_update().get(pk=message.pk)
        if current.status != Status.DRAFT:
            raise ApplicationError(_("Only drafts can be changed."), code="not_draft")
        if not can_send_message(actor, current):
            raise PermissionDenied
    message_content_check(message)
    created = message.pk is None
    if created:
        message.created_by = actor
    message.status = Status.DRAFT
    message.test_sent_at = None
    message.save()
    audit.record(actor=actor, action="message.create" if created else "message.update", target=message)
    return message


def _locked(message: Message, *expected: str) -> Message:
    current = Message.objects.select_for_update().get(pk=message.pk)
    if current.status not in expected:
        raise ApplicationError(
            _("This message is %(status)s; that step is not possible now.") % {"status": current.get_status_display()},
            code="wrong_status",
        )
    return current


def _sample_values(actor) -> dict[str, str]:
    from .senders import person_values

    person = Person.objects.filter(user=actor).first()
    if person is not None:
        return person_values([person.pk])[person.pk].as_dict()
    return {"name": str(actor), "class": _("(class)"), "college": _("(college)"), "graduation_year": "2015"}


def message_test_send(*, message: Message, actor, addresses: list[str], language: str = "zh-hans") -> int:
    """Send the message now to a few staff addresses (or numbers), filled with the sender's own data."""
    if not can_send_message(actor, message):
        raise PermissionDenied
    if message.status != Status.DRAFT:
        raise ApplicationError(_("Only drafts are test-sent."), code="not_draft")
    addresses = [a.strip() for a in addresses if a.strip()][:5]
    if not addresses and message.channel != Channel.PORTAL:
        raise ValidationError(_("Give at least one address for the test."), code="required")
    values = {**_sample_values(actor), "unsubscribe_url": rendering.preferences_url()}
    values["preferences_url"] = rendering.preferences_url()
    english = language == "en" and message.text_en
    subject = message.subject_en if english else message.subject_zh
    text = message.text_en if english else message.text_zh
    html = message.html_en if english else message.html_zh
    subject = "[TEST] " + rendering.fill(subject, values)
    try:
        if message.channel == Channel.EMAIL:
            connection = mail_connection()
            emails = [
                rendering.build_email(
                    outbox_id=0,
                    to=address,
                    subject=subject,
                    text=rendering.fill(text, values),
                    html=rendering.fill(html, values, html=True) if html else "",
                    connection=connection,
                )
                for address in addresses
            ]
            sent = connection.send_messages(emails)
        elif message.channel == Channel.SMS:
            backend = get_sms_backend()
            for number in addresses:
                backend.send(number, rendering.fill(text, values))
            sent = len(addresses)
        else:
            Notification.objects.create(
                user=actor, category=message.category, title=subject[:255], body=rendering.fill(text, values)
            )
            sent = 1
    except (smtplib.SMTPException, SmsDeliveryError, *TEMPORARY_SMTP_ERRORS) as exc:
        raise ApplicationError(_("The test could not be sent: %(error)s") % {"error": exc}, code="test_failed") from exc
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=Status.DRAFT).update(test_sent_at=timezone.now())
        audit.record(actor=actor, action="message.test_send", target=message, reason=", ".join(addresses)[:255])
    return sent


def _check_ready(message: Message, actor) -> None:
    if not can_send_message(actor, message):
        raise PermissionDenied
    if message.test_sent_at is None:
        raise ApplicationError(_("Send a test first (again after any change)."), code="test_first")


@transaction.atomic
def message_send_now(*, message: Message, actor) -> Message:
    """Decide to send: the recipients are written by the materialisation task right after commit."""
    message = _locked(message, Status.DRAFT, Status.SCHEDULED)
    _check_ready(message, actor)
    _decide(message, actor)
    audit.record(actor=actor, action="message.send", target=message)
    return message


def _decide(message: Message, actor) -> None:
    from ..tasks import message_materialise_task

    message.status = Status.QUEUED
    message.sent_by = actor
    message.send_requested_at = timezone.now()
    message.materialise_cursor = 0
    message.materialise_until = Person.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    message.save(
        update_fields=[
            "status",
            "sent_by",
            "send_requested_at",
            "materialise_cursor",
            "materialise_until",
            "updated_at",
        ]
    )
    message_id = message.pk
    transaction.on_commit(lambda: message_materialise_task.apply_async(args=[message_id], **task_options()))


@transaction.atomic
def message_schedule(*, message: Message, actor, when: datetime) -> Message:
    """Send at ``when``: the outbox relay (every 30 s) starts it then; no broker ETA is involved."""
    message = _locked(message, Status.DRAFT, Status.SCHEDULED)
    _check_ready(message, actor)
    if when <= timezone.now():
        raise ValidationError(_("Choose a time in the future."), code="past")
    message.status = Status.SCHEDULED
    message.scheduled_at = when
    message.sent_by = actor
    message.save(update_fields=["status", "scheduled_at", "sent_by", "updated_at"])
    audit.record(actor=actor, action="message.schedule", target=message, reason=when.isoformat())
    return message


@transaction.atomic
def message_cancel(*, message: Message, actor) -> Message:
    """Stop a message: scheduled ones never start; under way, every row not yet sent is skipped."""
    message = _locked(message, Status.SCHEDULED, Status.QUEUED, Status.SENDING)
    if not can_send_message(actor, message):
        raise PermissionDenied
    skipped = OutboxItem.objects.filter(message=message, status=OutboxItem.Status.PENDING).update(
        status=OutboxItem.Status.SKIPPED, last_error="cancelled"
    )
    message.status = Status.CANCELLED
    message.finished_at = timezone.now()
    message.skipped_count = F("skipped_count") + skipped
    message.save(update_fields=["status", "finished_at", "skipped_count", "updated_at"])
    audit.record(actor=actor, action="message.cancel", target=message)
    message.refresh_from_db()
    return message


def messages_start_due() -> int:
    """Start every scheduled message whose time has come (called by the relay)."""
    started = 0
    due = Message.objects.filter(status=Status.SCHEDULED, scheduled_at__lte=timezone.now()).values_list("pk", flat=True)
    for message_id in list(due):
        with transaction.atomic():
            message = Message.objects.select_for_update().filter(pk=message_id, status=Status.SCHEDULED).first()
            if message is None:
                continue
            _decide(message, message.sent_by)
            audit.record(actor=message.sent_by, action="message.send", target=message, reason="scheduled")
            started += 1
    return started


# --- materialisation ---------------------------------------------------------------------------------


def recipients_queryset(message: Message, *, lo: int, hi: int):
    """(people in the segment within the sender's scope in (lo, hi], those to write as outbox rows)."""
    people = (
        visible_people(message.sent_by)
        .filter(pk__gt=lo, pk__lte=hi, is_deceased=False)
        .filter(filters_condition(message.segment.filters))
    )
    recipients = people.filter(consent_condition(channel=message.channel, category=message.category))
    if message.channel == Channel.PORTAL:
        recipients = recipients.filter(user__isnull=False).annotate(
            ch_id=Value(None, output_field=IntegerField()), ch_addr=Value("")
        )
    else:
        kind = ContactChannel.Kind.EMAIL if message.channel == Channel.EMAIL else ContactChannel.Kind.MOBILE
        best = ContactChannel.objects.filter(person=OuterRef("pk"), kind=kind, status__in=USABLE).order_by(
            Case(When(status=ContactChannel.Status.VERIFIED, then=0), default=1),
            F("verified_at").desc(nulls_last=True),
            "-id",
        )
        address = "value" if kind == ContactChannel.Kind.EMAIL else "value_normalised"
        recipients = recipients.annotate(
            ch_id=Subquery(best.values("pk")[:1]), ch_addr=Subquery(best.values(address)[:1])
        ).filter(ch_id__isnull=False)
    if message.text_en.strip():
        language = Coalesce(
            Subquery(ContactPreference.objects.filter(person=OuterRef("pk")).values("language")[:1]),
            Value(settings.LANGUAGE_CODE),
        )
    else:
        language = Value(settings.LANGUAGE_CODE)
    recipients = recipients.annotate(pid=F("pk"), uid=F("user_id"), lang=language)
    return people, recipients


_INSERT_COLUMNS = [
    "kind",
    "status",
    "priority",
    "category",
    "message_id",
    "person_id",
    "user_id",
    "channel_id",
    "address",
    "language",
    "subject",
    "body_text",
    "body_html",
    "payload",
    "attempts",
    "next_attempt_at",
    "last_error",
    "provider_id",
    "created_at",
]


def _insert_postgresql(message: Message, recipients) -> int:
    sql, params = recipients.values("pid", "uid", "ch_id", "ch_addr", "lang").query.sql_with_params()
    now = timezone.now()
    table = OutboxItem._meta.db_table
    columns = ", ".join(f'"{c}"' for c in _INSERT_COLUMNS)
    insert = (
        f'INSERT INTO "{table}" ({columns}) '  # noqa: S608 - identifiers are ours; values are parameters
        "SELECT %s, %s, %s, %s, %s, sub.pid, sub.uid, CAST(sub.ch_id AS bigint), sub.ch_addr, sub.lang, "
        "'', '', '', '{}'::jsonb, 0, %s, '', '', %s "
        f"FROM ({sql}) sub ON CONFLICT DO NOTHING"
    )
    head = [message.channel, OutboxItem.Status.PENDING, OutboxItem.Priority.BULK, message.category, message.pk]
    with connection.cursor() as cursor:
        cursor.execute(insert, _params(head, params, now))
        return cursor.rowcount


def _params(head: list, inner: tuple, now) -> list:
    # Placeholders in order: the five constants, next_attempt_at and created_at, then the inner query's.
    return [*head, now, now, *inner]


def _insert_orm(message: Message, recipients) -> int:
    now = timezone.now()
    before = OutboxItem.objects.filter(message=message).count()
    rows = [
        OutboxItem(
            kind=message.channel,
            status=OutboxItem.Status.PENDING,
            priority=OutboxItem.Priority.BULK,
            category=message.category,
            message=message,
            person_id=r["pid"],
            user_id=r["uid"],
            channel_id=r["ch_id"],
            address=r["ch_addr"] or "",
            language=r["lang"],
            next_attempt_at=now,
        )
        for r in recipients.values("pid", "uid", "ch_id", "ch_addr", "lang").iterator(chunk_size=2000)
    ]
    OutboxItem.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return OutboxItem.objects.filter(message=message).count() - before


def message_materialise(*, message_id: int) -> str:
    """Write the outbox rows of a queued message, chunk by chunk; safe to run twice or resume."""
    chunk = max(1, settings.NOTIFICATIONS_MATERIALISE_CHUNK)
    with _slot("materialise", message_id) as held:
        if not held:
            return "busy"
        while True:
            with transaction.atomic():
                message = Message.objects.select_for_update().filter(pk=message_id).select_related("segment").first()
                if message is None or message.status != Status.QUEUED:
                    return "noop"
                lo = message.materialise_cursor
                hi = min(lo + chunk, message.materialise_until)
                first_rows = False
                if hi > lo:
                    people, recipients = recipients_queryset(message, lo=lo, hi=hi)
                    audience = people.count()
                    insert = _insert_postgresql if connection.vendor == "postgresql" else _insert_orm
                    inserted = insert(message, recipients)
                    first_rows = inserted > 0 and message.recipients_count == 0
                    message.audience_count += audience
                    message.recipients_count += inserted
                    message.no_channel_count += audience - inserted
                    message.materialise_cursor = hi
                finished = hi >= message.materialise_until
                if finished:
                    message.status = Status.SENDING if message.recipients_count else Status.DONE
                    message.started_at = timezone.now()
                    if message.status == Status.DONE:
                        message.finished_at = message.started_at
                message.save()
                if first_rows or (finished and message.recipients_count):
                    # Start sending with the first rows; the last chunk wakes every slot.
                    outbox_kick(message.channel, slots=settings.NOTIFICATIONS_SEND_SLOTS)
            if finished:
                return "done"


def message_finish_if_complete(*, message_id: int) -> bool:
    """Mark a sending message done once none of its rows is pending or sending; exact counts."""
    open_rows = OutboxItem.objects.filter(
        message_id=message_id, status__in=[OutboxItem.Status.PENDING, OutboxItem.Status.SENDING]
    )
    if open_rows.exists() or not Message.objects.filter(pk=message_id, status=Status.SENDING).exists():
        return False
    counts = dict(
        OutboxItem.objects.filter(message_id=message_id)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return bool(
        Message.objects.filter(pk=message_id, status=Status.SENDING).update(
            status=Status.DONE,
            finished_at=timezone.now(),
            sent_count=counts.get(OutboxItem.Status.SENT, 0),
            failed_count=counts.get(OutboxItem.Status.FAILED, 0),
            skipped_count=counts.get(OutboxItem.Status.SKIPPED, 0),
        )
    )


def message_recount(*, message_id: int) -> dict[str, int]:
    """Exact row counts of a message by status (for the admin and the bench)."""
    rows = OutboxItem.objects.filter(message_id=message_id).values_list("status").annotate(n=Count("pk"))
    return dict(rows.values_list("status", "n"))


__all__ = [
    "message_cancel",
    "message_finish_if_complete",
    "message_materialise",
    "message_recount",
    "message_save",
    "message_schedule",
    "message_send_now",
    "message_test_send",
    "messages_start_due",
    "recipients_queryset",
]
