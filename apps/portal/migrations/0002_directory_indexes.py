"""Indexes for the alumni directory on the alumni tables (PostgreSQL only).

They live here because only the directory needs them. Partial indexes cover just the people listed
in the directory; names are indexed in byte order (COLLATE "C") so one index serves both a prefix
match and the result order, and a LIMIT stops after a page. CONCURRENTLY is not used: on a fresh
or small database it makes no difference, and on the production table the office runs the
migration in a quiet hour (the import pipeline restores these from the catalogue after a bulk load).
"""

from django.db import migrations

_LISTED = "WHERE show_in_directory AND NOT is_deceased"
INDEXES = {
    "portal_dir_name_idx": f'ON alumni_person ((name COLLATE "C"), id) {_LISTED}',
    "portal_dir_pinyin_idx": f'ON alumni_person ((name_pinyin COLLATE "C"), id) {_LISTED}',
    "portal_dir_initials_idx": f'ON alumni_person (name_initials, (name_pinyin COLLATE "C"), id) {_LISTED}',
    "portal_dir_city_idx": f'ON alumni_person (city, (name COLLATE "C"), id) {_LISTED}',
    "portal_dir_employer_idx": 'ON alumni_employment ((organisation COLLATE "C"), person_id) WHERE end_date IS NULL',
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} {definition}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0001_initial"),
        ("alumni", "0003_enrollment_college_year_person_index"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
