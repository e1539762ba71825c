"""Outgoing webhooks: events other university systems subscribe to, delivered through the outbox."""

import uuid
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core import audit

from ..models import OutboxItem, WebhookSubscription
from .outbox import outbox_kick

_EVENTS: dict[str, Any] = {}
_CACHE_KEY = "notifications.webhook_subscriptions.v1"
_CACHE_SECONDS = 30


def register_webhook_event(key: str, *, label) -> None:
    """Make an event name subscribable (the giving app registers "gift.recorded", events "registration.created")."""
    _EVENTS[key] = label


def webhook_events() -> dict[str, Any]:
    return dict(sorted(_EVENTS.items()))


def register_builtin_events() -> None:
    register_webhook_event("person.updated", label=gettext_lazy("An alumnus's record changed"))
    register_webhook_event("gift.recorded", label=gettext_lazy("A gift was recorded"))
    register_webhook_event("registration.created", label=gettext_lazy("Someone registered for an event"))


def _subscribers() -> list[tuple[int, str, list[str]]]:
    """Active subscriptions as (id, url, events), cached briefly: every save of a person asks."""
    rows = cache.get(_CACHE_KEY)
    if rows is None:
        rows = list(WebhookSubscription.objects.filter(is_active=True).values_list("pk", "url", "events"))
        cache.set(_CACHE_KEY, rows, _CACHE_SECONDS)
    return rows


def webhook_subscribers_changed() -> None:
    cache.delete(_CACHE_KEY)


def webhook_emit(event: str, data: dict[str, Any]) -> list[OutboxItem]:
    """Queue one delivery per subscriber of ``event``, in the caller's transaction; sent after commit.

    ``data`` should hold ids, not personal details: receivers fetch what they are entitled to.
    """
    if event not in _EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    targets = [(pk, url) for pk, url, events in _subscribers() if event in (events or [])]
    if not targets:
        return []
    now = timezone.now()
    rows = []
    for subscription_id, url in targets:
        delivery = str(uuid.uuid4())
        rows.append(
            OutboxItem(
                kind=OutboxItem.Kind.WEBHOOK,
                priority=OutboxItem.Priority.TRANSACTIONAL,
                subscription_id=subscription_id,
                address=url[:500],
                payload={"id": delivery, "event": event, "occurred_at": now.isoformat(), "data": data},
                dedupe_key=f"webhook:{delivery}",
                next_attempt_at=now,
            )
        )
    OutboxItem.objects.bulk_create(rows)
    outbox_kick(OutboxItem.Kind.WEBHOOK)
    return rows


@transaction.atomic
def webhook_subscription_save(*, subscription: WebhookSubscription, actor) -> WebhookSubscription:
    unknown = [e for e in subscription.events or [] if e not in _EVENTS]
    if unknown:
        raise ValidationError(
            {"events": [_("Unknown events: %(names)s.") % {"names": ", ".join(unknown)}]}, code="unknown_event"
        )
    created = subscription.pk is None
    if created:
        subscription.created_by = actor
    subscription.save()
    audit.record(
        actor=actor,
        action="webhook.create" if created else "webhook.update",
        target=subscription,
        changes=[
            {"field": "events", "old": None, "new": subscription.events},
            {"field": "url", "old": None, "new": subscription.url},
        ],
    )
    transaction.on_commit(webhook_subscribers_changed)
    return subscription
