from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CONSENT_CATEGORIES, MESSAGE_CHANNELS, Category, Channel, ContactPreference


def preference_cells() -> list[tuple[str, str]]:
    """The (channel, category) pairs an alumnus decides on the preference page."""
    cells = [(channel, category) for channel in MESSAGE_CHANNELS for category in CONSENT_CATEGORIES]
    return [*cells, (Channel.PUBLIC, Category.NEWS)]


def cell_name(channel: str, category: str) -> str:
    return f"{channel}__{category}"


class PreferencesForm(forms.Form):
    language = forms.ChoiceField(label=_("Language of our messages"), choices=ContactPreference.Language.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for channel, category in preference_cells():
            self.fields[cell_name(channel, category)] = forms.BooleanField(
                required=False, label=f"{Channel(channel).label} · {Category(category).label}"
            )

    def rows(self):
        """[(category label, [bound field per channel or None])] for the grid template."""
        grid = []
        for category in CONSENT_CATEGORIES:
            cells = [self[cell_name(ch, category)] for ch in MESSAGE_CHANNELS]
            grid.append((Category(category).label, cells))
        return grid


class MessageTestForm(forms.Form):
    addresses = forms.CharField(
        label=_("Send the test to"),
        help_text=_("Up to five email addresses or mobile numbers, separated by commas."),
        max_length=500,
        required=False,
        # The fields sit inside the admin change form but belong to the separate test form.
        widget=forms.TextInput(attrs={"form": "message-test", "size": 60}),
    )
    language = forms.ChoiceField(
        label=_("Version"),
        choices=ContactPreference.Language.choices,
        widget=forms.Select(attrs={"form": "message-test"}),
    )


class MessageScheduleForm(forms.Form):
    when = forms.SplitDateTimeField(
        label=_("Send at"),
        widget=forms.SplitDateTimeWidget(
            date_attrs={"form": "message-schedule", "type": "date"},
            time_attrs={"form": "message-schedule", "type": "time"},
        ),
    )
