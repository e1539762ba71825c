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

The relation (classmate, chapter-mate) is computed in SQL for a page of results; the visibility
rule is applied by ``visible_groups`` (Python, for rows) and ``group_visible_q`` (SQL, for filters),
both built from ``_LEVELS_FOR``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Collate
from django.utils import timezone

from apps.alumni.models import ContactChannel, Employment, Enrollment, Honour, Person, Visibility
from apps.chapters.models import ChapterMembership
from apps.core.models import AuditEvent
from apps.core.names import clean_text, looks_like_pinyin, name_key

from .models import Conversation, DataRightsRequest, LookupStat, RelayBlock, RelayMessage

PAGE_SIZE = 20
MAX_PAGE = 25  # 500 results: narrow the search rather than page through the directory

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
    person = Person.objects.filter(user=user, is_deceased=False).first()
    setattr(user, _PERSON_ATTR, person)
    return person


def forget_viewer(user) -> None:
    if hasattr(user, _PERSON_ATTR):
        delattr(user, _PERSON_ATTR)


# --- relations and visibility ------------------------------------------------------------------
def _active_membership(prefix: str = "") -> Q:
    today = timezone.localdate()
    return (Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__gt": today})) & Q(
        **{f"{prefix}chapter__is_active": True}
    )


def classmate_exists(viewer_id: int) -> Exists:
    """SQL: the outer person shares a class with the viewer."""
    my_classes = Enrollment.objects.filter(person_id=viewer_id, school_class__isnull=False).values("school_class_id")
    return Exists(Enrollment.objects.filter(person=OuterRef("pk"), school_class_id__in=my_classes))


def chaptermate_exists(viewer_id: int) -> Exists:
    """SQL: the outer person and the viewer are both active members of one active chapter."""
    my_chapters = ChapterMembership.objects.filter(_active_membership(), person_id=viewer_id).values("chapter_id")
    return Exists(
        ChapterMembership.objects.filter(_active_membership(), person=OuterRef("pk"), chapter_id__in=my_chapters)
    )


def group_visible_q(group: str, viewer_id: int) -> Q:
    """SQL condition: the viewer may see ``group`` of the person (for filters on hidden fields)."""
    column = GROUP_FIELDS[group]
    return (
        Q(**{column: Visibility.VERIFIED_ALUMNI})
        | Q(Q(**{f"{column}__in": [Visibility.CHAPTERS]}) & chaptermate_exists(viewer_id))
        | Q(Q(**{f"{column}__in": [Visibility.CLASSMATES, Visibility.CHAPTERS]}) & classmate_exists(viewer_id))
        | Q(pk=viewer_id)
    )


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
        flags = (
            Person.objects.filter(pk=target.pk)
            .annotate(c=classmate_exists(viewer.pk), h=chaptermate_exists(viewer.pk))
            .values_list("c", "h")
            .first()
        )
        rels = relations(is_self=False, is_classmate=bool(flags and flags[0]), is_chaptermate=bool(flags and flags[1]))
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


@dataclass
class DirectoryPage:
    entries: list[DirectoryEntry]
    page: int
    has_next: bool
    has_previous: bool = field(init=False)

    def __post_init__(self) -> None:
        self.has_previous = self.page > 1

    @property
    def bucket(self) -> str:
        n = len(self.entries)
        if self.page == 1 and not self.has_next:
            return LookupStat.Bucket.NONE if n == 0 else LookupStat.Bucket.ONE if n == 1 else LookupStat.Bucket.PAGE
        return LookupStat.Bucket.MORE


def _byte_order(expression: str) -> Collate:
    """``expression`` in byte (code point) order, which the directory indexes are built in."""
    return Collate(expression, "C" if connection.vendor == "postgresql" else "BINARY")


def _prefix_range(column: str, prefix: str) -> dict:
    """A prefix match as a range, so the byte-ordered index serves both the match and the order."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return {f"{column}__gte": prefix, f"{column}__lt": upper}


def _enrollment_ids(query: DirectoryQuery) -> QuerySet | None:
    filters = {}
    if query.class_id:
        filters["school_class_id"] = query.class_id
    if query.college_id:
        filters["college_id"] = query.college_id
    if query.graduation_year:
        filters["graduation_year"] = query.graduation_year
    if not filters:
        return None
    # One degree must match all of them (the college and the year of the same enrolment).
    return Enrollment.objects.filter(**filters).order_by().values("person_id")


def directory_search(viewer: Person, query: DirectoryQuery) -> DirectoryPage:
    """A page (≤ PAGE_SIZE) of directory people matching ``query``, with only what ``viewer`` may see.

    Never counts: one more row than the page tells whether a next page exists.
    """
    if query.is_empty:
        return DirectoryPage(entries=[], page=1, has_next=False)
    page = max(1, min(query.page, MAX_PAGE))
    people = directory_people()
    order = "name_c"
    people = people.alias(name_c=_byte_order("name"))
    term = clean_text(query.q)
    if term:
        if looks_like_pinyin(term):
            letters = term.replace(" ", "").lower()
            people = people.alias(pinyin_c=_byte_order("name_pinyin")).filter(
                Q(**_prefix_range("pinyin_c", letters)) | Q(name_initials=letters)
            )
            order = "pinyin_c"
        else:
            key = name_key(term)
            people = people.filter(**_prefix_range("name_c", key)) if key else people.none()
    enrollment_ids = _enrollment_ids(query)
    if enrollment_ids is not None:
        people = people.filter(pk__in=enrollment_ids)
    if query.city:
        people = people.filter(Q(city=clean_text(query.city)) & group_visible_q("location", viewer.pk))
    if query.employer:
        employer = clean_text(query.employer)
        jobs = (
            Employment.objects.alias(org_c=_byte_order("organisation"))
            .filter(end_date__isnull=True, **_prefix_range("org_c", employer))
            .order_by()
            .values("person_id")
        )
        people = people.filter(Q(pk__in=jobs) & group_visible_q("employment", viewer.pk))
    offset = (page - 1) * PAGE_SIZE
    rows = list(
        people.annotate(is_classmate=classmate_exists(viewer.pk), is_chaptermate=chaptermate_exists(viewer.pk))
        .order_by(order, "id")
        .values(
            "id",
            "name",
            "city",
            "privacy_contacts",
            "privacy_employment",
            "privacy_location",
            "is_classmate",
            "is_chaptermate",
        )[offset : offset + PAGE_SIZE + 1]
    )
    has_next = len(rows) > PAGE_SIZE
    return DirectoryPage(entries=_entries(viewer, rows[:PAGE_SIZE]), page=page, has_next=has_next)


def directory_entry(viewer: Person, person_id: int) -> DirectoryEntry | None:
    """One directory person as ``viewer`` may see them; None if not listed (or the viewer themself)."""
    rows = list(
        directory_people()
        .filter(pk=person_id)
        .annotate(is_classmate=classmate_exists(viewer.pk), is_chaptermate=chaptermate_exists(viewer.pk))
        .values(
            "id",
            "name",
            "city",
            "privacy_contacts",
            "privacy_employment",
            "privacy_location",
            "is_classmate",
            "is_chaptermate",
        )
    )
    entries = _entries(viewer, rows)
    return entries[0] if entries else None


def _relation_label(rels: frozenset[str]) -> str:
    for name in ("self", "classmate", "chaptermate"):
        if name in rels:
            return name
    return "alumnus"


def _entries(viewer: Person, rows: list[dict]) -> list[DirectoryEntry]:
    """Attach degrees and the visible groups to a page of rows; hidden values are never read."""
    if not rows:
        return []
    entries = []
    for row in rows:
        rels = relations(
            is_self=row["id"] == viewer.pk, is_classmate=row["is_classmate"], is_chaptermate=row["is_chaptermate"]
        )
        levels = {g: row[GROUP_FIELDS[g]] for g in GROUPS}
        visible = visible_groups(levels, rels)
        entry = DirectoryEntry(
            id=row["id"], name=row["name"], degrees=[], relation=_relation_label(rels), visible=visible
        )
        if "location" in visible:
            entry.city = row["city"]
        entries.append(entry)
    by_id = {e.id: e for e in entries}
    for person_id, degree in _degrees(list(by_id)):
        by_id[person_id].degrees.append(degree)
    employment_ids = [e.id for e in entries if "employment" in e.visible]
    if employment_ids:
        for person_id, (organisation, title) in current_jobs(employment_ids).items():
            by_id[person_id].employer, by_id[person_id].title = organisation, title
        for entry_id in employment_ids:
            if by_id[entry_id].employer is None:
                by_id[entry_id].employer, by_id[entry_id].title = "", ""
    contact_ids = [e.id for e in entries if "contacts" in e.visible]
    if contact_ids:
        for entry_id in contact_ids:
            by_id[entry_id].contacts = []
        for person_id, kind, value, status in (
            ContactChannel.objects.filter(
                person_id__in=contact_ids, kind__in=SHOWN_CONTACT_KINDS, status__in=SHOWN_CONTACT_STATUSES
            )
            .order_by("person_id", "kind", "-verified_at", "id")
            .values_list("person_id", "kind", "value", "status")
        ):
            by_id[person_id].contacts.append({"kind": kind, "value": value, "verified": status == "verified"})
    return entries


def _degrees(person_ids: list[int]):
    labels = dict(Enrollment.DegreeLevel.choices)
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
                degree_label=str(labels.get(row[1], row[1])),
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


def current_jobs(person_ids: list[int]) -> dict[int, tuple[str, str]]:
    """person id -> (organisation, title) of their current job (no end date; latest start first)."""
    jobs: dict[int, tuple[str, str]] = {}
    for person_id, organisation, title in (
        Employment.objects.filter(person_id__in=person_ids, end_date__isnull=True)
        .order_by("person_id", "-start_date", "-id")
        .values_list("person_id", "organisation", "title")
    ):
        jobs.setdefault(person_id, (organisation, title))
    return jobs


# --- my own record ---------------------------------------------------------------------------
def my_profile(person: Person) -> dict:
    """Everything the profile page shows a person about themself."""
    today = timezone.localdate()
    return {
        "person": person,
        "degrees": list(
            person.enrollments.select_related("college", "major", "school_class").order_by("enrollment_year", "id")
        ),
        "contacts": list(person.contacts.exclude(status=ContactChannel.Status.OBSOLETE).order_by("kind", "id")),
        "employments": list(person.employments.order_by("-start_date", "-id")),
        "honours": list(person.honours.order_by("-year", "id")),
        "chapters": list(
            ChapterMembership.objects.filter(person=person)
            .select_related("chapter")
            .order_by("chapter__name")
            .annotate(active=Q(left_on__isnull=True) | Q(left_on__gt=today))
        ),
        "current_job": person.employments.filter(end_date__isnull=True).order_by("-start_date", "-id").first(),
        "address": person.contacts.filter(kind=ContactChannel.Kind.ADDRESS)
        .exclude(status=ContactChannel.Status.OBSOLETE)
        .order_by("-id")
        .first(),
    }


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


def my_honours(person: Person) -> QuerySet[Honour]:
    return person.honours.order_by("-year", "id")


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
