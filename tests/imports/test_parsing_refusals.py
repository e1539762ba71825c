"""Whole-file refusals: each bad file gets its own stable code and a message for staff, and no traceback."""

import time
import tracemalloc
import zipfile

import pytest

from apps.imports.parsing import FileRefused, open_roster
from tests.imports.filemakers import (
    ROSTER_HEADERS,
    csv_bytes,
    forge_declared_size,
    sample_rows,
    write_billion_laughs_xlsx,
    write_bytes,
    write_encrypted_workbook,
    write_fake_executable,
    write_html_as_xls,
    write_legacy_xls,
    write_many_entries_zip,
    write_minimal_xlsx,
    write_random_binary,
    write_roster_csv,
    write_roster_xlsx,
    write_xlsm,
    write_zip_bomb,
)


def refusal(path, **options) -> FileRefused:
    with pytest.raises(FileRefused) as refused:
        list(open_roster(path, **options).rows())
    assert refused.value.message  # a translated sentence for staff
    return refused.value


@pytest.fixture(scope="module")
def bomb_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("bombs")


@pytest.fixture(scope="module")
def bomb(bomb_dir):
    """1.4 MB on disk, 300 MB inflated: built once for the module."""
    return write_zip_bomb(bomb_dir / "bomb.xlsx", uncompressed_mb=300)


def test_refuses_file_over_the_size_limit(tmp_path):
    path = write_roster_csv(tmp_path / "roster.csv", sample_rows(50, seed=1))

    refused = refusal(path, max_bytes=1024)

    assert refused.code == "too_large"
    assert "1 KB" in refused.message


def test_size_limit_comes_from_settings(tmp_path, settings):
    settings.IMPORT_MAX_BYTES = 2048
    path = write_roster_csv(tmp_path / "roster.csv", sample_rows(50, seed=1))

    assert refusal(path).code == "too_large"


@pytest.mark.parametrize(
    "content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b",,,\r\n,,,\r\n"], ids=["zero", "bom", "lines", "commas"]
)
def test_refuses_empty_file(tmp_path, content):
    assert refusal(write_bytes(tmp_path / "roster.csv", content)).code == "empty"


def test_refuses_empty_workbook(tmp_path):
    path = write_roster_xlsx(tmp_path / "roster.xlsx", [], headers=[""])
    assert refusal(path).code == "empty"


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_refuses_header_only_file(tmp_path, kind):
    if kind == "csv":
        path = write_roster_csv(tmp_path / "roster.csv", [], headers=ROSTER_HEADERS)
    else:
        path = write_roster_xlsx(tmp_path / "roster.xlsx", [], headers=ROSTER_HEADERS, title="2019届毕业生名单")

    refused = refusal(path)

    assert refused.code == "header_only"


def test_refuses_too_many_rows(tmp_path, settings):
    settings.IMPORT_MAX_ROWS = 10
    assert refusal(write_roster_csv(tmp_path / "roster.csv", sample_rows(11, seed=2))).code == "too_many_rows"
    assert refusal(write_roster_xlsx(tmp_path / "roster.xlsx", sample_rows(11, seed=2))).code == "too_many_rows"
    open_roster(write_roster_csv(tmp_path / "ten.csv", sample_rows(10, seed=2)))  # the limit itself is fine


def test_refuses_legacy_xls(tmp_path):
    refused = refusal(write_legacy_xls(tmp_path / "roster.xls"))

    assert refused.code == "legacy_xls"
    assert ".xlsx" in refused.message


def test_refuses_legacy_xls_whatever_its_name(tmp_path):
    assert refusal(write_legacy_xls(tmp_path / "roster.xlsx")).code == "legacy_xls"


def test_refuses_password_protected_workbook(tmp_path):
    assert refusal(write_encrypted_workbook(tmp_path / "roster.xlsx")).code == "encrypted_workbook"


def test_refuses_macro_workbook_by_content(tmp_path):
    refused = refusal(write_xlsm(tmp_path / "roster.xlsx"))

    assert refused.code == "macro_workbook"


def test_refuses_xlsm_by_name(tmp_path):
    path = write_roster_xlsx(tmp_path / "roster.xlsm", sample_rows(2, seed=3))
    assert refusal(path).code == "macro_workbook"


def test_refuses_html_saved_as_xls(tmp_path):
    refused = refusal(write_html_as_xls(tmp_path / "roster.xls", sample_rows(3, seed=4)))

    assert refused.code == "html_spreadsheet"
    assert ".xlsx" in refused.message


def test_refuses_spreadsheet_2003_xml_saved_as_xls(tmp_path):
    xml = (
        '<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>'
    )
    assert refusal(write_bytes(tmp_path / "roster.xls", xml.encode())).code == "html_spreadsheet"


@pytest.mark.parametrize("name", ["roster.xlsx", "roster.csv", "roster"])
def test_refuses_executable_whatever_its_name(tmp_path, name):
    refused = refusal(write_fake_executable(tmp_path / name))

    assert refused.code == "not_csv_or_xlsx"
    assert "program" in refused.message


def test_refuses_random_binary_renamed_csv(tmp_path):
    assert refusal(write_random_binary(tmp_path / "roster.csv")).code == "not_csv_or_xlsx"


def test_refuses_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "roster.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("名单.csv", csv_bytes(sample_rows(2, seed=5)))

    assert refusal(path).code == "not_csv_or_xlsx"


def test_refuses_word_document_renamed_xlsx(tmp_path):
    path = write_minimal_xlsx(
        tmp_path / "roster.xlsx",
        main_content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    )
    refused = refusal(path)

    assert refused.code == "not_csv_or_xlsx"
    assert "Word" in refused.message


def test_refuses_truncated_workbook(tmp_path):
    path = write_roster_xlsx(tmp_path / "roster.xlsx", sample_rows(20, seed=6))
    write_bytes(path, path.read_bytes()[:-200])

    assert refusal(path).code == "bad_archive"


def test_refuses_csv_renamed_xlsx(tmp_path):
    path = write_roster_csv(tmp_path / "roster.xlsx", sample_rows(2, seed=7))

    refused = refusal(path)

    assert refused.code == "extension_mismatch"
    assert "roster.xlsx" in refused.message


def test_refuses_workbook_renamed_csv(tmp_path):
    path = write_roster_xlsx(tmp_path / "upload.bin", sample_rows(2, seed=8))
    assert refusal(path, original_name="名单.csv").code == "extension_mismatch"


def test_refuses_zip_bomb_in_well_under_a_second(bomb):
    assert bomb.stat().st_size < 2 * 1024 * 1024

    tracemalloc.start()
    started = time.perf_counter()
    refused = refusal(bomb)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert refused.code == "zip_bomb"
    assert elapsed < 1.0
    assert peak < 20 * 1024 * 1024


def test_refuses_zip_bomb_under_the_total_limit_by_its_ratio(bomb_dir):
    path = write_zip_bomb(bomb_dir / "dense.xlsx", uncompressed_mb=50)

    started = time.perf_counter()
    refused = refusal(path)

    assert refused.code == "zip_bomb"
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize("declared", [10_000, 25 * 1024 * 1024])
def test_refuses_zip_bomb_with_forged_declared_size(bomb, bomb_dir, declared):
    path = bomb_dir / f"forged{declared}.xlsx"
    path.write_bytes(bomb.read_bytes())
    forge_declared_size(path, declared)

    tracemalloc.start()
    started = time.perf_counter()
    refused = refusal(path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert refused.code in {"zip_bomb", "bad_archive"}
    assert elapsed < 1.0
    assert peak < 20 * 1024 * 1024


def test_zip_limits_come_from_settings(bomb_dir, settings):
    settings.IMPORT_ZIP_MAX_UNCOMPRESSED = 1024 * 1024
    path = write_roster_xlsx(bomb_dir / "ordinary.xlsx", sample_rows(2000, seed=9), fast=True)

    assert refusal(path).code == "zip_bomb"


def test_refuses_workbook_with_too_many_parts(tmp_path):
    refused = refusal(write_many_entries_zip(tmp_path / "roster.xlsx", entries=1001))

    assert refused.code == "zip_bomb"
    assert "1006" in refused.message


def test_accepts_workbook_with_many_but_allowed_parts(tmp_path):
    roster = open_roster(write_many_entries_zip(tmp_path / "roster.xlsx", entries=200))
    assert [p.values["student_id"] for p in roster.rows()] == ["2019010001"]


def test_refuses_billion_laughs(tmp_path):
    tracemalloc.start()
    refused = refusal(write_billion_laughs_xlsx(tmp_path / "roster.xlsx"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    assert refused.code == "unsafe_xml"
    assert peak < 20 * 1024 * 1024


def test_refuses_dtd_hidden_after_a_comment(tmp_path):
    path = write_minimal_xlsx(tmp_path / "roster.xlsx", [("学号", "姓名")], prolog="<!-- <a> -->" + "<!DOCTYPE x []>")
    assert refusal(path).code == "unsafe_xml"


def test_refuses_missing_required_columns_naming_them(tmp_path):
    rows = [{k: v for k, v in row.items() if k != "学号"} for row in sample_rows(2, seed=10)]
    path = write_roster_csv(tmp_path / "roster.csv", rows)

    refused = refusal(path)

    assert refused.code == "missing_columns"
    assert "Student ID" in refused.message
    assert "姓名" in refused.message  # the columns that were found


def test_missing_columns_can_be_left_to_the_mapping_step(tmp_path):
    rows = [{"编号": "2019010001", "名称": "张三", "学院": "计算机学院", "备注": "x"}]
    path = write_roster_csv(tmp_path / "roster.csv", rows)

    roster = open_roster(path, check_required=False)

    assert roster.unknown_headers == ["编号", "名称", "备注"]
    assert roster.missing_required == ["student_id", "name"]
    assert roster.mapping == {"学院": "college"}
    parsed = next(roster.rows())
    assert {e.field for e in parsed.errors} == {"student_id", "name"}
    assert parsed.raw["编号"] == "2019010001"

    mapped = open_roster(path, mapping={"编号": "student_id", "名称": "name", "备注": ""})
    assert mapped.missing_required == []
    assert mapped.unknown_headers == []
    assert next(mapped.rows()).values == {"student_id": "2019010001", "name": "张三", "college": "计算机学院"}


def test_refuses_file_whose_first_row_is_data(tmp_path):
    text = "\r\n".join(",".join(str(v) for v in row.values()) for row in sample_rows(3, seed=11))
    refused = refusal(write_bytes(tmp_path / "roster.csv", text.encode()))

    assert refused.code == "no_header"


def test_refuses_header_below_the_first_five_rows(tmp_path):
    path = write_roster_xlsx(tmp_path / "roster.xlsx", sample_rows(2, seed=12), hidden_rows=[])
    from openpyxl import load_workbook

    workbook = load_workbook(path)
    workbook.active.insert_rows(1, amount=6)
    workbook.save(path)

    assert refusal(path).code == "no_header"


def test_refuses_undecodable_text(tmp_path):
    data = csv_bytes(sample_rows(3, seed=13)).encode("utf-8")
    garbage = bytes(range(0x80, 0x100)) * 40  # far too many bytes that are text in no candidate encoding
    assert refusal(write_bytes(tmp_path / "roster.csv", data + garbage)).code == "unreadable"


def test_refusal_messages_are_translated(tmp_path):
    from django.utils import translation

    path = write_legacy_xls(tmp_path / "roster.xls")
    with translation.override("en"):
        english = refusal(path).message
    with translation.override("zh-hans"):
        chinese = refusal(path).message
    # The catalogue may not have the sentence yet; either way the message is a sentence, not a code.
    assert english.startswith("This is an old Excel")
    assert chinese


def test_refusal_survives_pickling(tmp_path):
    import pickle

    refused = refusal(write_legacy_xls(tmp_path / "roster.xls"))
    copy = pickle.loads(pickle.dumps(refused))  # noqa: S301 -- our own object

    assert (copy.code, copy.message, str(copy)) == (refused.code, refused.message, refused.message)
