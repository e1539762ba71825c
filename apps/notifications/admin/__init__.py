from .messages import MessageAdmin
from .records import BounceEventAdmin, ConsentEventAdmin, OutboxItemAdmin, WebhookSubscriptionAdmin
from .segments import SegmentAdmin

__all__ = [
    "BounceEventAdmin",
    "ConsentEventAdmin",
    "MessageAdmin",
    "OutboxItemAdmin",
    "SegmentAdmin",
    "WebhookSubscriptionAdmin",
]
