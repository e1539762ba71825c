"""Every write of the communications app (see each module's docstring)."""

from .bounces import channel_mark_bounced
from .consent import consent_allows, consent_set, consent_state, language_set
from .messages import (
    message_cancel,
    message_finish_if_complete,
    message_materialise,
    message_recount,
    message_save,
    message_schedule,
    message_send_now,
    message_test_send,
    messages_start_due,
)
from .notify import notify
from .outbox import outbox_drain, outbox_kick, outbox_relay
from .segments import segment_delete, segment_save
from .webhooks import register_webhook_event, webhook_emit, webhook_subscription_save

__all__ = [
    "channel_mark_bounced",
    "consent_allows",
    "consent_set",
    "consent_state",
    "language_set",
    "message_cancel",
    "message_finish_if_complete",
    "message_materialise",
    "message_recount",
    "message_save",
    "message_schedule",
    "message_send_now",
    "message_test_send",
    "messages_start_due",
    "notify",
    "outbox_drain",
    "outbox_kick",
    "outbox_relay",
    "register_webhook_event",
    "segment_delete",
    "segment_save",
    "webhook_emit",
    "webhook_subscription_save",
]
