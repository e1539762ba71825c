"""Statements the directory runs on every lookup, prepared once per PostgreSQL connection.

Planning a lookup's statements cost more than running them (0.1-0.6 ms against 0.05-0.3 ms at a
million alumni); a prepared statement is planned once per connection, for any values (a generic
plan: each has one good plan, an index range or an id list; measured per kind of lookup, none got
slower), and then only executed. Fixed statements are constants written with ``$n`` parameters
(and ``column = ANY($n)`` for lists) and declared types; the search, built from fixed fragments,
is prepared once per shape (``fetch_shape``). Values are always parameters. Other databases
(SQLite in development) run the same text with ``%s`` placeholders and ``IN (...)`` lists.
Not for use behind a transaction-pooling proxy (prepared statements belong to a session).
"""

import hashlib
import itertools
import re
import weakref

from django.db import connection

# raw DB-API connection -> names prepared on it (a new connection starts empty)
_prepared: "weakref.WeakKeyDictionary[object, set[str]]" = weakref.WeakKeyDictionary()
_PARAM = re.compile(r"= ANY\(\$(\d+)\)|\$(\d+)")
_PLACEHOLDER = re.compile(r"%s")


def _portable(sql: str, params: list) -> tuple[str, list]:
    flat: list = []

    def replace(match: re.Match) -> str:
        if match.group(1):
            values = list(params[int(match.group(1)) - 1])
            flat.extend(values)
            return f"IN ({', '.join(['%s'] * len(values))})"
        flat.append(params[int(match.group(2)) - 1])
        return "%s"

    return _PARAM.sub(replace, sql), flat


def fetch_shape(sql: str, params: list) -> list[tuple]:
    """Rows of a statement built from fixed fragments with ``%s`` placeholders (PostgreSQL).

    The directory's search has a few dozen shapes (which filters, which kind of name); each shape
    is prepared under a name derived from its text, so a lookup of a known shape is not planned
    again. Parameter types are inferred from the columns they are compared with.
    """
    counter = itertools.count(1)
    numbered = _PLACEHOLDER.sub(lambda _match: f"${next(counter)}", sql)
    name = "portal_shape_" + hashlib.blake2s(numbered.encode(), digest_size=8).hexdigest()
    return fetch(name, None, numbered, params)


def fetch(name: str, types: str | None, sql: str, params: list) -> list[tuple]:
    """Rows of ``sql`` run with ``params``; on PostgreSQL as the prepared statement ``name (types)``."""
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.execute(*_portable(sql, params))
            return cursor.fetchall() if cursor.description else []
        names = _prepared.setdefault(connection.connection, set())
        if name not in names:
            # A prepared statement belongs to the session and survives a rolled-back transaction.
            # Planned once for any values: each of these statements has one good plan (an index
            # range, an id list); re-planning per lookup cost more than running it (0.1-0.4 ms).
            cursor.execute(
                f"SET plan_cache_mode = force_generic_plan; PREPARE {name}{f' ({types})' if types else ''} AS {sql}"
            )
            names.add(name)
        cursor.execute(f"EXECUTE {name} ({', '.join(['%s'] * len(params))})", params)
        return cursor.fetchall() if cursor.description else []


# Counting one directory lookup: one row per (day, kind, result bucket), one statement so that
# concurrent lookups never race to create the day's row. Its transaction commits without waiting
# for the WAL flush (set_config(..., true) is local to it): losing the last few counts in a crash
# is acceptable, a disk flush per lookup is not. ``{day}``, ``{kind}``, ``{bucket}``: parameters.
COUNT_LOOKUP = (
    "INSERT INTO portal_lookupstat (day, kind, bucket, count)"
    " SELECT {day}, {kind}, {bucket}, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush"
    " WHERE {kind} IS NOT NULL"
    " ON CONFLICT (day, kind, bucket) DO UPDATE SET count = portal_lookupstat.count + 1"
)
