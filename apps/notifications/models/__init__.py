from .consent import (
    CONSENT_CATEGORIES,
    MESSAGE_CHANNELS,
    Category,
    Channel,
    Consent,
    ConsentEvent,
    ContactPreference,
)
from .messages import Message, Notification, OutboxItem, Segment
from .webhooks import BounceEvent, WebhookSubscription

__all__ = [
    "CONSENT_CATEGORIES",
    "MESSAGE_CHANNELS",
    "BounceEvent",
    "Category",
    "Channel",
    "Consent",
    "ConsentEvent",
    "ContactPreference",
    "Message",
    "Notification",
    "OutboxItem",
    "Segment",
    "WebhookSubscription",
]
