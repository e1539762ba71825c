"""Benchmark the person export: 120,000 alumni to CSV and XLSX on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alumni_bench_export \\
        .venv/bin/python bench/export_alumni.py [--alumni 120000] [--seed 3] [--repeat 3] [--skip-import-export]

Creates the database if it is missing, migrates, and seeds ``--alumni`` people with
``manage.py seed_demo --alumni N --seed S`` (idempotent: a second run reuses them). Then each
method runs ``--repeat`` times, every run in its own child process so that its peak RSS is its
own. Methods:

- ``csv`` / ``xlsx``: the export services the admin uses (``person_export_csv_stream`` consumed
  chunk by chunk as a streamed response is, ``person_export_xlsx`` to a temporary file), with the
  default columns (name, gender, birth date, student IDs, colleges, majors, classes, degree
  levels, enrolment and graduation years, province, city), audit row included;
- ``csv-wide`` / ``xlsx-wide``: the same plus mobile, email, employer, title and honours (two more
  queries per chunk), the shape of an office's contact list;
- ``openpyxl``: the default rows written with openpyxl's write-only mode instead of our XLSX
  writer, to show why apps/core/exporting.py writes SpreadsheetML itself;
- ``ie-csv`` / ``ie-xlsx``: django-import-export's ``ModelResource(Person).export()`` then
  ``base_formats.CSV/XLSX().export_data()``, as in PERFORMANCE.md section 6; a flat resource of the
  person table's own 13 columns (no enrolments: it would need a query per person for those).

Time is wall time inside the child from the first query to the last byte (Django start-up
excluded). Peak RSS is the child's ru_maxrss, start-up included (about 135 MB of it is Django and
its imports); "of which export" is the peak minus the RSS measured just before the export.
The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/alumni_bench_export"
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDA="
TARGETS = {"csv": 3.0, "xlsx": 20.0}
WIDE_EXTRA = ("mobile", "email", "employer", "job_title", "honours")
METHODS = ["csv", "xlsx", "csv-wide", "xlsx-wide", "openpyxl", "ie-csv", "ie-xlsx"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alumni", type=int, default=120_000, help="people to seed (default 120,000)")
    parser.add_argument("--seed", type=int, default=3, help="seed_demo seed (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (default 3)")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of: " + ", ".join(METHODS))
    parser.add_argument("--skip-import-export", action="store_true", help="leave out ie-csv and ie-xlsx (slow)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser.parse_args()


def environment() -> dict[str, str]:
    """Production settings (DEBUG off: no query log), usable from a script."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_URL)
    env["DJANGO_DEBUG"] = "0"
    env["DJANGO_SETTINGS_MODULE"] = "alumni_portal.settings"
    env.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    env.setdefault("FIELD_ENCRYPTION_KEYS", DEV_FIELD_KEY)
    env["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    env.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    env["PYTHONPATH"] = str(ROOT)
    return env


def create_database_if_missing(url: str) -> None:
    import environ
    import psycopg2
    from psycopg2 import sql

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        sys.exit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
    params = {"host": config["HOST"] or None, "port": config["PORT"] or None, "user": config["USER"] or None}
    if config.get("PASSWORD"):
        params["password"] = config["PASSWORD"]
    connection = psycopg2.connect(dbname="postgres", **params)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
            print(f"created database {config['NAME']}")
    connection.close()


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, check=True, cwd=ROOT)


# --- one measurement (child process) ---------------------------------------------------------


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str) -> None:
    import tempfile

    import django

    django.setup()
    from apps.alumni.exports import DEFAULT_FIELDS, export_header, export_rows
    from apps.alumni.models import Person
    from apps.dataservice import services

    fields = list(DEFAULT_FIELDS) + (list(WIDE_EXTRA) if method.endswith("-wide") else [])
    queryset = Person.objects.all()
    people = queryset.count()
    baseline = _rss_mb()
    started = time.perf_counter()
    if method.startswith("csv"):
        size = 0
        for chunk in services.person_export_csv_stream(actor=None, queryset=queryset, fields=fields, filters={}):
            size += len(chunk)  # what a streamed response hands to the server, chunk by chunk
        rows = people
    elif method.startswith("xlsx"):
        file, result = services.person_export_xlsx(actor=None, queryset=queryset, fields=fields, filters={})
        size, rows = result.size, result.rows
        file.close()
    elif method == "openpyxl":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Alumni")
        sheet.append(export_header(fields))
        for row in export_rows(queryset, fields):
            sheet.append(row)
        rows = people
        with tempfile.TemporaryFile() as handle:
            workbook.save(handle)
            size = handle.tell()
    else:
        from import_export import resources
        from import_export.formats import base_formats

        class PersonResource(resources.ModelResource):
            class Meta:
                model = Person
                fields = (
                    "id", "name", "former_names", "gender", "birth_date", "hometown_province", "hometown_city",
                    "country", "province", "city", "is_deceased", "created_at", "updated_at",
                )  # fmt: skip

        dataset = PersonResource().export(queryset=queryset.order_by("pk"))
        built = time.perf_counter()
        data = (base_formats.XLSX() if method == "ie-xlsx" else base_formats.CSV()).export_data(dataset)
        size, rows = len(data), len(dataset)
        print(json.dumps({"dataset_seconds": built - started}), file=sys.stderr)
    seconds = time.perf_counter() - started
    print(json.dumps({"method": method, "rows": rows, "seconds": seconds, "bytes": size,
                      "peak_rss_mb": _rss_mb(), "baseline_rss_mb": baseline}))  # fmt: skip


# --- the driver ------------------------------------------------------------------------------


def run(method: str, env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", method], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    args = parse_args()
    env = environment()
    if args.child:
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        child(args.child)
        return
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    create_database_if_missing(env["DATABASE_URL"])
    manage("migrate", "--noinput", "-v", "0", env=env)
    started = time.perf_counter()
    manage("seed_demo", "--alumni", str(args.alumni), "--seed", str(args.seed), env=env)
    print(f"seed_demo: {time.perf_counter() - started:.1f} s")

    methods = [m for m in args.methods.split(",") if m]
    if args.skip_import_export:
        methods = [m for m in methods if not m.startswith("ie-")]
    results: dict[str, list[dict]] = {}
    for method in methods:
        results[method] = []
        for attempt in range(args.repeat):
            figures = run(method, env)
            results[method].append(figures)
            print(
                f"{method:10} run {attempt + 1}: {figures['rows']:,} rows in {figures['seconds']:.2f} s "
                f"({figures['rows'] / figures['seconds']:,.0f} rows/s), peak RSS {figures['peak_rss_mb']:.0f} MB, "
                f"{figures['bytes'] / 1e6:.1f} MB file",
                flush=True,
            )

    load = os.getloadavg()
    print(f"\nload average while measuring: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs\n")
    print("| method | rows | median s | rows/s | runs (s) | peak RSS MB | of which export MB | file MB | target |")
    print("| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- |")
    for method, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        rows = runs[0]["rows"]
        target = TARGETS.get(method)
        verdict = f"< {target:g} s: {'met' if seconds < target else 'MISSED'}" if target else ""
        each = " / ".join(f"{r['seconds']:.2f}" for r in runs)
        peak = max(r["peak_rss_mb"] for r in runs)
        growth = max(r["peak_rss_mb"] - r["baseline_rss_mb"] for r in runs)
        print(
            f"| {method} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} | {each} | {peak:.0f} | {growth:.0f} | "
            f"{runs[0]['bytes'] / 1e6:.1f} | {verdict} |"
        )


if __name__ == "__main__":
    main()
