"""Directory lookup statistics: one counter row per (day, kind, result bucket)."""

from django.db import connection, transaction
from django.utils import timezone

# One statement, so concurrent lookups never race to create the day's row.
_UPSERT = (
    "INSERT INTO portal_lookupstat (day, kind, bucket, count) VALUES (%s, %s, %s, 1) "
    "ON CONFLICT (day, kind, bucket) DO UPDATE SET count = portal_lookupstat.count + 1"
)


def lookup_count(*, kind: str, bucket: str) -> None:
    """Count one lookup. On PostgreSQL the commit does not wait for the WAL flush: losing the last
    few counts in a crash is acceptable, a disk flush per lookup is not."""
    day = timezone.localdate()
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
        cursor.execute(_UPSERT, [day, kind, bucket])
