from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.notifications.sms import send_sms

from .models import User
from .phones import phone_e164, phone_for_sms


class AccountAdapter(DefaultAccountAdapter):
    """The portal's account rules: mobile numbers on ``User.phone`` (E.164), codes by SMS."""

    def get_login_stages(self) -> list[str]:
        return [
            "apps.accounts.stages.EmailVerificationStage"
            if path == "allauth.account.stages.EmailVerificationStage"
            else path
            for path in super().get_login_stages()
        ]

    # --- phone numbers (allauth's phone API) ---------------------------------------------
    def phone_form_field(self, **kwargs):
        from .forms import MobileField

        return MobileField(**kwargs)

    def clean_phone(self, phone: str) -> str:
        return phone_e164(phone)

    def set_phone(self, user, phone: str, verified: bool) -> None:
        user.phone = phone_e164(phone)
        user.phone_verified = verified
        if user.pk is not None:
            user.save(update_fields=["phone", "phone_verified"])

    def get_phone(self, user) -> tuple[str, bool] | None:
        return (user.phone, user.phone_verified) if user.phone else None

    def set_phone_verified(self, user, phone: str) -> None:
        User.objects.filter(pk=user.pk, phone=phone_e164(phone)).update(phone_verified=True)
        user.phone_verified = True

    def get_user_by_phone(self, phone: str):
        try:
            number = phone_e164(phone)
        except ValidationError:
            return None
        return User.objects.filter(phone=number).first()

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        text = _("[Alumni Portal] Your verification code is %(code)s. Do not share it with anyone.") % {"code": code}
        send_sms(phone_for_sms(phone), text)

    def send_account_already_exists_sms(self, phone: str) -> None:
        url = self.request.build_absolute_uri(reverse("account_request_login_code"))
        text = _("[Alumni Portal] This number already has an account. To sign in, request a code at %(url)s") % {
            "url": url
        }
        send_sms(phone_for_sms(phone), text)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """WeChat accounts arrive with an openid and a nickname, never an email address."""

    def populate_user(self, request, sociallogin, data):
        user = super().populate_user(request, sociallogin, data)
        user.email = user.email or None
        if not user.display_name:
            user.display_name = (data.get("name") or data.get("username") or "")[:100]
        return user
