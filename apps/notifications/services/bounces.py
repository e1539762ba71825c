"""Bounces: a channel that does not work is marked bounced (audited) and drops out of sending and
of the effective contact rate (which counts verified channels only)."""

from django.db import transaction

from apps.alumni.models import ContactChannel
from apps.alumni.services import personal_data_save, snapshot
from apps.core.names import normalise_contact

from ..models import BounceEvent

_CHANNEL_KINDS = {
    "email": ContactChannel.Kind.EMAIL,
    "mobile": ContactChannel.Kind.MOBILE,
    "sms": ContactChannel.Kind.MOBILE,
}


@transaction.atomic
def channel_mark_bounced(
    *, kind: str, address: str, source: str, bounce_kind: str = BounceEvent.Kind.HARD, reason: str = "", actor=None
) -> BounceEvent:
    """Record a bounce; hard bounces and complaints mark every matching channel bounced.

    Each channel goes through ``personal_data_save``, so every status change has its audit row.
    Soft bounces are only recorded (the provider retries those). Idempotent: a channel already
    bounced or obsolete is left alone.
    """
    channel_kind = _CHANNEL_KINDS.get(kind)
    if channel_kind is None:
        raise ValueError(f"unknown channel kind {kind!r}")
    normalised = normalise_contact(channel_kind, address)
    marked = 0
    if bounce_kind in (BounceEvent.Kind.HARD, BounceEvent.Kind.COMPLAINT) and normalised:
        channels = (
            ContactChannel.objects.select_for_update()
            .filter(kind=channel_kind, value_normalised=normalised)
            .exclude(status__in=[ContactChannel.Status.BOUNCED, ContactChannel.Status.OBSOLETE])
        )
        for channel in channels:
            old = snapshot(channel)
            channel.status = ContactChannel.Status.BOUNCED
            personal_data_save(instance=channel, old=old, actor=actor, reason=f"bounce ({source}): {reason}"[:255])
            marked += 1
    return BounceEvent.objects.create(
        channel_kind=channel_kind,
        address=(normalised or address)[:255],
        kind=bounce_kind,
        source=source,
        reason=reason[:500],
        channels_marked=marked,
    )
