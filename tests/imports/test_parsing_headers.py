"""Header recognition (Chinese and English, any width or case, decorated), mapping, header-row finding."""

import pytest

from apps.imports.parsing import CANONICAL_FIELDS, REQUIRED_FIELDS, open_roster
from apps.imports.parsing.headers import recognise_header
from tests.imports.filemakers import ROSTER_FIELDS, ROSTER_HEADERS, sample_rows, write_bytes, write_roster_csv

SYNONYMS = {
    "student_id": [
        "学号",
        "学号*",
        "*学号",
        "学号(必填)",
        "Student ID",
        "student_no",
        "STUDENT NO.",
        "ＳＴＵＤＥＮＴ＿ＩＤ",
    ],
    "name": ["姓名", "姓 名", "姓　名", "姓名：", "Name", "NAME", "学生姓名"],
    "former_names": ["曾用名"],
    "gender": ["性别", "性别:", "Gender", "Sex"],
    "birth_date": ["出生日期", "出生日期(yyyy-mm-dd)", "出生日期（yyyy-mm-dd）", "出生年月", "Date of Birth", "DOB"],
    "id_number": ["身份证号", "身份证号码", "ID Number"],
    "college": ["学院", "院系", "院(系)", "College", "School"],
    "major": ["专业", "Major"],
    "school_class": ["班级", "Class"],
    "degree_level": ["学历", "学位", "学历/学位", "培养层次", "Degree"],
    "enrollment_year": ["入学年份", "入学时间", "年级", "Enrollment Year", "Enrolment Year"],
    "graduation_year": ["毕业年份", "毕业时间", "届别", "Graduation Year"],
    "status": ["学籍状态", "Status"],
    "mobile": ["手机", "手机号", "手机号码", "联系电话", "电话", "Mobile", "Phone"],
    "landline": ["固定电话", "座机", "办公电话"],
    "email": ["邮箱", "电子邮箱", "E-mail", "email", "Ｅ－ｍａｉｌ"],
    "wechat": ["微信", "微信号", "WeChat"],
    "address": ["通讯地址", "地址", "Address"],
    "organisation": ["工作单位", "单位", "Employer", "Company"],
    "title": ["职务", "职称", "Title", "Job Title"],
    "city": ["所在城市", "现居城市", "City"],
    "province": ["所在省份", "省份"],
    "country": ["所在国家/地区", "国家", "Country"],
    "hometown": ["籍贯", "生源地", "Hometown"],
}


@pytest.mark.parametrize(("field", "header"), [(f, h) for f, headers in SYNONYMS.items() for h in headers])
def test_header_synonyms(field, header):
    assert recognise_header(header) == field


def test_canonical_fields_and_required():
    assert REQUIRED_FIELDS == ("student_id", "name")
    assert list(CANONICAL_FIELDS)[:2] == ["student_id", "name"]
    assert set(ROSTER_FIELDS) <= set(CANONICAL_FIELDS)
    assert all(str(label) for label in CANONICAL_FIELDS.values())


def test_messy_chinese_headers_in_a_file(tmp_path):
    headers = ["序号", "学号*", "姓  名", "性别：", "出生日期(yyyy-mm-dd)", "院系", "学历/学位", "入学时间", "毕业时间"]
    headers += [
        "手机号",
        "E-mail",
        "单位",
        "职称",
        "现居城市",
        "生源地",
        "身份证号",
        "曾用名",
        "微信",
        "通讯地址",
        "备注",
    ]
    row = dict.fromkeys(headers, "")
    row.update({"学号*": "2019010001", "姓  名": "张三", "备注": "校庆联系"})
    roster = open_roster(write_roster_csv(tmp_path / "roster.csv", [row], headers=headers))

    assert roster.headers == [" ".join(h.split()) for h in headers]  # runs of spaces and line breaks: one space
    assert roster.unknown_headers == ["备注"]  # 序号 is recognised as nothing to import
    assert roster.mapping["学号*"] == "student_id"
    assert roster.mapping["出生日期(yyyy-mm-dd)"] == "birth_date"
    assert roster.mapping["学历/学位"] == "degree_level"
    assert roster.mapping["生源地"] == "hometown"
    assert "序号" not in roster.mapping
    assert next(roster.rows()).values == {"student_id": "2019010001", "name": "张三"}


def test_english_headers_in_a_file(tmp_path):
    english = ["Student ID", "Name", "Gender", "Date of Birth", "College", "Major", "Class", "Degree"]
    english += ["Enrollment Year", "Graduation Year", "Mobile", "Email", "Employer", "Title", "City", "Hometown"]
    rows = [dict(zip(english, row.values(), strict=True)) for row in sample_rows(2, seed=1)]
    roster = open_roster(write_roster_csv(tmp_path / "roster.csv", rows, headers=english))

    assert list(roster.mapping.values()) == list(ROSTER_FIELDS)
    assert all(p.errors == [] for p in roster.rows())


def test_generic_phone_column_is_the_mobile_unless_a_mobile_column_exists(tmp_path):
    alone = open_roster(
        write_roster_csv(tmp_path / "a.csv", [["1", "张三", "13800138000"]], headers=["学号", "姓名", "电话"])
    )
    both = open_roster(
        write_roster_csv(
            tmp_path / "b.csv",
            [["1", "张三", "010-12345678", "13800138000"]],
            headers=["学号", "姓名", "联系电话", "手机"],
        )
    )

    assert alone.mapping["电话"] == "mobile"
    assert both.mapping == {"学号": "student_id", "姓名": "name", "联系电话": "landline", "手机": "mobile"}
    assert next(both.rows()).values["landline"] == "010-12345678"


def test_repeated_headers_are_kept_apart(tmp_path):
    headers = ["学号", "姓名", "手机", "手机"]
    roster = open_roster(
        write_roster_csv(tmp_path / "r.csv", [["1", "张三", "13800138000", "13900139000"]], headers=headers)
    )

    assert roster.headers == ["学号", "姓名", "手机", "手机 (2)"]
    assert roster.unknown_headers == ["手机 (2)"]
    parsed = next(roster.rows())
    assert parsed.values["mobile"] == "13800138000"
    assert parsed.raw["手机 (2)"] == "13900139000"


def test_mapping_overrides_and_extends_recognition(tmp_path):
    headers = ["编号", "姓名", "单位", "备注"]
    path = write_roster_csv(tmp_path / "r.csv", [["2019010001", "张三", "华为", "老校友"]], headers=headers)

    roster = open_roster(path, mapping={"编号": "student_id", "单位": "", "备注": "notes"})

    assert roster.mapping == {"编号": "student_id", "姓名": "name", "备注": "notes"}
    assert roster.unknown_headers == []
    assert next(roster.rows()).values == {"student_id": "2019010001", "name": "张三", "notes": "老校友"}


def test_mapping_with_an_unknown_field_is_a_programming_error(tmp_path):
    path = write_roster_csv(tmp_path / "r.csv", sample_rows(1, seed=2))
    with pytest.raises(ValueError, match="canonical field"):
        open_roster(path, mapping={"学号": "matriculation"})


def test_header_found_below_a_title_and_a_blank_row(tmp_path):
    text = "2019届毕业生名单\r\n\r\n" + ",".join(ROSTER_HEADERS) + "\r\n"
    text += ",".join(str(v) for v in sample_rows(1, seed=3)[0].values()) + "\r\n"
    roster = open_roster(write_bytes(tmp_path / "r.csv", text.encode("utf-8")))

    assert roster.header_row == 3
    assert [p.row for p in roster.rows()] == [4]


def test_two_header_rows_where_only_the_second_names_required_columns(tmp_path):
    first = ["基本信息", "", "", "联系方式", ""]
    second = ["学号", "姓名", "学院", "手机", "邮箱"]
    text = "\r\n".join([",".join(first), ",".join(second), "2019010001,张三,计算机学院,13800138000,zs@163.com"])
    roster = open_roster(write_bytes(tmp_path / "r.csv", text.encode("utf-8")))

    assert roster.header_row == 2
    assert roster.headers == second
    assert next(roster.rows()).row == 3


def test_row_count_estimate_for_progress(tmp_path):
    roster = open_roster(write_roster_csv(tmp_path / "r.csv", sample_rows(37, seed=4), title="名单"))
    assert roster.row_count_estimate == 37
