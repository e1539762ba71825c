from django.contrib import admin, messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import transaction
from django.shortcuts import redirect
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from apps.alumni.selectors import contact_rate_list
from apps.alumni.tasks import contact_rate_refresh_task
from apps.core.scoping import scope_for


@method_decorator(admin.site.admin_view, name="dispatch")
class ContactRateView(PermissionRequiredMixin, TemplateView):
    """Effective contact rate (有效联系率) per college, and per graduation year for one college."""

    permission_required = "alumni.view_contactratesnapshot"
    raise_exception = True
    template_name = "reports/contact_rate.html"

    def post(self, request, *args, **kwargs):
        if not scope_for(request.user).whole_school:
            return self.handle_no_permission()
        transaction.on_commit(lambda: contact_rate_refresh_task.delay())
        messages.success(request, _("The figures are being recomputed; reload this page in a minute."))
        return redirect(request.path)

    def get_context_data(self, **kwargs):
        rows = list(contact_rate_list(self.request.user))
        school = next((r for r in rows if r.college_id is None), None)
        colleges = [r for r in rows if r.college_id is not None and r.graduation_year is None]
        selected = self.request.GET.get("college", "")
        by_year = [r for r in rows if str(r.college_id) == selected and r.graduation_year is not None]
        return {
            **super().get_context_data(**kwargs),
            **admin.site.each_context(self.request),
            "title": _("Effective contact rate"),
            "school": school,
            "colleges": _bars(colleges, label=lambda r: r.college.name),
            "by_year": _bars(by_year, label=lambda r: str(r.graduation_year)),
            "selected_college": next((r.college for r in colleges if str(r.college_id) == selected), None),
            "computed_at": rows[0].computed_at if rows else None,
            "years_window": rows[0].years_window if rows else None,
            "can_refresh": scope_for(self.request.user).whole_school,
        }


def _bars(rows, *, label):
    return [{"row": r, "label": label(r), "percent": r.percent} for r in rows]
