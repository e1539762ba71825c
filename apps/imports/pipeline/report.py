"""Rejected and flagged rows: an on-disk spool of row errors and the XLSX error report staff download.

Errors go to a temporary file as they are found, so a file with a million bad rows costs disk,
not memory. The report is written with openpyxl's write-only workbook, one row at a time.
Every cell from an uploaded file is neutralised before it reaches the workbook: a value that
starts (after NFKC) with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading apostrophe, so Excel
shows it as text instead of running it (ASVS 1.2.10).
"""

from __future__ import annotations

import json
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# Fixed headers in every language: the parser ignores a "行号" column when the corrected report is
# uploaded again, and staff look for "错误原因" whatever language the office's admin runs in.
ROW_HEADER = "行号"
REASON_HEADER = "错误原因"
_FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """A value Excel will show, never evaluate: formula triggers escaped, XML-illegal characters dropped."""
    if value is None or isinstance(value, int | float):
        return value
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if text and unicodedata.normalize("NFKC", text[:2]).startswith(_FORMULA_TRIGGERS):
        return "'" + text
    return text


@dataclass(frozen=True)
class Problem:
    row: int
    field: str
    message: str


class ErrorSpool:
    """Row errors in file order, on disk; the first ``keep`` stay in memory for the preview."""

    def __init__(self, keep: int = 50) -> None:
        self._file = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.keep = keep
        self.first: list[Problem] = []
        self.count = 0
        self.row_count = 0

    def add(self, row: int, field: str, message: str) -> None:
        self._file.write(json.dumps([row, field, message], ensure_ascii=False) + "\n")
        self.count += 1
        if len(self.first) < self.keep:
            self.first.append(Problem(row, field, message))

    def mark_row(self) -> None:
        self.row_count += 1

    def __iter__(self) -> Iterator[Problem]:
        self._file.flush()
        self._file.seek(0)
        for line in self._file:
            row, field, message = json.loads(line)
            yield Problem(row, field, message)
        self._file.seek(0, 2)

    def close(self) -> None:
        self._file.close()


class ReportWriter:
    """The error report workbook: rejected rows with their original cells, then flagged rows."""

    def __init__(self, headers: list[str]) -> None:
        self.headers = headers
        self._workbook: Workbook | None = None
        self._rejected = None
        self._flagged = None
        self.rows_written = 0

    def _open(self) -> None:
        if self._workbook is None:
            from django.utils.translation import gettext as _

            self._workbook = Workbook(write_only=True)
            self._rejected = self._workbook.create_sheet(_("Rejected rows")[:31])
            self._rejected.append([safe_cell(h) for h in self.headers] + [ROW_HEADER, REASON_HEADER])

    def rejected(self, row: int, cells: dict[str, str], reasons: list[str]) -> None:
        """One rejected row: ``cells`` maps original header -> cell text as read."""
        self._open()
        self._rejected.append(
            [safe_cell(cells.get(h, "")) for h in self.headers] + [row, safe_cell("\n".join(reasons))]
        )
        self.rows_written += 1

    def flagged_sheet(self, columns: list[str]) -> None:
        self._open()
        from django.utils.translation import gettext as _

        self._flagged = self._workbook.create_sheet(_("Flagged for review")[:31])
        self._flagged.append([safe_cell(c) for c in columns])

    def flagged(self, values: list[Any]) -> None:
        self._flagged.append([safe_cell(v) for v in values])
        self.rows_written += 1

    @property
    def has_content(self) -> bool:
        return self._workbook is not None

    def save(self, directory: str | None = None) -> Path | None:
        """Write the workbook to a temporary file and return its path (None when nothing was reported)."""
        if self._workbook is None:
            return None
        handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False, dir=directory)  # noqa: SIM115
        handle.close()
        self._workbook.save(handle.name)
        self._workbook = None
        return Path(handle.name)
