"""Transactional message templates, registered in code by the apps that send them.

Texts are ``gettext_lazy`` strings with ``%(name)s`` placeholders, so each recipient gets the
language of their preference (Chinese by default, English when chosen) from the catalogues.
"""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .models import Category


@dataclass(frozen=True)
class NotificationTemplate:
    key: str
    subject: Any
    text: Any
    category: str = Category.SERVICE
    channels: tuple[str, ...] = ("email", "portal")


_TEMPLATES: dict[str, NotificationTemplate] = {}


class _Blank(dict):
    def __missing__(self, key):
        return ""


def register_template(
    key: str, *, subject, text, category: str = Category.SERVICE, channels: tuple[str, ...] = ("email", "portal")
) -> NotificationTemplate:
    template = NotificationTemplate(key=key, subject=subject, text=text, category=category, channels=channels)
    _TEMPLATES[key] = template
    return template


def get_template(key: str) -> NotificationTemplate:
    try:
        return _TEMPLATES[key]
    except KeyError:
        raise ImproperlyConfigured(f"no notification template {key!r} is registered") from None


def render(template: NotificationTemplate, context: dict[str, Any], language: str) -> tuple[str, str]:
    """(subject, text) in ``language``; missing context values render empty."""
    values = _Blank({k: "" if v is None else v for k, v in (context or {}).items()})
    with translation.override(language):
        return str(template.subject) % values, str(template.text) % values


def register_builtin_templates() -> None:
    register_template(
        "imports.job_finished",
        subject=_("Import #%(job)s finished: %(name)s"),
        text=_(
            "Your roster import #%(job)s (%(name)s) has been applied.\n"
            "Created: %(created)s, updated: %(updated)s, unchanged: %(unchanged)s, "
            "flagged for review: %(flagged)s, rejected rows: %(errors)s.\n\n%(url)s"
        ),
    )
    register_template(
        "dataservice.request_approved",
        subject=_("Data request %(number)s approved"),
        text=_(
            "Your data request %(number)s was approved by %(approver)s. The file is being produced; "
            "it will be ready for download here:\n\n%(url)s"
        ),
    )
