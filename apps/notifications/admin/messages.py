from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.core.errors import ApplicationError

from ..forms import MessageScheduleForm, MessageTestForm
from ..models import Message
from ..permissions import can_send_message
from ..selectors import visible_messages, visible_segments
from ..services import message_cancel, message_save, message_schedule, message_send_now, message_test_send
from ..services.messages import message_content_check
from .segments import ScopedAdmin

_PROGRESS_FIELDS = [
    "status",
    "percent",
    "audience_count",
    "recipients_count",
    "no_channel_count",
    "sent_count",
    "failed_count",
    "skipped_count",
]


class MessageForm(forms.ModelForm):
    class Meta:
        model = Message
        fields = [
            "name",
            "channel",
            "category",
            "segment",
            "subject_zh",
            "text_zh",
            "html_zh",
            "subject_en",
            "text_en",
            "html_en",
        ]

    def clean(self):
        """The service's content check (placeholders, subjects) on the form, not a 500 on save."""
        cleaned = super().clean()
        names = ["channel", "subject_zh", "subject_en", "text_zh", "text_en", "html_zh", "html_en"]
        if all(name in self.fields for name in names):  # an editable draft
            try:
                message_content_check(Message(**{name: cleaned.get(name) or "" for name in names}))
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    if name not in self.errors:
                        self.add_error(name, errors)
        return cleaned


@admin.register(Message)
class MessageAdmin(ScopedAdmin):
    form = MessageForm
    list_display = ["name", "channel", "category", "status", "recipients_count", "sent_count", "created_at"]
    list_filter = ["status", "channel", "category"]
    search_fields = ["name"]
    list_select_related = ["segment"]
    change_form_template = "notifications/admin/message_change_form.html"
    show_full_result_count = False
    readonly_fields = [
        "status",
        "created_by",
        "sent_by",
        "test_sent_at",
        "scheduled_at",
        "send_requested_at",
        "started_at",
        "finished_at",
        *_PROGRESS_FIELDS[2:],
    ]

    def get_queryset(self, request):
        return visible_messages(request.user)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (obj is None or can_send_message(request.user, obj))

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.status == Message.Status.DRAFT)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return [*MessageForm.Meta.fields, *self.readonly_fields]
        return self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "segment":
            kwargs["queryset"] = visible_segments(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        try:
            message_save(message=obj, actor=request.user)
        except ApplicationError as exc:
            raise PermissionDenied(exc.message) from exc

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "test_form": MessageTestForm(initial={"addresses": request.user.email, "language": "zh-hans"}),
            "schedule_form": MessageScheduleForm(),
            "progress_url": reverse("admin:notifications_message_progress", args=[object_id]),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        def view(name, func):
            return path(f"<int:pk>/{name}/", self.admin_site.admin_view(func), name=f"notifications_message_{name}")

        return [
            view("progress", self.progress_view),
            view("test", self.test_view),
            view("send", self.send_view),
            view("schedule", self.schedule_view),
            view("cancel", self.cancel_view),
            *super().get_urls(),
        ]

    def _message(self, request, pk) -> Message:
        message = visible_messages(request.user).filter(pk=pk).first()
        if message is None or not self.has_view_or_change_permission(request, message):
            raise Http404(_("No such record."))
        return message

    def progress_view(self, request, pk):
        message = self._message(request, pk)
        data = {name: getattr(message, name) for name in _PROGRESS_FIELDS}
        data["status_label"] = message.get_status_display()
        return JsonResponse(data)

    def _step(self, request, pk, action):
        if request.method != "POST":
            return redirect("admin:notifications_message_change", pk)
        message = self._message(request, pk)
        try:
            note = action(message)
        except PermissionDenied:
            raise
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, note, messages.SUCCESS)
        return redirect("admin:notifications_message_change", pk)

    def test_view(self, request, pk):
        def action(message):
            form = MessageTestForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Check the test addresses."))
            addresses = form.cleaned_data["addresses"].replace("，", ",").split(",")
            sent = message_test_send(
                message=message, actor=request.user, addresses=addresses, language=form.cleaned_data["language"]
            )
            return _("Test sent (%(count)s).") % {"count": sent}

        return self._step(request, pk, action)

    def send_view(self, request, pk):
        def action(message):
            message_send_now(message=message, actor=request.user)
            return _("Sending started: the recipients are being prepared.")

        return self._step(request, pk, action)

    def schedule_view(self, request, pk):
        def action(message):
            form = MessageScheduleForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Give a date and time."))
            message_schedule(message=message, actor=request.user, when=form.cleaned_data["when"])
            return _("Scheduled.")

        return self._step(request, pk, action)

    def cancel_view(self, request, pk):
        def action(message):
            message_cancel(message=message, actor=request.user)
            return _("Cancelled; nothing more will be sent.")

        return self._step(request, pk, action)

    @admin.display(description=gettext_lazy("progress (%)"))
    def percent(self, obj):
        return obj.percent
