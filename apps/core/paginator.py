"""A paginator for million-row admin lists that never runs an unbounded COUNT(*)."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class EstimatedCountPaginator(Paginator):
    """Unfiltered tables use PostgreSQL's planner estimate; filtered ones count at most COUNT_CAP.

    Past the cap, the list says "10,000+" pages' worth and staff narrow the search instead of
    paging through hundreds of thousands of rows.
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not hasattr(queryset, "query"):
            return super().count
        if not queryset.query.where:
            estimate = _planner_estimate(queryset)
            if estimate is not None and estimate > COUNT_CAP:
                return estimate
        return queryset[: COUNT_CAP + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > COUNT_CAP


def _planner_estimate(queryset) -> int | None:
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [queryset.model._meta.db_table],
        )
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] and row[0] > 0 else None
