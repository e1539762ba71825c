"""A first load into (almost) empty alumni tables: drop their secondary indexes and constraints,
then rebuild them before commit (``IMPORT_BULK_LOAD_MIN_ROWS``).

Building an index by sorting is much cheaper than maintaining it row by row; the drop and the
rebuild share the job's transaction, so a rollback leaves the schema exactly as it was. The only
identifiers used in the DDL come from the system catalog. ``cursors``: the backend's cursor factory
(a context manager yielding a timed cursor).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)

_LIVE_TABLES = ("alumni_person", "alumni_enrollment", "alumni_contactchannel", "alumni_employment")


def drop_for_bulk_load(cursors, new_people: int, min_rows: int) -> dict | None:
    """Drop secondary indexes and foreign keys of the alumni tables for a first load (see settings).

    Inside a savepoint with a short lock timeout: a table in use by someone else means the
    ordinary (slower) path instead. The definitions are restored by ``rebuild_after_bulk_load`` in the
    same transaction, so a rollback leaves the schema exactly as it was.
    """
    if not min_rows or new_people < min_rows:
        return None
    with cursors() as cursor:
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
        qn = connection.ops.quote_name
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


def rebuild_after_bulk_load(cursors, dropped: dict) -> None:
    qn = connection.ops.quote_name
    with cursors() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _schema, _name, definition in dropped["indexes"]:
            cursor.execute(definition)  # pg_get_indexdef() output, from the catalog
        # Unique constraints back before the foreign keys (the reverse order of dropping).
        for table, name, definition in reversed(dropped["foreign_keys"]):
            cursor.execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
