"""The Celery task: a thin door into match_job_run, safe to deliver twice, and on a real worker."""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.matching.models import MatchJob, MatchRow
from apps.matching.tasks import match_job_accept_high_task, match_job_run_task
from tests.celery_worker import wait_for_log
from tests.matching.factories import ACADEMICIAN_ROW, write_csv

REDIS_URL = os.environ.get("REDIS_URL", "")


def _queued_job(tmp_path, staff) -> MatchJob:
    path = write_csv(tmp_path / "list.csv", [ACADEMICIAN_ROW, {"姓名": "张伟"}])
    job = MatchJob.objects.create(original_name="list.csv", created_by=staff, honour_kind="cae")
    job.file.save("list.csv", SimpleUploadedFile("list.csv", path.read_bytes()), save=True)
    return job


@pytest.mark.django_db
def test_task_twice_matches_once_and_takes_over_a_job_whose_worker_died(tmp_path, staff, academician, media_root):
    job = _queued_job(tmp_path, staff)
    MatchJob.objects.filter(pk=job.pk).update(status=MatchJob.Status.RUNNING)  # its worker died mid-run
    assert match_job_run_task.apply(args=[job.pk]).get() == MatchJob.Status.DONE
    assert match_job_run_task.apply(args=[job.pk]).get() == ""
    assert MatchRow.objects.filter(job=job).count() == 2


@pytest.mark.django_db
def test_accept_high_task_twice_confirms_once_in_the_actors_scope(
    tmp_path, staff, college_staff, academician, media_root
):
    job = _queued_job(tmp_path, staff)
    match_job_run_task.apply(args=[job.pk])
    assert match_job_accept_high_task.apply(args=[job.pk, college_staff.pk]).get() == 0  # not their people
    assert match_job_accept_high_task.apply(args=[job.pk, staff.pk]).get() == 1
    assert match_job_accept_high_task.apply(args=[job.pk, staff.pk]).get() == 0
    assert academician.honours.count() == 1


@pytest.mark.django_db
def test_task_for_a_job_that_disappeared_is_a_quiet_no_op():
    assert match_job_run_task.apply(args=[123456]).get() == ""
    assert match_job_accept_high_task.apply(args=[123456, 1]).get() == 0


def test_tasks_are_configured_for_redelivery():
    for task in (match_job_run_task, match_job_accept_high_task):
        assert task.acks_late is True
        assert task.reject_on_worker_lost is True


@pytest.mark.celery_worker
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a real Redis broker) to start a Celery worker")
@pytest.mark.django_db(transaction=True)
def test_real_worker_delivered_three_times_matches_once(tmp_path, staff, academician, celery_worker_queue):
    queue, log_path = celery_worker_queue
    job = _queued_job(tmp_path, staff)
    for _ in range(3):
        match_job_run_task.apply_async(args=[job.pk], queue=queue)
    results = wait_for_log(log_path, r"match_job_run_task\[[^\]]+\] succeeded in [\d.]+s: '(\w*)'", 3, 90)
    assert sorted(results) == ["", "", "done"]
    assert MatchRow.objects.filter(job=job).count() == 2
    assert MatchJob.objects.get(pk=job.pk).status == MatchJob.Status.DONE
