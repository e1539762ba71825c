import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_messages():
    """Parsing messages are built under the active language; these tests read the English ones."""
    with translation.override("en"):
        yield
