from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.alumni.models import YEAR_VALIDATORS, Honour


class MatchUploadForm(forms.Form):
    file = forms.FileField(
        label=_("List file"),
        help_text=_("CSV (UTF-8 or GBK) or Excel workbook (.xlsx); the first row names the columns."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt"}),
    )
    honour_kind = forms.ChoiceField(
        label=_("Honour kind"),
        choices=Honour.Kind.choices,
        initial=Honour.Kind.OTHER,
        help_text=_("For rows whose list does not say it (a column such as 荣誉 or 类别 wins)."),
    )
    honour_title = forms.CharField(
        label=_("Honour title"), max_length=200, required=False, help_text=_("For example 中国工程院院士.")
    )
    honour_year = forms.IntegerField(
        label=_("Honour year"), required=False, validators=YEAR_VALIDATORS, help_text=_("For rows without a year.")
    )
    source_name = forms.CharField(label=_("Source"), max_length=200, required=False)
    source_url = forms.URLField(label=_("Source URL"), max_length=200, required=False)
    tag_name = forms.CharField(
        label=_("Tag for confirmed people"),
        max_length=50,
        required=False,
        help_text=_("Left empty, a tag that fits the honour kind is used (院士, 全国劳模 ...)."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.MATCHING_MAX_BYTES
        if limit and upload.size > limit:
            raise forms.ValidationError(
                _("The file is larger than the limit of %(limit)s MB.") % {"limit": limit // (1024 * 1024)},
                code="too_large",
            )
        return upload
