"""pg_trgm for later fuzzy search, and an append-only audit table (PIPL Art. 55-56 records).

TRUNCATE stays possible for the table owner (test teardown); production runs as a role
without TRUNCATE rights on this table.

Both are PostgreSQL-only; on SQLite (development) these operations do nothing.
"""

from django.db import migrations

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'core_auditevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER core_auditevent_no_update_delete
    BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only();
"""

DROP_APPEND_ONLY = """
DROP TRIGGER IF EXISTS core_auditevent_no_update_delete ON core_auditevent;
DROP FUNCTION IF EXISTS core_auditevent_append_only();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [
        migrations.RunPython(
            _on_postgres("CREATE EXTENSION IF NOT EXISTS pg_trgm;"), migrations.RunPython.noop, elidable=False
        ),
        migrations.RunPython(_on_postgres(APPEND_ONLY), _on_postgres(DROP_APPEND_ONLY)),
    ]
