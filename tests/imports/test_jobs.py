"""Import jobs through their services: upload, mapping, preview, apply exactly once, failures, cancel."""

import threading
from pathlib import Path

import pytest
from django.db import connections

from apps.alumni.models import ContactChannel, Employment, Enrollment, Person
from apps.core.models import AuditEvent
from apps.imports import services
from apps.imports.models import ImportJob
from apps.imports.pipeline import progress as live_progress
from tests.imports.factories import uploaded
from tests.imports.filemakers import sample_rows, write_roster_csv, write_roster_xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

# The shared fixtures (colleges, media_root, on_postgres) live beside the factories.
pytest_plugins = ["tests.imports.factories"]

Status = ImportJob.Status


def _state() -> tuple[int, int, int, int]:
    return (
        Person.objects.count(),
        Enrollment.objects.count(),
        ContactChannel.objects.count(),
        Employment.objects.count(),
    )


def _previewed_job(tmp_path: Path, staff, rows=None, *, name="roster.xlsx", capture=None) -> ImportJob:
    path = write_roster_xlsx(tmp_path / name, rows if rows is not None else sample_rows(40, seed=2, native=True))
    if capture is not None:
        with capture(execute=True):
            job = services.import_job_create(upload=uploaded(path), actor=staff)
    else:
        job = services.import_job_create(upload=uploaded(path), actor=staff)
        services.import_job_preview(job_id=job.pk)
    job.refresh_from_db()
    return job


def test_job_upload_stores_the_file_under_a_uuid_name(tmp_path, staff, colleges, media_root):
    path = write_roster_csv(tmp_path / "x.csv", sample_rows(3))
    hostile = "../../" + "毕业生名单" * 40 + "\u202ecod.csv"
    job = services.import_job_create(upload=uploaded(path, name=hostile), actor=staff)

    stored = Path(job.file.name)
    assert stored.parent == Path("imports/uploads")
    assert len(stored.stem) == 32
    assert stored.suffix == ".csv"
    assert ".." not in job.file.name
    assert "毕业" not in job.file.name
    assert job.original_name.startswith("毕业生名单")
    assert len(job.original_name) <= 255
    assert (media_root / job.file.name).read_bytes() == path.read_bytes()
    assert AuditEvent.objects.filter(action="import.upload", target_id=str(job.pk)).exists()


def test_job_upload_queues_the_preview_after_commit(tmp_path, staff, colleges, django_capture_on_commit_callbacks):
    job = _previewed_job(tmp_path, staff, capture=django_capture_on_commit_callbacks)

    assert job.status == Status.PREVIEWED
    assert job.created_count == 40
    assert job.rows_total == 40
    assert job.previewed_at is not None
    assert job.preview["counts"]["created"] == 40
    assert len(job.preview["creates"]) == 40
    assert _state() == (0, 0, 0, 0)


def test_job_preview_asks_for_a_mapping_then_uses_it(tmp_path, staff, colleges):
    rows = sample_rows(5, seed=3)
    for row in rows:
        row["备用电话"] = "010-62345678"
        row["学生编码"] = row.pop("学号")
    headers = ["学生编码", *[h for h in rows[0] if h != "学生编码"]]
    path = write_roster_csv(tmp_path / "odd.csv", rows, headers=headers)
    job = services.import_job_create(upload=uploaded(path), actor=staff)
    assert services.import_job_preview(job_id=job.pk) == Status.MAPPING_NEEDED
    job.refresh_from_db()
    assert job.preview["missing"] == ["student_id"]
    assert set(job.preview["unknown"]) >= {"学生编码", "备用电话"}

    services.import_job_mapping_save(
        job=job, mapping={**job.mapping, "学生编码": "student_id", "备用电话": "landline"}, actor=staff
    )
    assert services.import_job_preview(job_id=job.pk) == Status.PREVIEWED
    job.refresh_from_db()
    assert job.created_count == 5
    assert services.import_job_apply_start(job=job, actor=staff)
    assert services.import_job_apply(job_id=job.pk) == "done"
    assert ContactChannel.objects.filter(kind="landline").count() == 5


def test_job_refused_file_is_refused_and_writes_nothing(tmp_path, staff, colleges):
    path = tmp_path / "roster.xlsx"
    path.write_bytes("<html><table><tr><td>学号</td></tr></table></html>".encode())
    job = services.import_job_create(upload=uploaded(path), actor=staff)

    assert services.import_job_preview(job_id=job.pk) == Status.REFUSED
    job.refresh_from_db()
    assert job.failure_code
    assert job.failure_message
    assert not services.import_job_apply_start(job=job, actor=staff)
    assert _state() == (0, 0, 0, 0)


def test_job_apply_writes_once_and_a_second_run_is_a_no_op(tmp_path, staff, colleges):
    job = _previewed_job(tmp_path, staff)
    assert services.import_job_apply_start(job=job, actor=staff)
    assert not services.import_job_apply_start(job=job, actor=staff)  # a double click

    assert services.import_job_apply(job_id=job.pk) == "done"
    after_first = _state()
    assert services.import_job_apply(job_id=job.pk) == "noop"
    assert _state() == after_first == (40, 40, 80, 40)
    job.refresh_from_db()
    assert job.status == Status.DONE
    assert job.applied_by == staff
    assert job.applied_at is not None
    assert job.result["counts"]["created"] == 40
    assert AuditEvent.objects.filter(action="import.apply", target_id=str(job.pk)).count() == 1


def test_job_apply_crash_mid_way_writes_nothing_and_a_retry_applies_exactly_once(
    tmp_path, staff, colleges, monkeypatch
):
    from apps.imports.pipeline import rows as rows_module

    job = _previewed_job(tmp_path, staff)
    services.import_job_apply_start(job=job, actor=staff)
    original = rows_module.RowBuilder.build
    calls = {"n": 0}

    def dies_after_25_rows(self, row_no, values):
        calls["n"] += 1
        if calls["n"] == 25:
            raise MemoryError("worker killed")  # not transient: no automatic retry
        return original(self, row_no, values)

    monkeypatch.setattr(rows_module.RowBuilder, "build", dies_after_25_rows)
    assert services.import_job_apply(job_id=job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == Status.FAILED
    assert job.applied_at is None
    assert job.failure_code == "error"
    assert "MemoryError" in job.failure_message
    assert _state() == (0, 0, 0, 0)

    # The task runs again (a retry, a redelivery): this time it completes, once.
    assert services.import_job_apply(job_id=job.pk) == "done"
    assert services.import_job_apply(job_id=job.pk) == "noop"
    assert _state() == (40, 40, 80, 40)
    assert Enrollment.objects.values("student_id").distinct().count() == 40
    job.refresh_from_db()
    assert job.apply_attempts == 2
    assert job.status == Status.DONE


def test_job_apply_after_worker_death_in_applying_state_is_taken_over(tmp_path, staff, colleges):
    """A worker killed mid-apply leaves the job "applying" (its transaction rolled back); the
    redelivered task finds nobody holding the job's lock and applies it."""
    job = _previewed_job(tmp_path, staff)
    services.import_job_apply_start(job=job, actor=staff)
    ImportJob.objects.filter(pk=job.pk).update(apply_attempts=1)  # the dead attempt

    assert services.import_job_apply(job_id=job.pk) == "done"
    assert _state() == (40, 40, 80, 40)


def test_job_apply_of_a_job_never_previewed_or_cancelled_does_nothing(tmp_path, staff, colleges):
    path = write_roster_csv(tmp_path / "x.csv", sample_rows(3))
    job = services.import_job_create(upload=uploaded(path), actor=staff)
    assert not services.import_job_apply_start(job=job, actor=staff)
    assert services.import_job_apply(job_id=job.pk) == "noop"
    assert services.import_job_apply(job_id=999_999) == "noop"

    previewed = _previewed_job(tmp_path, staff, name="other.xlsx")
    assert services.import_job_cancel(job=previewed, actor=staff)
    assert not services.import_job_apply_start(job=previewed, actor=staff)
    assert _state() == (0, 0, 0, 0)


def test_job_progress_is_published_while_running(tmp_path, staff, colleges, settings, monkeypatch):
    settings.IMPORT_PROGRESS_EVERY = 10
    seen = []
    original = live_progress.Progress.publish

    def spy(self, *, force=False):
        original(self, force=True)
        if self.job_id is not None:
            seen.append(live_progress.read(self.job_id))

    monkeypatch.setattr(live_progress.Progress, "publish", spy)
    job = _previewed_job(tmp_path, staff)
    services.import_job_apply_start(job=job, actor=staff)
    services.import_job_apply(job_id=job.pk)

    applying = [s for s in seen if s and s["status"] == Status.APPLYING]
    assert [s["rows_done"] for s in applying if s["phase"] == "reading"][:3] == [0, 10, 20]
    assert applying[-1]["rows_done"] == 40
    assert live_progress.read(job.pk) is None  # cleared once the row holds the final figures


@pytest.mark.django_db(transaction=True)
def test_job_apply_run_concurrently_by_two_workers_applies_once(tmp_path, staff, colleges, on_postgres, monkeypatch):
    if not on_postgres:
        pytest.skip("two database sessions at once need PostgreSQL")
    monkeypatch.setattr(services, "_enqueue", lambda task_name, job_id: None)  # the two "workers" below run it
    job = _previewed_job(tmp_path, staff, rows=sample_rows(400, seed=9, native=True))
    assert job.status == Status.PREVIEWED
    services.import_job_apply_start(job=job, actor=staff)
    results = []
    barrier = threading.Barrier(2)

    def worker():
        try:
            barrier.wait()
            results.append(services.import_job_apply(job_id=job.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(results) in (["busy", "done"], ["done", "noop"])
    assert Enrollment.objects.count() == 400
    assert Person.objects.count() == len(set(Person.objects.values_list("pk", flat=True)))
    job.refresh_from_db()
    assert job.status == Status.DONE


def test_job_list_only_for_whole_school_staff(staff, college_staff, alumnus):
    from apps.imports.selectors import visible_import_jobs
    from tests.imports.factories import ImportJobFactory

    ImportJobFactory.create_batch(2)
    assert visible_import_jobs(staff).count() == 2
    assert visible_import_jobs(college_staff).count() == 0
    assert visible_import_jobs(alumnus).count() == 0
