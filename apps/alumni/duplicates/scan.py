# ruff: noqa: S608 - SQL is built from model table names and fixed fragments; values are parameters
"""The full duplicate scan: set-based SQL over every person, step by step, recording progress.

Every rule is one ``INSERT … SELECT`` into a session-local temporary table of signals (person a,
person b, rule, detail). Groups come from ``GROUP BY`` on indexed keys and pairs from self-joins
inside those groups, so the number of statements does not depend on the number of people, and no
row of a person ever reaches Python. Signals are then folded into one row per pair (confidence
and evidence computed in SQL) and upserted into ``DuplicatePair`` in one short transaction.
"""

import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.locks import advisory_xact_lock

from ..models import ContactChannel, DuplicatePair, DuplicateScan, Enrollment, Person, SchoolClass
from .rules import ACTIVE_CONTACT_STATUSES, CONTACT_RULES, confidence_sql, mask_contact

# Taken by the scan while it writes pairs and by person_merge while it moves them.
PAIRS_LOCK = "alumni.duplicate_pairs"

P = Person._meta.db_table
E = Enrollment._meta.db_table
CC = ContactChannel._meta.db_table
SC = SchoolClass._meta.db_table
DP = DuplicatePair._meta.db_table

_TEMP_TABLES = ("tmp_dup_group", "tmp_dup_class_group", "tmp_dup_signal", "tmp_dup_former", "tmp_dup_pair")

# What differs between PostgreSQL and SQLite; everything else is common SQL.
_DIALECT = {
    "postgresql": {
        "temp_schema": "pg_temp",
        "strpos": "strpos",
        "date_text": "to_char({}, 'YYYY-MM-DD')",
        "evidence_type": "jsonb",
        "evidence_agg": "jsonb_agg(jsonb_build_object('rule', rule, 'detail', detail) ORDER BY rule, detail)",
        "split_former": f"""
            INSERT INTO tmp_dup_former (id, birth_date, former)
            SELECT p.id, p.birth_date, btrim(x.n)
            FROM {P} p
            CROSS JOIN LATERAL unnest(
                string_to_array(replace(replace(p.former_names, '，', ','), '、', ','), ',')
            ) AS x(n)
            WHERE p.former_names <> '' AND btrim(x.n) <> ''
        """,
    },
    "sqlite": {
        "temp_schema": "temp",
        "strpos": "instr",
        "date_text": "{}",
        "evidence_type": "text",
        # Without ORDER BY inside aggregates (SQLite < 3.44), the ordered subquery fixes the order.
        "evidence_agg": "json_group_array(json_object('rule', rule, 'detail', detail))",
        "split_former": f"""
            WITH RECURSIVE split(id, birth_date, part, rest) AS (
                SELECT id, birth_date, '', replace(replace(former_names, '，', ','), '、', ',') || ','
                FROM {P} WHERE former_names <> ''
                UNION ALL
                SELECT id, birth_date, trim(substr(rest, 1, instr(rest, ',') - 1)), substr(rest, instr(rest, ',') + 1)
                FROM split WHERE rest <> ''
            )
            INSERT INTO tmp_dup_former (id, birth_date, former)
            SELECT id, birth_date, part FROM split WHERE part <> ''
        """,
    },
}

STEP_LABELS = {
    "id_number": _("ID-card numbers"),
    "contacts": _("Phones, emails and WeChat IDs"),
    "name_birth": _("Names and birth dates"),
    "name_class": _("Names within classes"),
    "former_names": _("Former names"),
    "pairs": _("Scoring pairs"),
    "save": _("Saving pairs"),
}


@dataclass
class ScanResult:
    pairs_found: int
    pairs_new: int
    pairs_removed: int
    summary: dict


def _dialect() -> dict[str, str]:
    try:
        return _DIALECT[connection.vendor]
    except KeyError as exc:  # pragma: no cover - only the two databases we run on
        raise ImproperlyConfigured(f"duplicate scan supports PostgreSQL and SQLite, not {connection.vendor}") from exc


def _execute(sql: str, params: list | tuple = ()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _fetch(sql: str, params: list | tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _drop_temp_tables() -> None:
    schema = _dialect()["temp_schema"]
    for table in _TEMP_TABLES:
        _execute(f"DROP TABLE IF EXISTS {schema}.{table}")


def _create_temp_tables() -> None:
    evidence_type = _dialect()["evidence_type"]
    _execute("CREATE TEMPORARY TABLE tmp_dup_group (kind text NOT NULL, k text NOT NULL, n bigint NOT NULL)")
    _execute(
        "CREATE TEMPORARY TABLE tmp_dup_class_group (class_id bigint NOT NULL, name text NOT NULL, n bigint NOT NULL)"
    )
    _execute("CREATE TEMPORARY TABLE tmp_dup_signal (a bigint NOT NULL, b bigint NOT NULL, rule text, detail text)")
    _execute("CREATE TEMPORARY TABLE tmp_dup_former (id bigint NOT NULL, birth_date date, former text)")
    _execute(
        "CREATE TEMPORARY TABLE tmp_dup_pair "
        f"(a bigint NOT NULL, b bigint NOT NULL, confidence smallint NOT NULL, evidence {evidence_type})"
    )


# --- the rules ----------------------------------------------------------------------------


def _skipped(sql_groups: str, params: list, rule: str, label_of: Callable[[str], str]) -> dict | None:
    """The groups above the size cap: how many, and the largest few (values masked)."""
    rows = _fetch(
        f"SELECT k, n, COUNT(*) OVER () FROM ({sql_groups}) big ORDER BY n DESC, k LIMIT 5",
        params,
    )
    if not rows:
        return None
    return {
        "rule": rule,
        "groups": rows[0][2],
        "largest": [{"value": label_of(key or ""), "people": count} for key, count, _total in rows],
    }


def _contact_rules(cap: int) -> list[dict]:
    """Shared phones, emails and WeChat IDs: one pass over the contacts groups all three kinds."""
    active = list(ACTIVE_CONTACT_STATUSES)
    kinds = [str(kind) for kind in CONTACT_RULES]
    _execute(
        f"""
        INSERT INTO tmp_dup_group (kind, k, n)
        SELECT kind, value_normalised, COUNT(*) FROM {CC}
        WHERE kind IN (%s, %s, %s) AND status IN (%s, %s) AND value_normalised <> ''
        GROUP BY kind, value_normalised HAVING COUNT(*) >= 2
        """,
        [*kinds, *active],
    )
    if connection.vendor == "postgresql":
        _execute("ANALYZE tmp_dup_group")
    strpos = _dialect()["strpos"]
    mask = f"""CASE
        WHEN g.kind = 'mobile' AND length(g.k) >= 11 THEN substr(g.k, 1, 3) || '****' || substr(g.k, length(g.k) - 3)
        WHEN g.kind = 'mobile' THEN '****'
        WHEN g.kind = 'email' AND {strpos}(g.k, '@') > 2
            THEN substr(g.k, 1, 2) || '***' || substr(g.k, {strpos}(g.k, '@'))
        ELSE substr(g.k, 1, 2) || '***' END"""
    _execute(
        f"""
        INSERT INTO tmp_dup_signal (a, b, rule, detail)
        SELECT c1.person_id, c2.person_id, g.kind, {mask}
        FROM tmp_dup_group g
        JOIN {CC} c1 ON c1.kind = g.kind AND c1.value_normalised = g.k AND c1.status IN (%s, %s)
        JOIN {CC} c2 ON c2.kind = g.kind AND c2.value_normalised = g.k AND c2.status IN (%s, %s)
            AND c2.person_id > c1.person_id
        WHERE g.n <= %s
        """,
        [*active, *active, cap],
    )
    rows = _fetch(
        """
        SELECT kind, k, n, groups FROM (
            SELECT kind, k, n, COUNT(*) OVER (PARTITION BY kind) AS groups,
                ROW_NUMBER() OVER (PARTITION BY kind ORDER BY n DESC, k) AS place
            FROM tmp_dup_group WHERE n > %s
        ) big WHERE place <= 5 ORDER BY kind, place
        """,
        [cap],
    )
    skipped: dict[str, dict] = {}
    for kind, value, count, groups in rows:
        entry = skipped.setdefault(kind, {"rule": kind, "groups": groups, "largest": []})
        entry["largest"].append({"value": mask_contact(kind, value), "people": count})
    return [skipped[kind] for kind in kinds if kind in skipped]


def _id_number_rule(cap: int) -> dict | None:
    groups = f"SELECT id_number_hash AS k, COUNT(*) AS n FROM {P} WHERE id_number_hash <> '' GROUP BY id_number_hash"
    _execute(
        f"""
        INSERT INTO tmp_dup_signal (a, b, rule, detail)
        SELECT p1.id, p2.id, 'id_number', ''
        FROM ({groups} HAVING COUNT(*) BETWEEN 2 AND %s) g
        JOIN {P} p1 ON p1.id_number_hash = g.k AND p1.id_number_hash <> ''
        JOIN {P} p2 ON p2.id_number_hash = g.k AND p2.id_number_hash <> '' AND p2.id > p1.id
        """,
        [cap],
    )
    return _skipped(f"{groups} HAVING COUNT(*) > %s", [cap], "id_number", lambda _v: "")


def _name_birth_rule(cap: int) -> dict | None:
    date_text = _dialect()["date_text"]
    groups = f"""
        SELECT name, birth_date, COUNT(*) AS n FROM {P}
        WHERE birth_date IS NOT NULL AND name <> '' GROUP BY name, birth_date
    """
    _execute(
        f"""
        INSERT INTO tmp_dup_signal (a, b, rule, detail)
        SELECT p1.id, p2.id, 'name_birth', g.name || ', ' || {date_text.format("g.birth_date")}
        FROM ({groups} HAVING COUNT(*) BETWEEN 2 AND %s) g
        JOIN {P} p1 ON p1.name = g.name AND p1.birth_date = g.birth_date
        JOIN {P} p2 ON p2.name = g.name AND p2.birth_date = g.birth_date AND p2.id > p1.id
        """,
        [cap],
    )
    big = (
        f"SELECT g.name || ', ' || {date_text.format('g.birth_date')} AS k, g.n FROM ({groups} HAVING COUNT(*) > %s) g"
    )
    return _skipped(big, [cap], "name_birth", str)


def _name_class_rule(cap: int) -> dict | None:
    """Namesakes in one class. Classes hold hundreds, so members are found by hash joins over
    (class, name) groups rather than by walking each class once per group."""
    _execute(
        f"""
        INSERT INTO tmp_dup_class_group (class_id, name, n)
        SELECT e.school_class_id, p.name, COUNT(DISTINCT e.person_id)
        FROM {E} e JOIN {P} p ON p.id = e.person_id
        WHERE e.school_class_id IS NOT NULL AND p.name <> ''
        GROUP BY e.school_class_id, p.name HAVING COUNT(DISTINCT e.person_id) >= 2
        """
    )
    if connection.vendor == "postgresql":
        _execute("ANALYZE tmp_dup_class_group")
    _execute(
        f"""
        WITH members AS (
            SELECT DISTINCT g.class_id, g.name, e.person_id
            FROM tmp_dup_class_group g
            JOIN {E} e ON e.school_class_id = g.class_id
            JOIN {P} p ON p.id = e.person_id AND p.name = g.name
            WHERE g.n <= %s
        )
        INSERT INTO tmp_dup_signal (a, b, rule, detail)
        SELECT m1.person_id, m2.person_id, 'name_class', m1.name || ', ' || sc.name
        FROM members m1
        JOIN members m2 ON m2.class_id = m1.class_id AND m2.name = m1.name AND m2.person_id > m1.person_id
        JOIN {SC} sc ON sc.id = m1.class_id
        """,
        [cap],
    )
    big = f"""
        SELECT g.name || ', ' || sc.name AS k, g.n
        FROM tmp_dup_class_group g JOIN {SC} sc ON sc.id = g.class_id WHERE g.n > %s
    """
    return _skipped(big, [cap], "name_class", str)


def _former_name_rules() -> None:
    """A former name of one person is another's name, with the same birth date or class as support.

    No size cap: each join is bounded by one (name, birth date) or one (class, name) group.
    """
    dialect = _dialect()
    _execute(dialect["split_former"])
    ordered = "CASE WHEN f.id < y.id THEN f.id ELSE y.id END, CASE WHEN f.id < y.id THEN y.id ELSE f.id END"
    birth = dialect["date_text"].format("f.birth_date")
    _execute(
        f"""
        INSERT INTO tmp_dup_signal (a, b, rule, detail)
        SELECT DISTINCT {ordered}, 'former_name_birth', f.former || ', ' || {birth}
        FROM tmp_dup_former f
        JOIN {P} y ON y.name = f.former AND y.birth_date = f.birth_date AND y.id <> f.id
        WHERE f.birth_date IS NOT NULL
        """
    )
    _execute(
        f"""
        INSERT INTO tmp_dup_signal (a, b, rule, detail)
        SELECT DISTINCT {ordered}, 'former_name_class', f.former || ', ' || sc.name
        FROM tmp_dup_former f
        JOIN {E} ef ON ef.person_id = f.id AND ef.school_class_id IS NOT NULL
        JOIN {SC} sc ON sc.id = ef.school_class_id
        JOIN {E} ey ON ey.school_class_id = ef.school_class_id AND ey.person_id <> f.id
        JOIN {P} y ON y.id = ey.person_id AND y.name = f.former
        """
    )


# --- pairs -----------------------------------------------------------------------------------


def _score_pairs() -> dict[str, int]:
    """Fold the signals into one row per pair; returns how many pairs each rule contributed to."""
    dialect = _dialect()
    _execute(
        f"""
        INSERT INTO tmp_dup_pair (a, b, confidence, evidence)
        SELECT a, b, {confidence_sql()}, {dialect["evidence_agg"]}
        FROM (SELECT DISTINCT a, b, rule, detail FROM tmp_dup_signal ORDER BY a, b, rule, detail) s
        GROUP BY a, b
        """
    )
    _execute("CREATE INDEX tmp_dup_pair_ab ON tmp_dup_pair (a, b)")
    if connection.vendor == "postgresql":
        _execute("ANALYZE tmp_dup_pair")  # temporary tables get no statistics otherwise
    rows = _fetch("SELECT rule, COUNT(*) FROM (SELECT DISTINCT a, b, rule FROM tmp_dup_signal) s GROUP BY rule")
    return dict(rows)


def _save_pairs() -> tuple[int, int]:
    """Replace the queue of pairs to review with this scan's; decisions stay. Returns (new, removed)."""
    now = timezone.now()
    pending = DuplicatePair.Status.PENDING.value
    with transaction.atomic():
        advisory_xact_lock(PAIRS_LOCK)
        removed = _execute(
            f"""
            DELETE FROM {DP} WHERE status = %s AND NOT EXISTS (
                SELECT 1 FROM tmp_dup_pair d WHERE d.a = {DP}.person_a_id AND d.b = {DP}.person_b_id
            )
            """,
            [pending],
        )
        # People merged or deleted since their signals were read are left out (the lock keeps
        # person_merge from deleting more until this transaction ends).
        alive = f"EXISTS (SELECT 1 FROM {P} pa WHERE pa.id = d.a) AND EXISTS (SELECT 1 FROM {P} pb WHERE pb.id = d.b)"
        (new,) = _fetch(
            f"""
            SELECT COUNT(*) FROM tmp_dup_pair d WHERE {alive} AND NOT EXISTS (
                SELECT 1 FROM {DP} p WHERE p.person_a_id = d.a AND p.person_b_id = d.b
            )
            """
        )[0]
        _execute(
            f"""
            INSERT INTO {DP} (created_at, updated_at, person_a_id, person_b_id, confidence, evidence, status)
            SELECT %s, %s, d.a, d.b, d.confidence, d.evidence, %s FROM tmp_dup_pair d WHERE {alive}
            ON CONFLICT (person_a_id, person_b_id) DO UPDATE
            SET confidence = excluded.confidence, evidence = excluded.evidence, updated_at = excluded.updated_at
            WHERE {DP}.confidence <> excluded.confidence OR {DP}.evidence <> excluded.evidence
            """,
            [now, now, pending],
        )
    return new, removed


# --- the scan ------------------------------------------------------------------------------


def scan_all(*, scan: DuplicateScan, report: Callable[[str, int], None]) -> ScanResult:
    """Run every rule over all people and refresh the pairs; ``report(step, percent)`` after each step."""
    started = time.monotonic()
    cap = scan.max_group_size
    steps: list[tuple[str, Callable[[], list[dict] | dict | None]]] = [
        ("id_number", lambda: _id_number_rule(cap)),
        ("contacts", lambda: _contact_rules(cap)),
        ("name_birth", lambda: _name_birth_rule(cap)),
        ("name_class", lambda: _name_class_rule(cap)),
        ("former_names", _former_name_rules),
    ]
    total = len(steps) + 2
    skipped: list[dict] = []
    _drop_temp_tables()
    _create_temp_tables()
    try:
        for index, (name, run) in enumerate(steps):
            report(name, round(100 * index / total))
            result = run()
            skipped.extend(result if isinstance(result, list) else [result] if result else [])
        report("pairs", round(100 * len(steps) / total))
        by_rule = _score_pairs()
        report("save", round(100 * (len(steps) + 1) / total))
        new, removed = _save_pairs()
    except BaseException:
        with suppress(DatabaseError):  # an aborted transaction cannot drop; the next scan will
            _drop_temp_tables()
        raise
    _drop_temp_tables()
    if connection.vendor == "postgresql":
        # A first scan adds hundreds of thousands of rows at once; without fresh statistics the
        # planner takes the queue for a few rows and the scoped review list gets slow.
        _execute(f"ANALYZE {DP}")
    counts = dict(
        DuplicatePair.objects.filter(status=DuplicatePair.Status.PENDING)
        .values_list("confidence")
        .annotate(n=Count("id"))
        .values_list("confidence", "n")
    )
    by_confidence = {c.name.lower(): counts.get(c.value, 0) for c in reversed(DuplicatePair.Confidence)}
    summary = {
        "people": Person.objects.count(),
        "by_confidence": by_confidence,
        "by_rule": by_rule,
        "skipped": skipped,
        "seconds": round(time.monotonic() - started, 2),
    }
    return ScanResult(pairs_found=sum(by_confidence.values()), pairs_new=new, pairs_removed=removed, summary=summary)
