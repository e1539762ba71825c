"""Consent history is append-only: PostgreSQL refuses UPDATE on its rows.

DELETE stays possible, because the rows go with their person when a record is erased (PIPL Art. 47).
PostgreSQL only; on SQLite (development) this does nothing.
"""

from django.db import migrations

NO_UPDATE = """
CREATE OR REPLACE FUNCTION notifications_consentevent_no_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'notifications_consentevent is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER notifications_consentevent_no_update
    BEFORE UPDATE ON notifications_consentevent
    FOR EACH ROW EXECUTE FUNCTION notifications_consentevent_no_update();
"""

DROP_NO_UPDATE = """
DROP TRIGGER IF EXISTS notifications_consentevent_no_update ON notifications_consentevent;
DROP FUNCTION IF EXISTS notifications_consentevent_no_update();
"""


def _on_postgres(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("notifications", "0001_initial")]

    operations = [migrations.RunPython(_on_postgres(NO_UPDATE), _on_postgres(DROP_NO_UPDATE))]
