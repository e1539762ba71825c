"""Field normalisation through real files: many generated variants of dates, years, phones, emails,
genders, degrees, statuses, IDs and names, each written into a CSV (or XLSX) and read back."""

from datetime import date
from random import Random

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone, translation

from apps.imports.parsing import open_roster
from apps.imports.parsing.normalise import normalise_email
from tests.alumni.factories import valid_id_number
from tests.imports.filemakers import ROSTER_HEADERS, sample_rows, write_roster_csv, write_roster_xlsx

FULL_WIDTH = str.maketrans("0123456789-/.:", "０１２３４５６７８９－／．：")


def read_column(tmp_path, header, cells, *, headers=ROSTER_HEADERS, seed=0, extra=None):
    """Write one row per cell value into ``header`` of an otherwise valid roster; parse it back."""
    rows = sample_rows(len(cells), seed=seed)
    for row, cell in zip(rows, cells, strict=True):
        row[header] = cell
        row.update(extra or {})
    path = write_roster_csv(tmp_path / "roster.csv", rows, headers=headers)
    parsed = list(open_roster(path).rows())
    assert [p.row for p in parsed] == list(range(2, len(cells) + 2))
    return parsed


def field_errors(parsed, field):
    return [e for e in parsed.errors if e.field == field]


# --- dates ------------------------------------------------------------------------------------


def random_dates(count, seed, *, day_over_12=False):
    rng = Random(seed)
    days = []
    while len(days) < count:
        day = date(rng.randint(1935, 2008), rng.randint(1, 12), rng.randint(13 if day_over_12 else 1, 28))
        days.append(day)
    return days


def excel_serial(day):
    return (day - date(1899, 12, 30)).days


DATE_FORMS = {
    "iso": lambda d: d.isoformat(),
    "slashes": lambda d: f"{d.year}/{d.month}/{d.day}",
    "slashes_padded": lambda d: d.strftime("%Y/%m/%d"),
    "dots": lambda d: f"{d.year}.{d.month}.{d.day}",
    "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "chinese_hao": lambda d: f"{d.year}年{d.month:02d}月{d.day:02d}号",
    "compact": lambda d: d.strftime("%Y%m%d"),
    "full_width": lambda d: d.isoformat().translate(FULL_WIDTH),
    "full_width_chinese": lambda d: f"{d.year}年{d.month}月{d.day}日".translate(FULL_WIDTH),
    "excel_time": lambda d: f"{d.year}/{d.month}/{d.day} 0:00",
    "iso_datetime": lambda d: f"{d.isoformat()}T00:00:00",
    "spaced": lambda d: f" {d.year} - {d.month} - {d.day} ",
    "serial_text": lambda d: str(excel_serial(d)),
    "us_month_first": lambda d: f"{d.month}/{d.day}/{d.year}",
    "day_first": lambda d: f"{d.day}/{d.month}/{d.year}",
}
MONTH_FORMS = {
    "year_dot_month": lambda d: f"{d.year}.{d.month:02d}",
    "chinese_year_month": lambda d: f"{d.year}年{d.month}月",
    "yyyymm": lambda d: f"{d.year}{d.month:02d}",
    "year_dash_month": lambda d: f"{d.year}-{d.month}",
}


@pytest.mark.parametrize("form", sorted(DATE_FORMS))
def test_birth_date_forms(tmp_path, form):
    days = random_dates(40, seed=len(form), day_over_12=form in ("us_month_first", "day_first"))
    parsed = read_column(tmp_path, "出生日期", [DATE_FORMS[form](d) for d in days])

    assert [p.values.get("birth_date") for p in parsed] == days
    assert all(p.errors == [] for p in parsed)


@pytest.mark.parametrize("form", sorted(MONTH_FORMS))
def test_birth_month_forms_give_the_first_of_the_month(tmp_path, form):
    days = random_dates(40, seed=len(form))
    parsed = read_column(tmp_path, "出生日期", [MONTH_FORMS[form](d) for d in days])

    assert [p.values.get("birth_date") for p in parsed] == [d.replace(day=1) for d in days]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2019-13-45", "“2019-13-45” is not a date"),
        ("2001-02-29", "is not a date"),
        ("2001.9.31", "is not a date"),
        ("abc", "is not a date"),
        ("2019年", "is not a date"),
        ("1/2/2001", "ambiguous"),
        ("1850-01-01", "outside the accepted range"),
        ("2999-01-01", "outside the accepted range"),
        ("99999", "outside the accepted range"),
    ],
)
def test_birth_date_errors_name_row_and_column(tmp_path, text, fragment):
    parsed = read_column(tmp_path, "出生日期", ["1990-01-01", text])

    errors = field_errors(parsed[1], "birth_date")
    assert len(errors) == 1
    assert errors[0].row == 3
    assert errors[0].column == "出生日期"
    assert errors[0].message.startswith("Row 3, column “出生日期”: ")
    assert fragment in errors[0].message
    assert "birth_date" not in parsed[1].values
    assert parsed[0].errors == []


def test_birth_date_today_is_accepted_tomorrow_is_not(tmp_path):
    today = timezone.localdate()
    tomorrow = date.fromordinal(today.toordinal() + 1)
    parsed = read_column(tmp_path, "出生日期", [today.isoformat(), tomorrow.isoformat()])

    assert parsed[0].values["birth_date"] == today
    assert field_errors(parsed[1], "birth_date")


# --- years ------------------------------------------------------------------------------------

YEAR_FORMS = [
    "2019",
    "2019年",
    "2019.0",
    "２０１９",
    "2019级",
    "2019届",
    "2019-07-01",
    "2019年7月",
    " 2019 ",
    "20190701",
]


def test_year_forms(tmp_path):
    parsed = read_column(tmp_path, "毕业年份", YEAR_FORMS, extra={"入学年份": "2015"})

    assert [p.values.get("graduation_year") for p in parsed] == [2019] * len(YEAR_FORMS)
    assert all(p.errors == [] for p in parsed)


def test_years_out_of_range_or_not_years(tmp_path):
    last = timezone.localdate().year + 8
    cells = ["1894", "1895", str(last), str(last + 1), "19", "abc", "2019-2023", "2100"]
    parsed = read_column(tmp_path, "入学年份", cells, extra={"毕业年份": ""})

    assert [p.values.get("enrollment_year") for p in parsed] == [None, 1895, last, None, None, None, None, None]
    assert "outside the accepted years 1895" in field_errors(parsed[0], "enrollment_year")[0].message
    assert "is not a year" in field_errors(parsed[4], "enrollment_year")[0].message


def test_graduation_before_enrolment_is_an_error_on_graduation_year(tmp_path):
    parsed = read_column(tmp_path, "毕业年份", ["2014", "2015", "2019"], extra={"入学年份": "2015"})

    errors = field_errors(parsed[0], "graduation_year")
    assert len(errors) == 1
    assert "2014" in errors[0].message
    assert "2015" in errors[0].message
    assert parsed[0].values["enrollment_year"] == 2015
    assert "graduation_year" not in parsed[0].values
    assert parsed[1].values["graduation_year"] == 2015  # the same year is fine
    assert parsed[2].errors == []


# --- phones -----------------------------------------------------------------------------------


def random_mobiles(count, seed):
    rng = Random(seed)
    return ["1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9)) for _ in range(count)]


MOBILE_FORMS = {
    "plain": lambda m: m,
    "plus86_space": lambda m: f"+86 {m}",
    "plus86_dashes": lambda m: f"+86-{m[:3]}-{m[3:7]}-{m[7:]}",
    "0086": lambda m: f"0086{m}",
    "86_space": lambda m: f"86 {m}",
    "spaced_3_4_4": lambda m: f"{m[:3]} {m[3:7]} {m[7:]}",
    "dashed_3_4_4": lambda m: f"{m[:3]}-{m[3:7]}-{m[7:]}",
    "full_width": lambda m: m.translate(FULL_WIDTH),
    "full_width_plus86": lambda m: ("＋８６ " + m.translate(FULL_WIDTH)),
    "parenthesised_prefix": lambda m: f"(+86){m}",
    "ideographic_space": lambda m: f"{m[:3]}\u3000{m[3:]}",
    "trailing_spaces": lambda m: f" {m}\u00a0 ",
}


@pytest.mark.parametrize("form", sorted(MOBILE_FORMS))
def test_mobile_forms(tmp_path, form):
    mobiles = random_mobiles(30, seed=len(form))
    parsed = read_column(tmp_path, "手机", [MOBILE_FORMS[form](m) for m in mobiles])

    assert [p.values.get("mobile") for p in parsed] == mobiles
    assert all(p.errors == [] for p in parsed)


@pytest.mark.parametrize(
    "text",
    ["1380013800", "12800138000", "23800138000", "138001380001", "1380013800a", "+1 415 555 0100", "电话1380013"],
)
def test_invalid_mobiles(tmp_path, text):
    parsed = read_column(tmp_path, "手机", ["13800138000", text])

    errors = field_errors(parsed[1], "mobile")
    assert len(errors) == 1
    assert "mainland mobile number" in errors[0].message
    assert parsed[0].values["mobile"] == "13800138000"


def test_two_mobiles_in_one_cell_is_an_error(tmp_path):
    parsed = read_column(tmp_path, "手机", ["13800138000/13900139000", "13800138000、13900139000"])

    assert all("more than one number" in field_errors(p, "mobile")[0].message for p in parsed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("010-12345678", "010-12345678"),
        ("(010)12345678", "010-12345678"),
        ("（０１０）１２３４５６７８", "010-12345678"),
        ("0755 8888 6666", "0755-88886666"),
        ("+86 10 12345678", "010-12345678"),
        ("0086-755-88886666", "0755-88886666"),
        ("010-12345678转123", "010-12345678-123"),
        ("400-810-8888", "4008108888"),
        ("12345678", "12345678"),
        ("01012345678", "01012345678"),
    ],
)
def test_landline_forms(tmp_path, text, expected):
    headers = [*ROSTER_HEADERS, "固定电话"]
    parsed = read_column(tmp_path, "固定电话", [text], headers=headers)

    assert parsed[0].errors == []
    assert parsed[0].values["landline"] == expected


@pytest.mark.parametrize("text", ["123", "abc", "010-1234", "010-12345678/010-87654321"])
def test_invalid_landlines(tmp_path, text):
    parsed = read_column(tmp_path, "固定电话", [text], headers=[*ROSTER_HEADERS, "固定电话"])

    assert field_errors(parsed[0], "landline")


# --- emails -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zhang.Wei@Example.COM", "zhang.wei@example.com"),
        ("ｚｈａｎｇ＠１６３．ｃｏｍ", "zhang@163.com"),
        (" li.na@qq.com ", "li.na@qq.com"),
        ("mailto:wang@126.com", "wang@126.com"),
        ("a+tag@mail.alumni.example.edu.cn", "a+tag@mail.alumni.example.edu.cn"),
        ("<zhao@163.com>", "zhao@163.com"),
    ],
)
def test_email_forms(tmp_path, text, expected):
    parsed = read_column(tmp_path, "邮箱", [text])

    assert parsed[0].errors == []
    assert parsed[0].values["email"] == expected


@pytest.mark.parametrize(
    "text",
    ["zhang", "zhang@", "@163.com", "a@@b.com", "a b@c.com", "a@b", "a..b@c.com", "张伟@163.com", "a@b.com;c@d.com"],
)
def test_invalid_emails(tmp_path, text):
    parsed = read_column(tmp_path, "邮箱", [text])

    errors = field_errors(parsed[0], "email")
    assert len(errors) == 1
    assert "not a valid email address" in errors[0].message
    assert "email" not in parsed[0].values


def test_email_fast_path_never_accepts_what_django_refuses():
    validate = EmailValidator()
    rng = Random(5)
    alphabet = "abcz09.-_+@'!#"
    candidates = ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 14))) + ".cn" for _ in range(3000)]
    candidates += [row["邮箱"] for row in sample_rows(300, seed=6)]
    for text in candidates:
        ours = normalise_email(text)
        try:
            validate(text.lower())
            django_accepts = True
        except ValidationError:
            django_accepts = False
        assert isinstance(ours, str) == django_accepts, text


# --- choices ----------------------------------------------------------------------------------


def test_gender_forms(tmp_path):
    cells = ["男", "女", "M", "f", "male", "Female", "1", "2", "男性", "女士", "Ｍ", " 男 ", "未知", "0", "9", "保密"]
    expected = ["M", "F", "M", "F", "M", "F", "M", "F", "M", "F", "M", "M", "", "", "", ""]
    parsed = read_column(tmp_path, "性别", cells)

    assert [p.values.get("gender") for p in parsed] == expected
    assert all(p.errors == [] for p in parsed)


def test_invalid_gender(tmp_path):
    parsed = read_column(tmp_path, "性别", ["中"])
    assert "is not a gender" in field_errors(parsed[0], "gender")[0].message


DEGREES = {
    "junior": ["专科", "大专", "高职", "高职高专", "Junior College", "Associate"],
    "bachelor": ["本科", "学士", "本科/学士", "Bachelor", "BA", "B.S.", "BEng", "工学学士", "全日制本科", "专升本"],
    "master": ["硕士", "研究生", "硕士研究生", "Master", "MEng", "MBA", "MPA", "研究生/硕士", "工程硕士", "Master's"],
    "doctor": ["博士", "Doctor", "PhD", "Ph.D.", "博士研究生", "研究生（博士）", "硕博连读"],
    "other": ["其他", "其它", "Other", "博士后"],
}


@pytest.mark.parametrize("level", sorted(DEGREES))
def test_degree_synonyms(tmp_path, level):
    parsed = read_column(tmp_path, "学历", DEGREES[level])

    assert [p.values.get("degree_level") for p in parsed] == [level] * len(DEGREES[level])


def test_unknown_degree_is_an_error(tmp_path):
    parsed = read_column(tmp_path, "学历", ["小学"])
    assert "not a known degree level" in field_errors(parsed[0], "degree_level")[0].message


def test_status_synonyms(tmp_path):
    headers = [*ROSTER_HEADERS, "学籍状态"]
    cells = ["毕业", "已毕业", "在读", "结业", "肄业", "退学", "已毕业（获学位）", "Graduated", "未毕业"]
    expected = ["graduated", "graduated", "studying", "completed", "withdrawn", "withdrawn", "graduated", "graduated"]
    parsed = read_column(tmp_path, "学籍状态", cells, headers=headers)

    assert [p.values.get("status") for p in parsed] == [*expected, None]
    assert field_errors(parsed[-1], "status")


# --- identifiers ------------------------------------------------------------------------------


def test_student_id_forms(tmp_path):
    cells = ["2019abc01", "２０１９０１０００１", " 2019 0100 02 ", "2019010003.0", "ab-12_c"]
    parsed = read_column(tmp_path, "学号", cells)

    assert [p.values.get("student_id") for p in parsed] == [
        "2019ABC01",
        "2019010001",
        "2019010002",
        "2019010003",
        "AB-12_C",
    ]


@pytest.mark.parametrize(
    ("text", "fragment"), [("1.10101E+17", "as text"), ("2019/01", "not a valid"), ("9" * 33, "not a valid")]
)
def test_invalid_student_ids(tmp_path, text, fragment):
    parsed = read_column(tmp_path, "学号", [text])

    assert fragment in field_errors(parsed[0], "student_id")[0].message


def test_blank_student_id_and_name_are_required(tmp_path):
    rows = sample_rows(2, seed=3)
    rows[0]["学号"] = ""
    rows[1]["姓名"] = "无"
    parsed = list(open_roster(write_roster_csv(tmp_path / "roster.csv", rows)).rows())

    assert [(e.row, e.field, e.column) for e in parsed[0].errors] == [(2, "student_id", "学号")]
    assert [(e.row, e.field, e.column) for e in parsed[1].errors] == [(3, "name", "姓名")]
    assert "required" in parsed[0].errors[0].message


def test_student_ids_repeated_in_the_file_name_the_first_row(tmp_path):
    rows = sample_rows(7, seed=4)
    rows[3]["学号"] = rows[0]["学号"]
    rows[5]["学号"] = rows[0]["学号"]
    rows[6]["学号"] = "ab01"
    rows[2]["学号"] = "AB01"  # the same ID once normalised
    parsed = list(open_roster(write_roster_csv(tmp_path / "roster.csv", rows)).rows())

    duplicates = {p.row: field_errors(p, "student_id") for p in parsed if p.errors}
    assert sorted(duplicates) == [5, 7, 8]
    assert "row 2" in duplicates[5][0].message
    assert "row 2" in duplicates[7][0].message
    assert "row 4" in duplicates[8][0].message
    assert rows[0]["学号"] in duplicates[5][0].message


def test_id_numbers(tmp_path):
    headers = [*ROSTER_HEADERS, "身份证号"]
    valid = valid_id_number("11010519491231002")
    with_x = next(n for n in (valid_id_number(f"11010519491231{i:03d}") for i in range(1000)) if n.endswith("X"))
    bad_check = valid[:17] + ("0" if valid[17] != "0" else "1")
    bad_date = valid_id_number("11010519491331002")
    cells = [valid, with_x.lower(), "110105491231002", bad_check, bad_date, valid]
    rows = sample_rows(len(cells), seed=5)
    for row, cell in zip(rows, cells, strict=True):
        row["身份证号"] = cell
        row["出生日期"] = "1949-12-31"
    rows[-1]["出生日期"] = "1950-01-01"
    parsed = list(open_roster(write_roster_csv(tmp_path / "roster.csv", rows, headers=headers)).rows())

    assert parsed[0].values["id_number"] == valid
    assert parsed[1].values["id_number"] == with_x
    assert "15-digit" in field_errors(parsed[2], "id_number")[0].message
    assert "not a valid 18-character" in field_errors(parsed[3], "id_number")[0].message
    assert "not a valid 18-character" in field_errors(parsed[4], "id_number")[0].message
    mismatch = field_errors(parsed[5], "id_number")[0].message
    assert "1949-12-31" in mismatch
    assert "1950-01-01" in mismatch
    assert "id_number" not in parsed[5].values
    assert all(valid not in e.message for p in parsed for e in p.errors)  # never a whole ID in a message


# --- text -------------------------------------------------------------------------------------


def test_names_keep_their_characters_and_lose_invisible_ones(tmp_path):
    cells = [
        "张\u3000三",
        "Li  Ming",
        "欧阳 娜娜",
        "李\u200b娜",
        "阿依古丽·买买提",
        "ＬＩ Ｍｉｎｇ",
        "王\u202e芳",
        "吉𠮷",
    ]
    expected = ["张三", "Li Ming", "欧阳娜娜", "李娜", "阿依古丽·买买提", "ＬＩ Ｍｉｎｇ", "王芳", "吉𠮷"]
    parsed = read_column(tmp_path, "姓名", cells)

    assert [p.values.get("name") for p in parsed] == expected


def test_text_fields_are_nfkc_and_single_spaced(tmp_path):
    rows = sample_rows(2, seed=6)
    rows[0]["班级"] = "计算机２０１１级１班"
    rows[0]["工作单位"] = " 中国航天\u00a0 科技集团 "
    rows[0]["职务"] = "无"
    rows[1]["工作单位"] = "公" * 201
    parsed = list(open_roster(write_roster_csv(tmp_path / "roster.csv", rows)).rows())

    assert parsed[0].values["school_class"] == "计算机2011级1班"
    assert parsed[0].values["organisation"] == "中国航天 科技集团"
    assert "title" not in parsed[0].values  # 无 means blank
    assert "longer than 200" in field_errors(parsed[1], "organisation")[0].message


def test_placeholders_in_optional_columns_are_blank_not_errors(tmp_path):
    parsed = read_column(tmp_path, "邮箱", ["无", "-", "/", "N/A"])
    assert all(p.errors == [] for p in parsed)
    assert all("email" not in p.values for p in parsed)


def test_xlsx_and_csv_give_the_same_values(tmp_path):
    rows = sample_rows(30, seed=7)
    from_csv = [p.values for p in open_roster(write_roster_csv(tmp_path / "r.csv", rows)).rows()]
    typed = sample_rows(30, seed=7, native=True)
    from_xlsx = [p.values for p in open_roster(write_roster_xlsx(tmp_path / "r.xlsx", typed)).rows()]

    assert from_csv == from_xlsx


def test_row_errors_are_in_chinese_by_default(tmp_path):
    with translation.override("zh-hans"):
        parsed = read_column(tmp_path, "出生日期", ["1990-01-01", "2019-13-45"])

    (error,) = field_errors(parsed[1], "birth_date")
    assert "第 3 行" in error.message
    assert "出生日期" in error.message
