"""The export field catalogue: which person fields may leave the system, under which permission.

Every export (admin lists, ``export_alumni``, export jobs, data-service deliveries, profile sheets)
takes its columns from ``FIELDS`` and its rows from ``export_rows`` or ``profile_records``. Rows
are read in chunks: one query for the people of a chunk plus at most one per related table that
the chosen fields need (enrolments, contacts, employment, honours), so 120,000 people cost about
120 queries (chunks of 5,000), never one per person.

Multi-valued columns (a person with two degrees) hold the values in enrolment order, joined with
"; ". Years are numbers when a person has one, text ("2011; 2015") when they have several.
Contacts leave out bounced and obsolete channels. Row order is by record id, so two exports of
the same list are identical.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice

from django.core.exceptions import ValidationError
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import ContactChannel, Employment, Enrollment, Honour, Person

EXPORT_PERMISSION = "dataservice.export_people"
CHUNK_SIZE = 5000
SEPARATOR = "; "

PERSON = "person"
ENROLMENT = "enrolment"
CONTACT = "contact"
EMPLOYMENT = "employment"
HONOUR = "honour"

_SOURCE_PERMISSIONS = {
    PERSON: "alumni.view_person",
    ENROLMENT: "alumni.view_enrollment",
    CONTACT: "alumni.view_contactchannel",
    EMPLOYMENT: "alumni.view_employment",
    HONOUR: "alumni.view_honour",
}


@dataclass(frozen=True)
class ExportField:
    key: str  # stable name used by --fields, forms and stored requests
    label: str  # lazy, translated when the header is written
    source: str
    permission: str


def _field(key, label, source, permission=None) -> ExportField:
    return ExportField(key, label, source, permission or _SOURCE_PERMISSIONS[source])


FIELDS: dict[str, ExportField] = {
    f.key: f
    for f in [
        _field("name", gettext_lazy("name"), PERSON),
        _field("former_names", gettext_lazy("former names"), PERSON),
        _field("gender", gettext_lazy("gender"), PERSON),
        _field("birth_date", gettext_lazy("birth date"), PERSON),
        _field("hometown_province", gettext_lazy("hometown province"), PERSON),
        _field("hometown_city", gettext_lazy("hometown city"), PERSON),
        _field("country", gettext_lazy("country or region"), PERSON),
        _field("province", gettext_lazy("province"), PERSON),
        _field("city", gettext_lazy("city"), PERSON),
        _field("is_deceased", gettext_lazy("deceased"), PERSON),
        # Sensitive personal information (GB/T 35273 Appendix B): only with the ID-number right.
        _field("id_number", gettext_lazy("ID-card number"), PERSON, "alumni.view_id_number"),
        _field("student_ids", gettext_lazy("student IDs"), ENROLMENT),
        _field("colleges", gettext_lazy("colleges"), ENROLMENT),
        _field("majors", gettext_lazy("majors"), ENROLMENT),
        _field("classes", gettext_lazy("classes"), ENROLMENT),
        _field("degree_levels", gettext_lazy("degree levels"), ENROLMENT),
        _field("enrollment_years", gettext_lazy("enrolment years"), ENROLMENT),
        _field("graduation_years", gettext_lazy("graduation years"), ENROLMENT),
        _field("degrees", gettext_lazy("degrees (level, college, major, years)"), ENROLMENT),
        _field("mobile", gettext_lazy("mobile"), CONTACT),
        _field("email", gettext_lazy("email"), CONTACT),
        _field("wechat", gettext_lazy("WeChat"), CONTACT),
        _field("landline", gettext_lazy("landline"), CONTACT),
        _field("address", gettext_lazy("postal address"), CONTACT),
        _field("employer", gettext_lazy("current employer"), EMPLOYMENT),
        _field("job_title", gettext_lazy("current title"), EMPLOYMENT),
        _field("career", gettext_lazy("career"), EMPLOYMENT),
        _field("honours", gettext_lazy("honours"), HONOUR),
    ]
}

DEFAULT_FIELDS = (
    "name",
    "gender",
    "birth_date",
    "student_ids",
    "colleges",
    "majors",
    "classes",
    "degree_levels",
    "enrollment_years",
    "graduation_years",
    "province",
    "city",
)

# What a distinguished-alumni profile sheet can show; the name is always on it.
PROFILE_FIELDS = ("name", "gender", "birth_date", "province", "city", "degrees", "career", "honours")

_PERSON_COLUMNS = {
    "name": "name",
    "former_names": "former_names",
    "gender": "gender",
    "birth_date": "birth_date",
    "hometown_province": "hometown_province",
    "hometown_city": "hometown_city",
    "country": "country",
    "province": "province",
    "city": "city",
    "is_deceased": "is_deceased",
    "id_number": "id_number",
}
_CONTACT_KINDS = {
    "mobile": ContactChannel.Kind.MOBILE,
    "email": ContactChannel.Kind.EMAIL,
    "wechat": ContactChannel.Kind.WECHAT,
    "landline": ContactChannel.Kind.LANDLINE,
    "address": ContactChannel.Kind.ADDRESS,
}
_UNUSABLE_CONTACTS = (ContactChannel.Status.BOUNCED, ContactChannel.Status.OBSOLETE)


# --- who may export what --------------------------------------------------------------------


def can_export_people(user) -> bool:
    """Whether ``user`` may export person lists at all (their scope still limits whom)."""
    return bool(user and user.is_active and user.has_perm(EXPORT_PERMISSION))


def export_fields_allowed(user) -> list[ExportField]:
    """The catalogue fields ``user`` may export, in catalogue order (none without the export right)."""
    if not can_export_people(user):
        return []
    return [f for f in FIELDS.values() if user.has_perm(f.permission)]


def export_fields_check(user, keys: Iterable[str], *, allowed_keys: Iterable[str] | None = None) -> list[str]:
    """``keys`` as a list, or ValidationError naming every unknown or forbidden one (never dropped silently).

    ``user=None`` is the command line without ``--user``: every catalogue field. ``allowed_keys``
    narrows the choice further (profile sheets, a request's requested fields).
    """
    keys = list(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
    if not keys:
        raise ValidationError(_("Choose at least one field."), code="no_fields")
    unknown = [k for k in keys if k not in FIELDS]
    if unknown:
        raise ValidationError(
            _("Unknown fields: %(fields)s. Known fields: %(known)s.")
            % {"fields": ", ".join(unknown), "known": ", ".join(FIELDS)},
            code="unknown_fields",
        )
    permitted = set(FIELDS) if user is None else {f.key for f in export_fields_allowed(user)}
    if allowed_keys is not None:
        permitted &= set(allowed_keys)
    forbidden = [k for k in keys if k not in permitted]
    if forbidden:
        raise ValidationError(
            _("You may not export these fields: %(fields)s.") % {"fields": ", ".join(forbidden)},
            code="forbidden_fields",
        )
    return keys


def export_header(keys: Sequence[str]) -> list[str]:
    """Column headers in the active language."""
    return [capfirst(str(FIELDS[k].label)) for k in keys]


# --- which people ---------------------------------------------------------------------------


def people_matching(
    queryset: QuerySet[Person],
    *,
    college_ids: Iterable[int] = (),
    degree_levels: Iterable[str] = (),
    enrollment_year_from: int | None = None,
    enrollment_year_to: int | None = None,
    graduation_year_from: int | None = None,
    graduation_year_to: int | None = None,
    honour_kinds: Iterable[str] = (),
    provinces: Iterable[str] = (),
    person_ids: Iterable[int] | None = None,
) -> QuerySet[Person]:
    """Narrow ``queryset`` (already scoped) to a data request's filters; empty filters match all.

    The enrolment criteria (college, degree, years) must hold for one and the same enrolment:
    "bachelors of the CS college who graduated 2010-2015", not a CS master plus any 2012 degree.
    """
    college_ids, degree_levels = list(college_ids), list(degree_levels)
    honour_kinds, provinces = list(honour_kinds), list(provinces)
    enrolment = Q()
    if college_ids:
        enrolment &= Q(college_id__in=college_ids)
    if degree_levels:
        enrolment &= Q(degree_level__in=degree_levels)
    for lookup, value in [
        ("enrollment_year__gte", enrollment_year_from),
        ("enrollment_year__lte", enrollment_year_to),
        ("graduation_year__gte", graduation_year_from),
        ("graduation_year__lte", graduation_year_to),
    ]:
        if value is not None:
            enrolment &= Q(**{lookup: value})
    if enrolment:
        queryset = queryset.filter(Exists(Enrollment.objects.filter(enrolment, person=OuterRef("pk"))))
    if honour_kinds:
        queryset = queryset.filter(Exists(Honour.objects.filter(person=OuterRef("pk"), kind__in=honour_kinds)))
    if provinces:
        queryset = queryset.filter(province__in=provinces)
    if person_ids is not None:
        queryset = queryset.filter(pk__in=list(person_ids))
    return queryset


# --- rows -----------------------------------------------------------------------------------


def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    iterator = iter(iterable)
    while batch := list(islice(iterator, size)):
        yield batch


def _person_columns(keys: Sequence[str]) -> list[str]:
    return [_PERSON_COLUMNS[k] for k in keys if k in _PERSON_COLUMNS]


def export_records(
    queryset: QuerySet[Person], keys: Sequence[str], *, chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple[int, list]]:
    """``(person id, cells)`` per person of ``queryset`` in id order, for the catalogue ``keys``.

    Labels (gender, degree levels) are taken in the language active when this is called, even
    if the rows are consumed later (a streamed response).
    """
    columns = _person_columns(keys)
    formatter = _RowFormatter(keys, columns)
    # The admin's queryset prefetches enrolments for its list; rows here fetch their own, per chunk.
    people = queryset.prefetch_related(None).order_by("pk").values_list("pk", *columns)
    return _records(_batched(people.iterator(chunk_size=chunk_size), chunk_size), formatter)


def export_records_for_ids(
    queryset: QuerySet[Person], ids: Iterable[int], keys: Sequence[str], *, chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple[int, list]]:
    """As ``export_records`` for the people of ``queryset`` among ``ids`` (a stored selection)."""
    columns = _person_columns(keys)
    formatter = _RowFormatter(keys, columns)
    chunks = (
        list(queryset.prefetch_related(None).filter(pk__in=id_chunk).order_by("pk").values_list("pk", *columns))
        for id_chunk in _batched(sorted(ids), chunk_size)
    )
    return _records(chunks, formatter)


def export_rows(queryset: QuerySet[Person], keys: Sequence[str], *, chunk_size: int = CHUNK_SIZE) -> Iterator[list]:
    """The cells of ``export_records`` without the ids."""
    return (cells for _pk, cells in export_records(queryset, keys, chunk_size=chunk_size))


def _records(chunks: Iterable[list[tuple]], formatter: "_RowFormatter") -> Iterator[tuple[int, list]]:
    for chunk in chunks:
        yield from formatter.records(chunk)


def _join(values) -> str:
    """Non-empty values joined with SEPARATOR (the one-value case, most people, without a join)."""
    values = [v for v in values if v is not None and v != ""]
    if len(values) == 1:
        value = values[0]
        return value if isinstance(value, str) else str(value)
    return SEPARATOR.join(map(str, values))


def _distinct(values) -> list:
    return list(dict.fromkeys(values)) if len(values) > 1 else values


def _years(values: list) -> int | str | None:
    distinct = _distinct([v for v in values if v])
    if not distinct:
        return None
    return distinct[0] if len(distinct) == 1 else SEPARATOR.join(map(str, distinct))


def _span(start, end) -> str:
    if start and end:
        return f"{start}–{end}"
    return str(start or end or "")


_NONE: tuple = ()
_SUMMARY_INDEX = {
    key: index
    for index, key in enumerate(
        ["student_ids", "degree_levels", "colleges", "majors", "classes", "enrollment_years", "graduation_years"]
    )
}
_NO_ENROLMENT = ("", "", "", "", "", None, None)


class _RowFormatter:
    """Turns a chunk of person tuples into rows, fetching the related tables the keys need.

    Each key gets its cell function once per export; per cell there is no dispatch on the key.
    """

    def __init__(self, keys: Sequence[str], columns: list[str]) -> None:
        self.keys = list(keys)
        self.position = {column: index + 1 for index, column in enumerate(columns)}
        sources = {FIELDS[k].source for k in keys}
        self.contact_kinds = [_CONTACT_KINDS[k] for k in keys if k in _CONTACT_KINDS]
        self.needs = {
            ENROLMENT: ENROLMENT in sources,
            CONTACT: bool(self.contact_kinds),
            EMPLOYMENT: EMPLOYMENT in sources,
            HONOUR: HONOUR in sources,
        }
        # Labels are resolved once per export, in the language active when it is set up.
        self.genders = {value: str(label) for value, label in Person.Gender.choices if value}
        self.degrees = {value: str(label) for value, label in Enrollment.DegreeLevel.choices}
        self.honour_kinds = {value: str(label) for value, label in Honour.Kind.choices}
        self.yes, self.no = _("yes"), _("no")
        # Each cell is taken from the person's own columns (source 0), their enrolment summary
        # (source 1) or a per-person function (source 2): a plan made once, indexing per cell.
        self.plan: list[tuple[int, int]] = []
        self.functions = []
        for key in self.keys:
            if key in _PERSON_COLUMNS and key not in ("gender", "is_deceased"):
                self.plan.append((0, self.position[_PERSON_COLUMNS[key]]))
            elif key in _SUMMARY_INDEX:
                self.plan.append((1, _SUMMARY_INDEX[key]))
            else:
                self.plan.append((2, len(self.functions)))
                self.functions.append(self._cell_function(key))

    def records(self, chunk: list[tuple]) -> Iterator[tuple[int, list]]:
        if not chunk:
            return
        related = _related(
            [p[0] for p in chunk],
            enrolments=self.needs[ENROLMENT],
            contact_kinds=self.contact_kinds,
            employment=self.needs[EMPLOYMENT],
            honours=self.needs[HONOUR],
        )
        if self.needs[ENROLMENT]:
            summary = self._enrolment_summary
            related.summaries = {pk: summary(rows) for pk, rows in related.enrolments.items()}
        summaries, functions, plan = related.summaries, self.functions, self.plan
        for person in chunk:
            pk = person[0]
            computed = [function(person, related) for function in functions] if functions else _NONE
            sources = (person, summaries.get(pk, _NO_ENROLMENT), computed)
            yield pk, [sources[source][index] for source, index in plan]

    def _enrolment_summary(self, rows: list) -> tuple:
        """Every enrolment column of one person, computed once (most people have one enrolment).

        An enrolment row holds student ID, degree level, college, major, class, enrolment year and
        graduation year; the summary has the same order.
        """
        degrees = self.degrees
        if len(rows) == 1:
            e = rows[0]
            return (e[0], degrees.get(e[1], e[1]), e[2], e[3] or "", e[4] or "", e[5], e[6])
        return (
            _join([x[0] for x in rows]),
            _join([degrees.get(x[1], x[1]) for x in rows]),
            _join(_distinct([x[2] for x in rows])),
            _join(_distinct([x[3] for x in rows])),
            _join([x[4] for x in rows]),
            _years([x[5] for x in rows]),
            _years([x[6] for x in rows]),
        )

    def _cell_function(self, key: str):
        column = _PERSON_COLUMNS.get(key)
        if column is not None:
            index = self.position[column]
            if key == "gender":
                genders = self.genders
                return lambda p, r: genders.get(p[index], "")
            if key == "is_deceased":
                yes, no = self.yes, self.no
                return lambda p, r: yes if p[index] else no
            return lambda p, r: p[index]
        if key in _CONTACT_KINDS:
            kind = _CONTACT_KINDS[key]
            return lambda p, r: _join(r.contacts.get(p[0], {}).get(kind, _NONE))
        if key == "degrees":
            return lambda p, r: _join([self.degree_text(x) for x in r.enrolments.get(p[0], _NONE)])
        if key in ("employer", "job_title", "career"):
            return lambda p, r: self._employment_cell(key, r.employment.get(p[0], _NONE))
        return lambda p, r: _join([self.honour_text(h) for h in r.honours.get(p[0], _NONE)])

    def degree_text(self, e) -> str:
        return " ".join(p for p in (self.degrees.get(e[1], e[1]), e[2], e[3] or "", _span(e[5], e[6])) if p)

    def _employment_cell(self, key, jobs):
        # A job row: organisation, title, start date, end date; most recent first.
        current = next((j for j in jobs if j[3] is None), None)  # every job ended: no current employer
        if key == "employer":
            return current[0] if current else ""
        if key == "job_title":
            return current[1] if current else ""
        return _join([self.job_text(j) for j in jobs])

    @staticmethod
    def job_text(job) -> str:
        years = _span(job[2].year if job[2] else None, job[3].year if job[3] else None)
        text = " ".join(p for p in (job[0], job[1]) if p)
        return f"{text} ({years})" if years else text

    def honour_text(self, honour) -> str:
        # An honour row holds its kind, title and year.
        return " ".join(str(p) for p in (self.honour_kinds.get(honour[0], honour[0]), honour[1], honour[2]) if p)


@dataclass
class _Related:
    enrolments: dict
    contacts: dict
    employment: dict
    honours: dict
    summaries: dict = field(default_factory=dict)


def _related(ids, *, enrolments: bool, contact_kinds: list[str], employment: bool, honours: bool) -> _Related:
    """The related rows of one chunk of people (ids ascending): one query per table that is needed.

    A dense chunk (a whole-school or college-wide list) is fetched by id range, which spares
    building and parsing a 2,000-item IN list per query; rows of people in the range but not in
    the chunk are fetched too and never looked at. A sparse chunk uses IN.
    """
    result = _Related({}, {}, {}, {})
    if ids[-1] - ids[0] < 2 * len(ids):
        of_chunk = Q(person_id__gte=ids[0], person_id__lte=ids[-1])
    else:
        of_chunk = Q(person_id__in=ids)
    if enrolments:
        rows = (
            Enrollment.objects.filter(of_chunk)
            .order_by("person_id", F("enrollment_year").asc(nulls_last=True), "id")
            .values_list(
                "person_id",
                "student_id",
                "degree_level",
                "college__name",
                "major__name",
                "school_class__name",
                "enrollment_year",
                "graduation_year",
            )
        )
        for row in rows:
            result.enrolments.setdefault(row[0], []).append(row[1:])
    if contact_kinds:
        rows = (
            ContactChannel.objects.filter(of_chunk, kind__in=contact_kinds)
            .exclude(status__in=_UNUSABLE_CONTACTS)
            .order_by("person_id", "kind", F("verified_at").desc(nulls_last=True), "id")
            .values_list("person_id", "kind", "value")
        )
        for person_id, kind, value in rows:
            result.contacts.setdefault(person_id, {}).setdefault(kind, []).append(value)
    if employment:
        rows = (
            Employment.objects.filter(of_chunk)
            .order_by("person_id", F("start_date").desc(nulls_last=True), "-id")
            .values_list("person_id", "organisation", "title", "start_date", "end_date")
        )
        for row in rows:
            result.employment.setdefault(row[0], []).append(row[1:])
    if honours:
        rows = (
            Honour.objects.filter(of_chunk)
            .order_by("person_id", F("year").desc(nulls_last=True), "id")
            .values_list("person_id", "kind", "title", "year")
        )
        for row in rows:
            result.honours.setdefault(row[0], []).append(row[1:])
    return result


# --- profile sheets -------------------------------------------------------------------------


@dataclass
class Profile:
    """What one distinguished-alumni profile sheet shows; lists are empty when not approved."""

    person_id: int
    name: str
    facts: list[tuple[str, str]]  # (label, value) for gender, birth date, current city ...
    degrees: list[str]
    career: list[str]
    honours: list[str]


def profile_records(queryset: QuerySet[Person], keys: Sequence[str], *, chunk_size: int = 500) -> Iterator[Profile]:
    """One Profile per person of ``queryset`` in id order, holding only the approved ``keys``."""
    keys = [k for k in keys if k in PROFILE_FIELDS]
    columns = ["name", "gender", "birth_date", "province", "city"]
    people = queryset.prefetch_related(None).order_by("pk").values_list("pk", *columns)
    formatter = _RowFormatter(keys, columns)
    for chunk in _batched(people.iterator(chunk_size=chunk_size), chunk_size):
        related = _related(
            [p[0] for p in chunk],
            enrolments="degrees" in keys,
            contact_kinds=[],
            employment="career" in keys,
            honours="honours" in keys,
        )
        for pk, name, gender, birth_date, province, city in chunk:
            facts = []
            if "gender" in keys and gender:
                facts.append((capfirst(str(FIELDS["gender"].label)), formatter.genders.get(gender, "")))
            if "birth_date" in keys and birth_date:
                facts.append((capfirst(str(FIELDS["birth_date"].label)), birth_date.isoformat()))
            place = " ".join(p for p in ("province" in keys and province, "city" in keys and city) if p)
            if place:
                facts.append((_("Lives in"), place))
            yield Profile(
                person_id=pk,
                name=name,
                facts=facts,
                degrees=[formatter.degree_text(e) for e in related.enrolments.get(pk, _NONE)],
                career=[formatter.job_text(j) for j in related.employment.get(pk, _NONE)],
                honours=[formatter.honour_text(h) for h in related.honours.get(pk, _NONE)],
            )
