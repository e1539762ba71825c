"""The duplicate finder: scan rules and confidence, decisions, merges, the task, candidates, the admin."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from apps.alumni import services
from apps.alumni.duplicates import (
    duplicate_candidates,
    duplicate_pairs_mark_not_same,
    duplicate_scan_request,
    duplicate_scan_run,
)
from apps.alumni.duplicates import scan as scan_module
from apps.alumni.models import ContactChannel, DuplicatePair, DuplicateScan
from apps.alumni.tasks import duplicate_scan_task
from apps.core.errors import ApplicationError
from apps.core.models import AuditEvent
from tests.alumni.factories import (
    ContactChannelFactory,
    EnrollmentFactory,
    PersonFactory,
    SchoolClassFactory,
    valid_id_number,
)

pytestmark = pytest.mark.django_db

HIGH, MEDIUM, LOW = (DuplicatePair.Confidence.HIGH, DuplicatePair.Confidence.MEDIUM, DuplicatePair.Confidence.LOW)
CHANGELIST = "admin:alumni_duplicatepair_changelist"


# --- helpers ------------------------------------------------------------------------------------


def person(name, birth_date=None, *, college=None, school_class=None, **kwargs):
    created = PersonFactory(name=name, birth_date=birth_date, **kwargs)
    if college is not None or school_class is not None:
        EnrollmentFactory(person=created, college=college or school_class.college, school_class=school_class)
    return created


def contact(owner, value, kind=ContactChannel.Kind.MOBILE, status=ContactChannel.Status.VERIFIED):
    return ContactChannelFactory(person=owner, kind=kind, value=value, status=status)


def scan(max_group_size=None) -> DuplicateScan:
    if max_group_size is None:
        return duplicate_scan_run()
    queued = duplicate_scan_request(actor=None, max_group_size=max_group_size, enqueue=False)
    return duplicate_scan_run(scan_id=queued.pk)


def pairs() -> dict[tuple[int, int], DuplicatePair]:
    return {(p.person_a_id, p.person_b_id): p for p in DuplicatePair.objects.all()}


def key(a, b) -> tuple[int, int]:
    return tuple(sorted((a.pk, b.pk)))


def rules(pair: DuplicatePair) -> set[str]:
    return {item["rule"] for item in pair.evidence}


# --- the rules ----------------------------------------------------------------------------------


def test_scan_pairs_same_phone_written_differently():
    a, b = person("王芳", date(1980, 1, 1)), person("李娜", date(1990, 2, 2))
    contact(a, "+86 138-0013-8000")
    contact(b, "13800138000", status=ContactChannel.Status.UNVERIFIED)
    done = scan()
    assert done.status == DuplicateScan.Status.DONE
    pair = pairs()[key(a, b)]
    assert pair.confidence == MEDIUM
    assert pair.evidence == [{"rule": "mobile", "detail": "138****8000"}]
    assert pair.status == DuplicatePair.Status.PENDING


def test_scan_pairs_same_email_ignoring_case():
    a, b = person("王芳", date(1980, 1, 1)), person("王芳芳", date(1981, 1, 1))
    contact(a, "Wang.Fang@QQ.com", kind=ContactChannel.Kind.EMAIL)
    contact(b, "wang.fang@qq.com", kind=ContactChannel.Kind.EMAIL)
    scan()
    assert pairs()[key(a, b)].evidence == [{"rule": "email", "detail": "wa***@qq.com"}]


def test_scan_ignores_obsolete_and_bounced_contacts():
    a, b, c = person("甲"), person("乙"), person("丙")
    contact(a, "13800138000")
    contact(b, "13800138000", status=ContactChannel.Status.OBSOLETE)
    contact(c, "13800138000", status=ContactChannel.Status.BOUNCED)
    scan()
    assert pairs() == {}


def test_scan_pairs_same_name_and_birth_date():
    a, b = person("张伟", date(1985, 6, 1)), person("张伟", date(1985, 6, 1))
    scan()
    pair = pairs()[key(a, b)]
    assert pair.confidence == MEDIUM
    assert pair.evidence == [{"rule": "name_birth", "detail": "张伟, 1985-06-01"}]


def test_scan_pairs_same_name_in_same_class_with_low_confidence(school_class):
    a = person("刘洋", date(1990, 1, 1), school_class=school_class)
    b = person("刘洋", None, school_class=school_class)
    scan()
    pair = pairs()[key(a, b)]
    assert pair.confidence == LOW
    assert pair.evidence == [{"rule": "name_class", "detail": f"刘洋, {school_class.name}"}]


def test_scan_does_not_pair_namesakes_with_different_birth_dates_and_classes(college):
    person("张伟", date(1985, 6, 1), school_class=SchoolClassFactory(college=college))
    person("张伟", date(1986, 7, 2), school_class=SchoolClassFactory(college=college))
    person("张伟", None, college=college)
    scan()
    assert pairs() == {}


def test_scan_pairs_former_name_with_birth_date_or_class(school_class):
    renamed = person("李明", date(1970, 3, 3), former_names="李小明， 李二")
    old_record = person("李小明", date(1970, 3, 3))
    renamed_in_class = person("陈静", date(1971, 1, 1), former_names="陈晶晶", school_class=school_class)
    old_in_class = person("陈晶晶", date(1972, 2, 2), school_class=school_class)
    person("李二", date(1960, 1, 1))  # a former name, but neither birth date nor class agree
    scan()
    found = pairs()
    assert set(found) == {key(renamed, old_record), key(renamed_in_class, old_in_class)}
    assert found[key(renamed, old_record)].evidence == [{"rule": "former_name_birth", "detail": "李小明, 1970-03-03"}]
    assert found[key(renamed, old_record)].confidence == MEDIUM
    assert found[key(renamed_in_class, old_in_class)].evidence == [
        {"rule": "former_name_class", "detail": f"陈晶晶, {school_class.name}"}
    ]
    assert found[key(renamed_in_class, old_in_class)].confidence == LOW


def test_scan_confidence_levels(school_class):
    # name + birth date + phone: two independent families -> high
    a1, a2 = person("赵磊", date(1980, 1, 1)), person("赵磊", date(1980, 1, 1))
    contact(a1, "13900000001")
    contact(a2, "139-0000-0001")
    # the same ID-card number alone -> high
    id_number = valid_id_number("11010519800101001")
    b1, b2 = person("孙丽", id_number=id_number), person("孙莉", id_number=id_number)
    # a namesake in the class + the same email -> high
    c1 = person("周杰", None, school_class=school_class)
    c2 = person("周杰", None, school_class=school_class)
    contact(c1, "zj@example.com", kind=ContactChannel.Kind.EMAIL)
    contact(c2, "ZJ@example.com", kind=ContactChannel.Kind.EMAIL)
    # a phone and an email shared by two different names: one family (relatives share both) -> medium
    d1, d2 = person("吴刚", date(1950, 1, 1)), person("吴小红", date(1978, 1, 1))
    contact(d1, "13700000000")
    contact(d2, "13700000000")
    contact(d1, "home@example.com", kind=ContactChannel.Kind.EMAIL)
    contact(d2, "home@example.com", kind=ContactChannel.Kind.EMAIL)
    scan()
    found = pairs()
    assert found[key(a1, a2)].confidence == HIGH
    assert rules(found[key(a1, a2)]) == {"name_birth", "mobile"}
    assert found[key(b1, b2)].confidence == HIGH
    assert rules(found[key(b1, b2)]) == {"id_number"}
    assert found[key(c1, c2)].confidence == HIGH
    assert rules(found[key(c1, c2)]) == {"name_class", "email"}
    assert found[key(d1, d2)].confidence == MEDIUM
    assert len(found) == 4


def test_scan_skips_huge_shared_phone_groups_and_reports_them():
    office = [person(f"员工{i}") for i in range(6)]
    for owner in office:
        contact(owner, "010-62780000", kind=ContactChannel.Kind.MOBILE)
    a, b = person("郑一"), person("郑二")
    contact(a, "13600000000")
    contact(b, "13600000000")
    done = scan(max_group_size=5)
    assert set(pairs()) == {key(a, b)}
    assert done.summary["skipped"] == [
        {"rule": "mobile", "groups": 1, "largest": [{"value": "010****0000", "people": 6}]}
    ]


# --- re-scans, decisions, merges ------------------------------------------------------------------


def test_rescan_is_idempotent():
    a, b = person("张伟", date(1985, 6, 1)), person("张伟", date(1985, 6, 1))
    c, d = person("甲"), person("乙")
    contact(c, "13800000000")
    contact(d, "13800000000")
    first = scan()
    before = {k: (p.pk, p.confidence, p.evidence, p.updated_at) for k, p in pairs().items()}
    second = scan()
    after = {k: (p.pk, p.confidence, p.evidence, p.updated_at) for k, p in pairs().items()}
    assert before == after
    assert set(after) == {key(a, b), key(c, d)}
    assert (first.pairs_found, first.pairs_new) == (2, 2)
    assert (second.pairs_found, second.pairs_new, second.pairs_removed) == (2, 0, 0)
    assert second.summary["by_confidence"] == {"high": 0, "medium": 2, "low": 0}


def test_not_same_decision_survives_rescan(staff):
    a, b = person("张伟", date(1985, 6, 1)), person("张伟", date(1985, 6, 1))
    scan()
    assert duplicate_pairs_mark_not_same(pairs=DuplicatePair.objects.all(), actor=staff) == 1
    again = scan()
    pair = pairs()[key(a, b)]
    assert pair.status == DuplicatePair.Status.NOT_SAME
    assert pair.decided_by == staff
    assert again.pairs_found == 0
    event = AuditEvent.objects.get(action="duplicate.not_same")
    assert (event.actor, event.target_id) == (staff, str(pair.pk))


def test_scan_drops_pending_pairs_whose_evidence_is_gone():
    a, b = person("甲"), person("乙")
    contact(a, "13800000000")
    channel = contact(b, "13800000000")
    scan()
    channel.status = ContactChannel.Status.OBSOLETE
    channel.save()
    again = scan()
    assert pairs() == {}
    assert again.pairs_removed == 1


def test_merge_resolves_pair_and_carries_decisions_over(staff):
    keep, other = person("张伟", date(1985, 6, 1)), person("张伟", date(1985, 6, 1))
    stranger = person("王五")
    namesake = person("赵六")
    contact(other, "13800000000")
    contact(stranger, "13800000000")
    contact(other, "13900000000")
    contact(namesake, "13900000000")
    scan()
    assert set(pairs()) == {key(keep, other), key(other, stranger), key(other, namesake)}
    duplicate_pairs_mark_not_same(pairs=DuplicatePair.objects.filter(pk=pairs()[key(other, stranger)].pk), actor=staff)

    services.person_merge(keep=keep, other=other, actor=staff)

    found = pairs()
    assert set(found) == {key(keep, stranger), key(keep, namesake)}
    assert found[key(keep, stranger)].status == DuplicatePair.Status.NOT_SAME
    assert found[key(keep, namesake)].status == DuplicatePair.Status.PENDING
    scan()  # the moved contacts are found again on keep; the decision still holds
    found = pairs()
    assert set(found) == {key(keep, stranger), key(keep, namesake)}
    assert found[key(keep, stranger)].status == DuplicatePair.Status.NOT_SAME
    assert rules(found[key(keep, namesake)]) == {"mobile"}


# --- the scan as a job ----------------------------------------------------------------------------


def test_task_run_twice_gives_the_same_result():
    a, b = person("张伟", date(1985, 6, 1)), person("张伟", date(1985, 6, 1))
    queued = duplicate_scan_request(actor=None, enqueue=False)
    assert duplicate_scan_task(queued.pk) == queued.pk
    first = pairs()
    assert duplicate_scan_task(queued.pk) is None  # already done: a redelivered task stops
    assert pairs() == first
    queued.refresh_from_db()
    assert (queued.status, queued.progress, queued.pairs_found) == (DuplicateScan.Status.DONE, 100, 1)
    # The nightly beat sends no id: each run queues its own scan and finds the same pairs.
    assert duplicate_scan_task() is not None
    assert duplicate_scan_task() is not None
    assert set(pairs()) == {key(a, b)} == set(first)
    assert DuplicateScan.objects.filter(status=DuplicateScan.Status.DONE).count() == 3


def test_scan_request_refused_while_another_is_active_unless_abandoned():
    running = duplicate_scan_request(actor=None, enqueue=False)
    with pytest.raises(ApplicationError) as excinfo:
        duplicate_scan_request(actor=None, enqueue=False)
    assert excinfo.value.code == "scan_active"
    assert duplicate_scan_run() is None  # the beat's run defers to the queued scan
    DuplicateScan.objects.filter(pk=running.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    fresh = duplicate_scan_request(actor=None, enqueue=False)
    running.refresh_from_db()
    assert running.status == DuplicateScan.Status.FAILED
    assert fresh.status == DuplicateScan.Status.PENDING


def test_scan_failure_is_recorded_and_pairs_stay(monkeypatch):
    a, b = person("张伟", date(1985, 6, 1)), person("张伟", date(1985, 6, 1))
    scan()

    def broken(cap):
        raise RuntimeError("disk full")

    monkeypatch.setattr(scan_module, "_name_class_rule", broken)
    queued = duplicate_scan_request(actor=None, enqueue=False)
    with pytest.raises(RuntimeError):
        duplicate_scan_run(scan_id=queued.pk)
    queued.refresh_from_db()
    assert queued.status == DuplicateScan.Status.FAILED
    assert "disk full" in queued.error
    assert set(pairs()) == {key(a, b)}
    monkeypatch.undo()
    assert scan().status == DuplicateScan.Status.DONE  # the leftover temporary tables are replaced


def _make_people(start: int, count: int, school_class) -> None:
    for i in range(start, start + count):
        twin = date(1980, 1, 1) + timedelta(days=i)
        person(f"人{i}", twin)
        person(f"人{i}", twin, school_class=school_class)
        owner = person(f"号{i}")
        contact(owner, f"1350000{i:04d}")
        contact(person(f"号{i}乙"), f"1350000{i:04d}")


def test_scan_statement_count_does_not_grow_with_people(school_class):
    _make_people(0, 2, school_class)
    with CaptureQueriesContext(connection) as small:
        scan()
    _make_people(100, 40, SchoolClassFactory(college=school_class.college))
    with CaptureQueriesContext(connection) as large:
        done = scan()
    assert done.pairs_found == 84
    assert len(large.captured_queries) == len(small.captured_queries)


# --- the same rules for a new record --------------------------------------------------------------


def test_duplicate_candidates_for_a_new_record(school_class):
    same = person("張偉", date(1985, 6, 1))  # stored in traditional characters
    same_simplified = person("张伟", date(1985, 6, 1))
    contact(same_simplified, "13800138000")
    classmate = person("张伟", None, school_class=school_class)
    renamed = person("张大伟", None, former_names="张伟", school_class=school_class)
    person("张伟", date(1990, 1, 1))  # a namesake with nothing else in common

    found = duplicate_candidates(
        name="张伟", birth_date=date(1985, 6, 1), mobile="+86 138 0013 8000", school_class_id=school_class.pk
    )
    assert [(c.person_id, c.confidence) for c in found] == [
        (same_simplified.pk, HIGH),
        (classmate.pk, LOW),
        (renamed.pk, LOW),
    ]
    assert found[0].evidence == (
        {"rule": "mobile", "detail": "138****8000"},
        {"rule": "name_birth", "detail": "张伟, 1985-06-01"},
    )
    assert found[2].evidence == ({"rule": "former_name_class", "detail": f"张伟, {school_class.name}"},)
    with translation.override("en"):
        assert found[0].confidence_label == "High"

    # Traditional input finds the simplified record; the traditional record matches its own form.
    traditional = duplicate_candidates(name="張偉", birth_date=date(1985, 6, 1))
    assert {c.person_id for c in traditional} == {same.pk, same_simplified.pk}
    assert duplicate_candidates(name="张伟", birth_date=date(1985, 6, 1), exclude_person_id=same_simplified.pk) == []
    assert duplicate_candidates(name="李四") == []


def test_duplicate_candidates_ignore_shared_numbers_and_use_indexes(django_assert_max_num_queries):
    for i in range(5):
        contact(person(f"员工{i}"), "010-62780000")
    mine = person("钱七")
    contact(mine, "qian7@example.com", kind=ContactChannel.Kind.EMAIL)
    with django_assert_max_num_queries(3):
        found = duplicate_candidates(
            name="钱七", mobile="01062780000", email="QIAN7@example.com", max_group_size=5, birth_date=None
        )
    assert [(c.person_id, c.confidence) for c in found] == [(mine.pk, MEDIUM)]


# --- the admin ------------------------------------------------------------------------------------


@pytest.fixture
def mixed_pairs(college, other_college):
    """Two pairs: one inside ``college``, one with a person of another college."""
    mine_a = person("张伟", date(1985, 6, 1), college=college)
    mine_b = person("张伟", date(1985, 6, 1), college=college)
    theirs = person("李娜", date(1990, 1, 1), college=other_college)
    mine_c = person("李娜", date(1990, 1, 1), college=college)
    scan()
    found = pairs()
    return found[key(mine_a, mine_b)], found[key(theirs, mine_c)]


def _listed(response) -> set[int]:
    return {pair.pk for pair in response.context["cl"].result_list}


def test_duplicate_admin_lists_pairs_with_evidence_for_office_staff(client, staff, mixed_pairs):
    client.force_login(staff)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    assert _listed(response) == {p.pk for p in mixed_pairs}
    html = response.content.decode()
    assert "张伟, 1985-06-01" in html
    merge_url = reverse("admin:alumni_person_merge") + f"?keep={mixed_pairs[0].person_a_id}&amp;other="
    assert merge_url in html
    assert reverse("admin:alumni_duplicatepair_scan") in html
    assert response.context["scan"]["pairs_found"] == 2


def test_duplicate_admin_scoped_for_college_staff(client, college_staff, mixed_pairs):
    inside, outside = mixed_pairs
    client.force_login(college_staff)
    response = client.get(reverse(CHANGELIST))
    assert _listed(response) == {inside.pk}
    html = response.content.decode()
    assert "李娜" not in html
    assert reverse("admin:alumni_person_merge") not in html  # no merge right
    assert client.get(reverse("admin:alumni_duplicatepair_change", args=[outside.pk])).status_code == 404
    assert client.get(reverse("admin:alumni_duplicatepair_change", args=[inside.pk])).status_code == 200
    response = client.post(reverse("admin:alumni_duplicatepair_not_same", args=[outside.pk]))
    assert response.status_code == 404
    outside.refresh_from_db()
    assert outside.status == DuplicatePair.Status.PENDING
    # A bulk action with a tampered id changes only what the user can see.
    client.post(
        reverse(CHANGELIST), {"action": "mark_not_same", "index": 0, "_selected_action": [inside.pk, outside.pk]}
    )
    inside.refresh_from_db()
    outside.refresh_from_db()
    assert (inside.status, outside.status) == (DuplicatePair.Status.NOT_SAME, DuplicatePair.Status.PENDING)


def test_duplicate_admin_not_same_button_and_filters(client, staff, mixed_pairs):
    first, second = mixed_pairs
    client.force_login(staff)
    listing = reverse(CHANGELIST) + "?confidence__exact=2"
    response = client.post(
        reverse("admin:alumni_duplicatepair_not_same", args=[first.pk]), HTTP_REFERER="http://testserver" + listing
    )
    assert response.status_code == 302
    assert response.url == listing
    first.refresh_from_db()
    assert (first.status, first.decided_by) == (DuplicatePair.Status.NOT_SAME, staff)
    assert AuditEvent.objects.filter(action="duplicate.not_same", target_id=str(first.pk), actor=staff).exists()
    assert _listed(client.get(reverse(CHANGELIST))) == {second.pk}  # the queue shows pending pairs
    assert _listed(client.get(reverse(CHANGELIST), {"status": "not_same"})) == {first.pk}
    assert _listed(client.get(reverse(CHANGELIST), {"status": "all", "confidence__exact": "1"})) == set()
    client.post(reverse("admin:alumni_duplicatepair_reopen", args=[first.pk]))
    first.refresh_from_db()
    assert first.status == DuplicatePair.Status.PENDING
    assert AuditEvent.objects.filter(action="duplicate.reopen").count() == 1


def test_duplicate_admin_merge_from_pair_resolves_it(client, staff, mixed_pairs):
    pair = mixed_pairs[0]
    client.force_login(staff)
    response = client.post(
        reverse("admin:alumni_person_merge"), {"keep": pair.person_a_id, "other": pair.person_b_id, "confirm": "1"}
    )
    assert response.status_code == 302
    assert not DuplicatePair.objects.filter(pk=pair.pk).exists()


def test_duplicate_admin_start_scan_by_office_staff(client, staff, django_capture_on_commit_callbacks):
    a, b = person("张伟", date(1985, 6, 1)), person("张伟", date(1985, 6, 1))
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("admin:alumni_duplicatepair_scan"))
    assert response.status_code == 302
    assert len(callbacks) == 1
    done = DuplicateScan.objects.get()
    assert (done.status, done.requested_by) == (DuplicateScan.Status.DONE, staff)
    assert set(pairs()) == {key(a, b)}
    status = client.get(reverse("admin:alumni_duplicatepair_scan_status")).json()
    assert (status["status"], status["progress"], status["pairs_found"], status["medium"]) == ("done", 100, 1, 1)


def test_duplicate_admin_wrong_roles(client, college_staff, liaison, chapter_leader, alumnus, mixed_pairs):
    client.force_login(college_staff)
    assert client.post(reverse("admin:alumni_duplicatepair_scan")).status_code == 403
    assert not DuplicateScan.objects.filter(status=DuplicateScan.Status.PENDING).exists()
    for user in (liaison, chapter_leader):
        client.force_login(user)
        assert client.get(reverse(CHANGELIST)).status_code == 403
        assert client.get(reverse("admin:alumni_duplicatepair_scan_status")).status_code == 403
        assert client.post(reverse("admin:alumni_duplicatepair_not_same", args=[mixed_pairs[0].pk])).status_code == 403
    client.force_login(alumnus)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    client.logout()
    assert client.get(reverse(CHANGELIST)).status_code == 302
    assert client.post(reverse("admin:alumni_duplicatepair_scan")).status_code == 302
    assert DuplicatePair.objects.filter(status=DuplicatePair.Status.PENDING).count() == 2


def test_duplicate_admin_list_query_count_is_flat(client, staff, django_assert_max_num_queries):
    for i in range(30):
        person(f"人{i}", date(1980, 1, 1) + timedelta(days=i))
        person(f"人{i}", date(1980, 1, 1) + timedelta(days=i))
    scan()
    client.force_login(staff)
    with django_assert_max_num_queries(14):
        response = client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == 30


def test_duplicate_admin_shows_skipped_values_to_whole_school_staff_only(client, staff, college_staff, college):
    for _ in range(6):
        person("王伟", date(1980, 1, 1), college=college)
    scan(max_group_size=5)
    client.force_login(staff)
    lines = client.get(reverse(CHANGELIST), headers={"accept-language": "en"}).context["scan"]["skipped"]
    assert lines == ["name and birth date: 1 group skipped (the largest: 王伟, 1980-01-01, shared by 6 people)"]
    client.force_login(college_staff)
    lines = client.get(reverse("admin:alumni_duplicatepair_scan_status"), headers={"accept-language": "en"}).json()[
        "skipped"
    ]
    assert lines == ["name and birth date: 1 group skipped (the largest shared by 6 people)"]


def test_duplicate_admin_refuses_bulk_decisions_over_the_cap(client, staff, mixed_pairs, monkeypatch):
    from apps.alumni.admin import duplicates as duplicates_admin

    monkeypatch.setattr(duplicates_admin, "MAX_BULK_DECISIONS", 1)
    client.force_login(staff)
    client.post(
        reverse(CHANGELIST),
        {"action": "mark_not_same", "index": 0, "select_across": 1, "_selected_action": [mixed_pairs[0].pk]},
    )
    assert DuplicatePair.objects.filter(status=DuplicatePair.Status.PENDING).count() == 2
    assert not AuditEvent.objects.filter(action="duplicate.not_same").exists()
