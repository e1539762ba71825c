"""Forms of the portal pages: input shape only; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from apps.alumni.models import College, ContactChannel, Visibility

from .models import DataRightsRequest
from .services.profile import ADDABLE_KINDS
from .services.rights import REQUESTABLE_FIELDS

FIELD_LABELS = {
    "name": _("Name"),
    "former_names": _("Former names"),
    "gender": _("Gender"),
    "birth_date": _("Birth date"),
    "hometown": _("Hometown"),
    "id_number": _("ID-card number"),
    "photo": _("Photo"),
    "enrollments": _("Degrees"),
    "contacts": _("Contacts"),
    "employments": _("Employment"),
    "honours": _("Honours"),
    "chapters": _("Chapters"),
    "address": _("Postal address"),
    "city": _("Current city"),
}


class ContactAddForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[(k.value, k.label) for k in ADDABLE_KINDS])
    value = forms.CharField(label=_("Address or number"), max_length=255)


class ContactConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the email"),
        max_length=12,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class JobForm(forms.Form):
    organisation = forms.CharField(
        label=_("Employer"), max_length=200, required=False, help_text=_("Leave empty if you have none now.")
    )
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    city = forms.CharField(label=_("Current city"), max_length=64, required=False)


class AddressForm(forms.Form):
    address = forms.CharField(
        label=_("Postal address"),
        max_length=255,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only the alumni office sees your address."),
    )


class PrivacyForm(forms.Form):
    privacy_contacts = forms.ChoiceField(label=_("Who may see my contacts"), choices=Visibility.choices)
    privacy_employment = forms.ChoiceField(label=_("Who may see my employer and title"), choices=Visibility.choices)
    privacy_location = forms.ChoiceField(label=_("Who may see my current city"), choices=Visibility.choices)
    show_in_directory = forms.BooleanField(
        label=_("List me in the alumni directory"),
        required=False,
        help_text=_("Verified alumni can then find your name and degrees, and write to you through the portal."),
    )


class RightsRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("I ask for"), choices=DataRightsRequest.Kind.choices)
    fields = forms.MultipleChoiceField(
        label=_("About"),
        choices=[(f, FIELD_LABELS[f]) for f in REQUESTABLE_FIELDS],
        widget=forms.CheckboxSelectMultiple,
    )
    message = forms.CharField(
        label=_("Details"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For a correction, write what is wrong and what is right."),
    )


class DirectorySearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name"),
        max_length=60,
        required=False,
        help_text=_("Chinese characters or pinyin (zhangwei, zw)."),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    college = forms.ModelChoiceField(label=_("College"), queryset=College.objects.order_by("code"), required=False)
    year = forms.IntegerField(label=_("Graduation year"), min_value=1895, max_value=2100, required=False)
    school_class = forms.IntegerField(widget=forms.HiddenInput, required=False)
    city = forms.CharField(label=_("City"), max_length=64, required=False)
    employer = forms.CharField(label=_("Employer"), max_length=100, required=False)
    page = forms.IntegerField(widget=forms.HiddenInput, min_value=1, required=False)


class _ContactChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.get_kind_display()}: {obj.value}"


class MessageForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=120, required=False)
    body = forms.CharField(label=pgettext_lazy("relayed message", "Message"), max_length=4000, widget=forms.Textarea)
    share = _ContactChoices(
        label=_("Share these contacts of mine"),
        queryset=ContactChannel.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Nothing else about you is shared with the recipient."),
    )

    def __init__(self, *args, person=None, with_subject=True, **kwargs):
        super().__init__(*args, **kwargs)
        if person is not None:
            self.fields["share"].queryset = person.contacts.filter(kind__in=ADDABLE_KINDS).exclude(
                status__in=[ContactChannel.Status.OBSOLETE, ContactChannel.Status.BOUNCED]
            )
        if not with_subject:
            del self.fields["subject"]
