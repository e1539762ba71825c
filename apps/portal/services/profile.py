"""My profile: contacts (with email confirmation), current job and city, address, privacy, data copy."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from apps.accounts.phones import phone_e164
from apps.alumni.models import ContactChannel, Employment, Person, Visibility
from apps.alumni.services import personal_data_save, snapshot
from apps.core import audit
from apps.core.names import clean_text, normalise_contact, normalise_phone

from ..models import ContactConfirmation
from .links import absolute_url

SELF_REPORTED = "self-reported"
SELF_SERVICE = "self-service"  # the reason on audit rows of changes made by the alumnus themself
ADDABLE_KINDS = (
    ContactChannel.Kind.EMAIL,
    ContactChannel.Kind.MOBILE,
    ContactChannel.Kind.WECHAT,
    ContactChannel.Kind.LANDLINE,
)


def _check_value(kind: str, value: str) -> str:
    value = clean_text(value)
    if not value:
        raise ValidationError(_("Enter a value."), code="required")
    if kind == ContactChannel.Kind.EMAIL:
        validate_email(value)
    elif kind == ContactChannel.Kind.MOBILE:
        try:
            phone_e164(value)
        except ValidationError:
            raise ValidationError(
                _("Enter a mobile number such as 138 0013 8000 or +44 7700 900123."), code="mobile"
            ) from None
    elif kind == ContactChannel.Kind.LANDLINE:
        if len(normalise_phone(value)) < 7:
            raise ValidationError(_("Enter a telephone number."), code="landline")
    elif kind not in ADDABLE_KINDS:
        raise ValidationError(_("This kind of contact cannot be added here."), code="kind")
    return value[:255]


@transaction.atomic
def contact_add(*, person: Person, kind: str, value: str, actor) -> ContactChannel:
    """Add a contact channel of my own: unverified and self-reported; an email gets a confirmation code.

    Adding one I already have (not obsolete) raises ValidationError(code="duplicate"); an obsolete
    one comes back as unverified.
    """
    value = _check_value(kind, value)
    normalised = normalise_contact(kind, value)
    existing = (
        ContactChannel.objects.select_for_update().filter(person=person, kind=kind, value_normalised=normalised).first()
    )
    if existing is not None and existing.status != ContactChannel.Status.OBSOLETE:
        raise ValidationError(_("You already have this contact."), code="duplicate")
    contact = existing or ContactChannel(person=person, kind=kind)
    old = snapshot(contact)
    contact.value = value
    contact.status = ContactChannel.Status.UNVERIFIED
    contact.verified_at = None
    contact.source = SELF_REPORTED
    personal_data_save(instance=contact, old=old, actor=actor, reason=SELF_SERVICE)
    if kind == ContactChannel.Kind.EMAIL:
        contact_confirmation_send(contact=contact)
    return contact


def _code_hash(contact_id: int, code: str) -> str:
    return salted_hmac("portal.contact-confirmation", f"{contact_id}:{code}").hexdigest()


@transaction.atomic
def contact_confirmation_send(*, contact: ContactChannel) -> ContactConfirmation:
    """Email a fresh six-digit code to an unverified address; earlier codes stop working.

    Raises ValidationError(code="too_many") after PORTAL_CONFIRM_SENDS_PER_HOUR codes in an hour.
    """
    if contact.kind != ContactChannel.Kind.EMAIL or contact.status != ContactChannel.Status.UNVERIFIED:
        raise ValidationError(_("Only an unconfirmed email address needs a code."), code="not_needed")
    now = timezone.now()
    recent = ContactConfirmation.objects.filter(contact=contact, created_at__gte=now - timedelta(hours=1)).count()
    if recent >= settings.PORTAL_CONFIRM_SENDS_PER_HOUR:
        raise ValidationError(_("Too many codes were sent to this address; try again later."), code="too_many")
    ContactConfirmation.objects.filter(contact=contact, confirmed_at__isnull=True).update(expires_at=now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    minutes = settings.PORTAL_CONFIRM_MINUTES
    confirmation = ContactConfirmation.objects.create(
        contact=contact, code_hash=_code_hash(contact.pk, code), expires_at=now + timedelta(minutes=minutes)
    )
    subject = _("Your confirmation code: %(code)s") % {"code": code}
    body = _(
        "Enter this code on the alumni portal to confirm %(address)s: %(code)s\n"
        "It works once and for %(minutes)s minutes: %(url)s\n"
        "If you did not add this address, ignore this message."
    ) % {
        "address": contact.value,
        "code": code,
        "minutes": minutes,
        "url": absolute_url(reverse("portal:contact-confirm", args=[contact.pk])),
    }
    recipient = contact.value
    transaction.on_commit(lambda: send_mail(subject, body, None, [recipient]))
    return confirmation


def contact_confirm(*, contact: ContactChannel, code: str, actor) -> ContactChannel:
    """Mark an email verified with the latest code sent to it; codes work once, expire and lock after 5 misses.

    Raises ValidationError with code "expired", "not_needed" (the contact is no longer unverified),
    "locked" or "wrong_code"; a wrong code is counted (committed) before the error is raised.
    """
    with transaction.atomic():
        confirmation = (
            ContactConfirmation.objects.select_for_update()
            .filter(contact=contact, confirmed_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        now = timezone.now()
        if confirmation is None or confirmation.expires_at <= now:
            raise ValidationError(_("This code has expired; ask for a new one."), code="expired")
        if contact.status != ContactChannel.Status.UNVERIFIED:
            raise ValidationError(_("Only an unconfirmed email address needs a code."), code="not_needed")
        if confirmation.attempts >= settings.PORTAL_CONFIRM_MAX_ATTEMPTS:
            raise ValidationError(_("Too many wrong codes; ask for a new one."), code="locked")
        right = constant_time_compare(confirmation.code_hash, _code_hash(contact.pk, clean_text(code)))
        if right:
            confirmation.confirmed_at = now
            confirmation.save(update_fields=["confirmed_at", "updated_at"])
            old = snapshot(contact)
            contact.status = ContactChannel.Status.VERIFIED
            contact.verified_at = now
            return personal_data_save(instance=contact, old=old, actor=actor, reason=SELF_SERVICE)
        confirmation.attempts += 1
        confirmation.save(update_fields=["attempts", "updated_at"])
    raise ValidationError(_("That code is not right."), code="wrong_code")


@transaction.atomic
def contact_remove(*, contact: ContactChannel, actor) -> ContactChannel:
    """Mark one of my contacts obsolete (the office keeps the history; it is no longer used or shown).

    Codes still open for it stop working.
    """
    ContactConfirmation.objects.filter(contact=contact, confirmed_at__isnull=True).update(expires_at=timezone.now())
    old = snapshot(contact)
    contact.status = ContactChannel.Status.OBSOLETE
    return personal_data_save(instance=contact, old=old, actor=actor, reason=SELF_SERVICE)


@transaction.atomic
def job_update(*, person: Person, organisation: str, title: str, city: str, actor) -> Employment | None:
    """Set my current employer, title and city.

    A different employer ends the current job today and starts a new one; the same employer only
    changes title and city. An empty employer ends the current job. The city is also my current city.
    """
    organisation, title, city = clean_text(organisation), clean_text(title), clean_text(city)
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.city != city:
        old = snapshot(person)
        person.city = city
        personal_data_save(instance=person, old=old, actor=actor, reason=SELF_SERVICE)
    current = person.employments.filter(end_date__isnull=True).order_by("-start_date", "-id").first()
    today = timezone.localdate()
    if current is not None and current.organisation == organisation:
        old = snapshot(current)
        current.title, current.city = title, city
        return personal_data_save(instance=current, old=old, actor=actor, reason=SELF_SERVICE)
    if current is not None:
        old = snapshot(current)
        current.end_date = max(today, current.start_date) if current.start_date else today
        personal_data_save(instance=current, old=old, actor=actor, reason=SELF_SERVICE)
    if not organisation:
        return None
    job = Employment(
        person=person, organisation=organisation[:200], title=title[:100], city=city[:64], start_date=today
    )
    return personal_data_save(instance=job, old={}, actor=actor, reason=SELF_SERVICE)


@transaction.atomic
def address_update(*, person: Person, value: str, actor) -> ContactChannel | None:
    """Replace my postal address: the old one becomes obsolete, the new one is self-reported and unverified."""
    value = clean_text(value)[:255]
    current = (
        ContactChannel.objects.select_for_update()
        .filter(person=person, kind=ContactChannel.Kind.ADDRESS)
        .exclude(status=ContactChannel.Status.OBSOLETE)
    )
    normalised = normalise_contact(ContactChannel.Kind.ADDRESS, value)
    for contact in current:
        if contact.value_normalised != normalised:
            contact_remove(contact=contact, actor=actor)
    if not value:
        return None
    kept = current.filter(value_normalised=normalised).first()
    if kept is not None:
        return kept
    existing = ContactChannel.objects.filter(
        person=person, kind=ContactChannel.Kind.ADDRESS, value_normalised=normalised
    ).first()
    contact = existing or ContactChannel(person=person, kind=ContactChannel.Kind.ADDRESS)
    old = snapshot(contact)
    contact.value, contact.status, contact.verified_at, contact.source = (
        value,
        ContactChannel.Status.UNVERIFIED,
        None,
        SELF_REPORTED,
    )
    return personal_data_save(instance=contact, old=old, actor=actor, reason=SELF_SERVICE)


@transaction.atomic
def privacy_update(
    *, person: Person, contacts: str, employment: str, location: str, show_in_directory: bool, actor
) -> Person:
    """Set who may see each group of my fields and whether I am listed in the directory (audited)."""
    for level in (contacts, employment, location):
        if level not in Visibility.values:
            raise ValidationError(_("Choose one of the listed options."), code="invalid_choice")
    person = Person.objects.select_for_update().get(pk=person.pk)
    old = snapshot(person)
    person.privacy_contacts, person.privacy_employment, person.privacy_location = contacts, employment, location
    person.show_in_directory = bool(show_in_directory)
    return personal_data_save(instance=person, old=old, actor=actor, reason=SELF_SERVICE)


def my_data_copy_record(*, person: Person, actor, file_format: str) -> None:
    """Audit a download of a copy of my data (every export of personal data is logged)."""
    audit.record(actor=actor, action="person.data_copy", target=person, reason=f"{SELF_SERVICE} {file_format}")
