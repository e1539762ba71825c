"""Live progress of a running job, visible to the polling page while the job's transaction is open.

Rows written inside the import's transaction are invisible to other sessions until it commits,
so progress never goes through that transaction: it goes to the cache (Redis in production,
shared by web and worker processes) and, on PostgreSQL, to the job row through a second,
autocommit connection. The job's own transaction touches the job row only once, at its end,
after the last progress write, so the two connections never wait on each other.
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

CACHE_TIMEOUT = 6 * 3600


def cache_key(job_id: int) -> str:
    return f"imports:job:{job_id}:progress"


def read(job_id: int) -> dict | None:
    return cache.get(cache_key(job_id))


def clear(job_id: int) -> None:
    cache.delete(cache_key(job_id))


class Progress:
    """Counts rows as the pipeline streams them and publishes every ``every`` rows (and at phase changes)."""

    def __init__(self, job_id: int | None, *, status: str, total: int = 0, every: int = 5000) -> None:
        self.job_id = job_id
        self.status = status
        self.total = max(total, 0)
        self.done = 0
        self.phase = "reading"
        self.every = max(every, 1)
        self._last_published = 0
        self._last_time = 0.0
        self._side = None

    def start(self, total: int) -> None:
        self.total = max(total, 0)
        self.publish(force=True)

    def advance(self, rows: int = 1) -> None:
        self.done += rows
        if self.done - self._last_published >= self.every:
            self.publish()

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.publish(force=True)

    def publish(self, *, force: bool = False) -> None:
        if self.job_id is None:
            return
        now = time.monotonic()
        if not force and now - self._last_time < 0.5:
            return
        self._last_published, self._last_time = self.done, now
        total = max(self.total, self.done)
        cache.set(
            cache_key(self.job_id),
            {"status": self.status, "phase": self.phase, "rows_done": self.done, "rows_total": total},
            CACHE_TIMEOUT,
        )
        self._write_row(total)

    def _write_row(self, total: int) -> None:
        connection = connections[DEFAULT_DB_ALIAS]
        if connection.vendor != "postgresql":
            return  # SQLite: one writer at a time; the cache carries progress there
        try:
            if self._side is None:
                self._side = connections.create_connection(DEFAULT_DB_ALIAS)
            with self._side.cursor() as cursor:
                cursor.execute(
                    "UPDATE imports_importjob SET rows_done = %s, rows_total = %s, phase = %s WHERE id = %s",
                    [self.done, total, self.phase[:32], self.job_id],
                )
        except DatabaseError:
            # Progress is a courtesy to the page; the import itself must not fail for it.
            logger.warning("import job %s: progress update failed", self.job_id, exc_info=True)

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None
