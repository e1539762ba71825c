"""A real Celery worker on Redis for the tests that must cross a broker (see `celery_worker_queue`)."""

import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

CELERY = Path(sys.executable).with_name("celery")


def _test_database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{quote(db['NAME'], safe='')}"


@contextmanager
def start_worker(app, log_path: Path, prefix: str):
    """Start a solo worker consuming one private queue; yield the queue name; always stop it."""
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share (PostgreSQL), not in-memory SQLite")
    queue = f"{prefix}-{uuid.uuid4().hex[:12]}"
    # The worker runs alumni_portal.settings_test too, so both processes share its MEDIA_ROOT.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "alumni_portal.settings_test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
    }
    command = [
        *(str(CELERY), "-A", "alumni_portal", "worker", "--pool=solo", "--concurrency=1", "-Q", queue),
        *("-n", f"{queue}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log_path.open("w") as log:
        worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield queue
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def wait_for_log(log_path: Path, pattern: str, count: int, timeout: float = 90) -> list[str]:
    """Block until the worker's log holds ``count`` matches of ``pattern``; fail on a traceback."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text()
        if "raised unexpected" in text or "Traceback" in text:
            pytest.fail(f"worker failed:\n{text}")
        found = re.findall(pattern, text)
        if len(found) >= count:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {count} x {pattern}:\n{log_path.read_text()}")
