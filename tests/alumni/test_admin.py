"""The alumni admin through the test client: scoping, search, ID numbers, audit, merge, query counts."""

import json
from collections import defaultdict
from datetime import UTC, date, datetime
from html.parser import HTMLParser

import pytest
from django.contrib import messages
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from apps.accounts.models import Role
from apps.alumni.models import ContactChannel, Enrollment, Person
from apps.core import audit
from apps.core import paginator as paginator_module
from apps.core.models import AuditEvent
from apps.core.names import mask_id_number
from apps.core.paginator import EstimatedCountPaginator
from tests.accounts.factories import UserFactory
from tests.alumni.factories import (
    ContactChannelFactory,
    EmploymentFactory,
    EnrollmentFactory,
    HonourFactory,
    PersonFactory,
    StaffNoteFactory,
    TagFactory,
    alumnus_in,
    user_with_role,
    valid_id_number,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:alumni_person_changelist"
MERGE = "admin:alumni_person_merge"
OLD_ID_NUMBER = valid_id_number("11010519491231002")  # ends in X
NEW_ID_NUMBER = valid_id_number("44030119850615123")
VERIFIED_AT = datetime(2024, 5, 6, 10, 30, 45, tzinfo=UTC)


# --- helpers ------------------------------------------------------------------------------


class _FormFields(HTMLParser):
    """The name/value pairs a browser would submit from the form with ``form_id``."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.pairs: list[tuple[str, str]] = []
        self._select: dict | None = None
        self._textarea: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
            return
        name = attrs.get("name")
        if not self.inside or "disabled" in attrs:
            return
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.pairs.append((name, attrs.get("value") or ("on" if kind in ("checkbox", "radio") else "")))
        elif tag == "select" and name:
            self._select = {"name": name, "multiple": "multiple" in attrs, "options": [], "selected": []}
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select["options"].append(value)
            if "selected" in attrs:
                self._select["selected"].append(value)
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            select, self._select = self._select, None
            values = select["selected"] or ([] if select["multiple"] else select["options"][:1])
            self.pairs += [(select["name"], value) for value in values]
        elif tag == "textarea" and self._textarea is not None:
            name, text = self._textarea
            self._textarea = None
            self.pairs.append((name, text.removeprefix("\n")))


def _form_data(response, form_id: str = "person_form") -> dict[str, list[str]]:
    parser = _FormFields(form_id)
    parser.feed(response.content.decode())
    data: dict[str, list[str]] = defaultdict(list)
    for name, value in parser.pairs:
        if "__prefix__" not in name:
            data[name].append(value)
    assert data, f"form {form_id} not found"
    return dict(data)


def _url(view: str, person: Person) -> str:
    return reverse(f"admin:alumni_person_{view}", args=[person.pk])


def _post_change(client, person: Person, **changes):
    """Open the change form as a browser would, change some fields and save it."""
    page = client.get(_url("change", person))
    assert page.status_code == 200
    data = _form_data(page)
    data.update(changes)
    data["_save"] = "Save"
    return client.post(_url("change", person), data)


def _add_inline_row(data: dict, prefix: str, **fields) -> dict:
    index = int(data[f"{prefix}-TOTAL_FORMS"][0])
    data[f"{prefix}-TOTAL_FORMS"] = [str(index + 1)]
    for name, value in fields.items():
        data[f"{prefix}-{index}-{name}"] = value
    return data


def _result_pks(response) -> set[int]:
    assert response.status_code == 200
    return {person.pk for person in response.context["cl"].result_list}


def _messages(response) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in get_messages(response.wsgi_request)]


def _zh(message: str) -> str:
    """A message as the default (zh-hans) request renders it, whatever the catalogue holds today."""
    with translation.override("zh-hans"):
        return translation.gettext(message)


def _audit_events(action: str, target) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action=action, target_type=target._meta.label_lower, target_id=str(target.pk)
        ).order_by("id")
    )


def _personal_data_events() -> list[str]:
    """Actions audited on alumni records (sign-ins and role changes are audited too, elsewhere)."""
    return list(AuditEvent.objects.filter(target_type__startswith="alumni.").values_list("action", flat=True))


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def mine(college):
    person = alumnus_in(college, name="张伟")
    ContactChannelFactory(person=person, value="13800138000", verified_at=VERIFIED_AT)
    return person


@pytest.fixture
def theirs(other_college):
    person = alumnus_in(other_college, name="李娜")
    ContactChannelFactory(person=person, value="13900139000")
    return person


@pytest.fixture
def shared(college, other_college):
    """One person with a bachelor's in ``college`` and a master's in ``other_college``."""
    person = alumnus_in(college, name="王芳")
    EnrollmentFactory(
        person=person,
        college=other_college,
        degree_level=Enrollment.DegreeLevel.MASTER,
        enrollment_year=2015,
        graduation_year=2018,
    )
    return person


@pytest.fixture
def other_college_staff(other_college):
    return user_with_role(Role.COLLEGE_STAFF, college=other_college)


# --- scoping ---------------------------------------------------------------------------


def test_person_changelist_college_staff_sees_only_own_college(client, college_staff, mine, theirs, shared):
    client.force_login(college_staff)
    assert _result_pks(client.get(reverse(CHANGELIST))) == {mine.pk, shared.pk}


def test_person_changelist_office_staff_sees_everyone(client, staff, mine, theirs, shared):
    client.force_login(staff)
    assert _result_pks(client.get(reverse(CHANGELIST))) == {mine.pk, theirs.pk, shared.pk}


@pytest.mark.parametrize("term", ["李娜", "lina", "ln", "13900139000"])
def test_person_search_college_staff_never_finds_other_college(client, college_staff, staff, mine, theirs, term):
    client.force_login(staff)
    assert _result_pks(client.get(reverse(CHANGELIST), {"q": term})) == {theirs.pk}
    client.force_login(college_staff)
    assert _result_pks(client.get(reverse(CHANGELIST), {"q": term})) == set()


def test_person_search_college_staff_by_other_college_student_id_finds_nothing(client, college_staff, theirs):
    student_id = theirs.enrollments.get().student_id
    client.force_login(college_staff)
    assert _result_pks(client.get(reverse(CHANGELIST), {"q": student_id})) == set()


def test_person_change_view_college_staff_own_record(client, college_staff, mine):
    client.force_login(college_staff)
    response = client.get(_url("change", mine))
    assert response.status_code == 200
    assert response.context["original"] == mine
    assert "张伟" in response.content.decode()


@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_person_urls_other_college_answer_404(client, college_staff, theirs, view):
    client.force_login(college_staff)
    response = client.get(_url(view, theirs))
    assert response.status_code == 404
    assert "李娜" not in response.content.decode()


def test_person_urls_unknown_pk_answers_like_other_college(client, college_staff, theirs):
    client.force_login(college_staff)
    missing = Person(pk=theirs.pk + 1000)
    assert client.get(_url("change", missing)).status_code == 404
    assert client.get(_url("change", theirs)).status_code == 404


def test_person_change_post_other_college_404_and_unchanged(client, college_staff, staff, theirs):
    client.force_login(staff)
    data = _form_data(client.get(_url("change", theirs)))
    data["city"] = ["上海"]
    client.force_login(college_staff)
    response = client.post(_url("change", theirs), data)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.city == "北京"
    assert not AuditEvent.objects.filter(target_type="alumni.person", target_id=str(theirs.pk)).exists()


def test_person_delete_post_other_college_404(client, college_staff, theirs):
    client.force_login(college_staff)
    response = client.post(_url("delete", theirs), {"post": "yes"})
    assert response.status_code == 404
    assert Person.objects.filter(pk=theirs.pk).exists()


def test_person_change_post_own_college_saves(client, college_staff, mine):
    client.force_login(college_staff)
    response = _post_change(client, mine, city=["上海"])
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.city == "上海"


def test_person_with_two_colleges_visible_to_both_college_staffs(
    client, college_staff, other_college_staff, shared, mine, theirs
):
    for user, also in ((college_staff, mine), (other_college_staff, theirs)):
        client.force_login(user)
        assert _result_pks(client.get(reverse(CHANGELIST))) == {shared.pk, also.pk}
        assert client.get(_url("change", shared)).status_code == 200


def test_person_with_two_colleges_editable_by_college_staff(client, college_staff, shared, other_college):
    """The other college's degree is shown but must not block (or be changed by) an edit."""
    client.force_login(college_staff)
    response = _post_change(client, shared, city=["上海"])
    assert response.status_code == 302, response.context["errors"] if response.context else response
    shared.refresh_from_db()
    assert shared.city == "上海"
    assert set(shared.enrollments.values_list("college", flat=True)) == {
        college_staff.role_assignments.get().college_id,
        other_college.pk,
    }


def test_person_change_college_staff_cannot_edit_other_college_degree(client, college_staff, shared, other_college):
    foreign = shared.enrollments.get(college=other_college)
    client.force_login(college_staff)
    page = client.get(_url("change", shared))
    data = _form_data(page)
    row = next(k for k, v in data.items() if k.endswith("-id") and v == [str(foreign.pk)]).removesuffix("-id")
    assert f"{row}-graduation_year" not in data  # rendered disabled, so a browser sends nothing
    data[f"{row}-graduation_year"] = ["2030"]
    data[f"{row}-college"] = [str(college_staff.role_assignments.get().college_id)]
    assert client.post(_url("change", shared), data).status_code == 302
    foreign.refresh_from_db()
    assert (foreign.college, foreign.graduation_year) == (other_college, 2018)


def test_person_changelist_liaison_sees_only_own_class(client, liaison, school_class, college, theirs):
    classmate = PersonFactory(name="陈静")
    EnrollmentFactory(person=classmate, college=college, school_class=school_class)
    same_college_other_class = alumnus_in(college, name="刘洋")
    client.force_login(liaison)
    assert _result_pks(client.get(reverse(CHANGELIST))) == {classmate.pk}
    assert client.get(_url("change", classmate)).status_code == 200
    assert client.get(_url("change", same_college_other_class)).status_code == 404
    assert client.get(_url("change", theirs)).status_code == 404


def test_person_admin_alumnus_has_no_access(client, alumnus, mine):
    client.force_login(alumnus)
    for url in (reverse("admin:index"), reverse(CHANGELIST), _url("change", mine)):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_person_admin_chapter_leader_without_chapter_sees_nobody(client, chapter_leader, mine, theirs):
    client.force_login(chapter_leader)
    assert _result_pks(client.get(reverse(CHANGELIST))) == set()
    assert client.get(_url("change", mine)).status_code == 404
    assert client.get(_url("change", theirs)).status_code == 404
    assert _result_pks(client.get(reverse(CHANGELIST), {"q": "zhangwei"})) == set()


def test_person_college_filter_lists_only_own_colleges(client, college_staff, staff, college, other_college):
    def college_choices(user):
        client.force_login(user)
        changelist = client.get(reverse(CHANGELIST)).context["cl"]
        spec = next(s for s in changelist.filter_specs if s.parameter_name == "college")
        return list(spec.lookup_choices)

    assert college_choices(college_staff) == [(str(college.pk), college.name)]
    assert college_choices(staff) == [(str(college.pk), college.name), (str(other_college.pk), other_college.name)]


def test_person_college_filter_tampered_value_shows_only_visible_people(
    client, college_staff, other_college, mine, theirs, shared
):
    client.force_login(college_staff)
    assert _result_pks(client.get(reverse(CHANGELIST), {"college": other_college.pk})) == {shared.pk}


def test_person_college_and_year_filters_match_the_same_degree(client, staff, college, other_college):
    both_here = PersonFactory()
    EnrollmentFactory(person=both_here, college=college, graduation_year=2015)
    split = PersonFactory()
    EnrollmentFactory(person=split, college=college, graduation_year=2011, enrollment_year=2007)
    EnrollmentFactory(person=split, college=other_college, graduation_year=2015)
    client.force_login(staff)

    listed = _result_pks(client.get(reverse(CHANGELIST), {"college": college.pk, "graduation_year": 2015}))

    assert listed == {both_here.pk}
    assert _result_pks(client.get(reverse(CHANGELIST), {"graduation_year": 2015})) >= {both_here.pk, split.pk}


def test_enrollment_inline_college_choices_limited_to_staff_colleges(
    client, college_staff, staff, college, other_college, mine
):
    def inline_colleges(user):
        client.force_login(user)
        page = client.get(_url("change", mine))
        formset = next(i.formset for i in page.context["inline_admin_formsets"] if i.formset.model is Enrollment)
        return set(formset.empty_form.fields["college"].queryset)

    assert inline_colleges(college_staff) == {college}
    assert inline_colleges(staff) == {college, other_college}


def test_enrollment_inline_college_staff_cannot_add_degree_in_other_college(client, college_staff, mine, other_college):
    client.force_login(college_staff)
    data = _form_data(client.get(_url("change", mine)))
    _add_inline_row(
        data,
        "enrollments",
        student_id="2015990001",
        degree_level="master",
        college=str(other_college.pk),
        status="graduated",
    )
    response = client.post(_url("change", mine), data)
    assert response.status_code == 200  # the form comes back with an error
    assert not Enrollment.objects.filter(student_id="2015990001").exists()


@pytest.mark.parametrize("source", ["enrollment", "contactchannel", "staffnote"])
def test_person_autocomplete_endpoint_is_scoped(client, college_staff, staff, mine, theirs, source):
    """No admin form autocompletes people, but Django answers for any FK to a searchable admin."""

    def names(user, term):
        client.force_login(user)
        response = client.get(
            reverse("admin:autocomplete"),
            {"app_label": "alumni", "model_name": source, "field_name": "person", "term": term},
        )
        assert response.status_code == 200
        return {row["text"] for row in response.json()["results"]}

    assert names(staff, "李") == {"李娜"}
    assert names(college_staff, "李") == set()
    assert names(college_staff, "lina") == set()
    assert names(college_staff, "") == {"张伟"}


def test_person_autocomplete_endpoint_gives_nothing_without_scope(client, alumnus, chapter_leader, mine):
    query = {"app_label": "alumni", "model_name": "enrollment", "field_name": "person", "term": "张"}
    client.force_login(alumnus)
    response = client.get(reverse("admin:autocomplete"), query)
    assert response.status_code == 302
    client.force_login(chapter_leader)
    response = client.get(reverse("admin:autocomplete"), query)
    assert response.status_code == 200
    assert response.json()["results"] == []


# --- search through the admin ----------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "zhangwei",
        "ZhangWei",
        "zhang wei",
        "張偉",
        "张伟",
        "+86 138-0013-8000",
        "138 0013 8000",
        "１３８００１３８０００",
    ],
)
def test_person_admin_search_finds_person(client, staff, mine, theirs, term):
    client.force_login(staff)
    assert _result_pks(client.get(reverse(CHANGELIST), {"q": term})) == {mine.pk}


def test_person_admin_search_non_matching_term_finds_nothing(client, staff, mine, theirs):
    client.force_login(staff)
    assert _result_pks(client.get(reverse(CHANGELIST), {"q": "qianduoduo"})) == set()


def test_person_admin_search_terms_narrow_each_other(client, staff, mine, college):
    namesake = alumnus_in(college, name="张伟")
    client.force_login(staff)
    student_id = mine.enrollments.get().student_id
    assert _result_pks(client.get(reverse(CHANGELIST), {"q": "zw"})) == {mine.pk, namesake.pk}
    assert _result_pks(client.get(reverse(CHANGELIST), {"q": f"张伟 {student_id}"})) == {mine.pk}


# --- ID-card numbers -------------------------------------------------------------------


@pytest.fixture
def with_id(college):
    return alumnus_in(college, name="赵伟", id_number=OLD_ID_NUMBER)


def test_person_change_office_admin_sees_clear_id_number(client, office_admin, with_id):
    client.force_login(office_admin)
    response = client.get(_url("change", with_id))
    assert response.status_code == 200
    assert _form_data(response)["id_number"] == [OLD_ID_NUMBER]


@pytest.mark.parametrize("role_fixture", ["staff", "college_staff"])
def test_person_pages_show_only_masked_id_number(client, request, with_id, role_fixture):
    client.force_login(request.getfixturevalue(role_fixture))
    change = client.get(_url("change", with_id)).content.decode()
    assert mask_id_number(OLD_ID_NUMBER) in change
    assert "id_number" not in _form_data(client.get(_url("change", with_id)))
    for url in (_url("change", with_id), _url("history", with_id), reverse(CHANGELIST)):
        html = client.get(url).content.decode()
        assert OLD_ID_NUMBER not in html
        assert OLD_ID_NUMBER[:17] not in html


def test_person_merge_page_shows_office_staff_only_masked_id_number(client, staff, with_id, college):
    other = alumnus_in(college, id_number=NEW_ID_NUMBER)
    client.force_login(staff)
    html = client.get(reverse(MERGE), {"keep": with_id.pk, "other": other.pk}).content.decode()
    assert mask_id_number(OLD_ID_NUMBER) in html
    assert OLD_ID_NUMBER not in html
    assert NEW_ID_NUMBER not in html


def test_person_change_staff_post_cannot_set_id_number(client, staff, with_id):
    client.force_login(staff)
    response = _post_change(client, with_id, id_number=[NEW_ID_NUMBER], city=["上海"])
    assert response.status_code == 302
    with_id.refresh_from_db()
    assert with_id.city == "上海"
    assert with_id.id_number == OLD_ID_NUMBER


def test_person_change_rejects_invalid_id_check_digit(client, office_admin, with_id):
    wrong = NEW_ID_NUMBER[:17] + ("0" if NEW_ID_NUMBER[17] != "0" else "1")
    client.force_login(office_admin)
    response = _post_change(client, with_id, id_number=[wrong])
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert [e.code for e in errors["id_number"]] == ["id_number"]
    with_id.refresh_from_db()
    assert with_id.id_number == OLD_ID_NUMBER


def test_person_change_office_admin_sets_id_number_normalised(client, office_admin, with_id):
    client.force_login(office_admin)
    response = _post_change(client, with_id, id_number=[OLD_ID_NUMBER.lower()])
    assert response.status_code == 302
    response = _post_change(client, with_id, id_number=[f" {NEW_ID_NUMBER} "])
    assert response.status_code == 302
    with_id.refresh_from_db()
    assert with_id.id_number == NEW_ID_NUMBER
    assert Person.objects.filter(id_number_hash=with_id.id_number_hash).get() == with_id


# --- audit -----------------------------------------------------------------------------


def test_person_change_audits_actor_and_changed_field_only(client, staff, mine):
    client.force_login(staff)
    assert _post_change(client, mine, city=["上海"]).status_code == 302
    (event,) = _audit_events("person.update", mine)
    assert event.actor == staff
    assert event.changes == [{"field": "city", "old": "北京", "new": "上海"}]
    # Re-saving the page must not rewrite (or audit) the untouched contact row.
    assert _personal_data_events() == ["person.update"]
    assert mine.contacts.get().verified_at == VERIFIED_AT


def test_person_change_unchanged_save_writes_no_audit(client, staff, mine):
    client.force_login(staff)
    assert _post_change(client, mine).status_code == 302
    assert _personal_data_events() == []


def test_contact_inline_add_change_delete_audited(client, staff, mine):
    client.force_login(staff)
    url = _url("change", mine)

    data = _add_inline_row(
        _form_data(client.get(url)), "contacts", kind="email", value="Zhang.Wei@Example.com", status="unverified"
    )
    assert client.post(url, data).status_code == 302
    added = mine.contacts.get(kind="email")
    (created,) = _audit_events("contactchannel.create", added)
    assert created.actor == staff
    assert {"field": "value", "old": None, "new": "Zhang.Wei@Example.com"} in created.changes

    data = _form_data(client.get(url))
    row = next(k for k, v in data.items() if k.endswith("-id") and v == [str(added.pk)]).removesuffix("-id")
    data[f"{row}-status"] = ["bounced"]
    assert client.post(url, data).status_code == 302
    (updated,) = _audit_events("contactchannel.update", added)
    assert updated.actor == staff
    assert updated.changes == [{"field": "status", "old": "unverified", "new": "bounced"}]

    data = _form_data(client.get(url))
    data[f"{row}-DELETE"] = ["on"]
    assert client.post(url, data).status_code == 302
    assert not ContactChannel.objects.filter(pk=added.pk).exists()
    (deleted,) = _audit_events("contactchannel.delete", added)
    assert deleted.actor == staff
    assert {"field": "value", "old": "Zhang.Wei@Example.com", "new": None} in deleted.changes
    assert AuditEvent.objects.filter(action__startswith="person.").count() == 0


def test_person_id_number_change_masked_in_audit(client, office_admin, with_id):
    client.force_login(office_admin)
    assert _post_change(client, with_id, id_number=[NEW_ID_NUMBER]).status_code == 302
    (event,) = _audit_events("person.update", with_id)
    assert event.changes == [
        {"field": "id_number", "old": mask_id_number(OLD_ID_NUMBER), "new": mask_id_number(NEW_ID_NUMBER)}
    ]
    stored = json.dumps(event.changes)
    assert OLD_ID_NUMBER not in stored
    assert NEW_ID_NUMBER not in stored


def test_audit_log_admin_readable_by_office_staff(client, staff, mine):
    event = audit.record(actor=staff, action="person.update", target=mine, changes=[{"field": "city"}])
    audit.record(actor=staff, action="person.update", target=alumnus_in(mine.enrollments.get().college))
    client.force_login(staff)
    changelist = reverse("admin:core_auditevent_changelist")
    response = client.get(changelist)
    assert response.status_code == 200
    assert event in response.context["cl"].result_list
    # The person page's "every change to this record" link narrows the log to that record.
    filtered = client.get(changelist, {"target_type": "alumni.person", "target_id": mine.pk})
    assert list(filtered.context["cl"].result_list) == [event]
    assert client.get(reverse("admin:core_auditevent_change", args=[event.pk])).status_code == 200


def test_audit_log_admin_forbidden_to_college_staff(client, college_staff, staff, mine):
    event = audit.record(actor=staff, action="person.update", target=mine)
    client.force_login(college_staff)
    assert client.get(reverse("admin:core_auditevent_changelist")).status_code == 403
    assert client.get(reverse("admin:core_auditevent_change", args=[event.pk])).status_code == 403


@pytest.mark.parametrize("role_fixture", ["staff", "office_admin"])
def test_audit_log_admin_has_no_add_change_delete(client, request, mine, role_fixture):
    user = request.getfixturevalue(role_fixture)
    event = audit.record(actor=user, action="person.update", target=mine)
    client.force_login(user)
    assert client.get(reverse("admin:core_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:core_auditevent_add"), {"action": "forged"}).status_code == 403
    change_url = reverse("admin:core_auditevent_change", args=[event.pk])
    assert client.post(change_url, {"action": "forged"}).status_code == 403
    assert client.post(reverse("admin:core_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    changelist = client.get(reverse("admin:core_auditevent_changelist"))
    assert "delete_selected" not in changelist.content.decode()
    response = client.post(
        reverse("admin:core_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    event.refresh_from_db()
    assert event.action == "person.update"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the append-only trigger on core_auditevent exists only on PostgreSQL"
)
def test_audit_event_rows_cannot_be_updated_or_deleted_on_postgresql(staff):
    event = audit.record(actor=staff, action="person.update", target_type="alumni.person", target_id="1")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.action == "person.update"


# --- merge -----------------------------------------------------------------------------


@pytest.fixture
def duplicates(college):
    """Two records of one alumna; ``other`` holds everything the kept record lacks."""
    keep = alumnus_in(college, name="张伟", birth_date=date(1990, 1, 1), city="", hometown_province="")
    ContactChannelFactory(person=keep, value="13800138000")
    other = alumnus_in(college, name="张卫", birth_date=date(1991, 2, 2), city="杭州", hometown_province="河北")
    ContactChannelFactory(person=other, value="+86 138-0013-8000")  # the same number: dropped
    ContactChannelFactory(person=other, kind="email", value="zw@example.com")
    EmploymentFactory(person=other)
    HonourFactory(person=other)
    StaffNoteFactory(person=other)
    other.tags.add(TagFactory(name="校友会理事"))
    return keep, other


def test_person_merge_action_with_two_records_redirects_to_merge_page(client, staff, duplicates):
    keep, other = duplicates
    client.force_login(staff)
    response = client.post(
        reverse(CHANGELIST), {"action": "merge_two_records", "_selected_action": [other.pk, keep.pk]}
    )
    assert response.status_code == 302
    assert response.url == f"{reverse(MERGE)}?keep={keep.pk}&other={other.pk}"
    page = client.get(response.url)
    assert page.status_code == 200
    assert page.context["keep"] == keep
    assert page.context["other"] == other
    html = page.content.decode()
    assert "张伟" in html
    assert "张卫" in html


@pytest.mark.parametrize("selected", [1, 3])
def test_person_merge_action_needs_exactly_two_records(client, staff, college, selected):
    people = [alumnus_in(college) for _ in range(selected)]
    client.force_login(staff)
    response = client.post(
        reverse(CHANGELIST), {"action": "merge_two_records", "_selected_action": [p.pk for p in people]}
    )
    assert response.status_code == 302
    assert not response.url.startswith(reverse(MERGE))
    assert _messages(response) == [(messages.ERROR, _zh("Select exactly two records to merge."))]
    assert Person.objects.count() == selected


def test_person_merge_moves_everything_and_writes_one_audit_row(client, staff, duplicates):
    keep, other = duplicates
    other_pk = other.pk
    client.force_login(staff)
    response = client.post(
        reverse(MERGE),
        {"keep": keep.pk, "other": other.pk, "confirm": "1", "field_name": "keep", "field_birth_date": "other"},
    )
    assert response.status_code == 302
    assert response.url == _url("change", keep)

    assert not Person.objects.filter(pk=other_pk).exists()
    keep.refresh_from_db()
    assert keep.name == "张伟"
    assert keep.birth_date == date(1991, 2, 2)  # chosen on the merge page
    assert keep.city == "杭州"  # empty on the kept record: filled
    assert keep.hometown_province == "河北"
    assert keep.former_names.split(",") == ["张卫"]
    assert keep.enrollments.count() == 2
    assert sorted(keep.contacts.values_list("kind", "value_normalised")) == [
        ("email", "zw@example.com"),
        ("mobile", "13800138000"),
    ]
    assert keep.employments.count() == 1
    assert keep.honours.count() == 1
    assert keep.notes.count() == 1
    assert list(keep.tags.values_list("name", flat=True)) == ["校友会理事"]
    assert not Enrollment.objects.filter(person_id=other_pk).exists()
    assert not ContactChannel.objects.filter(person_id=other_pk).exists()

    merges = list(AuditEvent.objects.filter(action="person.merge"))
    assert len(merges) == 1
    (merge,) = merges
    assert (merge.actor, merge.target_id) == (staff, str(keep.pk))
    changed = {c["field"]: c for c in merge.changes}
    assert changed["birth_date"]["new"] == "1991-02-02"
    assert changed["merged_record"]["old"]["id"] == other_pk
    assert _personal_data_events() == ["person.merge"]


def test_person_merge_without_choice_keeps_own_values(client, staff, duplicates):
    keep, other = duplicates
    client.force_login(staff)
    client.post(reverse(MERGE), {"keep": keep.pk, "other": other.pk, "confirm": "1"})
    keep.refresh_from_db()
    assert keep.birth_date == date(1990, 1, 1)
    assert keep.city == "杭州"


def test_person_merge_swap_honours_the_chosen_column(client, staff, duplicates):
    """With "keep the other record", each radio button still means the value shown in its column."""
    keep, other = duplicates
    client.force_login(staff)
    response = client.post(
        reverse(MERGE),
        {"keep": keep.pk, "other": other.pk, "confirm": "1", "swap": "1", "field_birth_date": "keep"},
    )
    assert response.status_code == 302
    assert not Person.objects.filter(pk=keep.pk).exists()
    other.refresh_from_db()
    assert other.birth_date == date(1990, 1, 1)
    assert other.city == "杭州"
    assert "张伟" in other.former_names.split(",")


def test_person_merge_college_staff_forbidden(client, college_staff, college):
    a, b = alumnus_in(college), alumnus_in(college)
    client.force_login(college_staff)
    assert client.get(reverse(MERGE), {"keep": a.pk, "other": b.pk}).status_code == 403
    response = client.post(reverse(MERGE), {"keep": a.pk, "other": b.pk, "confirm": "1"})
    assert response.status_code == 403
    changelist = client.get(reverse(CHANGELIST))
    assert "merge_two_records" not in changelist.content.decode()
    assert Person.objects.filter(pk__in=[a.pk, b.pk]).count() == 2


def test_person_merge_action_offered_to_office_staff(client, staff, mine):
    client.force_login(staff)
    assert "merge_two_records" in client.get(reverse(CHANGELIST)).content.decode()


def test_person_merge_out_of_scope_record_404(client, college_staff, mine, theirs):
    # Give a college-bound user the merge right, so only the scope stands in the way.
    college_staff.user_permissions.add(Permission.objects.get(codename="merge_person"))
    client.force_login(college_staff)
    assert client.get(reverse(MERGE), {"keep": mine.pk, "other": theirs.pk}).status_code == 404
    response = client.post(reverse(MERGE), {"keep": mine.pk, "other": theirs.pk, "confirm": "1"})
    assert response.status_code == 404
    assert Person.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2
    assert not AuditEvent.objects.filter(action="person.merge").exists()


def test_person_merge_refuses_two_portal_accounts(client, staff, duplicates):
    keep, other = duplicates
    Person.objects.filter(pk=keep.pk).update(user=UserFactory())
    Person.objects.filter(pk=other.pk).update(user=UserFactory())
    client.force_login(staff)
    response = client.post(reverse(MERGE), {"keep": keep.pk, "other": other.pk, "confirm": "1"})
    assert response.status_code == 200
    error = _zh("Both records are linked to portal accounts; unlink one before merging.")
    assert (messages.ERROR, error) in _messages(response)
    assert Person.objects.filter(pk__in=[keep.pk, other.pk]).count() == 2
    assert other.contacts.count() == 2
    assert not AuditEvent.objects.filter(action="person.merge").exists()


# --- query counts ----------------------------------------------------------------------


def _people_with_two_degrees(count, college, other_college):
    for _ in range(count):
        person = alumnus_in(college)
        EnrollmentFactory(person=person, college=other_college, degree_level=Enrollment.DegreeLevel.MASTER)


def _changelist_queries(client, expected_rows):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == expected_rows
    return len(queries)


@pytest.mark.parametrize("role_fixture", ["staff", "college_staff"])
def test_person_changelist_query_count_does_not_grow(
    client, request, college, other_college, django_assert_max_num_queries, role_fixture
):
    client.force_login(request.getfixturevalue(role_fixture))
    client.get(reverse(CHANGELIST))  # session and permission caches warm
    _people_with_two_degrees(10, college, other_college)
    with_ten = _changelist_queries(client, 10)
    _people_with_two_degrees(20, college, other_college)
    with django_assert_max_num_queries(15):
        with_thirty = _changelist_queries(client, 30)
    assert with_thirty == with_ten


# --- estimated-count paginator ---------------------------------------------------------


def test_estimated_count_paginator_counts_at_most_cap_plus_one(monkeypatch, college):
    monkeypatch.setattr(paginator_module, "COUNT_CAP", 3)
    for _ in range(6):
        alumnus_in(college)
    with CaptureQueriesContext(connection) as queries:
        paginator = EstimatedCountPaginator(Person.objects.filter(province="北京").order_by("pk"), 2)
        assert paginator.count == 4
    assert paginator.is_capped
    assert paginator.num_pages == 2
    assert len(queries) == 1
    assert "LIMIT 4" in queries[0]["sql"].upper()


def test_estimated_count_paginator_exact_below_cap(monkeypatch, college):
    monkeypatch.setattr(paginator_module, "COUNT_CAP", 3)
    alumnus_in(college, province="上海")
    alumnus_in(college, province="上海")
    alumnus_in(college, province="北京")
    paginator = EstimatedCountPaginator(Person.objects.filter(province="上海").order_by("pk"), 2)
    assert paginator.count == 2
    assert not paginator.is_capped


def test_person_changelist_uses_capped_count(client, staff, college, monkeypatch):
    monkeypatch.setattr(paginator_module, "COUNT_CAP", 3)
    for _ in range(6):
        alumnus_in(college)
    client.force_login(staff)
    changelist = client.get(reverse(CHANGELIST), {"province": "北京"}).context["cl"]
    assert changelist.result_count == 4
    assert changelist.paginator.is_capped
