"""COPY text format for the staged rows: formatting them, and a file-like source that COPY reads."""

from __future__ import annotations

import io
from collections.abc import Iterable

from .rows import STAGE_COLUMNS

_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": ""})
_COLUMNS = len(STAGE_COLUMNS)

# Columns that do not hold text: integers and ids (str()), the birth date (isoformat), NULL as \\N.
_NON_TEXT = [i for i, (_name, type_) in enumerate(STAGE_COLUMNS) if type_ != "text"]
_DATE_COLUMNS = frozenset(i for i, (_name, type_) in enumerate(STAGE_COLUMNS) if type_ == "date")
_NON_TEXT_SET = frozenset(_NON_TEXT)


def copy_line(row: tuple) -> str:
    """One staged row in COPY text format. The fast path skips escaping when no value needs it."""
    values = list(row)
    for i in _NON_TEXT:
        value = values[i]
        if value is None:
            values[i] = "\\N"
        elif i in _DATE_COLUMNS:
            values[i] = value.isoformat()
        else:
            values[i] = str(value)
    line = "\t".join(values)
    if line.count("\t") != _COLUMNS - 1 or "\n" in line or "\r" in line or "\\" in line or "\x00" in line:
        for i, value in enumerate(values):
            if not (i in _NON_TEXT_SET and row[i] is None):
                values[i] = value.translate(_TEXT_ESCAPES)
        line = "\t".join(values)
    return line + "\n"


class CopySource(io.TextIOBase):
    """A file-like object that COPY reads from, pulling staged rows as the server asks for data.

    The Python side (parsing, deriving keys) and the server (parsing COPY text, writing the temp
    table) then work at the same time, on two cores.
    """

    def __init__(self, rows: Iterable, *, formatted: bool = False) -> None:
        self._rows = iter(rows)
        self._format = (lambda text: text) if formatted else copy_line
        self.count = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        size = size if size and size > 0 else 1 << 20
        parts = []
        length = 0
        try:
            for row in self._rows:
                line = self._format(row)
                parts.append(line)
                length += len(line)
                self.count += 1
                if length >= size:
                    break
        except BaseException as exc:
            # psycopg2 would turn any exception raised here into QueryCanceled; end the COPY
            # instead and let stage() raise the real one (a refused file, a crash).
            self.error = exc
            return ""
        return "".join(parts)
