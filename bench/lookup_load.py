"""Load test of the directory search API against 1,000,000 alumni, beside a trivial DRF view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alumni_bench_lookup \
        .venv/bin/python bench/lookup_load.py [--duration 20] [--connections 16] [--workers 3]

What it does (see bench/lookup_load.md for the figures and their reading):

1. Prepares the database (idempotent): migrates; seeds ``--alumni`` people with ``seed_demo`` if
   fewer are there (about 6-9 minutes for a million); adds chapters and active memberships for a
   fifth of the people (the seed has none), so "my chapters" privacy really is computed; links
   ``--viewers`` listed people with a class (and, for most, a chapter) to portal accounts and
   signs each in (a database session, as a browser would hold).
2. Starts gunicorn (``--workers`` sync workers, production settings: DEBUG off, a throwaway secret
   key, FIELD_ENCRYPTION_KEYS set, ALLOWED_HOSTS 127.0.0.1, no SSL redirect) bound to 127.0.0.1
   only. Rate limits are lifted through the settings' environment variables (empty rates), not
   by code.
3. For each scenario, ``--connections`` client threads (spread over two processes) send requests
   for ``--duration`` seconds in all, in ``--rounds`` slices that take turns with the other
   scenarios (so a change in the shared machine's load falls on all of them alike), after a short
   warm-up, and record each latency: ``ping`` is
   ``GET /api/v1/ping/`` (a trivial DRF view), ``privacy`` (optional) is ``GET /api/v1/me/privacy/``
   (a trivial view behind the same sign-in), ``directory`` is ``GET /api/v1/directory/`` with a
   mix of queries drawn from the data: full names, surnames, full pinyin, initials, and
   college + graduation year. Every directory request is a verified alumnus's page-1 lookup with
   all privacy rules applied and one lookup counted in LookupStat.
4. Prints requests/s, p50, p95 and p99 for each, the CPU time the gunicorn workers and their
   PostgreSQL backends spent per request (read from /proc: the cost of a request whatever else
   the machine runs), the ratios, and checks that every lookup was counted. ``--explain`` first
   times each kind of lookup in-process with the search's planning and execution time.

Only loopback sockets are used; gunicorn is stopped at the end (by its pid).
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
PY = sys.executable
BENCH_DOMAIN = "bench.invalid"
CHAPTERS = 40
# seed_demo (run with DEBUG on) encrypts ID numbers with the development key; the server must read them.
FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LWNoYW5nZS1tZS0wMDA="
# Sessions are signed with the secret key, so the preparing process and the server share one
# throwaway key per run.
SECRET_KEY = "bench-" + secrets.token_urlsafe(40)


def _django(database_url: str):
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alumni_portal.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # the preparing process only; the server runs with DEBUG off
    os.environ["DJANGO_SECRET_KEY"] = SECRET_KEY
    import django

    django.setup()


def prepare(args) -> dict:
    """Migrate, seed, add chapters and memberships, create signed-in viewers; returns what the load needs."""
    _django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from apps.alumni.models import Enrollment, Person

    have = Person.objects.count()
    if have < args.alumni:
        print(f"seeding {args.alumni:,} alumni (have {have:,}) ...", flush=True)
        call_command("seed_demo", alumni=args.alumni, seed=args.seed, no_demo_users=True)
    _chapters(connection)
    viewers = _viewers(args.viewers)
    sessions = _sessions(viewers)
    queries = _queries(connection, Enrollment)
    print(
        f"database: {Person.objects.count():,} people, {Person.objects.filter(show_in_directory=True).count():,} "
        f"listed; {len(viewers)} viewers; {len(queries)} distinct queries",
        flush=True,
    )
    return {"sessions": sessions, "queries": queries}


def _chapters(connection) -> None:
    from apps.chapters.models import Chapter, ChapterMembership

    if ChapterMembership.objects.exists():
        return
    print("adding chapters and memberships for a fifth of the people ...", flush=True)
    cities = ["北京", "上海", "深圳", "广州", "杭州", "成都", "武汉", "西安", "南京", "悉尼", "硅谷", "新加坡"]
    chapters = [
        Chapter.objects.get_or_create(name=f"压测校友会{n:02d}", defaults={"city": cities[n % len(cities)]})[0]
        for n in range(CHAPTERS)
    ]
    ids = [c.pk for c in chapters]
    with connection.cursor() as cursor:
        # Every fifth person is in one chapter; one in fifty of those left it (not a chapter-mate any more).
        cursor.execute(
            """
            INSERT INTO chapters_chaptermembership
                   (created_at, updated_at, chapter_id, person_id, role, joined_on, left_on)
            SELECT now(), now(), (%s::bigint[])[1 + (p.id / 5) %% %s], p.id, 'member', NULL,
                   CASE WHEN p.id %% 250 = 0 THEN DATE '2020-01-01' END
              FROM alumni_person p WHERE p.id %% 5 = 0
            """,
            [ids, len(ids)],
        )
        cursor.execute("ANALYZE chapters_chaptermembership")


def _viewers(count: int) -> list:
    """Listed people with a class, most of them chapter members, linked to bench accounts."""
    from django.db.models import Exists, OuterRef
    from django.db.models.functions import Mod

    from apps.accounts.models import User
    from apps.alumni.models import Enrollment, Person

    existing = list(Person.objects.filter(user__email__endswith=f"@{BENCH_DOMAIN}").select_related("user"))
    if len(existing) >= count:
        return existing[:count]
    with_class = Exists(Enrollment.objects.filter(person=OuterRef("pk"), school_class__isnull=False))
    candidates = (
        Person.objects.filter(with_class, show_in_directory=True, is_deceased=False, user__isnull=True)
        .filter(pk__gt=1000)
        .order_by("pk")
    )
    members = candidates.annotate(m=Mod("pk", 5)).filter(m=0)  # every fifth person is in a chapter
    chosen = list(members[: count * 4 // 5])
    chosen += list(candidates.exclude(pk__in=[p.pk for p in chosen])[: count - len(chosen)])
    for person in chosen[: count - len(existing)]:
        user = User.objects.create_user(email=f"viewer{person.pk}@{BENCH_DOMAIN}", password=secrets.token_urlsafe())
        person.user = user
        person.save(update_fields=["user"])
        existing.append(person)
    return existing[:count]


def _sessions(viewers) -> list[str]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    keys = []
    for person in viewers:
        store = SessionStore()
        store[SESSION_KEY] = str(person.user.pk)
        store[BACKEND_SESSION_KEY] = "apps.portal.backends.ModelBackend"
        store[HASH_SESSION_KEY] = person.user.get_session_auth_hash()
        store.set_expiry(6 * 3600)
        store.save()
        keys.append(store.session_key)
    return keys


def _queries(connection, enrollment_model) -> list[dict]:
    """A mix drawn from the listed people: 30% full names, 10% surnames, 20% full pinyin,
    10% initials, 30% college + graduation year."""
    rng = random.Random(7)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, name_pinyin, name_initials FROM alumni_person TABLESAMPLE SYSTEM (1) REPEATABLE (7) "
            "WHERE show_in_directory AND NOT is_deceased LIMIT 600"
        )
        people = cursor.fetchall()
        cursor.execute(
            "SELECT college_id, graduation_year FROM alumni_enrollment TABLESAMPLE SYSTEM (1) REPEATABLE (7) "
            "WHERE graduation_year IS NOT NULL LIMIT 300"
        )
        pairs = cursor.fetchall()
    queries = []
    for n in range(1000):
        roll = rng.random()
        name, pinyin, initials = people[n % len(people)]
        if roll < 0.3:
            queries.append({"q": name})
        elif roll < 0.4:
            queries.append({"q": name[0]})
        elif roll < 0.6:
            queries.append({"q": pinyin})
        elif roll < 0.7:
            queries.append({"q": initials})
        else:
            college, year = pairs[n % len(pairs)]
            queries.append({"college": college, "year": year})
    return queries


# --- server ----------------------------------------------------------------------------------
def start_server(args) -> subprocess.Popen:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(BASE_DIR)),
        "DJANGO_SETTINGS_MODULE": "alumni_portal.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "FIELD_ENCRYPTION_KEYS": FIELD_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": args.database_url,
        "DJANGO_LOG_LEVEL": "ERROR",
        # Rate limits lifted for the load test (empty rate = no limit), through settings only.
        "API_THROTTLE_ANON": "",
        "API_THROTTLE_USER": "",
        "PORTAL_DIRECTORY_THROTTLE": "",
    }
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    command = [
        str(Path(PY).parent / "gunicorn"),
        "alumni_portal.wsgi:application",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--backlog",
        "256",
        "--access-logfile",
        "/dev/null",
        "--error-logfile",
        "-",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=2)
            connection.request("GET", "/api/v1/ping/")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    raise SystemExit("gunicorn did not answer within 30 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


# --- server CPU --------------------------------------------------------------------------------
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _server_pids(server: subprocess.Popen) -> list[tuple[str, int]]:
    """The gunicorn workers and the PostgreSQL backends serving the benchmark database."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == server.pid:
                pids.append(("web", int(entry.name)))
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        pids += [("db", row[0]) for row in cursor.fetchall()]
    return pids


def _cpu_snapshot(server) -> dict[tuple[str, int], float]:
    return {key: _cpu_seconds(key[1]) for key in _server_pids(server)}


# --- load ------------------------------------------------------------------------------------
def _client_process(port, paths, cookies, threads, warmup, duration, out) -> None:
    start_at = time.monotonic() + 0.2
    measure_from, stop_at = start_at + warmup, start_at + warmup + duration
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    total = [0]
    lock = threading.Lock()

    def run(seed: int) -> None:
        rng = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, codes, sent = [], {}, 0
        while time.monotonic() < start_at:
            time.sleep(0.001)
        while True:
            now = time.monotonic()
            if now >= stop_at:
                break
            path = paths[rng.randrange(len(paths))]
            headers = {"Accept": "application/json"}
            if cookies:
                headers["Cookie"] = f"sessionid={cookies[rng.randrange(len(cookies))]}"
            began = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    connection.close()
            except (OSError, http.client.HTTPException):
                connection.close()
                status = 0
            elapsed = time.perf_counter() - began
            sent += 1
            if now >= measure_from:
                mine.append(elapsed)
                codes[status] = codes.get(status, 0) + 1
        with lock:
            total[0] += sent
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    workers = [threading.Thread(target=run, args=(os.getpid() * 1000 + i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((latencies, statuses, total[0]))


def measure(args, paths: list[str], cookies: list[str], server, *, seconds: float, warmup: float) -> dict:
    """One slice of load: latencies of the measured requests, statuses, requests sent in all, server CPU."""
    processes = max(1, min(args.client_processes, args.connections))
    per_process = [
        args.connections // processes + (1 if i < args.connections % processes else 0) for i in range(processes)
    ]
    out = multiprocessing.Queue()
    children = [
        multiprocessing.Process(target=_client_process, args=(args.port, paths, cookies, n, warmup, seconds, out))
        for n in per_process
    ]
    cpu_before = _cpu_snapshot(server)
    for child in children:
        child.start()
    raw = {"latencies": [], "statuses": {}, "sent": 0, "seconds": seconds, "web": 0.0, "db": 0.0}
    for _ in children:
        got, codes, all_sent = out.get(timeout=warmup + seconds + 120)
        raw["sent"] += all_sent
        raw["latencies"].extend(got)
        for code, n in codes.items():
            raw["statuses"][code] = raw["statuses"].get(code, 0) + n
    for child in children:
        child.join()
    for key, after in _cpu_snapshot(server).items():
        raw[key[0]] += after - cpu_before.get(key, 0.0)
    return raw


def summarise(name: str, slices: list[dict]) -> dict:
    latencies = sorted(x for raw in slices for x in raw["latencies"])
    statuses: dict[int, int] = {}
    for raw in slices:
        for code, n in raw["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    count, seconds, sent = len(latencies), sum(r["seconds"] for r in slices), sum(r["sent"] for r in slices)
    web, db = sum(r["web"] for r in slices), sum(r["db"] for r in slices)

    def pct(p: float) -> float:
        return latencies[min(count - 1, int(p * count))] * 1000 if count else float("nan")

    result = {
        "scenario": name,
        "requests": count,
        "rps": count / seconds,
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) * 1000 if count else float("nan"),
        "statuses": statuses,
        # CPU of the gunicorn workers and their PostgreSQL backends per request (warm-ups included):
        # the cost of a request whatever else the shared machine is doing.
        "cpu_ms": (web + db) / sent * 1000 if sent else float("nan"),
        "web_cpu_ms": web / sent * 1000 if sent else float("nan"),
        "db_cpu_ms": db / sent * 1000 if sent else float("nan"),
    }
    print(
        f"{name:10s} {result['rps']:8.0f} req/s   p50 {result['p50']:6.1f} ms   p95 {result['p95']:6.1f} ms   "
        f"p99 {result['p99']:6.1f} ms   server CPU {result['cpu_ms']:5.2f} ms/request "
        f"(web {result['web_cpu_ms']:.2f} + db {result['db_cpu_ms']:.2f})   "
        f"({count:,} requests, statuses {statuses})",
        flush=True,
    )
    return result


def explain(args) -> None:
    """In-process: each kind of lookup once through the selector, with the queries it ran and the
    server's planning and execution time of its search statement (EXPLAIN ANALYZE)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from apps.alumni.models import Enrollment, Person
    from apps.portal import selectors
    from apps.portal.selectors import DirectoryQuery

    viewer = Person.objects.filter(user__email__endswith=f"@{BENCH_DOMAIN}").first()
    degree = (
        Enrollment.objects.filter(person__show_in_directory=True, school_class__isnull=False)
        .values("college_id", "graduation_year", "school_class_id")
        .first()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT city FROM alumni_person WHERE show_in_directory AND city <> '' GROUP BY city ORDER BY count(*) DESC"
            " LIMIT 1"
        )
        city = cursor.fetchone()[0]
        cursor.execute(
            "SELECT organisation FROM alumni_employment WHERE end_date IS NULL GROUP BY organisation"
            " ORDER BY count(*) DESC LIMIT 1"
        )
        employer = cursor.fetchone()[0][:2]
    cases = {
        "name 张伟": DirectoryQuery(q="张伟"),
        "surname 张": DirectoryQuery(q="张"),
        "pinyin zhangwei": DirectoryQuery(q="zhangwei"),
        "initials zw": DirectoryQuery(q="zw"),
        "initials zw, page 5": DirectoryQuery(q="zw", page=5),
        "college + year": DirectoryQuery(college_id=degree["college_id"], graduation_year=degree["graduation_year"]),
        "class": DirectoryQuery(class_id=degree["school_class_id"]),
        f"city {city}": DirectoryQuery(city=city),
        f"employer {employer}…": DirectoryQuery(employer=employer),
        "name 王 + college": DirectoryQuery(q="王", college_id=degree["college_id"]),
    }
    header = ("lookup", "rows", "queries", "selector ms", "search plan ms", "search run ms")
    print(f"{header[0]:22s} {header[1]:>4s} {header[2]:>7s} {header[3]:>11s} {header[4]:>14s} {header[5]:>13s}")
    for label, query in cases.items():
        selectors.directory_search(viewer, query)  # warm
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            page = selectors.directory_search(viewer, query)
            took = (time.perf_counter() - began) * 1000
        # The prepared search of this query's shape (employer searches run unprepared, without JIT).
        search = next(
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].startswith(("EXECUTE portal_shape_", "SELECT p.id", "SELECT id FROM"))
        )
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE) " + search)
            lines = [row[0] for row in cursor.fetchall()]
        plan = next((line.split(":")[1].strip() for line in lines if line.startswith("Planning Time")), "?")
        run = next((line.split(":")[1].strip() for line in lines if line.startswith("Execution Time")), "?")
        print(
            f"{label:22s} {len(page.entries):4d} {len(captured.captured_queries):7d} {took:11.1f} "
            f"{plan.replace(' ms', ''):>14s} {run.replace(' ms', ''):>13s}"
        )


def _lookups_counted() -> int:
    from django.db.models import Sum

    from apps.portal.models import LookupStat

    return LookupStat.objects.aggregate(n=Sum("count"))["n"] or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--alumni", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--duration", type=float, default=24, help="measured seconds per scenario (max 30)")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--rounds", type=int, default=4, help="slices per scenario, taking turns")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--explain", action="store_true", help="also time each kind of lookup in-process")
    parser.add_argument(
        "--scenarios",
        default="ping,directory",
        help="comma-separated: ping, directory, privacy (a trivial view behind the same sign-in as the directory)",
    )
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL (or --database-url) to a PostgreSQL database for the benchmark.")
    args.duration = min(args.duration, 30)

    data = prepare(args)
    if args.explain:
        explain(args)
    paths = {
        "ping": ["/api/v1/ping/"],
        "privacy": ["/api/v1/me/privacy/"],
        "directory": [f"/api/v1/directory/?{urlencode(q)}" for q in data["queries"]],
    }
    cookies = {"ping": [], "privacy": data["sessions"], "directory": data["sessions"]}
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 vCPUs shared)", flush=True)
    server = start_server(args)
    names = args.scenarios.split(",")
    slices: dict[str, list[dict]] = {name: [] for name in names}
    counted = _lookups_counted()
    try:
        # Scenarios take turns in short slices, so a change in what else the shared machine runs
        # falls on all of them alike.
        for round_number in range(args.rounds):
            for name in names:
                slices[name].append(
                    measure(
                        args,
                        paths[name],
                        cookies[name],
                        server,
                        seconds=args.duration / args.rounds,
                        warmup=args.warmup if round_number == 0 else 1,
                    )
                )
    finally:
        stop_server(server)
    results = {name: summarise(name, slices[name]) for name in names}
    if "directory" in results:
        # Warm-up requests are counted too, so at least every measured 200 must be.
        ok = results["directory"]["statuses"].get(200, 0)
        print(f"lookups counted: {_lookups_counted() - counted:,} (measured 200 responses: {ok:,})", flush=True)
    if "ping" in results and "directory" in results:
        ratio = results["directory"]["rps"] / results["ping"]["rps"]
        print(
            f"directory / ping throughput: {ratio:.2f} (target >= 0.25); "
            f"directory p95 {results['directory']['p95']:.1f} ms (target < 50 ms)",
            flush=True,
        )
        cost = results["directory"]["cpu_ms"] / results["ping"]["cpu_ms"]
        print(
            f"server CPU per request: directory {results['directory']['cpu_ms']:.2f} ms, "
            f"ping {results['ping']['cpu_ms']:.2f} ms; ping / directory = {1 / cost:.2f}",
            flush=True,
        )
    load = os.getloadavg()
    print(f"load average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)


if __name__ == "__main__":
    main()
