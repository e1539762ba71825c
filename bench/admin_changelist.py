"""Benchmark the alumni admin changelist on a big PostgreSQL database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alumni_bench \
        .venv/bin/python bench/admin_changelist.py [--alumni 1000000] [--seed 7] [--repeat 5]

Creates the database if it is missing, migrates, seeds ``--alumni`` people with ``seed_demo``
(or reuses them), then times GETs of /admin/alumni/person/ through django.test.Client for an
office-staff user and a college-staff user: the first page, a name search, pinyin and initials
searches, a student-ID search, a phone search and a filtered page. Server time is the time
Client.get() takes in this process (middleware, view, queries, template), with DEBUG off.
Prints a Markdown table; --explain also prints EXPLAIN ANALYZE of each page's slowest query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 300
# The development key from settings.py (DEBUG): data seeded by `make run` style commands and by
# this script then share lookup hashes. Set FIELD_ENCRYPTION_KEYS to use another.
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDA="


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alumni", type=int, default=1_000_000, help="people in the database (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7, help="seed_demo seed (default 7)")
    parser.add_argument("--repeat", type=int, default=5, help="timed GETs per page after one warm-up (default 5)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest query of each page")
    return parser.parse_args()


def configure() -> None:
    """Production settings (DEBUG off), made usable from a script: no HTTPS redirect, test host."""
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/alumni_bench")
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "alumni_portal.settings"
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("FIELD_ENCRYPTION_KEYS", DEV_FIELD_KEY)
    os.environ["DJANGO_SECURE_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("DJANGO_LOG_LEVEL", "ERROR")
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise, without collectstatic
    sys.path.insert(0, str(ROOT))
    create_database_if_missing(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.test.utils import override_settings

    # The manifest storage of production needs collectstatic first; URLs cost the same without it.
    override_settings(
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ).enable()


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
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
            if cursor.fetchone() is None:
                print(f"Creating database {config['NAME']}")
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(config["NAME"])))
    finally:
        connection.close()


def prepare(alumni: int, seed: int) -> None:
    from django.core.management import call_command

    from apps.alumni.models import Person

    call_command("migrate", interactive=False, verbosity=0)
    present = Person.objects.count()
    if present >= alumni:
        print(f"Reusing the {present:,} people already in the database.")
        return
    print(f"Seeding {alumni:,} alumni (seed {seed}); {present:,} present ...")
    started = time.perf_counter()
    call_command("seed_demo", alumni=alumni, seed=seed, demo_users=False)
    print(f"seed_demo took {time.perf_counter() - started:.1f} s in all (with statistics).")


def bench_users():
    """An office-staff user and a college-staff user of 计算机学院 (created once), each with a TOTP
    factor as production requires of staff (the middleware still checks for it on every page)."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from apps.accounts.models import Role, User
    from apps.accounts.services import role_assign
    from apps.alumni.demo.reference import COMPUTER_COLLEGE
    from apps.alumni.models import College

    college = College.objects.get(name=COMPUTER_COLLEGE)
    users = {}
    for email, role, binding in (
        ("bench-staff@bench.invalid", Role.OFFICE_STAFF, {}),
        ("bench-college@bench.invalid", Role.COLLEGE_STAFF, {"college": college}),
    ):
        user, _created = User.objects.get_or_create(email=email)
        role_assign(user=user, role=role, actor=None, **binding)
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, generate_totp_secret())
        users[role] = User.objects.get(pk=user.pk)
    return college, users


def pages(college) -> list[tuple[str, dict[str, str]]]:
    """The pages to time, with search terms taken from the data (so that they find people)."""
    from django.db.models import Count

    from apps.alumni.models import ContactChannel, Enrollment, Person
    from apps.core.names import pinyin_keys

    name = "张伟"
    if not Person.objects.filter(name=name).exists():
        name = Person.objects.values("name").annotate(n=Count("id")).order_by("-n").first()["name"]
    pinyin, initials = pinyin_keys(name)
    middle = (Enrollment.objects.order_by("-id").values_list("id", flat=True).first() or 0) // 2
    enrollment = Enrollment.objects.filter(college=college, id__gte=middle).order_by("id").first()
    phone = (
        ContactChannel.objects.filter(kind="mobile", person_id=enrollment.person_id)
        .values_list("value", flat=True)
        .first()
        or ContactChannel.objects.filter(kind="mobile", id__gte=middle).values_list("value", flat=True).first()
    )
    year = 2015
    return [
        ("first page", {}),
        (f"name `{name}`", {"q": name}),
        (f"pinyin `{pinyin}`", {"q": pinyin}),
        (f"initials `{initials}`", {"q": initials}),
        (f"student ID `{enrollment.student_id}`", {"q": enrollment.student_id}),
        (f"phone `{phone}`", {"q": phone}),
        (f"college + year {year}", {"college": str(college.pk), "graduation_year": str(year)}),
    ]


def measure(client, url: str, repeat: int, explain: bool) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(url)  # warm-up
    if response.status_code != 200:
        raise SystemExit(f"GET {url} answered {response.status_code}")
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    slowest = max(queries, default=(0.0, ""))
    result = {
        "median": statistics.median(timings),
        "p95": percentile(timings, 95),
        "queries": len(queries),
        "sql_ms": sum(t for t, _ in queries),
        "slowest_ms": slowest[0],
        "slowest_sql": slowest[1],
        "rows": rows_shown(response),
    }
    if explain and slowest[1]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[1])
            result["plan"] = "\n".join(row[0] for row in cursor.fetchall())
    return result


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rows_shown(response) -> str:
    changelist = (getattr(response, "context_data", None) or {}).get("cl")
    if changelist is None:
        return "?"
    shown = len(changelist.result_list)
    return f"{shown}{'+' if changelist.paginator.num_pages > 1 else ''}"


def main() -> None:
    args = parse_args()
    configure()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    prepare(args.alumni, args.seed)
    from apps.alumni.models import Person

    college, users = bench_users()
    people = Person.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        server = cursor.fetchone()[0]
    print(
        f"\n{people:,} people, PostgreSQL {server}, DEBUG={settings.DEBUG}, {os.cpu_count()} CPUs, "
        f"{args.repeat} timed GETs per page after a warm-up, {time.strftime('%Y-%m-%d')}\n"
    )
    print("| page | role | median ms | p95 ms | queries | SQL ms | slowest query ms | rows | target |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    details = []
    for label, params in pages(college):
        url = "/admin/alumni/person/" + (f"?{urlencode(params)}" if params else "")
        for role, user in users.items():
            client = Client()
            client.force_login(user)
            r = measure(client, url, args.repeat, args.explain)
            ok = "ok" if r["p95"] < TARGET_MS else f"**over {TARGET_MS} ms**"
            print(
                f"| {label} | {role} | {r['median']:.0f} | {r['p95']:.0f} | {r['queries']} | {r['sql_ms']:.0f} "
                f"| {r['slowest_ms']:.0f} | {r['rows']} | {ok} |",
                flush=True,
            )
            details.append((label, role, r))
    print("\nSlowest query per page:")
    for label, role, r in details:
        print(f"\n- {label} / {role} ({r['slowest_ms']:.0f} ms): {r['slowest_sql'][:600]}")
        if "plan" in r:
            print("\n```\n" + r["plan"] + "\n```")


if __name__ == "__main__":
    main()
