import factory

from apps.alumni.models import Person
from apps.chapters.models import Chapter, ChapterMembership
from tests.accounts.factories import UserFactory
from tests.alumni.factories import PersonFactory


class ChapterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Chapter

    name = factory.Sequence(lambda n: f"第{n}地方校友会")
    city = "上海"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChapterMembership

    chapter = factory.SubFactory(ChapterFactory)
    person = factory.SubFactory(PersonFactory)


def verified_alumnus(**person_kwargs) -> Person:
    """A person linked to an active portal account (until record claiming exists, set directly)."""
    person_kwargs.setdefault("show_in_directory", True)
    user = UserFactory()
    return PersonFactory(user=user, **person_kwargs)
