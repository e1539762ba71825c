"""Matching the rows of a list against the records, in the checking user's scope."""

from collections import defaultdict
from dataclasses import asdict

from django.db import connection
from django.db.models import QuerySet, TextChoices
from django.utils.translation import gettext_lazy

from apps.core.names import name_key
from apps.core.scoping import scope_for

from ..models import College, Enrollment, Person
from ..selectors import visible_people
from .parsing import InputRow

MAX_CANDIDATES = 10
_BATCH = 1000


class Outcome(TextChoices):
    ALUMNUS = "alumnus", gettext_lazy("Alumnus")
    AMBIGUOUS = "ambiguous", gettext_lazy("Ambiguous")
    NOT_FOUND = "not_found", gettext_lazy("Not found")
    INVALID = "invalid", gettext_lazy("Cannot check")


# Notes on a row, rendered in the reader's language when shown.
NOTES = {
    "no_name": gettext_lazy("The row has no name."),
    "no_key": gettext_lazy("Give a student ID or a graduation year to check this row."),
    "bad_year": gettext_lazy("The graduation year %(value)s is not a year."),
    "name_differs": gettext_lazy("The student ID exists, but under a different name."),
    "former_name": gettext_lazy("Matched a former name."),
    "year_differs": gettext_lazy("Graduation year on record: %(value)s."),
    "college_differs": gettext_lazy("College on record: %(value)s."),
    "college_unknown": gettext_lazy("College %(value)s was not recognised and was ignored."),
    "student_id_unknown": gettext_lazy("Student ID %(value)s not found; matched by name and graduation year."),
    "more_candidates": gettext_lazy("%(value)s more candidates not shown."),
}


def _note(code: str, value: object = "") -> dict:
    return {"code": code, "value": str(value)}


def _record(hit: dict) -> dict:
    """What a result may show of a record: identity and the degree, never contacts."""
    return {
        "person_id": hit["person_id"],
        "name": hit["person__name"],
        "student_id": hit["student_id"],
        "degree": hit["degree_level"],
        "college": hit["college__name"],
        "graduation_year": hit["graduation_year"],
    }


def _names_of(hit: dict) -> set[str]:
    former = (hit["person__former_names"] or "").replace("，", ",").replace("、", ",").split(",")
    return {name_key(hit["person__name"])} | {name_key(n) for n in former if n.strip()}


class _Colleges:
    """Resolve the college text of a row to college ids: code, name or English name, or a part of one."""

    def __init__(self) -> None:
        self.rows = [
            (c.pk, name_key(c.name).lower(), c.code.lower(), name_key(c.name_en).lower()) for c in College.objects.all()
        ]

    def ids(self, text: str) -> set[int]:
        key = name_key(text).lower()
        if not key:
            return set()
        exact = {pk for pk, *names in self.rows if key in names}
        return exact or {pk for pk, name, _code, name_en in self.rows if key in name or (name_en and key in name_en)}


_FIELDS = (
    "person_id",
    "person__name",
    "person__former_names",
    "student_id",
    "degree_level",
    "college_id",
    "college__name",
    "graduation_year",
)


def _enrollments(user) -> QuerySet[Enrollment]:
    """Enrolments of the people ``user`` may see, as plain values (thousands of rows, no models)."""
    rows = Enrollment.objects.order_by("person_id", "id")
    if not scope_for(user).whole_school:
        rows = rows.filter(person__in=visible_people(user))
    return rows.values(*_FIELDS)


def _chunks(values: list, size: int = _BATCH):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _name_year_hits(user, wanted: list[tuple[str, int]]):
    """Enrolments whose person has one of the names with that graduation year, exact pairs only.

    A thousand (name, year) pairs per query, joined on the person's name index. Scope comes from
    visible_people() itself, compiled into the query, so the rule still lives in one place.
    """
    scope_sql, scope_params = "", []
    if not scope_for(user).whole_school:
        people_sql, people_params = visible_people(user).order_by().values("pk").query.sql_with_params()
        scope_sql, scope_params = f"WHERE e.person_id IN ({people_sql})", list(people_params)
    for chunk in _chunks(wanted):
        values = ", ".join(["(%s, %s)"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH wanted(name, year) AS (VALUES {values})
                SELECT e.person_id, p.name, p.former_names, e.student_id, e.degree_level, e.college_id, c.name,
                    e.graduation_year
                FROM wanted w
                JOIN {Person._meta.db_table} p ON p.name = w.name
                JOIN {Enrollment._meta.db_table} e ON e.person_id = p.id AND e.graduation_year = w.year
                JOIN {College._meta.db_table} c ON c.id = e.college_id
                {scope_sql}
                ORDER BY e.person_id, e.id
                """,  # noqa: S608 - table names from model metadata; values are parameters
                [value for pair in chunk for value in pair] + scope_params,
            )
            for row in cursor.fetchall():
                yield dict(zip(_FIELDS, row, strict=True))


def identity_match(*, user, rows: list[InputRow]) -> list[dict]:
    """One result per input row, with indexed lookups only: student IDs and exact (name,
    graduation year) pairs, a thousand per query, so the query count never depends on the data.
    """
    visible = _enrollments(user)
    colleges = _Colleges()

    by_student_id: dict[str, dict] = {}
    wanted_ids = sorted({v for r in rows if r.student_id for v in (r.student_id, r.student_id.upper())})
    for chunk in _chunks(wanted_ids):
        by_student_id.update({hit["student_id"]: hit for hit in visible.filter(student_id__in=chunk)})

    wanted = sorted(
        {
            (form, r.graduation_year)
            for r in rows
            if r.name
            and r.graduation_year
            and not (by_student_id.get(r.student_id) or by_student_id.get(r.student_id.upper()))
            for form in (r.name, name_key(r.name))
        }
    )
    by_name_year: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for hit in _name_year_hits(user, wanted):
        by_name_year[(name_key(hit["person__name"]), hit["graduation_year"])].append(hit)

    return [_answer(row, by_student_id, by_name_year, colleges) for row in rows]


def _answer(row: InputRow, by_student_id, by_name_year, colleges: _Colleges) -> dict:
    result = {"row": row.row, "input": asdict(row), "status": Outcome.NOT_FOUND.value, "matches": [], "notes": []}
    notes = result["notes"]
    if not row.name:
        return {**result, "status": Outcome.INVALID.value, "notes": [_note("no_name")]}
    if row.year_text:
        return {**result, "status": Outcome.INVALID.value, "notes": [_note("bad_year", row.year_text)]}
    if not row.student_id and not row.graduation_year:
        return {**result, "status": Outcome.INVALID.value, "notes": [_note("no_key")]}
    college_ids = colleges.ids(row.college)
    if row.college and not college_ids:
        notes.append(_note("college_unknown", row.college))
    wanted = name_key(row.name)

    if row.student_id:
        hit = by_student_id.get(row.student_id) or by_student_id.get(row.student_id.upper())
        if hit is not None:
            if wanted in _names_of(hit):
                if wanted != name_key(hit["person__name"]):
                    notes.append(_note("former_name"))
                if row.graduation_year and hit["graduation_year"] != row.graduation_year:
                    notes.append(_note("year_differs", hit["graduation_year"] or "-"))
                if college_ids and hit["college_id"] not in college_ids:
                    notes.append(_note("college_differs", hit["college__name"]))
                return {**result, "status": Outcome.ALUMNUS.value, "matches": [_record(hit)]}
            notes.append(_note("name_differs"))
            return {**result, "status": Outcome.AMBIGUOUS.value, "matches": [_record(hit)]}
        if not row.graduation_year:
            return result
        notes.append(_note("student_id_unknown", row.student_id))

    found = by_name_year.get((wanted, row.graduation_year), [])
    if college_ids:
        found = [hit for hit in found if hit["college_id"] in college_ids]
    first_degree: dict[int, dict] = {}
    for hit in found:
        first_degree.setdefault(hit["person_id"], hit)
    per_person = list(first_degree.values())
    if not per_person:
        return result
    if len(per_person) == 1:
        return {**result, "status": Outcome.ALUMNUS.value, "matches": [_record(per_person[0])]}
    if len(per_person) > MAX_CANDIDATES:
        notes.append(_note("more_candidates", len(per_person) - MAX_CANDIDATES))
    return {
        **result,
        "status": Outcome.AMBIGUOUS.value,
        "matches": [_record(hit) for hit in per_person[:MAX_CANDIDATES]],
    }


def note_text(note: dict) -> str:
    label = NOTES.get(note.get("code", ""))
    if label is None:
        return ""
    text = str(label)
    return text % {"value": note.get("value", "")} if "%(value)s" in text else text
