import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from apps.alumni.exports import DEFAULT_FIELDS, FIELDS, PROFILE_FIELDS, export_fields_allowed, export_fields_check
from apps.alumni.models import Enrollment, Honour

from .models import DataRequest, ExportJob
from .selectors import visible_recipients


def _choices(keys) -> list[tuple[str, str]]:
    return [(key, capfirst(FIELDS[key].label)) for key in keys]


class PersonExportForm(forms.Form):
    """The field picker: it offers only the fields the user may export."""

    format = forms.ChoiceField(
        label=_("format"), choices=ExportJob.Format.choices, initial=ExportJob.Format.XLSX, widget=forms.RadioSelect
    )
    fields = forms.MultipleChoiceField(label=_("columns"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = [f.key for f in export_fields_allowed(user)]
        self.fields["fields"].choices = _choices(allowed)
        self.fields["fields"].initial = [k for k in DEFAULT_FIELDS if k in allowed]


class _ListField(forms.CharField):
    """A list of short names typed with commas (either width) or enumeration commas between them."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list | tuple) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in re.split(r"[,，、;；\s]+", text) if part.strip()]


class DataRequestForm(forms.ModelForm):
    requested_fields = forms.MultipleChoiceField(
        label=_("requested fields"),
        choices=_choices(FIELDS),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Ask only for what the purpose needs. Profile sheets show the name, gender, birth date, place, "
            "degrees, career and honours."
        ),
    )
    filter_degree_levels = forms.MultipleChoiceField(
        label=_("degree levels"),
        choices=Enrollment.DegreeLevel.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    filter_honour_kinds = forms.MultipleChoiceField(
        label=_("honours"), choices=Honour.Kind.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    filter_provinces = _ListField(
        label=_("provinces"), required=False, help_text=_("Current province, several separated by commas.")
    )

    class Meta:
        model = DataRequest
        fields = [
            "recipient",
            "kind",
            "purpose",
            "legal_basis",
            "legal_basis_detail",
            "impact_assessment",
            "requested_fields",
            "filter_colleges",
            "filter_degree_levels",
            "filter_enrollment_year_from",
            "filter_enrollment_year_to",
            "filter_graduation_year_from",
            "filter_graduation_year_to",
            "filter_honour_kinds",
            "filter_provinces",
            "people",
            "retention_until",
        ]

    user = None  # set by the admin

    def clean_recipient(self):
        recipient = self.cleaned_data["recipient"]
        if self.user is not None and not visible_recipients(self.user).filter(pk=recipient.pk, is_active=True).exists():
            raise ValidationError(_("Choose one of your active recipients."), code="recipient")
        return recipient

    def clean(self):
        data = super().clean()
        kind, fields = data.get("kind"), data.get("requested_fields") or []
        if kind and fields:
            allowed = PROFILE_FIELDS if kind == DataRequest.Kind.PROFILE_SHEETS else None
            if kind == DataRequest.Kind.PROFILE_SHEETS and "name" not in fields:
                fields = data["requested_fields"] = ["name", *fields]
            try:
                export_fields_check(None, fields, allowed_keys=allowed)
            except ValidationError as exc:
                self.add_error("requested_fields", exc)
        if (
            data.get("legal_basis") == DataRequest.LegalBasis.OTHER
            and not (data.get("legal_basis_detail") or "").strip()
        ):
            self.add_error("legal_basis_detail", _("State the basis when it is neither consent nor a statutory duty."))
        return data


class DataRequestApproveForm(forms.Form):
    fields = forms.MultipleChoiceField(
        label=_("approved fields"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Untick what the purpose does not need; the file holds only the ticked fields."),
    )
    note = forms.CharField(label=_("approval note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, request: DataRequest, user, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = {f.key for f in export_fields_allowed(user)}
        offered = [k for k in request.requested_fields if k in allowed]
        self.fields["fields"].choices = _choices(offered)
        self.fields["fields"].initial = offered


class DataRequestRefuseForm(forms.Form):
    reason = forms.CharField(label=_("reason for refusal"), widget=forms.Textarea(attrs={"rows": 4}))


class ConfirmForm(forms.Form):
    """A POST with nothing but the CSRF token: the page states what will happen."""
