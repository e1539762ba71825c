"""One sender per outbox kind. Each gets a claimed Batch and reports an outcome for every row.

Before anything goes out, a batch re-checks what may have changed since the rows were written:
consent withdrawn, channel bounced or made obsolete, person deceased. So a withdrawal takes
effect before the next batch, even for a mailing already under way.
"""

import hashlib
import hmac
import json
import logging
import smtplib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import translation

from apps.alumni.models import ContactChannel, Enrollment, Person

from .. import rendering
from ..models import Category, Message, Notification, OutboxItem
from ..sms import SmsDeliveryError, get_sms_backend
from .consent import consent_blocked_people
from .outbox import TEMPORARY_SMTP_ERRORS, Batch, mail_connection

logger = logging.getLogger(__name__)

USABLE_CHANNEL = (ContactChannel.Status.VERIFIED, ContactChannel.Status.UNVERIFIED)
_CONSENT_CHANNEL = {"email": "email", "sms": "sms", "portal": "portal"}


@dataclass(frozen=True)
class PersonValues:
    name: str = ""
    school_class: str = ""
    college: str = ""
    graduation_year: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "class": self.school_class,
            "college": self.college,
            "graduation_year": self.graduation_year,
        }


def person_values(person_ids) -> dict[int, PersonValues]:
    """Placeholder values for many people in two queries: name, and class/college/year of the latest degree."""
    ids = [pid for pid in person_ids if pid]
    names = dict(Person.objects.filter(pk__in=ids).values_list("pk", "name"))
    latest: dict[int, tuple] = {}
    degrees = (
        Enrollment.objects.filter(person_id__in=ids)
        .order_by("person_id", F("graduation_year").desc(nulls_last=True), "-id")
        .values_list("person_id", "school_class__name", "college__name", "graduation_year")
    )
    for person_id, class_name, college_name, year in degrees:
        latest.setdefault(person_id, (class_name or "", college_name or "", str(year or "")))
    return {pid: PersonValues(names.get(pid, ""), *latest.get(pid, ("", "", ""))) for pid in ids}


def _blocked_rows(batch: Batch, mailings: dict[int, "_Mailing"]) -> dict[int, str]:
    """Rows that must not go out any more, with the reason (one query per check)."""
    blocked: dict[int, str] = {}
    rows = batch.rows
    channel_ids = {row.channel_id for row in rows if row.channel_id}
    if channel_ids:
        unusable = set(
            ContactChannel.objects.filter(pk__in=channel_ids)
            .exclude(status__in=USABLE_CHANNEL)
            .values_list("pk", flat=True)
        )
        for row in rows:
            if row.channel_id in unusable:
                blocked[row.pk] = "channel bounced or obsolete"
    for row in rows:
        if row.message_id and row.person_id and row.kind in ("email", "sms") and row.channel_id is None:
            blocked.setdefault(row.pk, "contact channel removed")
    person_ids = {row.person_id for row in rows if row.person_id}
    if person_ids:
        deceased = set(Person.objects.filter(pk__in=person_ids, is_deceased=True).values_list("pk", flat=True))
        for row in rows:
            if row.person_id in deceased:
                blocked.setdefault(row.pk, "deceased")
    by_category: dict[str, set[int]] = {}
    for row in rows:
        if row.person_id and row.category != Category.SERVICE and row.kind in _CONSENT_CHANNEL:
            by_category.setdefault(row.category, set()).add(row.person_id)
    for category, ids in by_category.items():
        refused = consent_blocked_people(person_ids=ids, channel=_CONSENT_CHANNEL[batch.kind], category=category)
        for row in rows:
            if row.category == category and row.person_id in refused:
                blocked.setdefault(row.pk, "no consent")
    # A row claimed when its mailing was cancelled may come back (retry, released batch, lost lease).
    for row in rows:
        mailing = mailings.get(row.message_id)
        if mailing is not None and mailing.message.status == Message.Status.CANCELLED:
            blocked[row.pk] = "cancelled"
    return blocked


class _Mailing:
    """A mailing's texts per language, and its per-language footer, for one batch."""

    def __init__(self, message: Message):
        self.message = message
        self._footers: dict[str, rendering.Footer] = {}

    def texts(self, language: str) -> tuple[str, str, str]:
        m = self.message
        if language == "en" and m.text_en:
            return m.subject_en or m.subject_zh, m.text_en, m.html_en
        return m.subject_zh, m.text_zh, m.html_zh

    def footer(self, language: str) -> rendering.Footer:
        if language not in self._footers:
            with translation.override(language):
                label = str(Category(self.message.category).label)
                self._footers[language] = rendering.footer_for(category_label=label, transactional=False)
        return self._footers[language]


def _mailings(rows) -> dict[int, _Mailing]:
    ids = {row.message_id for row in rows if row.message_id}
    return {m.pk: _Mailing(m) for m in Message.objects.filter(pk__in=ids)}


def _transactional_footer(language: str, cache: dict) -> rendering.Footer:
    if language not in cache:
        with translation.override(language):
            cache[language] = rendering.footer_for(category_label="", transactional=True)
    return cache[language]


def _compose_email(row: OutboxItem, mailings, values, footers, connection, links: rendering.Links):
    """The finished email of one row."""
    if row.message_id:
        mailing = mailings[row.message_id]
        subject, text, html = mailing.texts(row.language)
        unsubscribe = links.unsubscribe(person_id=row.person_id, category=row.category)
        fill = {**values.get(row.person_id, PersonValues()).as_dict(), "unsubscribe_url": unsubscribe}
        fill["preferences_url"] = links.preferences
        footer = mailing.footer(row.language)
        body = rendering.fill(text, fill) + rendering.fill(footer.text, fill)
        html_body = rendering.fill(html, fill, html=True) + rendering.fill(footer.html, fill, html=True) if html else ""
        return rendering.build_email(
            outbox_id=row.pk,
            to=row.address,
            subject=rendering.fill(subject, fill),
            text=body,
            html=html_body,
            unsubscribe=unsubscribe,
            connection=connection,
        )
    footer = _transactional_footer(row.language, footers)
    return rendering.build_email(
        outbox_id=row.pk,
        to=row.address,
        subject=row.subject,
        text=row.body_text + footer.text,
        html=row.body_html + footer.html if row.body_html else "",
        connection=connection,
    )


def _permanent_refusal(exc: smtplib.SMTPRecipientsRefused) -> bool:
    return any(500 <= code < 600 for code, _msg in exc.recipients.values())


def send_email_batch(batch: Batch) -> None:
    mailings = _mailings(batch.rows)
    blocked = _blocked_rows(batch, mailings)
    values = person_values({row.person_id for row in batch.rows if row.message_id})
    footers: dict[str, rendering.Footer] = {}
    links = rendering.Links()
    outcome = batch.outcome
    todo = list(batch.rows)
    connection = mail_connection()
    try:
        connection.open()
    except (*TEMPORARY_SMTP_ERRORS, smtplib.SMTPException) as exc:
        logger.warning("outbox: cannot reach the SMTP server: %s", exc)
        for row in todo:
            outcome.failed(row, f"SMTP connection: {exc}")
        return
    try:
        while todo:
            row = todo[0]
            if batch.expired():
                batch.release_rest(todo)
                return
            todo.pop(0)
            if row.pk in blocked:
                outcome.skipped(row, blocked[row.pk])
                continue
            if not row.address:
                outcome.failed(row, "no address", permanent=True)
                continue
            batch.pacer.wait()
            try:
                email = _compose_email(row, mailings, values, footers, connection, links)
                connection.send_messages([email])
            except smtplib.SMTPRecipientsRefused as exc:
                permanent = _permanent_refusal(exc)
                outcome.failed(row, f"refused: {exc.recipients}", permanent=permanent)
                if permanent and row.channel_id:
                    _bounce_from_smtp(row, str(exc.recipients))
                continue
            except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                outcome.failed(row, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=500 <= exc.smtp_code < 600)
                continue
            except (*TEMPORARY_SMTP_ERRORS, smtplib.SMTPException) as exc:
                # The connection broke: this row and the rest go back with backoff, nothing is lost.
                outcome.failed(row, f"SMTP: {exc}")
                batch.release_rest(todo, delay=settings.NOTIFICATIONS_RETRY_BASE_SECONDS, error=str(exc))
                return
            outcome.sent(row)
    finally:
        try:
            connection.close()
        except (*TEMPORARY_SMTP_ERRORS, smtplib.SMTPException):
            logger.info("outbox: SMTP connection closed uncleanly")


def _bounce_from_smtp(row: OutboxItem, reason: str) -> None:
    from .bounces import channel_mark_bounced

    try:
        channel_mark_bounced(kind="email", address=row.address, source="smtp", reason=reason[:500])
    except Exception:  # the send outcome is already recorded; a failed bounce mark must not undo it
        logger.exception("outbox: could not mark %s bounced", row.pk)


def send_sms_batch(batch: Batch) -> None:
    mailings = _mailings(batch.rows)
    blocked = _blocked_rows(batch, mailings)
    values = person_values({row.person_id for row in batch.rows if row.message_id})
    backend = get_sms_backend()
    outcome = batch.outcome
    for index, row in enumerate(batch.rows):
        if batch.expired():
            batch.release_rest(batch.rows[index:])
            return
        if row.pk in blocked:
            outcome.skipped(row, blocked[row.pk])
            continue
        if row.message_id:
            _subject, text, _html = mailings[row.message_id].texts(row.language)
            text = rendering.fill(text, values.get(row.person_id, PersonValues()).as_dict())
        else:
            text = row.body_text
        batch.pacer.wait()
        try:
            provider_id = backend.send(row.address, text)
        except SmsDeliveryError as exc:
            outcome.failed(row, f"SMS gateway: {exc}")
            continue
        outcome.sent(row, provider_id or "")


def send_portal_batch(batch: Batch) -> None:
    """Portal notices of a mailing: created and marked in one transaction, so exactly once."""
    mailings = _mailings(batch.rows)
    blocked = _blocked_rows(batch, mailings)
    values = person_values({row.person_id for row in batch.rows if row.message_id})
    users = dict(
        Person.objects.filter(pk__in=[r.person_id for r in batch.rows if r.person_id]).values_list("pk", "user_id")
    )
    with transaction.atomic():
        for row in batch.rows:
            user_id = row.user_id or users.get(row.person_id)
            if row.pk in blocked or not user_id:
                batch.outcome.skipped(row, blocked.get(row.pk, "no portal account"))
                continue
            if row.message_id:
                subject, text, _html = mailings[row.message_id].texts(row.language)
                fill = values.get(row.person_id, PersonValues()).as_dict()
                title, body = (
                    rendering.fill(subject, fill) or mailings[row.message_id].message.name,
                    rendering.fill(text, fill),
                )
            else:
                title, body = row.subject, row.body_text
            Notification.objects.get_or_create(
                outbox_item=row,
                defaults={
                    "user_id": user_id,
                    "category": row.category,
                    "title": title[:255],
                    "body": body,
                    "message_id": row.message_id,
                },
            )
            batch.outcome.sent(row)


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def send_webhook_batch(batch: Batch) -> None:
    from ..models import WebhookSubscription

    subscriptions = {
        s.pk: s for s in WebhookSubscription.objects.filter(pk__in={r.subscription_id for r in batch.rows})
    }
    outcome = batch.outcome
    for index, row in enumerate(batch.rows):
        if batch.expired():
            batch.release_rest(batch.rows[index:])
            return
        subscription = subscriptions.get(row.subscription_id)
        if subscription is None or not subscription.is_active:
            outcome.skipped(row, "subscription removed or paused")
            continue
        body = json.dumps(row.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(  # noqa: S310 - staff-configured https URL of a university system
            subscription.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "AlumniPortal-Webhooks/1",
                "X-Alumni-Event": str(row.payload.get("event", "")),
                "X-Alumni-Delivery": str(row.payload.get("id", row.pk)),
                "X-Alumni-Timestamp": timestamp,
                "X-Alumni-Signature": webhook_signature(subscription.secret, timestamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.NOTIFICATIONS_WEBHOOK_TIMEOUT) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            outcome.failed(row, f"HTTP {exc.code} from the receiver")
            continue
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            outcome.failed(row, f"unreachable: {exc}")
            continue
        if 200 <= status < 300:
            outcome.sent(row)
        else:
            outcome.failed(row, f"HTTP {status}")
