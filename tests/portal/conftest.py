import pytest
from django.utils import translation

from .factories import verified_alumnus


@pytest.fixture(autouse=True)
def _english_messages():
    """Tests read the English messages; the default language is Chinese."""
    with translation.override("en"):
        yield


@pytest.fixture
def viewer(db):
    """A verified alumnus (an active account linked to a person) with no class and no chapter."""
    return verified_alumnus(name="查看者")


@pytest.fixture
def http_client(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
