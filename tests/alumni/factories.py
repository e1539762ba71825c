import factory
from django.utils import timezone

from apps.accounts import services as account_services
from apps.accounts.models import User
from apps.alumni import services
from apps.alumni.models import (
    College,
    ContactChannel,
    Employment,
    Enrollment,
    Honour,
    Major,
    Person,
    SchoolClass,
    StaffNote,
    Tag,
)
from apps.core.names import id_number_check_char
from tests.accounts.factories import UserFactory


class CollegeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = College
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"C{n:03d}")
    name = factory.Sequence(lambda n: f"第{n}学院")


class MajorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Major

    college = factory.SubFactory(CollegeFactory)
    code = factory.Sequence(lambda n: f"M{n:04d}")
    name = factory.Sequence(lambda n: f"专业{n}")


class SchoolClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolClass

    college = factory.SubFactory(CollegeFactory)
    name = factory.Sequence(lambda n: f"班级{n}")
    graduation_year = 2015


class PersonFactory(factory.django.DjangoModelFactory):
    """People are saved through the service, so pinyin keys are derived as in production."""

    class Meta:
        model = Person

    name = factory.Faker("name", locale="zh_CN")
    gender = Person.Gender.MALE
    birth_date = factory.Faker("date_of_birth", minimum_age=22, maximum_age=80)
    province = "北京"
    city = "北京"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tags = kwargs.pop("tags", None)
        person = model_class(*args, **kwargs)
        services.person_derive(person)
        person.save()
        if tags:
            person.tags.set(tags)
        return person


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    person = factory.SubFactory(PersonFactory)
    student_id = factory.Sequence(lambda n: f"2011{n:06d}")
    degree_level = Enrollment.DegreeLevel.BACHELOR
    college = factory.SubFactory(CollegeFactory)
    enrollment_year = 2011
    graduation_year = 2015


class ContactChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactChannel

    person = factory.SubFactory(PersonFactory)
    kind = ContactChannel.Kind.MOBILE
    value = factory.Sequence(lambda n: f"138{n:08d}")
    status = ContactChannel.Status.VERIFIED
    verified_at = factory.LazyFunction(timezone.now)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        contact = model_class(*args, **kwargs)
        services.contact_derive(contact)
        contact.save()
        return contact


class EmploymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employment

    person = factory.SubFactory(PersonFactory)
    organisation = "中国航天科技集团"
    title = "工程师"


class HonourFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Honour

    person = factory.SubFactory(PersonFactory)
    kind = Honour.Kind.ACADEMICIAN_CAE
    year = 2019


def alumnus_in(college, **person_kwargs) -> Person:
    """A person with one bachelor's enrolment in ``college``."""
    person = PersonFactory(**person_kwargs)
    EnrollmentFactory(person=person, college=college)
    return person


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"标签{n}")


class StaffNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffNote

    person = factory.SubFactory(PersonFactory)
    text = "校庆时联系过"


def valid_id_number(first17: str = "11010519491231002") -> str:
    """An 18-character mainland ID-card number with a correct GB 11643 check character."""
    return first17 + id_number_check_char(first17)


def user_with_role(role: str, **binding) -> User:
    """A user holding ``role`` (bound to ``college=`` or ``school_class=``), as the role service makes it."""
    user = UserFactory()
    account_services.role_assign(user=user, role=role, actor=None, **binding)
    user.refresh_from_db()
    return user
