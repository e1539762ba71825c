"""Reads of the matching app: jobs a user may see, the people a list could name, the review queue.

Candidate people always come from ``visible_people(user)`` (the whole school when ``user`` is None,
as for the command), by indexed lookups only: ``Person.name`` and ``Person.name_pinyin`` with
``__in`` for a chunk of list rows at once, and their enrolments, employers and honours in one query
each per batch of people. Former names have no index; they are read once per job from the few
people who have any.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from django.db.models import Count, Q, QuerySet

from apps.alumni.models import College, Employment, Enrollment, Honour, Major, Person
from apps.alumni.selectors import visible_people
from apps.core.names import name_key
from apps.core.scoping import scope_for

from .keys import org_key
from .models import Band, MatchCandidate, MatchJob, MatchRow
from .scoring import Catalogue, EnrolmentFacts, PersonFacts

ID_BATCH = 5000
_SPLIT_FORMER = str.maketrans({"，": ",", "、": ",", ";": ",", "；": ",", "/": ","})


def people_scope(user) -> QuerySet[Person]:
    """The people candidates may come from: the user's scope, or everyone for the command (None)."""
    return Person.objects.all() if user is None else visible_people(user)


def visible_match_jobs(user) -> QuerySet[MatchJob]:
    """Every job for whole-school staff; college staff see the jobs they uploaded (matched in their scope)."""
    scope = scope_for(user)
    if scope.whole_school:
        return MatchJob.objects.all()
    if scope.college_ids:
        return MatchJob.objects.filter(created_by=user)
    return MatchJob.objects.none()


def match_job_list(user) -> QuerySet[MatchJob]:
    return visible_match_jobs(user).select_related("created_by").defer("columns")


def match_job_progress(job: MatchJob) -> dict:
    """Status and counts of a job for the polling page."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": str(job.get_status_display()),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "finished": job.is_finished,
        "counts": {"high": job.high_count, "review": job.review_count, "none": job.none_count},
        "failure": job.failure_message,
    }


# --- candidates -----------------------------------------------------------------------------------
def catalogue_load() -> Catalogue:
    """Our colleges and majors, with each one's share of all enrolments (one grouped read each)."""
    total = Enrollment.objects.count() or 1
    by_major = Enrollment.objects.order_by().values_list("major_id").annotate(n=Count("id"))
    by_college = Enrollment.objects.order_by().values_list("college_id").annotate(n=Count("id"))
    return Catalogue(
        colleges=dict(College.objects.values_list("id", "name")),
        majors={pk: (name, college) for pk, name, college in Major.objects.values_list("id", "name", "college_id")},
        major_shares={pk: n / total for pk, n in by_major if pk is not None},
        college_shares={pk: n / total for pk, n in by_college},
    )


def former_name_index(user) -> dict[str, set[int]]:
    """Former name (simplified) -> ids of the people who had it. One read of the people who have any."""
    index: dict[str, set[int]] = defaultdict(set)
    rows = people_scope(user).exclude(former_names="").order_by().values_list("id", "former_names")
    for pk, text in rows.iterator(chunk_size=5000):
        for part in text.translate(_SPLIT_FORMER).split(","):
            key = name_key(part)
            if key:
                index[key].add(pk)
    return index


def _batches(values: list, size: int = ID_BATCH) -> Iterable[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _windowed(field_name: str, wanted: dict[str, list[tuple[int, int]] | None]) -> Q:
    """People with one of the values, born within one of its year windows (or of unknown birth);
    a value whose windows are None matches whatever the birth date."""
    condition = Q()
    anytime = sorted(value for value, windows in wanted.items() if windows is None)
    if anytime:
        condition |= Q(**{f"{field_name}__in": anytime})
    by_window: dict[tuple[int, int], list[str]] = defaultdict(list)
    for value, windows in wanted.items():
        for window in windows or ():
            by_window[window].append(value)
    unknown_birth = sorted({value for value, windows in wanted.items() if windows})
    if unknown_birth:
        condition |= Q(**{f"{field_name}__in": unknown_birth}, birth_date__isnull=True)
    for (low, high), values in sorted(by_window.items()):
        condition |= Q(
            **{f"{field_name}__in": sorted(values)},
            birth_date__gte=date(low, 1, 1),
            birth_date__lte=date(high, 12, 31),
        )
    return condition


def person_facts(
    user,
    *,
    names: dict[str, list[tuple[int, int]] | None] | None = None,
    pinyins: dict[str, list[tuple[int, int]] | None] | None = None,
    ids: Iterable[int] = (),
) -> dict[int, PersonFacts]:
    """The people (in ``user``'s scope) with one of these names or full pinyins, born in one of the
    value's year windows (None: any time), or with these ids; with their enrolments, employers and
    honours: four queries per batch of people, whatever the count."""
    condition = Q()
    if names:
        condition |= _windowed("name", names)
    if pinyins:
        condition |= _windowed("name_pinyin", pinyins)
    ids = sorted(set(ids))
    if ids:
        condition |= Q(pk__in=ids)
    if not condition:
        return {}
    people: dict[int, PersonFacts] = {}
    rows = (
        people_scope(user)
        .filter(condition)
        .order_by()
        .values_list("id", "name", "former_names", "name_pinyin", "gender", "birth_date")
    )
    for pk, name, former, pinyin, gender, birth_date in rows:
        formers = tuple(k for k in (name_key(p) for p in former.translate(_SPLIT_FORMER).split(",")) if k)
        people[pk] = PersonFacts(
            id=pk,
            name=name,
            name_key=name_key(name),
            former_keys=formers,
            pinyin=pinyin,
            gender=gender,
            birth_year=birth_date.year if birth_date else None,
            birth_month=birth_date.month if birth_date else None,
        )
    for batch in _batches(list(people)):
        enrolments = (
            Enrollment.objects.filter(person_id__in=batch)
            .order_by("person_id", "enrollment_year", "id")
            .values_list("person_id", "student_id", "degree_level", "college_id", "major_id", "enrollment_year",
                         "graduation_year")
        )  # fmt: skip
        for pk, *values in enrolments:
            people[pk].enrolments.append(EnrolmentFacts(*values))
        for pk, organisation in Employment.objects.filter(person_id__in=batch).values_list("person_id", "organisation"):
            people[pk].employers.append((organisation, org_key(organisation)))
        for pk, kind, year in Honour.objects.filter(person_id__in=batch).values_list("person_id", "kind", "year"):
            people[pk].honours.append((kind, year))
    return people


def population() -> int:
    """How many people the records hold (the whole school: a statistic for weighing evidence)."""
    return Person.objects.count()


def employer_alumni(organisations: Iterable[str]) -> dict[str, int]:
    """How many employment records name each organisation (by comparison key), over the whole school:
    a statistic, not personal data, so it is not scoped."""
    counts: dict[str, int] = defaultdict(int)
    for batch in _batches(sorted(set(organisations)), 2000):
        rows = (
            Employment.objects.filter(organisation__in=batch)
            .order_by()
            .values("organisation")
            .annotate(n=Count("id"))
            .values_list("organisation", "n")
        )
        for organisation, n in rows:
            counts[org_key(organisation)] += n
    return counts


# --- review ---------------------------------------------------------------------------------------
def match_rows(job: MatchJob, *, band: str = "", resolution: str = "") -> QuerySet[MatchRow]:
    rows = job.rows.all()
    if band in Band.values:
        rows = rows.filter(band=band)
    if resolution in MatchRow.Resolution.values:
        rows = rows.filter(resolution=resolution)
    return rows.order_by("row")


def match_row_neighbours(job: MatchJob, row: MatchRow, *, band: str = "") -> dict[str, MatchRow | None]:
    """The previous and next row (in the band filter), and the next one still to decide."""
    rows = match_rows(job, band=band)
    return {
        "previous": rows.filter(row__lt=row.row).order_by("-row").first(),
        "next": rows.filter(row__gt=row.row).first(),
        "next_pending": rows.filter(row__gt=row.row, resolution=MatchRow.Resolution.PENDING).first()
        or rows.filter(row__lt=row.row, resolution=MatchRow.Resolution.PENDING).first(),
    }


def match_candidates(user, row: MatchRow) -> list[MatchCandidate]:
    """A row's candidates that ``user`` may see, best first, with the people's degrees for display."""
    visible = people_scope(user).filter(pk__in=row.candidates.values("person_id")).values_list("pk", flat=True)
    return list(
        row.candidates.filter(person_id__in=list(visible))
        .select_related("person", "decided_by", "honour")
        .prefetch_related("person__enrollments__college", "person__enrollments__major", "person__employments")
        .order_by("rank")
    )
