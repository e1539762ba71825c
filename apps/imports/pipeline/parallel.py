"""Reading a big CSV roster on several cores: each forked worker normalises every n-th row.

Parsing and normalising a row (the parser) plus deriving its keys (``RowBuilder``) is the
Python-bound part of an import, about 40 µs a row; the database is busy meanwhile only with the
COPY. With two workers the file is read twice (cheap: splitting lines is a small share) but each
row is normalised once, by the worker whose share it is; the parent only relays the COPY text
the workers produce, and collects their rejected rows.

Workers never touch the database: they inherit the college/major/class tables from the parent
(``fork``), give new majors and classes placeholder ids from their own disjoint series, and send
them back at the end. Each worker's parser remembers only the student IDs of its share; an ID
repeated across shares is caught by the classification's duplicate rule instead.

Only plain text CSV is sharded (``Roster.rows()`` itself streams everything else). This relies on
two internals of ``apps.imports.parsing``: ``Roster._text_rows(builder)`` and ``Roster._builder()``.
"""

from __future__ import annotations

import os
import pickle
import signal
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import wait

from .copying import copy_line
from .rows import References, RowBuilder, StageError

BATCH_ROWS = 2000


def can_shard(roster) -> bool:
    source = getattr(roster, "_source", None)
    return (
        roster.kind == "csv"
        and source is not None
        and not getattr(source, "lossy", True)
        and hasattr(roster, "_text_rows")
        and hasattr(roster, "_builder")
    )


class _ShardBuilder:
    """Wraps the parser's row builder so that only this shard's rows are normalised.

    ``Roster._text_rows`` calls ``raw_from_text`` and then ``build_text`` once per data row, in
    order; rows of other shards get neither (``build_text`` sees ``None`` and returns ``None``).
    """

    def __init__(self, builder, shard: int, shards: int) -> None:
        self._builder = builder
        self._shard = shard
        self._shards = shards
        self._index = -1

    def raw_from_text(self, cells):
        self._index += 1
        if self._index % self._shards != self._shard:
            return None
        return self._builder.raw_from_text(cells)

    def build_text(self, row, cells, raw):
        if raw is None:
            return None
        return self._builder.build_text(row, cells, raw)


def shard_rows(roster, shard: int, shards: int) -> Iterator:
    """This shard's ParsedRows (every ``shards``-th data row), in file order."""
    for parsed in roster._text_rows(_ShardBuilder(roster._builder(), shard, shards)):
        if parsed is not None:
            yield parsed


@dataclass
class Batch:
    rows: int  # data rows of the file read (this shard's)
    copy_text: str
    rejected: list[tuple[int, list[tuple[int, str, str]], dict]]  # (row, [(row, field, message)], raw cells)


def _child(roster, references: References, headers_by_field: dict[str, str], shard: int, shards: int, out) -> None:
    references.renumber(start=-(shard + 1), step=-shards)
    builder = RowBuilder(references, headers_by_field)
    lines: list[str] = []
    rejected: list = []
    count = 0

    def flush() -> None:
        nonlocal lines, rejected, count
        out.send_bytes(b"D" + pickle.dumps(Batch(count, "".join(lines), rejected), protocol=pickle.HIGHEST_PROTOCOL))
        lines, rejected, count = [], [], 0

    from apps.imports.parsing import FileRefused

    try:
        for parsed in shard_rows(roster, shard, shards):
            count += 1
            if parsed.errors:
                rejected.append((parsed.row, [(e.row, e.field, e.message) for e in parsed.errors], parsed.raw))
            else:
                built = builder.build(parsed.row, parsed.values)
                if isinstance(built, StageError):
                    rejected.append((parsed.row, [(built.row, built.field, built.message)], parsed.raw))
                else:
                    lines.append(copy_line(built))
            if count >= BATCH_ROWS:
                flush()
        flush()
        out.send_bytes(b"F" + pickle.dumps(references.new_items()))
    except FileRefused as exc:
        out.send_bytes(b"R" + pickle.dumps((exc.code, exc.message, exc.params)))
    except BaseException:
        out.send_bytes(b"X" + traceback.format_exc().encode())


class WorkerFailed(RuntimeError):
    """A parsing worker died or raised; the import stops (and its transaction rolls back)."""


class ShardedReader:
    """Forks ``shards`` workers over one roster and yields their batches as they arrive."""

    def __init__(self, roster, references: References, headers_by_field: dict[str, str], shards: int) -> None:
        self.roster = roster
        self.references = references
        self.headers_by_field = headers_by_field
        self.shards = shards
        self.pids: list[int] = []

    def batches(self) -> Iterator[Batch]:
        from apps.imports.parsing import FileRefused

        readers = {}
        try:
            for shard in range(self.shards):
                receive, send = Pipe(duplex=False)
                pid = os.fork()
                if pid == 0:  # pragma: no cover - runs in the child
                    receive.close()
                    code = 0
                    try:
                        _child(self.roster, self.references, self.headers_by_field, shard, self.shards, send)
                    except BaseException:
                        code = 1
                    finally:
                        send.close()
                        # No interpreter shutdown: the parent's database connection and files,
                        # inherited here, must not be closed or flushed by the child.
                        os._exit(code)
                send.close()
                self.pids.append(pid)
                readers[receive] = shard
            finished = 0
            while readers:
                for connection in wait(list(readers)):
                    try:
                        message = connection.recv_bytes()
                    except EOFError as exc:
                        raise WorkerFailed("a parsing worker ended without finishing") from exc
                    tag, body = message[:1], message[1:]
                    if tag == b"D":
                        yield pickle.loads(body)  # noqa: S301 - from our own forked worker
                    elif tag == b"F":
                        self.references.merge(pickle.loads(body))  # noqa: S301
                        connection.close()
                        del readers[connection]
                        finished += 1
                    elif tag == b"R":
                        code, message_text, params = pickle.loads(body)  # noqa: S301
                        raise FileRefused(code, message_text, **params)
                    else:
                        raise WorkerFailed(body.decode(errors="replace"))
        finally:
            for connection in readers:
                connection.close()
            self._reap()

    def _reap(self) -> None:
        for pid in self.pids:
            try:
                if os.waitpid(pid, os.WNOHANG) == (0, 0):
                    os.kill(pid, signal.SIGTERM)
                    os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self.pids = []
