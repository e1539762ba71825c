from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

from apps.alumni.models import College

from .matching import ClaimEvidence

YEAR_MIN, YEAR_MAX = 1895, 2100


class ClaimStartForm(forms.Form):
    name = forms.CharField(
        label=_("Full name"),
        max_length=100,
        help_text=_("As it was on your student record."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    birth_date = forms.DateField(
        label=_("Birth date"), widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"})
    )
    student_id = forms.CharField(
        label=_("Student ID"),
        max_length=32,
        required=False,
        help_text=_("Any of your student IDs. If you do not remember it, give your college and graduation year."),
    )
    college = forms.ModelChoiceField(
        label=_("College"), queryset=College.objects.order_by("code"), to_field_name="code", required=False
    )
    graduation_year = forms.IntegerField(
        label=_("Graduation year"), min_value=YEAR_MIN, max_value=YEAR_MAX, required=False
    )

    def clean(self):
        cleaned_data = super().clean()
        has_class = cleaned_data.get("college") and cleaned_data.get("graduation_year")
        if not self.errors and not cleaned_data.get("student_id") and not has_class:
            raise forms.ValidationError(
                _("Give your student ID, or your college and graduation year."), code="student_id_or_class"
            )
        return cleaned_data

    def evidence(self) -> ClaimEvidence:
        data = self.cleaned_data
        return ClaimEvidence(
            name=data["name"],
            birth_date=data["birth_date"],
            student_id=data.get("student_id") or "",
            college=data.get("college"),
            graduation_year=data.get("graduation_year"),
        )


class ClaimConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        min_length=6,
        max_length=6,
        validators=[RegexValidator(r"^\d{6}$", _("The code has 6 digits."))],
        help_text=_("The 6-digit code we sent to the email address or mobile number on your record."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
