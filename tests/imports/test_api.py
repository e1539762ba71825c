"""The roster feed API: token authentication, the import scope, a token's own jobs, session reads, roles."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.imports.models import ImportJob
from apps.imports.services import api_token_revoke
from tests.imports.factories import ImportJobFactory, api_token, uploaded
from tests.imports.filemakers import sample_rows, write_roster_xlsx

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

# The shared fixtures (colleges, media_root, on_postgres) live beside the factories.
pytest_plugins = ["tests.imports.factories"]

LIST = reverse("importjob-list")


def _detail(job) -> str:
    return reverse("importjob-detail", args=[job.pk])


def _auth(client, key: str) -> None:
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")


def _roster(tmp_path, rows: int = 8):
    return uploaded(write_roster_xlsx(tmp_path / "2025届毕业生.xlsx", sample_rows(rows, seed=31, native=True)))


def test_api_push_creates_an_ordinary_job_and_queues_its_preview(
    api_client, office_admin, colleges, tmp_path, django_capture_on_commit_callbacks
):
    token, key = api_token(actor=office_admin)
    _auth(api_client, key)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(LIST, {"file": _roster(tmp_path)}, format="multipart")

    assert response.status_code == 201, response.content
    job = ImportJob.objects.get()
    assert response.data["id"] == job.pk
    assert response.data["status"] == "uploaded"
    assert job.source == ImportJob.Source.API
    assert job.api_token == token
    assert job.uploaded_by == office_admin
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PREVIEWED
    assert job.created_count == 8

    data = api_client.get(_detail(job)).data
    assert data["status"] == "previewed"
    assert data["counts"] == {"created": 8, "updated": 0, "unchanged": 0, "flagged": 0, "errors": 0}
    assert data["progress"]["percent"] == 100
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_api_push_with_a_mapping(api_client, office_admin, colleges, tmp_path, django_capture_on_commit_callbacks):
    rows = sample_rows(3, seed=32, native=True)
    for row in rows:
        row["Matric"] = row.pop("学号")
    path = write_roster_xlsx(tmp_path / "r.xlsx", rows, ["Matric", *[h for h in rows[0] if h != "Matric"]])
    _token, key = api_token(actor=office_admin)
    _auth(api_client, key)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            LIST, {"file": uploaded(path), "mapping": '{"Matric": "student_id"}'}, format="multipart"
        )
    assert response.status_code == 201
    assert ImportJob.objects.get().status == ImportJob.Status.PREVIEWED


@pytest.mark.parametrize("header", [None, "Token", "Token wrong-key", "Bearer x", "Token a b"])
def test_api_absent_or_wrong_token_is_401(api_client, header, tmp_path):
    if header:
        api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.post(LIST, {"file": _roster(tmp_path)}, format="multipart")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not ImportJob.objects.exists()


def test_api_revoked_token_is_401_and_a_token_without_scope_is_403(api_client, office_admin, tmp_path):
    token, key = api_token(actor=office_admin)
    api_token_revoke(token=token, actor=office_admin)
    _auth(api_client, key)
    assert api_client.post(LIST, {"file": _roster(tmp_path)}, format="multipart").status_code == 401

    _token, scopeless = api_token(actor=office_admin, scopes=[], name="只读")
    _auth(api_client, scopeless)
    assert api_client.post(LIST, {"file": _roster(tmp_path)}, format="multipart").status_code == 403
    job = ImportJobFactory()
    assert api_client.get(_detail(job)).status_code == 403
    assert not ImportJob.objects.exclude(pk=job.pk).exists()


def test_api_token_of_a_deactivated_creator_is_401(api_client, office_admin, tmp_path):
    _token, key = api_token(actor=office_admin)
    office_admin.is_active = False
    office_admin.save(update_fields=["is_active"])
    _auth(api_client, key)
    assert api_client.post(LIST, {"file": _roster(tmp_path)}, format="multipart").status_code == 401


def test_api_another_tokens_job_is_404(api_client, office_admin):
    mine, key = api_token(actor=office_admin)
    other, _other_key = api_token(actor=office_admin, name="研究生院")
    their_job = ImportJobFactory(source=ImportJob.Source.API, api_token=other)
    admin_job = ImportJobFactory()
    my_job = ImportJobFactory(source=ImportJob.Source.API, api_token=mine)
    _auth(api_client, key)

    assert api_client.get(_detail(my_job)).status_code == 200
    assert api_client.get(_detail(their_job)).status_code == 404
    assert api_client.get(_detail(admin_job)).status_code == 404


def test_api_session_staff_may_read_but_not_push(api_client, staff, tmp_path):
    job = ImportJobFactory(source=ImportJob.Source.ADMIN)
    api_client.force_login(staff)
    assert api_client.get(_detail(job)).status_code == 200
    assert api_client.post(LIST, {"file": _roster(tmp_path)}, format="multipart").status_code == 403


@pytest.mark.parametrize("role", ["college_staff", "alumnus", "liaison", "chapter_leader"])
def test_api_other_roles_get_403(api_client, request, role, tmp_path):
    job = ImportJobFactory()
    api_client.force_login(request.getfixturevalue(role))
    assert api_client.get(_detail(job)).status_code == 403
    assert api_client.post(LIST, {"file": _roster(tmp_path)}, format="multipart").status_code == 403
    assert not ImportJob.objects.exclude(pk=job.pk).exists()


def test_api_upload_over_the_limit_is_413(api_client, office_admin, settings, tmp_path):
    settings.IMPORT_MAX_BYTES = 1000
    _token, key = api_token(actor=office_admin)
    _auth(api_client, key)
    response = api_client.post(LIST, {"file": _roster(tmp_path, rows=200)}, format="multipart")
    assert response.status_code == 413
    assert not ImportJob.objects.exists()


def test_api_schema_generates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/imports/" in text
    assert "/api/v1/imports/{id}/" in text
