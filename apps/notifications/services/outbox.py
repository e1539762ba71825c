"""The outbox: claiming rows, sending them exactly once as far as the other side allows, retrying.

Row states: pending → sending (``claimed_at``, ``claim_token``, ``attempts`` + 1) → sent | failed |
skipped, or back to pending with a later ``next_attempt_at`` after a temporary failure.

Who sends: ``outbox_drain(kind, slot)`` runs in a Celery task. ``NOTIFICATIONS_SEND_SLOTS`` slots
per kind may run at once; a PostgreSQL session advisory lock per (kind, slot) makes a duplicated or
redelivered task for a busy slot exit at once, so the configured rate holds over all workers.
A drain claims a batch with ``SELECT … FOR UPDATE SKIP LOCKED`` (one short transaction), opens
one SMTP connection (or gateway session) for the batch and marks each row sent with its own
autocommitted ``UPDATE … WHERE claim_token = …`` the moment the server accepted it.

Exactly once, and its limit: a task delivered twice claims disjoint rows (SKIP LOCKED; a row
once sent is never claimable again). A worker killed mid-batch leaves its unsent claims in
"sending"; once ``NOTIFICATIONS_SEND_LEASE_SECONDS`` have passed they are claimed again and sent.
A worker never sends a row after its own lease is over (it releases the rest of the batch), so
a slow worker and its successor never both send. The one window that remains is between the
SMTP server's "250 accepted" for a message and the commit of that row's "sent" (a local
round trip, about 0.1-0.3 ms; the commit is asynchronous, ``synchronous_commit = off``, which
a worker crash cannot undo, only a PostgreSQL crash within ~0.6 s): a worker killed exactly
there sends that one message again after the lease. At most one duplicate per killed sender,
and every message carries a stable ``Message-ID: <outbox-<id>@…>`` so receivers can drop it.
"""

import logging
import smtplib
import time
import uuid
import zlib
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from ..models import OutboxItem

logger = logging.getLogger(__name__)

Status = OutboxItem.Status
Kind = OutboxItem.Kind
_LOCK_NAMESPACE = 0x0B0C  # first key of the two-key advisory lock: "outbox slot"


# --- enqueueing -------------------------------------------------------------------------------------


def task_options() -> dict:
    return {"queue": settings.NOTIFICATIONS_QUEUE} if settings.NOTIFICATIONS_QUEUE else {}


def outbox_kick(kind: str, *, slots: int | None = None) -> None:
    """After commit, start senders for ``kind`` (a busy slot's extra task exits at once)."""
    from ..tasks import outbox_drain_task

    count = max(1, min(slots or 1, settings.NOTIFICATIONS_SEND_SLOTS))

    def kick():
        for slot in range(count):
            outbox_drain_task.apply_async(args=[kind, slot], **task_options())

    transaction.on_commit(kick)


# --- slots ----------------------------------------------------------------------------------------


def _slot_key(kind: str, slot: int) -> int:
    return zlib.crc32(f"{kind}:{slot}".encode()) & 0x7FFFFFFF


@contextmanager
def _slot(kind: str, slot: int):
    """Yield True when this process now holds the (kind, slot) lock; PostgreSQL only, else always True."""
    if connection.vendor != "postgresql":
        yield True
        return
    key = _slot_key(kind, slot)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [_LOCK_NAMESPACE, key])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [_LOCK_NAMESPACE, key])


def slot_is_busy(kind: str, slot: int) -> bool:
    """Whether some process is draining this slot right now (PostgreSQL; elsewhere never)."""
    if connection.vendor != "postgresql":
        return False
    with _slot(kind, slot) as held:
        return not held


@contextmanager
def _async_commit():
    """Row marks commit without waiting for the WAL flush: a worker crash cannot undo a returned commit."""
    if connection.vendor != "postgresql" or not connection.get_autocommit():
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


# --- claiming and marking ---------------------------------------------------------------------------


def outbox_claim(*, kind: str, limit: int, token: uuid.UUID) -> list[int]:
    """Claim up to ``limit`` due rows of ``kind`` (pending, or sending with an expired lease)."""
    now = timezone.now()
    lease = timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS)
    with transaction.atomic():
        due = OutboxItem.objects.filter(kind=kind, status=Status.PENDING, next_attempt_at__lte=now).order_by(
            "priority", "id"
        )
        ids = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if len(ids) < limit:
            stale = OutboxItem.objects.filter(kind=kind, status=Status.SENDING, claimed_at__lt=now - lease)
            ids += list(
                stale.order_by("claimed_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("pk", flat=True)[: limit - len(ids)]
            )
        if ids:
            OutboxItem.objects.filter(pk__in=ids).update(
                status=Status.SENDING, claimed_at=now, claim_token=token, attempts=F("attempts") + 1
            )
    return ids


def _mark(row_id: int, token: uuid.UUID, **values) -> bool:
    """Set a claimed row's outcome; False if the claim was lost (the lease ran out and it was re-claimed)."""
    updated = OutboxItem.objects.filter(pk=row_id, status=Status.SENDING, claim_token=token).update(**values)
    if not updated:
        logger.warning("outbox row %s: claim lost before its outcome was recorded", row_id)
    return bool(updated)


def _release(row_ids: list[int], token: uuid.UUID, *, delay: float = 0, error: str = "") -> None:
    """Give claimed rows back (not attempted after all: the attempt is not counted)."""
    if row_ids:
        OutboxItem.objects.filter(pk__in=row_ids, status=Status.SENDING, claim_token=token).update(
            status=Status.PENDING,
            claim_token=None,
            claimed_at=None,
            attempts=F("attempts") - 1,
            next_attempt_at=timezone.now() + timedelta(seconds=delay),
            last_error=error[:2000],
        )


def retry_delay(attempts: int) -> float:
    """Exponential backoff: base, 2×base, 4×base ... capped at a day."""
    return min(settings.NOTIFICATIONS_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1)), 86400)


@dataclass
class BatchResult:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    retried: int = 0
    released: int = 0
    per_message: dict[int, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))

    def count(self, row: OutboxItem, outcome: str) -> None:
        index = {"sent": 0, "failed": 1, "skipped": 2}.get(outcome)
        setattr(self, outcome, getattr(self, outcome) + 1)
        if row.message_id and index is not None:
            self.per_message[row.message_id][index] += 1


_MARK_SENT_SQL = (
    f"UPDATE {OutboxItem._meta.db_table} SET status = %s, sent_at = %s, provider_id = %s "  # noqa: S608 - our table
    "WHERE id = %s AND status = %s AND claim_token = %s"
)


def _mark_sent(row_id: int, token: uuid.UUID, provider_id: str) -> bool:
    """The hot path of a mailing: one prepared UPDATE per row (the ORM's compile cost was half of it)."""
    if connection.vendor != "postgresql":
        return _mark(row_id, token, status=Status.SENT, sent_at=timezone.now(), provider_id=provider_id)
    with connection.cursor() as cursor:
        cursor.execute(_MARK_SENT_SQL, [Status.SENT, timezone.now(), provider_id, row_id, Status.SENDING, token])
        updated = cursor.rowcount
    if not updated:
        logger.warning("outbox row %s: claim lost before its outcome was recorded", row_id)
    return bool(updated)


class RowOutcome:
    """What a sender reports per row; the batch loop records it."""

    def __init__(self, batch: "Batch"):
        self.batch = batch

    def sent(self, row: OutboxItem, provider_id: str = "") -> None:
        if _mark_sent(row.pk, self.batch.token, provider_id[:100]):
            self.batch.result.count(row, "sent")

    def skipped(self, row: OutboxItem, reason: str) -> None:
        if _mark(row.pk, self.batch.token, status=Status.SKIPPED, last_error=reason[:2000]):
            self.batch.result.count(row, "skipped")

    def failed(self, row: OutboxItem, error: str, *, permanent: bool = False) -> None:
        """A failed attempt: retried later with backoff, unless permanent or out of attempts."""
        if permanent or row.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
            if _mark(row.pk, self.batch.token, status=Status.FAILED, last_error=error[:2000]):
                self.batch.result.count(row, "failed")
            return
        if _mark(
            row.pk,
            self.batch.token,
            status=Status.PENDING,
            claim_token=None,
            claimed_at=None,
            next_attempt_at=timezone.now() + timedelta(seconds=retry_delay(row.attempts)),
            last_error=error[:2000],
        ):
            self.batch.result.retried += 1


@dataclass
class Batch:
    kind: str
    token: uuid.UUID
    rows: list[OutboxItem]
    deadline: float  # time.monotonic() after which no row of this claim may be sent any more
    pacer: "Pacer"
    result: BatchResult = field(default_factory=BatchResult)

    @property
    def outcome(self) -> RowOutcome:
        return RowOutcome(self)

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def release_rest(self, rows: list[OutboxItem], *, delay: float = 0, error: str = "") -> None:
        ids = [row.pk for row in rows]
        _release(ids, self.token, delay=delay, error=error)
        self.result.released += len(ids)


class Pacer:
    """Keeps one slot at rate/slots messages per second (0 = no limit)."""

    def __init__(self, per_second: float):
        self.interval = 1.0 / per_second if per_second and per_second > 0 else 0.0
        self.next_at = time.monotonic()

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now) + self.interval


def _rate_for(kind: str) -> float:
    total = {Kind.EMAIL: settings.NOTIFICATIONS_EMAIL_RATE, Kind.SMS: settings.NOTIFICATIONS_SMS_RATE}.get(kind, 0)
    return total / max(1, settings.NOTIFICATIONS_SEND_SLOTS) if total else 0


# --- the drain --------------------------------------------------------------------------------------


def _senders():
    from . import senders

    return {
        Kind.EMAIL: senders.send_email_batch,
        Kind.SMS: senders.send_sms_batch,
        Kind.PORTAL: senders.send_portal_batch,
        Kind.WEBHOOK: senders.send_webhook_batch,
    }


def outbox_drain(*, kind: str, slot: int = 0, seconds: float | None = None) -> str:
    """Send due rows of ``kind`` until none are left ("idle") or the time budget is spent ("more").

    Returns "busy" at once when another process holds this slot.
    """
    budget = settings.NOTIFICATIONS_DRAIN_SECONDS if seconds is None else seconds
    started = time.monotonic()
    sender = _senders()[kind]
    lease = settings.NOTIFICATIONS_SEND_LEASE_SECONDS
    pacer = Pacer(_rate_for(kind))
    with _slot(kind, slot) as held:
        if not held:
            return "busy"
        with _async_commit():
            while True:
                token = uuid.uuid4()
                claimed_at = time.monotonic()
                ids = outbox_claim(kind=kind, limit=settings.NOTIFICATIONS_BATCH_SIZE, token=token)
                if not ids:
                    return "idle"
                rows = list(OutboxItem.objects.filter(pk__in=ids, claim_token=token).order_by("priority", "id"))
                # Stop short of the lease: a row is never sent once another worker may have re-claimed it.
                batch = Batch(kind=kind, token=token, rows=rows, deadline=claimed_at + lease * 0.8, pacer=pacer)
                try:
                    sender(batch)
                finally:
                    _record_progress(batch.result)
                if time.monotonic() - started >= budget:
                    return "more"


def _record_progress(result: BatchResult) -> None:
    from ..models import Message
    from .messages import message_finish_if_complete

    for message_id, (sent, failed, skipped) in result.per_message.items():
        # Running figures for the progress bar; the exact ones are counted from the rows when done.
        Message.objects.filter(pk=message_id, status=Message.Status.SENDING).update(
            sent_count=Least(F("sent_count") + sent, F("recipients_count")),
            failed_count=F("failed_count") + failed,
            skipped_count=F("skipped_count") + skipped,
        )
        message_finish_if_complete(message_id=message_id)


# --- mail connection -----------------------------------------------------------------------------


def mail_connection():
    """The connection outbox mail goes through: NOTIFICATIONS_EMAIL_URL when set, else the default."""
    url = settings.NOTIFICATIONS_EMAIL_URL
    if not url:
        return get_connection(fail_silently=False)
    import environ

    config = environ.Env.email_url_config(url)
    return get_connection(
        backend=config["EMAIL_BACKEND"],
        fail_silently=False,
        host=config.get("EMAIL_HOST"),
        port=config.get("EMAIL_PORT"),
        username=config.get("EMAIL_HOST_USER") or None,
        password=config.get("EMAIL_HOST_PASSWORD") or None,
        use_tls=config.get("EMAIL_USE_TLS", False),
        use_ssl=config.get("EMAIL_USE_SSL", False),
        timeout=config.get("EMAIL_TIMEOUT") or 30,
    )


TEMPORARY_SMTP_ERRORS = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    ConnectionError,
    TimeoutError,
    OSError,
)


# --- relay (beat) ----------------------------------------------------------------------------------


def outbox_relay() -> dict[str, int]:
    """Re-publish due work: start scheduled mailings, resume materialisations, wake idle senders.

    Runs every 30 s from beat. It is what makes a lost broker message (Redis restarted without
    persistence, a worker killed before its task was acknowledged) cost a delay, never a message.
    """
    from ..models import Message
    from ..tasks import message_materialise_task
    from .messages import message_finish_if_complete, messages_start_due

    started = messages_start_due()
    stuck = list(Message.objects.filter(status=Message.Status.QUEUED).values_list("pk", flat=True))
    for message_id in stuck:
        message_materialise_task.apply_async(args=[message_id], **task_options())
    now = timezone.now()
    lease_cutoff = now - timedelta(seconds=settings.NOTIFICATIONS_SEND_LEASE_SECONDS)
    woken = 0
    for kind in Kind.values:
        due = (
            OutboxItem.objects.filter(kind=kind, status=Status.PENDING, next_attempt_at__lte=now).exists()
            or OutboxItem.objects.filter(kind=kind, status=Status.SENDING, claimed_at__lt=lease_cutoff).exists()
        )
        if not due:
            continue
        from ..tasks import outbox_drain_task

        for slot in range(settings.NOTIFICATIONS_SEND_SLOTS):
            if not slot_is_busy(kind, slot):
                outbox_drain_task.apply_async(args=[kind, slot], **task_options())
                woken += 1
    finished = 0
    for message_id in Message.objects.filter(status=Message.Status.SENDING).values_list("pk", flat=True):
        finished += int(message_finish_if_complete(message_id=message_id))
    return {"started": started, "materialising": len(stuck), "senders_woken": woken, "finished": finished}
