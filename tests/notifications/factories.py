import factory
from django.utils import timezone

from apps.alumni.models import ContactChannel
from apps.notifications.models import Message, Segment, WebhookSubscription
from tests.accounts.factories import UserFactory
from tests.alumni.factories import ContactChannelFactory, EnrollmentFactory, PersonFactory


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment

    name = factory.Sequence(lambda n: f"分组{n}")
    filters = factory.LazyFunction(list)
    created_by = factory.SubFactory(UserFactory)


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    name = factory.Sequence(lambda n: f"Mailing {n}")
    segment = factory.SubFactory(SegmentFactory)
    created_by = factory.SelfAttribute("segment.created_by")
    subject_zh = "{{ name }}校友，您好"
    text_zh = "亲爱的{{ name }}（{{ class }}），校友会邀请您参加活动。"
    subject_en = "Dear {{ name }}"
    text_en = "Dear {{ name }} of {{ class }}, the alumni association invites you."


class WebhookSubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WebhookSubscription

    name = factory.Sequence(lambda n: f"System {n}")
    url = "http://127.0.0.1:9/hook"
    secret = "s3cret-signing-key"
    events = factory.LazyFunction(lambda: ["person.updated"])
    created_by = factory.SubFactory(UserFactory)


def alumnus_with_email(
    *, college, year=2015, school_class=None, status=ContactChannel.Status.VERIFIED, email=None, **person
):
    """A person with one degree in ``college`` and one email channel."""
    someone = PersonFactory(**person)
    EnrollmentFactory(person=someone, college=college, graduation_year=year, school_class=school_class)
    ContactChannelFactory(
        person=someone,
        kind=ContactChannel.Kind.EMAIL,
        value=email or f"p{someone.pk}@example.com",
        status=status,
        verified_at=timezone.now() if status == ContactChannel.Status.VERIFIED else None,
    )
    return someone
