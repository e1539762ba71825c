"""SQLite (development) fallback: the same classification as postgres.py, in Python, with bulk ORM writes.

Staged rows are held in memory (SQLite is for development-sized files); lookups run in batches
against the database as it was before the job, exactly like the set-based SQL, so both backends
classify every row the same way. The writes use ``bulk_create``/``bulk_update`` in batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import islice
from typing import Any

from django.utils import timezone

from apps.alumni.models import College, ContactChannel, Employment, Enrollment, Major, Person, SchoolClass, StaffNote
from apps.core.crypto import decrypt
from apps.core.models import AuditEvent

from . import matching as m
from .rows import CONTACT_KINDS, IX

BATCH = 500
_PERSON_FIELDS = (
    "name",
    "former_names",
    "gender",
    "birth_date",
    "id_number",
    "hometown_province",
    "hometown_city",
    "city",
    "province",
    "country",
)
_ENROLLMENT_FIELDS = (
    ("degree_level", "degree_level"),
    ("college", "college_id"),
    ("major", "major_id"),
    ("school_class", "school_class_id"),
    ("enrollment_year", "enrollment_year"),
    ("graduation_year", "graduation_year"),
    ("status", "status"),
)


def _batches(items: list, size: int = BATCH) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _clear(ciphertext: str) -> str:
    """The staged ID number in clear again: the model field encrypts it on save."""
    return decrypt(ciphertext) if ciphertext else ""


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class _Row:
    """Classification state of one staged row."""

    __slots__ = ("changes", "detail", "enrollment", "kind", "person_key", "reason", "values")

    def __init__(self, values: tuple) -> None:
        self.values = values
        self.kind = ""
        self.reason = ""
        self.detail: int | None = None
        self.person_key: int | None = None
        self.enrollment: dict | None = None
        self.changes: list[dict] = []

    def __getitem__(self, name: str) -> Any:
        return self.values[IX[name]]


class OrmBackend:
    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.ref_names: dict[int, str] = {}
        self.staged = 0
        self.timings: dict[str, float] = {}

    # --- staging ------------------------------------------------------------------------
    def begin(self) -> None:
        self.rows = []

    def stage(self, rows: Iterable[tuple]) -> int:
        self.rows = [_Row(values) for values in rows]
        self.staged = len(self.rows)
        return self.staged

    def resolve_placeholders(self, real: dict[int, int], names: dict[int, str]) -> None:
        self.ref_names.update(names)
        if not real:
            return
        major, klass = IX["major_id"], IX["school_class_id"]
        for row in self.rows:
            if (row.values[major] or 0) < 0 or (row.values[klass] or 0) < 0:
                values = list(row.values)
                values[major] = real.get(values[major], values[major])
                values[klass] = real.get(values[klass], values[klass])
                row.values = tuple(values)

    # --- classification -----------------------------------------------------------------
    def classify(self) -> None:
        rows = self.rows
        first_row: dict[str, int] = {}
        for row in rows:
            sid = row["student_id"]
            if sid in first_row:
                row.kind, row.reason, row.detail = m.ERROR, m.DUPLICATE, first_row[sid]
            else:
                first_row[sid] = row["row_no"]
        live = [row for row in rows if not row.kind]

        enrollments: dict[str, dict] = {}
        for batch in _batches([row["student_id"] for row in live]):
            for e in Enrollment.objects.filter(student_id__in=batch).values():
                enrollments[e["student_id"]] = e
        people = self._people({e["person_id"] for e in enrollments.values()})

        unmatched = [row for row in live if row["student_id"] not in enrollments]
        by_name: dict[str, list[dict]] = defaultdict(list)
        for batch in _batches(sorted({row["name"] for row in unmatched})):
            for p in Person.objects.filter(name__in=batch).values("id", "name", "birth_date"):
                by_name[p["name"]].append(p)
        colleges_of: dict[int, set[int]] = defaultdict(set)
        for batch in _batches(sorted({p["id"] for found in by_name.values() for p in found})):
            for person_id, college_id in Enrollment.objects.filter(person_id__in=batch).values_list(
                "person_id", "college_id"
            ):
                colleges_of[person_id].add(college_id)

        for row in live:
            e = enrollments.get(row["student_id"])
            birth = row["birth_date"]
            if e is not None:
                p = people[e["person_id"]]
                row.person_key, row.enrollment, row.detail = p["id"], e, p["id"]
                grad = row["graduation_year"] if row["graduation_year"] is not None else e["graduation_year"]
                enr = row["enrollment_year"] if row["enrollment_year"] is not None else e["enrollment_year"]
                if (
                    row["name"] != p["name"]
                    and birth is not None
                    and p["birth_date"] is not None
                    and birth != p["birth_date"]
                ):
                    row.kind, row.reason = m.FLAGGED, m.STUDENT_ID_CONFLICT
                elif grad is not None and enr is not None and grad < enr:
                    row.kind, row.reason = m.ERROR, m.YEARS_CONFLICT
                else:
                    row.kind = m.MATCHED
                continue
            same_name = by_name.get(row["name"], [])
            exact = [p for p in same_name if birth is not None and p["birth_date"] == birth]
            partial = [
                p
                for p in same_name
                if row["college_id"] in colleges_of[p["id"]] and (birth is None or p["birth_date"] is None)
            ]
            if len(exact) > 1:
                row.kind, row.reason, row.detail = m.FLAGGED, m.AMBIGUOUS, len(exact)
            elif not exact and partial:
                row.kind, row.reason, row.detail = m.FLAGGED, m.PARTIAL, min(p["id"] for p in partial)
            elif row["college_id"] is None:
                row.kind, row.reason = m.ERROR, m.COLLEGE_REQUIRED
            elif not row["degree_level"]:
                row.kind, row.reason = m.ERROR, m.DEGREE_REQUIRED
            elif exact:
                row.kind, row.person_key, row.detail = m.NEW_ENROLLMENT, exact[0]["id"], exact[0]["id"]
            else:
                row.kind = m.NEW_PERSON

        heads: dict[tuple, int] = {}
        for row in live:
            if row.kind == m.NEW_PERSON:
                if row["birth_date"] is None:
                    row.person_key = -row["row_no"]
                else:
                    head = heads.setdefault((row["name"], row["birth_date"]), row["row_no"])
                    row.person_key = -head

        naming = [row for row in live if row.kind in (m.MATCHED, m.NEW_ENROLLMENT, m.NEW_PERSON)]
        self.person_rows: dict[int, _Row] = {}
        for row in naming:
            self.person_rows[row.person_key] = row  # the last row naming a person wins
        existing_keys = {key for key in self.person_rows if key > 0}
        people.update(self._people(existing_keys - people.keys()))
        self.person_changes: dict[int, list[dict]] = {}
        for key in existing_keys:
            row = self.person_rows[key]
            self.person_changes[row["row_no"]] = self._person_diff(row, people[key])
        self.enrollment_changes = {
            row["row_no"]: self._enrollment_diff(row, row.enrollment) for row in naming if row.kind == m.MATCHED
        }
        self._contacts(naming)
        self._employment(naming)
        self._notes(naming)
        changed = (
            {r for r, changes in self.person_changes.items() if changes}
            | {r for r, changes in self.enrollment_changes.items() if changes}
            | {c["row_no"] for c in self.new_contacts}
            | {e["row_no"] for e in self.employment if e["action"] != "same"}
            | {n["row_no"] for n in self.new_notes}
        )
        for row in naming:
            if row.kind == m.MATCHED:
                row.kind = m.UPDATE if row["row_no"] in changed else m.UNCHANGED
        self.people = people

    def _people(self, ids: set[int]) -> dict[int, dict]:
        found = {}
        for batch in _batches(sorted(ids)):
            for p in Person.objects.filter(pk__in=batch).values(
                "id", "id_number_hash", *[f for f in _PERSON_FIELDS if f != "id_number"]
            ):
                found[p["id"]] = p
        return found

    def _person_diff(self, row: _Row, p: dict) -> list[dict]:
        changes = []
        for field in _PERSON_FIELDS:
            if field == "birth_date":
                if row["birth_date"] is not None and row["birth_date"] != p["birth_date"]:
                    changes.append({"field": field, "old": _iso(p["birth_date"]), "new": _iso(row["birth_date"])})
            elif field == "id_number":
                if row["id_number_hash"] and row["id_number_hash"] != p["id_number_hash"]:
                    old = "" if not p["id_number_hash"] else "********"
                    changes.append({"field": field, "old": old, "new": row["id_number_masked"]})
            elif row[field] and row[field] != p[field]:
                changes.append({"field": field, "old": p[field], "new": row[field]})
        return changes

    def _ref_name(self, model, pk: int | None) -> str:
        if pk is None:
            return ""
        if pk < 0:
            return self.ref_names.get(pk, "")
        cache = self.__dict__.setdefault("_names", {})
        key = (model, pk)
        if key not in cache:
            cache[key] = model.objects.filter(pk=pk).values_list("name", flat=True).first() or ""
        return cache[key]

    def _enrollment_diff(self, row: _Row, e: dict) -> list[dict]:
        changes = []
        for field, column in _ENROLLMENT_FIELDS:
            new, old = row[column], e[column]
            if new in (None, "") or new == old:
                continue
            if field == "college":
                old, new = self._ref_name(College, old), self._ref_name(College, new)
            elif field == "major":
                old, new = self._ref_name(Major, old), self._ref_name(Major, new)
            elif field == "school_class":
                old, new = self._ref_name(SchoolClass, old), self._ref_name(SchoolClass, new)
            changes.append({"field": field, "old": old, "new": new})
        return changes

    def _contacts(self, naming: list[_Row]) -> None:
        existing: set[tuple] = set()
        keys = sorted({row.person_key for row in naming if row.person_key > 0})
        for batch in _batches(keys):
            existing.update(
                ContactChannel.objects.filter(person_id__in=batch).values_list("person_id", "kind", "value_normalised")
            )
        seen: set[tuple] = set()
        self.new_contacts: list[dict] = []
        for row in naming:
            for kind in CONTACT_KINDS:
                norm = row[f"{kind}_n"]
                key = (row.person_key, kind, norm)
                if norm and key not in existing and key not in seen:
                    seen.add(key)
                    self.new_contacts.append(
                        {
                            "person_key": row.person_key,
                            "row_no": row["row_no"],
                            "kind": kind,
                            "value": row[kind],
                            "norm": norm,
                        }
                    )

    def _employment(self, naming: list[_Row]) -> None:
        open_jobs: dict[int, list[dict]] = defaultdict(list)
        keys = sorted({row.person_key for row in naming if row.person_key > 0})
        for batch in _batches(keys):
            for job in Employment.objects.filter(person_id__in=batch, end_date__isnull=True).values(
                "id", "person_id", "organisation", "title", "start_date"
            ):
                open_jobs[job["person_id"]].append(job)
        chosen: dict[tuple, dict] = {}
        for row in naming:
            if not row["organisation"]:
                continue
            jobs = open_jobs.get(row.person_key, [])
            same = max(
                (j for j in jobs if j["organisation"] == row["organisation"]), key=lambda j: j["id"], default=None
            )
            if same is None:
                action = "add"
            elif row["title"] and row["title"] != same["title"]:
                action = "retitle"
            else:
                action = "same"
            # The latest start (no start counts as oldest), then the highest id: the current employer.
            current = max(
                jobs, key=lambda j: (j["start_date"] is not None, j["start_date"] or date.min, j["id"]), default=None
            )
            # The last row naming this person and employer wins, as DISTINCT ON ... row_no DESC.
            chosen[(row.person_key, row["organisation"])] = {
                "person_key": row.person_key,
                "row_no": row["row_no"],
                "organisation": row["organisation"],
                "title": row["title"],
                "city": row["city"],
                "current_id": same and same["id"],
                "current_organisation": current and current["organisation"],
                "current_title": same and same["title"],
                "action": action,
            }
        self.employment = list(chosen.values())

    def _notes(self, naming: list[_Row]) -> None:
        existing: set[tuple] = set()
        keys = sorted({row.person_key for row in naming if row.person_key > 0 and row["notes"]})
        for batch in _batches(keys):
            existing.update(StaffNote.objects.filter(person_id__in=batch).values_list("person_id", "text"))
        seen: set[tuple] = set()
        self.new_notes: list[dict] = []
        for row in naming:
            key = (row.person_key, row["notes"])
            if row["notes"] and key not in existing and key not in seen:
                seen.add(key)
                self.new_notes.append({"person_key": row.person_key, "row_no": row["row_no"], "notes": row["notes"]})

    # --- results ------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for row in self.rows:
            counts[row.kind] += 1
        return dict(counts)

    def new_people_count(self) -> int:
        return sum(1 for row in self.rows if row.kind == m.NEW_PERSON and row.person_key == -row["row_no"])

    def problem_rows(self, kind: str) -> Iterator[tuple]:
        names = dict(College.objects.values_list("pk", "name"))
        for row in self.rows:
            if row.kind == kind:
                yield (
                    row["row_no"],
                    row.reason,
                    row.detail,
                    row["student_id"],
                    row["name"],
                    row["birth_date"],
                    names.get(row["college_id"], ""),
                )

    def _by_row(self) -> dict[int, dict[str, list[dict]]]:
        index = self.__dict__.get("_row_index")
        if index is None:
            index = defaultdict(lambda: defaultdict(list))
            for name in ("new_contacts", "employment", "new_notes"):
                for item in getattr(self, name):
                    index[item["row_no"]][name].append(item)
            self._row_index = index
        return index

    def row_changes(self, row: _Row) -> list[dict]:
        row_no = row["row_no"]
        extra = self._by_row().get(row_no, {})
        changes = list(self.person_changes.get(row_no, []))
        changes += self.enrollment_changes.get(row_no, [])
        changes += [
            {"field": c["kind"], "old": None, "new": c["value"]}
            for c in sorted(extra.get("new_contacts", []), key=lambda c: c["kind"])
        ]
        for e in extra.get("employment", []):
            if e["action"] == "add":
                changes.append({"field": "employment", "old": e["current_organisation"], "new": e["organisation"]})
            elif e["action"] == "retitle":
                changes.append({"field": "title", "old": e["current_title"], "new": e["title"]})
        changes += [{"field": "note", "old": None, "new": n["notes"]} for n in extra.get("new_notes", [])]
        if row.kind == m.NEW_ENROLLMENT:
            changes.append({"field": "enrollment", "old": None, "new": row["student_id"]})
        return changes

    def samples(self, limit: int) -> dict[str, list[dict]]:
        names = dict(College.objects.values_list("pk", "name"))
        creates = [
            {
                "row": row["row_no"],
                "kind": row.kind,
                "student_id": row["student_id"],
                "name": row["name"],
                "birth_date": _iso(row["birth_date"]),
                "college": names.get(row["college_id"], ""),
                "degree_level": row["degree_level"],
                "person": row.person_key if row.person_key and row.person_key > 0 else None,
            }
            for row in self.rows
            if row.kind in m.CREATED_KINDS
        ][:limit]
        updates = [
            {
                "row": row["row_no"],
                "student_id": row["student_id"],
                "name": row["name"],
                "person": row.person_key,
                "changes": self.row_changes(row),
            }
            for row in islice((r for r in self.rows if r.kind == m.UPDATE), limit)
        ]
        return {"creates": creates, "updates": updates}

    # --- writes -------------------------------------------------------------------------
    def write(self, *, actor_id: int | None, source: str, audit_reason: str, bulk_min_rows: int) -> dict[str, int]:
        now = timezone.now()
        written: dict[str, int] = {}
        new_people: dict[int, Person] = {}
        for key, row in self.person_rows.items():
            if key < 0:
                new_people[key] = Person(
                    name=row["name"],
                    former_names=row["former_names"],
                    name_pinyin=row["name_pinyin"],
                    name_initials=row["name_initials"],
                    gender=row["gender"],
                    birth_date=row["birth_date"],
                    hometown_province=row["hometown_province"],
                    hometown_city=row["hometown_city"],
                    country=row["country"] or Person._meta.get_field("country").default,
                    province=row["province"],
                    city=row["city"],
                    id_number=_clear(row["id_number"]),
                    id_number_hash=row["id_number_hash"],
                )
        Person.objects.bulk_create(new_people.values(), batch_size=BATCH)
        written["people"] = len(new_people)

        def person_id(key: int) -> int:
            return new_people[key].pk if key < 0 else key

        enrollments = [
            Enrollment(
                person_id=person_id(row.person_key),
                student_id=row["student_id"],
                degree_level=row["degree_level"],
                college_id=row["college_id"],
                major_id=row["major_id"],
                school_class_id=row["school_class_id"],
                enrollment_year=row["enrollment_year"],
                graduation_year=row["graduation_year"],
                status=row["status"] or Enrollment.Status.GRADUATED,
            )
            for row in self.rows
            if row.kind in m.CREATED_KINDS
        ]
        Enrollment.objects.bulk_create(enrollments, batch_size=BATCH)
        written["enrollments"] = len(enrollments)
        contacts = [
            ContactChannel(
                person_id=person_id(c["person_key"]),
                kind=c["kind"],
                value=c["value"],
                value_normalised=c["norm"],
                status=ContactChannel.Status.UNVERIFIED,
                source=source,
            )
            for c in self.new_contacts
        ]
        ContactChannel.objects.bulk_create(contacts, batch_size=BATCH)
        written["contacts"] = len(contacts)
        jobs = [
            Employment(
                person_id=person_id(e["person_key"]), organisation=e["organisation"], title=e["title"], city=e["city"]
            )
            for e in self.employment
            if e["action"] == "add"
        ]
        Employment.objects.bulk_create(jobs, batch_size=BATCH)
        written["employments"] = len(jobs)
        retitled = 0
        for e in self.employment:
            if e["action"] == "retitle":
                retitled += Employment.objects.filter(pk=e["current_id"]).update(title=e["title"], updated_at=now)
        written["employments_retitled"] = retitled
        notes = [
            StaffNote(person_id=person_id(n["person_key"]), author_id=actor_id, text=n["notes"]) for n in self.new_notes
        ]
        StaffNote.objects.bulk_create(notes, batch_size=BATCH)
        written["notes"] = len(notes)
        written["people_updated"] = self._update_people(now)
        written["enrollments_updated"] = self._update_enrollments(now)
        written["audit_rows"] = self._audit(actor_id, audit_reason)
        return written

    def _update_people(self, now) -> int:
        changed = []
        for key, row in self.person_rows.items():
            if key < 0 or not self.person_changes.get(row["row_no"]):
                continue
            person = Person.objects.get(pk=key)
            for field in (
                "name",
                "former_names",
                "gender",
                "hometown_province",
                "hometown_city",
                "city",
                "province",
                "country",
            ):
                if row[field]:
                    setattr(person, field, row[field])
            if row["name"]:
                person.name_pinyin, person.name_initials = row["name_pinyin"], row["name_initials"]
            if row["birth_date"] is not None:
                person.birth_date = row["birth_date"]
            person.updated_at = now
            fields = [
                "name",
                "name_pinyin",
                "name_initials",
                "former_names",
                "gender",
                "birth_date",
                "hometown_province",
                "hometown_city",
                "city",
                "province",
                "country",
                "updated_at",
            ]
            Person.objects.filter(pk=key).update(**{f: getattr(person, f) for f in fields})
            if row["id_number_hash"] and row["id_number_hash"] != self.people[key]["id_number_hash"]:
                person.id_number, person.id_number_hash = _clear(row["id_number"]), row["id_number_hash"]
                person.save(update_fields=["id_number", "id_number_hash"])
            changed.append(key)
        return len(changed)

    def _update_enrollments(self, now) -> int:
        updated = []
        for row in self.rows:
            if row.kind != m.UPDATE or not self.enrollment_changes.get(row["row_no"]):
                continue
            e = Enrollment(pk=row.enrollment["id"], **{k: v for k, v in row.enrollment.items() if k != "id"})
            if row["degree_level"]:
                e.degree_level = row["degree_level"]
            for column in ("college_id", "major_id", "school_class_id", "enrollment_year", "graduation_year"):
                if row[column] is not None:
                    setattr(e, column, row[column])
            if row["status"]:
                e.status = row["status"]
            e.updated_at = now
            updated.append(e)
        Enrollment.objects.bulk_update(
            updated,
            [
                "degree_level",
                "college_id",
                "major_id",
                "school_class_id",
                "enrollment_year",
                "graduation_year",
                "status",
                "updated_at",
            ],
            batch_size=BATCH,
        )
        return len(updated)

    def _audit(self, actor_id: int | None, reason: str) -> int:
        per_person: dict[int, list[dict]] = {}
        for row in self.rows:
            if row.kind in (m.UPDATE, m.NEW_ENROLLMENT):
                per_person.setdefault(row.person_key, []).extend(self.row_changes(row))
        names = dict(Person.objects.filter(pk__in=list(per_person)).values_list("pk", "name"))
        events = [
            AuditEvent(
                actor_id=actor_id,
                action="person.import_update",
                target_type="alumni.person",
                target_id=str(key),
                target_repr=names.get(key, "")[:200],
                changes=changes,
                reason=reason[:255],
            )
            for key, changes in per_person.items()
        ]
        AuditEvent.objects.bulk_create(events, batch_size=BATCH)
        return len(events)
