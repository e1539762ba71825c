"""The Celery tasks: thin doors into the services, safe to run twice, and on a real worker."""

import os
from pathlib import Path

import pytest

from apps.alumni.models import Enrollment, Person
from apps.imports import services
from apps.imports.models import ImportJob
from apps.imports.tasks import import_job_apply_task, import_job_preview_task
from tests.celery_worker import wait_for_log
from tests.imports.factories import uploaded
from tests.imports.filemakers import sample_rows, write_roster_xlsx

Status = ImportJob.Status
REDIS_URL = os.environ.get("REDIS_URL", "")

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


def _wait(log_path: Path, pattern: str, count: int, timeout: float = 90) -> list[str]:
    return wait_for_log(log_path, pattern, count, timeout)


@pytest.mark.celery_worker
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a real Redis broker) to start a Celery worker")
@pytest.mark.django_db(transaction=True)
def test_tasks_on_a_real_worker_apply_once_when_delivered_three_times(tmp_path, staff, colleges, celery_worker_queue):
    queue, log_path = celery_worker_queue
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
