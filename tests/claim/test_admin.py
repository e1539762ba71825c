import pytest
from django.urls import reverse

from apps.accounts.models import ClaimRequest
from apps.core.models import AuditEvent
from tests.alumni.factories import EnrollmentFactory, PersonFactory
from tests.claim.factories import BIRTH, ClaimRequestFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_claimrequest_changelist"


def _person_in(college):
    person = PersonFactory(birth_date=BIRTH)
    EnrollmentFactory(person=person, college=college)
    return person


def _change_url(claim):
    return reverse("admin:accounts_claimrequest_change", args=[claim.pk])


def test_claim_admin_office_staff_sees_all_claims_without_codes(client, staff):
    claims = [ClaimRequestFactory(), ClaimRequestFactory(code_hash="abc123secret")]
    client.force_login(staff)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == set(claims)
    detail = client.get(_change_url(claims[1]))
    assert detail.status_code == 200
    assert "abc123secret" not in detail.content.decode()


def test_claim_admin_college_staff_sees_their_colleges_claims_only(client, college_staff, college, other_college):
    own = ClaimRequestFactory(matched_person=_person_in(college))
    named = ClaimRequestFactory(student_id="", college=college, graduation_year=2012)
    foreign = ClaimRequestFactory(matched_person=_person_in(other_college))
    unmatched = ClaimRequestFactory()
    client.force_login(college_staff)
    response = client.get(reverse(CHANGELIST))
    assert set(response.context["cl"].result_list) == {own, named}
    for hidden in (foreign, unmatched):
        response = client.get(_change_url(hidden))
        # The admin answers an object outside the queryset like a missing one.
        assert response.status_code == 302
        assert response["Location"] == reverse("admin:index")


@pytest.mark.parametrize("role_fixture", ["liaison", "chapter_leader"])
def test_claim_admin_forbidden_for_other_staff_roles(client, request, role_fixture):
    claim = ClaimRequestFactory()
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(_change_url(claim)).status_code == 403


def test_claim_admin_alumnus_refused(client, alumnus):
    client.force_login(alumnus)
    assert client.get(reverse(CHANGELIST), follow=True).status_code == 403


def test_claim_admin_approve_action_links_the_account(client, staff, college):
    person = _person_in(college)
    claim = ClaimRequestFactory(matched_person=person)
    unmatched = ClaimRequestFactory()
    client.force_login(staff)
    response = client.post(
        reverse(CHANGELIST), {"action": "approve_claims", "_selected_action": [claim.pk, unmatched.pk]}
    )
    assert response.status_code == 302
    person.refresh_from_db()
    claim.refresh_from_db()
    unmatched.refresh_from_db()
    assert person.user == claim.user
    assert claim.status == ClaimRequest.Status.APPROVED
    assert unmatched.status == ClaimRequest.Status.AWAITING_REVIEW  # no person to link: left alone
    assert AuditEvent.objects.filter(action="claim.approve", actor=staff).count() == 1


def test_claim_admin_reject_action(client, college_staff, college):
    claim = ClaimRequestFactory(matched_person=_person_in(college))
    client.force_login(college_staff)
    client.post(reverse(CHANGELIST), {"action": "reject_claims", "_selected_action": [claim.pk]})
    claim.refresh_from_db()
    assert (claim.status, claim.decided_by) == (ClaimRequest.Status.REJECTED, college_staff)


def test_claim_admin_college_staff_cannot_act_on_foreign_claims(client, college_staff, other_college):
    foreign = ClaimRequestFactory(matched_person=_person_in(other_college))
    client.force_login(college_staff)
    client.post(reverse(CHANGELIST), {"action": "approve_claims", "_selected_action": [foreign.pk]})
    foreign.refresh_from_db()
    assert foreign.status == ClaimRequest.Status.AWAITING_REVIEW
    assert foreign.matched_person.user is None


def test_claim_admin_staff_points_claim_at_a_person_within_scope_only(client, college_staff, college, other_college):
    claim = ClaimRequestFactory(student_id="", college=college, graduation_year=2012)
    own, foreign = _person_in(college), _person_in(other_college)
    client.force_login(college_staff)

    response = client.post(_change_url(claim), {"matched_person": foreign.pk, "review_note": ""})
    assert response.status_code == 200  # a form error, not a save
    claim.refresh_from_db()
    assert claim.matched_person is None

    response = client.post(_change_url(claim), {"matched_person": own.pk, "review_note": "same class photo"})
    assert response.status_code == 302
    claim.refresh_from_db()
    assert (claim.matched_person, claim.review_note) == (own, "same class photo")
    event = AuditEvent.objects.get(action="claim.update", target_id=str(claim.pk))
    assert event.actor == college_staff


def test_claim_admin_has_no_add_or_delete(client, office_admin):
    claim = ClaimRequestFactory()
    client.force_login(office_admin)
    assert client.get(reverse("admin:accounts_claimrequest_add")).status_code == 403
    assert client.get(reverse("admin:accounts_claimrequest_delete", args=[claim.pk])).status_code == 403
