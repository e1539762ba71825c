"""A claim attempt must not tell whether, or why, it matched a record.

For each outcome (no match, wrong birth date, several matches, match without a verified contact,
record already linked, and a real match) the page and the API give the same status and the same
body, and the request runs the same number of queries (the code goes out later, from a task).
"""

import re
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import ClaimRequest
from apps.alumni.models import ContactChannel
from tests.accounts.factories import UserFactory
from tests.alumni.factories import CollegeFactory
from tests.claim.factories import BIRTH, seeded_record

pytestmark = pytest.mark.django_db

SCENARIOS = ["no_match", "wrong_birth_date", "ambiguous", "no_verified_contact", "already_linked", "match"]
EXPECTED_OUTCOME = {
    "no_match": ClaimRequest.Outcome.NO_MATCH,
    "wrong_birth_date": ClaimRequest.Outcome.NO_MATCH,
    "ambiguous": ClaimRequest.Outcome.AMBIGUOUS,
    "no_verified_contact": ClaimRequest.Outcome.NO_CONTACT,
    "already_linked": ClaimRequest.Outcome.ALREADY_LINKED,
    "match": ClaimRequest.Outcome.MATCHED,
}
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def _seed(scenario: str, n: int, by: str) -> dict:
    """Records for one scenario (names differ per scenario so they never meet); the evidence to give,
    by student ID or by college and graduation year (the two shapes of a claim)."""
    name = f"张伟{'甲乙丙丁戊己庚'[n]}"
    student_id = f"20080112{n:02d}"
    college = CollegeFactory(code=f"K{n}", name=f"第{n}学院")
    if by == "student_id":
        given = {"name": name, "birth_date": BIRTH.isoformat(), "student_id": student_id}
    else:
        given = {"name": name, "birth_date": BIRTH.isoformat(), "college": college.code, "graduation_year": 2012}
    record = {"name": name, "student_id": student_id, "college": college, "graduation_year": 2012}
    if scenario == "wrong_birth_date":
        seeded_record(**record, birth_date=date(1991, 2, 3))
    elif scenario == "ambiguous":
        seeded_record(**record)
        seeded_record(**{**record, "student_id": f"B{student_id}"})
    elif scenario == "no_verified_contact":
        seeded_record(**record, contact_status=ContactChannel.Status.UNVERIFIED)
    elif scenario == "already_linked":
        seeded_record(**record, user=UserFactory())
    elif scenario == "match":
        seeded_record(**record)
    return given


def _scenarios(by: str) -> list[str]:
    # Student IDs are unique, so only a claim by college and year can match several people.
    return [s for s in SCENARIOS if by == "college" or s != "ambiguous"]


def _page_post(client, url, data, ip, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks, CaptureQueriesContext(connection) as queries:
        response = client.post(url, data, REMOTE_ADDR=ip)
    for callback in callbacks:  # the code goes out after the request, as a worker would send it
        callback()
    return response, len(queries)


@pytest.mark.parametrize("by", ["student_id", "college"])
def test_claim_page_answers_alike_for_every_outcome(django_capture_on_commit_callbacks, by):
    # Warm caches (site, content types) so that the first scenario is not measured cold.
    warm = Client()
    warm.force_login(UserFactory())
    _page_post(
        warm, reverse("claim:start"), _seed("no_match", 6, by), "192.0.2.250", django_capture_on_commit_callbacks
    )
    warm.post(reverse("claim:confirm"), {"code": "000000"}, REMOTE_ADDR="192.0.2.250")

    results = {}
    for n, scenario in enumerate(_scenarios(by)):
        given = _seed(scenario, n, by)
        user = UserFactory()
        client = Client()
        client.force_login(user)
        ip = f"192.0.2.{10 + n}"
        start, start_queries = _page_post(client, reverse("claim:start"), given, ip, django_capture_on_commit_callbacks)
        page = client.get(start["Location"])
        confirm, confirm_queries = _page_post(
            client, reverse("claim:confirm"), {"code": "000000"}, ip, django_capture_on_commit_callbacks
        )
        claim = ClaimRequest.objects.get(user=user)
        assert claim.outcome == EXPECTED_OUTCOME[scenario], scenario
        results[scenario] = {
            "start": (start.status_code, start["Location"]),
            "page": (page.status_code, CSRF.sub("", page.content.decode())),
            "confirm": (confirm.status_code, CSRF.sub("", confirm.content.decode())),
            "queries": (start_queries, confirm_queries),
        }

    reference = results["no_match"]
    assert reference["start"] == (302, reverse("claim:confirm"))
    assert reference["confirm"][0] == 200
    for scenario, result in results.items():
        assert result["start"] == reference["start"], scenario
        assert result["page"] == reference["page"], scenario
        assert result["confirm"] == reference["confirm"], scenario
        assert result["queries"] == reference["queries"], (scenario, result["queries"], reference["queries"])


def _api_body(response) -> dict:
    body = dict(response.json())
    body.pop("id", None)
    body.pop("created_at", None)
    # The evidence is echoed back as given; it differs by scenario only because the inputs do.
    for field in ("name", "student_id", "college", "graduation_year", "birth_date"):
        body.pop(field, None)
    return body


@pytest.mark.parametrize("by", ["student_id", "college"])
def test_claim_api_answers_alike_for_every_outcome(django_capture_on_commit_callbacks, by):
    warm = APIClient()
    warm.force_authenticate(UserFactory())
    warm.post(reverse("claim-list"), _seed("no_match", 6, by), format="json", REMOTE_ADDR="192.0.2.251")

    results = {}
    for n, scenario in enumerate(_scenarios(by)):
        given = _seed(scenario, n, by)
        user = UserFactory()
        api = APIClient()
        api.force_authenticate(user)
        ip = f"192.0.2.{40 + n}"
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            CaptureQueriesContext(connection) as queries,
        ):
            response = api.post(reverse("claim-list"), given, format="json", REMOTE_ADDR=ip)
        for callback in callbacks:
            callback()
        claim_id = response.json()["id"]
        confirm = api.post(reverse("claim-confirm", args=[claim_id]), {"code": "000000"}, format="json")
        assert ClaimRequest.objects.get(pk=claim_id).outcome == EXPECTED_OUTCOME[scenario], scenario
        results[scenario] = {
            "start": (response.status_code, _api_body(response)),
            "confirm": (confirm.status_code, confirm.json()),
            "queries": len(queries),
        }

    reference = results["no_match"]
    assert reference["start"][0] == 202
    assert reference["start"][1]["state"] == "submitted"
    assert reference["confirm"] == (400, reference["confirm"][1])
    assert reference["confirm"][1]["error"]["code"] == "invalid_code"
    for scenario, result in results.items():
        assert result == reference, scenario
