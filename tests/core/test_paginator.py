import pytest
from django.db import connection

from apps.alumni.models import College
from apps.core import paginator as paginator_module
from apps.core.paginator import EstimatedCountPaginator
from tests.alumni.factories import CollegeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_cap(monkeypatch):
    monkeypatch.setattr(paginator_module, "COUNT_CAP", 3)
    return 3


def test_paginator_exact_count_below_cap(small_cap):
    CollegeFactory.create_batch(2)
    if connection.vendor == "postgresql":
        # Planner statistics outlive other tests' rollbacks (seed_demo analyses): refresh them.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE alumni_college")
    paginator = EstimatedCountPaginator(College.objects.order_by("pk"), per_page=1)
    assert paginator.count == 2
    assert not paginator.is_capped
    assert paginator.num_pages == 2


def test_paginator_filtered_count_stops_at_cap(small_cap, django_assert_max_num_queries):
    for n in range(6):
        CollegeFactory(name=f"工学院{n}")
    CollegeFactory(name="文学院")
    paginator = EstimatedCountPaginator(College.objects.filter(name__startswith="工学院").order_by("pk"), per_page=2)
    with django_assert_max_num_queries(1):
        assert paginator.count == small_cap + 1
    assert paginator.is_capped
    assert [c.name for c in paginator.page(1)] == ["工学院0", "工学院1"]


def test_paginator_unfiltered_count_uses_planner_estimate_or_cap(small_cap):
    CollegeFactory.create_batch(6)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {College._meta.db_table}")
    paginator = EstimatedCountPaginator(College.objects.order_by("pk"), per_page=2)
    if connection.vendor == "postgresql":
        # ANALYZE inside the test transaction sees the six rows; the estimate is above the cap.
        assert paginator.count == 6
    else:
        assert paginator.count == small_cap + 1
    assert paginator.is_capped


def test_paginator_plain_list_counts_exactly():
    paginator = EstimatedCountPaginator(list(range(25)), per_page=10)
    assert paginator.count == 25
    assert paginator.num_pages == 3
