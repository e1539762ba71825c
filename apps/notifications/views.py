"""Portal pages: one-click unsubscribe (no login), the preference page and my notifications."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core import signing
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import ListView

from apps.alumni.models import Person

from .forms import PreferencesForm, cell_name, preference_cells
from .models import Category, Channel, ConsentEvent, ContactPreference
from .rendering import unsubscribe_token_read
from .selectors import notification_list
from .services import consent_set, consent_state, language_set
from .services.notify import notifications_mark_read


def unsubscribe_statement(category_label, channel_label) -> str:
    return _("I no longer want to receive %(category)s by %(channel)s from the alumni office.") % {
        "category": category_label,
        "channel": channel_label,
    }


def preferences_statement() -> str:
    return _(
        "Choose what the alumni office may send you, and whether it may name you in published news. "
        "You can change this at any time; service messages about your account are always sent."
    )


@method_decorator(csrf_exempt, name="dispatch")  # the signed token is the credential; no session is involved
class UnsubscribeView(View):
    """GET shows a confirmation (link scanners must not unsubscribe anyone); POST unsubscribes.

    Mail clients that support RFC 8058 POST ``List-Unsubscribe=One-Click`` here directly.
    """

    template_name = "notifications/unsubscribe.html"

    def _read(self, token):
        try:
            person_id, category, channel = unsubscribe_token_read(token)
        except (signing.BadSignature, ValueError, TypeError):
            raise Http404(_("This unsubscribe link is not valid.")) from None
        person = Person.objects.filter(pk=person_id).first()
        if person is None or category not in Category.values or channel not in Channel.values:
            raise Http404(_("This unsubscribe link is not valid."))
        return person, category, channel

    def get(self, request, token):
        _person, category, channel = self._read(token)
        return render(
            request,
            self.template_name,
            {"category": Category(category).label, "channel": Channel(channel).label, "done": False},
        )

    def post(self, request, token):
        person, category, channel = self._read(token)
        consent_set(
            person=person,
            channel=channel,
            category=category,
            granted=False,
            source=ConsentEvent.Source.UNSUBSCRIBE_LINK,
            statement=unsubscribe_statement(Category(category).label, Channel(channel).label),
        )
        return render(
            request,
            self.template_name,
            {"category": Category(category).label, "channel": Channel(channel).label, "done": True},
        )


class PreferencesView(LoginRequiredMixin, View):
    template_name = "notifications/preferences.html"

    def _person(self, request) -> Person:
        person = Person.objects.filter(user=request.user).first()
        if person is None:
            raise Http404(_("Your account is not linked to an alumni record yet."))
        return person

    def _initial(self, person) -> dict:
        state = consent_state(person)
        initial = {cell_name(ch, cat): state[(ch, cat)] for ch, cat in preference_cells()}
        initial["language"] = (
            ContactPreference.objects.filter(person=person).values_list("language", flat=True).first()
            or ContactPreference.Language.ZH_HANS
        )
        return initial

    def get(self, request):
        person = self._person(request)
        form = PreferencesForm(initial=self._initial(person))
        return render(request, self.template_name, {"form": form, "statement": preferences_statement()})

    def post(self, request):
        person = self._person(request)
        form = PreferencesForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "statement": preferences_statement()}, status=400)
        statement = preferences_statement()
        changed = 0
        for channel, category in preference_cells():
            event = consent_set(
                person=person,
                channel=channel,
                category=category,
                granted=form.cleaned_data[cell_name(channel, category)],
                source=ConsentEvent.Source.PORTAL,
                statement=statement,
                actor=request.user,
            )
            changed += event is not None
        language_set(person=person, language=form.cleaned_data["language"], actor=request.user)
        messages.success(request, _("Your preferences were saved."))
        return redirect("notifications:preferences")


class NotificationListView(LoginRequiredMixin, ListView):
    template_name = "notifications/notification_list.html"
    context_object_name = "notifications"
    paginate_by = 20

    def get_queryset(self):
        return notification_list(self.request.user)

    def post(self, request):
        notifications_mark_read(user=request.user)
        return redirect("notifications:notification-list")
