"""Claim my record: start a claim, send and check its one-time code, staff decisions.

A claimant learns nothing from a failed attempt: ``claim_start`` answers every outcome the same
way (the code goes out from a task after commit), and ``claim_confirm`` has a single failure.
"""

import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from apps.alumni.models import ContactChannel
from apps.core import audit
from apps.core.errors import ApplicationError
from apps.core.names import clean_text, mask_phone
from apps.notifications.sms import send_sms

from ..models import ClaimRequest, User
from ..services import claim_link
from .matching import ClaimEvidence, claim_match, normalise_student_id

Status = ClaimRequest.Status
Outcome = ClaimRequest.Outcome

CODE_TTL = timedelta(minutes=10)
CODE_MAX_ATTEMPTS = 5
# A code the worker never sent (lost task) stops blocking the claim after this long.
CODE_SEND_GRACE = timedelta(hours=1)
_HASH_SALT = "apps.accounts.claim.code"


def _code_hash(claim: ClaimRequest, code: str) -> str:
    return salted_hmac(_HASH_SALT, f"{claim.pk}:{code}", algorithm="sha256").hexdigest()


def _mask_email(value: str) -> str:
    local, _at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _masked(contact: ContactChannel) -> str:
    if contact.kind == ContactChannel.Kind.EMAIL:
        return _mask_email(contact.value_normalised)
    return mask_phone(contact.value_normalised)


@transaction.atomic
def claim_start(*, user: User, evidence: ClaimEvidence, ip_address: str | None = None) -> ClaimRequest:
    """Record a claim and match it; a unique match with a verified contact gets a code by task.

    Starting a claim closes the user's previous open one (status ``expired``). Raises
    ApplicationError (code ``account_linked``) for an account that already has a record.
    """
    from apps.alumni.models import Person

    # One claim at a time per account: concurrent starts queue on the user's row.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if Person.objects.filter(user=user).exists():
        raise ApplicationError(_("This account is already linked to a record."), code="account_linked")
    ClaimRequest.objects.filter(user=user, status__in=ClaimRequest.OPEN_STATUSES).update(
        status=Status.EXPIRED, code_hash="", code_expires_at=None, updated_at=timezone.now()
    )
    match = claim_match(evidence)
    claim = ClaimRequest.objects.create(
        user=user,
        name=clean_text(evidence.name)[:100],
        student_id=normalise_student_id(evidence.student_id),
        birth_date=evidence.birth_date,
        college=None if evidence.student_id else evidence.college,
        graduation_year=None if evidence.student_id else evidence.graduation_year,
        status=Status.PENDING_CODE if match.outcome == Outcome.MATCHED else Status.AWAITING_REVIEW,
        outcome=match.outcome,
        matched_person=match.person,
        contact=match.contact,
        ip_address=ip_address,
    )
    audit.record(actor=user, action="claim.start", target=claim, ip_address=ip_address)
    from ..tasks import claim_code_send_task

    # Every claim goes through the task (which sends only for a match): the request does the same work.
    transaction.on_commit(lambda: claim_code_send_task.delay(claim.pk))
    return claim


def claim_code_send(*, claim_id: int) -> bool:
    """Send a fresh code for a ``pending_code`` claim that has none yet; True when one was sent.

    A no-op for any other claim (so running twice sends once). The code exists only in the message:
    the claim keeps its keyed hash. Delivery errors roll back, so a retry sends again.
    """
    with transaction.atomic():
        claim = ClaimRequest.objects.select_for_update().filter(pk=claim_id).first()
        if claim is None or claim.status != Status.PENDING_CODE or claim.code_sent_at is not None:
            return False
        contact = ContactChannel.objects.filter(pk=claim.contact_id, status=ContactChannel.Status.VERIFIED).first()
        if contact is None:
            # The contact stopped being verified since the match: staff review it instead.
            claim.status, claim.outcome = Status.AWAITING_REVIEW, Outcome.NO_CONTACT
            claim.save(update_fields=["status", "outcome", "updated_at"])
            return False
        code = f"{secrets.randbelow(10**6):06d}"
        now = timezone.now()
        claim.code_hash = _code_hash(claim, code)
        claim.code_sent_at, claim.code_expires_at, claim.code_attempts = now, now + CODE_TTL, 0
        claim.channel = _masked(contact)
        claim.save(
            update_fields=["code_hash", "code_sent_at", "code_expires_at", "code_attempts", "channel", "updated_at"]
        )
        _deliver(contact, code)
    return True


def _deliver(contact: ContactChannel, code: str) -> None:
    minutes = int(CODE_TTL.total_seconds() // 60)
    if contact.kind == ContactChannel.Kind.EMAIL:
        context = {"code": code, "minutes": minutes}
        subject = render_to_string("claim/email/code_subject.txt", context).strip()
        body = render_to_string("claim/email/code_message.txt", context)
        send_mail(subject, body, None, [contact.value_normalised])
    else:
        text = _(
            "[Alumni Portal] Your code to link your alumni record is %(code)s (valid %(minutes)d minutes). "
            "If you did not ask for it, ignore this message."
        ) % {"code": code, "minutes": minutes}
        send_sms(contact.value_normalised, text)


def claim_confirm(*, claim: ClaimRequest, code: str, ip_address: str | None = None) -> bool:
    """Check a claim's code; True when it was right and the account is now linked to the record.

    Every failure looks the same (wrong, expired, used up, or a claim that never had a code). The
    fifth wrong code or an expired one ends the code and sends the claim to staff review.
    """
    with transaction.atomic():
        claim = ClaimRequest.objects.select_for_update().select_related("user").get(pk=claim.pk)
        now = timezone.now()
        usable = (
            claim.status == Status.PENDING_CODE
            and bool(claim.code_hash)
            and claim.code_expires_at is not None
            and now <= claim.code_expires_at
            and claim.code_attempts < CODE_MAX_ATTEMPTS
        )
        right = constant_time_compare(_code_hash(claim, (code or "").strip()), claim.code_hash or "-")
        if usable and right:
            try:
                claim_link(person=claim.matched_person, user=claim.user, actor=claim.user, reason="claim code")
            except ApplicationError:
                # Linked elsewhere since the match: staff sort it out.
                _to_review(claim, Outcome.ALREADY_LINKED)
                audit.record(actor=claim.user, action="claim.confirm_failed", target=claim, ip_address=ip_address)
                return False
            claim.status, claim.code_hash, claim.decided_at = Status.APPROVED, "", now
            claim.save(update_fields=["status", "code_hash", "decided_at", "updated_at"])
            audit.record(actor=claim.user, action="claim.confirm", target=claim, ip_address=ip_address)
            return True
        claim.code_attempts = min(claim.code_attempts + 1, 32767)
        fields = ["code_attempts", "updated_at"]
        code_spent = not usable or claim.code_attempts >= CODE_MAX_ATTEMPTS
        if claim.status == Status.PENDING_CODE and claim.code_sent_at is not None and code_spent:
            claim.status, claim.outcome, claim.code_hash = Status.AWAITING_REVIEW, Outcome.CODE_FAILED, ""
            fields += ["status", "outcome", "code_hash"]
        claim.save(update_fields=fields)
        audit.record(actor=claim.user, action="claim.confirm_failed", target=claim, ip_address=ip_address)
    return False


def _to_review(claim: ClaimRequest, outcome: str) -> None:
    claim.status, claim.outcome, claim.code_hash = Status.AWAITING_REVIEW, outcome, ""
    claim.save(update_fields=["status", "outcome", "code_hash", "updated_at"])


def _check_reviewer(claim: ClaimRequest, actor) -> None:
    from ..selectors import visible_claims

    if not actor.has_perm("accounts.change_claimrequest") or not visible_claims(actor).filter(pk=claim.pk).exists():
        raise PermissionDenied


@transaction.atomic
def claim_approve(*, claim: ClaimRequest, actor, person=None, note: str = "") -> ClaimRequest:
    """Staff approve an open claim: link the claimant to ``person`` (default: the matched one).

    The person must be within the reviewer's scope (PermissionDenied otherwise). Raises
    ValidationError for a decided claim or one without a person, ApplicationError if either side
    is already linked.
    """
    from apps.alumni.selectors import visible_people

    claim = ClaimRequest.objects.select_for_update().select_related("user").get(pk=claim.pk)
    _check_reviewer(claim, actor)
    if not claim.is_open:
        raise ValidationError(_("This claim has already been decided."), code="claim_closed")
    person = person or claim.matched_person
    if person is None:
        raise ValidationError(_("Choose the alumnus this claim is about first."), code="claim_no_person")
    if not visible_people(actor).filter(pk=person.pk).exists():
        raise PermissionDenied
    claim_link(person=person, user=claim.user, actor=actor, reason=_("record claim approved by staff"))
    claim.status, claim.matched_person, claim.code_hash = Status.APPROVED, person, ""
    claim.decided_by, claim.decided_at = actor, timezone.now()
    claim.review_note = note or claim.review_note
    claim.save()
    audit.record(actor=actor, action="claim.approve", target=claim, reason=note)
    return claim


@transaction.atomic
def claim_reject(*, claim: ClaimRequest, actor, note: str = "") -> ClaimRequest:
    """Staff reject an open claim (its code, if any, stops working)."""
    claim = ClaimRequest.objects.select_for_update().get(pk=claim.pk)
    _check_reviewer(claim, actor)
    if not claim.is_open:
        raise ValidationError(_("This claim has already been decided."), code="claim_closed")
    claim.status, claim.code_hash = Status.REJECTED, ""
    claim.decided_by, claim.decided_at = actor, timezone.now()
    claim.review_note = note or claim.review_note
    claim.save()
    audit.record(actor=actor, action="claim.reject", target=claim, reason=note)
    return claim


def claim_codes_expire() -> int:
    """Send claims whose code ran out (or was never sent) to staff review; returns how many."""
    now = timezone.now()
    stale = Q(code_expires_at__lt=now) | Q(code_sent_at__isnull=True, created_at__lt=now - CODE_SEND_GRACE)
    return ClaimRequest.objects.filter(stale, status=Status.PENDING_CODE).update(
        status=Status.AWAITING_REVIEW, outcome=Outcome.CODE_FAILED, code_hash="", updated_at=now
    )
