"""Fast bulk writes: PostgreSQL COPY into a model's table, ``bulk_create`` on other databases.

These helpers bypass ``Model.save()``, signals and ``auto_now``: callers pass every value,
including primary keys (reserve them with ``reserve_ids``) and timestamps. Values are ordinary
Python values, converted as the ORM would convert them; fields of custom classes (the encrypted
ID-number field, say) go through their ``get_db_prep_save`` so they are stored exactly as a
``save()`` would store them.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone

_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"


def reserve_ids(model: type[models.Model], count: int, *, using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """``count`` new primary keys for ``model``, in ascending order.

    On PostgreSQL they come from the table's own sequence (``nextval`` per id), so concurrent
    inserts by other code can never take the same ids and the sequence needs no ``setval``
    afterwards. Elsewhere they follow the current maximum; call this inside the transaction
    that inserts the rows (SQLite serialises writers).
    """
    if count <= 0:
        return []
    connection = connections[using]
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [connection.ops.quote_name(table), column, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        qn = connection.ops.quote_name
        cursor.execute(f"SELECT MAX({qn(column)}) FROM {qn(table)}")  # noqa: S608 - quoted identifiers
        start = (cursor.fetchone()[0] or 0) + 1
    return list(range(start, start + count))


def bulk_insert(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    using: str = DEFAULT_DB_ALIAS,
    batch_size: int = 2000,
) -> int:
    """Insert ``rows`` (one value per name in ``fields``, in that order) into ``model``'s table.

    ``fields`` are field names or attnames (``person`` or ``person_id``; a foreign key takes the
    related id either way). Fields left out get their model default (``auto_now`` ones the
    current time), as with ``bulk_create``; an auto primary key left out comes from its sequence.
    Returns the number of rows written. Run it inside a transaction when several tables must be
    written all or nothing.
    """
    model_fields = [_field(model, name) for name in fields]
    connection = connections[using]
    if connection.vendor == "postgresql":
        defaults = _defaults(model, model_fields)
        if defaults:
            model_fields += [field for field, _ in defaults]
            rows = (tuple(row) + tuple(default() for _, default in defaults) for row in rows)
        return _copy(connection, model, model_fields, rows)
    attnames = [f.attname for f in model_fields]
    objects = [model(**dict(zip(attnames, row, strict=True))) for row in rows]
    model.objects.using(using).bulk_create(objects, batch_size=batch_size)
    return len(objects)


def _field(model: type[models.Model], name: str) -> models.Field:
    for field in model._meta.concrete_fields:
        if name in (field.name, field.attname):
            return field
    raise ValueError(f"{model._meta.label} has no concrete field {name!r}")


def _defaults(model, given: list[models.Field]) -> list[tuple[models.Field, Callable[[], Any]]]:
    """(field, value maker) for the concrete fields not in ``given``, but auto primary keys."""
    now = timezone.now()
    defaults = []
    for field in model._meta.concrete_fields:
        if field in given or (field.primary_key and isinstance(field, models.AutoField)):
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            defaults.append((field, lambda now=now: now))
        elif field.has_default() and callable(field.default):
            defaults.append((field, field.get_default))  # a fresh value per row (uuid4, say)
        else:
            value = field.get_default()
            defaults.append((field, lambda value=value: value))
    return defaults


# --- PostgreSQL COPY ----------------------------------------------------------------------
def _copy(connection, model, model_fields: list[models.Field], rows: Iterable[Sequence[Any]]) -> int:
    converters = [_converter(field, connection) for field in model_fields]
    lines = ["\t".join([convert(value) for convert, value in zip(converters, row, strict=True)]) for row in rows]
    if not lines:
        return 0
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in model_fields)
    sql = f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN"
    buffer = io.StringIO("\n".join(lines) + "\n")
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the driver's own cursor under Django's wrapper
        if hasattr(raw, "copy_expert"):  # psycopg2
            raw.copy_expert(sql, buffer)
        else:  # psycopg 3
            with raw.copy(sql) as copy:
                copy.write(buffer.getvalue())
    return len(lines)


def _text(value: Any) -> str:
    if value is None:
        return _NULL
    value = str(value)
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_TEXT_ESCAPES)
    return value


def _plain(value: Any) -> str:
    return _NULL if value is None else str(value)


def _boolean(value: Any) -> str:
    return _NULL if value is None else "t" if value else "f"


def _temporal(value: Any) -> str:
    return _NULL if value is None else value.isoformat()


_PLAIN_TYPES = {
    "AutoField",
    "BigAutoField",
    "SmallAutoField",
    "IntegerField",
    "BigIntegerField",
    "SmallIntegerField",
    "PositiveIntegerField",
    "PositiveBigIntegerField",
    "PositiveSmallIntegerField",
    "FloatField",
    "DecimalField",
    "UUIDField",
}


def _converter(field: models.Field, connection) -> Callable[[Any], str]:
    """A function turning one Python value of ``field`` into COPY text format."""
    if field.is_relation:
        field = field.target_field
    if not type(field).__module__.startswith("django."):
        # A project field (encryption, say): let it prepare the value as a save() would.
        return lambda value: _text(field.get_db_prep_save(value, connection))
    if isinstance(field, models.JSONField):
        return lambda value: _NULL if value is None else _text(json.dumps(value, cls=field.encoder))
    internal = field.get_internal_type()
    if internal in _PLAIN_TYPES:
        return _plain
    if internal == "BooleanField":
        return _boolean
    if internal in ("DateField", "DateTimeField", "TimeField"):
        return _temporal  # datetimes must be aware when USE_TZ is on
    return _text
