"""Reading lists: file checks through the import layer, headers, biographies, row hints."""

from datetime import date

import pytest

from apps.matching.parsing import (
    Defaults,
    ListRefused,
    Vocabulary,
    build_row,
    kind_of,
    latin_keys,
    open_list,
    parse_bio,
    recognise_columns,
)
from tests.matching.factories import HEADERS, write_csv, write_xlsx

VOCABULARY = Vocabulary(
    school_names=("华北航空航天大学", "华北航空学院"),
    college_names=("航空宇航学院", "物理学院", "计算机学院"),
    major_names=("飞行器设计与工程", "物理学", "计算机科学与技术"),
)


def test_parse_bio_reads_the_issue_example():
    facts = parse_bio("1962年毕业于本校飞机设计专业", VOCABULARY)
    assert [e.as_json() for e in facts.education] == [
        {"school": "ours", "school_text": "本校", "graduation_year": 1962, "majors": ["飞机设计"]}
    ]


def test_parse_bio_years_schools_degrees_and_inheritance():
    facts = parse_bio(
        "1938年12月出生，1958年考入本校，1962年毕业于飞机设计专业，1966年获清华大学硕士学位。"
        "2019年当选中国科学院院士。现任本校教授",
        VOCABULARY,
    )
    assert facts.birth_year == 1938
    assert facts.honour_year == 2019
    assert facts.other_schools == ["清华大学"]
    schools = [(e.school, e.enrolment_year, e.graduation_year, e.degree) for e in facts.education]
    # The second clause names no school and takes 本校 from the clause before it.
    assert schools == [("ours", 1958, None, ""), ("ours", None, 1962, ""), ("other", None, 1966, "master")]


def test_parse_bio_ranges_colleges_and_former_school_names():
    facts = parse_bio("1980-1984年在华北航空学院航空宇航学院学习，获学士学位", VOCABULARY)
    (education,) = facts.education
    assert (education.school, education.enrolment_year, education.graduation_year) == ("ours", 1980, 1984)
    assert education.degree == "bachelor"
    assert education.colleges == ["航空宇航学院"]


def test_parse_bio_a_major_inside_a_college_name_names_the_college():
    (education,) = parse_bio("1978年毕业于本校物理学院", VOCABULARY).education
    assert education.colleges == ["物理学院"]
    assert education.majors == []


def test_parse_bio_work_clauses_are_not_education():
    facts = parse_bio("现任清华大学教授。2005年当选中国工程院院士", VOCABULARY)
    assert facts.education == []
    assert facts.other_schools == []
    assert facts.honour_year == 2005


def test_columns_chinese_and_english_headers():
    columns = recognise_columns(["Name", "Gender", "Birth Year", "Employer", "Biography", "Award Year", "Remark X"])
    assert columns.fields == {
        "name": ["Name"],
        "gender": ["Gender"],
        "birth": ["Birth Year"],
        "organisation": ["Employer"],
        "bio": ["Biography"],
        "honour_year": ["Award Year"],
    }
    assert columns.unknown == ["Remark X"]
    assert recognise_columns(["院士姓名", "出生年份（yyyy）", "学部"]).fields["birth"] == ["出生年份（yyyy）"]


def _row(cells: dict, headers=HEADERS):
    return build_row(
        2, cells, recognise_columns(list(headers)), VOCABULARY, Defaults(honour_kind="cae"), today=date(2025, 6, 1)
    )


def test_build_row_folds_traditional_names_and_reads_birth_month_and_gender_in_brackets():
    row = _row({"姓名": "張偉（女）", "出生年月": "1962.03", "工作单位": "中国科学院力学研究所"})
    assert (row.name, row.name_key, row.gender, row.birth_year, row.birth_month) == ("張偉", "张伟", "F", 1962, 3)
    assert row.honour_kind == "cae"  # the job's default: the list has no honour column


def test_build_row_fingerprint_is_stable_for_the_same_entry_and_differs_otherwise():
    same = _row({"姓名": "张伟", "出生年月": "1962", "工作单位": "中国航天科技集团有限公司"})
    spaced = _row({"姓名": "张 伟", "出生年月": "1962年", "工作单位": "中国航天科技集团有限公司"})
    other_year = _row({"姓名": "张伟", "出生年月": "1963", "工作单位": "中国航天科技集团有限公司"})
    assert same.fingerprint == spaced.fingerprint
    assert same.fingerprint != other_year.fingerprint


def test_build_row_bad_cells_become_notes():
    row = _row({"姓名": "", "出生年月": "不详"})
    assert row.notes == ["no_name", "bad_birth"]
    assert row.birth_year is None


def test_latin_names_and_honour_kinds():
    assert latin_keys("Zhang Wei") == ("zhangwei", "weizhang")
    assert kind_of("中国工程院院士") == "cae"
    assert kind_of("全国五一劳动奖章") == "labour_medal"
    assert kind_of("胡润百富榜") == "list"
    assert kind_of("院士") == ""


def test_open_list_xlsx_and_gbk_csv(tmp_path):
    cells = {"姓名": "王芳", "出生年月": "1975年6月", "简介": "1997年毕业于华北航空航天大学计算机科学与技术专业"}
    for path in (
        write_xlsx(tmp_path / "名单.xlsx", [cells]),
        write_csv(tmp_path / "名单.csv", [cells], encoding="gbk"),
    ):
        listing = open_list(path, original_name=path.name)
        (row,) = list(listing.rows(VOCABULARY, Defaults()))
        assert row.row == 2
        assert (row.name, row.birth_year, row.birth_month) == ("王芳", 1975, 6)
        assert row.education[0].majors == ["计算机科学与技术"]


def test_open_list_refuses_a_list_without_a_name_column(tmp_path):
    path = write_csv(tmp_path / "x.csv", [{"单位": "某研究所"}], headers=["单位", "备注"])
    with pytest.raises(ListRefused) as refused:
        open_list(path)
    assert refused.value.code == "no_name_column"


def test_open_list_refuses_what_the_import_layer_refuses(tmp_path):
    path = tmp_path / "list.xlsx"
    path.write_bytes(b"MZ\x90\x00 not a workbook at all")
    with pytest.raises(ListRefused) as refused:
        open_list(path, original_name=path.name)
    assert refused.value.code in {"not_csv_or_xlsx", "extension_mismatch", "bad_archive", "not_csv_or_xlsx_kind"}


def test_open_list_row_limit(tmp_path, settings):
    settings.MATCHING_MAX_ROWS = 2
    path = write_csv(tmp_path / "x.csv", [{"姓名": f"张{i}"} for i in range(3)])
    with pytest.raises(ListRefused) as refused:
        list(open_list(path).rows(VOCABULARY, Defaults()))
    assert refused.value.code == "too_many_rows"
