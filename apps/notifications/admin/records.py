from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy

from apps.alumni.selectors import visible_people
from apps.core.paginator import EstimatedCountPaginator

from ..models import CONSENT_CATEGORIES, BounceEvent, ConsentEvent, OutboxItem, WebhookSubscription
from ..selectors import visible_bounces, visible_consent_events, visible_outbox, visible_webhook_subscriptions
from ..services import channel_mark_bounced, consent_set, webhook_subscription_save
from ..services.webhooks import webhook_events
from .segments import ScopedAdmin


class ReadOnlyAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxItem)
class OutboxItemAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "status", "priority", "category", "message", "address", "attempts", "sent_at"]
    list_filter = ["status", "kind", "priority"]
    search_fields = ["=address", "=dedupe_key"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_select_related = ["message"]
    exclude = ["claim_token"]

    def get_queryset(self, request):
        return visible_outbox(request.user)


class BounceForm(forms.ModelForm):
    class Meta:
        model = BounceEvent
        fields = ["channel_kind", "address", "kind", "reason"]
        widgets = {
            "channel_kind": forms.Select(choices=[("email", gettext_lazy("Email")), ("mobile", gettext_lazy("Mobile"))])
        }


@admin.register(BounceEvent)
class BounceEventAdmin(ScopedAdmin):
    form = BounceForm
    list_display = ["address", "channel_kind", "kind", "source", "channels_marked", "created_at"]
    list_filter = ["kind", "source", "channel_kind"]
    search_fields = ["=address"]

    def get_queryset(self, request):
        return visible_bounces(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        event = channel_mark_bounced(
            kind=obj.channel_kind,
            address=obj.address,
            source=BounceEvent.Source.STAFF,
            bounce_kind=obj.kind,
            reason=obj.reason,
            actor=request.user,
        )
        obj.pk = event.pk


class ConsentEventForm(forms.ModelForm):
    class Meta:
        model = ConsentEvent
        fields = ["person", "channel", "category", "granted", "statement"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # SERVICE messages need no consent: consent_set refuses that category.
        allowed = {"", *CONSENT_CATEGORIES}
        self.fields["category"].choices = [c for c in self.fields["category"].choices if c[0] in allowed]


@admin.register(ConsentEvent)
class ConsentEventAdmin(ScopedAdmin):
    """The consent history; staff may add an entry (e.g. an alumnus agreed by phone), never change one."""

    form = ConsentEventForm
    list_display = ["person", "channel", "category", "granted", "source", "created_at"]
    list_filter = ["channel", "category", "granted", "source"]
    autocomplete_fields = ["person"]
    list_select_related = ["person"]
    show_full_result_count = False

    def get_queryset(self, request):
        return visible_consent_events(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "person":
            kwargs["queryset"] = visible_people(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        event = consent_set(
            person=obj.person,
            channel=obj.channel,
            category=obj.category,
            granted=obj.granted,
            source=ConsentEvent.Source.STAFF,
            statement=obj.statement,
            actor=request.user,
        )
        if event is None:  # the answer was already that: point at the event that recorded it
            event = (
                ConsentEvent.objects.filter(person=obj.person, channel=obj.channel, category=obj.category)
                .order_by("-id")
                .first()
            )
        obj.pk = event.pk if event is not None else None


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(label=gettext_lazy("events"), widget=forms.CheckboxSelectMultiple)
    secret = forms.CharField(
        label=gettext_lazy("signing secret"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=gettext_lazy("Leave empty to keep the current secret."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "events", "secret", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["events"].choices = list(webhook_events().items())
        self._old_secret = self.instance.secret if self.instance.pk else ""

    def clean_secret(self):
        secret = self.cleaned_data.get("secret") or self._old_secret
        if len(secret) < 16:
            raise forms.ValidationError(gettext_lazy("Use a secret of at least 16 characters."))
        return secret


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ScopedAdmin):
    form = WebhookSubscriptionForm
    list_display = ["name", "url", "is_active", "created_by", "updated_at"]
    list_filter = ["is_active"]

    def get_queryset(self, request):
        return visible_webhook_subscriptions(request.user)

    def save_model(self, request, obj, form, change):
        webhook_subscription_save(subscription=obj, actor=request.user)
