"""Claim my record, as pages: the form, the code, the state of the claim."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.generic import FormView, TemplateView

from ..models import ClaimRequest
from ..selectors import claim_current, user_is_verified_alumnus
from . import texts
from .forms import ClaimConfirmForm, ClaimStartForm
from .ratelimit import CLAIM_CONFIRM, CLAIM_START, claim_attempt_allowed, client_ip
from .services import claim_confirm, claim_start


def _too_many(request):
    return render(request, "claim/claim_rate_limited.html", {"message": texts.TOO_MANY}, status=429)


class ClaimStartView(LoginRequiredMixin, FormView):
    """The claim form: name, birth date and student ID (or college and graduation year)."""

    template_name = "claim/claim_start.html"
    form_class = ClaimStartForm
    success_url = reverse_lazy("claim:confirm")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        claim = claim_current(self.request.user)
        context["linked"] = user_is_verified_alumnus(self.request.user)
        context["open_claim"] = claim if claim is not None and claim.is_open else None
        return context

    def post(self, request, *args, **kwargs):
        if user_is_verified_alumnus(request.user):
            raise PermissionDenied
        if not claim_attempt_allowed(request, action=CLAIM_START, user=request.user):
            return _too_many(request)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        claim_start(user=self.request.user, evidence=form.evidence(), ip_address=client_ip(self.request))
        messages.success(self.request, texts.SUBMITTED)
        return super().form_valid(form)


class ClaimConfirmView(LoginRequiredMixin, FormView):
    """Enter the code; every wrong, late or missing code gets the same answer."""

    template_name = "claim/claim_confirm.html"
    form_class = ClaimConfirmForm
    success_url = reverse_lazy("claim:status")

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            claim = claim_current(request.user)
            if claim is None or not claim.is_open:
                return redirect("claim:status")
            self.claim = claim
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if not claim_attempt_allowed(request, action=CLAIM_CONFIRM, user=request.user):
            return _too_many(request)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        if claim_confirm(claim=self.claim, code=form.cleaned_data["code"], ip_address=client_ip(self.request)):
            messages.success(self.request, texts.LINKED)
            return super().form_valid(form)
        form.add_error(None, texts.CODE_FAILED)
        return self.form_invalid(form)


class ClaimStatusView(LoginRequiredMixin, TemplateView):
    """Where the account stands: linked, a claim under way, or nothing yet."""

    template_name = "claim/claim_status.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        claim = claim_current(user)
        context["person"] = user.person if user_is_verified_alumnus(user) else None
        context["claim"] = claim
        if claim is not None:
            state = texts.public_state(claim)
            context["state"] = state
            context["state_label"] = texts.PublicState.LABELS[state]
            context["is_open"] = claim.status in ClaimRequest.OPEN_STATUSES
        return context
