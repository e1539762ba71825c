"""The transactional notifications API other apps call: ``notify(recipient, template_key, context)``."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import RoleAssignment, User
from apps.alumni.models import ContactChannel, Person

from ..models import Category, Channel, ContactPreference, Notification, OutboxItem
from ..templates_registry import get_template, render
from .consent import consent_allows
from .outbox import outbox_kick

USABLE = [ContactChannel.Status.VERIFIED, ContactChannel.Status.UNVERIFIED]


def best_channel(person: Person, kind: str) -> ContactChannel | None:
    """A person's best usable channel of ``kind``: verified first, most recently verified first."""
    channels = person.contacts.filter(kind=kind, status__in=USABLE)
    verified = (
        channels.filter(status=ContactChannel.Status.VERIFIED)
        .order_by(F("verified_at").desc(nulls_last=True), "-id")
        .first()
    )
    return verified or channels.order_by("-id").first()


def _targets(recipient, role_college=None) -> list[tuple[Person | None, User | None]]:
    if isinstance(recipient, Person):
        return [(recipient, recipient.user)]
    if isinstance(recipient, User):
        return [(Person.objects.filter(user=recipient).first(), recipient)]
    if isinstance(recipient, str):
        assignments = RoleAssignment.objects.filter(role=recipient, user__is_active=True)
        if role_college is not None:
            assignments = assignments.filter(college=role_college)
        users = User.objects.filter(pk__in=assignments.values("user_id")).order_by("pk")
        people = {p.user_id: p for p in Person.objects.filter(user__in=users)}
        return [(people.get(u.pk), u) for u in users]
    raise TypeError(f"cannot notify {recipient!r}: give a Person, a User or a role name")


def _language(person: Person | None) -> str:
    if person is None:
        return settings.LANGUAGE_CODE
    return (
        ContactPreference.objects.filter(person=person).values_list("language", flat=True).first()
        or settings.LANGUAGE_CODE
    )


def _create_once(model, dedupe_key: str | None, **values):
    if dedupe_key is None:
        return model.objects.create(**values), True
    try:
        with transaction.atomic():
            return model.objects.get_or_create(dedupe_key=dedupe_key, defaults=values)
    except IntegrityError:
        return model.objects.get(dedupe_key=dedupe_key), False


def notify(
    recipient,
    template_key: str,
    context: dict | None = None,
    *,
    category: str | None = None,
    dedupe_key: str | None = None,
    url: str = "",
    role_college=None,
) -> list:
    """Notify a Person, a User or every holder of a role (optionally of one college) by template.

    Writes the outbox rows and portal notices in the caller's transaction and starts sending after
    it commits. ``dedupe_key`` (e.g. ``"imports.job_finished:42"``) makes a repeated call a no-op.
    Returns the rows and notices created. Channels without consent for the category are left out.
    """
    template = get_template(template_key)
    category = category or template.category
    context = {**(context or {}), "url": url or (context or {}).get("url", "")}
    created: list = []
    kinds: set[str] = set()
    now = timezone.now()
    for person, user in _targets(recipient, role_college):
        language = _language(person)
        subject, text = render(template, context, language)
        who = f"u{user.pk}" if user else f"p{person.pk}"

        def key(channel: str, who=who) -> str | None:
            return f"{dedupe_key}:{who}:{channel}"[:200] if dedupe_key else None

        def allowed(channel: str, person=person) -> bool:
            return (
                category == Category.SERVICE
                or person is None
                or consent_allows(person_id=person.pk, channel=channel, category=category)
            )

        if Channel.PORTAL in template.channels and user is not None and allowed(Channel.PORTAL):
            notice, new = _create_once(
                Notification, key("portal"), user=user, category=category, title=subject[:255], body=text, url=url
            )
            if new:
                created.append(notice)
        if Channel.EMAIL in template.channels and allowed(Channel.EMAIL):
            address, channel = "", None
            if user is not None and user.email:
                address = user.email
            elif person is not None:
                channel = best_channel(person, ContactChannel.Kind.EMAIL)
                address = channel.value if channel else ""
            if address:
                row, new = _create_once(
                    OutboxItem,
                    key("email"),
                    kind=OutboxItem.Kind.EMAIL,
                    priority=OutboxItem.Priority.TRANSACTIONAL,
                    category=category,
                    person=person,
                    user=user,
                    channel=channel,
                    address=address,
                    language=language,
                    subject=subject[:255],
                    body_text=text,
                    next_attempt_at=now,
                )
                if new:
                    created.append(row)
                    kinds.add(OutboxItem.Kind.EMAIL)
        if Channel.SMS in template.channels and person is not None and allowed(Channel.SMS):
            channel = best_channel(person, ContactChannel.Kind.MOBILE)
            if channel is not None:
                row, new = _create_once(
                    OutboxItem,
                    key("sms"),
                    kind=OutboxItem.Kind.SMS,
                    priority=OutboxItem.Priority.TRANSACTIONAL,
                    category=category,
                    person=person,
                    user=user,
                    channel=channel,
                    address=channel.value_normalised,
                    language=language,
                    body_text=text,
                    next_attempt_at=now,
                )
                if new:
                    created.append(row)
                    kinds.add(OutboxItem.Kind.SMS)
    for kind in kinds:
        outbox_kick(kind)
    return created


def notifications_mark_read(*, user, ids=None) -> int:
    """Mark the user's notifications read (all, or the given ids of their own); returns how many."""
    rows = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids:
        rows = rows.filter(pk__in=ids)
    return rows.update(read_at=timezone.now())
