import zlib

from django.db import connection


def advisory_xact_lock(name: str) -> None:
    """Serialise a critical section across processes until the current transaction ends.

    PostgreSQL only; SQLite already serialises writers, so there it does nothing.
    """
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode())])
