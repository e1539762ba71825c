import pytest

from apps.accounts.models import Role
from apps.dataservice.models import Recipient
from tests.accounts.factories import UserFactory
from tests.alumni.factories import alumnus_in, user_with_role

from .factories import RecipientFactory


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.DATA_FILES_ROOT = tmp_path / "private"


@pytest.fixture
def publicity_user(db):
    """A user of the publicity department: no staff role, only bound to the recipient."""
    return UserFactory(email="publicity@example.edu")


@pytest.fixture
def museum_user(db):
    return UserFactory(email="museum@example.edu")


@pytest.fixture
def publicity(publicity_user):
    return RecipientFactory(name="宣传部", users=[publicity_user])


@pytest.fixture
def museum(museum_user):
    return RecipientFactory(name="校史馆", users=[museum_user])


@pytest.fixture
def college_recipient(college):
    return RecipientFactory(name="计算机学院（招生）", kind=Recipient.Kind.COLLEGE, college=college)


@pytest.fixture
def other_college_recipient(other_college):
    return RecipientFactory(name="机械工程学院", kind=Recipient.Kind.COLLEGE, college=other_college)


@pytest.fixture
def other_college_staff(other_college):
    return user_with_role(Role.COLLEGE_STAFF, college=other_college)


@pytest.fixture
def cohort(college, other_college):
    """Three alumni of the CS college and one of the other college."""
    return {
        "cs": [alumnus_in(college, name=name) for name in ("张伟", "王芳", "=cmd|' /C calc'!A0")],
        "me": [alumnus_in(other_college, name="李娜")],
    }
