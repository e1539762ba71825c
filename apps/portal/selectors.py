"""Reads of the alumni portal. The one place that decides what a viewer may see of another person.

Privacy model (``alumni.Visibility``): each person chooses, per group of fields, who besides the
office may see it; later levels include earlier ones.

| level      | who sees the group                                              |
| ---------- | --------------------------------------------------------------- |
| office     | nobody in the portal but the person                             |
| classmates | alumni sharing a class (SchoolClass) with the person            |
| chapters   | classmates, and alumni sharing an active chapter membership     |
| verified   | every verified alumnus                                          |

Groups: ``contacts`` (email, mobile, WeChat, landline; a postal address is never shown to other
alumni), ``employment`` (current employer and title), ``location`` (current city). Name and
degrees of a person listed in the directory (``show_in_directory``, not deceased) are shown to
every verified alumnus. Searches by city or employer only match people whose city or employer the
viewer may see, so a search cannot reveal a hidden field either.

The relations (classmate, chapter-mate) of a page of results are read with its degrees, jobs and
contacts in one statement (``_entries``; ``relations_of`` for one person). The visibility rule is
applied by ``visible_groups`` (Python, for rows), ``_visible_sql`` (SQL, for filters) and
``_seen_sql`` (SQL, for the page's jobs and contacts), all generated from ``_LEVELS_FOR``. Hidden
values are never read: the page's statement fetches contacts and jobs only of the people whose
groups are visible, and the Python rule attaches only what it allows as well.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone, translation

from apps.alumni.models import ContactChannel, Enrollment, Person, Visibility
from apps.chapters.models import ChapterMembership
from apps.core.models import AuditEvent
from apps.core.names import clean_text, looks_like_pinyin, name_key

from . import sql as prepared
from .models import Conversation, DataRightsRequest, LookupStat, RelayBlock, RelayMessage

PAGE_SIZE = 20
MAX_PAGE = 25  # 500 results: narrow the search rather than page through the directory
MAX_INITIALS = 6  # longer Latin terms are only pinyin prefixes

GROUPS = ("contacts", "employment", "location")
GROUP_FIELDS = {"contacts": "privacy_contacts", "employment": "privacy_employment", "location": "privacy_location"}
# Contact kinds another alumnus may see when the contacts group is visible (never the postal address).
SHOWN_CONTACT_KINDS = (
    ContactChannel.Kind.EMAIL,
    ContactChannel.Kind.MOBILE,
    ContactChannel.Kind.WECHAT,
    ContactChannel.Kind.LANDLINE,
)
SHOWN_CONTACT_STATUSES = (ContactChannel.Status.VERIFIED, ContactChannel.Status.UNVERIFIED)

# relation -> the levels whose groups that relation may see
_LEVELS_FOR = {
    "self": frozenset(Visibility.values),
    "classmate": frozenset({Visibility.CLASSMATES, Visibility.CHAPTERS, Visibility.VERIFIED_ALUMNI}),
    "chaptermate": frozenset({Visibility.CHAPTERS, Visibility.VERIFIED_ALUMNI}),
    "verified": frozenset({Visibility.VERIFIED_ALUMNI}),
}


# --- who is a verified alumnus ---------------------------------------------------------------
_PERSON_ATTR = "_portal_person"


def viewer_person(user) -> Person | None:
    """The Person linked to an active portal account (a verified alumnus), else None. Cached per user object."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if hasattr(user, _PERSON_ATTR):
        return getattr(user, _PERSON_ATTR)
    # A prepared statement: this runs on every portal request. Date columns and the ID number are
    # left deferred (they load on access, with their types).
    rows = prepared.fetch("portal_viewer", "bigint", _VIEWER, [user.pk])
    person = None
    if rows:
        values = [
            bool(v) if f.get_internal_type() == "BooleanField" else v
            for f, v in zip(_VIEWER_FIELDS, rows[0], strict=True)
        ]
        person = Person.from_db(connection.alias, [f.attname for f in _VIEWER_FIELDS], values)
    setattr(user, _PERSON_ATTR, person)
    return person


_VIEWER_FIELDS = [
    f
    for f in Person._meta.concrete_fields
    if f.get_internal_type() in ("BigAutoField", "CharField", "BooleanField", "FileField", "ImageField", "ForeignKey")
    or f.name == "user"
]
_VIEWER = (
    f"SELECT {', '.join(f.column for f in _VIEWER_FIELDS)} FROM alumni_person"  # noqa: S608 - column names only
    " WHERE user_id = $1 AND NOT is_deceased"
)


_USER_FIELDS = list(get_user_model()._meta.concrete_fields)
_SESSION_USER = (
    f"SELECT {', '.join('u.' + f.column for f in _USER_FIELDS)}, "  # noqa: S608 - column names only
    f"{', '.join('p.' + f.column for f in _VIEWER_FIELDS)} FROM {get_user_model()._meta.db_table} u"
    " LEFT JOIN alumni_person p ON p.user_id = u.id AND NOT p.is_deceased WHERE u.id = $1"
)


def session_user(user_id):
    """The signed-in user of a session and, from the same statement, their alumni record (PostgreSQL).

    Every signed-in request loads its user, and every portal request then its alumni record
    (``viewer_person``): one prepared statement instead of an ORM query and a second round trip.
    """
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(user_id)
    except ValidationError:
        return None
    rows = prepared.fetch("portal_session_user", "bigint", _SESSION_USER, [pk])
    if not rows:
        return None
    values = rows[0]
    user = user_model.from_db(connection.alias, [f.attname for f in _USER_FIELDS], values[: len(_USER_FIELDS)])
    person_values = values[len(_USER_FIELDS) :]
    person = None
    if person_values[0] is not None:
        person = Person.from_db(connection.alias, [f.attname for f in _VIEWER_FIELDS], person_values)
        Person.user.field.set_cached_value(person, user)
    setattr(user, _PERSON_ATTR, person)
    return user


def forget_viewer(user) -> None:
    if hasattr(user, _PERSON_ATTR):
        delattr(user, _PERSON_ATTR)


# --- relations and visibility ------------------------------------------------------------------
def relations(*, is_self: bool, is_classmate: bool, is_chaptermate: bool) -> frozenset[str]:
    found = {"verified"}
    if is_self:
        found.add("self")
    if is_classmate:
        found.add("classmate")
    if is_chaptermate:
        found.add("chaptermate")
    return frozenset(found)


def visible_groups(levels: dict[str, str], rels: frozenset[str]) -> frozenset[str]:
    """The groups whose level one of the viewer's relations to the person allows."""
    return frozenset(group for group in GROUPS if any(levels[group] in _LEVELS_FOR[relation] for relation in rels))


def visible_fields(viewer: Person, target: Person) -> frozenset[str]:
    """The groups of ``target`` that ``viewer`` may see (queries the two relations)."""
    if viewer.pk == target.pk:
        rels = relations(is_self=True, is_classmate=False, is_chaptermate=False)
    else:
        mine = relations_of(viewer.pk, [target.pk])[target.pk]
        rels = relations(is_self=False, is_classmate="classmate" in mine, is_chaptermate="chaptermate" in mine)
    return visible_groups({g: getattr(target, GROUP_FIELDS[g]) for g in GROUPS}, rels)


# --- the directory ---------------------------------------------------------------------------
def directory_people() -> QuerySet[Person]:
    """Everyone listed in the directory: opted in and not deceased."""
    return Person.objects.filter(show_in_directory=True, is_deceased=False)


@dataclass(frozen=True)
class DirectoryQuery:
    q: str = ""
    college_id: int | None = None
    graduation_year: int | None = None
    class_id: int | None = None
    city: str = ""
    employer: str = ""
    page: int = 1

    @property
    def is_empty(self) -> bool:
        return not (self.q or self.college_id or self.graduation_year or self.class_id or self.city or self.employer)

    @property
    def kind(self) -> str:
        """The lookup's main criterion, as counted in the statistics."""
        if self.q:
            return LookupStat.Kind.PINYIN if looks_like_pinyin(self.q) else LookupStat.Kind.NAME
        if self.class_id:
            return LookupStat.Kind.CLASS
        if self.college_id:
            return LookupStat.Kind.COLLEGE
        if self.graduation_year:
            return LookupStat.Kind.YEAR
        if self.city:
            return LookupStat.Kind.CITY
        return LookupStat.Kind.EMPLOYER


@dataclass
class Degree:
    degree_level: str
    degree_label: str
    college: str
    major: str
    school_class: str
    enrollment_year: int | None
    graduation_year: int | None


@dataclass
class DirectoryEntry:
    """One person as a viewer may see them: a hidden group is None (an empty visible one is "" or [])."""

    id: int
    name: str
    degrees: list[Degree]
    relation: str  # "self", "classmate", "chaptermate" or "alumnus"
    visible: frozenset[str]
    city: str | None = None
    employer: str | None = None
    title: str | None = None
    contacts: list[dict] | None = None


def result_bucket(results: int, page: int, has_next: bool) -> str:
    """The size class of a lookup's results, as counted in the statistics."""
    if page == 1 and not has_next:
        if results <= 1:
            return LookupStat.Bucket.NONE if results == 0 else LookupStat.Bucket.ONE
        return LookupStat.Bucket.PAGE
    return LookupStat.Bucket.MORE


@dataclass
class DirectoryPage:
    entries: list[DirectoryEntry]
    page: int
    has_next: bool
    counted: bool = False  # the lookup was counted in the statistics by the statement that read it
    has_previous: bool = field(init=False)

    def __post_init__(self) -> None:
        self.has_previous = self.page > 1

    @property
    def bucket(self) -> str:
        return result_bucket(len(self.entries), self.page, self.has_next)


# --- the directory's SQL ------------------------------------------------------------------------
# Lookups run for every keystroke-sized search of every alumnus, so the statement is written out
# from fixed fragments (the ORM cost more Python time than the query took to run); every value is
# a parameter. Names are compared in byte order (COLLATE "C" on PostgreSQL, SQLite's default), the
# order of the directory's partial indexes, so one index range serves both the match and the order.
_LISTED = "p.show_in_directory AND NOT p.is_deceased"


def _c() -> str:
    return ' COLLATE "C"' if connection.vendor == "postgresql" else ""


def _prefix(column: str, prefix: str, params: list) -> str:
    """``column`` starts with ``prefix``, as an index range."""
    params += [prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)]
    return f"{column}{_c()} >= %s AND {column}{_c()} < %s"


def _visible_sql(group: str, viewer_id: int, params: list) -> str:
    """SQL: the viewer may see ``group`` of the person ``p`` (the rule of ``_LEVELS_FOR``, for filters)."""
    column = f"p.{GROUP_FIELDS[group]}"
    verified = sorted(_LEVELS_FOR["verified"])
    classmate = sorted(_LEVELS_FOR["classmate"] - _LEVELS_FOR["verified"])
    chaptermate = sorted(_LEVELS_FOR["chaptermate"] - _LEVELS_FOR["verified"])
    today = timezone.localdate()
    params += [*verified, *classmate, viewer_id, *chaptermate, today, viewer_id, today, viewer_id]
    return (
        f"({column} IN ({_placeholders(verified)})"  # noqa: S608 - column names and placeholders only
        f" OR ({column} IN ({_placeholders(classmate)}) AND EXISTS (SELECT 1 FROM alumni_enrollment ce"
        f" WHERE ce.person_id = p.id AND ce.school_class_id IN ({_MY_CLASSES})))"
        f" OR ({column} IN ({_placeholders(chaptermate)}) AND EXISTS (SELECT 1 FROM chapters_chaptermembership cm"
        " WHERE cm.person_id = p.id AND (cm.left_on IS NULL OR cm.left_on > %s)"
        f" AND cm.chapter_id IN ({_MY_CHAPTERS})))"
        " OR p.id = %s)"
    )


def _filters_sql(viewer: Person, query: DirectoryQuery, params: list) -> list[str]:
    """The conditions other than the name: degree (one enrolment matching all), city, employer."""
    where = [_LISTED]
    degree = [
        (column, value)
        for column, value in (
            ("school_class_id", query.class_id),
            ("college_id", query.college_id),
            ("graduation_year", query.graduation_year),
        )
        if value
    ]
    if degree:
        where.append(
            "p.id IN (SELECT e.person_id FROM alumni_enrollment e WHERE "  # noqa: S608 - fixed column names
            + " AND ".join(f"e.{column} = %s" for column, _value in degree)
            + ")"
        )
        params += [value for _column, value in degree]
    if query.city:
        where.append("p.city = %s")
        params.append(clean_text(query.city))
        where.append(_visible_sql("location", viewer.pk, params))
    if query.employer:
        where.append(
            "p.id IN (SELECT j.person_id FROM alumni_employment j WHERE j.end_date IS NULL AND "  # noqa: S608
            + _prefix("j.organisation", clean_text(query.employer), params)
            + ")"
        )
        where.append(_visible_sql("employment", viewer.pk, params))
    return where


_SELECT = (
    "SELECT p.id, p.name, p.city, p.privacy_contacts, p.privacy_employment, p.privacy_location FROM alumni_person p"
)


def directory_search(viewer: Person, query: DirectoryQuery, *, count_lookup: bool = False) -> DirectoryPage:
    """A page (≤ PAGE_SIZE) of directory people matching ``query``, with only what ``viewer`` may see.

    ``count_lookup``: a first page's lookup is counted in the statistics by the statement that
    reads the page's details, where it can be (PostgreSQL, some results); ``page.counted`` says so,
    and ``services.directory_lookup`` counts the others.

    Name searches are in name order, pinyin searches in pinyin order, filter-only searches in
    name order too except a whole college year (thousands of people), which is listed in record
    order so that no sort is needed. Never runs a COUNT(*): one row more than the page tells whether a
    next page exists.
    """
    if query.is_empty:
        return DirectoryPage(entries=[], page=1, has_next=False)
    page = max(1, min(query.page, MAX_PAGE))
    offset = (page - 1) * PAGE_SIZE
    needed = offset + PAGE_SIZE + 1
    params: list = []
    where = _filters_sql(viewer, query, params)
    order = f"p.name{_c()}, p.id"
    term = clean_text(query.q)
    if term and looks_like_pinyin(term):
        letters = term.replace(" ", "").lower()
        order = f"p.name_pinyin{_c()}, p.id"
        pinyin_params: list = []
        by_pinyin = _prefix("p.name_pinyin", letters, pinyin_params)
        if len(letters) <= MAX_INITIALS:
            # "zw" is both the start of a pinyin and a person's initials. An OR of the two would walk
            # the whole pinyin index; two index-ordered branches, each cut to the rows this page can
            # need, are merged instead.
            base = " AND ".join(where)
            where = [
                "p.id IN (SELECT id FROM (SELECT p.id FROM alumni_person p"  # noqa: S608 - fragments and placeholders
                f" WHERE {base} AND {by_pinyin} ORDER BY {order} LIMIT %s) by_pinyin"
                " UNION SELECT id FROM (SELECT p.id FROM alumni_person p"
                f" WHERE {base} AND p.name_initials = %s ORDER BY {order} LIMIT %s) by_initials)"
            ]
            params = [*params, *pinyin_params, needed, *params, letters, needed]
        else:
            where.append(by_pinyin)
            params += pinyin_params
    elif term:
        key = name_key(term)
        if not key:
            return DirectoryPage(entries=[], page=page, has_next=False)
        where.append(_prefix("p.name", key, params))
    elif (query.college_id or query.graduation_year) and not (query.class_id or query.city or query.employer):
        return _college_year_page(viewer, query, page, count_lookup)
    sql = f"{_SELECT} WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %s OFFSET %s"
    params += [PAGE_SIZE + 1, offset]
    rows = [dict(zip(_ROW_FIELDS, row, strict=True)) for row in _fetch(sql, params, no_jit=bool(query.employer))]
    return _page(viewer, rows, page, query.kind if count_lookup else None)


def _page(viewer: Person, rows: list[dict], page: int, count_kind: str | None) -> DirectoryPage:
    """The page of ``rows`` (one more than a page tells that a next one exists)."""
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    count = (count_kind, result_bucket(len(rows), page, has_next)) if count_kind and page == 1 else None
    entries = _entries(viewer, rows, count=count)
    counted = count is not None and bool(rows) and connection.vendor == "postgresql"
    return DirectoryPage(entries=entries, page=page, has_next=has_next, counted=counted)


def _fetch(sql: str, params: list, *, no_jit: bool = False) -> list[tuple]:
    if no_jit and connection.vendor == "postgresql":
        # A common employer's thousands of jobs push the estimate past jit_above_cost, and compiling
        # the plan then takes longer (60-130 ms at a million alumni) than running it.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute(sql, params)
            return cursor.fetchall()
    if connection.vendor == "postgresql":
        return prepared.fetch_shape(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _college_year_page(viewer: Person, query: DirectoryQuery, page: int, count_lookup: bool) -> DirectoryPage:
    """A whole college's year (thousands of people) in record order: the (college, year, person)
    index is walked in person order and stops after a page of listed people, with no sort."""
    conditions, params = [], []
    for column, value in (("college_id", query.college_id), ("graduation_year", query.graduation_year)):
        if value:
            conditions.append(f"e.{column} = %s")
            params.append(value)
    sql = (
        "SELECT p.id, p.name, p.city, p.privacy_contacts, p.privacy_employment, p.privacy_location"  # noqa: S608
        " FROM alumni_enrollment e JOIN alumni_person p ON p.id = e.person_id"
        f" WHERE {' AND '.join(conditions)} AND {_LISTED}"
        " GROUP BY p.id ORDER BY p.id LIMIT %s OFFSET %s"
    )
    params += [PAGE_SIZE + 1, (page - 1) * PAGE_SIZE]
    rows = [dict(zip(_ROW_FIELDS, row, strict=True)) for row in _fetch(sql, params)]
    return _page(viewer, rows, page, query.kind if count_lookup else None)


def directory_entry(viewer: Person, person_id: int) -> DirectoryEntry | None:
    """One directory person as ``viewer`` may see them; None if not listed (or the viewer themself)."""
    rows = list(directory_people().filter(pk=person_id).values(*_ROW_FIELDS))
    entries = _entries(viewer, rows)
    return entries[0] if entries else None


_ROW_FIELDS = ("id", "name", "city", "privacy_contacts", "privacy_employment", "privacy_location")


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


# The viewer's classes, and their active chapters (active membership of an active chapter).
_MY_CLASSES = (
    "SELECT mine.school_class_id FROM alumni_enrollment mine"
    " WHERE mine.person_id = %s AND mine.school_class_id IS NOT NULL"
)
_MY_CHAPTERS = (
    "SELECT mine.chapter_id FROM chapters_chaptermembership mine"
    " JOIN chapters_chapter chapter ON chapter.id = mine.chapter_id"
    " WHERE mine.person_id = %s AND (mine.left_on IS NULL OR mine.left_on > %s) AND chapter.is_active"
)


_RELATIONS = (
    "SELECT e.person_id, 'classmate' FROM alumni_enrollment e WHERE e.person_id = ANY($1)"
    " AND e.school_class_id IN (SELECT mine.school_class_id FROM alumni_enrollment mine"
    " WHERE mine.person_id = $2 AND mine.school_class_id IS NOT NULL)"
    " UNION ALL"
    " SELECT m.person_id, 'chaptermate' FROM chapters_chaptermembership m WHERE m.person_id = ANY($1)"
    " AND (m.left_on IS NULL OR m.left_on > $3) AND m.chapter_id IN (SELECT mine.chapter_id"
    " FROM chapters_chaptermembership mine JOIN chapters_chapter chapter ON chapter.id = mine.chapter_id"
    " WHERE mine.person_id = $2 AND (mine.left_on IS NULL OR mine.left_on > $3) AND chapter.is_active)"
)


def relations_of(viewer_id: int, person_ids: list[int]) -> dict[int, set[str]]:
    """person id -> {"classmate", "chaptermate"} relations to the viewer, for a page of people.

    One small prepared query over the (class, person) and (person, chapter) indexes of just these
    people: an EXISTS per result row let PostgreSQL hash every member of the viewer's chapters.
    """
    found: dict[int, set[str]] = {pk: set() for pk in person_ids}
    if not person_ids:
        return found
    rows = prepared.fetch(
        "portal_relations", "bigint[], bigint, date", _RELATIONS, [person_ids, viewer_id, timezone.localdate()]
    )
    for person_id, relation in rows:
        found[person_id].add(relation)
    return found


def _relation_label(rels: frozenset[str]) -> str:
    for name in ("self", "classmate", "chaptermate"):
        if name in rels:
            return name
    return "alumnus"


def _entries(viewer: Person, rows: list[dict], count: tuple[str, str] | None = None) -> list[DirectoryEntry]:
    """A page of rows with their degrees and the groups the viewer may see; hidden values are never read.

    One statement reads the relations, the degrees and the visible jobs and contacts (the SQL
    form of the visibility rule picks them; the Python form then attaches only what it allows
    too) and, on PostgreSQL, counts the lookup (``count``: kind and bucket).
    """
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    today = timezone.localdate()
    kind, bucket = count or (None, None)
    details = prepared.fetch(
        "portal_page",
        _PAGE_TYPES,
        _PAGE_COUNTED if connection.vendor == "postgresql" else _PAGE,
        [
            ids,
            viewer.pk,
            today,
            list(SHOWN_CONTACT_KINDS),
            list(SHOWN_CONTACT_STATUSES),
            sorted(_LEVELS_FOR["verified"]),
            sorted(_LEVELS_FOR["classmate"]),
            sorted(_LEVELS_FOR["chaptermate"]),
            kind,
            bucket,
        ],
    )
    related: dict[int, set[str]] = {}
    for row in details:
        if row[0] == "relation":
            related.setdefault(row[1], set()).add(row[2])
    entries = []
    for row in rows:
        mine = related.get(row["id"], set())
        rels = relations(
            is_self=row["id"] == viewer.pk, is_classmate="classmate" in mine, is_chaptermate="chaptermate" in mine
        )
        levels = {g: row[GROUP_FIELDS[g]] for g in GROUPS}
        visible = visible_groups(levels, rels)
        entry = DirectoryEntry(
            id=row["id"], name=row["name"], degrees=[], relation=_relation_label(rels), visible=visible
        )
        if "location" in visible:
            entry.city = row["city"]
        if "employment" in visible:
            entry.employer, entry.title = "", ""
        if "contacts" in visible:
            entry.contacts = []
        entries.append(entry)
    _attach_details({e.id: e for e in entries}, details)
    return entries


def _seen_sql(column: str) -> str:
    """SQL: the viewer ($2) may see the group stored in ``column`` of person ``p`` (``_LEVELS_FOR``,
    with $6, $7, $8 the levels open to every verified alumnus, to classmates, to chapter-mates)."""
    related = "EXISTS (SELECT 1 FROM rel WHERE rel.person_id = p.id AND rel.relation = '{}')"
    return (
        f"(p.id = $2 OR p.{column} = ANY($6)"
        f" OR (p.{column} = ANY($7) AND {related.format('classmate')})"
        f" OR (p.{column} = ANY($8) AND {related.format('chaptermate')}))"
    )


# $1 the page's people, $2 the viewer, $3 today, $4/$5 contact kinds and statuses shown, $6-$8 the
# levels of the visibility rule, $9/$10 the lookup's kind and bucket (NULL: not counted).
_PAGE_TYPES = "bigint[], bigint, date, text[], text[], text[], text[], text[], text, text"
_PAGE_PARTS = (
    "rel AS ("  # noqa: S608 - fixed fragments and $n parameters only
    "SELECT e.person_id, 'classmate' AS relation FROM alumni_enrollment e WHERE e.person_id = ANY($1)"
    " AND e.person_id <> $2 AND e.school_class_id IN (SELECT mine.school_class_id FROM alumni_enrollment mine"
    " WHERE mine.person_id = $2 AND mine.school_class_id IS NOT NULL)"
    " UNION"
    " SELECT m.person_id, 'chaptermate' FROM chapters_chaptermembership m WHERE m.person_id = ANY($1)"
    " AND m.person_id <> $2 AND (m.left_on IS NULL OR m.left_on > $3) AND m.chapter_id IN (SELECT mine.chapter_id"
    " FROM chapters_chaptermembership mine JOIN chapters_chapter chapter ON chapter.id = mine.chapter_id"
    " WHERE mine.person_id = $2 AND (mine.left_on IS NULL OR mine.left_on > $3) AND chapter.is_active)),"
    f" seen AS (SELECT p.id, {_seen_sql('privacy_contacts')} AS contacts,"
    f" {_seen_sql('privacy_employment')} AS employment FROM alumni_person p WHERE p.id = ANY($1))"
    " SELECT 'relation', r.person_id, r.relation, '', '', '', CAST(NULL AS integer), CAST(NULL AS integer),"
    " CAST(NULL AS date), CAST(0 AS bigint) FROM rel r"
    " UNION ALL"
    " SELECT 'degree', e.person_id, e.degree_level, c.name, COALESCE(m.name, ''), COALESCE(s.name, ''),"
    " e.enrollment_year, e.graduation_year, NULL, e.id"
    " FROM alumni_enrollment e JOIN alumni_college c ON c.id = e.college_id"
    " LEFT JOIN alumni_major m ON m.id = e.major_id LEFT JOIN alumni_schoolclass s ON s.id = e.school_class_id"
    " WHERE e.person_id = ANY($1)"
    " UNION ALL"
    " SELECT 'job', j.person_id, j.organisation, j.title, '', '', NULL, NULL, j.start_date, j.id"
    " FROM alumni_employment j JOIN seen ON seen.id = j.person_id AND seen.employment"
    " WHERE j.person_id = ANY($1) AND j.end_date IS NULL"
    " UNION ALL"
    " SELECT 'contact', k.person_id, k.kind, k.value, k.status, '', NULL, NULL, NULL, k.id"
    " FROM alumni_contactchannel k JOIN seen ON seen.id = k.person_id AND seen.contacts"
    " WHERE k.person_id = ANY($1) AND k.kind = ANY($4) AND k.status = ANY($5)"
)
_PAGE = "WITH " + _PAGE_PARTS
_PAGE_COUNTED = f"WITH counted AS ({prepared.COUNT_LOOKUP.format(day='$3', kind='$9', bucket='$10')}), {_PAGE_PARTS}"


def _attach_details(by_id: dict[int, DirectoryEntry], rows: list[tuple]) -> None:
    """Degrees of everyone; the current job and contacts only where the entry shows that group."""
    labels = degree_labels()
    degrees = sorted((r for r in rows if r[0] == "degree"), key=lambda r: (r[6] is None, r[6] or 0, r[9]))
    for _part, person_id, level, college, major, school_class, start, end, _date, _id in degrees:
        by_id[person_id].degrees.append(
            Degree(
                degree_level=level,
                degree_label=labels.get(level, level),
                college=college,
                major=major,
                school_class=school_class,
                enrollment_year=start,
                graduation_year=end,
            )
        )
    # The current job is the one that started last (undated ones count as oldest).
    jobs = sorted(
        (r for r in rows if r[0] == "job"), key=lambda r: (r[8] is not None, r[8] or date.min, r[9]), reverse=True
    )
    seen: set[int] = set()
    for row in jobs:
        entry = by_id[row[1]]
        if row[1] not in seen and "employment" in entry.visible:
            seen.add(row[1])
            entry.employer, entry.title = row[2], row[3]
    contacts = sorted((r for r in rows if r[0] == "contact"), key=lambda r: (r[2], r[4] != "verified", r[9]))
    for row in contacts:
        entry = by_id[row[1]]
        if "contacts" in entry.visible:
            entry.contacts.append({"kind": row[2], "value": row[3], "verified": row[4] == "verified"})


def degree_labels() -> dict[str, str]:
    """Degree level -> its label in the active language (translated once per language, not per row)."""
    return _degree_labels_in(translation.get_language() or settings.LANGUAGE_CODE)


@functools.cache
def _degree_labels_in(language: str) -> dict[str, str]:
    with translation.override(language):
        return {value: str(label) for value, label in Enrollment.DegreeLevel.choices}


def _degrees(person_ids: list[int]):
    labels = degree_labels()
    for row in (
        Enrollment.objects.filter(person_id__in=person_ids)
        .order_by("person_id", "enrollment_year", "id")
        .values_list(
            "person_id",
            "degree_level",
            "college__name",
            "major__name",
            "school_class__name",
            "enrollment_year",
            "graduation_year",
        )
    ):
        yield (
            row[0],
            Degree(
                degree_level=row[1],
                degree_label=labels.get(row[1], row[1]),
                college=row[2] or "",
                major=row[3] or "",
                school_class=row[4] or "",
                enrollment_year=row[5],
                graduation_year=row[6],
            ),
        )


def person_degrees(person_id: int) -> list[Degree]:
    """The degrees of one person, oldest first (shown to every verified alumnus for listed people)."""
    return [degree for _id, degree in _degrees([person_id])]


# --- my own record ---------------------------------------------------------------------------
def my_profile(person: Person) -> dict:
    """Everything the profile page shows a person about themself."""
    today = timezone.localdate()
    contacts = list(person.contacts.exclude(status=ContactChannel.Status.OBSOLETE).order_by("kind", "id"))
    employments = list(person.employments.order_by("-start_date", "-id"))
    addresses = [contact for contact in contacts if contact.kind == ContactChannel.Kind.ADDRESS]
    return {
        "person": person,
        "degrees": my_profile_degrees(person),
        "contacts": contacts,
        "employments": employments,
        "honours": list(person.honours.order_by("-year", "id")),
        "chapters": list(
            ChapterMembership.objects.filter(person=person)
            .select_related("chapter")
            .order_by("chapter__name")
            .annotate(active=Q(left_on__isnull=True) | Q(left_on__gt=today))
        ),
        # From the lists above: the first open job in (-start_date, -id) order, the newest address.
        "current_job": next((job for job in employments if job.end_date is None), None),
        "address": max(addresses, key=lambda contact: contact.pk, default=None),
    }


def my_profile_degrees(person: Person) -> list[Enrollment]:
    """My degrees with their college, major and class, oldest first."""
    return list(person.enrollments.select_related("college", "major", "school_class").order_by("enrollment_year", "id"))


def my_data(person: Person) -> dict:
    """Everything stored about ``person`` (PIPL Art. 45 copy), as plain JSON-ready values."""

    def rows(queryset, fields):
        return [dict(zip(fields, values, strict=True)) for values in queryset.values_list(*fields)]

    def plain(value):
        if isinstance(value, date):
            return value.isoformat()
        return value

    def clean(items):
        return [{k: plain(v) for k, v in item.items()} for item in items]

    person_fields = [
        "name",
        "former_names",
        "name_pinyin",
        "gender",
        "birth_date",
        "hometown_province",
        "hometown_city",
        "country",
        "province",
        "city",
        "is_deceased",
        "privacy_contacts",
        "privacy_employment",
        "privacy_location",
        "show_in_directory",
        "created_at",
        "updated_at",
    ]
    record = {name: plain(getattr(person, name)) for name in person_fields}
    # The full number is not repeated in a file that may be mailed around; the office holds it.
    record["id_number"] = person.id_number_masked
    record["photo"] = bool(person.photo)
    return {
        "person": record,
        "enrollments": clean(
            rows(
                person.enrollments.order_by("enrollment_year", "id"),
                [
                    "student_id",
                    "degree_level",
                    "college__name",
                    "major__name",
                    "school_class__name",
                    "enrollment_year",
                    "graduation_year",
                    "status",
                ],
            )
        ),
        "contacts": clean(
            rows(person.contacts.order_by("kind", "id"), ["kind", "value", "status", "verified_at", "source"])
        ),
        "employments": clean(
            rows(
                person.employments.order_by("-start_date", "-id"),
                ["organisation", "title", "city", "start_date", "end_date"],
            )
        ),
        "honours": clean(rows(person.honours.order_by("-year", "id"), ["kind", "title", "year", "source"])),
        "chapters": clean(
            rows(
                ChapterMembership.objects.filter(person=person).order_by("chapter__name"),
                ["chapter__name", "role", "joined_on", "left_on"],
            )
        ),
        "tags": list(person.tags.order_by("name").values_list("name", flat=True)),
        "staff_notes": clean(rows(person.notes.order_by("created_at"), ["created_at", "text"])),
        "rights_requests": clean(
            rows(
                DataRightsRequest.objects.filter(person=person).order_by("created_at"),
                ["created_at", "kind", "fields", "message", "status", "response"],
            )
        ),
        "processing_log": clean(
            rows(
                AuditEvent.objects.filter(target_type="alumni.person", target_id=str(person.pk)).order_by(
                    "created_at", "id"
                ),
                ["created_at", "action", "reason"],
            )
        ),
    }


def my_rights_requests(person: Person) -> QuerySet[DataRightsRequest]:
    return DataRightsRequest.objects.filter(person=person).order_by("-created_at", "-id")


def my_contact(person: Person, contact_id: int) -> ContactChannel | None:
    return person.contacts.filter(pk=contact_id).first()


# --- relayed messages ------------------------------------------------------------------------
def my_conversations(person: Person) -> QuerySet[Conversation]:
    """Conversations ``person`` takes part in; a recipient does not see one whose messages were all withheld."""
    delivered = RelayMessage.objects.filter(conversation=OuterRef("pk"), status=RelayMessage.Status.SENT)
    return (
        Conversation.objects.filter(Q(starter=person) | Q(Q(recipient=person) & Exists(delivered)))
        .select_related("starter", "recipient")
        .annotate(
            unread=Exists(
                RelayMessage.objects.filter(
                    conversation=OuterRef("pk"), status=RelayMessage.Status.SENT, read_at__isnull=True
                ).exclude(author=person)
            )
        )
        .order_by("-last_message_at", "-id")
    )


def my_conversation(person: Person, conversation_id: int) -> Conversation | None:
    return my_conversations(person).filter(pk=conversation_id).first()


def conversation_messages(person: Person, conversation: Conversation) -> QuerySet[RelayMessage]:
    """The messages ``person`` may read: all of their own, and the others' that were delivered."""
    return conversation.messages.filter(Q(author=person) | Q(status=RelayMessage.Status.SENT)).order_by(
        "created_at", "id"
    )


def unread_count(person: Person) -> int:
    return (
        RelayMessage.objects.filter(
            conversation__in=Conversation.objects.filter(Q(starter=person) | Q(recipient=person)).values("pk"),
            status=RelayMessage.Status.SENT,
            read_at__isnull=True,
        )
        .exclude(author=person)
        .count()
    )


def is_blocked(*, blocker: Person, blocked: Person) -> bool:
    return RelayBlock.objects.filter(blocker=blocker, blocked=blocked).exists()


def my_blocks(person: Person) -> QuerySet[RelayBlock]:
    return RelayBlock.objects.filter(blocker=person).select_related("blocked").order_by("-created_at")


# --- lookup statistics ---------------------------------------------------------------------
def lookup_stats(*, since: date, until: date) -> list[dict]:
    """Lookups per kind and result bucket between two days (inclusive), for the office's report."""
    return list(
        LookupStat.objects.filter(day__gte=since, day__lte=until)
        .values("kind", "bucket")
        .annotate(total=Sum("count"))
        .order_by("kind", "bucket")
    )
