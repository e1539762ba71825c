"""Mass mailing through the outbox: N personalised emails, a real Celery worker on Redis, an SMTP sink.

    createdb -h 127.0.0.1 -U postgres alumni_bench_mail
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/alumni_bench_mail REDIS_URL=redis://127.0.0.1:6379/5 \
        .venv/bin/python bench/send_mail.py --people 100000 --concurrency 2

What it does: migrates the database, makes sure N alumni of a "BENCH" college with one verified
email each exist (bulk inserts, reused by later runs), starts an aiosmtpd sink on loopback and a
prefork Celery worker (its own queue), test-sends a placeholder-filled message, sends it to the
segment and waits until the message is done. It prints the phases, messages per second, and
checks at the sink that every recipient got exactly one email (and no Message-ID arrived twice).
Everything stays on 127.0.0.1. Use a database of its own: the script writes people into it.
"""

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _env(queue: str, sink_url: str, args) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "alumni_portal.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        "FIELD_ENCRYPTION_KEYS": os.environ.get(
            "FIELD_ENCRYPTION_KEYS", "YmVuY2gtb25seS1maWVsZC1rZXktMDAwMDAwMDAwMDA="
        ),
        "NOTIFICATIONS_QUEUE": queue,
        "NOTIFICATIONS_EMAIL_URL": sink_url,
        "NOTIFICATIONS_EMAIL_RATE": str(args.rate),
        "NOTIFICATIONS_BATCH_SIZE": str(args.batch),
        "NOTIFICATIONS_SEND_SLOTS": str(args.concurrency),
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def _seed(people: int) -> int:
    """N alumni of the BENCH college with one verified email each; returns how many were added."""
    from django.db import transaction
    from django.utils import timezone

    from apps.alumni.models import College, ContactChannel, Enrollment, Person

    college, _ = College.objects.get_or_create(code="BENCH", defaults={"name": "基准测试学院"})
    have = Enrollment.objects.filter(college=college).count()
    missing = max(0, people - have)
    now = timezone.now()
    step = 5000
    for start in range(have, have + missing, step):
        count = min(step, have + missing - start)
        with transaction.atomic():
            batch = Person.objects.bulk_create(
                [
                    Person(
                        name=f"测试校友{start + i:06d}",
                        name_pinyin=f"ceshixiaoyou{start + i}",
                        province="北京",
                        city="北京",
                    )
                    for i in range(count)
                ]
            )
            Enrollment.objects.bulk_create(
                [
                    Enrollment(
                        person=p,
                        student_id=f"BENCH{p.pk:010d}",
                        degree_level="bachelor",
                        college=college,
                        graduation_year=2015,
                    )
                    for p in batch
                ]
            )
            ContactChannel.objects.bulk_create(
                [
                    ContactChannel(
                        person=p,
                        kind="email",
                        value=f"bench{p.pk}@example.com",
                        value_normalised=f"bench{p.pk}@example.com",
                        status="verified",
                        verified_at=now,
                        source="bench",
                    )
                    for p in batch
                ]
            )
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (= parallel senders)")
    parser.add_argument("--batch", type=int, default=200, help="rows claimed per batch")
    parser.add_argument("--rate", type=float, default=0, help="messages per second in all (0 = unlimited)")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        sys.exit("set DATABASE_URL (a PostgreSQL database of its own) and REDIS_URL")

    from tests.notifications.smtp_sink import SmtpSink

    sink = SmtpSink().start()
    queue = f"bench-mail-{uuid.uuid4().hex[:8]}"
    env = _env(queue, sink.url, args)
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from alumni_portal.celery import app
    from apps.accounts.models import User
    from apps.alumni.models import College
    from apps.notifications import services
    from apps.notifications.models import Message, Segment

    call_command("migrate", verbosity=0)
    t = time.perf_counter()
    added = _seed(args.people)
    print(f"people: {args.people:,} in the BENCH college ({added:,} added in {time.perf_counter() - t:.1f} s)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    sender, _ = User.objects.get_or_create(
        email="bench-sender@example.edu", defaults={"is_superuser": True, "is_staff": True}
    )
    college = College.objects.get(code="BENCH")
    segment, _ = Segment.objects.get_or_create(
        name="bench: BENCH college",
        defaults={"created_by": sender, "filters": [{"kind": "enrollment", "params": {"colleges": [college.pk]}}]},
    )
    message = services.message_save(
        message=Message(
            name=f"bench {time.strftime('%Y-%m-%d %H:%M')}",
            segment=segment,
            channel="email",
            category="news",
            subject_zh="{{ name }}校友：校庆邀请",
            text_zh="亲爱的{{ name }}（{{ college }} {{ graduation_year }}届）：\n\n诚邀您回母校参加校庆活动。",
            html_zh="<p>亲爱的{{ name }}（{{ college }} {{ graduation_year }}届）：</p>"
            "<p>诚邀您回母校参加校庆活动。</p>",
        ),
        actor=sender,
    )

    log_path = ROOT / "var" / "bench-send-mail-worker.log"
    log_path.parent.mkdir(exist_ok=True)
    command = [
        str(Path(sys.executable).with_name("celery")),
        *("-A", "alumni_portal", "worker", "--pool=prefork", f"--concurrency={args.concurrency}", "-Q", queue),
        *("-n", f"{queue}@%h", "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        time.sleep(3)  # the worker connects to Redis
        services.message_test_send(message=message, actor=sender, addresses=["bench-test@example.edu"])
        message.refresh_from_db()
        before = sink.messages
        started = time.perf_counter()
        services.message_send_now(message=message, actor=sender)
        sending_at = first_mail_at = None
        last_print = 0.0
        while True:
            message.refresh_from_db()
            now = time.perf_counter()
            if sending_at is None and message.status != Message.Status.QUEUED:
                sending_at = now
            if first_mail_at is None and sink.messages > before:
                first_mail_at = now
            if now - last_print >= 10:
                last_print = now
                print(f"  {now - started:6.1f} s  {message.get_status_display():<8} sink {sink.messages - before:>8,}")
            if message.status in (Message.Status.DONE, Message.Status.CANCELLED):
                break
            if now - started > args.timeout:
                print("timed out")
                break
            time.sleep(0.5)
        finished = time.perf_counter()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        sink.stop()
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)

    cpu_self = resource.getrusage(resource.RUSAGE_SELF)
    cpu_worker = resource.getrusage(resource.RUSAGE_CHILDREN)
    delivered = sink.messages - before
    received = sink.recipients()
    expected = {f"bench{pid}@example.com" for pid in message.outbox.values_list("person_id", flat=True)}
    once = sum(1 for address in expected if received[address] == 1)
    missing = sum(1 for address in expected if received[address] == 0)
    doubled = sum(1 for address in expected if received[address] > 1)
    total = finished - started
    sending = finished - (first_mail_at or started)
    print(f"recipients materialised: {message.recipients_count:,} in {(sending_at or finished) - started:.1f} s")
    print(f"sent (DB): {message.sent_count:,}, failed {message.failed_count}, skipped {message.skipped_count}")
    print(f"delivered at the sink: {delivered:,} in {total:.1f} s from the send decision")
    print(f"messages/s: {delivered / total:,.0f} overall, {delivered / sending:,.0f} while sending")
    print(
        f"exactly once: {once:,} of {len(expected):,}; missing {missing}, duplicated {doubled}, "
        f"Message-IDs seen twice {len(sink.duplicates())}"
    )
    print(
        f"CPU seconds: worker (all processes) {cpu_worker.ru_utime + cpu_worker.ru_stime:.1f}, "
        f"this process (SMTP sink, polling, seeding) {cpu_self.ru_utime + cpu_self.ru_stime:.1f}; "
        f"load average at the end {os.getloadavg()[0]:.1f}"
    )
    ok = once == len(expected) == message.sent_count and not sink.duplicates()
    print("RESULT:", "every recipient got exactly one email" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
