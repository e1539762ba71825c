"""The Celery tasks: thin doors into the services, safe to run twice, and on a real worker."""

import os
import re
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from alumni_portal.celery import app as celery_app
from apps.alumni.models import Enrollment, Person
from apps.imports import services
from apps.imports.models import ImportJob
from apps.imports.tasks import import_job_apply_task, import_job_preview_task
from tests.imports.factories import uploaded
from tests.imports.filemakers import sample_rows, write_roster_xlsx

Status = ImportJob.Status
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY = Path(settings.BASE_DIR) / ".venv" / "bin" / "celery"

# The shared fixtures (colleges, media_root, on_postgres) live beside the factories.
pytest_plugins = ["tests.imports.factories"]


def _job(tmp_path, staff, rows: int = 30) -> ImportJob:
    path = write_roster_xlsx(tmp_path / "roster.xlsx", sample_rows(rows, seed=12, native=True))
    return services.import_job_create(upload=uploaded(path), actor=staff)


@pytest.mark.django_db
def test_tasks_preview_twice_then_apply_twice_writes_each_row_once(tmp_path, staff, colleges, media_root):
    job = _job(tmp_path, staff)
    assert import_job_preview_task.apply(args=[job.pk]).get() == Status.PREVIEWED
    assert import_job_preview_task.apply(args=[job.pk]).get() == ""  # already previewed: no-op
    job.refresh_from_db()
    assert services.import_job_apply_start(job=job, actor=staff)

    assert import_job_apply_task.apply(args=[job.pk]).get() == "done"
    assert import_job_apply_task.apply(args=[job.pk]).get() == "noop"
    assert Enrollment.objects.count() == 30
    assert Person.objects.count() == 30
    assert ImportJob.objects.get(pk=job.pk).status == Status.DONE


@pytest.mark.django_db
def test_tasks_for_a_job_that_disappeared_are_quiet_no_ops():
    assert import_job_preview_task.apply(args=[123456]).get() == ""
    assert import_job_apply_task.apply(args=[123456]).get() == "noop"


@pytest.mark.django_db
def test_tasks_are_configured_for_redelivery():
    for task in (import_job_preview_task, import_job_apply_task):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True
        assert task.max_retries == 3


# --- a real worker on Redis ---------------------------------------------------------------------


def _test_database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{quote(db['NAME'], safe='')}"


@pytest.fixture
def worker_queue(tmp_path, real_broker):
    # The worker runs alumni_portal.settings_test, so both processes share its MEDIA_ROOT.
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs a database it can share (PostgreSQL)")
    queue = f"test-imports-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "alumni_portal.settings_test",
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": REDIS_URL,
    }
    command = [
        *(str(CELERY), "-A", "alumni_portal", "worker", "--pool=solo", "--concurrency=1", "-Q", queue),
        *("-n", f"{queue}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log_path.open("w") as log:
        worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield queue, log_path
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=10)
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def _wait(log_path: Path, pattern: str, count: int, timeout: float = 90) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text()
        found = re.findall(pattern, text)
        if len(found) >= count:
            return found
        if "Traceback" in text:
            pytest.fail(text)
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {count} x {pattern}:\n{log_path.read_text()}")


@pytest.mark.celery_worker
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a real Redis broker) to start a Celery worker")
@pytest.mark.django_db(transaction=True)
def test_tasks_on_a_real_worker_apply_once_when_delivered_three_times(tmp_path, staff, colleges, worker_queue):
    queue, log_path = worker_queue
    path = write_roster_xlsx(tmp_path / "roster.xlsx", sample_rows(200, seed=13, native=True))
    job = ImportJob.objects.create(original_name="roster.xlsx", uploaded_by=staff)
    job.file.save("roster.xlsx", uploaded(path), save=True)

    import_job_preview_task.apply_async(args=[job.pk], queue=queue)
    _wait(log_path, r"import_job_preview_task\[[^\]]+\] succeeded in [\d.]+s: 'previewed'", 1)
    job.refresh_from_db()
    assert services.import_job_apply_start(job=job, actor=staff)
    for _ in range(3):
        import_job_apply_task.apply_async(args=[job.pk], queue=queue)
    results = _wait(log_path, r"import_job_apply_task\[[^\]]+\] succeeded in [\d.]+s: '(\w+)'", 3)
    assert sorted(results) == ["done", "noop", "noop"]
    assert Enrollment.objects.count() == 200
    job.refresh_from_db()
    assert job.status == Status.DONE
    assert job.created_count == 200
