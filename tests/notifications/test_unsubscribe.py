"""Unsubscribe without login, the preference page and API, consent history."""

import pytest
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from apps.core.models import AuditEvent
from apps.notifications import services
from apps.notifications.models import Category, Channel, Consent, ConsentEvent, Notification
from apps.notifications.rendering import unsubscribe_token
from tests.notifications.factories import MessageFactory, SegmentFactory, alumnus_with_email

pytestmark = pytest.mark.django_db


def _mail_news(staff, college, capture):
    segment = SegmentFactory(created_by=staff, filters=[{"kind": "enrollment", "params": {"colleges": [college.pk]}}])
    message = MessageFactory(segment=segment, created_by=staff, category=Category.NEWS)
    services.message_test_send(message=message, actor=staff, addresses=["staff@example.com"])
    mail.outbox.clear()
    message.refresh_from_db()
    with capture(execute=True):
        services.message_send_now(message=message, actor=staff)


def test_unsubscribe_link_without_login_stops_the_category(client, staff, college, django_capture_on_commit_callbacks):
    person = alumnus_with_email(college=college)
    _mail_news(staff, college, django_capture_on_commit_callbacks)
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    path = link.removeprefix("https://alumni.example.edu")

    page = client.get(path, HTTP_ACCEPT_LANGUAGE="en")  # a link scanner's GET changes nothing
    assert page.status_code == 200
    assert not Consent.objects.exists()
    done = client.post(path, HTTP_ACCEPT_LANGUAGE="en")
    assert done.status_code == 200
    assert Consent.objects.get(person=person, channel="email", category="news").granted is False
    event = ConsentEvent.objects.get(person=person)
    assert (event.granted, event.source) == (False, ConsentEvent.Source.UNSUBSCRIBE_LINK)
    assert "no longer" in event.statement
    assert AuditEvent.objects.filter(action="consent.withdraw", target_id=str(person.pk)).exists()

    mail.outbox.clear()
    _mail_news(staff, college, django_capture_on_commit_callbacks)
    assert mail.outbox == []


def test_one_click_post_from_a_mail_client_unsubscribes(client, college):
    person = alumnus_with_email(college=college)
    token = unsubscribe_token(person_id=person.pk, category="events")
    response = client.post(
        reverse("notifications:unsubscribe", args=[token]),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert Consent.objects.get(person=person, category="events").granted is False


def test_forged_or_altered_tokens_are_refused(client, college):
    person = alumnus_with_email(college=college)
    token = unsubscribe_token(person_id=person.pk, category="news")
    assert client.post(reverse("notifications:unsubscribe", args=[token[:-2] + "xx"])).status_code == 404
    assert client.post(reverse("notifications:unsubscribe", args=["not-a-token"])).status_code == 404
    assert not Consent.objects.exists()


def _linked(user, college):
    person = alumnus_with_email(college=college)
    person.user = user
    person.save()
    return person


def test_preference_page_needs_login_and_a_linked_record(client, alumnus, college):
    url = reverse("notifications:preferences")
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    client.force_login(alumnus)
    assert client.get(url).status_code == 404  # no alumni record linked yet


def test_preference_page_saves_choices_with_history(client, alumnus, college):
    person = _linked(alumnus, college)
    client.force_login(alumnus)
    url = reverse("notifications:preferences")
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert page.context["form"].initial["email__news"] is True
    assert page.context["form"].initial["public__news"] is False  # being named publicly is opt-in
    data = {"language": "en", "email__events": "on", "sms__news": "on", "public__news": "on"}
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    state = services.consent_state(person)
    assert state[("email", "news")] is False
    assert state[("email", "events")] is True
    assert state[("public", "news")] is True
    assert person.contact_preference.language == "en"
    withdrawn = ConsentEvent.objects.filter(person=person, granted=False, source="portal")
    assert withdrawn.filter(channel="email", category="news").exists()
    # Saving the same choices again writes no new history.
    before = ConsentEvent.objects.count()
    client.post(url, data)
    assert ConsentEvent.objects.count() == before


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's")
def test_consent_history_cannot_be_edited(college):
    person = alumnus_with_email(college=college)
    services.consent_set(person=person, channel="email", category="news", granted=False, source="portal")
    with pytest.raises(DatabaseError), transaction.atomic():
        ConsentEvent.objects.update(granted=True)


def test_preferences_api(api_client, alumnus, staff, college):
    url = reverse("my-preferences")
    assert api_client.get(url).status_code in (401, 403)
    api_client.force_authenticate(staff)
    assert api_client.get(url).status_code == 404  # staff without an alumni record
    person = _linked(alumnus, college)
    api_client.force_authenticate(alumnus)
    data = api_client.get(url).json()
    assert data["consents"]["email__giving"] is True
    response = api_client.put(url, {"language": "zh-hans", "consents": {"email__giving": False}}, format="json")
    assert response.status_code == 200
    assert response.json()["consents"]["email__giving"] is False
    assert ConsentEvent.objects.get(person=person).source == ConsentEvent.Source.API
    assert (
        api_client.put(url, {"language": "zh-hans", "consents": {"fax__news": True}}, format="json").status_code == 400
    )


def test_my_notifications_api_and_page(api_client, client, alumnus, staff):
    Notification.objects.create(user=alumnus, title="欢迎", body="您好")
    Notification.objects.create(user=staff, title="别人的", body="")
    assert api_client.get(reverse("my-notification-list")).status_code in (401, 403)
    api_client.force_authenticate(alumnus)
    rows = api_client.get(reverse("my-notification-list")).json()["results"]
    assert [r["title"] for r in rows] == ["欢迎"]
    other = Notification.objects.get(user=staff)
    assert api_client.post(reverse("my-notification-read"), {"ids": [other.pk]}, format="json").json() == {"marked": 0}
    assert api_client.post(reverse("my-notification-read"), {}, format="json").json() == {"marked": 1}
    client.force_login(alumnus)
    page = client.get(reverse("notifications:notification-list"))
    assert page.status_code == 200
    assert [n.title for n in page.context["notifications"]] == ["欢迎"]
    assert client.get(reverse("notifications:notification-list")).status_code == 200
    assert Channel.PUBLIC
