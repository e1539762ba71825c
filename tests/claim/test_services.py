import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.claim.matching import claim_match
from apps.accounts.claim.services import (
    CODE_MAX_ATTEMPTS,
    claim_approve,
    claim_codes_expire,
    claim_confirm,
    claim_reject,
    claim_start,
)
from apps.accounts.models import ClaimRequest, Role, RoleAssignment
from apps.accounts.selectors import user_is_verified_alumnus, visible_claims
from apps.accounts.services import claim_link
from apps.accounts.tasks import claim_code_send_task
from apps.alumni.models import ContactChannel, Person
from apps.core.errors import ApplicationError
from apps.core.models import AuditEvent
from tests.accounts.factories import UserFactory
from tests.alumni.factories import CollegeFactory, EnrollmentFactory, PersonFactory
from tests.claim.factories import BIRTH, ClaimRequestFactory, evidence, seeded_record

pytestmark = pytest.mark.django_db

Status = ClaimRequest.Status
Outcome = ClaimRequest.Outcome


def _start(user, django_capture_on_commit_callbacks, **overrides) -> ClaimRequest:
    with django_capture_on_commit_callbacks(execute=True):
        claim = claim_start(user=user, evidence=evidence(**overrides), ip_address="198.51.100.4")
    claim.refresh_from_db()
    return claim


def _sent_code(sms_outbox) -> str:
    return re.search(r"\b(\d{6})\b", sms_outbox[-1][1]).group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- matching ---------------------------------------------------------------------------------


def test_claim_match_by_student_id_name_and_birth_date():
    person = seeded_record()
    match = claim_match(evidence(student_id=" 2008011234 "))
    assert (match.outcome, match.person, match.contact.kind) == (Outcome.MATCHED, person, "mobile")


def test_claim_match_normalises_name_widths_and_traditional_forms():
    person = seeded_record(name="张伟")
    assert claim_match(evidence(name="張 偉")).person == person


def test_claim_match_by_college_and_graduation_year():
    college = CollegeFactory(code="EE", name="电子学院")
    person = seeded_record(college=college, graduation_year=2014)
    match = claim_match(evidence(student_id="", college=college, graduation_year=2014))
    assert (match.outcome, match.person) == (Outcome.MATCHED, person)


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        ({"birth_date": date(1990, 5, 2)}, Outcome.NO_MATCH),
        ({"name": "张伟伟"}, Outcome.NO_MATCH),
        ({"student_id": "2008019999"}, Outcome.NO_MATCH),
    ],
)
def test_claim_match_every_field_must_agree(change, outcome):
    seeded_record()
    assert claim_match(evidence(**change)).outcome == outcome


def test_claim_match_two_people_alike_is_ambiguous():
    college = CollegeFactory(code="EE", name="电子学院")
    seeded_record(college=college, student_id="S1")
    seeded_record(college=college, student_id="S2")
    match = claim_match(evidence(student_id="", college=college, graduation_year=2012))
    assert (match.outcome, match.person) == (Outcome.AMBIGUOUS, None)


def test_claim_match_unverified_contact_goes_to_review():
    person = seeded_record(contact_status=ContactChannel.Status.UNVERIFIED)
    match = claim_match(evidence())
    assert (match.outcome, match.person, match.contact) == (Outcome.NO_CONTACT, person, None)


def test_claim_match_person_with_account_is_already_linked():
    person = seeded_record(user=UserFactory())
    match = claim_match(evidence())
    assert (match.outcome, match.person, match.contact) == (Outcome.ALREADY_LINKED, person, None)


# --- start and code ---------------------------------------------------------------------------


def test_claim_start_match_sends_code_by_sms_and_stores_only_its_hash(django_capture_on_commit_callbacks, sms_outbox):
    seeded_record(contact="mobile")
    user = UserFactory()
    claim = _start(user, django_capture_on_commit_callbacks)

    assert claim.status == Status.PENDING_CODE
    assert claim.outcome == Outcome.MATCHED
    [(number, _text)] = sms_outbox
    assert number == "13900139000"
    code = _sent_code(sms_outbox)
    assert claim.channel == "139****9000"
    assert claim.code_expires_at == claim.code_sent_at + timedelta(minutes=10)
    row = ClaimRequest.objects.filter(pk=claim.pk).values().get()
    assert code not in str(row)
    assert AuditEvent.objects.filter(action="claim.start", target_id=str(claim.pk), actor=user).exists()


def test_claim_start_match_by_email_sends_code_by_mail(django_capture_on_commit_callbacks, sms_outbox):
    seeded_record(contact="email")
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.to == ["zhangwei@example.com"]
    assert re.search(r"\b\d{6}\b", message.body)
    assert sms_outbox == []
    assert claim.channel == "z***@example.com"


@pytest.mark.parametrize(
    ("setup", "outcome"),
    [
        ({}, Outcome.NO_MATCH),
        ({"contact": None}, Outcome.NO_CONTACT),
        ({"contact_status": ContactChannel.Status.BOUNCED}, Outcome.NO_CONTACT),
    ],
)
def test_claim_start_without_usable_match_waits_for_review_and_sends_nothing(
    django_capture_on_commit_callbacks, sms_outbox, setup, outcome
):
    if setup:
        seeded_record(**setup)
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    assert (claim.status, claim.outcome) == (Status.AWAITING_REVIEW, outcome)
    assert sms_outbox == []
    assert mail.outbox == []
    assert claim.code_hash == ""


def test_claim_start_again_replaces_the_open_claim(django_capture_on_commit_callbacks):
    user = UserFactory()
    first = _start(user, django_capture_on_commit_callbacks)
    second = _start(user, django_capture_on_commit_callbacks, name="李娜")
    first.refresh_from_db()
    assert first.status == Status.EXPIRED
    assert second.status == Status.AWAITING_REVIEW
    assert ClaimRequest.objects.filter(user=user, status__in=ClaimRequest.OPEN_STATUSES).count() == 1


def test_claim_one_open_claim_per_user_enforced_by_database():
    claim = ClaimRequestFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ClaimRequestFactory(user=claim.user)


def test_claim_start_refused_for_linked_account():
    user = UserFactory()
    seeded_record(user=user)
    with pytest.raises(ApplicationError) as error:
        claim_start(user=user, evidence=evidence())
    assert error.value.code == "account_linked"


def test_claim_code_send_task_twice_sends_once(django_capture_on_commit_callbacks, sms_outbox):
    seeded_record()
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    assert claim_code_send_task.delay(claim.pk).get() is False
    assert claim_code_send_task.delay(claim.pk).get() is False
    assert len(sms_outbox) == 1
    assert claim_code_send_task.delay(10**9).get() is False  # a claim that vanished is a quiet no-op


def test_claim_code_send_contact_no_longer_verified_goes_to_review(django_capture_on_commit_callbacks, sms_outbox):
    person = seeded_record()
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        claim = claim_start(user=user, evidence=evidence())
    person.contacts.update(status=ContactChannel.Status.BOUNCED)
    for callback in callbacks:
        callback()
    claim.refresh_from_db()
    assert (claim.status, claim.outcome) == (Status.AWAITING_REVIEW, Outcome.NO_CONTACT)
    assert sms_outbox == []


# --- confirm ----------------------------------------------------------------------------------


def test_claim_confirm_right_code_links_account_as_alumnus(django_capture_on_commit_callbacks, sms_outbox):
    person = seeded_record()
    user = UserFactory()
    claim = _start(user, django_capture_on_commit_callbacks)

    assert claim_confirm(claim=claim, code=_sent_code(sms_outbox)) is True

    person.refresh_from_db()
    claim.refresh_from_db()
    assert person.user == user
    assert claim.status == Status.APPROVED
    assert claim.code_hash == ""
    assert RoleAssignment.objects.filter(user=user, role=Role.ALUMNUS).exists()
    assert user_is_verified_alumnus(type(user).objects.get(pk=user.pk))
    link = AuditEvent.objects.get(action="person.link_account", target_id=str(person.pk))
    assert link.actor == user
    assert AuditEvent.objects.filter(action="claim.confirm", target_id=str(claim.pk)).exists()


def test_claim_confirm_code_works_once(django_capture_on_commit_callbacks, sms_outbox):
    seeded_record()
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    code = _sent_code(sms_outbox)
    assert claim_confirm(claim=claim, code=code) is True
    assert claim_confirm(claim=claim, code=code) is False


def test_claim_confirm_fifth_wrong_code_ends_it_and_sends_claim_to_review(
    django_capture_on_commit_callbacks, sms_outbox
):
    person = seeded_record()
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    code = _sent_code(sms_outbox)
    for attempt in range(CODE_MAX_ATTEMPTS):
        assert claim_confirm(claim=claim, code=_wrong(code)) is False
        claim.refresh_from_db()
        expected = Status.PENDING_CODE if attempt < CODE_MAX_ATTEMPTS - 1 else Status.AWAITING_REVIEW
        assert claim.status == expected
    assert claim.outcome == Outcome.CODE_FAILED
    assert claim_confirm(claim=claim, code=code) is False
    person.refresh_from_db()
    assert person.user is None


def test_claim_confirm_code_expires_after_ten_minutes(django_capture_on_commit_callbacks, sms_outbox):
    person = seeded_record()
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    code = _sent_code(sms_outbox)
    with time_machine.travel(claim.code_sent_at + timedelta(minutes=10, seconds=1)):
        assert claim_confirm(claim=claim, code=code) is False
    claim.refresh_from_db()
    assert (claim.status, claim.outcome) == (Status.AWAITING_REVIEW, Outcome.CODE_FAILED)
    person.refresh_from_db()
    assert person.user is None


def test_claim_confirm_just_inside_ten_minutes_works(django_capture_on_commit_callbacks, sms_outbox):
    seeded_record()
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    with time_machine.travel(claim.code_sent_at + timedelta(minutes=9, seconds=59)):
        assert claim_confirm(claim=claim, code=_sent_code(sms_outbox)) is True


def test_claim_confirm_on_review_claim_always_fails(django_capture_on_commit_callbacks):
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    assert claim.status == Status.AWAITING_REVIEW
    assert claim_confirm(claim=claim, code="000000") is False
    claim.refresh_from_db()
    assert claim.status == Status.AWAITING_REVIEW


def test_claim_confirm_person_linked_meanwhile_is_not_relinked(django_capture_on_commit_callbacks, sms_outbox):
    person = seeded_record()
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    other = UserFactory()
    Person.objects.filter(pk=person.pk).update(user=other)
    assert claim_confirm(claim=claim, code=_sent_code(sms_outbox)) is False
    person.refresh_from_db()
    claim.refresh_from_db()
    assert person.user == other
    assert (claim.status, claim.outcome) == (Status.AWAITING_REVIEW, Outcome.ALREADY_LINKED)


def test_claim_codes_expire_moves_stale_codes_to_review(django_capture_on_commit_callbacks):
    seeded_record()
    claim = _start(UserFactory(), django_capture_on_commit_callbacks)
    assert claim_codes_expire() == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert claim_codes_expire() == 1
    claim.refresh_from_db()
    assert (claim.status, claim.outcome) == (Status.AWAITING_REVIEW, Outcome.CODE_FAILED)


# --- link service -----------------------------------------------------------------------------


def test_claim_link_never_relinks_a_linked_person():
    owner = UserFactory()
    person = PersonFactory(user=owner)
    with pytest.raises(ApplicationError) as error:
        claim_link(person=person, user=UserFactory(), actor=None)
    assert error.value.code == "person_linked"
    person.refresh_from_db()
    assert person.user == owner


def test_claim_link_one_record_per_account():
    user = UserFactory()
    PersonFactory(user=user)
    with pytest.raises(ApplicationError) as error:
        claim_link(person=PersonFactory(), user=user, actor=None)
    assert error.value.code == "account_linked"


def test_claim_link_same_pair_is_idempotent():
    user = UserFactory()
    person = PersonFactory()
    claim_link(person=person, user=user, actor=None)
    claim_link(person=person, user=user, actor=None)
    assert AuditEvent.objects.filter(action="person.link_account").count() == 1
    assert hasattr(user, "person")


# --- staff decisions --------------------------------------------------------------------------


def test_claim_approve_by_office_staff_links_the_matched_person(staff):
    person = seeded_record(contact=None)
    claim = ClaimRequestFactory(matched_person=person, outcome=Outcome.NO_CONTACT)
    claim_approve(claim=claim, actor=staff, note="checked the archive")
    claim.refresh_from_db()
    person.refresh_from_db()
    assert person.user == claim.user
    assert (claim.status, claim.decided_by, claim.review_note) == (Status.APPROVED, staff, "checked the archive")
    assert RoleAssignment.objects.filter(user=claim.user, role=Role.ALUMNUS).exists()
    assert AuditEvent.objects.filter(action="claim.approve", actor=staff, target_id=str(claim.pk)).exists()


def test_claim_approve_without_person_is_refused(staff):
    claim = ClaimRequestFactory()
    with pytest.raises(ValidationError) as error:
        claim_approve(claim=claim, actor=staff)
    assert error.value.code == "claim_no_person"


def test_claim_approve_decided_claim_is_refused(staff):
    claim = ClaimRequestFactory(status=Status.REJECTED, matched_person=PersonFactory())
    with pytest.raises(ValidationError):
        claim_approve(claim=claim, actor=staff)


def test_claim_approve_person_already_linked_is_refused(staff):
    person = PersonFactory(user=UserFactory())
    claim = ClaimRequestFactory(matched_person=person)
    with pytest.raises(ApplicationError):
        claim_approve(claim=claim, actor=staff)
    claim.refresh_from_db()
    assert claim.status == Status.AWAITING_REVIEW


def test_claim_approve_by_college_staff_only_within_their_college(college_staff, college, other_college):
    own = PersonFactory(birth_date=BIRTH)
    EnrollmentFactory(person=own, college=college)
    foreign = PersonFactory(birth_date=BIRTH)
    EnrollmentFactory(person=foreign, college=other_college)
    own_claim = ClaimRequestFactory(matched_person=own)
    foreign_claim = ClaimRequestFactory(matched_person=foreign)

    assert set(visible_claims(college_staff)) == {own_claim}
    with pytest.raises(PermissionDenied):
        claim_approve(claim=foreign_claim, actor=college_staff)
    # Nor may they point a claim of theirs at someone outside their college.
    with pytest.raises(PermissionDenied):
        claim_approve(claim=own_claim, actor=college_staff, person=foreign)
    claim_approve(claim=own_claim, actor=college_staff)
    own.refresh_from_db()
    assert own.user == own_claim.user


def test_claim_reject_closes_claim(staff):
    claim = ClaimRequestFactory(matched_person=PersonFactory())
    claim_reject(claim=claim, actor=staff, note="not the same person")
    claim.refresh_from_db()
    assert (claim.status, claim.decided_by) == (Status.REJECTED, staff)
    assert AuditEvent.objects.filter(action="claim.reject", actor=staff).exists()


@pytest.mark.parametrize("role_fixture", ["liaison", "chapter_leader", "alumnus"])
def test_claim_decisions_refused_for_other_roles(request, role_fixture):
    actor = request.getfixturevalue(role_fixture)
    claim = ClaimRequestFactory(matched_person=PersonFactory())
    with pytest.raises(PermissionDenied):
        claim_approve(claim=claim, actor=actor)
    with pytest.raises(PermissionDenied):
        claim_reject(claim=claim, actor=actor)
    assert not visible_claims(actor).exists()
