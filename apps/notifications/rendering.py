"""Per-person text: placeholders, unsubscribe tokens and links, and the finished email.

Staff write ``{{ name }}``-style placeholders; they are replaced by plain string substitution,
never by the Django template engine (a mailing's author must not reach settings or other
context). Values are HTML-escaped in HTML bodies.
"""

import base64
import re
import secrets
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import sanitize_address
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


_LINE = 76  # base64 line length of MIME bodies


def _encoded_words(text: str) -> str:
    """RFC 2047 base64 encoded-words (each at most 75 characters), split on character boundaries."""
    if text.isascii():
        return text
    words, chunk = [], ""
    for char in text:
        # 45 bytes of UTF-8 encode to 60 base64 characters, +12 for "=?utf-8?b?" and "?=".
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


def _b64_body(text: str) -> str:
    return base64.encodebytes(text.encode()).decode()


class _Serialised:
    """What Django's SMTP backend asks ``message()`` for: an object with ``as_bytes(linesep)``."""

    def __init__(self, text: str):
        self.text = text

    def as_bytes(self, linesep: str = "\n") -> bytes:
        return self.text.replace("\n", linesep).encode("ascii")

    def as_string(self) -> str:
        return self.text


class OutboxEmail(EmailMultiAlternatives):
    """An email whose MIME form is written directly (base64 UTF-8 parts, encoded-word subject).

    ``email.mime`` spends about 2 ms per message on header folding and charset handling, which
    dominated mass mailing; the form written here is the plain, fully standard subset a mailing
    needs. It is still a Django EmailMessage, sent with ``connection.send_messages``.
    """

    def message(self, *, policy=None):
        boundary = f"=_outbox_{secrets.token_hex(12)}"
        from_header = sanitize_address(self.from_email, "utf-8")
        to = [a if a.isascii() else sanitize_address(a, "utf-8") for a in self.to]
        lines = [
            f"From: {from_header}",
            f"To: {', '.join(to)}",
            f"Subject: {_encoded_words(self.subject)}",
            f"Date: {formatdate(localtime=False)}",
            *(f"{name}: {value}" for name, value in self.extra_headers.items()),
            "MIME-Version: 1.0",
        ]
        text_part = [
            'Content-Type: text/plain; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            _b64_body(self.body),
        ]
        if not self.alternatives:
            return _Serialised("\n".join([*lines, *text_part]))
        html = self.alternatives[0][0]
        body = [
            f'Content-Type: multipart/alternative; boundary="{boundary}"',
            "",
            f"--{boundary}",
            *text_part,
            f"--{boundary}",
            'Content-Type: text/html; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            _b64_body(html),
            f"--{boundary}--",
            "",
        ]
        return _Serialised("\n".join([*lines, *body]))


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
    email = OutboxEmail(
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


class Links:
    """Absolute links of one batch: the URL prefix is resolved once, each token appended."""

    def __init__(self):
        marker = "TOKEN"
        self._unsubscribe = absolute_url(reverse("notifications:unsubscribe", args=[marker])).rsplit(marker, 1)
        self.preferences = preferences_url()

    def unsubscribe(self, *, person_id: int, category: str, channel: str = "email") -> str:
        token = unsubscribe_token(person_id=person_id, category=category, channel=channel)
        return f"{self._unsubscribe[0]}{token}{self._unsubscribe[1]}"
