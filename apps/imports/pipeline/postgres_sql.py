"""The set-based SQL of the PostgreSQL backend: classifying the staged rows and what they change.

Static text over the staging table and the temporary tables the backend creates in the job's
transaction; values are bound parameters. Kept apart from the backend so that each statement can
be read next to the others it depends on.
"""

from __future__ import annotations

from . import matching as m
from .rows import CONTACT_KINDS, STAGE_COLUMNS

STAGE = "import_stage"
STAGE_DDL = ", ".join(f"{name} {type_}" for name, type_ in STAGE_COLUMNS)

# Student IDs given on more than one row (the first row counts), and (name, birth date) pairs on
# more than one row: hash aggregates over the staging table, small results, no sort of it all.
DUPLICATES = f"""
CREATE TEMP TABLE import_duplicates ON COMMIT DROP AS
SELECT student_id, min(row_no) AS first_row FROM {STAGE} GROUP BY student_id HAVING count(*) > 1
"""  # noqa: S608
NAMESAKES = f"""
CREATE TEMP TABLE import_namesakes ON COMMIT DROP AS
SELECT name, birth_date, min(row_no) AS head FROM {STAGE}
WHERE birth_date IS NOT NULL GROUP BY name, birth_date HAVING count(*) > 1
"""  # noqa: S608

# New people: rows with a birth date group by (name, birth date); the group's first row (whatever
# became of it) is the key of its person, negative until real ids are drawn. Rows without a birth
# date stand alone.
CLASSIFY = f"""
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
NAMESAKES_ON_RECORD = """
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
NO_ONE_ON_RECORD = """
CROSS JOIN (SELECT 0::bigint AS n, NULL::bigint AS pid) nb
LEFT JOIN (SELECT NULL::bigint AS id) pe ON FALSE"""

_NAMING = f"('{m.MATCHED}', '{m.NEW_ENROLLMENT}', '{m.NEW_PERSON}')"  # rows that name a person to write

# People named by more than one row of the file. Only their rows need de-duplicating (one set of
# person fields, one copy of each contact); every other person's rows go through without a sort.
MULTI = f"""
CREATE TEMP TABLE import_multi ON COMMIT DROP AS
SELECT person_key FROM import_class WHERE kind IN {_NAMING} GROUP BY person_key HAVING count(*) > 1
"""  # noqa: S608

# The row whose person fields are applied: the last row of the file naming that person.
PERSON_ROWS = f"""
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
PERSON_CHANGES = f"""
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
ENROLLMENT_CHANGES = f"""
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


def contacts_of(kinds: str, contact_kinds: tuple[str, ...] = CONTACT_KINDS) -> str:
    """The contacts in the rows of ``kinds``, one per (person, kind, normalised value): the first row's.

    Only the ``contact_kinds`` the file has columns for are unpacked (a roster with a mobile and an
    email column unpacks two values a row, not five).
    """
    values = ", ".join(f"('{kind}', s.{kind}, s.{kind}_n)" for kind in contact_kinds if kind in CONTACT_KINDS)
    unpack = f"CROSS JOIN LATERAL (VALUES {values}) v(kind, value, norm)"
    return _deduplicated(_CONTACT_SELECT, "c.person_key, v.kind, v.norm", "c.row_no", kinds, unpack, "AND v.norm <> ''")


def employers_of(kinds: str) -> str:
    """The employers in the rows of ``kinds``, one per (person, organisation): the last row's title."""
    return _deduplicated(
        "c.person_key, c.row_no, s.organisation, s.title, s.city",
        "c.person_key, s.organisation",
        "c.row_no DESC",
        kinds,
        where="AND s.organisation <> ''",
    )


def notes_of(kinds: str) -> str:
    return _deduplicated(
        "c.person_key, c.row_no, s.notes", "c.person_key, s.notes", "c.row_no", kinds, where="AND s.notes <> ''"
    )


# What the rows would add to people already in the database (new people's rows are written
# straight from the staging table): contacts they do not have yet, employers, notes.
def new_contacts(contact_kinds: tuple[str, ...]) -> str:
    return f"""
CREATE TEMP TABLE import_new_contacts ON COMMIT DROP AS
SELECT * FROM ({contacts_of(_EXISTING, contact_kinds)}) candidate
WHERE NOT EXISTS (
    SELECT 1 FROM alumni_contactchannel y
    WHERE y.person_id = candidate.person_key AND y.kind = candidate.kind AND y.value_normalised = candidate.norm
)
"""  # noqa: S608


# Employer: a new Employment unless the person already has an open one (no end date) at that
# organisation; there, another title updates the title.
EMPLOYMENT = f"""
CREATE TEMP TABLE import_employment ON COMMIT DROP AS
SELECT r.person_key, r.row_no, r.organisation, r.title, r.city, same.id AS current_id, same.title AS current_title,
       CASE WHEN same.id IS NULL THEN 'add'
            WHEN r.title <> '' AND r.title <> same.title THEN 'retitle' ELSE 'same' END AS action
FROM ({employers_of(_EXISTING)}) r
LEFT JOIN LATERAL (
    SELECT x.id, x.title FROM alumni_employment x
    WHERE x.person_id = r.person_key AND x.end_date IS NULL AND x.organisation = r.organisation
    ORDER BY x.id DESC LIMIT 1
) same ON TRUE
"""  # noqa: S608

NEW_NOTES = f"""
CREATE TEMP TABLE import_new_notes ON COMMIT DROP AS
SELECT * FROM ({notes_of(_EXISTING)}) candidate
WHERE NOT EXISTS (
    SELECT 1 FROM alumni_staffnote x WHERE x.person_id = candidate.person_key AND x.text = candidate.notes
)
"""  # noqa: S608

# Matched rows that change something become updates; the rest stay "matched", i.e. unchanged.
FINAL_KINDS = f"""
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
ROW_CHANGES = """
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
