"""contact_rate_refresh_task through a real Celery worker on Redis, and run twice in process."""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from apps.alumni.models import ContactChannel, ContactRateSnapshot, Enrollment
from apps.alumni.tasks import contact_rate_refresh_task
from tests.alumni.factories import CollegeFactory, ContactChannelFactory, EnrollmentFactory, PersonFactory
from tests.celery_worker import wait_for_log

WORKER_TIMEOUT = 60
REDIS_URL = os.environ.get("REDIS_URL", "")


def _seed() -> dict[tuple[int | None, int | None], tuple[int, int]]:
    """Two colleges; returns the expected {(college_id, graduation_year): (alumni, reachable)}."""
    now = timezone.now()
    cs, me = CollegeFactory(code="CS", name="计算机学院"), CollegeFactory(code="ME", name="机械工程学院")
    # CS 2015: three people, two reachable (one of them with two verified channels).
    reachable = [PersonFactory(), PersonFactory()]
    for person in reachable:
        EnrollmentFactory(person=person, college=cs, graduation_year=2015)
        ContactChannelFactory(person=person, verified_at=now - timedelta(days=30))
    ContactChannelFactory(person=reachable[0], kind=ContactChannel.Kind.EMAIL, value="a@example.com")
    silent = PersonFactory()
    EnrollmentFactory(person=silent, college=cs, graduation_year=2015)
    # ME 2016: one verified too long ago, one unverified; ME with no graduation year yet: one reachable.
    stale = PersonFactory()
    EnrollmentFactory(person=stale, college=me, graduation_year=2016)
    ContactChannelFactory(person=stale, verified_at=now - timedelta(days=365 * 5))
    unverified = PersonFactory()
    EnrollmentFactory(person=unverified, college=me, graduation_year=2016)
    ContactChannelFactory(person=unverified, status=ContactChannel.Status.UNVERIFIED, verified_at=None)
    studying = PersonFactory()
    EnrollmentFactory(person=studying, college=me, graduation_year=None, enrollment_year=2023)
    ContactChannelFactory(person=studying)
    # A second degree in CS for a reachable CS person counts once per college.
    EnrollmentFactory(person=reachable[1], college=cs, graduation_year=2015, degree_level=Enrollment.DegreeLevel.MASTER)
    return {
        (cs.pk, 2015): (3, 2),
        (me.pk, 2016): (2, 0),
        (cs.pk, None): (3, 2),
        (me.pk, None): (3, 1),
        (None, None): (6, 3),
    }


def _figures() -> dict[tuple[int | None, int | None], tuple[int, int]]:
    return {
        (row.college_id, row.graduation_year): (row.alumni, row.reachable) for row in ContactRateSnapshot.objects.all()
    }


def _assert_no_duplicates():
    keys = list(ContactRateSnapshot.objects.values_list("college_id", "graduation_year"))
    assert len(keys) == len(set(keys))


# --- In process (eager) ----------------------------------------------------------------


@pytest.mark.django_db
def test_contact_rate_refresh_task_twice_gives_same_figures_without_duplicates():
    expected = _seed()
    first = contact_rate_refresh_task.apply()
    assert first.successful(), first.traceback
    assert first.get() == len(expected)
    assert _figures() == expected
    first_ids = set(ContactRateSnapshot.objects.values_list("pk", flat=True))

    second = contact_rate_refresh_task.apply()
    assert second.get() == len(expected)
    assert _figures() == expected
    _assert_no_duplicates()
    assert ContactRateSnapshot.objects.count() == len(expected)
    # The second run replaced the figures rather than adding to them.
    assert not first_ids & set(ContactRateSnapshot.objects.values_list("pk", flat=True))
    assert all(row.years_window == settings.CONTACT_RATE_YEARS for row in ContactRateSnapshot.objects.all())


@pytest.mark.django_db
def test_contact_rate_refresh_task_no_alumni_writes_nothing():
    assert contact_rate_refresh_task.apply().get() == 0
    assert not ContactRateSnapshot.objects.exists()


@pytest.mark.django_db
def test_contact_rate_refresh_task_years_argument_widens_window():
    expected = _seed()
    contact_rate_refresh_task.apply(kwargs={"years": 10})
    figures = _figures()
    # The channel verified five years ago now counts.
    assert figures[next(k for k in expected if k[1] == 2016)] == (2, 1)
    assert figures[(None, None)] == (6, 4)
    assert set(ContactRateSnapshot.objects.values_list("years_window", flat=True)) == {10}


# --- A real worker on Redis ------------------------------------------------------------


def _wait_for_successes(log_path: Path, count: int) -> list[str]:
    """Block until the worker logged ``count`` successful runs; return their results."""
    pattern = r"contact_rate_refresh_task\[[^\]]+\] succeeded in [\d.]+s: (\d+)"
    return wait_for_log(log_path, pattern, count, timeout=WORKER_TIMEOUT)


@pytest.mark.celery_worker
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a real Redis broker) to start a Celery worker")
@pytest.mark.django_db(transaction=True)
def test_contact_rate_refresh_task_runs_on_real_worker_once_per_figure(celery_worker_queue):
    queue, log_path = celery_worker_queue
    expected = _seed()

    contact_rate_refresh_task.apply_async(queue=queue)
    assert _wait_for_successes(log_path, 1) == [str(len(expected))]
    assert _figures() == expected
    first_computed = set(ContactRateSnapshot.objects.values_list("computed_at", flat=True))
    assert len(first_computed) == 1

    # Delivered twice (as at-least-once delivery may do): still one row per figure.
    contact_rate_refresh_task.apply_async(queue=queue)
    contact_rate_refresh_task.apply_async(queue=queue)
    assert _wait_for_successes(log_path, 3) == [str(len(expected))] * 3
    assert _figures() == expected
    _assert_no_duplicates()
    assert ContactRateSnapshot.objects.count() == len(expected)
    later_computed = set(ContactRateSnapshot.objects.values_list("computed_at", flat=True))
    assert len(later_computed) == 1
    assert later_computed.pop() > first_computed.pop()
