"""Messages between alumni, relayed by the portal: the sender never learns the recipient's address."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.alumni.models import ContactChannel, Person
from apps.core import audit
from apps.core.errors import ApplicationError
from apps.core.names import clean_text

from ..models import Conversation, RelayBlock, RelayMessage
from .links import absolute_url


class RelayRateLimited(ApplicationError):
    """The sender has sent PORTAL_RELAY_PER_HOUR messages in the last hour."""


def _check_rate(author: Person) -> None:
    since = timezone.now() - timedelta(hours=1)
    sent = RelayMessage.objects.filter(author=author, created_at__gte=since).count()
    if sent >= settings.PORTAL_RELAY_PER_HOUR:
        raise RelayRateLimited(
            _("You have sent %(n)s messages in the last hour; please wait before sending more.") % {"n": sent},
            code="rate_limited",
        )


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError(_("Write a message."), code="required")
    if len(body) > 4000:
        raise ValidationError(_("Keep the message under 4,000 characters."), code="too_long")
    return body


def _shared(author: Person, contact_ids) -> list[dict]:
    """The author's own contacts they chose to reveal in this message (nothing else is ever revealed)."""
    if not contact_ids:
        return []
    return [
        {"kind": kind, "value": value}
        for kind, value in author.contacts.filter(pk__in=list(contact_ids))
        .exclude(status__in=[ContactChannel.Status.OBSOLETE, ContactChannel.Status.BOUNCED])
        .values_list("kind", "value")
    ]


def _post(*, conversation: Conversation, author: Person, body: str, contact_ids=()) -> RelayMessage:
    recipient_id = conversation.other(author.pk)
    withheld = RelayBlock.objects.filter(blocker_id=recipient_id, blocked=author).exists()
    message = RelayMessage.objects.create(
        conversation=conversation,
        author=author,
        body=body,
        shared_contacts=_shared(author, contact_ids),
        status=RelayMessage.Status.WITHHELD if withheld else RelayMessage.Status.SENT,
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=message.created_at)
    if not withheld:
        from ..tasks import relay_message_deliver_task

        transaction.on_commit(lambda: relay_message_deliver_task.delay(message.pk))
    return message


@transaction.atomic
def relay_send(*, sender: Person, recipient: Person, subject: str, body: str, contact_ids=(), actor) -> Conversation:
    """Start a conversation with a directory-listed alumnus.

    A recipient who blocked the sender gets nothing, but the sender sees the same "sent" result.
    Raises RelayRateLimited past the hourly limit, ValidationError for bad input.
    """
    if sender.pk == recipient.pk:
        raise ValidationError(_("You cannot write to yourself."), code="self")
    if not recipient.show_in_directory or recipient.is_deceased:
        raise ApplicationError(_("This alumnus cannot be contacted through the portal."), code="not_listed")
    Person.objects.select_for_update().filter(pk=sender.pk).first()  # one sender's sends are serialised
    _check_rate(sender)
    subject = clean_text(subject)[:120] or _("A message from an alumnus")
    body = _clean_body(body)
    conversation = Conversation.objects.create(starter=sender, recipient=recipient, subject=subject)
    _post(conversation=conversation, author=sender, body=body, contact_ids=contact_ids)
    audit.record(actor=actor, action="portal.relay_send", target=conversation, reason="")
    return conversation


@transaction.atomic
def relay_reply(*, conversation: Conversation, author: Person, body: str, contact_ids=(), actor) -> RelayMessage:
    """Reply in a conversation I take part in, revealing only the contacts I pick."""
    if author.pk not in (conversation.starter_id, conversation.recipient_id):
        raise ApplicationError(_("This conversation is not yours."), code="not_participant")
    Person.objects.select_for_update().filter(pk=author.pk).first()
    _check_rate(author)
    return _post(conversation=conversation, author=author, body=_clean_body(body), contact_ids=contact_ids)


@transaction.atomic
def relay_block(*, blocker: Person, blocked_id: int) -> RelayBlock:
    """Receive nothing more from ``blocked_id``; idempotent."""
    if blocker.pk == blocked_id:
        raise ValidationError(_("You cannot block yourself."), code="self")
    block, _created = RelayBlock.objects.get_or_create(blocker=blocker, blocked_id=blocked_id)
    return block


@transaction.atomic
def relay_unblock(*, blocker: Person, blocked_id: int) -> None:
    RelayBlock.objects.filter(blocker=blocker, blocked_id=blocked_id).delete()


def relay_mark_read(*, person: Person, conversation: Conversation) -> int:
    """Mark the other side's delivered messages read; returns how many changed."""
    return (
        conversation.messages.filter(status=RelayMessage.Status.SENT, read_at__isnull=True)
        .exclude(author=person)
        .update(read_at=timezone.now())
    )


def _email_of(person: Person) -> str:
    channel = (
        person.contacts.filter(kind=ContactChannel.Kind.EMAIL, status=ContactChannel.Status.VERIFIED)
        .order_by("-verified_at", "-id")
        .values_list("value", flat=True)
        .first()
    )
    if channel:
        return channel
    user = person.user
    return user.email if user is not None and user.is_active else ""


def relay_message_deliver(*, message_id: int) -> bool:
    """Email a delivered message to its recipient once (no-op if already emailed, withheld or gone).

    The email names the sender and carries the text and a link to reply in the portal; it holds no
    address of the sender.
    """
    claimed = RelayMessage.objects.filter(
        pk=message_id, status=RelayMessage.Status.SENT, emailed_at__isnull=True
    ).update(emailed_at=timezone.now())
    if not claimed:
        return False
    message = RelayMessage.objects.select_related("conversation", "author").get(pk=message_id)
    recipient = Person.objects.select_related("user").get(pk=message.conversation.other(message.author_id))
    address = _email_of(recipient)
    if not address:
        return False  # in-portal only
    subject = _("%(name)s wrote to you on the alumni portal: %(subject)s") % {
        "name": message.author.name,
        "subject": message.conversation.subject,
    }
    body = _(
        "%(name)s sent you this message through the alumni portal:\n\n%(body)s\n\n"
        "Reply or block the sender in the portal: %(url)s\n"
        "Your address has not been shared with the sender."
    ) % {
        "name": message.author.name,
        "body": message.body,
        "url": absolute_url(reverse("portal:conversation-detail", args=[message.conversation_id])),
    }
    try:
        send_mail(subject, body, None, [address])
    except Exception:
        # Give the message back, so a retry of the task sends it.
        RelayMessage.objects.filter(pk=message_id).update(emailed_at=None)
        raise
    return True
