import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_messages():
    """Messages are built under the active language; these tests read the English ones."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _school_names(settings):
    settings.MATCHING_SCHOOL_NAMES = ["华北航空航天大学", "华北航空学院"]


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


# The people fixtures live beside the factories; importing them here makes them visible to every test.
from tests.matching.factories import academician, aero, computing, namesake  # noqa: E402, F401
