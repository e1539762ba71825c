"""Consent per person, channel and category, with an append-only history; the language preference."""

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from apps.core import audit

from ..models import CONSENT_CATEGORIES, Category, Channel, Consent, ConsentEvent, ContactPreference

STATEMENT_VERSION = "2025-1"


def consent_is_opt_in(*, channel: str, category: str) -> bool:
    """Whether sending needs a recorded yes (else: everyone who has not said no)."""
    if channel == Channel.PUBLIC:
        return True  # being named publicly always needs a separate yes (PIPL Art. 25)
    return category in settings.NOTIFICATIONS_OPT_IN_CATEGORIES


def consent_condition(*, channel: str, category: str, person_ref: str = "pk") -> Q:
    """A Q (over a model with ``person_ref`` pointing at the person) true when sending is allowed."""
    if category == Category.SERVICE:
        return Q()
    answers = Consent.objects.filter(person_id=OuterRef(person_ref), channel=channel, category=category)
    if consent_is_opt_in(channel=channel, category=category):
        return Q(Exists(answers.filter(granted=True)))
    return ~Q(Exists(answers.filter(granted=False)))


def consent_allows(*, person_id: int, channel: str, category: str) -> bool:
    if category == Category.SERVICE:
        return True
    granted = (
        Consent.objects.filter(person_id=person_id, channel=channel, category=category)
        .values_list("granted", flat=True)
        .first()
    )
    if granted is None:
        return not consent_is_opt_in(channel=channel, category=category)
    return granted


def consent_blocked_people(*, person_ids, channel: str, category: str) -> set[int]:
    """Of ``person_ids``, those who may not be sent this channel and category now (one query)."""
    if category == Category.SERVICE or not person_ids:
        return set()
    answers = Consent.objects.filter(person_id__in=person_ids, channel=channel, category=category)
    if consent_is_opt_in(channel=channel, category=category):
        allowed = set(answers.filter(granted=True).values_list("person_id", flat=True))
        return set(person_ids) - allowed
    return set(answers.filter(granted=False).values_list("person_id", flat=True))


@transaction.atomic
def consent_set(
    *,
    person,
    channel: str,
    category: str,
    granted: bool,
    source: str,
    statement: str = "",
    actor=None,
    statement_version: str = STATEMENT_VERSION,
) -> ConsentEvent | None:
    """Record a yes or no; returns the new ConsentEvent, or None (writing nothing) when the answer is already that.

    Every change appends a ConsentEvent with the statement shown and the source, and an audit row.
    """
    if category == Category.SERVICE or channel not in Channel.values or category not in Category.values:
        raise ValueError(f"no consent for {channel}/{category}")
    current = Consent.objects.select_for_update().filter(person=person, channel=channel, category=category).first()
    if current is not None and current.granted == granted:
        return None
    Consent.objects.update_or_create(person=person, channel=channel, category=category, defaults={"granted": granted})
    event = ConsentEvent.objects.create(
        person=person,
        channel=channel,
        category=category,
        granted=granted,
        statement=statement,
        statement_version=statement_version,
        source=source,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
    )
    audit.record(
        actor=actor,
        action="consent.grant" if granted else "consent.withdraw",
        target=person,
        changes=[
            {
                "field": f"consent.{channel}.{category}",
                "old": None if current is None else current.granted,
                "new": granted,
            }
        ],
        reason=source,
    )
    return event


def consent_state(person) -> dict[tuple[str, str], bool]:
    """Effective yes/no for every (channel, category) the preference page shows."""
    stored = {(c.channel, c.category): c.granted for c in Consent.objects.filter(person=person)}
    state = {}
    for channel in Channel.values:
        for category in CONSENT_CATEGORIES:
            default = not consent_is_opt_in(channel=channel, category=category)
            state[(channel, category)] = stored.get((channel, category), default)
    return state


@transaction.atomic
def language_set(*, person, language: str, actor=None) -> ContactPreference:
    preference, _created = ContactPreference.objects.get_or_create(person=person)
    if preference.language != language:
        old = preference.language
        preference.language = language
        preference.save(update_fields=["language", "updated_at"])
        audit.record(
            actor=actor,
            action="preference.language",
            target=person,
            changes=[{"field": "language", "old": old, "new": language}],
        )
    return preference
