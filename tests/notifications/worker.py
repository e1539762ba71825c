"""A Celery worker process for the outbox tests: our own queue, settings from the environment, killable."""

import contextlib
import os
import signal
import subprocess
import uuid
from pathlib import Path

from django.conf import settings

from tests.celery_worker import CELERY, _test_database_url


def start(queue: str, log_path: Path, *, env: dict[str, str], concurrency: int = 2) -> subprocess.Popen:
    """A prefork worker in its own process group (so a SIGKILL takes the children too)."""
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "alumni_portal.settings_test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "NOTIFICATIONS_QUEUE": queue,
        **env,
    }
    command = [
        *(str(CELERY), "-A", "alumni_portal", "worker", "--pool=prefork", f"--concurrency={concurrency}"),
        *("-Q", queue, "-n", f"{queue}-{uuid.uuid4().hex[:6]}@%h", "--loglevel=INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    log = log_path.open("a")
    return subprocess.Popen(
        command, cwd=settings.BASE_DIR, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def kill(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool children at once, as a crash or an OOM kill would."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=20)


def stop(worker: subprocess.Popen) -> None:
    if worker.poll() is not None:
        return
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        kill(worker)
