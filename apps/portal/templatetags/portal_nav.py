"""The site navigation: what the signed-in user can use now, and what later parts of the portal add."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from ..permissions import claim_url
from ..selectors import viewer_person

register = template.Library()

# Sections later issues add: linked once their URL exists, shown as "coming soon" until then.
UPCOMING = [
    ("events:index", _("Events")),
    ("giving:index", _("Giving")),
    ("chapters:index", _("Chapters")),
    ("careers:index", _("Careers")),
]


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@register.inclusion_tag("portal/_nav.html", takes_context=True)
def portal_nav(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    path = getattr(request, "path", "")
    person = viewer_person(user) if user is not None else None
    items = []
    if person is not None:
        for name, label in [
            ("portal:profile", _("My profile")),
            ("portal:directory", _("Directory")),
            ("portal:inbox", _("Messages")),
            ("portal:card", _("Alumni card")),
        ]:
            url = reverse(name)
            items.append({"url": url, "label": label, "current": path.startswith(url)})
    upcoming = []
    if person is not None:
        for name, label in UPCOMING:
            url = _url(name)
            if url is not None:
                items.append({"url": url, "label": label, "current": path.startswith(url)})
            else:
                upcoming.append(label)
    return {
        "request": request,
        "user": user,
        "items": items,
        "upcoming": upcoming,
        "claim_url": claim_url() if user is not None and user.is_authenticated and person is None else None,
        "csrf_token": context.get("csrf_token"),
    }


@register.simple_tag
def optional_static(path: str) -> str:
    """The URL of an npm-installed static file, or "" when `make assets` has not provided it (the
    page then works without that enhancement instead of failing on a missing manifest entry)."""
    from django.contrib.staticfiles.storage import staticfiles_storage

    try:
        return staticfiles_storage.url(path)
    except ValueError:
        return ""
