"""Directory lookup statistics: one counter row per (day, kind, result bucket)."""

from django.db import connection
from django.utils import timezone

from .. import selectors
from ..sql import COUNT_LOOKUP, fetch

_UPSERT_POSTGRES = COUNT_LOOKUP.format(day="$1", kind="$2", bucket="$3")
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


def directory_lookup(viewer, query):
    """A directory search, counted in the statistics when it is a first page.

    On PostgreSQL the count is written by the statement that reads the page's details (one round
    trip fewer per lookup); elsewhere, and for a page without results, by ``lookup_count``.
    """
    page = selectors.directory_search(viewer, query, count_lookup=True)
    if page.page == 1 and not page.counted:
        lookup_count(kind=query.kind, bucket=page.bucket)
    return page
