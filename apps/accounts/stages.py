"""allauth login stages adjusted to accounts that may have no email address."""

from allauth.account import app_settings
from allauth.account.models import EmailAddress
from allauth.account.stages import EmailVerificationStage as AllauthEmailVerificationStage

Method = app_settings.EmailVerificationMethod


class EmailVerificationStage(AllauthEmailVerificationStage):
    """Email verification stays mandatory for accounts that rely on their email address.

    An account that proved another identifier (a verified mobile number, a WeChat account) signs
    in without a verified email; one with no email address at all has nothing to verify. The
    enumeration-prevention pseudo-login (no user) keeps allauth's mandatory behaviour.
    """

    def handle(self):
        user = self.login.user
        if user is not None and self.login.email_verification == Method.MANDATORY:
            has_email = bool(self.login.email or user.email) or EmailAddress.objects.filter(user=user).exists()
            if not has_email:
                self.login.email_verification = Method.NONE
            elif _has_other_verified_identifier(user):
                self.login.email_verification = Method.OPTIONAL
        return super().handle()


def _has_other_verified_identifier(user) -> bool:
    if user.phone and user.phone_verified:
        return True
    from allauth.socialaccount.models import SocialAccount

    return SocialAccount.objects.filter(user=user).exists()
