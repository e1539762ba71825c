"""Per-person text: placeholders, unsubscribe tokens and links, and the finished email.

Staff write ``{{ name }}``-style placeholders; they are replaced by plain string substitution,
never by the Django template engine (a mailing's author must not reach settings or other
context). Values are HTML-escaped in HTML bodies.
"""

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
PERSON_PLACEHOLDERS = ("name", "class", "college", "graduation_year")
LINK_PLACEHOLDERS = ("unsubscribe_url", "preferences_url")
ALLOWED_PLACEHOLDERS = frozenset(PERSON_PLACEHOLDERS + LINK_PLACEHOLDERS)
UNSUBSCRIBE_SALT = "notifications.unsubscribe"


def placeholders_check(text: str, *, allowed=ALLOWED_PLACEHOLDERS) -> None:
    """ValidationError naming any placeholder that would not be filled."""
    unknown = sorted({name for name in PLACEHOLDER.findall(text or "") if name not in allowed})
    if unknown:
        raise ValidationError(
            _("Unknown placeholders: %(names)s. Use %(allowed)s.")
            % {"names": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))},
            code="placeholder",
        )


def fill(text: str, values: dict[str, Any], *, html: bool = False) -> str:
    """Replace placeholders with values (escaped for HTML); unknown ones become empty."""
    if "{{" not in text:
        return text

    def one(match: re.Match) -> str:
        value = values.get(match.group(1))
        value = "" if value is None else str(value)
        return escape(value) if html else value

    return PLACEHOLDER.sub(one, text)


# --- unsubscribe ------------------------------------------------------------------------------------


def unsubscribe_token(*, person_id: int, category: str, channel: str = "email") -> str:
    """A signed, non-expiring token naming one person, category and channel (no login needed)."""
    return signing.dumps([person_id, category, channel], salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_token_read(token: str) -> tuple[int, str, str]:
    """(person_id, category, channel); raises signing.BadSignature for anything we did not sign."""
    person_id, category, channel = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    return int(person_id), str(category), str(channel)


def absolute_url(path: str) -> str:
    return settings.NOTIFICATIONS_BASE_URL.rstrip("/") + path


def unsubscribe_url(*, person_id: int, category: str, channel: str = "email") -> str:
    token = unsubscribe_token(person_id=person_id, category=category, channel=channel)
    return absolute_url(reverse("notifications:unsubscribe", args=[token]))


def preferences_url() -> str:
    return absolute_url(reverse("notifications:preferences"))


# --- email ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Footer:
    """The per-language footer of a mailing; computed once per batch, filled per person."""

    text: str
    html: str


def footer_for(*, category_label: str, transactional: bool) -> Footer:
    """The footer under the active language; ``{{ unsubscribe_url }}`` is filled per person."""
    if transactional:
        line = _("Manage what we send you: %(url)s") % {"url": preferences_url()}
        return Footer(text=f"\n\n--\n{line}\n", html=f"<hr><p>{escape(line)}</p>")
    text = _("You receive this as an alumnus (%(category)s). Unsubscribe from %(category)s: %(url)s") % {
        "category": category_label,
        "url": "{{ unsubscribe_url }}",
    }
    prefs = _("All your preferences: %(url)s") % {"url": preferences_url()}
    html = escape(text).replace("{{ unsubscribe_url }}", '<a href="{{ unsubscribe_url }}">{{ unsubscribe_url }}</a>')
    return Footer(text=f"\n\n--\n{text}\n{prefs}\n", html=f"<hr><p>{html}</p><p>{escape(prefs)}</p>")


def build_email(
    *,
    outbox_id: int,
    to: str,
    subject: str,
    text: str,
    html: str = "",
    unsubscribe: str = "",
    connection=None,
) -> EmailMultiAlternatives:
    """One finished email with a stable Message-ID and, for mailings, List-Unsubscribe headers."""
    headers = {"Message-ID": f"<outbox-{outbox_id}@{settings.NOTIFICATIONS_MESSAGE_ID_DOMAIN}>"}
    if unsubscribe:
        # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to this URL.
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    email = EmailMultiAlternatives(
        subject=subject.replace("\n", " ").replace("\r", " "),
        body=text,
        from_email=settings.NOTIFICATIONS_FROM_EMAIL or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
        connection=connection,
    )
    if html:
        email.attach_alternative(html, "text/html")
    return email
