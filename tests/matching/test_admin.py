"""The matching admin through the test client: upload, progress, review, decisions, bulk accept, roles."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.alumni.models import Honour
from apps.matching.admin import evidence_rows
from apps.matching.models import Decision, MatchCandidate, MatchJob, MatchRow
from apps.matching.services import match_file_run
from tests.matching.factories import ACADEMICIAN_ROW, alumnus, write_csv

pytestmark = pytest.mark.django_db


def _url(name: str, *args) -> str:
    return reverse(f"admin:matching_matchjob_{name}", args=args)


def _upload(client, path, capture, **data):
    with capture(execute=True):
        return client.post(
            _url("upload"),
            {"file": SimpleUploadedFile(path.name, path.read_bytes()), "honour_kind": "cae", **data},
            HTTP_ACCEPT_LANGUAGE="en",
        )


@pytest.fixture
def job(tmp_path, academician, namesake):
    """A finished job (run as the command runs it: the whole school) with one high row and one to review."""
    path = write_csv(tmp_path / "list.csv", [ACADEMICIAN_ROW, {"姓名": "张伟"}])
    return match_file_run(path=path, honour_kind="cae").job


def test_upload_progress_review_confirm_and_accept(
    client, staff, tmp_path, academician, namesake, media_root, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    assert client.get(_url("upload")).status_code == 200
    path = write_csv(tmp_path / "院士.csv", [ACADEMICIAN_ROW, {"姓名": "张伟"}])
    response = _upload(client, path, django_capture_on_commit_callbacks, honour_title="中国工程院院士")
    job = MatchJob.objects.get()
    assert response.status_code == 302
    assert response.url == _url("change", job.pk)
    assert job.created_by == staff

    page = client.get(_url("change", job.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert "院士.csv" in html
    assert _url("accept_high", job.pk) in html
    progress = client.get(_url("progress", job.pk)).json()
    assert (progress["status"], progress["percent"], progress["counts"]["high"]) == ("done", 100, 1)

    review = client.get(_url("review", job.pk) + "?row=3")
    html = review.content.decode()
    assert review.status_code == 200
    assert 'data-key="1"' in html
    assert 'data-key="r"' in html
    assert "matching/review.js" in html
    assert "<script>" not in html  # CSP: scripts come from static files only

    candidate = MatchCandidate.objects.get(row__job=job, row__row=3, person=namesake)
    decided = client.post(_url("decide", job.pk, candidate.row_id), {"action": "confirm", "candidate": candidate.pk})
    assert decided.status_code == 302
    assert Honour.objects.filter(person=namesake, kind="cae").count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        accepted = client.post(_url("accept_high", job.pk))
    assert accepted.status_code == 302
    assert Honour.objects.filter(person=academician).count() == 1
    assert MatchRow.objects.filter(job=job, resolution=MatchRow.Resolution.PENDING).count() == 0


def test_no_match_and_reject_actions(client, staff, job, namesake):
    client.force_login(staff)
    row = MatchRow.objects.get(job=job, row=3)
    candidate = row.candidates.get(person=namesake)
    assert (
        client.post(_url("decide", job.pk, row.pk), {"action": "reject", "candidate": candidate.pk}).status_code == 302
    )
    candidate.refresh_from_db()
    assert candidate.decision == Decision.REJECTED
    assert client.post(_url("decide", job.pk, row.pk), {"action": "no_match"}).status_code == 302
    assert MatchRow.objects.get(pk=row.pk).resolution == MatchRow.Resolution.NO_MATCH
    assert not Honour.objects.exists()
    assert client.get(_url("decide", job.pk, row.pk)).status_code == 405


def test_upload_too_large_is_refused_before_reading(client, staff, tmp_path, settings, media_root):
    settings.MATCHING_MAX_BYTES = 100
    client.force_login(staff)
    path = write_csv(tmp_path / "big.csv", [{"姓名": "张伟" * 10}] * 20)
    response = client.post(_url("upload"), {"file": SimpleUploadedFile("big.csv", path.read_bytes())})
    assert response.status_code == 413
    assert not MatchJob.objects.exists()


@pytest.mark.parametrize("role", ["liaison", "chapter_leader"])
def test_wrong_staff_roles_get_403(client, request, role, job):
    client.force_login(request.getfixturevalue(role))
    row = MatchRow.objects.get(job=job, row=2)
    for url in (_url("changelist"), _url("upload"), _url("change", job.pk), _url("progress", job.pk),
                _url("review", job.pk)):  # fmt: skip
        assert client.get(url).status_code == 403, url
    assert client.post(_url("decide", job.pk, row.pk), {"action": "no_match"}).status_code == 403
    assert client.post(_url("accept_high", job.pk)).status_code == 403
    assert not Honour.objects.exists()


def test_alumni_and_anonymous_are_sent_to_sign_in(client, alumnus, job):
    for user in (alumnus, None):
        if user:
            client.force_login(user)
        response = client.get(_url("review", job.pk))
        assert response.status_code == 302
        assert "login" in response.url


def test_college_staff_see_only_their_jobs_and_people(client, college_staff, college, job, tmp_path):
    client.force_login(college_staff)
    assert client.get(_url("change", job.pk)).status_code == 404  # the office's job
    assert client.get(_url("progress", job.pk)).status_code == 404
    row = MatchRow.objects.get(job=job, row=2)
    assert client.post(_url("decide", job.pk, row.pk), {"action": "no_match"}).status_code == 404

    mine = alumnus("张伟", born=date(1940, 3, 1), college=college)
    own = MatchJob.objects.create(original_name="mine.csv", created_by=college_staff, status=MatchJob.Status.DONE)
    own_row = MatchRow.objects.create(job=own, row=2, name="张伟")
    theirs = MatchCandidate.objects.create(row=own_row, person_id=job.rows.get(row=2).candidates.first().person_id,
                                           rank=1, score=50)  # fmt: skip
    MatchCandidate.objects.create(row=own_row, person=mine, rank=2, score=40)
    page = client.get(_url("review", own.pk) + "?row=2").content.decode()
    assert f'value="{theirs.pk}"' not in page  # a person outside the college is not shown
    response = client.post(_url("decide", own.pk, own_row.pk), {"action": "confirm", "candidate": theirs.pk})
    assert response.status_code == 404
    assert not Honour.objects.exists()
    assert list(client.get(_url("changelist")).context["cl"].result_list) == [own]


def test_evidence_rows_in_feature_order_with_labels():
    evidence = {
        "employer": {"list": "中国商飞", "record": "中国商用飞机有限责任公司", "similarity": 90, "points": 20},
        "name": {"list": "張偉", "record": "张伟", "match": "exact", "points": 40},
        "gender": {"list": "M", "record": "M", "points": 5},
    }
    rows = evidence_rows(evidence)
    assert [str(r["feature"]) for r in rows] == ["Name", "Gender", "Employer"]
    assert rows[0]["record"] == "张伟 (same name)"
    assert (rows[1]["list"], rows[1]["record"]) == ("Male", "Male")
    assert rows[2]["record"] == "中国商用飞机有限责任公司 (similarity: 90)"
    assert sum(r["points"] for r in rows) == 65
