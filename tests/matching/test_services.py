"""Jobs and decisions: the task runs a list once, confirming writes the honour once, decisions survive re-runs."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.alumni.models import Honour
from apps.alumni.services import person_merge
from apps.core.models import AuditEvent
from apps.matching import services
from apps.matching.models import Band, Decision, MatchCandidate, MatchDecision, MatchJob, MatchRow
from apps.matching.services import decisions
from apps.matching.tasks import match_job_run_task
from tests.alumni.factories import HonourFactory, PersonFactory
from tests.matching.factories import ACADEMICIAN_ROW, alumnus, write_csv

pytestmark = pytest.mark.django_db

OTHER_ROW = {"姓名": "李娜", "出生年月": "1980", "工作单位": "某公司"}


def _upload(path, name=None):
    return SimpleUploadedFile(name or path.name, path.read_bytes())


def _job(tmp_path, staff, rows, capture, name="院士名单.csv", **kwargs) -> MatchJob:
    path = write_csv(tmp_path / name, rows)
    with capture(execute=True):
        job = services.match_job_create(upload=_upload(path), actor=staff, honour_kind="cae", **kwargs)
    job.refresh_from_db()
    return job


def _top(job: MatchJob, row_number: int = 2) -> MatchCandidate:
    return MatchCandidate.objects.get(row__job=job, row__row=row_number, rank=1)


def test_upload_is_matched_by_the_task_with_progress_and_counts(
    tmp_path, staff, academician, namesake, media_root, django_capture_on_commit_callbacks
):
    job = _job(tmp_path, staff, [ACADEMICIAN_ROW, OTHER_ROW], django_capture_on_commit_callbacks)
    assert job.status == MatchJob.Status.DONE
    assert (job.rows_total, job.rows_done, job.percent) == (2, 2, 100)
    assert (job.high_count, job.review_count, job.none_count) == (1, 0, 1)
    assert not job.file.name.endswith("院士名单.csv")  # stored under a generated name
    assert MatchRow.objects.get(job=job, row=3).resolution == MatchRow.Resolution.NO_CANDIDATES
    row = MatchRow.objects.get(job=job, row=2)
    assert row.band == Band.HIGH
    assert row.raw["姓名"] == "張偉"
    assert row.hints["birth_year"] == 1940
    assert [c.person_id for c in row.candidates.order_by("rank")] == [academician.pk, namesake.pk]
    assert AuditEvent.objects.filter(action="matching.upload", target_id=str(job.pk)).exists()


def test_task_runs_a_job_once(tmp_path, staff, academician, media_root, django_capture_on_commit_callbacks):
    job = _job(tmp_path, staff, [ACADEMICIAN_ROW], django_capture_on_commit_callbacks)
    rows = MatchRow.objects.filter(job=job).count()
    assert match_job_run_task(job.pk) == ""  # delivered again: the job is done, nothing happens
    assert MatchRow.objects.filter(job=job).count() == rows == 1
    assert MatchJob.objects.get(pk=job.pk).attempts == 1


def test_refused_list_marks_the_job_refused(tmp_path, staff, media_root, django_capture_on_commit_callbacks):
    path = write_csv(tmp_path / "bad.csv", [{"单位": "x"}], headers=["单位"])
    with django_capture_on_commit_callbacks(execute=True):
        job = services.match_job_create(upload=_upload(path), actor=staff)
    job.refresh_from_db()
    assert job.status == MatchJob.Status.REFUSED
    assert job.failure_code == "no_name_column"
    assert not MatchRow.objects.filter(job=job).exists()


def test_confirming_writes_the_honour_once_even_if_clicked_twice(
    tmp_path, staff, academician, namesake, media_root, django_capture_on_commit_callbacks
):
    job = _job(tmp_path, staff, [ACADEMICIAN_ROW], django_capture_on_commit_callbacks, source_url="https://www.cae.cn/")
    candidate = _top(job)
    services.match_candidate_confirm(candidate=candidate, actor=staff)
    services.match_candidate_confirm(candidate=candidate, actor=staff)
    honour = Honour.objects.get(person=academician)
    assert (honour.kind, honour.year, honour.source_url) == ("cae", 2019, "https://www.cae.cn/")
    assert list(academician.tags.values_list("name", flat=True)) == ["院士"]
    assert AuditEvent.objects.filter(action="honour.create", target_id=str(honour.pk)).count() == 1
    candidate.refresh_from_db()
    assert (candidate.decision, candidate.honour_id, candidate.decided_by_id) == (
        Decision.CONFIRMED,
        honour.pk,
        staff.pk,
    )
    other = MatchCandidate.objects.get(row=candidate.row, person=namesake)
    assert other.decision == Decision.REJECTED  # the row names one person
    assert MatchRow.objects.get(pk=candidate.row_id).resolution == MatchRow.Resolution.CONFIRMED
    assert not Honour.objects.filter(person=namesake).exists()


def test_confirming_reuses_an_honour_the_person_already_has(
    tmp_path, staff, academician, media_root, django_capture_on_commit_callbacks
):
    existing = HonourFactory(person=academician, kind="cae", year=2019)
    job = _job(tmp_path, staff, [ACADEMICIAN_ROW], django_capture_on_commit_callbacks)
    candidate = services.match_candidate_confirm(candidate=_top(job), actor=staff)
    assert candidate.honour_id == existing.pk
    assert Honour.objects.filter(person=academician).count() == 1
    assert _top(job).evidence["honour"]["points"] > 0  # and it counted as evidence


def test_decisions_survive_a_rerun_of_the_same_or_an_updated_list(
    tmp_path, staff, academician, namesake, media_root, django_capture_on_commit_callbacks
):
    first = _job(tmp_path, staff, [ACADEMICIAN_ROW], django_capture_on_commit_callbacks)
    services.match_candidate_confirm(candidate=_top(first), actor=staff)
    no_match = {"姓名": "张伟", "出生年月": "1941", "工作单位": "某研究院"}
    second = _job(tmp_path, staff, [no_match, ACADEMICIAN_ROW], django_capture_on_commit_callbacks, name="2.csv")
    services.match_row_reject(row=MatchRow.objects.get(job=second, row=2), actor=staff)

    # The list again, updated: rows reordered, one more row; the same entries keep their decisions.
    third = _job(
        tmp_path, staff, [OTHER_ROW, ACADEMICIAN_ROW, no_match], django_capture_on_commit_callbacks, name="3.csv"
    )
    confirmed = MatchCandidate.objects.get(row__job=third, row__row=3, person=academician)
    assert confirmed.decision == Decision.CONFIRMED
    assert confirmed.decided_by_id == staff.pk
    assert MatchRow.objects.get(job=third, row=3).resolution == MatchRow.Resolution.CONFIRMED
    rejected_row = MatchRow.objects.get(job=third, row=4)
    assert set(rejected_row.candidates.values_list("decision", flat=True)) == {Decision.REJECTED}
    assert rejected_row.resolution == MatchRow.Resolution.NO_MATCH
    assert third.carried_count >= 3
    assert Honour.objects.filter(person=academician).count() == 1
    # Confirming the carried-over candidate again writes nothing new.
    services.match_candidate_confirm(candidate=confirmed, actor=staff)
    assert Honour.objects.filter(person=academician).count() == 1


def test_rejecting_a_confirmed_candidate_is_refused(
    tmp_path, staff, academician, media_root, django_capture_on_commit_callbacks
):
    job = _job(tmp_path, staff, [ACADEMICIAN_ROW], django_capture_on_commit_callbacks)
    candidate = services.match_candidate_confirm(candidate=_top(job), actor=staff)
    with pytest.raises(ValidationError):
        services.match_candidate_reject(candidate=candidate, actor=staff)
    with pytest.raises(ValidationError):
        services.match_row_reject(row=candidate.row, actor=staff)


def test_reject_one_candidate_then_the_row_is_decided_when_all_are(
    tmp_path, staff, academician, namesake, media_root, django_capture_on_commit_callbacks
):
    job = _job(tmp_path, staff, [{"姓名": "张伟"}], django_capture_on_commit_callbacks)
    first, second = MatchCandidate.objects.filter(row__job=job).order_by("rank")
    services.match_candidate_reject(candidate=first, actor=staff)
    assert MatchRow.objects.get(job=job).resolution == MatchRow.Resolution.PENDING
    services.match_candidate_reject(candidate=second, actor=staff)
    assert MatchRow.objects.get(job=job).resolution == MatchRow.Resolution.NO_MATCH
    assert MatchDecision.objects.filter(decision=Decision.REJECTED).count() == 2


def test_accept_high_confirms_only_high_rows(
    tmp_path, staff, academician, namesake, aero, media_root, django_capture_on_commit_callbacks
):
    college, major = aero
    second = alumnus("王芳", born=date(1962, 5, 1), college=college, major=major, employer="中国商用飞机有限责任公司")
    rows = [
        ACADEMICIAN_ROW,
        {"姓名": "王芳", "出生年月": "1962年5月", "工作单位": "中国商飞",
         "简介": "1980年考入本校，1984年毕业于飞行器设计与工程专业"},
        {"姓名": "张伟"},
    ]  # fmt: skip
    job = _job(tmp_path, staff, rows, django_capture_on_commit_callbacks)
    assert job.high_count == 2
    assert services.match_job_accept_high(job=job, actor=staff) == 2
    assert services.match_job_accept_high(job=job, actor=staff) == 0
    assert set(Honour.objects.values_list("person_id", flat=True)) == {academician.pk, second.pk}
    assert MatchRow.objects.get(job=job, row=4).resolution == MatchRow.Resolution.PENDING


def test_confirming_a_second_person_for_a_row_is_refused(
    tmp_path, staff, academician, namesake, media_root, django_capture_on_commit_callbacks
):
    job = _job(tmp_path, staff, [ACADEMICIAN_ROW], django_capture_on_commit_callbacks)
    top, runner_up = MatchCandidate.objects.filter(row__job=job).order_by("rank")
    services.match_candidate_confirm(candidate=runner_up, actor=staff)  # one tab
    with pytest.raises(ValidationError):
        services.match_candidate_confirm(candidate=top, actor=staff)  # the other, with a stale page
    top.refresh_from_db()
    assert top.decision == Decision.REJECTED
    assert not Honour.objects.filter(person=academician).exists()
    assert MatchDecision.objects.get(fingerprint=top.row.fingerprint, person=academician).decision == Decision.REJECTED


def test_accept_high_skips_a_row_staff_confirmed_meanwhile(
    tmp_path, staff, academician, namesake, aero, media_root, django_capture_on_commit_callbacks, monkeypatch
):
    college, major = aero
    second = alumnus("王芳", born=date(1962, 5, 1), college=college, major=major, employer="中国商用飞机有限责任公司")
    rows = [
        ACADEMICIAN_ROW,
        {"姓名": "王芳", "出生年月": "1962年5月", "工作单位": "中国商飞",
         "简介": "1980年考入本校，1984年毕业于飞行器设计与工程专业"},
    ]  # fmt: skip
    job = _job(tmp_path, staff, rows, django_capture_on_commit_callbacks)
    assert job.high_count == 2
    confirm = decisions.match_candidate_confirm

    def staff_confirms_the_runner_up_first(*, candidate, actor):
        if candidate.person_id == academician.pk:
            confirm(candidate=MatchCandidate.objects.get(row_id=candidate.row_id, person=namesake), actor=staff)
        return confirm(candidate=candidate, actor=actor)

    monkeypatch.setattr(decisions, "match_candidate_confirm", staff_confirms_the_runner_up_first)
    assert services.match_job_accept_high(job=job, actor=staff) == 1
    assert set(Honour.objects.values_list("person_id", flat=True)) == {namesake.pk, second.pk}


def test_merging_people_moves_their_candidates_and_decisions(
    tmp_path, staff, academician, namesake, media_root, django_capture_on_commit_callbacks
):
    job = _job(tmp_path, staff, [ACADEMICIAN_ROW], django_capture_on_commit_callbacks)
    services.match_candidate_confirm(candidate=_top(job), actor=staff)
    keep = PersonFactory(name="张伟")
    person_merge(keep=keep, other=academician, actor=staff)
    moved = _top(job)
    assert (moved.person_id, moved.decision) == (keep.pk, Decision.CONFIRMED)
    assert MatchDecision.objects.get(person=keep).decision == Decision.CONFIRMED
    # Where keep has its own candidate and decision for the entry, those stay; other's go with it.
    person_merge(keep=keep, other=namesake, actor=staff)
    assert list(MatchCandidate.objects.values_list("person_id", "decision")) == [(keep.pk, Decision.CONFIRMED)]
    assert list(MatchDecision.objects.values_list("person_id", "decision")) == [(keep.pk, Decision.CONFIRMED)]


def test_merging_keeps_a_confirmation_when_keep_had_its_own_candidate_on_the_row(
    tmp_path, staff, academician, namesake, media_root, django_capture_on_commit_callbacks
):
    job = _job(tmp_path, staff, [ACADEMICIAN_ROW], django_capture_on_commit_callbacks)
    confirmed = _top(job)
    assert confirmed.person_id == academician.pk
    services.match_candidate_confirm(candidate=confirmed, actor=staff)
    confirmed.refresh_from_db()
    assert confirmed.honour_id is not None
    assert MatchCandidate.objects.get(person=namesake).decision != Decision.CONFIRMED

    person_merge(keep=namesake, other=academician, actor=staff)

    [candidate] = MatchCandidate.objects.filter(row=confirmed.row)
    assert (candidate.person_id, candidate.decision, candidate.honour_id) == (
        namesake.pk,
        Decision.CONFIRMED,
        confirmed.honour_id,
    )
    assert MatchDecision.objects.get(person=namesake).decision == Decision.CONFIRMED


def test_command_service_runs_as_the_whole_school_and_dry_run_writes_nothing(tmp_path, academician, college):
    path = write_csv(tmp_path / "list.csv", [ACADEMICIAN_ROW])
    dry = services.match_file_run(path=path, save=False)
    assert dry.job is None
    assert not MatchJob.objects.exists()
    assert dry.results[0].candidates[0].person.id == academician.pk
    kept = services.match_file_run(path=path)
    assert kept.job.status == MatchJob.Status.DONE
    assert kept.job.source == MatchJob.Source.COMMAND
    assert MatchRow.objects.filter(job=kept.job).count() == 1
