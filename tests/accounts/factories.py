import factory

from apps.accounts.models import User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"user{n}@example.edu")
    password = factory.django.Password("correct-horse-battery-9")


class PhoneUserFactory(factory.django.DjangoModelFactory):
    """An account that signs in by mobile number only (no email address)."""

    class Meta:
        model = User

    email = None
    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    phone_verified = True
    password = factory.django.Password("correct-horse-battery-9")
