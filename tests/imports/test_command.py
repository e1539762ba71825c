"""manage.py import_alumni: the JSON contract of ARCHITECTURE.md, exit codes, --dry-run, --mapping."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from apps.alumni.models import Enrollment, Person
from apps.imports.models import ImportJob
from tests.imports.filemakers import sample_rows, write_roster_csv, write_roster_xlsx

pytestmark = pytest.mark.django_db

# The shared fixtures (colleges, media_root, on_postgres) live beside the factories.
pytest_plugins = ["tests.imports.factories"]

KEYS = ["created", "updated", "unchanged", "flagged", "errors"]


def _run(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("import_alumni", *map(str, args), stdout=out, stderr=StringIO())
    except SystemExit as exc:
        return exc.code, out.getvalue()
    return 0, out.getvalue()


def _bad_file(tmp_path: Path) -> Path:
    rows = sample_rows(20, seed=4)
    rows[2]["出生日期"] = "2019-13-45"
    rows[9]["学院"] = "不存在学院"
    return write_roster_csv(tmp_path / "roster.csv", rows)


def test_command_json_lists_bad_rows_and_exits_zero(tmp_path, colleges):
    code, out = _run(_bad_file(tmp_path), "--json")

    assert code == 0
    result = json.loads(out)
    assert list(result) == KEYS
    assert {k: result[k] for k in KEYS[:4]} == {"created": 18, "updated": 0, "unchanged": 0, "flagged": 0}
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(4, "birth_date"), (11, "college")]
    assert all(set(e) == {"row", "field", "message"} for e in result["errors"])
    assert Enrollment.objects.count() == 18
    job = ImportJob.objects.get()
    assert job.source == ImportJob.Source.COMMAND
    assert job.status == ImportJob.Status.DONE
    assert job.error_count == 2
    assert job.error_report


def test_command_again_reports_everything_unchanged(tmp_path, colleges):
    path = write_roster_xlsx(tmp_path / "roster.xlsx", sample_rows(15, seed=6, native=True))
    _run(path, "--json")
    code, out = _run(path, "--json")

    assert code == 0
    assert json.loads(out) == {"created": 0, "updated": 0, "unchanged": 15, "flagged": 0, "errors": []}


def test_command_refused_file_exits_one_with_the_reason(tmp_path, colleges):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"")
    code, out = _run(path, "--json")

    assert code == 1
    result = json.loads(out)
    assert {k: result[k] for k in KEYS[:4]} == dict.fromkeys(KEYS[:4], 0)
    assert result["refused"]["code"] == "empty"
    assert result["errors"] == [{"row": None, "field": "", "message": result["refused"]["message"]}]
    assert Person.objects.count() == 0
    assert ImportJob.objects.get().status == ImportJob.Status.REFUSED


def test_command_missing_required_column_names_the_field_on_row_one(tmp_path, colleges):
    rows = [{k: v for k, v in row.items() if k != "学号"} for row in sample_rows(3)]
    code, out = _run(write_roster_csv(tmp_path / "roster.csv", rows), "--json", "--dry-run")

    assert code == 1
    result = json.loads(out)
    assert result["refused"]["code"] == "missing_columns"
    assert [(e["row"], e["field"]) for e in result["errors"]] == [(1, "student_id")]


def test_command_dry_run_reports_the_same_and_writes_nothing(tmp_path, colleges):
    path = _bad_file(tmp_path)
    code, dry = _run(path, "--json", "--dry-run")

    assert code == 0
    assert Person.objects.count() == 0
    assert not ImportJob.objects.exists()
    _code, real = _run(path, "--json")
    assert json.loads(dry) == json.loads(real)


def test_command_mapping_option_places_unknown_columns(tmp_path, colleges):
    rows = sample_rows(4, seed=8)
    for row in rows:
        row["Matric"] = row.pop("学号")
    path = write_roster_csv(tmp_path / "roster.csv", rows, headers=["Matric", *[h for h in rows[0] if h != "Matric"]])
    assert _run(path, "--json")[0] == 1  # no student ID column

    code, out = _run(path, "--json", "--mapping", json.dumps({"Matric": "student_id"}))
    assert code == 0
    assert json.loads(out)["created"] == 4
    with pytest.raises(CommandError):
        _run(path, "--mapping", "{not json")
    with pytest.raises(CommandError):
        _run(path, "--mapping", json.dumps({"Matric": "no_such_field"}))


def test_command_human_summary(tmp_path, colleges):
    code, out = _run(_bad_file(tmp_path))
    assert code == 0
    assert "18 created" in out
    assert "2 rejected" in out
    assert "2019-13-45" in out
    code, out = _run(_bad_file(tmp_path))
    assert "Nothing changed" in out


# --- as a real process --------------------------------------------------------------------------


def _database_url(tmp_path: Path) -> str:
    """A database the child process can open: this test's PostgreSQL database, or a fresh SQLite file."""
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        auth = quote(db.get("USER") or "", safe="") + "@" if db.get("USER") else ""
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{quote(db['NAME'], safe='')}"
    url = f"sqlite:///{tmp_path / 'child.sqlite3'}"
    _manage(url, "migrate", "--noinput", "-v", "0")
    _manage(url, "shell", "-c", "from tests.alumni.factories import CollegeFactory as F; "
            "F(code='CS', name='计算机学院'); F(code='ME', name='机械工程学院')")  # fmt: skip
    return url


def _manage(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "alumni_portal.settings_test", "REDIS_URL": ""}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.django_db(transaction=True)
def test_command_exit_codes_as_a_process(tmp_path, colleges):
    url = _database_url(tmp_path)
    done = _manage(url, "import_alumni", str(_bad_file(tmp_path)), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["created"] == 18
    assert len(result["errors"]) == 2

    refused = tmp_path / "fake.xlsx"
    refused.write_bytes(b"MZ" + bytes(5000))
    done = _manage(url, "import_alumni", str(refused), "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["refused"]["code"]
