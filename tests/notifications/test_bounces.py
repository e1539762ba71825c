"""Bounces: the command and the signed webhook mark channels bounced, audited; the contact rate drops."""

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from apps.alumni.models import ContactChannel, ContactRateSnapshot
from apps.alumni.services import contact_rate_refresh
from apps.core.models import AuditEvent
from apps.notifications.models import BounceEvent
from apps.notifications.services.senders import webhook_signature
from tests.alumni.factories import ContactChannelFactory
from tests.notifications.factories import alumnus_with_email

pytestmark = pytest.mark.django_db

SECRET = "bounce-webhook-secret-for-tests"


def _school_rate() -> tuple[int, int]:
    contact_rate_refresh()
    row = ContactRateSnapshot.objects.get(college=None, graduation_year=None)
    return row.alumni, row.reachable


def test_bounce_command_changes_the_effective_contact_rate(college):
    alumnus_with_email(college=college, email="one@example.com")
    alumnus_with_email(college=college, email="two@example.com")
    assert _school_rate() == (2, 2)
    out = StringIO()
    call_command("mark_bounced", "ONE@example.com", "--reason", "mailbox unknown", stdout=out)
    assert json.loads(out.getvalue()) == {"addresses": 1, "channels_marked": 1}
    channel = ContactChannel.objects.get(value="one@example.com")
    assert channel.status == ContactChannel.Status.BOUNCED
    assert AuditEvent.objects.filter(action="contactchannel.update", target_id=str(channel.pk)).exists()
    assert _school_rate() == (2, 1)
    # Running it again changes nothing more.
    call_command("mark_bounced", "one@example.com", stdout=StringIO())
    assert list(BounceEvent.objects.order_by("id").values_list("channels_marked", flat=True)) == [1, 0]


def test_person_with_another_verified_channel_stays_reachable(college):
    person = alumnus_with_email(college=college, email="old@example.com")
    ContactChannelFactory(person=person)  # a verified mobile
    call_command("mark_bounced", "old@example.com", stdout=StringIO())
    assert _school_rate() == (1, 1)


def test_soft_bounce_is_recorded_but_keeps_the_channel(college):
    alumnus_with_email(college=college, email="full@example.com")
    call_command("mark_bounced", "full@example.com", "--soft", stdout=StringIO())
    assert ContactChannel.objects.get().status == ContactChannel.Status.VERIFIED
    assert BounceEvent.objects.get().kind == BounceEvent.Kind.SOFT


def _post(api_client, body: dict, *, secret=SECRET, timestamp=None):
    raw = json.dumps(body).encode()
    stamp = str(int(timestamp if timestamp is not None else time.time()))
    return api_client.post(
        reverse("bounce-webhook"),
        data=raw,
        content_type="application/json",
        HTTP_X_BOUNCE_TIMESTAMP=stamp,
        HTTP_X_BOUNCE_SIGNATURE=webhook_signature(secret, stamp, raw),
    )


def test_signed_bounce_webhook_marks_channels_and_changes_the_rate(api_client, settings, college):
    settings.NOTIFICATIONS_BOUNCE_WEBHOOK_SECRET = SECRET
    alumnus_with_email(college=college, email="a@example.com")
    mobile_owner = alumnus_with_email(college=college, email="b@example.com")
    ContactChannelFactory(person=mobile_owner, value="13800138000")
    assert _school_rate() == (2, 2)
    body = {
        "events": [
            {"type": "hard", "email": "a@example.com", "reason": "550 5.1.1"},
            {"type": "hard", "mobile": "+86 13800138000"},
        ]
    }
    response = _post(api_client, body)
    assert response.status_code == 200, response.content
    assert response.json() == {"received": 2, "channels_marked": 2}
    assert ContactChannel.objects.get(value="a@example.com").status == ContactChannel.Status.BOUNCED
    assert ContactChannel.objects.get(kind="mobile").status == ContactChannel.Status.BOUNCED
    assert _school_rate() == (2, 1)


def test_bounce_webhook_refuses_bad_missing_or_stale_signatures(api_client, settings, college):
    settings.NOTIFICATIONS_BOUNCE_WEBHOOK_SECRET = SECRET
    alumnus_with_email(college=college, email="a@example.com")
    body = {"events": [{"email": "a@example.com"}]}
    assert _post(api_client, body, secret="wrong-secret").status_code in (401, 403)
    assert _post(api_client, body, timestamp=time.time() - 3600).status_code in (401, 403)
    assert api_client.post(reverse("bounce-webhook"), body, format="json").status_code in (401, 403)
    assert ContactChannel.objects.get().status == ContactChannel.Status.VERIFIED


def test_bounce_webhook_is_off_without_a_secret(api_client, settings, staff):
    settings.NOTIFICATIONS_BOUNCE_WEBHOOK_SECRET = ""
    api_client.force_authenticate(staff)  # even a signed-in member of staff cannot use it
    assert _post(api_client, {"events": []}, secret="x").status_code in (401, 403)
