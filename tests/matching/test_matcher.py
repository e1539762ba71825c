"""Candidates, scores, evidence and bands through the matcher (the service the command and jobs use)."""

from datetime import date

import pytest

from apps.matching.admin import evidence_rows
from apps.matching.matcher import match_list_rows
from apps.matching.parsing import Defaults, build_row, recognise_columns
from apps.matching.services import vocabulary_load
from tests.alumni.factories import PersonFactory
from tests.matching.factories import ACADEMICIAN_ROW, HEADERS, alumnus

pytestmark = pytest.mark.django_db


def _rows(*cells: dict, headers=HEADERS):
    columns = recognise_columns(list(headers))
    vocabulary = vocabulary_load()
    return [
        build_row(n, c, columns, vocabulary, Defaults(honour_kind="cae"), today=date(2025, 6, 1))
        for n, c in enumerate(cells, start=2)
    ]


def _match(*cells, user=None):
    return match_list_rows(_rows(*cells), user=user)


def test_homonym_without_other_evidence_is_never_high(academician, namesake):
    (result,) = _match({"姓名": "张伟"})
    assert result.band == "review"
    assert {c.person.id for c in result.candidates} == {academician.pk, namesake.pk}
    assert all(set(c.evidence) == {"name", "chance"} for c in result.candidates)


def test_a_single_person_with_the_name_and_nothing_else_is_not_high_either(academician):
    (result,) = _match({"姓名": "张伟", "性别": "男", "出生年月": "1940年3月"})
    assert [c.person.id for c in result.candidates] == [academician.pk]
    assert result.band == "review"  # name, birth date and gender: no life history, so not "high"


def test_corroborated_row_is_high_with_explainable_evidence(academician, namesake):
    (result,) = _match(ACADEMICIAN_ROW)
    assert result.band == "high"
    best, second = result.candidates
    assert best.person.id == academician.pk
    assert best.score == sum(entry["points"] for entry in best.evidence.values())
    evidence = best.evidence
    assert evidence["name"] == {"list": "張偉", "record": "张伟", "match": "exact", "points": 40}
    assert (evidence["birth_year"]["list"], evidence["birth_year"]["record"]) == (1940, 1940)
    assert evidence["birth_month"]["points"] > 0
    assert evidence["subject"]["record"]["major"] == "飞行器设计与工程"
    assert evidence["employer"]["record"] == "中国航天科技集团有限公司"
    assert evidence["employer"]["points"] > 0
    assert evidence["years"]["matched"][0]["record"] in (1958, 1962)
    assert best.score - second.score >= 15


def test_birth_year_far_apart_is_no_candidate_and_two_years_apart_is_never_high(aero):
    college, major = aero
    far = alumnus("李强", born=date(1950, 1, 1), college=college, major=major)
    near = alumnus("李强", born=date(1942, 3, 1), college=college, major=major, employer="中国航天科技集团有限公司")
    row = {**ACADEMICIAN_ROW, "姓名": "李强", "出生年月": "1940年3月"}
    (result,) = _match(row)
    assert [c.person.id for c in result.candidates] == [near.pk]
    assert far.pk not in {c.person.id for c in result.candidates}
    assert "birth_year" in result.candidates[0].contradictions
    assert result.band == "review"


def test_gender_contradiction_and_elsewhere_only_rows(academician):
    (female,) = _match({**ACADEMICIAN_ROW, "性别": "女"})
    assert female.band != "high"
    assert female.candidates[0].evidence["gender"]["points"] < 0
    (elsewhere,) = _match({**ACADEMICIAN_ROW, "简介": "1962年毕业于清华大学飞行器设计与工程专业"})
    assert elsewhere.band != "high"
    assert elsewhere.candidates[0].evidence["school"]["list"] == ["清华大学"]


def test_former_names_and_latin_names_find_the_person(aero):
    college, major = aero
    renamed = alumnus("王建国", born=date(1945, 1, 1), college=college, major=major, former_names="王小二")
    (by_former,) = _match({"姓名": "王小二", "出生年月": "1945"})
    assert by_former.candidates[0].person.id == renamed.pk
    assert by_former.candidates[0].evidence["name"]["match"] == "former"
    (by_pinyin,) = match_list_rows(_rows({"Name": "Jianguo Wang", "Born": "1945"}, headers=["Name", "Born"]), user=None)
    assert by_pinyin.candidates[0].person.id == renamed.pk
    assert by_pinyin.candidates[0].evidence["name"]["match"] == "pinyin"


def test_nobody_by_that_name_is_none(academician):
    (result,) = _match({"姓名": "欧阳修远", "出生年月": "1940"})
    assert result.band == "none"
    assert result.candidates == []


def test_scope_limits_candidates_to_the_users_people(college_staff, college, academician):
    mine = alumnus("张伟", born=date(1940, 5, 1), college=college)
    (result,) = _match({"姓名": "张伟"}, user=college_staff)
    assert [c.person.id for c in result.candidates] == [mine.pk]


def test_query_count_does_not_grow_with_rows_or_candidates(aero, django_assert_max_num_queries):
    college, major = aero
    for index in range(30):
        alumnus("张伟", born=date(1930 + index, 1, 1), college=college, major=major, employer=f"研究所{index}")
        PersonFactory(name=f"李{index}")
    rows = _rows(*[{**ACADEMICIAN_ROW, "出生年月": str(1930 + i % 30)} for i in range(40)])
    # catalogue (5), former names (1), population (1), people (1), enrolments, employers, honours (3),
    # employer counts (1): the same for 1 row or 40.
    with django_assert_max_num_queries(12):
        results = match_list_rows(rows, user=None)
    assert len(results) == 40
    assert all(r.candidates for r in results)


def test_equal_scores_are_ordered_by_the_tie_break_without_points_or_a_high_band(aero):
    college, major = aero
    # Created first, so the id alone would rank it first: graduated in 1962 too, but enrolled in 1959.
    graduated_only = alumnus("赵刚", born=date(1940, 5, 1), college=college, major=major, enrolled=1959)
    graduated_only.enrollments.update(graduation_year=1962)
    both_years = alumnus("赵刚", born=date(1940, 9, 1), college=college, major=major, enrolled=1958)
    row = {"姓名": "赵刚", "出生年月": "1940", "简介": "1958年考入本校飞行器设计与工程专业，1962年毕业。"}
    (result,) = _match(row)
    first, second = result.candidates
    assert first.score == second.score
    assert [first.person.id, second.person.id] == [both_years.pk, graduated_only.pk]
    assert (first.evidence["tie_break"]["years_exact"], second.evidence["tie_break"]["years_exact"]) == (2, 1)
    assert first.evidence["tie_break"]["points"] == 0
    assert first.score == sum(entry["points"] for entry in first.evidence.values())
    assert "tie_break" not in first.corroborations
    assert result.band == "review"  # an equal score leaves no margin
    shown = {row["feature"]: row for row in evidence_rows(first.evidence)}
    assert shown["Tie-break (orders equal scores only)"]["points"] == 0
    assert "years agreeing exactly: 2" in shown["Tie-break (orders equal scores only)"]["record"]


def test_a_record_knowing_another_employer_ranks_after_one_knowing_none(aero):
    college, major = aero
    elsewhere = alumnus("钱明", born=date(1950, 1, 1), college=college, major=major, employer="华为技术有限公司")
    unknown = alumnus("钱明", born=date(1950, 1, 1), college=college, major=major)
    row = {"姓名": "钱明", "出生年月": "1950", "工作单位": "中国航天科技集团有限公司"}
    (result,) = _match(row)
    assert [c.person.id for c in result.candidates] == [unknown.pk, elsewhere.pk]
    assert result.candidates[0].score == result.candidates[1].score
    assert result.candidates[1].evidence["tie_break"] == {"employer_elsewhere": True, "order": -1, "points": 0}
    assert "tie_break" not in result.candidates[0].evidence
