from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.alumni.selectors import visible_people
from apps.core import audit
from apps.core.errors import ApplicationError
from apps.core.scoping import scope_for

from .models import NewsItem, Publication
from .selectors import public_links, unnamed_links

PUBLISH_PERMISSION = "news.publish_newsitem"


def can_edit_news(user, item: NewsItem) -> bool:
    scope = scope_for(user)
    if not user.has_perm("news.change_newsitem"):
        return False
    # A published item is the office's: changing it is publishing new text.
    if item.status == NewsItem.Status.PUBLISHED and not user.has_perm(PUBLISH_PERMISSION):
        return False
    return scope.whole_school or (item.college_id is not None and item.college_id in scope.college_ids)


@transaction.atomic
def newsitem_save(*, item: NewsItem, actor) -> NewsItem:
    """Create or edit an item; college staff write for their own colleges only."""
    scope = scope_for(actor)
    if not scope.whole_school and item.college_id not in scope.college_ids:
        raise ValidationError({"college": [_("Choose one of your colleges.")]}, code="college")
    created = item.pk is None
    published = NewsItem.Status.PUBLISHED
    if item.status == published or (not created and NewsItem.objects.filter(pk=item.pk, status=published).exists()):
        if not actor.has_perm(PUBLISH_PERMISSION):
            raise PermissionDenied
        if not created:  # a new item has no links yet
            newsitem_consent_check(item=item)
    if created:
        item.author = actor
    item.save()
    audit.record(actor=actor, action="news.create" if created else "news.update", target=item)
    return item


def newsitem_people_check(*, item: NewsItem, actor) -> None:
    """ValidationError if a linked person is outside what ``actor`` may see."""
    outside = item.links.exclude(person__in=visible_people(actor))
    if outside.exists():
        raise ValidationError(_("Some linked people are outside your scope."), code="scope")


def newsitem_consent_check(*, item: NewsItem) -> None:
    """ValidationError while the text names a linked person who has not agreed to be named."""
    text = " ".join([item.title, item.summary, item.body])
    named = [link.person.name for link in unnamed_links(item) if link.person.name and link.person.name in text]
    if named:
        raise ValidationError(
            _(
                "The text names %(names)s, who did not agree to be named in published news. "
                "Remove the names or record their consent."
            )
            % {"names": "、".join(named)},
            code="no_consent",
        )


@transaction.atomic
def newsitem_publish(*, item: NewsItem, actor) -> NewsItem:
    """Publish on the portal. Refused while the text names a linked person who has not agreed to be named."""
    if not actor.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied
    item = NewsItem.objects.select_for_update().get(pk=item.pk)
    if item.status == NewsItem.Status.PUBLISHED:
        raise ApplicationError(_("This item is already published."), code="published")
    newsitem_consent_check(item=item)
    item.status = NewsItem.Status.PUBLISHED
    item.published_at = timezone.now()
    item.published_by = actor
    item.save(update_fields=["status", "published_at", "published_by", "updated_at"])
    audit.record(actor=actor, action="news.publish", target=item)
    return item


@transaction.atomic
def newsitem_unpublish(*, item: NewsItem, actor) -> NewsItem:
    if not actor.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied
    item = NewsItem.objects.select_for_update().get(pk=item.pk)
    item.status = NewsItem.Status.DRAFT
    item.published_at = None
    item.save(update_fields=["status", "published_at", "updated_at"])
    audit.record(actor=actor, action="news.unpublish", target=item)
    return item


@transaction.atomic
def publication_record(
    *,
    item: NewsItem,
    channel: str,
    published_on: date,
    actor,
    url: str = "",
    reads: int = 0,
    likes: int = 0,
    shares: int = 0,
) -> Publication:
    """Record (or correct) the publication of an item on one channel and its reach figures."""
    if min(reads, likes, shares) < 0:
        raise ValidationError(_("Reach figures cannot be negative."), code="negative")
    publication, created = Publication.objects.update_or_create(
        news=item,
        channel=channel,
        defaults={
            "published_on": published_on,
            "url": url,
            "reads": reads,
            "likes": likes,
            "shares": shares,
            "entered_by": actor,
        },
    )
    audit.record(
        actor=actor,
        action="news.publication" if created else "news.publication_update",
        target=publication,
        changes=[{"field": "reads", "old": None, "new": reads}],
    )
    return publication


def wechat_html(*, item: NewsItem, actor) -> str:
    """A ready-to-paste HTML document for the WeChat official account editor (inline styles).

    Only the linked people who agreed to be named appear; the export is audited.
    """
    html = render_to_string(
        "news/wechat_export.html", {"item": item, "paragraphs": item.paragraphs(), "links": list(public_links(item))}
    )
    audit.record(actor=actor, action="news.export_wechat", target=item)
    return html
