"""The one way to write the processing log. Rows are append-only (a PostgreSQL trigger enforces it)."""

from datetime import date
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile

from .models import AuditEvent


def _plain(value: Any) -> Any:
    """A JSON-storable form of a field value (the audit column holds JSON)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, FieldFile):
        return value.name or ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return str(value)


def field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level differences between two snapshots, as [{field, old, new}]."""
    return [
        {"field": name, "old": _plain(old.get(name)), "new": _plain(new.get(name))}
        for name in new
        if _plain(old.get(name)) != _plain(new.get(name))
    ]


def record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    changes: list[dict[str, Any]] | None = None,
    reason: str = "",
    ip_address: str | None = None,
    target_type: str = "",
    target_id: str = "",
    target_repr: str = "",
) -> AuditEvent:
    """Write one audit row; the target may be given as a model instance or as type/id/repr."""
    if target is not None:
        target_type = target._meta.label_lower
        target_id = str(target.pk)
        target_repr = str(target)[:200]
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_repr=target_repr,
        changes=_plain(changes or []),
        reason=reason[:255],
        ip_address=ip_address,
    )
