"""What a claimant is told: the same words whatever their claim matched."""

from django.utils.translation import gettext_lazy as _

from ..models import ClaimRequest

Status = ClaimRequest.Status

SUBMITTED = _(
    "Thank you. If the details match our records, we have sent a code to the email address or mobile "
    "number on file: enter it below. Otherwise your request goes to the alumni office for review."
)
CODE_FAILED = _("The code is not valid or has expired.")
LINKED = _("Your account is now linked to your alumni record.")
TOO_MANY = _("Too many attempts. Please try again later.")
ALREADY_LINKED = _("Your account is already linked to your alumni record.")


class PublicState:
    """A claim's state as its claimant sees it: waiting for a code and waiting for staff look alike."""

    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"

    LABELS = {
        SUBMITTED: _("Submitted: enter the code if you received one, or wait for the alumni office."),
        APPROVED: _("Approved: your account is linked to your record."),
        REJECTED: _("Not approved by the alumni office."),
        CLOSED: _("Closed."),
    }


def public_state(claim: ClaimRequest) -> str:
    if claim.status in ClaimRequest.OPEN_STATUSES:
        return PublicState.SUBMITTED
    if claim.status == Status.APPROVED:
        return PublicState.APPROVED
    if claim.status == Status.REJECTED:
        return PublicState.REJECTED
    return PublicState.CLOSED
