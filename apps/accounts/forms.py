from allauth.account.fields import PhoneField
from allauth.account.forms import LoginForm as AllauthLoginForm
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .phones import phone_e164


class MobileField(PhoneField):
    """allauth's phone field, taking numbers as people type them and cleaning them to E.164."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("validators", [])
        kwargs["label"] = _("Mobile number")
        kwargs.setdefault("help_text", _("A mainland mobile number, or an international number starting with +."))
        super().__init__(*args, **kwargs)
        self.widget.attrs.update({"placeholder": "", "inputmode": "tel"})

    def to_python(self, value):
        value = super().to_python(value)
        return phone_e164(value) if value else value


class SignupExtraForm(forms.Form):
    """Base of allauth's sign-up form and of its headless sign-up input (ACCOUNT_SIGNUP_FORM_CLASS).

    The email address is optional: an account is created with an email address, a mobile number,
    or both. allauth keeps "email*" in ACCOUNT_SIGNUP_FIELDS because mandatory verification demands
    it, so the requirement is relaxed here, after allauth has read its field settings.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        signup_fields = getattr(self, "_signup_fields", None)
        if signup_fields and "email" in signup_fields:
            signup_fields["email"] = {**signup_fields["email"], "required": False}

    def clean(self):
        cleaned_data = super().clean()
        # A social sign-up (WeChat) needs neither: the provider's account identifies the person.
        social = getattr(self, "sociallogin", None) is not None
        both_offered = "email" in self.fields and "phone" in self.fields
        given = cleaned_data.get("email") or cleaned_data.get("phone")
        if both_offered and not social and not given and not self.errors:
            raise ValidationError(_("Enter an email address or a mobile number."), code="email_or_phone")
        return cleaned_data

    def signup(self, request, user) -> None:
        """Nothing beyond allauth's own fields."""


class LoginForm(AllauthLoginForm):
    """allauth's sign-in form, with a label that says what the login field takes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        login = self.fields["login"]
        login.label = _("Email or mobile number")
        login.widget.attrs.update({"placeholder": "", "autocomplete": "username"})
