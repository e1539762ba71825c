"""What the parsing layer hands out: refused files, row errors, parsed rows, and the problem marker.

Messages are English msgids wrapped in gettext; they are rendered (translated into the active
language) when the refusal or row error is created, so a task that activates the job's language
before streaming gets translated messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class FileRefused(Exception):
    """The whole file is refused before any row is used; ``code`` is stable, ``message`` is for staff.

    Raised by ``open_roster`` for every file-level check. ``Roster.rows()`` raises it too in the
    rare case that damage is only found while streaming (a workbook part that stops parsing half
    way, a CSV quote that is never closed): the import pipeline validates the whole file before it
    writes anything, so such a file is still refused as a whole.
    """

    def __init__(self, code: str, message: str, **params: object):
        super().__init__(message)
        self.code = code
        self.message = message
        self.params = params

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"FileRefused(code={self.code!r})"

    def __reduce__(self):
        # Picklable (Celery result backends, multiprocessing) despite the keyword-taking __init__.
        return (self.__class__, (self.code, self.message), {"params": self.params})


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number: header is row 1, first data row is 2 (for CSV too)
    field: str  # canonical field name, or "" for a whole-row problem
    column: str  # the original header text staff see, "" if none
    message: str  # translated, names row and column


@dataclass(slots=True)
class ParsedRow:
    row: int
    values: dict[str, object]
    errors: list[RowError] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


class Invalid:
    """A cell value that failed normalisation: a lazy message and its named parameters.

    Normalisers return it instead of raising, so the common path costs no exception handling.
    Instances are immutable in practice and may be shared through caches.
    """

    __slots__ = ("message", "params")

    def __init__(self, message, params: dict | None = None):
        self.message = message
        self.params = params

    def render(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text

    def __repr__(self) -> str:
        return f"Invalid({self.render()!r})"


def row_message(row: int, column: str, problem: str) -> str:
    """'Row 5, column “出生日期”: "2019-13-45" is not a date', translated."""
    if column:
        return gettext("Row %(row)s, column “%(column)s”: %(problem)s") % {
            "row": row,
            "column": column,
            "problem": problem,
        }
    return gettext("Row %(row)s: %(problem)s") % {"row": row, "problem": problem}


def make_row_error(row: int, field_name: str, column: str, problem: Invalid) -> RowError:
    return RowError(row=row, field=field_name, column=column, message=row_message(row, column, problem.render()))


def shorten(value: object, limit: int = 40) -> str:
    """A cell value quoted in a message: at most ``limit`` characters, one line."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


# File-level messages. Keys are the stable FileRefused codes (several codes have variants).
REFUSALS = {
    "too_large": _("The file is %(size)s; the largest file accepted is %(limit)s. Split it into smaller files."),
    "empty": _("The file is empty."),
    "empty_sheet": _("The worksheet “%(sheet)s” is empty."),
    "header_only": _("The file has a header row but no data rows."),
    "too_many_rows": _("The file has more than %(limit)s data rows. Split it into smaller files."),
    "not_csv_or_xlsx": _(
        "This is not a CSV file or an Excel workbook (.xlsx). Open it in Excel and save it as .xlsx or as CSV."
    ),
    "not_csv_or_xlsx_kind": _(
        "This is not a CSV file or an Excel workbook (.xlsx) but %(kind)s. Save the roster from Excel as .xlsx or "
        "as CSV."
    ),
    "macro_workbook": _(
        "This workbook contains macros (.xlsm), which are not accepted. Save it as an Excel workbook (.xlsx)."
    ),
    "legacy_xls": _("This is an old Excel 97–2003 workbook (.xls). Open it in Excel and save it as .xlsx."),
    "encrypted_workbook": _(
        "This workbook is protected by a password. Remove the password in Excel and save it again as .xlsx."
    ),
    "html_spreadsheet": _(
        "This file is a web page (HTML or XML) saved under an Excel name, not a real workbook. Open it in Excel "
        "and save it as .xlsx."
    ),
    "extension_mismatch": _(
        "The file is named “%(name)s” but it contains %(kind)s. Save it again from Excel as .xlsx or as CSV, "
        "with the matching extension."
    ),
    "zip_bomb": _(
        "The workbook would expand to more than %(limit)s when opened, or is compressed in a suspicious way, "
        "and was refused for safety. Save it again from Excel; split very large rosters into several files."
    ),
    "zip_entries": _(
        "The workbook has %(count)s internal parts; a real workbook has a few dozen. It was refused for safety."
    ),
    "bad_archive": _("The workbook is damaged and cannot be opened. Open it in Excel and save it again as .xlsx."),
    "unsafe_xml": _(
        "The workbook contains XML entity declarations, which real Excel files never have. It was refused for safety."
    ),
    "no_sheet": _("The workbook has no visible worksheet."),
    "missing_columns": _("Required columns are missing: %(fields)s. Columns found: %(found)s."),
    "no_header": _(
        "No header row was found in the first %(rows)s rows. The first row must name the columns (for example "
        "学号, 姓名)."
    ),
    "no_header_data": _(
        "The first row looks like data, not column names. Add a header row (for example 学号, 姓名) above the data."
    ),
    "unreadable_encoding": _(
        "The text could not be read as UTF-8, UTF-16 or GB18030 (GBK): too many bytes are not valid text. Save "
        "the file from Excel as “CSV UTF-8” or as .xlsx."
    ),
    "unreadable_quote": _(
        "Row %(row)s has a quotation mark that does not pair up (a quoted value that is never closed, or text "
        "after a closing quote), so the file cannot be split into cells safely. Check the quotes in that row."
    ),
    "unreadable_field": _(
        "Row %(row)s has a cell longer than %(limit)s characters. Usually a quotation mark in that row is never "
        "closed, so the rest of the file runs into one cell; check the quotes in that row."
    ),
    "unreadable_sheet": _(
        "The worksheet is damaged and could not be read after row %(row)s. Open it in Excel and save it again."
    ),
}


def refuse(code: str, variant: str | None = None, **params: object) -> FileRefused:
    """Build (not raise) a FileRefused with the translated message for ``variant`` (default: ``code``)."""
    template = str(REFUSALS[variant or code])  # renders the lazy msgid in the active language
    return FileRefused(code, template % params if params else template, **params)
