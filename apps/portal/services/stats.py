"""Directory lookup statistics: one counter row per (day, kind, result bucket)."""

from django.db import connection
from django.utils import timezone

# One statement, so concurrent lookups never race to create the day's row. On PostgreSQL the
# statement's own transaction commits without waiting for the WAL flush (set_config(..., true) is
# local to it): losing the last few counts in a crash is acceptable, a disk flush per lookup is not.
_UPSERT = {
    "postgresql": (
        "INSERT INTO portal_lookupstat (day, kind, bucket, count)"
        " SELECT %s, %s, %s, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush"
        " ON CONFLICT (day, kind, bucket) DO UPDATE SET count = portal_lookupstat.count + 1"
    ),
    "default": (
        "INSERT INTO portal_lookupstat (day, kind, bucket, count) VALUES (%s, %s, %s, 1)"
        " ON CONFLICT (day, kind, bucket) DO UPDATE SET count = portal_lookupstat.count + 1"
    ),
}


def lookup_count(*, kind: str, bucket: str) -> None:
    """Count one directory lookup (one round trip; safe under concurrency)."""
    sql = _UPSERT.get(connection.vendor, _UPSERT["default"])
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.localdate(), kind, bucket])
