"""notify(): by person, user or role, once per idempotency key; wired to imports and data requests."""

import pytest
from django.core import mail
from django.db import transaction

from apps.accounts.models import Role
from apps.alumni.models import ContactChannel
from apps.notifications.models import Notification, OutboxItem
from apps.notifications.services import consent_set, notify
from apps.notifications.services.notify import best_channel
from tests.accounts.factories import UserFactory
from tests.alumni.factories import ContactChannelFactory
from tests.notifications.factories import alumnus_with_email

pytestmark = pytest.mark.django_db


def _context():
    return {"job": 7, "name": "2024届.xlsx", "created": 10, "updated": 2, "unchanged": 0, "flagged": 1, "errors": 0}


def test_notify_a_user_writes_outbox_row_and_portal_notice_and_sends_after_commit(
    staff, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = notify(
            staff, "imports.job_finished", _context(), url="https://x/1", dedupe_key="imports.job_finished:7"
        )
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert len(created) == 2
    # Rendered in the recipient's language: the site default (Simplified Chinese) for this user.
    assert Notification.objects.get(user=staff).title == "导入任务 #7 已完成：2024届.xlsx"
    assert [m.to for m in mail.outbox] == [[staff.email]]
    assert "新建：10，更新：2" in mail.outbox[0].body
    assert "https://x/1" in mail.outbox[0].body
    # The same key again: nothing new.
    assert notify(staff, "imports.job_finished", _context(), dedupe_key="imports.job_finished:7") == []
    assert OutboxItem.objects.count() == 1


def test_rolled_back_transaction_leaves_no_notification(staff):
    def notify_then_fail():
        with transaction.atomic():
            notify(staff, "imports.job_finished", _context())
            raise RuntimeError

    with pytest.raises(RuntimeError):
        notify_then_fail()
    assert not OutboxItem.objects.exists()
    assert not Notification.objects.exists()


def test_notify_a_role_reaches_every_holder(office_admin, django_capture_on_commit_callbacks):
    from apps.accounts import services as account_services

    second = UserFactory()
    account_services.role_assign(user=second, role=Role.OFFICE_ADMIN, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        notify(Role.OFFICE_ADMIN, "dataservice.request_approved", {"number": "SJ2025-001", "approver": "王老师"})
    assert sorted(m.to[0] for m in mail.outbox) == sorted([office_admin.email, second.email])


def test_notify_a_person_respects_their_consent_for_non_service_categories(college, django_capture_on_commit_callbacks):
    person = alumnus_with_email(college=college)
    consent_set(person=person, channel="email", category="events", granted=False, source="portal")
    with django_capture_on_commit_callbacks(execute=True):
        assert notify(person, "imports.job_finished", _context(), category="events") == []
        notify(person, "imports.job_finished", _context())  # a service message still goes
    assert [m.to[0] for m in mail.outbox] == [f"p{person.pk}@example.com"]


def test_data_request_approved_notifies_the_requester(office_admin, staff, django_capture_on_commit_callbacks):
    from apps.dataservice import services as data_services
    from tests.dataservice.factories import RecipientFactory, data_request

    request = data_request(actor=staff, recipient=RecipientFactory())
    data_services.datarequest_submit(request=request, actor=staff)
    with django_capture_on_commit_callbacks(execute=True):
        data_services.datarequest_approve(request=request, actor=office_admin)
    notice = Notification.objects.get(user=staff)
    assert request.number in notice.title
    assert any(m.to == [staff.email] and request.number in m.subject for m in mail.outbox)


def test_import_finished_notifies_whoever_applied_it(tmp_path, staff, settings, django_capture_on_commit_callbacks):
    from apps.imports import services as import_services
    from apps.imports.tasks import import_job_apply_task, import_job_preview_task
    from tests.alumni.factories import CollegeFactory
    from tests.imports.factories import uploaded
    from tests.imports.filemakers import sample_rows, write_roster_xlsx

    settings.MEDIA_ROOT = tmp_path / "media"
    for code, name in (("CS", "计算机学院"), ("ME", "机械工程学院")):
        CollegeFactory(code=code, name=name)
    path = write_roster_xlsx(tmp_path / "roster.xlsx", sample_rows(5, seed=3, native=True))
    job = import_services.import_job_create(upload=uploaded(path), actor=staff)
    import_job_preview_task.apply(args=[job.pk])
    job.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        import_services.import_job_apply_start(job=job, actor=staff)
    if job.status != "done":
        with django_capture_on_commit_callbacks(execute=True):
            import_job_apply_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert job.status == "done", job.failure_message
    notice = Notification.objects.get(user=staff)
    assert f"#{job.pk}" in notice.title
    assert OutboxItem.objects.filter(user=staff, dedupe_key__startswith=f"imports.job_finished:{job.pk}").count() == 1


def test_best_channel_prefers_a_dated_verification_over_an_undated_one(college):
    person = alumnus_with_email(college=college, email="dated@example.com")  # verified now
    undated = ContactChannelFactory(person=person, kind=ContactChannel.Kind.EMAIL, value="undated@example.com")
    # Verified without a date (imported records): PostgreSQL sorts NULL first in a descending order.
    ContactChannel.objects.filter(pk=undated.pk).update(status=ContactChannel.Status.VERIFIED, verified_at=None)
    assert best_channel(person, ContactChannel.Kind.EMAIL).value == "dated@example.com"
