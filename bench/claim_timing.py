"""Does a claim's answer time tell whether it matched? Latency of POST /api/v1/claims/ per outcome.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alumni_bench_claims \
        .venv/bin/python bench/claim_timing.py [--samples 200]

Use an empty scratch database (the script migrates it and adds its own rows; it never deletes
anything). For each of the six outcomes (no match, wrong birth date, several matches, match
without a verified contact, record already linked, match with a verified contact) it sends
``--samples`` claims in-process through Django's test client, interleaving the outcomes so that
machine noise falls on all of them alike, each from a fresh account. The code itself goes out
from a Celery task after commit; as with a real broker, the request only enqueues it (the
enqueue is stubbed to a list append, the same for every outcome). Rate limits are lifted for the
run. Prints median, p90 and mean per outcome, and the largest gap between medians (goal G2 in
shared/SECURITY.md: under 10 ms).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alumni_portal.settings_test")

OUTCOMES = ["no_match", "wrong_birth_date", "ambiguous", "no_contact", "already_linked", "matched"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to an empty scratch PostgreSQL database.")

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.test.utils import setup_test_environment

    setup_test_environment()  # allows the test client's testserver host
    call_command("migrate", verbosity=0)

    from apps.accounts import tasks
    from apps.accounts.models import User
    from apps.alumni import services
    from apps.alumni.models import College, ContactChannel, Enrollment, Person

    run = int(time.time())
    birth = date(1990, 5, 1)
    college, _ = College.objects.get_or_create(code=f"B{run % 100000}", defaults={"name": f"基准学院{run}"})

    def record(name, student_id, *, birth_date=birth, verified=True, user=None):
        person = Person(name=name, birth_date=birth_date, user=user)
        services.person_derive(person)
        person.save()
        Enrollment.objects.create(
            person=person, student_id=student_id, college=college, enrollment_year=2008, graduation_year=2012
        )
        status = ContactChannel.Status.VERIFIED if verified else ContactChannel.Status.UNVERIFIED
        contact = ContactChannel(person=person, kind="mobile", value="13900139000", status=status)
        services.contact_derive(contact)
        contact.save()

    given = {}
    for n, outcome in enumerate(OUTCOMES):
        name, sid = f"基准{run}{outcome}", f"B{run}{n:02d}"
        given[outcome] = {"name": name, "birth_date": birth.isoformat(), "student_id": sid}
        if outcome == "wrong_birth_date":
            record(name, sid, birth_date=date(1991, 2, 3))
        elif outcome == "ambiguous":
            record(name, sid + "A")
            record(name, sid + "B")
            given[outcome] = {
                "name": name,
                "birth_date": birth.isoformat(),
                "college": college.code,
                "graduation_year": 2012,
            }
        elif outcome == "no_contact":
            record(name, sid, verified=False)
        elif outcome == "already_linked":
            record(name, sid, user=User.objects.create_user(email=f"owner{run}@bench.example"))
        elif outcome == "matched":
            record(name, sid)

    queued: list[int] = []
    tasks.claim_code_send_task.delay = queued.append  # what a broker enqueue does, at list cost
    timings: dict[str, list[float]] = {outcome: [] for outcome in OUTCOMES}
    with override_settings(ACCOUNT_RATE_LIMITS={"claim_start": "", "claim_confirm": ""}):
        for i in range(args.samples + 5):
            for outcome in OUTCOMES:
                user = User.objects.create_user(email=f"claimant{run}-{i}-{outcome}@bench.example")
                client = Client()
                client.force_login(user)
                started = time.perf_counter()
                response = client.post("/api/v1/claims/", given[outcome], content_type="application/json")
                elapsed = time.perf_counter() - started
                if response.status_code != 202:
                    sys.exit(f"claim refused: {response.status_code} {response.content[:200]!r}")
                if i >= 5:  # the first rounds warm caches and connections
                    timings[outcome].append(elapsed * 1000)

    print(f"{args.samples} claims per outcome, in-process, {len(queued)} code tasks enqueued")
    print(f"{'outcome':<18}{'median ms':>10}{'p90 ms':>10}{'mean ms':>10}")
    medians = {}
    for outcome, values in timings.items():
        values.sort()
        medians[outcome] = statistics.median(values)
        p90 = values[int(len(values) * 0.9) - 1]
        print(f"{outcome:<18}{medians[outcome]:>10.2f}{p90:>10.2f}{statistics.fmean(values):>10.2f}")
    gap = max(medians.values()) - min(medians.values())
    print(f"largest gap between medians: {gap:.2f} ms (goal < 10 ms)")


if __name__ == "__main__":
    main()
