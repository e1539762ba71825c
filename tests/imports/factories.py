"""Factories and helpers for import jobs and API tokens (files come from tests/imports/filemakers.py)."""

from pathlib import Path

import factory
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.imports import services
from apps.imports.models import ApiToken, ImportJob
from tests.accounts.factories import UserFactory
from tests.alumni.factories import CollegeFactory


def uploaded(path: Path, name: str | None = None) -> SimpleUploadedFile:
    """A file on disk as the admin or the API would receive it."""
    return SimpleUploadedFile(name or path.name, path.read_bytes())


class ImportJobFactory(factory.django.DjangoModelFactory):
    """A job row only (no file): for list, permission and state-machine tests."""

    class Meta:
        model = ImportJob

    original_name = factory.Sequence(lambda n: f"名单{n}.xlsx")
    source = ImportJob.Source.ADMIN
    uploaded_by = factory.SubFactory(UserFactory)


def api_token(*, actor, scopes=None, name="教务处学籍系统") -> tuple[ApiToken, str]:
    """A token made through the service, with its key (shown once)."""
    return services.api_token_create(name=name, actor=actor, scopes=scopes)


# --- fixtures (imported by the test modules: tests/imports/conftest.py belongs to the parser tests) ---
@pytest.fixture
def media_root(tmp_path, settings):
    """Uploaded rosters and error reports of a test stay in its own directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def colleges(db):
    """The two colleges tests/imports/filemakers.sample_rows uses by default."""
    return [CollegeFactory(code="CS", name="计算机学院"), CollegeFactory(code="ME", name="机械工程学院")]


@pytest.fixture
def on_postgres(db):
    from django.db import connection

    return connection.vendor == "postgresql"


@pytest.fixture
def eager_celery(monkeypatch):
    """Run queued tasks in process even when REDIS_URL is set (the worker tests need it set)."""
    from alumni_portal.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", True)
    monkeypatch.setattr(app.conf, "task_eager_propagates", True)
