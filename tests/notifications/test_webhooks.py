"""Outgoing webhooks: emitted in the saving transaction, delivered through the outbox, signed, retried."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import transaction
from django.utils import timezone

from apps.alumni.services import personal_data_save, snapshot
from apps.notifications import services
from apps.notifications.models import OutboxItem
from apps.notifications.services.webhooks import webhook_subscribers_changed
from tests.alumni.factories import PersonFactory
from tests.notifications.factories import WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db
SECRET = "s3cret-signing-key"


@pytest.fixture
def receiver():
    calls = []
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append({"headers": dict(self.headers), "body": body})
            self.send_response(state["status"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks", calls, state
    server.shutdown()


@pytest.fixture(autouse=True)
def _fresh_subscribers():
    webhook_subscribers_changed()
    yield
    webhook_subscribers_changed()


def test_person_update_is_delivered_signed(receiver, staff, django_capture_on_commit_callbacks):
    url, calls, _state = receiver
    WebhookSubscriptionFactory(url=url, secret=SECRET, events=["person.updated"])
    person = PersonFactory()
    OutboxItem.objects.all().delete()
    old = snapshot(person)
    person.city = "深圳"
    with django_capture_on_commit_callbacks(execute=True):
        personal_data_save(instance=person, old=old, actor=staff)
    assert len(calls) == 1
    headers, body = calls[0]["headers"], calls[0]["body"]
    payload = json.loads(body)
    assert payload["event"] == "person.updated"
    assert payload["data"] == {"person_id": person.pk, "change": "updated"}
    expected = hmac.new(SECRET.encode(), headers["X-Alumni-Timestamp"].encode() + b"." + body, hashlib.sha256)
    assert headers["X-Alumni-Signature"] == "sha256=" + expected.hexdigest()
    assert headers["X-Alumni-Delivery"] == payload["id"]
    assert OutboxItem.objects.get(kind="webhook").status == OutboxItem.Status.SENT


def test_rolled_back_change_emits_nothing(receiver):
    url, _calls, _state = receiver
    WebhookSubscriptionFactory(url=url, events=["person.updated"])

    def create_then_fail():
        with transaction.atomic():
            PersonFactory()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        create_then_fail()
    assert not OutboxItem.objects.filter(kind="webhook").exists()


def test_unsubscribed_events_and_paused_subscriptions_get_nothing(receiver):
    url, _calls, _state = receiver
    WebhookSubscriptionFactory(url=url, events=["gift.recorded"])
    WebhookSubscriptionFactory(url=url, events=["person.updated"], is_active=False)
    PersonFactory()
    assert not OutboxItem.objects.filter(kind="webhook").exists()
    services.webhook_emit("gift.recorded", {"gift_id": 5})
    assert OutboxItem.objects.filter(kind="webhook").count() == 1


def test_failed_delivery_is_retried_with_backoff(receiver, settings, django_capture_on_commit_callbacks):
    url, calls, state = receiver
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 30
    state["status"] = 500
    WebhookSubscriptionFactory(url=url, events=["registration.created"])
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_emit("registration.created", {"registration_id": 1})
    row = OutboxItem.objects.get(kind="webhook")
    assert (row.status, row.attempts) == (OutboxItem.Status.PENDING, 1)
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=25)
    state["status"] = 204
    OutboxItem.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    services.outbox_drain(kind="webhook")
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxItem.Status.SENT, 2)
    assert len(calls) == 2
    assert json.loads(calls[0]["body"])["id"] == json.loads(calls[1]["body"])["id"]  # the receiver can de-duplicate


def test_unknown_event_is_refused(staff):
    with pytest.raises(ValueError, match="unknown webhook event"):
        services.webhook_emit("person.exploded", {})
    subscription = WebhookSubscriptionFactory.build(events=["person.exploded"], created_by=staff)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.webhook_subscription_save(subscription=subscription, actor=staff)
