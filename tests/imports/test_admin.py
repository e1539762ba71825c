"""The import admin through the test client: upload, mapping, preview, apply, progress, downloads, roles."""

import io
import re
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from apps.alumni.models import ContactChannel, Enrollment, Person
from apps.imports.models import ApiToken, ImportJob
from apps.imports.services import api_key_hash
from tests.imports.factories import ImportJobFactory, uploaded
from tests.imports.filemakers import sample_rows, write_roster_csv, write_roster_xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

# The shared fixtures (colleges, media_root, on_postgres) live beside the factories.
pytest_plugins = ["tests.imports.factories"]

Status = ImportJob.Status
UPLOAD = "admin:imports_importjob_upload"


def _url(name: str, job: ImportJob | None = None) -> str:
    return reverse(f"admin:imports_importjob_{name}", args=[job.pk] if job else [])


def _upload(client, path, capture, name=None):
    with capture(execute=True):
        return client.post(reverse(UPLOAD), {"file": uploaded(path, name)})


def test_admin_5000_row_xlsx_upload_preview_apply_progress_result_and_report(
    client, staff, colleges, tmp_path, django_capture_on_commit_callbacks
):
    rows = sample_rows(5000, seed=21, native=True)
    rows[10]["出生日期"] = "2019-13-45"
    rows[4000]["学院"] = "不存在学院"
    path = write_roster_xlsx(tmp_path / "2025届毕业生.xlsx", rows)
    client.force_login(staff)

    assert client.get(reverse(UPLOAD)).status_code == 200
    response = _upload(client, path, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response.url == _url("change", job)
    job.refresh_from_db()
    assert job.status == Status.PREVIEWED
    assert (job.created_count, job.error_count, job.rows_total) == (4998, 2, 5000)
    assert Person.objects.count() == 0  # the preview wrote nothing

    page = client.get(_url("change", job))
    html = page.content.decode()
    assert page.status_code == 200
    assert "2025届毕业生.xlsx" in html
    assert "4998" in html
    assert "不存在学院" in html
    assert _url("apply", job) in html
    assert 'src="/static/core/job_progress.js"' in html
    assert "<script>" not in html

    progress = client.get(_url("progress", job)).json()
    assert progress["status"] == "previewed"
    assert progress["percent"] == 100
    assert progress["counts"] == {"created": 4998, "updated": 0, "unchanged": 0, "flagged": 0, "errors": 2}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("apply", job))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Status.DONE
    assert job.applied_by == staff
    assert Enrollment.objects.count() == 4998
    assert ContactChannel.objects.count() == 2 * 4998
    progress = client.get(_url("progress", job)).json()
    assert progress == {**progress, "status": "done", "percent": 100, "rows_done": 5000, "finished": True}
    html = client.get(_url("change", job), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Result" in html

    report = client.get(_url("report", job))
    assert report.status_code == 200
    assert report["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    disposition = report["Content-Disposition"]
    assert disposition.startswith("attachment; ")
    assert "filename*=UTF-8''" + quote("2025届毕业生") in disposition
    workbook = load_workbook(io.BytesIO(b"".join(report.streaming_content)), read_only=True)
    table = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    assert table[0][-2:] == ["行号", "错误原因"]
    assert [r[-2] for r in table[1:]] == [12, 4002]
    assert "出生日期" in table[1][-1]
    assert "不存在学院" in table[2][-1]

    # Re-importing the same file: the preview says nothing would change.
    response = _upload(client, path, django_capture_on_commit_callbacks, name="again.xlsx")
    again = ImportJob.objects.exclude(pk=job.pk).get()
    assert (again.created_count, again.unchanged_count, again.error_count) == (0, 4998, 2)
    page = client.get(_url("change", again), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Nothing would change" in page


def test_admin_progress_endpoint_reports_live_figures_while_running(client, staff, tmp_path, colleges):
    from apps.imports.pipeline import progress as live

    job = ImportJobFactory(status=Status.APPLYING, rows_total=0, uploaded_by=staff)
    live.Progress(job.pk, status=Status.APPLYING).start(1000)
    cache_progress = live.Progress(job.pk, status=Status.APPLYING, every=1)
    cache_progress.total = 1000
    cache_progress.advance(250)
    client.force_login(staff)

    data = client.get(_url("progress", job)).json()
    assert data["status"] == "applying"
    assert data["rows_done"] == 250
    assert data["rows_total"] == 1000
    assert data["percent"] == 25
    assert data["finished"] is False


def test_admin_mapping_step_for_unknown_columns(client, staff, colleges, tmp_path, django_capture_on_commit_callbacks):
    rows = sample_rows(6, seed=22)
    for row in rows:
        row["Matriculation"] = row.pop("学号")
    headers = ["Matriculation", *[h for h in rows[0] if h != "Matriculation"]]
    path = write_roster_csv(tmp_path / "odd.csv", rows, headers=headers)
    client.force_login(staff)
    _upload(client, path, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()
    assert job.status == Status.MAPPING_NEEDED

    page = client.get(_url("change", job)).content.decode()
    assert "Matriculation" in page
    assert 'name="col_0"' in page
    data = {f"col_{i}": job.mapping.get(h, "") for i, h in enumerate(headers)}
    data["col_0"] = "student_id"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("mapping", job), data)
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == Status.PREVIEWED
    assert job.created_count == 6
    assert job.mapping["Matriculation"] == "student_id"

    # The same field twice is refused by the form.
    job.status = Status.MAPPING_NEEDED
    job.save(update_fields=["status"])
    data["col_1"] = "student_id"
    assert client.post(_url("mapping", job), data).status_code == 200


def test_admin_refused_file_is_explained_and_writes_nothing(
    client, staff, colleges, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)  # a broken zip
    client.force_login(staff)
    _upload(client, path, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()

    assert job.status == Status.REFUSED
    assert job.failure_message
    html = client.get(_url("change", job)).content.decode()
    assert job.failure_message.split("。")[0][:20] in html
    assert _url("apply", job) not in html
    assert Person.objects.count() == 0


def test_admin_upload_over_the_limit_is_refused_before_reading(client, staff, settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 2000
    client.force_login(staff)
    big = SimpleUploadedFile("big.csv", b"x" * 200_000)
    response = client.post(reverse(UPLOAD), {"file": big})

    assert response.status_code == 413
    assert not ImportJob.objects.exists()


def test_admin_hostile_file_name_is_stored_as_uuid_and_shown_escaped(
    client, staff, colleges, tmp_path, django_capture_on_commit_callbacks, media_root
):
    path = write_roster_csv(tmp_path / "x.csv", sample_rows(3, seed=23))
    name = "..<img src=x onerror=alert(1)>毕业生名单\u202e.csv"
    client.force_login(staff)
    _upload(client, path, django_capture_on_commit_callbacks, name=name)
    job = ImportJob.objects.get()

    assert job.original_name.startswith("..<img src=x onerror=alert(1)>毕业生名单")
    assert "<img" not in job.file.name
    assert ".." not in job.file.name
    html = client.get(_url("change", job)).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    response = client.get(_url("file", job))
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert re.fullmatch(r"attachment; filename=\"[^\"\\\\;]*\"; filename\*=UTF-8''[A-Za-z0-9%._~-]+", disposition)
    assert "filename*=UTF-8''" + quote(job.original_name, safe="") in disposition


def test_admin_jobs_list_shows_status_and_counts(client, staff):
    ImportJobFactory(status=Status.DONE, applied_at=timezone.now(), created_count=12, original_name="名单A.csv")
    client.force_login(staff)
    html = client.get(_url("changelist")).content.decode()
    assert "名单A.csv" in html
    assert "12" in html


# --- roles ---------------------------------------------------------------------------------------


def _every_url(job: ImportJob) -> list[tuple[str, str]]:
    return [
        ("get", _url("changelist")),
        ("get", reverse(UPLOAD)),
        ("get", _url("add")),
        ("post", reverse(UPLOAD)),
        ("get", _url("change", job)),
        ("get", _url("progress", job)),
        ("get", _url("report", job)),
        ("get", _url("file", job)),
        ("post", _url("mapping", job)),
        ("post", _url("apply", job)),
        ("post", _url("cancel", job)),
    ]


def test_admin_college_staff_get_403_on_every_import_url(client, college_staff):
    job = ImportJobFactory(status=Status.PREVIEWED)
    client.force_login(college_staff)
    for method, url in _every_url(job):
        assert getattr(client, method)(url).status_code == 403, url
    job.refresh_from_db()
    assert job.status == Status.PREVIEWED


def test_admin_alumni_are_sent_to_the_login_on_every_import_url(client, alumnus):
    job = ImportJobFactory(status=Status.PREVIEWED)
    client.force_login(alumnus)
    for method, url in _every_url(job):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("admin:login")), url
    assert client.get(reverse("admin:login")).status_code == 403  # and the login refuses them


def test_admin_job_of_nobody_visible_is_404(client, staff):
    client.force_login(staff)
    assert client.get(reverse("admin:imports_importjob_change", args=[999999])).status_code == 404
    assert client.get(reverse("admin:imports_importjob_progress", args=["abc"])).status_code == 404


# --- API tokens ----------------------------------------------------------------------------------


def test_admin_api_token_key_shown_once_and_only_its_hash_stored(client, office_admin):
    client.force_login(office_admin)
    response = client.post(reverse("admin:imports_apitoken_add"), {"name": "教务处", "scope_import": "on"})
    assert response.status_code == 200
    key = response.context["key"]
    token = ApiToken.objects.get()
    assert token.key_hash == api_key_hash(key)
    assert key not in str(token.__dict__)
    assert token.scopes == ["import"]
    assert key not in client.get(reverse("admin:imports_apitoken_change", args=[token.pk])).content.decode()

    client.post(
        reverse("admin:imports_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_admin_api_tokens_not_for_office_staff(client, staff):
    client.force_login(staff)
    assert client.get(reverse("admin:imports_apitoken_add")).status_code == 403


def test_admin_upload_works_with_csrf_checks_enforced_as_in_a_browser(
    staff, colleges, tmp_path, django_capture_on_commit_callbacks
):
    # The test client skips CSRF unless asked; a browser's upload must pass the token check
    # without anything reading the body before the size guard is installed.
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff)
    page = browser.get(reverse(UPLOAD))
    token = page.cookies["csrftoken"].value
    path = write_roster_xlsx(tmp_path / "roster.xlsx", sample_rows(20, seed=3, native=True))

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse(UPLOAD), {"file": uploaded(path), "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert ImportJob.objects.get().rows_total == 20
    refused = browser.post(reverse(UPLOAD), {"file": uploaded(path)})
    assert refused.status_code == 403


def test_admin_rejected_rows_name_the_column_as_the_file_does(
    client, staff, colleges, tmp_path, django_capture_on_commit_callbacks
):
    rows = sample_rows(3, seed=5, native=True)
    rows[1]["出生日期"] = "2019-13-45"
    path = write_roster_xlsx(tmp_path / "roster.xlsx", rows)
    client.force_login(staff)
    _upload(client, path, django_capture_on_commit_callbacks)
    job = ImportJob.objects.get()

    html = client.get(_url("change", job)).content.decode()
    rejected = html.split("<tbody>")[-1]
    assert "<td>3</td><td>出生日期</td>" in rejected
    assert "birth_date" not in rejected
