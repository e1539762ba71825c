"""PostgreSQL: COPY the staged rows into a temporary table, then classify and write with set-based SQL.

Everything runs inside the caller's transaction: the temporary tables are dropped at its end,
and a dry run (preview) simply never reaches ``write``. SQL text is static (``postgres_sql``);
values are bound parameters; the only identifiers built at run time come from the system catalog
(``bulk_load``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection

from . import matching as m
from .bulk_load import drop_for_bulk_load, rebuild_after_bulk_load
from .copying import CopySource
from .postgres_sql import (
    CLASSIFY,
    DUPLICATES,
    EMPLOYMENT,
    ENROLLMENT_CHANGES,
    FINAL_KINDS,
    MULTI,
    NAMESAKES,
    NAMESAKES_ON_RECORD,
    NEW_NOTES,
    NO_ONE_ON_RECORD,
    PERSON_CHANGES,
    PERSON_ROWS,
    ROW_CHANGES,
    STAGE,
    STAGE_DDL,
    contacts_of,
    employers_of,
    new_contacts,
    notes_of,
)
from .rows import CONTACT_KINDS

_NO_BOUND = (1 << 63) - 1


_LABEL = re.compile(
    r"^\s*(CREATE (?:UNIQUE )?(?:TEMP TABLE|INDEX)(?: ON)?|INSERT INTO|UPDATE|ANALYZE|DROP \w+|ALTER TABLE|SELECT|SET|"
    r"SAVEPOINT|RELEASE|ROLLBACK)\s*([\w.\"]*)",
    re.IGNORECASE,
)


class _TimedCursor:
    """A cursor that adds the time of each statement to ``timings`` (by statement kind and table)."""

    def __init__(self, cursor, timings: dict[str, float]) -> None:
        self._cursor = cursor
        self._timings = timings

    def execute(self, sql, params=None):
        started = time.perf_counter()
        try:
            return self._cursor.execute(sql, params)
        finally:
            found = _LABEL.match(sql)
            label = " ".join(found.groups()).strip() if found else sql.split(None, 1)[0]
            self._timings[label] = self._timings.get(label, 0.0) + time.perf_counter() - started

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class PostgresBackend:
    """Staging, classification and set-based writes for one job, inside the caller's transaction."""

    def __init__(self, contact_kinds: tuple[str, ...] = CONTACT_KINDS, *, with_notes: bool = True) -> None:
        self.connection = connection
        self.staged = 0
        self.timings: dict[str, float] = {}
        # The contact columns the file has; with none, contacts are unpacked from an empty list.
        self.contact_kinds = tuple(contact_kinds) or ("mobile",)
        # A file without a notes column has no notes to compare or write (two passes saved).
        self.with_notes = with_notes

    @contextmanager
    def _cursor(self) -> Iterator[_TimedCursor]:
        with self.connection.cursor() as cursor:
            yield _TimedCursor(cursor, self.timings)

    # --- staging ------------------------------------------------------------------------
    def begin(self) -> None:
        with self._cursor() as cursor:
            # Generous memory for the hash joins and sorts of a million-row classification; no JIT,
            # which spends most of a second compiling each of these one-off statements.
            cursor.execute("SET LOCAL work_mem = '512MB'")
            cursor.execute("SET LOCAL jit = off")
            # Room for the staging tables in memory (8 MB by default). PostgreSQL accepts the
            # change only before a session first uses a temporary table: later it stays as it was.
            cursor.execute("SAVEPOINT import_temp_buffers")
            try:
                cursor.execute("SET temp_buffers = '512MB'")
                cursor.execute("RELEASE SAVEPOINT import_temp_buffers")
            except DatabaseError:
                cursor.execute("ROLLBACK TO SAVEPOINT import_temp_buffers")
            for table in (
                STAGE,
                "import_class",
                "import_new_refs",
                "import_person_row",
                "import_person_changes",
                "import_enrollment_changes",
                "import_new_contacts",
                "import_employment",
                "import_new_notes",
                "import_new_people",
                "import_multi",
                "import_duplicates",
                "import_namesakes",
            ):
                cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{table}")
            cursor.execute(f"CREATE TEMP TABLE {STAGE} ({STAGE_DDL}) ON COMMIT DROP")
            cursor.execute(
                "CREATE TEMP TABLE import_new_refs (placeholder bigint PRIMARY KEY, name text, id bigint) "
                "ON COMMIT DROP"
            )

    def stage(self, rows: Iterable, *, formatted: bool = False) -> int:
        """COPY staged rows (tuples, or chunks of ready COPY text with ``formatted``) into the staging table."""
        source = CopySource(rows, formatted=formatted)
        sql = f"COPY {STAGE} FROM STDIN"
        started = time.perf_counter()
        with self._cursor() as cursor:
            raw = cursor.cursor
            if hasattr(raw, "copy_expert"):  # psycopg2
                raw.copy_expert(sql, source, size=1 << 20)
            else:  # psycopg 3
                with raw.copy(sql) as copy:
                    while chunk := source.read(1 << 20):
                        copy.write(chunk)
        self.timings["COPY import_stage (while parsing)"] = time.perf_counter() - started
        if source.error is not None:
            raise source.error
        self.staged = source.count
        return source.count

    def resolve_placeholders(self, real: dict[int, int], names: dict[int, str]) -> None:
        """Record the names of new majors/classes (for the preview) and, for an apply, their real ids.

        The staged rows keep their placeholder ids; the writes swap them through
        ``import_new_refs`` (rewriting every staged row would cost a pass over the table).
        """
        with self._cursor() as cursor:
            rows = [(placeholder, name, real.get(placeholder)) for placeholder, name in names.items()]
            if rows:
                cursor.executemany("INSERT INTO import_new_refs (placeholder, name, id) VALUES (%s, %s, %s)", rows)
            cursor.execute("ANALYZE import_new_refs")

    # --- classification -----------------------------------------------------------------
    def classify(self) -> None:
        with self._cursor() as cursor:
            cursor.execute(f"CREATE INDEX ON {STAGE} (row_no)")
            cursor.execute(f"ANALYZE {STAGE} (row_no, student_id, name, birth_date, college_id)")
            cursor.execute(DUPLICATES)
            cursor.execute(NAMESAKES)
            cursor.execute("ANALYZE import_duplicates")
            cursor.execute("ANALYZE import_namesakes")
            cursor.execute("SELECT EXISTS (SELECT 1 FROM alumni_person)")
            anyone = cursor.fetchone()[0]
            cursor.execute(CLASSIFY.format(namesake_joins=NAMESAKES_ON_RECORD if anyone else NO_ONE_ON_RECORD))
            cursor.execute("CREATE INDEX ON import_class (row_no)")
            cursor.execute("ANALYZE import_class")
            for sql in (
                MULTI,
                PERSON_ROWS,
                PERSON_CHANGES,
                ENROLLMENT_CHANGES,
                new_contacts(self.contact_kinds),
                EMPLOYMENT,
                NEW_NOTES if self.with_notes else f"{NEW_NOTES} AND false",  # same columns, no rows
            ):
                cursor.execute(sql)
            for table in ("import_person_changes", "import_enrollment_changes", "import_new_contacts"):
                cursor.execute(f"CREATE INDEX ON {table} (row_no)")
            cursor.execute("CREATE INDEX ON import_employment (row_no)")
            cursor.execute(FINAL_KINDS)

    def counts(self) -> dict[str, int]:
        with self._cursor() as cursor:
            cursor.execute("SELECT kind, count(*) FROM import_class GROUP BY kind")
            counts = dict(cursor.fetchall())
        counts[m.UNCHANGED] = counts.pop(m.MATCHED, 0)
        return counts

    def new_people_count(self) -> int:
        with self._cursor() as cursor:
            cursor.execute("SELECT count(DISTINCT person_key) FROM import_class WHERE kind = %s", [m.NEW_PERSON])
            return cursor.fetchone()[0]

    def _stream(self, sql: str, params: list | None = None) -> Iterator[tuple]:
        with self.connection.chunked_cursor() as cursor:
            cursor.execute(sql, params or [])
            while batch := cursor.fetchmany(2000):
                yield from batch

    def problem_rows(self, kind: str) -> Iterator[tuple]:
        """(row, reason, detail, student_id, name, birth_date, college) of flagged or error rows, in row order."""
        return self._stream(
            f"""SELECT c.row_no, c.reason, c.detail, s.student_id, s.name, s.birth_date,
                       COALESCE(co.name, '')
                FROM import_class c JOIN {STAGE} s ON s.row_no = c.row_no
                LEFT JOIN alumni_college co ON co.id = s.college_id
                WHERE c.kind = %s ORDER BY c.row_no""",  # noqa: S608
            [kind],
        )

    def samples(self, limit: int) -> dict[str, list[dict]]:
        with self._cursor() as cursor:
            cursor.execute(
                f"""SELECT c.row_no, c.kind, s.student_id, s.name, s.birth_date, COALESCE(co.name, ''),
                           s.degree_level, c.person_key
                    FROM import_class c JOIN {STAGE} s ON s.row_no = c.row_no
                    LEFT JOIN alumni_college co ON co.id = s.college_id
                    WHERE c.kind IN ('{m.NEW_PERSON}', '{m.NEW_ENROLLMENT}') ORDER BY c.row_no LIMIT %s""",  # noqa: S608
                [limit],
            )
            creates = [
                {
                    "row": row,
                    "kind": kind,
                    "student_id": student_id,
                    "name": name,
                    "birth_date": birth.isoformat() if birth else None,
                    "college": college,
                    "degree_level": degree,
                    "person": person_key if person_key and person_key > 0 else None,
                }
                for row, kind, student_id, name, birth, college, degree, person_key in cursor.fetchall()
            ]
            cursor.execute(
                f"""SELECT c.row_no, s.student_id, s.name, c.person_key, {ROW_CHANGES}
                    FROM import_class c JOIN {STAGE} s ON s.row_no = c.row_no
                    WHERE c.kind = '{m.UPDATE}' ORDER BY c.row_no LIMIT %(limit)s""",  # noqa: S608
                {"limit": limit, "employment_before": _NO_BOUND},
            )
            updates = [
                {"row": row, "student_id": student_id, "name": name, "person": person, "changes": changes}
                for row, student_id, name, person, changes in cursor.fetchall()
            ]
        return {"creates": creates, "updates": updates}

    # --- writes -------------------------------------------------------------------------
    def write(self, *, actor_id: int | None, source: str, audit_reason: str, bulk_min_rows: int) -> dict[str, int]:
        """Apply the classified rows; returns the number of rows written per table."""
        written: dict[str, int] = {}
        new_people = self.new_people_count()
        with self._cursor() as cursor:
            # The audit names a person's employer before the import: rows up to this id.
            cursor.execute("SELECT COALESCE(max(id), 0) FROM alumni_employment")
            employment_before = cursor.fetchone()[0]
        rebuild = drop_for_bulk_load(self._cursor, new_people, bulk_min_rows)
        with self._cursor() as cursor:
            if rebuild and new_people:
                # The index rebuild holds an exclusive lock on alumni_person until commit, so no other
                # insert can draw from its sequence meanwhile: reserve one block, as long as the file,
                # and give the new person whose first row is row r the id base + r (no mapping table).
                cursor.execute(f"SELECT max(row_no) FROM {STAGE}")  # noqa: S608
                span = cursor.fetchone()[0]
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('alumni_person', 'id'),"
                    " nextval(pg_get_serial_sequence('alumni_person', 'id')) + %s - 1)",
                    [span],
                )
                params = {"base": cursor.fetchone()[0] - span}

                def person_id(alias: str) -> str:
                    key = f"{alias}.person_key"
                    return f"CASE WHEN {key} < 0 THEN %(base)s - {key} ELSE {key} END"

                def new_person_join(alias: str) -> str:
                    return ""
            else:
                params = {}
                cursor.execute(
                    f"""CREATE TEMP TABLE import_new_people ON COMMIT DROP AS
                        SELECT k.key, nextval(pg_get_serial_sequence('alumni_person', 'id')) AS id
                        FROM (SELECT DISTINCT person_key AS key FROM import_class WHERE kind = '{m.NEW_PERSON}') k"""  # noqa: S608
                )
                cursor.execute("CREATE UNIQUE INDEX ON import_new_people (key)")
                cursor.execute("ANALYZE import_new_people")

                def person_id(alias: str) -> str:
                    return f"COALESCE(np_{alias}.id, {alias}.person_key)"

                def new_person_join(alias: str) -> str:
                    return f"LEFT JOIN import_new_people np_{alias} ON np_{alias}.key = {alias}.person_key"

            cursor.execute(
                f"""INSERT INTO alumni_person (id, created_at, updated_at, name, former_names, name_pinyin,
                        name_initials, gender, birth_date, hometown_province, hometown_city, country, province,
                        city, id_number, id_number_hash, photo, is_deceased, privacy_contacts, privacy_employment,
                        privacy_location, show_in_directory)
                    SELECT {person_id("r")}, now(), now(), s.name, s.former_names, s.name_pinyin, s.name_initials,
                           s.gender, s.birth_date, s.hometown_province, s.hometown_city,
                           CASE WHEN s.country = '' THEN %(country)s ELSE s.country END, s.province, s.city,
                           s.id_number, s.id_number_hash, '', false, 'office', 'office', 'office', false
                    FROM import_person_row r JOIN {STAGE} s ON s.row_no = r.row_no {new_person_join("r")}
                    WHERE r.person_key < 0""",  # noqa: S608
                {**params, "country": _default_country()},
            )
            written["people"] = cursor.rowcount
            cursor.execute(
                f"""INSERT INTO alumni_enrollment (created_at, updated_at, person_id, student_id, degree_level,
                        college_id, major_id, school_class_id, enrollment_year, graduation_year, status)
                    SELECT now(), now(), {person_id("c")}, s.student_id, s.degree_level,
                           s.college_id, COALESCE(nm.id, s.major_id), COALESCE(nk.id, s.school_class_id),
                           s.enrollment_year, s.graduation_year,
                           CASE WHEN s.status = '' THEN 'graduated' ELSE s.status END
                    FROM import_class c JOIN {STAGE} s ON s.row_no = c.row_no {new_person_join("c")}
                    LEFT JOIN import_new_refs nm ON nm.placeholder = s.major_id
                    LEFT JOIN import_new_refs nk ON nk.placeholder = s.school_class_id
                    WHERE c.kind IN ('{m.NEW_PERSON}', '{m.NEW_ENROLLMENT}')""",  # noqa: S608
                params,
            )
            written["enrollments"] = cursor.rowcount
            new_only = f"('{m.NEW_PERSON}')"
            cursor.execute(
                f"""INSERT INTO alumni_contactchannel (created_at, updated_at, person_id, kind, value,
                        value_normalised, status, verified_at, source)
                    SELECT now(), now(), {person_id("c")}, c.kind, c.value, c.norm, 'unverified', NULL::timestamptz,
                           %(source)s
                    FROM ({contacts_of(new_only, self.contact_kinds)}) c {new_person_join("c")}
                    UNION ALL
                    SELECT now(), now(), nc.person_key, nc.kind, nc.value, nc.norm, 'unverified', NULL::timestamptz,
                           %(source)s
                    FROM import_new_contacts nc""",  # noqa: S608
                {**params, "source": source},
            )
            written["contacts"] = cursor.rowcount
            cursor.execute(
                f"""INSERT INTO alumni_employment (created_at, updated_at, person_id, organisation, title, city,
                        start_date, end_date)
                    SELECT now(), now(), {person_id("e")}, e.organisation, e.title, e.city, NULL::date, NULL::date
                    FROM ({employers_of(new_only)}) e {new_person_join("e")}
                    UNION ALL
                    SELECT now(), now(), em.person_key, em.organisation, em.title, em.city, NULL::date, NULL::date
                    FROM import_employment em WHERE em.action = 'add'""",  # noqa: S608
                params,
            )
            written["employments"] = cursor.rowcount
            cursor.execute(
                """UPDATE alumni_employment x SET title = em.title, updated_at = now()
                   FROM import_employment em WHERE em.action = 'retitle' AND x.id = em.current_id"""
            )
            written["employments_retitled"] = cursor.rowcount
            written["notes"] = 0
            if self.with_notes:
                cursor.execute(
                    f"""INSERT INTO alumni_staffnote (created_at, updated_at, person_id, author_id, text)
                        SELECT now(), now(), {person_id("n")}, %(actor)s::bigint, n.notes
                        FROM ({notes_of(new_only)}) n {new_person_join("n")}
                        UNION ALL
                        SELECT now(), now(), nn.person_key, %(actor)s::bigint, nn.notes FROM import_new_notes nn""",  # noqa: S608
                    {**params, "actor": actor_id},
                )
                written["notes"] = cursor.rowcount
            if rebuild:
                rebuild_after_bulk_load(self._cursor, rebuild)
            written["rebuilt_indexes"] = len(rebuild["indexes"]) if rebuild else 0
            cursor.execute(
                f"""UPDATE alumni_person p SET
                        name = CASE WHEN s.name <> '' THEN s.name ELSE p.name END,
                        name_pinyin = CASE WHEN s.name <> '' THEN s.name_pinyin ELSE p.name_pinyin END,
                        name_initials = CASE WHEN s.name <> '' THEN s.name_initials ELSE p.name_initials END,
                        former_names = CASE WHEN s.former_names <> '' THEN s.former_names ELSE p.former_names END,
                        gender = CASE WHEN s.gender <> '' THEN s.gender ELSE p.gender END,
                        birth_date = COALESCE(s.birth_date, p.birth_date),
                        id_number = CASE WHEN s.id_number_hash <> '' AND s.id_number_hash <> p.id_number_hash
                                         THEN s.id_number ELSE p.id_number END,
                        id_number_hash = CASE WHEN s.id_number_hash <> '' THEN s.id_number_hash
                                              ELSE p.id_number_hash END,
                        hometown_province = CASE WHEN s.hometown_province <> '' THEN s.hometown_province
                                                 ELSE p.hometown_province END,
                        hometown_city = CASE WHEN s.hometown_city <> '' THEN s.hometown_city ELSE p.hometown_city END,
                        city = CASE WHEN s.city <> '' THEN s.city ELSE p.city END,
                        province = CASE WHEN s.province <> '' THEN s.province ELSE p.province END,
                        country = CASE WHEN s.country <> '' THEN s.country ELSE p.country END,
                        updated_at = now()
                    FROM import_person_changes pc JOIN {STAGE} s ON s.row_no = pc.row_no
                    WHERE p.id = pc.person_key AND pc.changes <> '[]'::jsonb"""  # noqa: S608
            )
            written["people_updated"] = cursor.rowcount
            cursor.execute(
                f"""UPDATE alumni_enrollment e SET
                        degree_level = CASE WHEN s.degree_level <> '' THEN s.degree_level ELSE e.degree_level END,
                        college_id = COALESCE(s.college_id, e.college_id),
                        major_id = COALESCE(nm.id, s.major_id, e.major_id),
                        school_class_id = COALESCE(nk.id, s.school_class_id, e.school_class_id),
                        enrollment_year = COALESCE(s.enrollment_year, e.enrollment_year),
                        graduation_year = COALESCE(s.graduation_year, e.graduation_year),
                        status = CASE WHEN s.status <> '' THEN s.status ELSE e.status END,
                        updated_at = now()
                    FROM import_enrollment_changes ec JOIN {STAGE} s ON s.row_no = ec.row_no
                    LEFT JOIN import_new_refs nm ON nm.placeholder = s.major_id
                    LEFT JOIN import_new_refs nk ON nk.placeholder = s.school_class_id
                    WHERE e.id = ec.enrollment_id AND ec.changes <> '[]'::jsonb"""  # noqa: S608
            )
            written["enrollments_updated"] = cursor.rowcount
            # One audit row per existing person the import changed (updates and second degrees),
            # written set-based: a million-row load of new people adds none of these.
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM import_class WHERE kind IN ('{m.UPDATE}', '{m.NEW_ENROLLMENT}'))"  # noqa: S608
            )
            audited = cursor.fetchone()[0]
            written["audit_rows"] = 0
        with self._cursor() as cursor:
            if audited:
                self._audit_people(cursor, actor_id, audit_reason, written, employment_before)
            if rebuild or written["people"] >= 10_000:
                # Fresh planner statistics, so the next import's joins are planned for the real sizes.
                # Only the columns the import's joins use: a full ANALYZE reads every column's sample.
                cursor.execute(
                    "ANALYZE alumni_person (id, name, birth_date), "
                    "alumni_enrollment (id, student_id, person_id, college_id), "
                    "alumni_contactchannel (person_id, kind, value_normalised), "
                    "alumni_employment (person_id, organisation, end_date)"
                )
        return written

    def _audit_people(
        self, cursor, actor_id: int | None, audit_reason: str, written: dict[str, int], employment_before: int
    ) -> None:
        """One audit row per existing person the import changed, with every field's old -> new."""
        cursor.execute(
            f"""INSERT INTO core_auditevent (actor_id, action, target_type, target_id, target_repr, changes,
                    reason, ip_address, created_at)
                SELECT %(actor)s, 'person.import_update', 'alumni.person', per.person_key::text,
                       left(COALESCE(p.name, ''), 200), per.changes, %(reason)s, NULL, now()
                FROM (
                    SELECT c.person_key, jsonb_agg(ch ORDER BY c.row_no) AS changes
                    FROM import_class c JOIN {STAGE} s ON s.row_no = c.row_no
                    CROSS JOIN LATERAL jsonb_array_elements({ROW_CHANGES}) ch
                    WHERE c.kind IN ('{m.UPDATE}', '{m.NEW_ENROLLMENT}')
                    GROUP BY c.person_key
                ) per
                JOIN alumni_person p ON p.id = per.person_key""",  # noqa: S608
            {"actor": actor_id, "reason": audit_reason[:255], "employment_before": employment_before},
        )
        written["audit_rows"] = cursor.rowcount


def _default_country() -> str:
    from apps.alumni.models import Person

    return Person._meta.get_field("country").default
