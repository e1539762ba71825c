"""Role fixtures: one user per role, each bound to its own college or class."""

import pytest
from django.core.cache import cache

from apps.accounts import services as account_services
from apps.accounts.models import Role
from tests.accounts.factories import UserFactory
from tests.alumni.factories import CollegeFactory, SchoolClassFactory

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate limits and lockouts live in the cache; each test starts with none.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def college(db):
    return CollegeFactory(code="CS", name="计算机学院")


@pytest.fixture
def other_college(db):
    return CollegeFactory(code="ME", name="机械工程学院")


@pytest.fixture
def school_class(college):
    return SchoolClassFactory(college=college, name="计算机2011级1班")


def _user_with_role(role, **binding):
    user = UserFactory()
    account_services.role_assign(user=user, role=role, actor=None, **binding)
    user.refresh_from_db()
    return user


@pytest.fixture
def office_admin(db):
    return _user_with_role(Role.OFFICE_ADMIN)


@pytest.fixture
def staff(db):
    return _user_with_role(Role.OFFICE_STAFF)


@pytest.fixture
def college_staff(college):
    return _user_with_role(Role.COLLEGE_STAFF, college=college)


@pytest.fixture
def liaison(school_class):
    return _user_with_role(Role.CLASS_LIAISON, school_class=school_class)


@pytest.fixture
def chapter_leader(db):
    return _user_with_role(Role.CHAPTER_LEADER)


@pytest.fixture
def alumnus(db):
    return _user_with_role(Role.ALUMNUS)


@pytest.fixture
def real_broker():
    """Send tasks through the Redis broker for this test (the suite otherwise runs them eagerly)."""
    from django.conf import settings

    from alumni_portal.celery import app

    if not settings.REDIS_URL:
        pytest.skip("needs REDIS_URL (a real Redis broker)")
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
def celery_worker_queue(tmp_path, real_broker):
    """A solo worker on a private queue; yields (queue, log path)."""
    from tests.celery_worker import start_worker

    log_path = tmp_path / "worker.log"
    with start_worker(real_broker, log_path, "test-worker") as queue:
        yield queue, log_path


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()
