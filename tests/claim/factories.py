"""Seeded alumni records to claim, and the evidence a claimant gives for them."""

from datetime import date

import factory

from apps.accounts.claim.matching import ClaimEvidence
from apps.accounts.models import ClaimRequest
from apps.alumni.models import ContactChannel
from tests.accounts.factories import UserFactory
from tests.alumni.factories import CollegeFactory, ContactChannelFactory, EnrollmentFactory, PersonFactory

BIRTH = date(1990, 5, 1)


def seeded_record(
    *,
    name="张伟",
    birth_date=BIRTH,
    student_id="2008011234",
    college=None,
    graduation_year=2012,
    contact: str | None = "mobile",
    contact_status=ContactChannel.Status.VERIFIED,
    user=None,
):
    """A person with one enrolment and (optionally) one contact channel of ``contact`` kind."""
    person = PersonFactory(name=name, birth_date=birth_date, user=user)
    EnrollmentFactory(
        person=person,
        student_id=student_id,
        college=college or CollegeFactory(code="CS", name="计算机学院"),
        enrollment_year=graduation_year - 4,
        graduation_year=graduation_year,
    )
    if contact == "mobile":
        ContactChannelFactory(
            person=person, kind=ContactChannel.Kind.MOBILE, value="+86 139-0013-9000", status=contact_status
        )
    elif contact == "email":
        ContactChannelFactory(
            person=person, kind=ContactChannel.Kind.EMAIL, value="ZhangWei@Example.com", status=contact_status
        )
    return person


def evidence(**overrides) -> ClaimEvidence:
    data = {"name": "张伟", "birth_date": BIRTH, "student_id": "2008011234"}
    data.update(overrides)
    return ClaimEvidence(**data)


class ClaimRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClaimRequest

    user = factory.SubFactory(UserFactory)
    name = "张伟"
    birth_date = BIRTH
    student_id = "2008011234"
    status = ClaimRequest.Status.AWAITING_REVIEW
    outcome = ClaimRequest.Outcome.NO_MATCH
