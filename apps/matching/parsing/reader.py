"""Opening a list file through the import layer: its file checks, encodings and header-row detection.

``open_roster`` (apps/imports/parsing) does everything file-level: size cap, type by content,
zip bombs, macro and legacy workbooks, CSV encodings (UTF-8, BOM, GBK/GB18030, UTF-16), merged
title rows above the header. A list has no student-ID column, so it is opened with
``check_required=False`` and only its raw cells are used; its columns are named with this app's own
vocabulary (``columns.SYNONYMS``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.imports.parsing import FileRefused, open_roster

from .bio import Vocabulary
from .columns import NAME_HEADERS, Columns, recognise_columns
from .rows import Defaults, ListRow, build_row


class ListRefused(Exception):
    """The whole list is refused; ``code`` is stable, ``message`` is translated for staff."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


def max_rows() -> int:
    return settings.MATCHING_MAX_ROWS


@dataclass
class ListFile:
    columns: Columns
    _roster: object

    def rows(self, vocabulary: Vocabulary, defaults: Defaults) -> Iterator[ListRow]:
        """Every non-blank row in file order; raises ListRefused past the row limit or for damage
        found only while streaming."""
        today = timezone.localdate()
        limit = max_rows()
        count = 0
        try:
            for parsed in self._roster.rows():
                count += 1
                if count > limit:
                    raise _too_many(limit)
                yield build_row(parsed.row, parsed.raw, self.columns, vocabulary, defaults, today=today)
        except FileRefused as exc:
            raise ListRefused(exc.code, exc.message) from exc


def _too_many(limit: int) -> ListRefused:
    return ListRefused(
        "too_many_rows",
        _("The list has more than %(limit)s rows. Split it into smaller lists.") % {"limit": f"{limit:,}"},
    )


def open_list(path: str | os.PathLike, *, original_name: str | None = None, max_bytes: int | None = None) -> ListFile:
    """Open a CSV or XLSX list after every file-level check; raise ListRefused if it cannot be matched."""
    # The import layer finds the header row by the roster fields it knows (姓名, Name ...); name
    # headers of lists (院士姓名, 获奖人) are handed to it so it finds those rows too.
    hints = dict.fromkeys(NAME_HEADERS, "name")
    try:
        try:
            roster = open_roster(path, original_name=original_name, mapping=hints, max_bytes=max_bytes,
                                 check_required=False)  # fmt: skip
        except ValueError:
            # Two name columns (姓名 and 院士姓名): let the import layer's own vocabulary decide.
            roster = open_roster(path, original_name=original_name, max_bytes=max_bytes, check_required=False)
    except FileRefused as exc:
        raise ListRefused(exc.code, exc.message) from exc
    columns = recognise_columns(roster.headers)
    if not columns.first("name") and not columns.first("latin_name"):
        found = ", ".join(h for h in roster.headers if h)[:300] or "—"
        raise ListRefused(
            "no_name_column",
            _("The list has no name column (姓名 or Name). Columns found: %(found)s.") % {"found": found},
        )
    estimate = roster.row_count_estimate
    if estimate is not None and estimate > max_rows() * 2:
        raise _too_many(max_rows())
    return ListFile(columns, roster)
