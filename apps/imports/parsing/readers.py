"""Streaming readers: rows of cells with their spreadsheet row numbers, for CSV and XLSX.

CSV encoding is decided once, over the whole file, before the first row is handed out: a BOM
(UTF-8, UTF-16, UTF-32), UTF-16 without a BOM (every other byte NUL), else strict UTF-8, else
GB18030 (a superset of GBK). A file that is neither but mostly one of them is read with the bad
bytes escaped, and the cells holding them become row errors; a file with too many bad bytes is
refused. The same pass counts lines for the progress estimate.

XLSX: openpyxl reads the package (content types, workbook with its date epoch and sheet states,
styles, shared strings); the sheet rows are then streamed with the C-accelerated ElementTree parser,
cached values only, reporting what openpyxl's data_only mode hides: formulas without a cached
value, Excel error cells, and date serials Excel itself gets wrong (60, the phantom 1900-02-29).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import deque
from collections.abc import Iterator
from datetime import date
from itertools import islice
from pathlib import Path
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import CALENDAR_MAC_1904, from_ISO8601
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

from .dates import excel_serial_to_date
from .errors import refuse
from .guard import HEAD_BYTES, Sniffed, utf16_byte_order
from .normalise import EXCEL_ERROR, FORMULA_CELL, UNDECODABLE, CellProblem, cell_text

_CHUNK = 1024 * 1024
_SURROGATES = re.compile("[\udc80-\udcff]")
_HIGH_BYTES = bytes(range(128, 256))
# A file decoding with more bad bytes than this share of its non-ASCII bytes is not that encoding.
_LOSSY_SHARE = 0.01
_DELIMITERS = (",", "\t", ";")


class CsvSource:
    kind = "csv"
    sheet_name = ""
    epoch_1904 = False

    def __init__(self, path: str | Path, sniffed: Sniffed):
        self.path = Path(path)
        self.encoding, self.lossy, self.has_nul, self.line_count = _detect_encoding(self.path, sniffed.head)
        self.errors = "surrogateescape" if self.lossy else "strict"
        self.delimiter = _sniff_delimiter(self._sample(sniffed), default="\t" if "16" in self.encoding else ",")

    @property
    def encoding_label(self) -> str:
        labels = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "gb18030": "GB18030/GBK"}
        return labels.get(self.encoding, self.encoding.upper())

    def _sample(self, sniffed: Sniffed) -> str:
        text = sniffed.head.decode(self.encoding, errors="replace")
        if sniffed.size > len(sniffed.head) and "\n" in text:
            text = text[: text.rindex("\n") + 1]
        return text.replace("\x00", "")

    def rows(self, width: int | None = None, data_start: int | None = None) -> Iterator[tuple[int, list]]:
        """(row number, cells) for every record, blank ones included; row 1 is the first record."""
        row = 0
        with self.path.open(encoding=self.encoding, errors=self.errors, newline="") as handle:
            lines = (line.replace("\x00", "") for line in handle) if self.has_nul else handle
            # strict: an unclosed quote would otherwise swallow the rest of the file into one cell.
            reader = csv.reader(lines, delimiter=self.delimiter, strict=True)
            try:
                if not self.lossy:
                    for row, record in enumerate(reader, 1):
                        yield row, record
                else:
                    for row, record in enumerate(reader, 1):
                        yield row, [_mark_undecodable(cell) for cell in record]
            except csv.Error as exc:
                variant = "unreadable_field" if "field limit" in str(exc) else "unreadable_quote"
                raise refuse("unreadable", variant, row=row + 1, limit=f"{csv.field_size_limit():,}") from exc
            except UnicodeDecodeError as exc:
                raise refuse("unreadable", "unreadable_encoding") from exc

    def count_records(self) -> int:
        return sum(1 for _record in self.rows())


def _mark_undecodable(cell: str):
    if _SURROGATES.search(cell) is None:
        return cell
    shown = cell.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return CellProblem(UNDECODABLE, {"encoding": "?"}, raw=_SURROGATES.sub("\ufffd", shown))


def _scan(path: Path, encoding: str) -> tuple[bool, bool, int, bool]:
    """(decodes strictly, has NUL, newline count, ends with a newline) in one bounded pass."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    valid, has_nul, newlines, last = True, False, 0, b""
    wide = "16" in encoding or "32" in encoding
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            last = chunk
            if wide:
                if valid:
                    try:
                        text = decoder.decode(chunk)
                    except UnicodeDecodeError:
                        valid = False
                        continue
                    newlines += text.count("\n")
                    has_nul = has_nul or "\x00" in text
                continue
            newlines += chunk.count(b"\n")
            has_nul = has_nul or b"\x00" in chunk
            if valid:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    valid = False
        if valid:
            try:
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                valid = False
    ends_with_newline = last.endswith((b"\n", b"\n\x00")) or last.endswith(b"\x00\n")
    return valid, has_nul, newlines, ends_with_newline


def _bad_bytes(path: Path, encoding: str) -> tuple[int, int]:
    """(bytes that do not decode, non-ASCII bytes) for an 8-bit-compatible encoding."""
    decoder = codecs.getincrementaldecoder(encoding)("surrogateescape")
    bad = high = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            high += len(chunk) - len(chunk.translate(None, _HIGH_BYTES))
            bad += len(_SURROGATES.findall(decoder.decode(chunk)))
        bad += len(_SURROGATES.findall(decoder.decode(b"", final=True)))
    return bad, high


def _detect_encoding(path: Path, head: bytes) -> tuple[str, bool, bool, int]:
    """(codec name, lossy, has NUL, record estimate)."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        candidates = ["utf-32"]
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    elif order := utf16_byte_order(head[:HEAD_BYTES]):
        candidates = [order]
    elif head.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8", "gb18030"]

    first = candidates[0]
    valid, has_nul, newlines, ends = _scan(path, first)
    estimate = newlines + (0 if ends else 1)
    if valid:
        return first, False, has_nul, estimate
    if first.startswith(("utf-16", "utf-32")):
        raise refuse("unreadable", "unreadable_encoding")

    utf8_bad, high = _bad_bytes(path, "utf-8")
    if first == "utf-8-sig" or utf8_bad <= high * _LOSSY_SHARE:
        # A UTF-8 file with a few damaged bytes (a BOM says UTF-8 whatever follows).
        if utf8_bad > max(high * _LOSSY_SHARE, 0):
            raise refuse("unreadable", "unreadable_encoding")
        return first, True, has_nul, estimate
    gb_valid = _scan(path, "gb18030")[0]
    if gb_valid:
        return "gb18030", False, has_nul, estimate
    gb_bad, _high = _bad_bytes(path, "gb18030")
    if gb_bad <= high * _LOSSY_SHARE:
        return "gb18030", True, has_nul, estimate
    raise refuse("unreadable", "unreadable_encoding")


def _sniff_delimiter(sample: str, *, default: str) -> str:
    """The candidate that splits the first records into the most columns, consistently."""
    best, best_score = default, 0.0
    for delimiter in _DELIMITERS:
        try:
            records = [
                r for r in islice(csv.reader(io.StringIO(sample), delimiter=delimiter), 60) if any(c.strip() for c in r)
            ]
        except csv.Error:
            continue
        if not records:
            continue
        width = max(len(r) for r in records[:6])
        if width < 2:
            continue
        consistent = sum(1 for r in records if len(r) == width) / len(records)
        score = width * consistent
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- XLSX -------------------------------------------------------------------------------------

_COLUMNS: dict[str, int] = {}
_ROW_TAG = f"{{{SHEET_MAIN_NS}}}row"
_VALUE_TAG = f"{{{SHEET_MAIN_NS}}}v"
_FORMULA_TAG = f"{{{SHEET_MAIN_NS}}}f"
_INLINE_TAG = f"{{{SHEET_MAIN_NS}}}is"


def _column(coordinate: str) -> int:
    letters = coordinate.rstrip("0123456789")
    index = _COLUMNS.get(letters)
    if index is None:
        index = _COLUMNS[letters] = column_index_from_string(letters)
    return index


def _number(text: str) -> int | float:
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


def _iterparse(source):
    """The C-accelerated parser. Safe here only because guard.inspect_workbook_zip has already refused
    any DTD or entity declaration in every part of this package; without a DTD there is nothing to
    expand and no external entity to fetch."""
    return ElementTree.iterparse(source)  # noqa: S314 -- see docstring


class _SheetRows:
    """Rows of one worksheet part as (row number, [(column, value), ...]), with cached values only.

    What openpyxl's data_only mode hides becomes a CellProblem: a formula without a cached value, an
    Excel error (#N/A ...), a date serial Excel itself gets wrong (60, the phantom 1900-02-29)."""

    def __init__(self, shared_strings: list[str], *, date_styles: frozenset[int], epoch_1904: bool):
        self.shared_strings = shared_strings
        self.date_styles = date_styles
        self.epoch_1904 = epoch_1904
        self.first_serial = 0 if epoch_1904 else 1

    def __call__(self, source) -> Iterator[tuple[int, list[tuple[int, object]]]]:
        row = 0
        parse_cell = self.parse_cell
        for _event, element in _iterparse(source):
            if element.tag != _ROW_TAG:
                continue
            number = element.get("r")
            row = int(number) if number else row + 1
            self.column = 0
            yield row, [parse_cell(cell) for cell in element]
            element.clear()  # what stays attached to <sheetData> is an empty element (~100 bytes a row)

    def parse_cell(self, element) -> tuple[int, object]:
        coordinate = element.get("r")
        column = self.column = _column(coordinate) if coordinate else self.column + 1
        data_type = element.get("t", "n")
        if data_type == "inlineStr":
            child = element.find(_INLINE_TAG)
            return column, (_text_content(child) if child is not None else None)
        value = element.findtext(_VALUE_TAG)
        if not value:
            # A formula whose result was never calculated (written by a script, not by Excel). An
            # empty <v/> with t="str" is a calculated empty string.
            has_formula = element.find(_FORMULA_TAG) is not None
            if has_formula and not (data_type == "str" and element.find(_VALUE_TAG) is not None):
                return column, FORMULA_CELL
            return column, None
        if data_type == "s":
            return column, self.shared_strings[int(value)]
        if data_type == "n":
            number = _number(value)
            style = element.get("s")
            if style and int(style) in self.date_styles and number >= self.first_serial:
                day = excel_serial_to_date(number, epoch_1904=self.epoch_1904)
                if day.__class__ is not date:
                    return column, CellProblem(day.message, day.params, raw=value)
                return column, day
            return column, number
        if data_type == "str":
            return column, value
        if data_type == "b":
            return column, value == "1"
        if data_type == "e":
            return column, CellProblem(EXCEL_ERROR, {"value": value}, raw=value)
        if data_type == "d":
            return column, from_ISO8601(value)
        return column, value


_SHARED_STRING_TAG = f"{{{SHEET_MAIN_NS}}}si"
_T_TAG = f"{{{SHEET_MAIN_NS}}}t"
_R_TAG = f"{{{SHEET_MAIN_NS}}}r"
_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]*\d*:?[A-Z]*(\d+)"')


def _text_content(node) -> str:
    """The text of a shared or inline string (<t>, or the <t> of each rich-text run; no phonetics)."""
    runs = node.findall(_R_TAG)
    plain = node.find(_T_TAG)
    text = (plain.text or "") if plain is not None else ""
    if runs:
        text += "".join(run.findtext(_T_TAG) or "" for run in runs)
    return text


def _read_shared_strings(source) -> list[str]:
    """openpyxl's read_string_table without building a Text object per string (several times faster)."""
    strings = []
    for _event, node in _iterparse(source):
        if node.tag == _SHARED_STRING_TAG:
            strings.append(_text_content(node).replace("x005F_", ""))  # openpyxl's unescaping, kept identical
            node.clear()
    return strings


class _WorkbookReader(ExcelReader):
    """openpyxl's reader limited to what a roster needs: content types, shared strings, workbook
    (epoch, sheet list and states), styles (which styles are dates). It skips ReadOnlyWorksheet,
    which parses a whole sheet at load time when the sheet has no <dimension> element."""

    def read_strings(self):
        content_type = self.package.find(SHARED_STRINGS)
        if content_type is not None:
            with self.archive.open(content_type.PartName[1:]) as source:
                self.shared_strings = _read_shared_strings(source)

    def read(self):
        try:
            self.read_manifest()
            self.read_strings()
            self.read_workbook()
            apply_stylesheet(self.archive, self.wb)
            self.sheets = [
                (sheet.name, rel.target, sheet.state or "visible")
                for sheet, rel in self.parser.find_sheets()
                if rel.target in self.valid_files and "chartsheet" not in rel.Type
            ]
        finally:
            self.archive.close()


def _dimension_rows(archive: zipfile.ZipFile, part: str) -> int | None:
    """The last row of the sheet's declared used range, from the <dimension> before the data."""
    with archive.open(part) as source:
        start = source.read(16 * 1024)
    match = _DIMENSION.search(start)
    return int(match.group(1)) if match else None


class XlsxSource:
    kind = "xlsx"

    def __init__(self, path: str | Path, sniffed: Sniffed):
        self.path = Path(path)
        self._merges = sniffed.merges
        try:
            # A file object, not the path: openpyxl refuses names without an Excel extension, and
            # uploads are stored under generated names.
            with self.path.open("rb") as handle:
                reader = _WorkbookReader(handle, read_only=True, data_only=True, keep_links=False)
                reader.read()
                with zipfile.ZipFile(handle) as archive:
                    sheets = [
                        (title, part, _dimension_rows(archive, part))
                        for title, part, state in reader.sheets
                        if state == "visible"
                    ]
        except DefusedXmlException as exc:
            raise refuse("unsafe_xml") from exc
        except Exception as exc:
            # openpyxl raises whatever its XML and zip layers raise on a damaged package; all of it
            # means the same thing to staff.
            raise refuse("bad_archive") from exc
        workbook = reader.wb
        self.epoch_1904 = workbook.epoch == CALENDAR_MAC_1904
        self._date_styles = frozenset(set(workbook._date_formats) - set(workbook._timedelta_formats))
        self._shared_strings = reader.shared_strings
        self.sheets = sheets
        if not self.sheets:
            raise refuse("no_sheet")
        self.select(0)

    def select(self, index: int) -> None:
        self.sheet_name, self._part, self.max_row = self.sheets[index]

    def rows(self, width: int | None = None, data_start: int | None = None) -> Iterator[tuple[int, list]]:
        """(row number, values) for the rows present in the sheet XML (hidden rows included), each a
        list of ``width`` values (or up to the last cell); merged ranges in the data are filled down."""
        merges = deque(sorted(m for m in self._merges.get(self._part, ()) if data_start and m[0] >= data_start))
        active: list[list] = []  # [last row, column, value]
        row = 0
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(self._part) as source:
                sheet_rows = _SheetRows(self._shared_strings, date_styles=self._date_styles, epoch_1904=self.epoch_1904)
                for row, cells in sheet_rows(source):
                    size = width or (max(c for c, _v in cells) if cells else 0)
                    values = [None] * size
                    for column, value in cells:
                        if column <= size:
                            values[column - 1] = value
                    if merges or active:
                        _fill_merged(row, values, merges, active)
                    yield row, values
        except (ParseError, DefusedXmlException, zipfile.BadZipFile, OSError, EOFError) as exc:
            raise refuse("unreadable", "unreadable_sheet", row=row) from exc
        except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
            raise refuse("unreadable", "unreadable_sheet", row=row) from exc


def _fill_merged(row: int, values: list, merges: deque, active: list) -> None:
    """Give every cell of a vertically merged range in the data the value of its top cell."""
    while merges and merges[0][0] <= row:
        first_row, last_row, first_col, _last_col = merges.popleft()
        if first_row == row and last_row > row and first_col <= len(values):
            active.append([last_row, first_col, values[first_col - 1]])
    for entry in list(active):
        last_row, column, value = entry
        if row > last_row:
            active.remove(entry)
        elif column <= len(values) and values[column - 1] is None:
            values[column - 1] = value


def is_blank_values(values: list) -> bool:
    for value in values:
        if value is None:
            continue
        if value.__class__ is str:
            if value and not value.isspace():
                return False
            continue
        return False
    return True


__all__ = ["CsvSource", "XlsxSource", "cell_text", "is_blank_values"]
