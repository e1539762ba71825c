"""Portal pages for verified alumni: home, my profile and privacy, my data, directory, messages, card."""

import io
import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from apps.alumni.models import Person
from apps.core.errors import ApplicationError
from apps.core.exporting import STYLE_HEADER, XLSX_CONTENT_TYPE, XlsxWriter, content_disposition

from . import selectors, services
from .api.views import directory_query
from .card import card_token, card_token_valid, qr_svg
from .forms import (
    AddressForm,
    ContactAddForm,
    ContactConfirmForm,
    DirectorySearchForm,
    JobForm,
    MessageForm,
    PrivacyForm,
    RightsRequestForm,
)
from .permissions import VerifiedAlumnusRequiredMixin, claim_url
from .throttles import CardVerifyThrottle, DirectoryThrottle, PortalWriteThrottle, page_throttled

NO_STORE = "no-store, private"


def _form_errors(form, exc: ValidationError, field: str | None = None) -> None:
    for message in exc.messages:
        form.add_error(field, message)


class HomeView(TemplateView):
    """The start page: what a visitor, an alumnus without a linked record and a verified alumnus can do."""

    template_name = "home.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        person = selectors.viewer_person(self.request.user)
        context.update(
            person=person,
            claim_url=claim_url(),
            unread=selectors.unread_count(person) if person is not None else 0,
        )
        return context


# --- my profile ----------------------------------------------------------------------------
class ProfileView(VerifiedAlumnusRequiredMixin, TemplateView):
    template_name = "portal/profile.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(selectors.my_profile(self.person))
        context["contact_form"] = kwargs.get("contact_form") or ContactAddForm()
        return context


class ContactAddView(VerifiedAlumnusRequiredMixin, View):
    def post(self, request):
        if (throttled := page_throttled(request, PortalWriteThrottle)) is not None:
            return throttled
        form = ContactAddForm(request.POST)
        if form.is_valid():
            try:
                contact = services.contact_add(person=self.person, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _form_errors(form, exc, "value")
            else:
                if contact.kind == "email":
                    messages.success(request, _("We sent a code to %(address)s.") % {"address": contact.value})
                    return redirect("portal:contact-confirm", contact.pk)
                messages.success(request, _("Added. It shows as self-reported until the office confirms it."))
                return redirect("portal:profile")
        view = ProfileView(request=request, person=self.person, kwargs={})
        context = view.get_context_data(contact_form=form)
        return TemplateResponse(request, ProfileView.template_name, context, status=400)


class _OwnContactMixin(VerifiedAlumnusRequiredMixin):
    def get_contact(self):
        contact = selectors.my_contact(self.person, self.kwargs["contact_id"])
        if contact is None:
            raise Http404
        return contact


class ContactConfirmView(_OwnContactMixin, FormView):
    template_name = "portal/contact_confirm.html"
    form_class = ContactConfirmForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(contact=self.get_contact(), **kwargs)

    def post(self, request, *args, **kwargs):
        if (throttled := page_throttled(request, PortalWriteThrottle)) is not None:
            return throttled
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            services.contact_confirm(
                contact=self.get_contact(), code=form.cleaned_data["code"], actor=self.request.user
            )
        except ValidationError as exc:
            _form_errors(form, exc, "code")
            return self.form_invalid(form)
        messages.success(self.request, _("Your email address is confirmed."))
        return redirect("portal:profile")


class ContactResendView(_OwnContactMixin, View):
    def post(self, request, contact_id):
        if (throttled := page_throttled(request, PortalWriteThrottle)) is not None:
            return throttled
        try:
            services.contact_confirmation_send(contact=self.get_contact())
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("A new code is on its way."))
        return redirect("portal:contact-confirm", contact_id)


class ContactRemoveView(_OwnContactMixin, View):
    def post(self, request, contact_id):
        services.contact_remove(contact=self.get_contact(), actor=request.user)
        messages.success(request, _("The contact was removed."))
        return redirect("portal:profile")


class JobEditView(VerifiedAlumnusRequiredMixin, FormView):
    template_name = "portal/job_form.html"
    form_class = JobForm

    def get_initial(self):
        job = selectors.my_profile(self.person)["current_job"]
        return {
            "organisation": job.organisation if job else "",
            "title": job.title if job else "",
            "city": self.person.city,
        }

    def form_valid(self, form):
        services.job_update(person=self.person, actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Your employer, title and city were saved."))
        return redirect("portal:profile")


class AddressEditView(VerifiedAlumnusRequiredMixin, FormView):
    template_name = "portal/address_form.html"
    form_class = AddressForm

    def get_initial(self):
        address = selectors.my_profile(self.person)["address"]
        return {"address": address.value if address else ""}

    def form_valid(self, form):
        services.address_update(person=self.person, value=form.cleaned_data["address"], actor=self.request.user)
        messages.success(self.request, _("Your address was saved."))
        return redirect("portal:profile")


class PrivacyView(VerifiedAlumnusRequiredMixin, FormView):
    template_name = "portal/privacy_form.html"
    form_class = PrivacyForm

    def get_initial(self):
        p = self.person
        return {
            "privacy_contacts": p.privacy_contacts,
            "privacy_employment": p.privacy_employment,
            "privacy_location": p.privacy_location,
            "show_in_directory": p.show_in_directory,
        }

    def form_valid(self, form):
        data = form.cleaned_data
        services.privacy_update(
            person=self.person,
            contacts=data["privacy_contacts"],
            employment=data["privacy_employment"],
            location=data["privacy_location"],
            show_in_directory=data["show_in_directory"],
            actor=self.request.user,
        )
        selectors.forget_viewer(self.request.user)
        messages.success(self.request, _("Your privacy settings were saved."))
        return redirect("portal:privacy")


class MyPhotoView(VerifiedAlumnusRequiredMixin, View):
    """My own photo (media files are not public)."""

    def get(self, request):
        if not self.person.photo:
            raise Http404
        response = FileResponse(self.person.photo.open("rb"))
        response["Cache-Control"] = NO_STORE
        return response


# --- my data -------------------------------------------------------------------------------
class MyDataView(VerifiedAlumnusRequiredMixin, FormView):
    """Download a copy of my data; ask for a correction or deletion; follow my requests."""

    template_name = "portal/my_data.html"
    form_class = RightsRequestForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(requests=selectors.my_rights_requests(self.person), **kwargs)

    def form_valid(self, form):
        services.rights_request_create(person=self.person, actor=self.request.user, **form.cleaned_data)
        messages.success(self.request, _("Your request was sent to the alumni office."))
        return redirect("portal:my-data")


class MyDataDownloadView(VerifiedAlumnusRequiredMixin, View):
    def get(self, request, file_format):
        data = selectors.my_data(self.person)
        services.my_data_copy_record(person=self.person, actor=request.user, file_format=file_format)
        stamp = timezone.localdate().isoformat()
        if file_format == "json":
            response = HttpResponse(
                json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
                content_type="application/json; charset=utf-8",
            )
            response["Content-Disposition"] = content_disposition(f"my-alumni-data-{stamp}.json")
        else:
            buffer = io.BytesIO()
            writer = XlsxWriter(buffer, columns=4, sheet_title=_("My data"), widths=(18, 6, 22, 60), freeze_rows=1)
            writer.write_row([_("Section"), "#", _("Field"), _("Value")], style=STYLE_HEADER)
            for section, content in data.items():
                items = content if isinstance(content, list) else [content]
                for number, item in enumerate(items, start=1):
                    pairs = item.items() if isinstance(item, dict) else [("", item)]
                    for key, value in pairs:
                        plain = (
                            value if isinstance(value, str | int | None) else json.dumps(value, cls=DjangoJSONEncoder)
                        )
                        writer.write_row([section, number, key, plain])
            writer.close()
            response = HttpResponse(buffer.getvalue(), content_type=XLSX_CONTENT_TYPE)
            response["Content-Disposition"] = content_disposition(f"my-alumni-data-{stamp}.xlsx")
        response["Cache-Control"] = NO_STORE
        return response


# --- directory -----------------------------------------------------------------------------
class DirectoryView(VerifiedAlumnusRequiredMixin, TemplateView):
    """Search form and results; htmx requests get the results fragment only."""

    template_name = "portal/directory.html"

    def get(self, request, *args, **kwargs):
        form = DirectorySearchForm(request.GET or None)
        context = {"form": form, "page": None, "searched": False}
        if form.is_bound and form.is_valid():
            data = {**form.cleaned_data, "college": form.cleaned_data["college"] and form.cleaned_data["college"].pk}
            query = directory_query(data)
            if not query.is_empty:
                if (throttled := page_throttled(request, DirectoryThrottle)) is not None:
                    return throttled
                page = services.directory_lookup(self.person, query)
                args = request.GET.copy()
                args.pop("page", None)
                context.update(page=page, searched=True, query_string=args.urlencode())
        if request.headers.get("HX-Request"):
            return TemplateResponse(request, "portal/_directory_results.html", context)
        context["my_classes"] = [d for d in selectors.my_profile_degrees(self.person) if d.school_class_id]
        return TemplateResponse(request, self.template_name, context)


class DirectoryPersonView(VerifiedAlumnusRequiredMixin, TemplateView):
    template_name = "portal/directory_person.html"

    def get_context_data(self, **kwargs):
        entry = selectors.directory_entry(self.person, self.kwargs["person_id"])
        if entry is None:
            raise Http404
        return super().get_context_data(entry=entry, **kwargs)


# --- relayed messages --------------------------------------------------------------------------
class MessageComposeView(VerifiedAlumnusRequiredMixin, FormView):
    template_name = "portal/message_form.html"
    form_class = MessageForm

    def _recipient(self):
        entry = selectors.directory_entry(self.person, self.kwargs["person_id"])
        if entry is None or entry.id == self.person.pk:
            raise Http404
        return entry

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "person": self.person}

    def get_context_data(self, **kwargs):
        return super().get_context_data(recipient=self._recipient(), **kwargs)

    def form_valid(self, form):
        recipient = self._recipient()
        try:
            conversation = services.relay_send(
                sender=self.person,
                recipient=Person.objects.get(pk=recipient.id),
                subject=form.cleaned_data["subject"],
                body=form.cleaned_data["body"],
                contact_ids=[c.pk for c in form.cleaned_data["share"]],
                actor=self.request.user,
            )
        except services.RelayRateLimited as exc:
            form.add_error(None, exc.message)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        except ValidationError as exc:
            _form_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Your message was sent."))
        return redirect("portal:conversation-detail", conversation.pk)


class InboxView(VerifiedAlumnusRequiredMixin, TemplateView):
    template_name = "portal/inbox.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            person=self.person,
            conversations=selectors.my_conversations(self.person)[:100],
            blocks=selectors.my_blocks(self.person),
            **kwargs,
        )


class ConversationView(VerifiedAlumnusRequiredMixin, FormView):
    template_name = "portal/conversation.html"
    form_class = MessageForm

    def _conversation(self):
        conversation = selectors.my_conversation(self.person, self.kwargs["conversation_id"])
        if conversation is None:
            raise Http404
        return conversation

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "person": self.person, "with_subject": False}

    def get_context_data(self, **kwargs):
        conversation = self._conversation()
        services.relay_mark_read(person=self.person, conversation=conversation)
        other_id = conversation.other(self.person.pk)
        other = conversation.recipient if other_id == conversation.recipient_id else conversation.starter
        return super().get_context_data(
            conversation=conversation,
            other=other,
            messages_list=selectors.conversation_messages(self.person, conversation),
            blocked=selectors.is_blocked(blocker=self.person, blocked=other),
            **kwargs,
        )

    def form_valid(self, form):
        conversation = self._conversation()
        try:
            services.relay_reply(
                conversation=conversation,
                author=self.person,
                body=form.cleaned_data["body"],
                contact_ids=[c.pk for c in form.cleaned_data["share"]],
                actor=self.request.user,
            )
        except services.RelayRateLimited as exc:
            form.add_error(None, exc.message)
            return self.render_to_response(self.get_context_data(form=form), status=429)
        except (ValidationError, ApplicationError) as exc:
            form.add_error(None, getattr(exc, "message", None) or " ".join(exc.messages))
            return self.form_invalid(form)
        messages.success(self.request, _("Your reply was sent."))
        return redirect("portal:conversation-detail", conversation.pk)


class BlockView(VerifiedAlumnusRequiredMixin, View):
    """Block or unblock the other person of one of my conversations."""

    def post(self, request, conversation_id):
        conversation = selectors.my_conversation(self.person, conversation_id)
        if conversation is None:
            raise Http404
        other_id = conversation.other(self.person.pk)
        if request.POST.get("action") == "unblock":
            services.relay_unblock(blocker=self.person, blocked_id=other_id)
            messages.success(request, _("You will receive their messages again."))
        else:
            services.relay_block(blocker=self.person, blocked_id=other_id)
            messages.success(request, _("Blocked. You will receive nothing more from them; they are not told."))
        return redirect("portal:conversation-detail", conversation.pk)


# --- alumni card -----------------------------------------------------------------------------
class CardView(VerifiedAlumnusRequiredMixin, TemplateView):
    template_name = "portal/card.html"

    def get_context_data(self, **kwargs):
        token = card_token(self.person)
        verify_url = self.request.build_absolute_uri(reverse("portal:card-verify", args=[token.token]))
        return super().get_context_data(
            person=self.person,
            degrees=selectors.person_degrees(self.person.pk),
            token=token,
            verify_url=verify_url,
            qr=qr_svg(verify_url),
            **kwargs,
        )


def card_verify(request, token: str):
    """Public: a guard or shop scans the QR; the answer is "valid alumnus" or "invalid or expired", nothing else."""
    if (throttled := page_throttled(request, CardVerifyThrottle)) is not None:
        return throttled
    valid = card_token_valid(token)
    response = TemplateResponse(request, "portal/card_verify.html", {"valid": valid}, status=200 if valid else 404)
    response["Cache-Control"] = NO_STORE
    response["X-Robots-Tag"] = "noindex"
    return response
