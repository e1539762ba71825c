import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from apps.alumni.models import Visibility
from apps.portal.api.serializers import DirectoryEntrySerializer, directory_entry_data
from apps.portal.models import LookupStat
from apps.portal.selectors import DirectoryQuery, directory_search
from tests.alumni.factories import ContactChannelFactory, EmploymentFactory, EnrollmentFactory, PersonFactory

from .factories import verified_alumnus

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "api-me", {}),
    ("get", "api-me-contact-list", {}),
    ("post", "api-me-contact-list", {"kind": "mobile", "value": "13912345678"}),
    ("get", "api-me-privacy", {}),
    ("patch", "api-me-privacy", {"contacts": "verified"}),
    ("get", "api-directory", {"q": "王"}),
    ("get", "api-card", {}),
]


def _call(api_client, method, name, data):
    return getattr(api_client, method)(reverse(name), data, format="json" if method != "get" else None)


def test_api_anonymous_is_refused(api_client):
    for method, name, data in ENDPOINTS:
        response = _call(api_client, method, name, data)
        assert response.status_code in (401, 403), name
        assert response.json()["error"]["code"] == "not_authenticated", name


@pytest.mark.parametrize("role", ["staff", "college_staff", "liaison", "chapter_leader", "alumnus"])
def test_api_accounts_without_a_record_get_403(api_client, request, role):
    api_client.force_authenticate(request.getfixturevalue(role))
    for method, name, data in ENDPOINTS:
        response = _call(api_client, method, name, data)
        assert response.status_code == 403, name
        assert response.json()["error"]["code"] == "permission_denied"


def test_api_me_is_my_whole_record(api_client, viewer):
    EnrollmentFactory(person=viewer, student_id="2011990001")
    ContactChannelFactory(person=viewer, kind="email", value="me@example.com")
    EmploymentFactory(person=viewer, organisation="华为")
    api_client.force_authenticate(viewer.user)
    data = api_client.get(reverse("api-me")).json()
    assert data["name"] == viewer.name
    assert data["degrees"][0]["student_id"] == "2011990001"
    assert data["contacts"][0]["value"] == "me@example.com"
    assert data["employments"][0]["organisation"] == "华为"
    assert data["privacy"] == {
        "contacts": "office",
        "employment": "office",
        "location": "office",
        "show_in_directory": True,
    }


def test_api_contacts_add_confirm_remove(api_client, viewer, django_capture_on_commit_callbacks):
    api_client.force_authenticate(viewer.user)
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post(
            reverse("api-me-contact-list"), {"kind": "email", "value": "n@example.com"}, format="json"
        )
    assert created.status_code == 201
    contact_id = created.json()["id"]
    assert created.json()["status"] == "unverified"
    wrong = api_client.post(reverse("api-me-contact-confirm", args=[contact_id]), {"code": "nope"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["fields"]["code"][0]["code"] == "wrong_code"
    code = re.search(r"\d{6}", mail.outbox[-1].subject).group(0)
    ok = api_client.post(reverse("api-me-contact-confirm", args=[contact_id]), {"code": code}, format="json")
    assert ok.json()["status"] == "verified"
    assert api_client.delete(reverse("api-me-contact-detail", args=[contact_id])).status_code == 204
    assert api_client.get(reverse("api-me-contact-list")).json() == []


def test_api_contacts_errors_have_one_shape(api_client, viewer):
    api_client.force_authenticate(viewer.user)
    response = api_client.post(reverse("api-me-contact-list"), {"kind": "fax", "value": ""}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"kind", "value"}
    assert {"code", "message"} <= set(error["fields"]["kind"][0])
    bad_phone = api_client.post(reverse("api-me-contact-list"), {"kind": "mobile", "value": "123"}, format="json")
    assert bad_phone.json()["error"]["fields"]["value"][0]["code"] == "mobile"


def test_api_other_peoples_contacts_are_404(api_client, viewer):
    theirs = ContactChannelFactory(person=PersonFactory(), kind="email", value="x@example.com", status="unverified")
    api_client.force_authenticate(viewer.user)
    assert api_client.delete(reverse("api-me-contact-detail", args=[theirs.pk])).status_code == 404
    response = api_client.post(reverse("api-me-contact-confirm", args=[theirs.pk]), {"code": "1"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    theirs.refresh_from_db()
    assert theirs.status == "unverified"


def test_api_privacy_get_put_patch(api_client, viewer):
    api_client.force_authenticate(viewer.user)
    url = reverse("api-me-privacy")
    body = {"contacts": "classmates", "employment": "chapters", "location": "verified", "show_in_directory": False}
    assert api_client.put(url, body, format="json").json() == body
    assert api_client.patch(url, {"contacts": "office"}, format="json").json()["contacts"] == "office"
    viewer.refresh_from_db()
    assert (viewer.privacy_contacts, viewer.privacy_location, viewer.show_in_directory) == ("office", "verified", False)
    bad = api_client.patch(url, {"contacts": "everyone"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["contacts"][0]["code"] == "invalid_choice"


def test_api_directory_pages_without_counting(api_client, viewer, django_assert_max_num_queries):
    for n in range(45):
        PersonFactory(name=f"王{n:02d}", show_in_directory=True)
    api_client.force_authenticate(viewer.user)
    with django_assert_max_num_queries(12):
        first = api_client.get(reverse("api-directory"), {"q": "王"}).json()
    assert len(first["results"]) == 20
    assert first["previous"] is None
    assert "page=2" in first["next"]
    third = api_client.get(first["next"].replace("page=2", "page=3")).json()
    assert len(third["results"]) == 5
    assert third["next"] is None
    assert [r["name"] for r in first["results"]] == sorted(r["name"] for r in first["results"])
    assert LookupStat.objects.get().count == 1
    assert LookupStat.objects.get().bucket == "21+"


def test_api_directory_pinyin_initials_and_degree_filters(api_client, viewer, college):
    zhang = PersonFactory(name="张伟", show_in_directory=True)
    EnrollmentFactory(person=zhang, college=college, graduation_year=2015, enrollment_year=2011)
    PersonFactory(name="赵薇", show_in_directory=True)  # zw too
    api_client.force_authenticate(viewer.user)

    def names(**params):
        return sorted(r["name"] for r in api_client.get(reverse("api-directory"), params).json()["results"])

    assert names(q="zhangwei") == ["张伟"]
    assert names(q="zw") == ["张伟", "赵薇"]
    assert names(college=college.pk, year=2015) == ["张伟"]
    assert names(college=college.pk, year=2016) == []
    assert names(q="张", college=college.pk) == ["张伟"]


def test_api_directory_validation(api_client, viewer):
    api_client.force_authenticate(viewer.user)
    empty = api_client.get(reverse("api-directory"))
    assert empty.status_code == 400
    assert empty.json()["error"]["fields"]["q"][0]["code"] == "empty_query"
    bad = api_client.get(reverse("api-directory"), {"year": "abc", "page": "0"})
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"year", "page"}
    assert api_client.get(reverse("api-directory"), {"q": "'; DROP TABLE x; --＂"}).status_code == 200


def test_api_directory_entry_shape_matches_the_schema_serializer(viewer):
    other = PersonFactory(name="钱多多", show_in_directory=True, privacy_contacts=Visibility.VERIFIED_ALUMNI)
    ContactChannelFactory(person=other, kind="email", value="q@example.com")
    EnrollmentFactory(person=other)
    [entry] = directory_search(viewer, DirectoryQuery(q="钱多多")).entries
    assert directory_entry_data(entry) == DirectoryEntrySerializer(entry).data


@override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "portal_directory": "3/min"},
    }
)
def test_api_directory_is_throttled(api_client, viewer):
    api_client.force_authenticate(viewer.user)
    codes = [api_client.get(reverse("api-directory"), {"q": "王"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = api_client.get(reverse("api-directory"), {"q": "王"})
    assert throttled.json()["error"]["code"] == "throttled"
    assert "Retry-After" in throttled
    other = verified_alumnus()
    api_client.force_authenticate(other.user)
    assert api_client.get(reverse("api-directory"), {"q": "王"}).status_code == 200  # per user


@override_settings(
    REST_FRAMEWORK={
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "portal_write": "2/min"},
    }
)
def test_api_writes_are_throttled(api_client, viewer):
    api_client.force_authenticate(viewer.user)
    url = reverse("api-me-privacy")
    codes = [api_client.patch(url, {"contacts": "office"}, format="json").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert api_client.get(url).status_code == 200  # reading is not a write


def test_api_card(api_client, viewer, client):
    EnrollmentFactory(person=viewer)
    api_client.force_authenticate(viewer.user)
    data = api_client.get(reverse("api-card")).json()
    assert data["name"] == viewer.name
    assert len(data["degrees"]) == 1
    assert data["verify_url"].endswith(reverse("portal:card-verify", args=[data["token"]]))
    assert client.get(reverse("portal:card-verify", args=[data["token"]])).status_code == 200


def test_api_ping_is_public_and_says_nothing(api_client):
    assert api_client.get(reverse("api-ping")).json() == {"status": "ok"}


def test_api_schema_lists_the_portal_endpoints(api_client, staff):
    api_client.force_authenticate(staff)
    schema = api_client.get(reverse("api-schema"), {"format": "json"}).json()
    for path in ("/api/v1/me/", "/api/v1/me/contacts/", "/api/v1/me/privacy/", "/api/v1/directory/", "/api/v1/card/"):
        assert path in schema["paths"], path


def test_api_docs_use_npm_installed_swagger_ui(api_client, staff):
    api_client.force_authenticate(staff)
    page = api_client.get(reverse("api-docs")).content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert "<script>" not in page  # the initialiser is served from the same URL, CSP-safe
    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css"):
        assert finders.find(f"vendor/swagger-ui/{name}"), f"run `make assets` ({name} missing)"
    assert finders.find("vendor/htmx/htmx.min.js"), "run `make assets`"


def test_api_schema_has_no_warnings_for_the_portal(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    assert "VisibilityEnum" in out.read_text()
