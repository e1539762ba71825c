"""manage.py import_alumni PATH [--dry-run] [--json] [--mapping JSON]"""

import json
import os
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.imports.services import import_file_run

HELP = """Import a roster (CSV in UTF-8, UTF-8 with BOM or GB18030/GBK, or XLSX) into the alumni records.

Rows are matched by student ID first, then by name and birth date (see apps/imports/pipeline/matching.py);
every valid row is written in one transaction, or nothing is. The upload size limit of the admin does not
apply here (IMPORT_COMMAND_MAX_BYTES, 0 = none).

--json prints one JSON object:
  {"created": n, "updated": n, "unchanged": n, "flagged": n, "errors": [{"row": r, "field": f, "message": m}]}
Row numbers are spreadsheet rows (the header is row 1). Exit status 0: the file was processed (bad rows
are listed in "errors", not fatal). Exit status 1: the file was refused as a whole (too large, not
CSV/XLSX, empty, a required column missing, a zip bomb ...); then "created" .. "flagged" are 0, "errors"
holds one entry per cause with "row": 1 and the missing field for a missing column, or "row": null and
"field": "" for the file as a whole, and one more key says why: "refused": {"code": c, "message": m}.

--dry-run classifies every row and reports the same counts, writing nothing at all (not even the
ImportJob record that a real run keeps, with source "command").
--mapping takes a JSON object mapping column headers to fields ("" ignores a column), e.g.
  --mapping '{"联系电话2": "landline", "备注": ""}'
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument("path", help="the CSV or XLSX file")
        parser.add_argument("--dry-run", action="store_true", help="classify and report, write nothing")
        parser.add_argument("--json", action="store_true", help="print one JSON object (see above)")
        parser.add_argument("--mapping", default="", help="JSON object: column header -> field name")

    def handle(self, *args, **options):
        as_json, dry_run = options["json"], options["dry_run"]
        if not os.path.isfile(options["path"]):
            raise CommandError(f"No such file: {options['path']}")
        try:
            mapping = _parse_mapping(options["mapping"])
            result = import_file_run(path=options["path"], dry_run=dry_run, mapping=mapping)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if result.refused is not None:
            self._refused(result.refused, result.missing_fields, as_json)
            sys.exit(1)
        outcome = result.outcome
        try:
            if as_json:
                self._print_json(outcome)
            else:
                self._print_summary(outcome, result.job, dry_run)
        finally:
            outcome.close()

    def _print_json(self, outcome) -> None:
        # Streamed: a file with many bad rows must not need its whole error list in memory twice.
        out = self.stdout
        counts = outcome.counts
        head = {k: counts[k] for k in ("created", "updated", "unchanged", "flagged")}
        out.write(_dumps(head)[:-1] + ', "errors": [', ending="")
        for index, problem in enumerate(outcome.errors):
            item = {"row": problem.row, "field": problem.field, "message": problem.message}
            out.write(("" if index == 0 else ", ") + _dumps(item), ending="")
        out.write("]}")

    def _print_summary(self, outcome, job, dry_run: bool) -> None:
        counts = outcome.counts
        prefix = "Dry run, nothing written: " if dry_run else f"Import job #{job.pk}: " if job else ""
        self.stdout.write(
            f"{prefix}{outcome.rows_total} rows: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged, {counts['flagged']} flagged for review, {counts['errors']} rejected."
        )
        if counts["created"] == 0 and counts["updated"] == 0 and counts["unchanged"] and not dry_run:
            self.stdout.write("Nothing changed: every row matches the records already held.")
        for index, problem in enumerate(outcome.errors):
            if index == 20:
                self.stdout.write(f"... and {outcome.errors.count - 20} more errors (use --json for all).")
                break
            self.stdout.write(f"  {problem.message}")
        for flagged in outcome.flagged[:20]:
            self.stdout.write(f"  Row {flagged['row']} flagged: {flagged['message']}")

    def _refused(self, refused, missing: list[str], as_json: bool) -> None:
        if not as_json:
            self.stderr.write(f"Refused: {refused.message}")
            return
        if missing:
            errors = [{"row": 1, "field": name, "message": refused.message} for name in missing]
        else:
            errors = [{"row": None, "field": "", "message": refused.message}]
        self.stdout.write(
            _dumps(
                {
                    "created": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "flagged": 0,
                    "errors": errors,
                    "refused": {"code": refused.code, "message": refused.message},
                }
            )
        )


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _parse_mapping(text: str):
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CommandError(f"--mapping is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise CommandError("--mapping must be a JSON object: column header -> field name")
    return value
