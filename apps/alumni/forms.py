from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .identity import MAX_FILE_BYTES, MAX_ROWS, parse_pasted, parse_upload


class IdentityCheckForm(forms.Form):
    """A list to check: pasted rows or an uploaded CSV/XLSX file, and why it is being checked."""

    purpose = forms.CharField(
        label=_("Purpose"),
        max_length=200,
        help_text=_("Who asked and why, e.g. “publicity department request for the anniversary booklet”."),
    )
    text = forms.CharField(
        label=_("Pasted list"),
        required=False,
        strip=False,  # a leading tab is an empty first column, a leading blank line still counts
        widget=forms.Textarea(attrs={"rows": 12, "cols": 80, "spellcheck": "false"}),
        help_text=_(
            "One person per line: name and student ID, or name and graduation year, optionally the college. "
            "Columns may be separated by tabs (as copied from Excel), commas or spaces. "
            "At most %(max)s rows per check."
        ),
    )
    file = forms.FileField(
        label=_("Or upload a file"),
        required=False,
        help_text=_(
            "CSV or XLSX with a header row: 姓名/name, 学号/student ID, 毕业年份/graduation year, 学院/college."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].help_text = str(self.fields["text"].help_text) % {"max": f"{MAX_ROWS:,}"}

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("text") or ""
        upload = cleaned.get("file")
        if bool(text.strip()) == bool(upload):
            raise ValidationError(_("Paste a list or upload a file (one of the two)."), code="one_source")
        if upload:
            if upload.size > MAX_FILE_BYTES:
                raise ValidationError(
                    _("The file is larger than %(size)s MB.") % {"size": MAX_FILE_BYTES // (1024 * 1024)},
                    code="too_large",
                )
            cleaned["rows"] = parse_upload(upload.name, upload.read())
            cleaned["source"] = upload.name
        else:
            cleaned["rows"] = parse_pasted(text)
            cleaned["source"] = ""
        if not cleaned["rows"]:
            raise ValidationError(_("The list has no rows to check."), code="empty")
        return cleaned
