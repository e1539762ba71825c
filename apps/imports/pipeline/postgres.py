"""PostgreSQL: COPY the staged rows into a temporary table, then classify and write with set-based SQL.

Everything runs inside the caller's transaction: the temporary tables are dropped at its end,
and a dry run (preview) simply never reaches ``write``. SQL text is static; values are bound
parameters; the only identifiers built at run time come from the system catalog (index rebuild).
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection

from . import matching as m
from .rows import CONTACT_KINDS, STAGE_COLUMNS

logger = logging.getLogger(__name__)

STAGE = "import_stage"
_STAGE_DDL = ", ".join(f"{name} {type_}" for name, type_ in STAGE_COLUMNS)
_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})
_COLUMNS = len(STAGE_COLUMNS)
_NO_BOUND = (1 << 63) - 1
_LIVE_TABLES = ("alumni_person", "alumni_enrollment", "alumni_contactchannel", "alumni_employment")


# Columns that do not hold text: integers and ids (str()), the birth date (isoformat), NULL as \\N.
_NON_TEXT = [i for i, (_name, type_) in enumerate(STAGE_COLUMNS) if type_ != "text"]
_DATE_COLUMNS = frozenset(i for i, (_name, type_) in enumerate(STAGE_COLUMNS) if type_ == "date")
_NON_TEXT_SET = frozenset(_NON_TEXT)


def copy_line(row: tuple) -> str:
    """One staged row in COPY text format. The fast path skips escaping when no value needs it."""
    values = list(row)
    for i in _NON_TEXT:
        value = values[i]
        if value is None:
            values[i] = "\\N"
        elif i in _DATE_COLUMNS:
            values[i] = value.isoformat()
        else:
            values[i] = str(value)
    line = "\t".join(values)
    if line.count("\t") != _COLUMNS - 1 or "\n" in line or "\r" in line or "\\" in line or "\x00" in line:
        for i, value in enumerate(values):
            if not (i in _NON_TEXT_SET and row[i] is None):
                values[i] = value.translate(_TEXT_ESCAPES)
        line = "\t".join(values)
    return line + "\n"


class _CopySource(io.TextIOBase):
    """A file-like object that COPY reads from, pulling staged rows as the server asks for data.

    The Python side (parsing, deriving keys) and the server (parsing COPY text, writing the temp
    table) then work at the same time, on two cores.
    """

    def __init__(self, rows: Iterable, *, formatted: bool = False) -> None:
        self._rows = iter(rows)
        self._format = (lambda text: text) if formatted else copy_line
        self.count = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        size = size if size and size > 0 else 1 << 20
        parts = []
        length = 0
        try:
            for row in self._rows:
                line = self._format(row)
                parts.append(line)
                length += len(line)
                self.count += 1
                if length >= size:
                    break
        except BaseException as exc:
            # psycopg2 would turn any exception raised here into QueryCanceled; end the COPY
            # instead and let stage() raise the real one (a refused file, a crash).
            self.error = exc
            return ""
        return "".join(parts)


# --- classification -------------------------------------------------------------------------

# Student IDs given on more than one row (the first row counts), and (name, birth date) pairs on
# more than one row: hash aggregates over the staging table, small results, no sort of it all.
_DUPLICATES = f"""
CREATE TEMP TABLE import_duplicates ON COMMIT DROP AS
SELECT student_id, min(row_no) AS first_row FROM {STAGE} GROUP BY student_id HAVING count(*) > 1
"""  # noqa: S608
_NAMESAKES = f"""
CREATE TEMP TABLE import_namesakes ON COMMIT DROP AS
SELECT name, birth_date, min(row_no) AS head FROM {STAGE}
WHERE birth_date IS NOT NULL GROUP BY name, birth_date HAVING count(*) > 1
"""  # noqa: S608

# New people: rows with a birth date group by (name, birth date); the group's first row (whatever
# became of it) is the key of its person, negative until real ids are drawn. Rows without a birth
# date stand alone.
_CLASSIFY = f"""
CREATE TEMP TABLE import_class ON COMMIT DROP AS
SELECT k.row_no, k.kind, k.reason, k.detail,
       CASE WHEN k.kind = '{m.NEW_PERSON}' THEN -COALESCE(k.group_head, k.row_no) ELSE k.person_key END AS person_key,
       k.enrollment_id
FROM (
SELECT s.row_no, ns.head AS group_head,
       CASE
         WHEN d.first_row IS NOT NULL THEN '{m.ERROR}'
         WHEN e.id IS NOT NULL AND s.name <> p.name AND s.birth_date IS NOT NULL AND p.birth_date IS NOT NULL
              AND s.birth_date <> p.birth_date THEN '{m.FLAGGED}'
         WHEN e.id IS NOT NULL AND COALESCE(s.graduation_year, e.graduation_year)
              < COALESCE(s.enrollment_year, e.enrollment_year) THEN '{m.ERROR}'
         WHEN e.id IS NOT NULL THEN '{m.MATCHED}'
         WHEN nb.n > 1 THEN '{m.FLAGGED}'
         WHEN nb.n = 0 AND pe.id IS NOT NULL THEN '{m.FLAGGED}'
         WHEN s.college_id IS NULL THEN '{m.ERROR}'
         WHEN s.degree_level = '' THEN '{m.ERROR}'
         WHEN nb.n = 1 THEN '{m.NEW_ENROLLMENT}'
         ELSE '{m.NEW_PERSON}'
       END AS kind,
       CASE
         WHEN d.first_row IS NOT NULL THEN '{m.DUPLICATE}'
         WHEN e.id IS NOT NULL AND s.name <> p.name AND s.birth_date IS NOT NULL AND p.birth_date IS NOT NULL
              AND s.birth_date <> p.birth_date THEN '{m.STUDENT_ID_CONFLICT}'
         WHEN e.id IS NOT NULL AND COALESCE(s.graduation_year, e.graduation_year)
              < COALESCE(s.enrollment_year, e.enrollment_year) THEN '{m.YEARS_CONFLICT}'
         WHEN e.id IS NOT NULL THEN ''
         WHEN nb.n > 1 THEN '{m.AMBIGUOUS}'
         WHEN nb.n = 0 AND pe.id IS NOT NULL THEN '{m.PARTIAL}'
         WHEN s.college_id IS NULL THEN '{m.COLLEGE_REQUIRED}'
         WHEN s.degree_level = '' THEN '{m.DEGREE_REQUIRED}'
         ELSE ''
       END AS reason,
       CASE
         WHEN d.first_row IS NOT NULL THEN d.first_row
         WHEN e.id IS NOT NULL THEN e.person_id
         WHEN nb.n > 1 THEN nb.n
         WHEN nb.n = 0 THEN pe.id
         ELSE nb.pid
       END AS detail,
       CASE WHEN d.first_row IS NOT NULL THEN NULL WHEN e.id IS NOT NULL THEN e.person_id
            WHEN nb.n = 1 THEN nb.pid END AS person_key,
       e.id AS enrollment_id
FROM {STAGE} s
LEFT JOIN import_duplicates d ON d.student_id = s.student_id AND d.first_row <> s.row_no
LEFT JOIN import_namesakes ns ON ns.name = s.name AND ns.birth_date = s.birth_date
LEFT JOIN alumni_enrollment e ON e.student_id = s.student_id AND d.first_row IS NULL
LEFT JOIN alumni_person p ON p.id = e.person_id
{{namesake_joins}}
) k
"""  # noqa: S608 - constants only

# The people already on record with the row's name: by birth date (nb), or without one on either
# side in the same college (pe, partial evidence).
_NAMESAKES_ON_RECORD = """
LEFT JOIN LATERAL (
    SELECT count(*) AS n, min(p2.id) AS pid FROM alumni_person p2
    WHERE e.id IS NULL AND d.first_row IS NULL AND s.birth_date IS NOT NULL
      AND p2.name = s.name AND p2.birth_date = s.birth_date
) nb ON TRUE
LEFT JOIN LATERAL (
    SELECT p3.id FROM alumni_person p3 JOIN alumni_enrollment e3 ON e3.person_id = p3.id
    WHERE e.id IS NULL AND d.first_row IS NULL AND nb.n = 0 AND p3.name = s.name
      AND e3.college_id = s.college_id AND (s.birth_date IS NULL OR p3.birth_date IS NULL)
    ORDER BY p3.id LIMIT 1
) pe ON TRUE"""
# With nobody on record (a first load) both are known without two index probes a row.
_NO_ONE_ON_RECORD = """
CROSS JOIN (SELECT 0::bigint AS n, NULL::bigint AS pid) nb
LEFT JOIN (SELECT NULL::bigint AS id) pe ON FALSE"""

_NAMING = f"('{m.MATCHED}', '{m.NEW_ENROLLMENT}', '{m.NEW_PERSON}')"  # rows that name a person to write

# People named by more than one row of the file. Only their rows need de-duplicating (one set of
# person fields, one copy of each contact); every other person's rows go through without a sort.
_MULTI = f"""
CREATE TEMP TABLE import_multi ON COMMIT DROP AS
SELECT person_key FROM import_class WHERE kind IN {_NAMING} GROUP BY person_key HAVING count(*) > 1
"""  # noqa: S608

# The row whose person fields are applied: the last row of the file naming that person.
_PERSON_ROWS = f"""
CREATE TEMP TABLE import_person_row ON COMMIT DROP AS
SELECT c.person_key, c.row_no FROM import_class c
WHERE c.kind IN {_NAMING} AND NOT EXISTS (SELECT 1 FROM import_multi x WHERE x.person_key = c.person_key)
UNION ALL
SELECT c.person_key, max(c.row_no) FROM import_class c JOIN import_multi x ON x.person_key = c.person_key
WHERE c.kind IN {_NAMING} GROUP BY c.person_key
"""  # noqa: S608


def _change(field: str, condition: str, old: str, new: str) -> str:
    return f"CASE WHEN {condition} THEN jsonb_build_object('field', '{field}', 'old', {old}, 'new', {new}) END"


_PERSON_CHANGE_ITEMS = [
    _change("name", "s.name <> '' AND s.name <> p.name", "p.name", "s.name"),
    _change(
        "former_names", "s.former_names <> '' AND s.former_names <> p.former_names", "p.former_names", "s.former_names"
    ),
    _change("gender", "s.gender <> '' AND s.gender <> p.gender", "p.gender", "s.gender"),
    _change(
        "birth_date",
        "s.birth_date IS NOT NULL AND s.birth_date IS DISTINCT FROM p.birth_date",
        "to_jsonb(p.birth_date)",
        "to_jsonb(s.birth_date)",
    ),
    _change(
        "id_number",
        "s.id_number_hash <> '' AND s.id_number_hash <> p.id_number_hash",
        "CASE WHEN p.id_number_hash = '' THEN '' ELSE '********' END",
        "s.id_number_masked",
    ),
    *[
        _change(f, f"s.{f} <> '' AND s.{f} <> p.{f}", f"p.{f}", f"s.{f}")
        for f in ("hometown_province", "hometown_city", "city", "province", "country")
    ],
]
_PERSON_CHANGES = f"""
CREATE TEMP TABLE import_person_changes ON COMMIT DROP AS
SELECT r.person_key, r.row_no,
       array_to_json(array_remove(ARRAY[{", ".join(_PERSON_CHANGE_ITEMS)}], NULL))::jsonb AS changes
FROM import_person_row r
JOIN {STAGE} s ON s.row_no = r.row_no
JOIN alumni_person p ON p.id = r.person_key
WHERE r.person_key > 0
"""  # noqa: S608


def _ref_name(alias: str, table: str, id_expr: str) -> str:
    """The name of a college, major or class by id, or of a major/class this import would create."""
    return (
        f"COALESCE((SELECT {alias}.name FROM {table} {alias} WHERE {alias}.id = {id_expr}),"  # noqa: S608 - constants
        f" (SELECT n.name FROM import_new_refs n WHERE n.placeholder = {id_expr}), '')"
    )


_ENROLLMENT_CHANGE_ITEMS = [
    _change(
        "degree_level", "s.degree_level <> '' AND s.degree_level <> e.degree_level", "e.degree_level", "s.degree_level"
    ),
    _change(
        "college",
        "s.college_id IS NOT NULL AND s.college_id <> e.college_id",
        _ref_name("co", "alumni_college", "e.college_id"),
        _ref_name("cn", "alumni_college", "s.college_id"),
    ),
    _change(
        "major",
        "s.major_id IS NOT NULL AND s.major_id IS DISTINCT FROM e.major_id",
        _ref_name("mo", "alumni_major", "e.major_id"),
        _ref_name("mn", "alumni_major", "s.major_id"),
    ),
    _change(
        "school_class",
        "s.school_class_id IS NOT NULL AND s.school_class_id IS DISTINCT FROM e.school_class_id",
        _ref_name("ko", "alumni_schoolclass", "e.school_class_id"),
        _ref_name("kn", "alumni_schoolclass", "s.school_class_id"),
    ),
    _change(
        "enrollment_year",
        "s.enrollment_year IS NOT NULL AND s.enrollment_year IS DISTINCT FROM e.enrollment_year",
        "e.enrollment_year",
        "s.enrollment_year",
    ),
    _change(
        "graduation_year",
        "s.graduation_year IS NOT NULL AND s.graduation_year IS DISTINCT FROM e.graduation_year",
        "e.graduation_year",
        "s.graduation_year",
    ),
    _change("status", "s.status <> '' AND s.status <> e.status", "e.status", "s.status"),
]
_ENROLLMENT_CHANGES = f"""
CREATE TEMP TABLE import_enrollment_changes ON COMMIT DROP AS
SELECT c.row_no, c.enrollment_id,
       array_to_json(array_remove(ARRAY[{", ".join(_ENROLLMENT_CHANGE_ITEMS)}], NULL))::jsonb AS changes
FROM import_class c
JOIN {STAGE} s ON s.row_no = c.row_no
JOIN alumni_enrollment e ON e.id = c.enrollment_id
WHERE c.kind = '{m.MATCHED}'
"""  # noqa: S608

_EXISTING = f"('{m.MATCHED}', '{m.NEW_ENROLLMENT}')"  # rows naming a person already in the database


def _deduplicated(select: str, distinct_on: str, order: str, kinds: str, extra_from: str = "", where: str = "") -> str:
    """``select`` over the rows of ``kinds``: as they are for people named once in the file, and one
    row per ``distinct_on`` (the first by ``order``) for people named by several rows."""
    return f"""
    SELECT {select} FROM import_class c JOIN {STAGE} s ON s.row_no = c.row_no {extra_from}
    WHERE c.kind IN {kinds} {where}
      AND NOT EXISTS (SELECT 1 FROM import_multi x WHERE x.person_key = c.person_key)
    UNION ALL
    (SELECT DISTINCT ON ({distinct_on}) {select}
     FROM import_class c JOIN import_multi x ON x.person_key = c.person_key JOIN {STAGE} s ON s.row_no = c.row_no
     {extra_from}
     WHERE c.kind IN {kinds} {where}
     ORDER BY {distinct_on}, {order})
    """  # noqa: S608 - constants only


_CONTACT_SELECT = "c.person_key, c.row_no, v.kind, v.value, v.norm"


def _contacts_of(kinds: str, contact_kinds: tuple[str, ...] = CONTACT_KINDS) -> str:
    """The contacts in the rows of ``kinds``, one per (person, kind, normalised value): the first row's.

    Only the ``contact_kinds`` the file has columns for are unpacked (a roster with a mobile and an
    email column unpacks two values a row, not five).
    """
    values = ", ".join(f"('{kind}', s.{kind}, s.{kind}_n)" for kind in contact_kinds if kind in CONTACT_KINDS)
    unpack = f"CROSS JOIN LATERAL (VALUES {values}) v(kind, value, norm)"
    return _deduplicated(_CONTACT_SELECT, "c.person_key, v.kind, v.norm", "c.row_no", kinds, unpack, "AND v.norm <> ''")


def _employers_of(kinds: str) -> str:
    """The employers in the rows of ``kinds``, one per (person, organisation): the last row's title."""
    return _deduplicated(
        "c.person_key, c.row_no, s.organisation, s.title, s.city",
        "c.person_key, s.organisation",
        "c.row_no DESC",
        kinds,
        where="AND s.organisation <> ''",
    )


def _notes_of(kinds: str) -> str:
    return _deduplicated(
        "c.person_key, c.row_no, s.notes", "c.person_key, s.notes", "c.row_no", kinds, where="AND s.notes <> ''"
    )


# What the rows would add to people already in the database (new people's rows are written
# straight from the staging table): contacts they do not have yet, employers, notes.
def _new_contacts(contact_kinds: tuple[str, ...]) -> str:
    return f"""
CREATE TEMP TABLE import_new_contacts ON COMMIT DROP AS
SELECT * FROM ({_contacts_of(_EXISTING, contact_kinds)}) candidate
WHERE NOT EXISTS (
    SELECT 1 FROM alumni_contactchannel y
    WHERE y.person_id = candidate.person_key AND y.kind = candidate.kind AND y.value_normalised = candidate.norm
)
"""  # noqa: S608


# Employer: a new Employment unless the person already has an open one (no end date) at that
# organisation; there, another title updates the title.
_EMPLOYMENT = f"""
CREATE TEMP TABLE import_employment ON COMMIT DROP AS
SELECT r.person_key, r.row_no, r.organisation, r.title, r.city, same.id AS current_id, same.title AS current_title,
       CASE WHEN same.id IS NULL THEN 'add'
            WHEN r.title <> '' AND r.title <> same.title THEN 'retitle' ELSE 'same' END AS action
FROM ({_employers_of(_EXISTING)}) r
LEFT JOIN LATERAL (
    SELECT x.id, x.title FROM alumni_employment x
    WHERE x.person_id = r.person_key AND x.end_date IS NULL AND x.organisation = r.organisation
    ORDER BY x.id DESC LIMIT 1
) same ON TRUE
"""  # noqa: S608

_NEW_NOTES = f"""
CREATE TEMP TABLE import_new_notes ON COMMIT DROP AS
SELECT * FROM ({_notes_of(_EXISTING)}) candidate
WHERE NOT EXISTS (
    SELECT 1 FROM alumni_staffnote x WHERE x.person_id = candidate.person_key AND x.text = candidate.notes
)
"""  # noqa: S608

# Matched rows that change something become updates; the rest stay "matched", i.e. unchanged.
_FINAL_KINDS = f"""
UPDATE import_class c SET kind = '{m.UPDATE}'
FROM (
    SELECT row_no FROM import_person_changes WHERE changes <> '[]'::jsonb
    UNION SELECT row_no FROM import_enrollment_changes WHERE changes <> '[]'::jsonb
    UNION SELECT row_no FROM import_new_contacts
    UNION SELECT row_no FROM import_employment WHERE action <> 'same'
    UNION SELECT row_no FROM import_new_notes
) changed
WHERE c.row_no = changed.row_no AND c.kind = '{m.MATCHED}'
"""  # noqa: S608

# What a row changes, for the preview and the per-person audit rows.
_ROW_CHANGES = """
    COALESCE((SELECT pc.changes FROM import_person_changes pc WHERE pc.row_no = c.row_no), '[]'::jsonb)
 || COALESCE((SELECT ec.changes FROM import_enrollment_changes ec WHERE ec.row_no = c.row_no), '[]'::jsonb)
 || COALESCE((SELECT jsonb_agg(jsonb_build_object('field', nc.kind, 'old', NULL, 'new', nc.value) ORDER BY nc.kind)
              FROM import_new_contacts nc WHERE nc.row_no = c.row_no), '[]'::jsonb)
 || COALESCE((SELECT jsonb_agg(CASE WHEN em.action = 'add'
                  THEN jsonb_build_object('field', 'employment', 'old', (
                      SELECT x.organisation FROM alumni_employment x WHERE x.person_id = em.person_key
                      AND x.end_date IS NULL AND x.id <= %(employment_before)s  -- not a row this import added
                      ORDER BY x.start_date DESC NULLS LAST, x.id DESC LIMIT 1
                  ), 'new', em.organisation)
                  ELSE jsonb_build_object('field', 'title', 'old', em.current_title, 'new', em.title) END)
              FROM import_employment em WHERE em.row_no = c.row_no AND em.action <> 'same'), '[]'::jsonb)
 || COALESCE((SELECT jsonb_agg(jsonb_build_object('field', 'note', 'old', NULL, 'new', nn.notes))
              FROM import_new_notes nn WHERE nn.row_no = c.row_no), '[]'::jsonb)
 || CASE WHEN c.kind = 'new_enrollment'
         THEN jsonb_build_array(jsonb_build_object('field', 'enrollment', 'old', NULL, 'new', s.student_id))
         ELSE '[]'::jsonb END
"""


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
            cursor.execute(f"CREATE TEMP TABLE {STAGE} ({_STAGE_DDL}) ON COMMIT DROP")
            cursor.execute(
                "CREATE TEMP TABLE import_new_refs (placeholder bigint PRIMARY KEY, name text, id bigint) "
                "ON COMMIT DROP"
            )

    def stage(self, rows: Iterable, *, formatted: bool = False) -> int:
        """COPY staged rows (tuples, or chunks of ready COPY text with ``formatted``) into the staging table."""
        source = _CopySource(rows, formatted=formatted)
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
            cursor.execute(_DUPLICATES)
            cursor.execute(_NAMESAKES)
            cursor.execute("ANALYZE import_duplicates")
            cursor.execute("ANALYZE import_namesakes")
            cursor.execute("SELECT EXISTS (SELECT 1 FROM alumni_person)")
            anyone = cursor.fetchone()[0]
            cursor.execute(_CLASSIFY.format(namesake_joins=_NAMESAKES_ON_RECORD if anyone else _NO_ONE_ON_RECORD))
            cursor.execute("CREATE INDEX ON import_class (row_no)")
            cursor.execute("ANALYZE import_class")
            for sql in (
                _MULTI,
                _PERSON_ROWS,
                _PERSON_CHANGES,
                _ENROLLMENT_CHANGES,
                _new_contacts(self.contact_kinds),
                _EMPLOYMENT,
                _NEW_NOTES if self.with_notes else f"{_NEW_NOTES} AND false",  # same columns, no rows
            ):
                cursor.execute(sql)
            for table in ("import_person_changes", "import_enrollment_changes", "import_new_contacts"):
                cursor.execute(f"CREATE INDEX ON {table} (row_no)")
            cursor.execute("CREATE INDEX ON import_employment (row_no)")
            cursor.execute(_FINAL_KINDS)

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
                f"""SELECT c.row_no, s.student_id, s.name, c.person_key, {_ROW_CHANGES}
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
        rebuild = self._maybe_drop_indexes(new_people, bulk_min_rows)
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
                    FROM ({_contacts_of(new_only, self.contact_kinds)}) c {new_person_join("c")}
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
                    FROM ({_employers_of(new_only)}) e {new_person_join("e")}
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
                        FROM ({_notes_of(new_only)}) n {new_person_join("n")}
                        UNION ALL
                        SELECT now(), now(), nn.person_key, %(actor)s::bigint, nn.notes FROM import_new_notes nn""",  # noqa: S608
                    {**params, "actor": actor_id},
                )
                written["notes"] = cursor.rowcount
            if rebuild:
                self._rebuild_indexes(rebuild)
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
                    CROSS JOIN LATERAL jsonb_array_elements({_ROW_CHANGES}) ch
                    WHERE c.kind IN ('{m.UPDATE}', '{m.NEW_ENROLLMENT}')
                    GROUP BY c.person_key
                ) per
                JOIN alumni_person p ON p.id = per.person_key""",  # noqa: S608
            {"actor": actor_id, "reason": audit_reason[:255], "employment_before": employment_before},
        )
        written["audit_rows"] = cursor.rowcount

    # --- first loads ----------------------------------------------------------------------
    def _maybe_drop_indexes(self, new_people: int, min_rows: int) -> dict | None:
        """Drop secondary indexes and foreign keys of the alumni tables for a first load (see settings).

        Inside a savepoint with a short lock timeout: a table in use by someone else means the
        ordinary (slower) path instead. The definitions are restored by ``_rebuild_indexes`` in the
        same transaction, so a rollback leaves the schema exactly as it was.
        """
        if not min_rows or new_people < min_rows:
            return None
        with self._cursor() as cursor:
            cursor.execute("SELECT count(*) FROM (SELECT 1 FROM alumni_person LIMIT %s) t", [min_rows])
            if cursor.fetchone()[0] >= min_rows:
                return None
            cursor.execute(
                """SELECT n.nspname, ci.relname, pg_get_indexdef(i.indexrelid)
                   FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
                   JOIN pg_namespace n ON n.oid = ci.relnamespace
                   WHERE i.indrelid = ANY(%s::regclass[])
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)""",
                [list(_LIVE_TABLES)],
            )
            indexes = cursor.fetchall()
            # Foreign keys first, then unique constraints (student ID, contact per person): rebuilding a
            # unique index by sorting is much cheaper than checking it row by row, and it still
            # refuses the whole load if a duplicate got in.
            cursor.execute(
                """SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                   FROM pg_constraint c WHERE c.contype IN ('f', 'u') AND c.conrelid = ANY(%s::regclass[])
                   ORDER BY c.contype = 'u', c.conname""",
                [list(_LIVE_TABLES)],
            )
            foreign_keys = cursor.fetchall()
            qn = self.connection.ops.quote_name
            # Deferred checks queued earlier in this transaction (the new majors' and classes' foreign
            # keys) would make PostgreSQL refuse to drop constraints that share their tables.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SAVEPOINT import_bulk_load")
            try:
                cursor.execute("SET LOCAL lock_timeout = '3s'")
                for table, name, _definition in foreign_keys:
                    cursor.execute(f"ALTER TABLE {qn(table)} DROP CONSTRAINT {qn(name)}")
                for schema, name, _definition in indexes:
                    cursor.execute(f"DROP INDEX {qn(schema)}.{qn(name)}")
                cursor.execute("SET LOCAL lock_timeout = 0")
            except DatabaseError:
                cursor.execute("ROLLBACK TO SAVEPOINT import_bulk_load")
                cursor.execute("SET LOCAL lock_timeout = 0")
                logger.warning("import: alumni tables busy, loading without an index rebuild", exc_info=True)
                return None
            cursor.execute("RELEASE SAVEPOINT import_bulk_load")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        return {"indexes": indexes, "foreign_keys": foreign_keys}

    def _rebuild_indexes(self, dropped: dict) -> None:
        qn = self.connection.ops.quote_name
        with self._cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for _schema, _name, definition in dropped["indexes"]:
                cursor.execute(definition)  # pg_get_indexdef() output, from the catalog
            # Unique constraints back before the foreign keys (the reverse order of dropping).
            for table, name, definition in reversed(dropped["foreign_keys"]):
                cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")


def _default_country() -> str:
    from apps.alumni.models import Person

    return Person._meta.get_field("country").default
