from django.db.models import QuerySet

from apps.alumni.models import Enrollment, Person
from apps.alumni.selectors import visible_people
from apps.core.scoping import scope_for

from .filters import filters_condition
from .models import BounceEvent, ConsentEvent, Message, Notification, OutboxItem, Segment, WebhookSubscription


def visible_segments(user) -> QuerySet[Segment]:
    """The office sees every segment; others their own (a segment's people are scoped anyway)."""
    scope = scope_for(user)
    if scope.whole_school:
        return Segment.objects.all()
    if not scope.governs_anything:
        return Segment.objects.none()
    return Segment.objects.filter(created_by=user)


def visible_messages(user) -> QuerySet[Message]:
    scope = scope_for(user)
    if scope.whole_school:
        return Message.objects.all()
    if not scope.governs_anything:
        return Message.objects.none()
    return Message.objects.filter(created_by=user)


def visible_outbox(user) -> QuerySet[OutboxItem]:
    return OutboxItem.objects.all() if scope_for(user).whole_school else OutboxItem.objects.none()


def visible_bounces(user) -> QuerySet[BounceEvent]:
    return BounceEvent.objects.all() if scope_for(user).whole_school else BounceEvent.objects.none()


def visible_consent_events(user) -> QuerySet[ConsentEvent]:
    return ConsentEvent.objects.filter(person__in=visible_people(user))


def visible_webhook_subscriptions(user) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.all() if scope_for(user).whole_school else WebhookSubscription.objects.none()


def segment_people(filters: list, viewer) -> QuerySet[Person]:
    """The people a segment's filters select, always within what ``viewer`` may see; never the deceased."""
    return visible_people(viewer).filter(is_deceased=False).filter(filters_condition(filters))


def segment_count(filters: list, viewer) -> int:
    return segment_people(filters, viewer).count()


def segment_preview(filters: list, viewer, *, limit: int = 20) -> list[dict]:
    """The first people of a segment with their latest degree (two queries)."""
    people = list(segment_people(filters, viewer).order_by("pk").values("pk", "name")[:limit])
    degrees: dict[int, dict] = {}
    for row in (
        Enrollment.objects.filter(person_id__in=[p["pk"] for p in people])
        .order_by("person_id", "-graduation_year", "-id")
        .values("person_id", "college__name", "school_class__name", "graduation_year", "degree_level")
    ):
        degrees.setdefault(row["person_id"], row)
    return [{**p, **degrees.get(p["pk"], {})} for p in people]


def notification_list(user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).order_by("-created_at", "-id")
