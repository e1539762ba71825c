"""manage.py match_list PATH [--json] [--kind K] [--year Y] [--source-url U] [--dry-run]"""

import json
import os
import sys

from django.core.management.base import BaseCommand, CommandError

from apps.alumni.models import Honour
from apps.matching.services import match_file_run

HELP = """Match a list of people (CSV in UTF-8, UTF-8 with BOM or GB18030/GBK, or XLSX; Chinese or English
headers) against the alumni records of the whole school.

Columns used when present: name, former names, gender, birth year or date, organisation, title,
university, degree, graduation and enrolment year, major, college, biography (years, school, degree,
major and college are read from it), honour and its year, source URL.

--json prints one JSON object, rows in file order, candidates best first:
  {"rows": [{"row": r, "band": "high" | "review" | "none",
             "candidates": [{"student_ids": [...], "score": s, "evidence": {...}}]}]}
Row numbers are spreadsheet rows (the header is row 1). "evidence" holds one entry per compared
feature with the values compared and its "points"; the score is their sum.
Exit status 0: the list was processed. Exit status 1: the file was refused as a whole (not CSV/XLSX,
empty, no name column, too many rows ...); with --json the object is then
  {"rows": [], "refused": {"code": c, "message": m}}.

The run is kept as a matching job (source "command") whose rows staff can review in the admin, and
decisions staff made on earlier runs of the same entries are carried over; --dry-run writes nothing.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        from argparse import RawDescriptionHelpFormatter

        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        return parser

    def add_arguments(self, parser):
        parser.add_argument("path", help="the CSV or XLSX list")
        parser.add_argument("--json", action="store_true", help="print one JSON object (see above)")
        parser.add_argument(
            "--kind",
            default=Honour.Kind.OTHER,
            choices=Honour.Kind.values,
            help="honour kind for rows whose list names none",
        )
        parser.add_argument("--year", type=int, default=None, help="honour year for rows whose list gives none")
        parser.add_argument("--source-url", default="", help="source URL for rows whose list gives none")
        parser.add_argument("--dry-run", action="store_true", help="match and print, write nothing")

    def handle(self, *args, **options):
        path = options["path"]
        if not os.path.isfile(path):
            raise CommandError(f"No such file: {path}")
        result = match_file_run(
            path=path,
            save=not options["dry_run"],
            honour_kind=options["kind"],
            honour_year=options["year"],
            source_url=options["source_url"],
        )
        if result.refused is not None:
            if options["json"]:
                refused = {"code": result.refused.code, "message": result.refused.message}
                self.stdout.write(_dumps({"rows": [], "refused": refused}))
            else:
                self.stderr.write(f"Refused: {result.refused.message}")
            sys.exit(1)
        if options["json"]:
            self._print_json(result.results)
        else:
            self._print_summary(result)

    def _print_json(self, results) -> None:
        out = self.stdout
        out.write('{"rows": [', ending="")
        for index, result in enumerate(results):
            item = {
                "row": result.row.row,
                "band": result.band,
                "candidates": [
                    {"student_ids": s.person.student_ids, "score": s.score, "evidence": s.evidence}
                    for s in result.candidates
                ],
            }
            out.write(("" if index == 0 else ", ") + _dumps(item), ending="")
        out.write("]}")

    def _print_summary(self, result) -> None:
        counts = {"high": 0, "review": 0, "none": 0}
        for row in result.results:
            counts[row.band] += 1
        prefix = f"Matching job #{result.job.pk}: " if result.job else "Dry run, nothing written: "
        self.stdout.write(
            f"{prefix}{len(result.results)} rows: {counts['high']} high confidence, {counts['review']} to review, "
            f"{counts['none']} without a match."
        )
        for row in result.results[:20]:
            best = row.candidates[0] if row.candidates else None
            shown = f"{best.person.name} {','.join(best.person.student_ids)} score {best.score}" if best else "-"
            self.stdout.write(f"  row {row.row.row} {row.row.name}: {row.band} ({shown})")


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)
