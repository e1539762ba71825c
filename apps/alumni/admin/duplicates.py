"""Admin for likely-duplicate pairs: the review queue, its decisions, and the scan that fills it."""

from urllib.parse import urlsplit

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, Value
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from apps.core.errors import ApplicationError
from apps.core.paginator import EstimatedCountPaginator
from apps.core.scoping import scope_for

from ..duplicates import (
    duplicate_pair_list,
    duplicate_pairs_mark_not_same,
    duplicate_pairs_reopen,
    duplicate_scan_latest,
    duplicate_scan_request,
    evidence_text,
)
from ..duplicates.scan import STEP_LABELS
from ..models import DuplicatePair, DuplicateScan

MAX_BULK_DECISIONS = 500

RULE_NAMES = {
    "id_number": gettext_lazy("ID-card number"),
    "mobile": gettext_lazy("mobile"),
    "email": gettext_lazy("email"),
    "wechat": gettext_lazy("WeChat ID"),
    "name_birth": gettext_lazy("name and birth date"),
    "name_class": gettext_lazy("name within a class"),
}


class DuplicateStatusFilter(admin.SimpleListFilter):
    """The queue to review by default; decided pairs on request."""

    title = gettext_lazy("status")
    parameter_name = "status"
    ALL = "all"

    def lookups(self, request, model_admin):
        return [*DuplicatePair.Status.choices, (self.ALL, _("All"))]

    def choices(self, changelist):
        value = self.value() or DuplicatePair.Status.PENDING
        for lookup, title in self.lookup_choices:
            yield {
                "selected": value == str(lookup),
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request, queryset):
        value = self.value() or DuplicatePair.Status.PENDING
        if value == self.ALL:
            return queryset
        if value not in DuplicatePair.Status.values:
            return queryset.none()
        return queryset.filter(status=value)


def can_start_scan(user) -> bool:
    """Scans read every record, so only whole-school staff with the right may start one."""
    return user.has_perm("alumni.add_duplicatescan") and scope_for(user).whole_school


def scan_status(scan: DuplicateScan | None, *, whole_school: bool) -> dict:
    """The last scan as plain values for the page and its poller.

    The skipped groups' values (a masked phone, a name and birth date) may belong to anyone, so
    only whole-school staff see them; others see how many groups were skipped.
    """
    if scan is None:
        return {"exists": False}
    summary = scan.summary or {}
    skipped = []
    for item in summary.get("skipped", []):
        largest = (item.get("largest") or [{}])[0]
        values = {
            "rule": RULE_NAMES.get(item["rule"], item["rule"]),
            "groups": item["groups"],
            "value": largest.get("value") or "-",
            "people": largest.get("people", "-"),
        }
        if whole_school:
            text = ngettext(
                "%(rule)s: %(groups)s group skipped (the largest: %(value)s, shared by %(people)s people)",
                "%(rule)s: %(groups)s groups skipped (the largest: %(value)s, shared by %(people)s people)",
                item["groups"],
            )
        else:
            text = ngettext(
                "%(rule)s: %(groups)s group skipped (the largest shared by %(people)s people)",
                "%(rule)s: %(groups)s groups skipped (the largest shared by %(people)s people)",
                item["groups"],
            )
        skipped.append(text % values)
    by_confidence = summary.get("by_confidence", {})
    return {
        "exists": True,
        "id": scan.pk,
        "status": scan.status,
        "status_label": str(scan.get_status_display()),
        "active": scan.status in (DuplicateScan.Status.PENDING, DuplicateScan.Status.RUNNING),
        "progress": scan.progress,
        "step": str(STEP_LABELS.get(scan.step, "")),
        "requested_at": date_format(scan.created_at, "Y-m-d H:i") if scan.created_at else "",
        "finished_at": date_format(scan.finished_at, "Y-m-d H:i") if scan.finished_at else "",
        "pairs_found": scan.pairs_found,
        "pairs_new": scan.pairs_new,
        "pairs_removed": scan.pairs_removed,
        "high": by_confidence.get("high", 0),
        "medium": by_confidence.get("medium", 0),
        "low": by_confidence.get("low", 0),
        "people": summary.get("people"),
        "seconds": summary.get("seconds"),
        "skipped": skipped,
        "failed": scan.status == DuplicateScan.Status.FAILED,
    }


@admin.register(DuplicatePair)
class DuplicatePairAdmin(admin.ModelAdmin):
    list_display = ["confidence_badge", "record_a", "record_b", "evidence_summary", "status", "review"]
    list_display_links = None
    list_filter = [DuplicateStatusFilter, "confidence"]
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    ordering = ["-confidence", "-id"]
    actions = ["mark_not_same", "reopen"]
    change_list_template = "admin/alumni/duplicates/change_list.html"
    fields = ["confidence_badge", "record_a", "record_b", "evidence_summary", "status", "decided_by", "decided_at"]
    readonly_fields = fields

    class Media:
        css = {"all": ["alumni/tools.css"]}
        js = ["alumni/duplicate_scan.js"]

    # --- scoping and rights ---------------------------------------------------------------------
    def get_queryset(self, request):
        # The user's rights ride along on each row: list_display methods never see the request.
        user = request.user
        return duplicate_pair_list(user).annotate(
            can_merge=Value(user.has_perm("alumni.merge_person"), output_field=BooleanField()),
            can_decide=Value(user.has_perm("alumni.change_duplicatepair"), output_field=BooleanField()),
        )

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(_("No such record."))
        return obj

    def has_add_permission(self, request):
        return False  # pairs come from the scan

    def has_delete_permission(self, request, obj=None):
        return False  # decisions must survive; stale pairs are removed by the scan

    def has_change_permission(self, request, obj=None):
        # Decisions are actions and buttons; the page of one pair is read-only.
        return obj is None and super().has_change_permission(request)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- display --------------------------------------------------------------------------------
    @admin.display(description=gettext_lazy("confidence"), ordering="confidence")
    def confidence_badge(self, pair):
        return format_html(
            '<span class="confidence confidence-{}">{}</span>', pair.confidence, pair.get_confidence_display()
        )

    def _person(self, person):
        enrollments = list(person.enrollments.all())
        student_ids = ", ".join(e.student_id for e in enrollments) or "-"
        colleges = ", ".join(dict.fromkeys(e.college.name for e in enrollments)) or "-"
        return format_html(
            '<div class="duplicate-person"><a href="{}">{}</a> #{}{}<br><span class="meta">{} · {} · {}</span></div>',
            reverse("admin:alumni_person_change", args=[person.pk]),
            person.name,
            person.pk,
            format_html(" ({})", person.former_names) if person.former_names else "",
            person.birth_date.isoformat() if person.birth_date else _("birth date unknown"),
            student_ids,
            colleges,
        )

    @admin.display(description=gettext_lazy("record A"))
    def record_a(self, pair):
        return self._person(pair.person_a)

    @admin.display(description=gettext_lazy("record B"))
    def record_b(self, pair):
        return self._person(pair.person_b)

    @admin.display(description=gettext_lazy("evidence"))
    def evidence_summary(self, pair):
        return format_html(
            '<ul class="duplicate-evidence">{}</ul>',
            format_html_join("", "<li>{}</li>", ((evidence_text(item),) for item in pair.evidence)),
        )

    @admin.display(description=gettext_lazy("review"))
    def review(self, pair):
        buttons = []
        if pair.status == DuplicatePair.Status.PENDING:
            if pair.can_merge:
                query = urlencode({"keep": pair.person_a_id, "other": pair.person_b_id})
                merge_url = reverse("admin:alumni_person_merge")
                buttons.append(format_html('<a class="button" href="{}?{}">{}</a>', merge_url, query, _("Merge")))
            if pair.can_decide:
                buttons.append(self._post_button(pair, "not_same", _("Not the same person")))
        elif pair.can_decide:
            buttons.append(self._post_button(pair, "reopen", _("Review again")))
        return format_html(
            '<div class="duplicate-actions">{}</div>', format_html_join(" ", "{}", ((b,) for b in buttons))
        )

    def _post_button(self, pair, decision, label):
        # A button of the changelist form posting to another URL: forms cannot nest.
        url = reverse(f"admin:alumni_duplicatepair_{decision}", args=[pair.pk])
        return format_html(
            '<button type="submit" class="button" formaction="{}" formmethod="post">{}</button>', url, label
        )

    def changelist_view(self, request, extra_context=None):
        latest = duplicate_scan_latest()
        extra_context = {
            **(extra_context or {}),
            "scan": scan_status(latest, whole_school=scope_for(request.user).whole_school),
            "can_scan": can_start_scan(request.user),
            "scan_url": reverse("admin:alumni_duplicatepair_scan"),
            "scan_status_url": reverse("admin:alumni_duplicatepair_scan_status"),
        }
        return super().changelist_view(request, extra_context)

    # --- decisions --------------------------------------------------------------------------------
    def _too_many(self, request, queryset) -> bool:
        # "Select all" across a queue of 100,000 pairs is a slip, not a review.
        if queryset.count() <= MAX_BULK_DECISIONS:
            return False
        self.message_user(
            request,
            _("Decide at most %(max)s pairs at a time; narrow the list with the filters.")
            % {"max": MAX_BULK_DECISIONS},
            messages.ERROR,
        )
        return True

    @admin.action(description=gettext_lazy("Not the same person"), permissions=["change"])
    def mark_not_same(self, request, queryset):
        if self._too_many(request, queryset):
            return
        changed = duplicate_pairs_mark_not_same(pairs=queryset, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "%(count)s pair marked as two different people.",
                "%(count)s pairs marked as two different people.",
                changed,
            )
            % {"count": changed},
        )

    @admin.action(description=gettext_lazy("Put back in the review queue"), permissions=["change"])
    def reopen(self, request, queryset):
        if self._too_many(request, queryset):
            return
        changed = duplicate_pairs_reopen(pairs=queryset, actor=request.user)
        self.message_user(
            request,
            ngettext("%(count)s pair is back in the queue.", "%(count)s pairs are back in the queue.", changed)
            % {"count": changed},
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("scan/", wrap(require_POST(self.scan_view)), name="alumni_duplicatepair_scan"),
            path("scan/status/", wrap(self.scan_status_view), name="alumni_duplicatepair_scan_status"),
            path(
                "<int:pk>/not-same/",
                wrap(require_POST(self.decision_view)),
                {"decision": "not_same"},
                name="alumni_duplicatepair_not_same",
            ),
            path(
                "<int:pk>/reopen/",
                wrap(require_POST(self.decision_view)),
                {"decision": "reopen"},
                name="alumni_duplicatepair_reopen",
            ),
            *super().get_urls(),
        ]

    def decision_view(self, request, pk, decision):
        if not self.has_view_permission(request):
            raise PermissionDenied
        pairs = self.get_queryset(request).filter(pk=pk)
        if not pairs.exists():
            raise Http404(_("No such record."))
        if not request.user.has_perm("alumni.change_duplicatepair"):
            raise PermissionDenied
        if decision == "not_same":
            if duplicate_pairs_mark_not_same(pairs=pairs, actor=request.user):
                self.message_user(
                    request, _("Marked as two different people; later scans will not suggest them again.")
                )
        elif duplicate_pairs_reopen(pairs=pairs, actor=request.user):
            self.message_user(request, _("The pair is back in the review queue."))
        return redirect(_back_to_list(request))

    def scan_view(self, request):
        if not can_start_scan(request.user):
            raise PermissionDenied
        try:
            duplicate_scan_request(actor=request.user)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.WARNING)
        else:
            self.message_user(request, _("The duplicate scan has started; this page shows its progress."))
        return redirect("admin:alumni_duplicatepair_changelist")

    def scan_status_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(scan_status(duplicate_scan_latest(), whole_school=scope_for(request.user).whole_school))


def _back_to_list(request) -> str:
    """The list page the decision was made on, with its filters, or the plain list."""
    listing = reverse("admin:alumni_duplicatepair_changelist")
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        parts = urlsplit(referer)
        if parts.path == listing:
            return f"{listing}?{parts.query}" if parts.query else listing
    return listing
