"""manage.py match_list PATH --json: the JSON shape, row numbers, exit codes."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.matching.models import MatchJob
from tests.matching.factories import ACADEMICIAN_ROW, write_csv, write_xlsx

pytestmark = pytest.mark.django_db


def _run(*args) -> tuple[int, dict | str]:
    out = StringIO()
    try:
        call_command("match_list", *args, stdout=out, stderr=StringIO())
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    text = out.getvalue()
    return code, json.loads(text) if "--json" in args else text


def test_json_shape_rows_and_candidates_best_first(tmp_path, academician, namesake):
    path = write_xlsx(tmp_path / "院士.xlsx", [ACADEMICIAN_ROW, {"姓名": "张伟"}, {"姓名": "无此人"}])
    code, data = _run(str(path), "--json", "--kind", "cae")
    assert code == 0
    assert [(r["row"], r["band"]) for r in data["rows"]] == [(2, "high"), (3, "review"), (4, "none")]
    first = data["rows"][0]
    assert set(first) == {"row", "band", "candidates"}
    assert [set(c) for c in first["candidates"]] == [{"student_ids", "score", "evidence"}] * 2
    assert first["candidates"][0]["student_ids"] == ["1958050101"]
    scores = [c["score"] for c in first["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert first["candidates"][0]["evidence"]["name"]["points"] == 40
    assert data["rows"][2]["candidates"] == []
    assert MatchJob.objects.get().source == MatchJob.Source.COMMAND


def test_dry_run_writes_no_job(tmp_path, academician):
    code, data = _run(str(write_csv(tmp_path / "l.csv", [ACADEMICIAN_ROW])), "--json", "--dry-run")
    assert code == 0
    assert data["rows"][0]["band"] in ("high", "review")
    assert not MatchJob.objects.exists()


def test_refused_file_exits_1(tmp_path):
    path = write_csv(tmp_path / "l.csv", [{"单位": "x"}], headers=["单位"])
    code, data = _run(str(path), "--json")
    assert code == 1
    assert data["rows"] == []
    assert data["refused"]["code"] == "no_name_column"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert _run(str(empty), "--json")[0] == 1


def test_plain_summary(tmp_path, academician):
    code, text = _run(str(write_csv(tmp_path / "l.csv", [ACADEMICIAN_ROW])), "--kind", "cae")
    assert code == 0
    assert "1 rows: 1 high confidence" in text
