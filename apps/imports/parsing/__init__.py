"""Roster file parsing and row normalisation for imports.

    roster = open_roster(path, original_name="2019届毕业生.xlsx")   # raises FileRefused
    for parsed in roster.rows():                                   # streams ParsedRow
        parsed.values  # {"student_id": "2019010001", "birth_date": date(2001, 9, 1), ...}
        parsed.errors  # [RowError(row=5, field="birth_date", column="出生日期", message="...")]

File-level checks (size, type by content, zip bomb, macros, legacy .xls, HTML saved as .xls,
encodings, header row) run in ``open_roster``; see ``guard`` and ``readers``. Field rules are in
``normalise`` and ``dates``; header synonyms in ``headers``.
"""

from .errors import FileRefused, ParsedRow, RowError
from .fields import CANONICAL_FIELDS, REQUIRED_FIELDS
from .roster import Roster, open_roster

__all__ = [
    "CANONICAL_FIELDS",
    "REQUIRED_FIELDS",
    "FileRefused",
    "ParsedRow",
    "Roster",
    "RowError",
    "open_roster",
]
