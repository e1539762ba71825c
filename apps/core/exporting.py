"""Spreadsheet writers for exports: streaming CSV, a write-only XLSX, formula-injection neutralisation.

Cells are written as they come, so memory stays flat however many rows an export holds.

Formula injection (ASVS 5.0 1.2.10): a text cell whose first character is ``=``, ``+``, ``-``,
``@``, TAB, CR, LF or NUL, either as written or after NFKC normalisation (full-width ``＝`` becomes
``=``), is prefixed with ``'``, so Excel shows it as text instead of evaluating it. A text cell that
itself starts with ``'`` is prefixed too, which makes the escape reversible (``unneutralise``).
Numbers, dates and booleans are typed values, never text: they are not escaped, so ``-5`` in a
numeric column stays the number -5, while the text ``"-5"`` (a phone field, a name) becomes ``'-5``.

Why not openpyxl for writing: its write-only mode serialises each cell through et_xmlfile, and
without lxml (not a dependency) that costs about 20 s for 120,000 rows of 12 columns, which is
the whole export budget. The XLSX written here is plain SpreadsheetML with inline strings (the
format Excel, WPS and openpyxl read), about ten times faster; tests read it back with openpyxl.
"""

import csv
import hashlib
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from django.utils import timezone

FORMULA_TRIGGERS = frozenset("=+-@\t\r\n\0")
_ESCAPE_MARK = "'"
_NEEDS_ESCAPE = FORMULA_TRIGGERS | {_ESCAPE_MARK}

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UTF8_BOM = "\ufeff"


# --- formula injection --------------------------------------------------------------------


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read ``text`` as a formula (or when it starts with the escape mark).

    That is: the first character, as written or NFKC-normalised on its own, or the first character
    of the whole text after NFKC, is a trigger. Erring towards escaping is safe; missing one is not.
    """
    if not text:
        return False
    first = text[0]
    risky = _RISKY_FIRST.get(first)
    if risky is None:
        risky = _RISKY_FIRST[first] = (
            first in _NEEDS_ESCAPE or unicodedata.normalize("NFKC", first)[:1] in _NEEDS_ESCAPE
        )
    if risky:
        return True
    if len(text) == 1:
        return False
    second = text[1]
    # Characters below U+0300 (before the combining diacritics) and CJK ideographs never combine
    # with the character before them under NFKC, so then the first character decides alone.
    if second < "\u0300" or "\u3400" <= second <= "\u9fff":
        return False
    return unicodedata.normalize("NFKC", text)[:1] in _NEEDS_ESCAPE


# First characters seen so far -> whether NFKC makes them a trigger (a few thousand at most).
_RISKY_FIRST: dict[str, bool] = {}


def neutralise(text: str) -> str:
    """``text`` made safe for a spreadsheet cell: a leading ``'`` when it could start a formula."""
    return _ESCAPE_MARK + text if is_formula_like(text) else text


_CSV_AS_IS = frozenset({type(None), int, date, Decimal})


def _csv_row(row: Sequence) -> list:
    """A row for csv.writer: text neutralised, None/ints/dates as they are (csv writes them right).

    The common cell (text starting with a known-safe character followed by ASCII or a CJK
    ideograph) is decided inline, without a function call: this runs for every cell of an export.
    """
    safe, as_is = _RISKY_FIRST.get, _CSV_AS_IS
    return [
        (
            value
            if value
            and safe(value[0]) is False
            and (len(value) == 1 or value[1] < "\u0300" or "\u3400" <= value[1] <= "\u9fff")
            else neutralise(value)
        )
        if type(value) is str
        else value
        if type(value) in as_is
        else _csv_cell(value)
        for value in row
    ]


def unneutralise(cell: str) -> str:
    """The exact inverse of ``neutralise``: ``unneutralise(neutralise(s)) == s`` for every string."""
    if cell.startswith(_ESCAPE_MARK) and is_formula_like(cell[1:]):
        return cell[1:]
    return cell


# --- results and hashing ------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    rows: int  # data rows, not counting header or preamble rows
    sha256: str  # of the bytes the reader receives
    size: int
    complete: bool = True


def sha256_of(fileobj) -> tuple[str, int]:
    """SHA-256 and size of a seekable binary file, read from the start; leaves it at the start."""
    digest = hashlib.sha256()
    size = 0
    fileobj.seek(0)
    for block in iter(lambda: fileobj.read(1 << 20), b""):
        digest.update(block)
        size += len(block)
    fileobj.seek(0)
    return digest.hexdigest(), size


def _local(value: datetime) -> datetime:
    """Wall-clock time in the site's zone, without tzinfo (spreadsheets have no time zones)."""
    return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value


def _counted(rows: Iterable[Sequence], counter: list[int]) -> Iterator[Sequence]:
    for row in rows:
        counter[0] += 1
        yield row


# --- CSV ----------------------------------------------------------------------------------


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return _local(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date | int | float | Decimal):
        return value.isoformat() if isinstance(value, date) else str(value)
    return neutralise(str(value))


def csv_chunks(
    header: Sequence[str],
    rows: Iterable[Sequence],
    *,
    preamble: Sequence[Sequence] = (),
    on_finish: Callable[[ExportResult], None] | None = None,
    rows_per_chunk: int = 1000,
) -> Iterator[bytes]:
    """UTF-8 CSV (with BOM, RFC 4180 quoting, CRLF) as byte chunks, hashed while they stream.

    ``on_finish`` receives the row count and the SHA-256 of every byte yielded, once: after the
    last chunk, or with ``complete=False`` when the reader stops early (a closed download).
    """
    digest = hashlib.sha256()
    size = 0
    counter = [0]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    finished = False

    def take() -> bytes:
        data = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        digest.update(data)
        return data

    try:
        buffer.write(UTF8_BOM)
        for line in preamble:
            writer.writerow([_csv_cell(v) for v in line])
        writer.writerow([_csv_cell(v) for v in header])
        pending = 0
        for row in _counted(rows, counter):
            writer.writerow(_csv_row(row))
            pending += 1
            if pending >= rows_per_chunk:
                chunk = take()
                size += len(chunk)
                yield chunk
                pending = 0
        chunk = take()
        size += len(chunk)
        finished = True
        yield chunk
    finally:
        if on_finish is not None:
            on_finish(ExportResult(rows=counter[0], sha256=digest.hexdigest(), size=size, complete=finished))


def write_csv(fileobj, header: Sequence[str], rows: Iterable[Sequence], *, preamble: Sequence[Sequence] = ()):
    """Write a CSV (as ``csv_chunks``) to a binary file; returns its ExportResult."""
    results: list[ExportResult] = []
    for chunk in csv_chunks(header, rows, preamble=preamble, on_finish=results.append):
        fileobj.write(chunk)
    return results[0]


# --- XLSX ---------------------------------------------------------------------------------

_XML_SPECIAL = re.compile(r"[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_OOXML_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_EXCEL_EPOCH = date(1899, 12, 30)

STYLE_PLAIN, STYLE_HEADER, STYLE_DATE, STYLE_DATETIME = 0, 1, 2, 3


def _xml_text(text: str) -> str:
    """Text for an XML element: escaped, with characters XML 1.0 cannot hold in OOXML's _xHHHH_ form."""
    if not _XML_SPECIAL.search(text):
        return text
    text = _OOXML_ESCAPE.sub(r"_x005F_\1", text)  # a literal "_x0041_" must not decode to "A"
    text = _SURROGATE.sub("\ufffd", text)
    text = xml_escape(text, {"\r": "&#13;"})  # a raw CR would be read back as LF (XML line endings)
    return _XML_ILLEGAL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", text)


def _column_letters(count: int) -> list[str]:
    letters = []
    for index in range(1, count + 1):
        name = ""
        while index:
            index, remainder = divmod(index - 1, 26)
            name = chr(65 + remainder) + name
        letters.append(name)
    return letters


@dataclass
class XlsxProperties:
    """Workbook properties (File > Info in Excel); deliveries carry their request number here."""

    title: str = ""
    subject: str = ""
    creator: str = "Alumni Portal"
    keywords: str = ""
    description: str = ""
    identifier: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))


class XlsxWriter:
    """A one-sheet XLSX written row by row into a zip stream; call ``close()`` to finish the file.

    Strings are inline (no shared-string table to keep in memory) and neutralised; ints, floats
    and Decimals are numeric cells; dates and datetimes are date cells formatted yyyy-mm-dd.
    """

    def __init__(
        self,
        fileobj,
        *,
        columns: int,
        sheet_title: str = "Sheet1",
        properties: XlsxProperties | None = None,
        widths: Sequence[float | None] = (),
        hidden_columns: Iterable[int] = (),
        freeze_rows: int = 0,
    ) -> None:
        self._zip = zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        self._letters = _column_letters(max(columns, 1))
        self._title = _SHEET_NAME_FORBIDDEN.sub("_", sheet_title).strip("'")[:31] or "Sheet1"
        self._properties = properties or XlsxProperties()
        self._row = 0
        self._pending: list[str] = []
        self._sheet = self._zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self._sheet.write(self._sheet_head(columns, widths, set(hidden_columns), freeze_rows).encode())

    def _sheet_head(self, columns: int, widths, hidden: set[int], freeze_rows: int) -> str:
        parts = [
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        ]
        if freeze_rows:
            parts.append(
                f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{freeze_rows}" '
                f'topLeftCell="A{freeze_rows + 1}" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>'
            )
        cols = []
        for index in range(columns):
            width = widths[index] if index < len(widths) else None
            if width is None and index not in hidden:
                continue
            attrs = f'min="{index + 1}" max="{index + 1}" width="{width or 10}"'
            if width is not None:
                attrs += ' customWidth="1"'
            if index in hidden:
                attrs += ' hidden="1"'
            cols.append(f"<col {attrs}/>")
        if cols:
            parts.append("<cols>" + "".join(cols) + "</cols>")
        parts.append("<sheetData>")
        return "".join(parts)

    def write_row(self, values: Sequence, *, style: int = STYLE_PLAIN) -> None:
        self._row += 1
        row = str(self._row)
        letters = self._letters
        cells = []
        for index, value in enumerate(values):
            if value is None or value == "":
                continue
            ref = letters[index] + row
            if isinstance(value, str):
                text = _xml_text(neutralise(value))
                if style:
                    cells.append(
                        f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
                    )
                else:
                    cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | Decimal) or (isinstance(value, float) and math.isfinite(value)):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif isinstance(value, datetime):
                local = _local(value)
                serial = (local.date() - _EXCEL_EPOCH).days + (
                    local.hour * 3600 + local.minute * 60 + local.second
                ) / 86400
                cells.append(f'<c r="{ref}" s="{STYLE_DATETIME}"><v>{serial}</v></c>')
            elif isinstance(value, date):
                cells.append(f'<c r="{ref}" s="{STYLE_DATE}"><v>{(value - _EXCEL_EPOCH).days}</v></c>')
            else:
                text = _xml_text(neutralise(str(value)))
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
        self._pending.append(f'<row r="{row}">{"".join(cells)}</row>')
        if len(self._pending) >= 500:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._sheet.write("".join(self._pending).encode("utf-8"))
            self._pending.clear()

    def close(self) -> None:
        self._flush()
        self._sheet.write(b"</sheetData></worksheet>")
        self._sheet.close()
        for name, content in self._package_parts().items():
            self._zip.writestr(name, content)
        self._zip.close()

    def _package_parts(self) -> dict[str, str]:
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        props = self._properties
        created = props.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        core = "".join(
            f"<{tag}>{_xml_text(value)}</{tag}>"
            for tag, value in [
                ("dc:title", props.title),
                ("dc:subject", props.subject),
                ("dc:creator", props.creator),
                ("cp:keywords", props.keywords),
                ("dc:description", props.description),
                ("dc:identifier", props.identifier),
            ]
            if value
        )
        return {
            "[Content_Types].xml": head + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            "</Types>",
            "_rels/.rels": head + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/'
            'core-properties" Target="docProps/core.xml"/>'
            '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>",
            "xl/workbook.xml": head + '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<bookViews><workbookView/></bookViews><sheets><sheet name="{_xml_text(self._title)}" sheetId="1" '
            'r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": head
            + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'styles" Target="styles.xml"/>'
            "</Relationships>",
            "xl/styles.xml": head + '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
            '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
            '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
            '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>",
            "docProps/core.xml": head
            + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'{core}<dcterms:created xsi:type="dcterms:W3CDTF">{created}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{created}</dcterms:modified></cp:coreProperties>',
            "docProps/app.xml": head
            + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            f"<Application>{_xml_text(props.creator)}</Application></Properties>",
        }


def write_xlsx(
    fileobj,
    header: Sequence[str],
    rows: Iterable[Sequence],
    *,
    preamble: Sequence[Sequence] = (),
    sheet_title: str = "Sheet1",
    properties: XlsxProperties | None = None,
    hidden_columns: Iterable[int] = (),
) -> ExportResult:
    """Write an XLSX (bold, frozen header after any preamble rows) to a seekable binary file."""
    writer = XlsxWriter(
        fileobj,
        columns=len(header),
        sheet_title=sheet_title,
        properties=properties,
        widths=[max(10, min(40, 2 * len(str(h)) + 4)) for h in header],
        hidden_columns=hidden_columns,
        freeze_rows=len(preamble) + 1,
    )
    for line in preamble:
        writer.write_row(line, style=STYLE_HEADER)
    writer.write_row(header, style=STYLE_HEADER)
    count = 0
    for row in rows:
        writer.write_row(row)
        count += 1
    writer.close()
    sha256, size = sha256_of(fileobj)
    return ExportResult(rows=count, sha256=sha256, size=size)


# --- downloads ----------------------------------------------------------------------------

_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_filename(name: str, *, default: str = "export") -> str:
    """A file name without paths, control characters or characters Windows refuses; at most 150 chars."""
    name = _UNSAFE_IN_NAME.sub("_", unicodedata.normalize("NFC", name)).strip(" ._")
    if len(name) > 150:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 149 - len(extension)] + dot + extension) if dot and len(extension) <= 8 else name[:150]
    return name or default


def content_disposition(filename: str, *, attachment: bool = True) -> str:
    """An RFC 6266 Content-Disposition value: an ASCII fallback plus ``filename*=UTF-8''...``."""
    name = safe_filename(filename)
    kind = "attachment" if attachment else "inline"
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in "%;" else "_" for c in name)
    if fallback == name:
        return f'{kind}; filename="{name}"'
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
