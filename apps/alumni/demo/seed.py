"""Write generated demo people to the database, chunk by chunk, each chunk in one transaction.

Running again with the same seed finds every person by their first student ID and writes only
the missing ones, so an interrupted run resumes and a larger ``alumni`` adds just the difference.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from apps.core.crypto import lookup_hash
from apps.core.errors import ApplicationError
from apps.core.names import normalise_contact

from ..models import College, ContactChannel, Employment, Enrollment, Honour, Major, Person, SchoolClass, Tag
from . import reference as ref
from .bulk import bulk_insert, reserve_ids
from .generator import CHUNK_SIZE, MAX_ALUMNI, ChunkGenerator, PersonPlan, chunk_sizes

_LOCK_KEY = zlib.crc32(b"alumni.seed_demo")

PERSON_FIELDS = [
    "id", "created_at", "updated_at", "name", "former_names", "name_pinyin", "name_initials", "gender",
    "birth_date", "hometown_province", "hometown_city", "country", "province", "city", "id_number",
    "id_number_hash", "photo", "is_deceased", "privacy_contacts", "privacy_employment", "privacy_location",
    "show_in_directory",
]  # fmt: skip
ENROLLMENT_FIELDS = [
    "created_at", "updated_at", "person_id", "student_id", "degree_level", "college_id", "major_id",
    "school_class_id", "enrollment_year", "graduation_year", "status",
]  # fmt: skip
CONTACT_FIELDS = [
    "created_at", "updated_at", "person_id", "kind", "value", "value_normalised", "status", "verified_at", "source",
]  # fmt: skip
EMPLOYMENT_FIELDS = ["created_at", "updated_at", "person_id", "organisation", "title", "city", "start_date", "end_date"]
HONOUR_FIELDS = ["created_at", "updated_at", "person_id", "kind", "title", "year", "source", "source_url"]
CLASS_FIELDS = ["id", "created_at", "updated_at", "college_id", "major_id", "name", "graduation_year"]


class SeedConflict(ApplicationError):
    """The database holds other records under the student IDs this seed would use."""


@dataclass
class SeedSummary:
    people: int = 0
    enrollments: int = 0
    contacts: int = 0
    employments: int = 0
    honours: int = 0
    tags: int = 0
    classes: int = 0
    existing: int = 0  # people of this seed found already present
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return self.people + self.enrollments + self.contacts + self.employments + self.honours + self.tags

    def add(self, other: SeedSummary) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass
class _Ids:
    """Database ids of the reference rows, by their index in ``reference``."""

    colleges: list[int]
    majors: dict[tuple[int, int], int]
    tags: list[int]
    classes: dict[tuple[int, str], int]  # (college id, class name) -> id


ProgressCallback = Callable[[int, int, SeedSummary], None]


def seed_demo(
    *, alumni: int, seed: int, progress: ProgressCallback | None = None, using: str = DEFAULT_DB_ALIAS
) -> SeedSummary:
    """Make sure the first ``alumni`` demo people of ``seed`` exist; return what was written.

    Raises SeedConflict when their student IDs belong to other people (another seed's data).
    """
    if not 0 <= alumni <= MAX_ALUMNI:
        raise ApplicationError(f"alumni must be between 0 and {MAX_ALUMNI:,}", code="seed_demo_size")
    started = time.perf_counter()
    total = SeedSummary()
    with _exclusive(using):
        ids = _reference_ids(using)
        chunks = list(chunk_sizes(alumni))
        for number, (chunk, count) in enumerate(chunks, start=1):
            total.add(_seed_chunk(seed=seed, chunk=chunk, count=count, ids=ids, using=using))
            total.seconds = time.perf_counter() - started
            if progress is not None:
                progress(number, len(chunks), total)
    total.seconds = time.perf_counter() - started
    return total


def analyze(using: str = DEFAULT_DB_ALIAS) -> None:
    """Refresh PostgreSQL's planner statistics for the tables seeding fills (after big loads the
    planner would otherwise guess from empty tables)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    models = [
        College,
        Major,
        SchoolClass,
        Tag,
        Person,
        Person.tags.through,
        Enrollment,
        ContactChannel,
        Employment,
        Honour,
    ]
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        # VACUUM also sets the visibility map, so counts can use index-only scans; it cannot run
        # inside a transaction (a test, say), where ANALYZE alone has to do.
        cursor.execute(f"{'ANALYZE' if connection.in_atomic_block else 'VACUUM (ANALYZE)'} {tables}")


@contextmanager
def _exclusive(using: str) -> Iterator[None]:
    """One seeding run at a time per PostgreSQL database (SQLite serialises writers itself)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [_LOCK_KEY])
        if not cursor.fetchone()[0]:
            raise ApplicationError("Another seed_demo run is writing to this database.", code="seed_demo_busy")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_KEY])


# --- reference rows -----------------------------------------------------------------------
@transaction.atomic
def _reference_ids(using: str) -> _Ids:
    """Colleges, majors and tags from ``reference``, created where missing; existing classes."""
    by_name = {c.name: c for c in College.objects.using(using).all()}
    by_code = {c.code: c for c in by_name.values()}
    colleges = []
    for college_ref in ref.COLLEGES:
        college = by_name.get(college_ref.name) or by_code.get(college_ref.code)
        if college is None:
            college = College.objects.using(using).create(
                code=college_ref.code, name=college_ref.name, name_en=college_ref.name_en
            )
        colleges.append(college)
    college_ids = [c.pk for c in colleges]
    existing_majors = {
        (college_id, name): pk
        for pk, college_id, name in Major.objects.using(using)
        .filter(college_id__in=college_ids)
        .values_list("pk", "college_id", "name")
    }
    majors = {}
    for c, college_ref in enumerate(ref.COLLEGES):
        for m, major_ref in enumerate(college_ref.majors):
            key = (college_ids[c], major_ref.name)
            if key not in existing_majors:
                existing_majors[key] = (
                    Major.objects.using(using)
                    .create(college_id=college_ids[c], code=f"{colleges[c].code}{m + 1:02d}", name=major_ref.name)
                    .pk
                )
            majors[(c, m)] = existing_majors[key]
    tags = [Tag.objects.using(using).get_or_create(name=name)[0].pk for name in ref.TAGS]
    classes = {
        (college_id, name): pk
        for pk, college_id, name in SchoolClass.objects.using(using)
        .filter(college_id__in=college_ids)
        .values_list("pk", "college_id", "name")
    }
    return _Ids(colleges=college_ids, majors=majors, tags=tags, classes=classes)


# --- one chunk ------------------------------------------------------------------------------
def _seed_chunk(*, seed: int, chunk: int, count: int, ids: _Ids, using: str) -> SeedSummary:
    generator = ChunkGenerator(seed, chunk)
    people = generator.people(count, details_upto=0)
    missing = _missing(people, using)
    summary = SeedSummary(existing=len(people) - len(missing))
    if not missing:
        return summary
    generator.details(people[: missing[-1].index - chunk * CHUNK_SIZE + 1])
    with transaction.atomic(using=using):
        _write(missing, ids, summary, using)
    return summary


def _missing(people: list[PersonPlan], using: str) -> list[PersonPlan]:
    """The people not yet in the database; raises SeedConflict if their IDs are someone else's."""
    student_ids = [sid for person in people for sid in person.student_ids]
    found = {
        sid: (name, birth_date)
        for sid, name, birth_date in Enrollment.objects.using(using)
        .filter(student_id__in=student_ids)
        .values_list("student_id", "person__name", "person__birth_date")
    }
    missing = []
    for person in people:
        first = found.get(person.enrollments[0].student_id)
        if first == (person.name, person.birth_date):
            continue
        taken = next((sid for sid in person.student_ids if sid in found), None)
        if taken is not None:
            raise SeedConflict(
                f"Student ID {taken} already belongs to {found[taken][0]} (this seed has {person.name} there): "
                "the database holds other records, perhaps demo data of another seed. "
                "Use that seed again, or a fresh database.",
                code="seed_demo_conflict",
            )
        missing.append(person)
    return missing


def _write(people: list[PersonPlan], ids: _Ids, summary: SeedSummary, using: str) -> None:
    now = timezone.now()
    summary.classes += _ensure_classes(people, ids, now, using)
    person_ids = reserve_ids(Person, len(people), using=using)
    person_rows, enrollment_rows, contact_rows, employment_rows, honour_rows, tag_rows = [], [], [], [], [], []
    college_ids, major_ids, tag_ids, class_ids = ids.colleges, ids.majors, ids.tags, ids.classes
    for person_id, person in zip(person_ids, people, strict=True):
        id_number = person.id_number
        person_rows.append(
            (
                person_id, now, now, person.name, person.former_names, person.name_pinyin, person.name_initials,
                person.gender, person.birth_date, person.hometown_province, person.hometown_city, person.country,
                person.province, person.city, id_number, lookup_hash(id_number) if id_number else "", "",
                person.is_deceased, *person.privacy, person.show_in_directory,
            )
        )  # fmt: skip
        for e in person.enrollments:
            college_id = college_ids[e.college]
            enrollment_rows.append(
                (
                    now, now, person_id, e.student_id, e.degree, college_id, major_ids[(e.college, e.major)],
                    class_ids[(college_id, e.class_name)] if e.class_name else None, e.enrolled, e.graduated,
                    e.status,
                )
            )  # fmt: skip
        for kind, value, status, verified_at, source in person.contacts:
            contact_rows.append(
                (now, now, person_id, kind, value, normalise_contact(kind, value), status, verified_at, source)
            )
        for organisation, title, city, start, end in person.employments:
            employment_rows.append((now, now, person_id, organisation, title, city, start, end))
        for kind, title, year, source, url in person.honours:
            honour_rows.append((now, now, person_id, kind, title, year, source, url))
        for tag in person.tags:
            tag_rows.append((person_id, tag_ids[tag]))
    summary.people += bulk_insert(Person, PERSON_FIELDS, person_rows, using=using)
    summary.enrollments += bulk_insert(Enrollment, ENROLLMENT_FIELDS, enrollment_rows, using=using)
    summary.contacts += bulk_insert(ContactChannel, CONTACT_FIELDS, contact_rows, using=using)
    summary.employments += bulk_insert(Employment, EMPLOYMENT_FIELDS, employment_rows, using=using)
    summary.honours += bulk_insert(Honour, HONOUR_FIELDS, honour_rows, using=using)
    summary.tags += bulk_insert(Person.tags.through, ["person_id", "tag_id"], tag_rows, using=using)


def _ensure_classes(people: list[PersonPlan], ids: _Ids, now, using: str) -> int:
    """Create the classes (班级) these people belong to that do not exist yet."""
    wanted = {}
    for person in people:
        for e in person.enrollments:
            if e.class_name:
                key = (ids.colleges[e.college], e.class_name)
                if key not in ids.classes:
                    wanted[key] = (ids.majors[(e.college, e.major)], e.graduated)
    if not wanted:
        return 0
    new_ids = reserve_ids(SchoolClass, len(wanted), using=using)
    rows = []
    for pk, ((college_id, name), (major_id, graduation_year)) in zip(new_ids, wanted.items(), strict=True):
        rows.append((pk, now, now, college_id, major_id, name, graduation_year))
    bulk_insert(SchoolClass, CLASS_FIELDS, rows, using=using)
    # Known from now on; if this chunk's transaction fails, the run stops with it.
    ids.classes.update(zip(wanted, new_ids, strict=True))
    return len(rows)
