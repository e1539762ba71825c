from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear

from apps.core.scoping import scope_for
from apps.notifications.models import Category, Channel
from apps.notifications.services.consent import consent_condition

from .models import NewsItem, NewsPerson, Publication


def visible_news(user) -> QuerySet[NewsItem]:
    """The office sees every item; college staff the items of their colleges."""
    scope = scope_for(user)
    if scope.whole_school:
        return NewsItem.objects.all()
    if scope.college_ids:
        return NewsItem.objects.filter(college_id__in=scope.college_ids)
    return NewsItem.objects.none()


def published_news() -> QuerySet[NewsItem]:
    return NewsItem.objects.filter(status=NewsItem.Status.PUBLISHED).order_by("-published_at", "-id")


def public_links(item: NewsItem) -> QuerySet[NewsPerson]:
    """The linked people who agreed to be named in published news (the others are never shown)."""
    return (
        item.links.filter(consent_condition(channel=Channel.PUBLIC, category=Category.NEWS, person_ref="person_id"))
        .select_related("person")
        .order_by("id")
    )


def unnamed_links(item: NewsItem) -> QuerySet[NewsPerson]:
    """Linked people without that consent: publishing must not name them."""
    return item.links.exclude(pk__in=public_links(item).values("pk")).select_related("person").order_by("id")


def news_yearly_report(year: int) -> dict:
    """The year's figures for the annual report: items by kind, honoured alumni, reach per channel."""
    items = published_news().filter(published_at__year=year)
    by_kind = dict(items.order_by().values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    honoured = (
        NewsPerson.objects.filter(news__in=items.order_by().values("pk"))
        .filter(Q(news__kind=NewsItem.Kind.ACHIEVEMENT) | ~Q(achievement=""))
        .values("person_id")
        .distinct()
        .count()
    )
    channels = {
        row["channel"]: row
        for row in Publication.objects.filter(published_on__year=year)
        .values("channel")
        .annotate(publications=Count("pk"), reads=Sum("reads"), likes=Sum("likes"), shares=Sum("shares"))
    }
    return {
        "year": year,
        "articles": by_kind.get(NewsItem.Kind.ARTICLE, 0),
        "stories": by_kind.get(NewsItem.Kind.STORY, 0),
        "achievements": by_kind.get(NewsItem.Kind.ACHIEVEMENT, 0),
        "honoured_alumni": honoured,
        "channels": [
            {
                "channel": choice.value,
                "label": choice.label,
                "publications": channels.get(choice.value, {}).get("publications", 0),
                "reads": channels.get(choice.value, {}).get("reads") or 0,
                "likes": channels.get(choice.value, {}).get("likes") or 0,
                "shares": channels.get(choice.value, {}).get("shares") or 0,
            }
            for choice in Publication.Channel
        ],
    }


def news_years() -> list[int]:
    years = published_news().annotate(y=ExtractYear("published_at")).values_list("y", flat=True).distinct()
    return sorted({y for y in years if y}, reverse=True)
