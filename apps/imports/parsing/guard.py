"""File-level checks that run before any parser touches the file.

The type is decided by content, never by the name: an OLE2 header is a legacy .xls, a zip must be a
real .xlsx package without macros, anything else must be text. A known extension that contradicts
the content is refused too (ASVS 5.2.2: the extension must match the content), so a CSV renamed
.xlsx is refused with a message saying what it really is rather than read silently.

For workbooks the zip central directory is checked before openpyxl sees the file (entry count, total
declared size, per-entry ratio, forged sizes), then every part is inflated once in bounded chunks
while counting bytes, so a bomb is refused in milliseconds with constant memory. Any DTD or entity
declaration in any XML part refuses the file (openpyxl also parses its own parts through defusedxml).
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .errors import human_size, refuse

MB = 1024 * 1024
HEAD_BYTES = 64 * 1024
_CHUNK = 1024 * 1024
# Entries smaller than this may compress very well (styles, empty sheets) without being a bomb.
_RATIO_FLOOR = 1024 * 1024

TEXT_EXTENSIONS = frozenset({".csv", ".txt", ".tsv"})
WORKBOOK_EXTENSIONS = frozenset({".xlsx", ".xls", ".xltx"})
MACRO_EXTENSIONS = frozenset({".xlsm", ".xltm", ".xlam", ".xlsb"})

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ENCRYPTED_OLE_MARK = "EncryptedPackage".encode("utf-16-le")

KIND_PROGRAM = _("a program")
KIND_PDF = _("a PDF document")
KIND_IMAGE = _("an image")
KIND_ARCHIVE = _("a compressed archive")
KIND_RTF = _("a rich-text document")
KIND_WORD = _("a Word document")
KIND_POWERPOINT = _("a PowerPoint presentation")
KIND_ODS = _("an OpenDocument spreadsheet (.ods)")
KIND_XLSB = _("an Excel binary workbook (.xlsb)")
KIND_ZIP = _("a ZIP archive")
KIND_BINARY = _("binary data")
KIND_TEXT = _("plain text (CSV)")
KIND_WORKBOOK = _("an Excel workbook")

_MAGICS = (
    (b"MZ", KIND_PROGRAM),
    (b"\x7fELF", KIND_PROGRAM),
    (b"\xca\xfe\xba\xbe", KIND_PROGRAM),
    (b"\xcf\xfa\xed\xfe", KIND_PROGRAM),
    (b"#!", KIND_PROGRAM),
    (b"%PDF", KIND_PDF),
    (b"\x89PNG", KIND_IMAGE),
    (b"\xff\xd8\xff", KIND_IMAGE),
    (b"GIF8", KIND_IMAGE),
    (b"\x1f\x8b", KIND_ARCHIVE),
    (b"7z\xbc\xaf\x27\x1c", KIND_ARCHIVE),
    (b"Rar!", KIND_ARCHIVE),
    (b"BZh", KIND_ARCHIVE),
    (b"\xfd7zXZ", KIND_ARCHIVE),
    (b"{\\rtf", KIND_RTF),
)
_MARKUP_STARTS = ("<!doctype", "<html", "<table", "<?xml", "<head", "<meta", "<body", "<!--", "<style", "<div")
# Control bytes that never occur in text files (tab, LF, CR, FF, VT and ^Z do).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 11, 12, 13, 26))

WORKBOOK_CONTENT_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
)
_MERGE_REF = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
_END_SHEET_DATA = re.compile(rb"</(?:\w+:)?sheetData>")
_MERGES_CAP = 8 * MB
# Parts that are not XML (media, printer settings, embedded documents): not scanned for DTDs.
_BINARY_PARTS = (".bin", ".png", ".jpeg", ".jpg", ".gif", ".bmp", ".tif", ".tiff", ".emf", ".wmf", ".wdp")
_BINARY_PARTS += (".xlsx", ".xlsm", ".xls", ".docx", ".doc", ".pptx", ".ppt", ".zip", ".pdf")


@dataclass
class Limits:
    max_bytes: int
    max_uncompressed: int
    max_entries: int
    max_ratio: int

    @classmethod
    def from_settings(cls, max_bytes: int | None = None) -> Limits:
        return cls(
            max_bytes=max_bytes if max_bytes is not None else getattr(settings, "IMPORT_MAX_BYTES", 100 * MB),
            max_uncompressed=getattr(settings, "IMPORT_ZIP_MAX_UNCOMPRESSED", 200 * MB),
            max_entries=getattr(settings, "IMPORT_ZIP_MAX_ENTRIES", 1000),
            max_ratio=getattr(settings, "IMPORT_ZIP_MAX_RATIO", 100),
        )


@dataclass
class Sniffed:
    kind: str  # "csv" or "xlsx"
    size: int
    head: bytes
    # xlsx only: merged ranges below the first row per worksheet part, as (min_row, max_row, min_col, max_col)
    merges: dict[str, list[tuple[int, int, int, int]]] = field(default_factory=dict)


def _extension(path: Path, original_name: str | None) -> str:
    return Path(original_name or path.name).suffix.lower()


def sniff(path: str | os.PathLike, *, original_name: str | None, limits: Limits) -> Sniffed:
    """Run every file-level check; return what the file is, or raise FileRefused."""
    path = Path(path)
    size = path.stat().st_size  # a missing file is the caller's bug, not bad input: let OSError through
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if size == 0:
        raise refuse("empty")
    if size > limits.max_bytes:
        raise refuse("too_large", size=human_size(size), limit=human_size(limits.max_bytes))

    name = original_name or path.name
    extension = _extension(path, original_name)
    if head.startswith(_OLE2):
        if _file_contains(path, _ENCRYPTED_OLE_MARK):
            raise refuse("encrypted_workbook")
        raise refuse("legacy_xls")
    if head.startswith(_ZIP_MAGICS):
        if extension in MACRO_EXTENSIONS:
            raise refuse("macro_workbook")
        merges = inspect_workbook_zip(path, size=size, limits=limits)
        if extension in TEXT_EXTENSIONS:
            raise refuse("extension_mismatch", name=name, kind=str(KIND_WORKBOOK))
        return Sniffed(kind="xlsx", size=size, head=head, merges=merges)
    for magic, kind in _MAGICS:
        if head.startswith(magic) and (magic != b"MZ" or b"\x00" in head[:256]):
            raise refuse("not_csv_or_xlsx", "not_csv_or_xlsx_kind", kind=str(kind))
    if _is_markup(head):
        raise refuse("html_spreadsheet")
    if _looks_binary(head):
        raise refuse("not_csv_or_xlsx", "not_csv_or_xlsx_kind", kind=str(KIND_BINARY))
    if extension in MACRO_EXTENSIONS or extension in WORKBOOK_EXTENSIONS:
        raise refuse("extension_mismatch", name=name, kind=str(KIND_TEXT))
    return Sniffed(kind="csv", size=size, head=head)


def _file_contains(path: Path, needle: bytes) -> bool:
    overlap = len(needle) - 1
    previous = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if needle in previous + chunk:
                return True
            previous = chunk[-overlap:]
    return False


def utf16_byte_order(head: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' for UTF-16 text without a BOM (ASCII-heavy: every other byte NUL), else None."""
    sample = head[:4096]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    even_nuls, odd_nuls = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nuls > 0.3 and even_nuls < 0.02:
        return "utf-16-le"
    if even_nuls > 0.3 and odd_nuls < 0.02:
        return "utf-16-be"
    return None


def _text_start(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = head[:4096].decode("utf-16", errors="ignore")
    elif order := utf16_byte_order(head):
        text = head[:4096].decode(order, errors="ignore")
    else:
        text = head[:4096].decode("utf-8", errors="ignore")
    return text.lstrip("\ufeff \t\r\n").lower()


def _is_markup(head: bytes) -> bool:
    start = _text_start(head)
    return start.startswith(_MARKUP_STARTS) or start.startswith("mime-version:")


def _looks_binary(head: bytes) -> bool:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or utf16_byte_order(head):
        return False
    sample = head[:HEAD_BYTES]
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls >= 8 and controls > len(sample) * 0.02


# --- zip ------------------------------------------------------------------------------------------


def _central_directory(path: Path, size: int) -> tuple[int, int]:
    """(entry count, central directory size) from the end record, read without zipfile."""
    tail_length = min(size, 65535 + 22)
    with path.open("rb") as handle:
        handle.seek(size - tail_length)
        tail = handle.read(tail_length)
        position = tail.rfind(b"PK\x05\x06")
        if position < 0 or len(tail) - position < 22:
            raise refuse("bad_archive")
        entries, cd_size = struct.unpack("<HL", tail[position + 10 : position + 16])
        if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and position >= 20:
            locator = tail[position - 20 : position]
            if locator[:4] == b"PK\x06\x07":
                (record_offset,) = struct.unpack("<Q", locator[8:16])
                handle.seek(record_offset)
                record = handle.read(56)
                if record[:4] == b"PK\x06\x06" and len(record) == 56:
                    entries, cd_size = struct.unpack("<QQ", record[32:48])
    return entries, cd_size


def inspect_workbook_zip(path: Path, *, size: int, limits: Limits) -> dict[str, list[tuple[int, int, int, int]]]:
    """Refuse zip bombs, non-workbooks, macro workbooks and DTDs; return merged ranges per worksheet part."""
    entries, cd_size = _central_directory(path, size)
    if entries > limits.max_entries or cd_size > limits.max_entries * 1024:
        raise refuse("zip_bomb", "zip_entries", count=entries)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, NotImplementedError, EOFError) as exc:
        raise refuse("bad_archive") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_entries:
            raise refuse("zip_bomb", "zip_entries", count=len(infos))
        _check_declared_sizes(infos, limits)
        names = {info.filename for info in infos}
        main_part = _check_package(archive, names)
        if main_part not in names:
            raise refuse("bad_archive")
        return _stream_parts(archive, infos, limits)


def _check_declared_sizes(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    bomb = {"limit": human_size(limits.max_uncompressed)}
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise refuse("encrypted_workbook")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise refuse("bad_archive")
        total += info.file_size
        if info.file_size > _RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise refuse("zip_bomb", **bomb)
        # Deflate never grows data by more than a few bytes per block: a declared size far below
        # the compressed size is forged.
        if info.compress_size > info.file_size * 1.01 + 1024:
            raise refuse("zip_bomb", **bomb)
    if total > limits.max_uncompressed:
        raise refuse("zip_bomb", **bomb)


def _read_small(archive: zipfile.ZipFile, name: str, cap: int = MB) -> bytes:
    info = archive.getinfo(name)
    if info.file_size > cap:
        raise refuse("bad_archive")
    try:
        with archive.open(info) as handle:
            return handle.read(cap + 1)[:cap]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise refuse("bad_archive") from exc


def _check_package(archive: zipfile.ZipFile, names: set[str]) -> str:
    """The workbook part's name, after refusing macro workbooks and zips that are not workbooks."""
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise refuse("macro_workbook")
    if "[Content_Types].xml" not in names:
        if "mimetype" in names and b"opendocument" in _read_small(archive, "mimetype", 1024):
            raise refuse("not_csv_or_xlsx", "not_csv_or_xlsx_kind", kind=str(KIND_ODS))
        raise refuse("not_csv_or_xlsx", "not_csv_or_xlsx_kind", kind=str(KIND_ZIP))
    raw = _read_small(archive, "[Content_Types].xml")
    _check_prolog(raw)
    try:
        root = safe_fromstring(raw)
    except DefusedXmlException as exc:
        raise refuse("unsafe_xml") from exc
    except (ParseError, ValueError) as exc:
        raise refuse("bad_archive") from exc
    overrides = {
        element.get("PartName", "").lstrip("/"): element.get("ContentType", "")
        for element in root
        if element.tag.endswith("Override")
    }
    types = " ".join(element.get("ContentType", "") for element in root)
    if "sheet.binary" in types:
        raise refuse("not_csv_or_xlsx", "not_csv_or_xlsx_kind", kind=str(KIND_XLSB))
    if "macroEnabled" in types or "vbaProject" in types:
        raise refuse("macro_workbook")
    for part, content_type in overrides.items():
        if content_type in WORKBOOK_CONTENT_TYPES:
            return part
    if "wordprocessingml" in types:
        raise refuse("not_csv_or_xlsx", "not_csv_or_xlsx_kind", kind=str(KIND_WORD))
    if "presentationml" in types:
        raise refuse("not_csv_or_xlsx", "not_csv_or_xlsx_kind", kind=str(KIND_POWERPOINT))
    raise refuse("not_csv_or_xlsx", "not_csv_or_xlsx_kind", kind=str(KIND_ZIP))


_DECLARATION = re.compile(rb"<!(?:doctype|entity)", re.IGNORECASE)


def _check_prolog(xml: bytes) -> None:
    """Refuse a DTD or entity declaration (NULs of UTF-16 removed first)."""
    if _DECLARATION.search(xml.replace(b"\x00", b"") if b"\x00" in xml else xml):
        raise refuse("unsafe_xml")


def _stream_parts(
    archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: Limits
) -> dict[str, list[tuple[int, int, int, int]]]:
    """Inflate every part once in bounded chunks: count real bytes against the declared sizes, refuse
    any DTD or entity declaration anywhere in an XML part (real workbooks never have one, and their
    absence is what lets the readers use the fast C parser), and collect each sheet's merged ranges."""
    bomb = {"limit": human_size(limits.max_uncompressed)}
    total = 0
    merges: dict[str, list[tuple[int, int, int, int]]] = {}
    for info in infos:
        if info.is_dir():
            continue
        is_xml = not info.filename.lower().endswith(_BINARY_PARTS)
        is_sheet = info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")
        sheet_tail: bytearray | None = None
        carry = b""
        count = 0
        try:
            with archive.open(info) as handle:
                while chunk := handle.read(_CHUNK):
                    count += len(chunk)
                    total += len(chunk)
                    if (
                        count > info.file_size
                        or total > limits.max_uncompressed
                        or (count > _RATIO_FLOOR and count > limits.max_ratio * max(info.compress_size, 1))
                    ):
                        raise refuse("zip_bomb", **bomb)
                    window = carry + chunk
                    if is_xml:
                        _check_prolog(window)
                    if is_sheet:
                        if sheet_tail is None:
                            end = _END_SHEET_DATA.search(window)
                            if end:
                                sheet_tail = bytearray(window[end.end() :])
                        elif len(sheet_tail) < _MERGES_CAP:
                            sheet_tail += chunk
                    carry = window[-64:]
        except zipfile.BadZipFile as exc:  # CRC mismatch: the data does not match its declared size
            raise refuse("bad_archive") from exc
        except (OSError, EOFError, ValueError, NotImplementedError) as exc:
            raise refuse("bad_archive") from exc
        if sheet_tail:
            ranges = _merged_ranges(bytes(sheet_tail))
            if ranges:
                merges[info.filename] = ranges
    return merges


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _merged_ranges(tail: bytes) -> list[tuple[int, int, int, int]]:
    ranges = []
    for first_col, first_row, last_col, last_row in _MERGE_REF.findall(tail):
        if not last_col:
            continue
        ranges.append((int(first_row), int(last_row), _column_number(first_col), _column_number(last_col)))
    return ranges
