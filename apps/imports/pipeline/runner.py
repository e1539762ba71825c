"""One pipeline for the admin's jobs, the API feed and ``import_alumni``: stream, stage, classify, write.

``run_roster`` streams the file once (the parser is lazy), stages the valid rows, classifies them
against the database as it was, and — unless it is a dry run — writes everything inside the
caller's transaction. A dry run rolls its staging back and never creates anything, not even the
new majors and classes it reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from apps.imports.parsing import CANONICAL_FIELDS, open_roster

from . import matching as m
from .orm import OrmBackend
from .parallel import ShardedReader, can_shard
from .postgres import PostgresBackend
from .progress import Progress
from .report import REASON_HEADER, ROW_HEADER, ErrorSpool, ReportWriter
from .rows import CONTACT_KINDS, References, RowBuilder, StageError


@dataclass
class Outcome:
    """What a run found (and, for an apply, wrote)."""

    counts: dict[str, int]  # created, updated, unchanged, flagged, errors (rows)
    kinds: dict[str, int]  # new_person, new_enrollment, update, unchanged, flagged, error
    errors: ErrorSpool
    rows_total: int
    headers: list[str]
    mapping: dict[str, str]
    samples: dict[str, list[dict]] = field(default_factory=dict)
    flagged: list[dict] = field(default_factory=list)
    new_references: dict[str, list[dict]] = field(default_factory=dict)
    written: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase and per SQL statement kind
    report_path: Path | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON stored on the job as its preview or result."""
        return {
            "counts": self.counts,
            "kinds": self.kinds,
            "rows": self.rows_total,
            "headers": self.headers,
            "mapping": self.mapping,
            "creates": self.samples.get("creates", []),
            "updates": self.samples.get("updates", []),
            "flagged": self.flagged,
            "errors": [{"row": p.row, "field": p.field, "message": p.message} for p in self.errors.first],
            "new_references": self.new_references,
            "written": self.written,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }

    def close(self) -> None:
        self.errors.close()


def _parse_workers(roster) -> int:
    """How many processes read the file: several only for big plain CSV files on PostgreSQL."""
    workers = settings.IMPORT_PARSE_WORKERS
    if workers < 2 or connection.vendor != "postgresql" or not can_shard(roster):
        return 1
    if (roster.row_count_estimate or 0) < settings.IMPORT_PARALLEL_MIN_ROWS:
        return 1
    return workers


def backend_for_connection(fields: set[str] | None = None):
    if connection.vendor != "postgresql":
        return OrmBackend()
    if fields is None:
        return PostgresBackend()
    return PostgresBackend(
        contact_kinds=tuple(kind for kind in CONTACT_KINDS if kind in fields), with_notes="notes" in fields
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def run_roster(
    path: str | Path,
    *,
    original_name: str | None = None,
    mapping: dict[str, str] | None = None,
    dry_run: bool,
    actor_id: int | None = None,
    source: str = "import",
    audit_reason: str = "",
    progress: Progress | None = None,
    max_bytes: int | None = None,
    check_required: bool = True,
    with_report: bool = True,
    on_written: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Import (or, with ``dry_run``, only classify) one roster file; raises FileRefused for a refused file.

    An apply's writes and ``on_written`` (the job row's final update) share one transaction with
    everything else, so an exception anywhere leaves the database as it was.
    """
    roster = open_roster(path, original_name=original_name, mapping=mapping, max_bytes=max_bytes,
                         check_required=check_required)  # fmt: skip
    progress = progress or Progress(None, status="")
    progress.start(roster.row_count_estimate or 0)
    headers_by_field = {canonical: header for header, canonical in roster.mapping.items() if canonical}
    samples_limit = settings.IMPORT_PREVIEW_SAMPLES
    errors = ErrorSpool(keep=samples_limit)
    report = ReportWriter(list(roster.headers)) if with_report else None
    outcome = Outcome(
        counts={},
        kinds={},
        errors=errors,
        rows_total=0,
        headers=list(roster.headers),
        mapping=dict(roster.mapping),
    )
    rejected_rows = 0

    try:
        with transaction.atomic():
            references = References.load()
            builder = RowBuilder(references, headers_by_field)
            backend = backend_for_connection(set(headers_by_field))
            backend.begin()
            seen = 0

            def staged() -> Iterator[tuple]:
                nonlocal seen, rejected_rows
                for parsed in roster.rows():
                    seen += 1
                    progress.advance()
                    if parsed.errors:
                        rejected_rows += 1
                        for error in parsed.errors:
                            errors.add(error.row, error.field, error.message)
                        if report is not None:
                            report.rejected(parsed.row, parsed.raw, [e.message for e in parsed.errors])
                        continue
                    built = builder.build(parsed.row, parsed.values)
                    if isinstance(built, StageError):
                        rejected_rows += 1
                        errors.add(built.row, built.field, built.message)
                        if report is not None:
                            report.rejected(parsed.row, parsed.raw, [built.message])
                        continue
                    yield built

            clock = time.perf_counter()
            workers = _parse_workers(roster)
            if workers > 1:
                reader = ShardedReader(roster, references, headers_by_field, workers)
                rejected: list = []

                def texts() -> Iterator[str]:
                    nonlocal seen, rejected_rows
                    for batch in reader.batches():
                        seen += batch.rows
                        progress.advance(batch.rows)
                        rejected.extend(batch.rejected)
                        if batch.copy_text:
                            yield batch.copy_text

                backend.stage(texts(), formatted=True)
                # Workers report in batches, interleaved: put the rejected rows back in file order.
                for row, problems, raw in sorted(rejected, key=lambda item: item[0]):
                    rejected_rows += 1
                    for problem_row, field_name, message in problems:
                        errors.add(problem_row, field_name, message)
                    if report is not None:
                        report.rejected(row, raw, [message for _r, _f, message in problems])
                outcome.timings["parse workers"] = workers
            else:
                backend.stage(staged())
            outcome.timings["phase: read and stage"] = time.perf_counter() - clock
            outcome.rows_total = seen
            progress.total = seen
            progress.set_phase("matching")
            real = {} if dry_run else references.materialise()
            backend.resolve_placeholders(real, references.placeholder_names())
            outcome.new_references = references.new_reference_summary()
            clock = time.perf_counter()
            backend.classify()
            kinds = backend.counts()
            outcome.kinds = {
                k: kinds.get(k, 0) for k in (m.NEW_PERSON, m.NEW_ENROLLMENT, m.UPDATE, m.UNCHANGED, m.FLAGGED, m.ERROR)
            }
            _collect_problems(backend, outcome, headers_by_field, report, samples_limit)
            outcome.counts = {
                "created": kinds.get(m.NEW_PERSON, 0) + kinds.get(m.NEW_ENROLLMENT, 0),
                "updated": kinds.get(m.UPDATE, 0),
                "unchanged": kinds.get(m.UNCHANGED, 0),
                "flagged": kinds.get(m.FLAGGED, 0),
                "errors": rejected_rows + kinds.get(m.ERROR, 0),
            }
            outcome.samples = backend.samples(samples_limit)
            if report is not None:
                outcome.report_path = report.save()
            outcome.timings["phase: classify and report"] = time.perf_counter() - clock
            if dry_run:
                outcome.timings.update({f"sql: {k}": v for k, v in backend.timings.items()})
                transaction.set_rollback(True)
            else:
                progress.set_phase("writing")
                clock = time.perf_counter()
                outcome.written = backend.write(
                    actor_id=actor_id,
                    source=source,
                    audit_reason=audit_reason,
                    bulk_min_rows=settings.IMPORT_BULK_LOAD_MIN_ROWS,
                )
                outcome.timings["phase: write"] = time.perf_counter() - clock
                outcome.timings.update({f"sql: {k}": v for k, v in backend.timings.items()})
                progress.done = seen
                progress.set_phase("committing")
                progress.close()
                if on_written is not None:
                    on_written(outcome)
    except BaseException:
        errors.close()
        if outcome.report_path is not None:
            outcome.report_path.unlink(missing_ok=True)
        raise
    finally:
        progress.close()
    return outcome


def _collect_problems(backend, outcome: Outcome, headers_by_field: dict[str, str], report, limit: int) -> None:
    """Rows the classification rejected or flagged: into the error list, the preview and the report."""
    for row, reason, detail, student_id, name, birth, college in backend.problem_rows(m.ERROR):
        field_name = m.ERROR_FIELDS.get(reason, "")
        problem = m.reason_text(reason, detail=detail, student_id=student_id, name=name)
        message = m.row_message(row, headers_by_field.get(field_name, ""), problem)
        outcome.errors.add(row, field_name, message)
        if report is not None:
            cells = {
                headers_by_field[f]: _iso(v)
                for f, v in (("student_id", student_id), ("name", name), ("birth_date", birth), ("college", college))
                if f in headers_by_field and v is not None
            }
            report.rejected(row, cells, [message])
    flagged_iter = backend.problem_rows(m.FLAGGED)
    first = True
    for row, reason, detail, student_id, name, birth, college in flagged_iter:
        problem = m.reason_text(reason, detail=detail, student_id=student_id, name=name)
        if report is not None:
            if first:
                report.flagged_sheet(
                    [
                        str(CANONICAL_FIELDS["student_id"]),
                        str(CANONICAL_FIELDS["name"]),
                        str(CANONICAL_FIELDS["birth_date"]),
                        str(CANONICAL_FIELDS["college"]),
                        ROW_HEADER,
                        REASON_HEADER,
                    ]
                )
                first = False
            report.flagged([student_id, name, _iso(birth), college, row, problem])
        if len(outcome.flagged) < limit:
            outcome.flagged.append(
                {
                    "row": row,
                    "student_id": student_id,
                    "name": name,
                    "birth_date": _iso(birth),
                    "college": college,
                    "reason": reason,
                    "message": problem,
                    "person": detail if reason in (m.PARTIAL, m.STUDENT_ID_CONFLICT) else None,
                }
            )
