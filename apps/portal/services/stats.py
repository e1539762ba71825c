"""Directory lookup statistics: one counter row per (day, kind, result bucket)."""

from django.db import connection
from django.utils import timezone

from ..sql import fetch

# One statement, so concurrent lookups never race to create the day's row. On PostgreSQL it is
# prepared, and its own transaction commits without waiting for the WAL flush (set_config(..., true)
# is local to it): losing the last few counts in a crash is acceptable, a disk flush per lookup is not.
_UPSERT_POSTGRES = (
    "INSERT INTO portal_lookupstat (day, kind, bucket, count)"
    " SELECT $1, $2, $3, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush"
    " ON CONFLICT (day, kind, bucket) DO UPDATE SET count = portal_lookupstat.count + 1"
)
_UPSERT = (
    "INSERT INTO portal_lookupstat (day, kind, bucket, count) VALUES (%s, %s, %s, 1)"
    " ON CONFLICT (day, kind, bucket) DO UPDATE SET count = portal_lookupstat.count + 1"
)


def lookup_count(*, kind: str, bucket: str) -> None:
    """Count one directory lookup (one round trip; safe under concurrency)."""
    params = [timezone.localdate(), kind, bucket]
    if connection.vendor == "postgresql":
        fetch("portal_lookup_count", "date, text, text", _UPSERT_POSTGRES, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, params)
