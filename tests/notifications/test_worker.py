"""The outbox through real Celery workers on Redis, killed mid-send and fed duplicated tasks.

Skipped unless REDIS_URL is set and the tests run on PostgreSQL (the worker shares the test database).
"""

import os
import time
import uuid

import pytest
from django.db import connection

from apps.alumni.models import ContactChannel, Enrollment, Person
from apps.notifications import services
from apps.notifications.models import Message, OutboxItem
from apps.notifications.services.outbox import task_options
from apps.notifications.tasks import message_materialise_task, outbox_drain_task
from tests.notifications import worker as notify_worker
from tests.notifications.factories import MessageFactory, SegmentFactory
from tests.notifications.smtp_sink import SmtpSink

REDIS_URL = os.environ.get("REDIS_URL", "")
pytestmark = [
    pytest.mark.celery_worker,
    pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (a real Redis broker) to start Celery workers"),
]

PEOPLE = 400
LEASE = 3


def _people(college, count: int) -> list[str]:
    """``count`` alumni of ``college`` with one verified email each (bulk, fast); returns the addresses."""
    people = Person.objects.bulk_create([Person(name=f"校友{i:04d}", province="北京") for i in range(count)])
    Enrollment.objects.bulk_create(
        [
            Enrollment(
                person=p, student_id=f"W{p.pk:09d}", degree_level="bachelor", college=college, graduation_year=2015
            )
            for p in people
        ]
    )
    addresses = [f"alumnus{p.pk}@example.com" for p in people]
    ContactChannel.objects.bulk_create(
        [
            ContactChannel(person=p, kind="email", value=a, value_normalised=a, status="verified")
            for p, a in zip(people, addresses, strict=True)
        ]
    )
    return addresses


def _wait(predicate, timeout: float, every: float = 0.2, tick=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if tick:
            tick()
        time.sleep(every)
    return False


@pytest.fixture
def outbox_env(real_broker, settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the worker needs the shared PostgreSQL test database")
    queue = f"notify-test-{uuid.uuid4().hex[:10]}"
    sink = SmtpSink().start()
    settings.NOTIFICATIONS_QUEUE = queue
    settings.NOTIFICATIONS_EMAIL_URL = sink.url
    settings.NOTIFICATIONS_SEND_LEASE_SECONDS = LEASE
    env = {
        "NOTIFICATIONS_EMAIL_URL": sink.url,
        "NOTIFICATIONS_SEND_LEASE_SECONDS": str(LEASE),
        "NOTIFICATIONS_BATCH_SIZE": "25",
        "NOTIFICATIONS_EMAIL_RATE": "0",
        "NOTIFICATIONS_DRAIN_SECONDS": "5",
        "NOTIFICATIONS_SEND_SLOTS": "2",
    }
    workers = []

    def start():
        workers.append(notify_worker.start(queue, tmp_path / "worker.log", env=env, concurrency=2))
        return workers[-1]

    yield sink, start, tmp_path / "worker.log"
    for process in workers:
        notify_worker.stop(process)
    sink.stop()
    with real_broker.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def _mailing(staff, college):
    segment = SegmentFactory(created_by=staff, filters=[{"kind": "enrollment", "params": {"colleges": [college.pk]}}])
    message = MessageFactory(segment=segment, created_by=staff)
    services.message_test_send(message=message, actor=staff, addresses=["staff-test@example.com"])
    message.refresh_from_db()
    return message


def _assert_exactly_once(sink, addresses):
    received = sink.recipients()
    assert sink.duplicates() == {}, "a Message-ID reached the SMTP server twice"
    missing = [a for a in addresses if received[a] == 0]
    doubled = {a: n for a, n in received.items() if n > 1}
    assert missing == [], f"{len(missing)} recipients got nothing"
    assert doubled == {}, f"recipients got more than one: {doubled}"
    assert sum(received[a] for a in addresses) == len(addresses)


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_send_then_restarted_loses_and_duplicates_nothing(outbox_env, staff, college):
    sink, start, log_path = outbox_env
    addresses = _people(college, PEOPLE)
    message = _mailing(staff, college)
    # Freeze every sender at its 150th MAIL FROM: rows before are sent and marked, the rest are not.
    sink.stall_after(150)
    first = start()
    services.message_send_now(message=message, actor=staff)
    assert sink.handler.stalled.wait(90), log_path.read_text()
    time.sleep(1.0)  # the other pool process finishes its message and blocks at its next MAIL too
    notify_worker.kill(first)
    sink.release()

    counts = services.message_recount(message_id=message.pk)
    assert counts.get(OutboxItem.Status.SENDING, 0) > 0, counts  # claims the dead worker left behind
    assert 0 < counts.get(OutboxItem.Status.SENT, 0) < PEOPLE
    delivered_before_restart = sink.messages

    start()
    time.sleep(LEASE + 0.5)  # the dead worker's claims become claimable again

    def finished():
        return Message.objects.get(pk=message.pk).status == Message.Status.DONE

    # The relay is what beat runs every 30 s; here every second.
    assert _wait(finished, 120, every=1.0, tick=services.outbox_relay), (
        services.message_recount(message_id=message.pk),
        log_path.read_text()[-3000:],
    )
    message.refresh_from_db()
    assert message.sent_count == PEOPLE
    assert message.failed_count == message.skipped_count == 0
    assert sink.messages > delivered_before_restart
    # The test send went out once too, to its own address.
    assert sink.recipients()["staff-test@example.com"] == 1
    _assert_exactly_once(sink, addresses)


@pytest.mark.django_db(transaction=True)
def test_replayed_and_duplicated_tasks_send_every_row_exactly_once(outbox_env, staff, college):
    sink, start, log_path = outbox_env
    addresses = _people(college, PEOPLE)
    message = _mailing(staff, college)
    start()
    services.message_send_now(message=message, actor=staff)
    # At-least-once delivery, exaggerated: every task delivered many times over, concurrently.
    for _ in range(3):
        message_materialise_task.apply_async(args=[message.pk], **task_options())
    for _ in range(5):
        for slot in range(2):
            outbox_drain_task.apply_async(args=["email", slot], **task_options())

    def finished():
        return Message.objects.get(pk=message.pk).status == Message.Status.DONE

    assert _wait(finished, 120, every=0.5), (
        services.message_recount(message_id=message.pk),
        log_path.read_text()[-3000:],
    )
    # Late replays after the end find nothing to do.
    for slot in range(2):
        outbox_drain_task.apply_async(args=["email", slot], **task_options())
    time.sleep(2)
    assert OutboxItem.objects.filter(message=message).count() == PEOPLE
    _assert_exactly_once(sink, addresses)
