"""Staff tools under /admin/alumni-tools/: admin-styled pages outside the model admin."""

from django.contrib import admin
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from . import identity
from .forms import IdentityCheckForm

IDENTITY_PERMISSIONS = ("alumni.view_person", "alumni.check_identity")


class _StaffToolMixin(PermissionRequiredMixin):
    permission_required = IDENTITY_PERMISSIONS
    raise_exception = True  # signed-in staff without the right get 403, not a login loop

    def admin_context(self, **extra):
        return {**admin.site.each_context(self.request), **extra}


@method_decorator(admin.site.admin_view, name="dispatch")
class IdentityCheckView(_StaffToolMixin, FormView):
    """Paste or upload a list and find out who on it is an alumnus (审核校友身份)."""

    form_class = IdentityCheckForm
    template_name = "alumni/identity_check_form.html"

    def form_valid(self, form):
        try:
            check = identity.identity_check_run(
                actor=self.request.user,
                purpose=form.cleaned_data["purpose"],
                rows=form.cleaned_data["rows"],
                source=form.cleaned_data["source"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        return redirect("alumni:identity-check-detail", pk=check.pk)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            **self.admin_context(title=_("Identity check")),
            "recent": list(identity.identity_check_list(self.request.user)[:10]),
            "max_rows": identity.MAX_ROWS,
        }


@method_decorator(admin.site.admin_view, name="dispatch")
class IdentityCheckDetailView(_StaffToolMixin, TemplateView):
    template_name = "alumni/identity_check_detail.html"

    def get_context_data(self, **kwargs):
        check = get_object_or_404(identity.identity_check_list(self.request.user), pk=kwargs["pk"])
        return {
            **super().get_context_data(**kwargs),
            **self.admin_context(title=_("Identity check #%(id)s") % {"id": check.pk}),
            "check": check,
            "summary": identity.summary_text(check),
            "lines": identity.result_lines(check),
            "kept_days": identity.RESULTS_KEPT_DAYS,
        }


@method_decorator(admin.site.admin_view, name="dispatch")
class IdentityCheckDownloadView(_StaffToolMixin, View):
    def get(self, request, pk):
        check = get_object_or_404(identity.identity_check_list(request.user), pk=pk)
        if check.results_cleared_at is not None:
            raise Http404(_("The results of this check have been cleared."))
        data = identity.identity_check_xlsx(check=check, actor=request.user)
        response = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="identity-check-{check.pk}.xlsx"'
        return response
