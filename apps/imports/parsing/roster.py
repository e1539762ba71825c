"""open_roster: every file-level check, header detection and mapping; Roster.rows() streams ParsedRows."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from .errors import FileRefused, ParsedRow, refuse
from .fields import CANONICAL_FIELDS
from .guard import Limits, sniff
from .headers import (
    HEADER_SEARCH_ROWS,
    Recognition,
    header_score,
    header_text,
    is_sub_header,
    looks_like_data,
    recognise,
    unique_headers,
)
from .normalise import CellProblem, RowBuilder
from .readers import CsvSource, XlsxSource, is_blank_values

EXCEL_MAX_ROWS = 1_048_576


@dataclass
class _Layout:
    """Where the header and the data are in one sheet, or why the sheet cannot be used."""

    strength: int = -1  # 2: names a required field; 1: names two fields; 0: any non-blank row; -1: none
    header_row: int = 0
    data_start: int = 0
    headers: list[str] = field(default_factory=list)
    has_data: bool = False
    refusal: FileRefused | None = None


def _texts(cells: list) -> list[str]:
    texts = [header_text(cell.raw if isinstance(cell, CellProblem) else cell) for cell in cells]
    while texts and not texts[-1]:
        texts.pop()
    return texts


def _find_layout(source, given: dict[str, str] | None) -> _Layout:
    """Find the header row within the first rows (a merged title row above it is skipped) and
    whether any data row follows it. Reads only as far as the first data row."""
    rows = source.rows()
    try:
        early: list[tuple[int, list]] = []
        pending = None
        for row, cells in rows:
            if row > HEADER_SEARCH_ROWS + 1:
                pending = (row, cells)
                break
            if not is_blank_values(cells):
                early.append((row, cells))
        candidates = [(row, cells) for row, cells in early if row <= HEADER_SEARCH_ROWS]
        if not candidates:
            if pending is None:
                return _Layout(refusal=refuse("empty"))
            return _Layout(strength=0, refusal=refuse("no_header", rows=HEADER_SEARCH_ROWS))

        scored = [(row, cells, _texts(cells)) for row, cells in candidates]
        layout = _Layout()
        for row, cells, texts in scored:
            required, named = header_score(texts, given)
            strength = 2 if required else 1 if named >= 2 else 0
            if strength > layout.strength:
                layout = _Layout(strength=strength, header_row=row, headers=texts)
                header_cells = cells
                if strength == 2:
                    break
        if layout.strength == 0 and looks_like_data(header_cells):
            layout.refusal = refuse("no_header", "no_header_data")
            return layout

        layout.data_start = layout.header_row + 1
        below = next((texts for row, _c, texts in scored if row == layout.header_row + 1), None)
        if below is None:
            below = next((_texts(cells) for row, cells in early if row == layout.header_row + 1), None)
        if below is not None and is_sub_header(layout.headers, below, given):
            width = max(len(layout.headers), len(below))
            padded = layout.headers + [""] * (width - len(layout.headers))
            layout.headers = [below[i] if i < len(below) and below[i] else padded[i] for i in range(width)]
            layout.data_start += 1
        layout.headers = unique_headers(layout.headers)

        layout.has_data = any(row >= layout.data_start for row, _cells in early)
        if not layout.has_data and pending is not None:
            layout.has_data = not is_blank_values(pending[1]) or any(not is_blank_values(cells) for _row, cells in rows)
        if not layout.has_data:
            layout.refusal = refuse("header_only")
        return layout
    finally:
        rows.close()


class Roster:
    """An opened roster: its headers and their mapping, and a re-readable stream of parsed rows."""

    def __init__(self, source, layout: _Layout, recognition: Recognition, row_count_estimate: int | None):
        self._source = source
        self.kind: str = source.kind
        self.sheet_name: str = getattr(source, "sheet_name", "")
        self.encoding: str = getattr(source, "encoding", "")
        self.delimiter: str = getattr(source, "delimiter", "")
        self.header_row: int = layout.header_row
        self.data_start_row: int = layout.data_start
        self.headers: list[str] = layout.headers
        self.mapping: dict[str, str] = recognition.mapping
        self.unknown_headers: list[str] = recognition.unknown
        self.missing_required: list[str] = recognition.missing
        self.row_count_estimate: int | None = row_count_estimate
        self._columns = recognition.columns

    def __repr__(self) -> str:
        return f"<Roster {self.kind} header_row={self.header_row} columns={len(self.headers)}>"

    def _builder(self) -> RowBuilder:
        return RowBuilder(
            self.headers,
            self._columns,
            today=timezone.localdate(),
            epoch_1904=getattr(self._source, "epoch_1904", False),
            encoding=getattr(self._source, "encoding_label", ""),
        )

    def rows(self) -> Iterator[ParsedRow]:
        """Every non-blank data row, in file order, with bounded memory. Each call reads the file again
        (and forgets the student IDs seen by earlier calls). May raise FileRefused for damage found
        only while streaming."""
        builder = self._builder()
        if self.kind == "csv" and not self._source.lossy:
            return self._text_rows(builder)
        return self._value_rows(builder)

    def _text_rows(self, builder: RowBuilder) -> Iterator[ParsedRow]:
        build, raw_of = builder.build_text, builder.raw_from_text
        start, width = self.data_start_row, len(self.headers)
        for row, cells in self._source.rows():
            if row < start:
                continue
            joined = "".join(cells)
            if not joined or joined.isspace():
                continue
            if len(cells) < width:
                cells += [""] * (width - len(cells))
            yield build(row, cells, raw_of(cells))

    def _value_rows(self, builder: RowBuilder) -> Iterator[ParsedRow]:
        build, raw_of = builder.build, builder.raw_from_values
        start, width = self.data_start_row, len(self.headers)
        limit = _max_rows()
        count = 0
        for row, cells in self._source.rows(width, start):
            if row < start or is_blank_values(cells):
                continue
            count += 1
            if count > limit:
                raise refuse("too_many_rows", limit=limit)
            if len(cells) < width:
                cells += [None] * (width - len(cells))
            yield build(row, cells, raw_of(cells))


def _max_rows() -> int:
    return getattr(settings, "IMPORT_MAX_ROWS", EXCEL_MAX_ROWS)


def _missing_message_fields(missing: list[str]) -> str:
    return ", ".join(str(CANONICAL_FIELDS[name]) for name in missing)


def open_roster(
    path: str | os.PathLike,
    *,
    original_name: str | None = None,
    mapping: dict[str, str] | None = None,
    max_bytes: int | None = None,
    check_required: bool = True,
) -> Roster:
    """Open a CSV or XLSX roster after every file-level check; raise FileRefused with a stable code.

    ``mapping`` (original header -> canonical field, or "" to ignore the column) overrides and extends
    header recognition. With ``check_required`` (the default) a roster whose required columns are
    still missing after mapping is refused ("missing_columns"); the mapping step passes False to get
    a Roster listing ``unknown_headers`` and ``missing_required`` instead.
    """
    limits = Limits.from_settings(max_bytes)
    sniffed = sniff(path, original_name=original_name, limits=limits)
    if sniffed.kind == "csv":
        source = CsvSource(path, sniffed)
        layout = _find_layout(source, mapping)
    else:
        source = XlsxSource(path, sniffed)
        layout = _choose_sheet(source, mapping)
    if layout.refusal is not None:
        raise layout.refusal

    recognition = recognise(layout.headers, mapping)
    if check_required and recognition.missing:
        found = ", ".join(h for h in layout.headers if h)[:300] or "—"
        raise refuse("missing_columns", fields=_missing_message_fields(recognition.missing), found=found)

    skipped = layout.data_start - 1
    if source.kind == "csv":
        estimate = max(source.line_count - skipped, 0)
        if estimate > _max_rows() and source.count_records() - skipped > _max_rows():
            raise refuse("too_many_rows", limit=_max_rows())
    else:
        estimate = max(source.max_row - skipped, 0) if source.max_row else None
    return Roster(source, layout, recognition, estimate)


def _choose_sheet(source: XlsxSource, given: dict[str, str] | None) -> _Layout:
    """The first visible worksheet whose header names a required column; else the first naming two
    columns; else the first visible one (a "填表说明" sheet or a lookup table may come first)."""
    layouts = []
    for index in range(len(source.sheets)):
        source.select(index)
        layout = _find_layout(source, given)
        if layout.strength == 2:
            return layout
        layouts.append(layout)
    best = max(layout.strength for layout in layouts)
    chosen = next(i for i, layout in enumerate(layouts) if layout.strength == best)
    source.select(chosen)
    layout = layouts[chosen]
    if layout.refusal is not None and layout.refusal.code == "empty" and len(source.sheets) > 1:
        layout.refusal = refuse("empty", "empty_sheet", sheet=source.sheet_name)
    return layout
