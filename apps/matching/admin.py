"""Admin: upload a list, watch it match, review its rows one at a time, accept the clear ones in bulk.

Only office staff and admins (the whole school) and college staff (their colleges' people) use it
(``permissions.can_use_matching``); everyone else gets 403 and sees no jobs. College staff see the
jobs they uploaded, which were matched among their own alumni.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from apps.alumni.models import Enrollment, Honour
from apps.imports.api.uploads import guard_upload

from . import services
from .forms import MatchUploadForm
from .models import Band, MatchCandidate, MatchJob, MatchRow
from .permissions import can_decide_match, can_use_matching
from .selectors import (
    match_candidates,
    match_job_list,
    match_job_progress,
    match_row_neighbours,
    match_rows,
    people_scope,
    visible_match_jobs,
)

ROWS_PER_PAGE = 50
FEATURES = {
    "name": gettext_lazy("Name"),
    "birth_year": gettext_lazy("Birth year"),
    "birth_month": gettext_lazy("Birth month"),
    "gender": gettext_lazy("Gender"),
    "years": gettext_lazy("Years of study"),
    "stage": gettext_lazy("Career stage"),
    "subject": gettext_lazy("Major or college"),
    "employer": gettext_lazy("Employer"),
    "honour": gettext_lazy("Honour on record"),
    "school": gettext_lazy("School named"),
    "tie_break": gettext_lazy("Tie-break (orders equal scores only)"),
    "chance": gettext_lazy("Namesakes agreeing by chance"),
}
NAME_MATCHES = {
    "exact": gettext_lazy("same name"),
    "former": gettext_lazy("former name"),
    "pinyin": gettext_lazy("same pinyin only"),
}


# Labels of the keys and coded values that evidence and hints hold (stored in English identifiers).
KEYS = {
    "record": gettext_lazy("on record"),
    "similarity": gettext_lazy("similarity"),
    "alumni_there": gettext_lazy("alumni there"),
    "namesakes_expected_there": gettext_lazy("namesakes expected there by chance"),
    "difference": gettext_lazy("years apart"),
    "matched": gettext_lazy("agreeing"),
    "implied_by_birth_year": gettext_lazy("half points: implied by the birth year"),
    "kind": gettext_lazy("kind"),
    "graduation": gettext_lazy("graduation"),
    "enrolment": gettext_lazy("enrolment"),
    "unclear": gettext_lazy("year"),
    "degree": gettext_lazy("degree"),
    "majors": gettext_lazy("majors"),
    "major": gettext_lazy("major"),
    "colleges": gettext_lazy("colleges"),
    "college": gettext_lazy("college"),
    "school_named": gettext_lazy("our school named"),
    "school": gettext_lazy("school"),
    "school_text": gettext_lazy("as written"),
    "enrolment_year": gettext_lazy("enrolment year"),
    "graduation_year": gettext_lazy("graduation year"),
    "year": gettext_lazy("year"),
    "age_at_enrolment": gettext_lazy("age at enrolment"),
    "honour_year": gettext_lazy("honour year"),
    "first_enrolment": gettext_lazy("first enrolment"),
    "years_exact": gettext_lazy("years agreeing exactly"),
    "degrees_held": gettext_lazy("degrees named and held"),
    "employer_elsewhere": gettext_lazy("another employer on record"),
    "order": gettext_lazy("order"),
}
VALUES = {
    True: gettext_lazy("yes"),
    False: gettext_lazy("no"),
    "ours": gettext_lazy("our school"),
    "other": gettext_lazy("another school"),
    "M": gettext_lazy("Male"),
    "F": gettext_lazy("Female"),
    **dict(Enrollment.DegreeLevel.choices),
}


def _plain(value) -> str:
    """A compared value as one line of text for the evidence table, with translated labels."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict):
        parts = [f"{KEYS.get(k, k)}: {_plain(v)}" for k, v in value.items() if v not in (None, "", [], {})]
        return "; ".join(parts) or "—"
    if isinstance(value, list | tuple):
        return ", ".join(_plain(v) for v in value) or "—"
    if isinstance(value, bool | str) and value in VALUES:
        return str(VALUES[value])
    return str(value)


def hint_rows(hints: dict) -> list[tuple[str, str]]:
    """What was read from a row, as (label, text) lines for the review page."""
    lines = []
    if hints.get("birth_year"):
        month = f"-{hints['birth_month']:02d}" if hints.get("birth_month") else ""
        lines.append((_("Birth year"), f"{hints['birth_year']}{month}"))
    if hints.get("gender"):
        lines.append((_("Gender"), _plain(hints["gender"])))
    if hints.get("former_names"):
        lines.append((_("Former names"), ", ".join(hints["former_names"])))
    if hints.get("organisation"):
        lines.append((_("Organisation"), hints["organisation"]))
    for education in hints.get("education", []):
        lines.append((_("Education"), _plain(education)))
    if hints.get("other_schools"):
        lines.append((_("Other schools"), ", ".join(hints["other_schools"])))
    kinds = dict(Honour.Kind.choices)
    honour = " ".join(str(part) for part in (kinds.get(hints.get("honour_kind"), ""), hints.get("honour_title", ""),
                                             hints.get("honour_year") or "") if part)  # fmt: skip
    lines.append((_("Honour"), honour or "—"))
    return lines


def evidence_rows(evidence: dict) -> list[dict]:
    """The evidence of one candidate as table rows (in FEATURES order: PostgreSQL's jsonb does not keep
    key order): feature, the list's value, the record's value with the comparison's details, points."""
    rows = []
    order = {feature: index for index, feature in enumerate(FEATURES)}
    for feature, entry in sorted(evidence.items(), key=lambda item: order.get(item[0], len(order))):
        if feature == "chance":
            listed = _("%(n)s namesakes") % {"n": entry.get("namesakes", 0)}
            recorded = str(entry.get("expected_agreeing", ""))
        elif feature == "name":
            listed = entry.get("list", "")
            recorded = f"{entry.get('record', '')} ({NAME_MATCHES.get(entry.get('match'), entry.get('match'))})"
        else:
            listed = _plain(entry.get("list"))
            recorded = _plain(entry.get("record")) if "record" in entry else ""
            details = {k: v for k, v in entry.items() if k not in ("list", "record", "points")}
            if details:
                recorded = f"{recorded} ({_plain(details)})" if recorded else _plain(details)
        rows.append(
            {"feature": FEATURES.get(feature, feature), "list": listed, "record": recorded or "—",
             "points": entry["points"]}
        )  # fmt: skip
    return rows


def _degrees(person) -> list[str]:
    levels = dict(Enrollment.DegreeLevel.choices)
    return [
        " ".join(
            str(part)
            for part in (
                e.student_id,
                levels.get(e.degree_level, e.degree_level),
                e.college.name,
                e.major.name if e.major else "",
                f"{e.enrollment_year or '?'}–{e.graduation_year or '?'}",
            )
            if part
        )
        for e in person.enrollments.all()
    ]


@admin.register(MatchJob)
class MatchJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "original_name",
        "status",
        "honour_kind",
        "rows_total",
        "high_count",
        "review_count",
        "none_count",
        "created_by",
        "created_at",
    ]
    list_display_links = ["id", "original_name"]
    list_filter = ["status", "honour_kind"]
    list_select_related = ["created_by"]
    show_full_result_count = False
    ordering = ["-created_at", "-id"]

    # --- scope and permissions ------------------------------------------------------------
    def has_module_permission(self, request):
        return can_use_matching(request.user)

    def has_view_permission(self, request, obj=None):
        return can_use_matching(request.user)

    def has_add_permission(self, request):
        return can_use_matching(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # jobs are records of a run; decisions have their own pages

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return match_job_list(request.user)

    def _require(self, request, *, decide: bool = False) -> None:
        allowed = can_decide_match(request.user) if decide else can_use_matching(request.user)
        if not allowed:
            raise PermissionDenied

    def _job(self, request, object_id) -> MatchJob:
        try:
            return visible_match_jobs(request.user).get(pk=int(object_id))
        except (ValueError, MatchJob.DoesNotExist) as exc:
            raise Http404(_("No such matching job.")) from exc

    # --- URLs -----------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        # Exempt before admin_view so nothing reads the body before the size guard is in place;
        # upload_entry applies csrf_protect itself afterwards.
        upload = view(csrf_exempt(self.upload_entry))
        return [
            path("upload/", upload, name="matching_matchjob_upload"),
            path("<path:object_id>/progress/", view(self.progress_view), name="matching_matchjob_progress"),
            path("<path:object_id>/review/", view(self.review_view), name="matching_matchjob_review"),
            path(
                "<path:object_id>/rows/<int:row_id>/decide/",
                view(self.decide_view),
                name="matching_matchjob_decide",
            ),
            path("<path:object_id>/accept-high/", view(self.accept_high_view), name="matching_matchjob_accept_high"),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        self._require(request)
        return redirect("admin:matching_matchjob_upload")

    # --- upload ---------------------------------------------------------------------------
    def upload_entry(self, request):
        self._require(request)
        handler = None
        if request.method == "POST":
            handler = guard_upload(request, limit=settings.MATCHING_MAX_BYTES or 0)
            if handler.limit == 0:
                return self._upload_page(request, MatchUploadForm(), too_large=True, status=413)
        return csrf_protect(self._upload)(request, handler)

    def _upload(self, request, handler):
        form = MatchUploadForm()
        if request.method == "POST":
            data, files = request.POST, request.FILES  # reads the body, through the size guard
            if handler is not None and handler.exceeded:
                return self._upload_page(request, form, too_large=True, status=413)
            form = MatchUploadForm(data, files)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    job = services.match_job_create(
                        upload=data["file"],
                        actor=request.user,
                        honour_kind=data["honour_kind"],
                        honour_title=data["honour_title"],
                        honour_year=data["honour_year"],
                        source_name=data["source_name"],
                        source_url=data["source_url"],
                        tag_name=data["tag_name"],
                    )
                except ValidationError as exc:
                    form.add_error(None, exc)
                else:
                    return redirect("admin:matching_matchjob_change", job.pk)
        return self._upload_page(request, form)

    def _upload_page(self, request, form, *, too_large: bool = False, status: int = 200):
        limit = settings.MATCHING_MAX_BYTES
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Match a list against the alumni records"),
            "form": form,
            "too_large": too_large,
            "limit_mb": limit // (1024 * 1024) if limit else None,
        }
        return TemplateResponse(request, "admin/matching/matchjob/upload.html", context, status=status)

    # --- the job page ---------------------------------------------------------------------
    def change_view(self, request, object_id, form_url="", extra_context=None):
        self._require(request)
        job = self._job(request, object_id)
        band = request.GET.get("band", "")
        rows = match_rows(job, band=band)
        page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
        pending_high = (
            match_rows(job, band=Band.HIGH, resolution=MatchRow.Resolution.PENDING).count()
            if job.status == MatchJob.Status.DONE
            else 0
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("List matching #%(id)s") % {"id": job.pk},
            "job": job,
            "progress": match_job_progress(job),
            "band": band,
            "bands": Band.choices,
            "page": page,
            "pending_high": pending_high,
            "can_decide": can_decide_match(request.user),
            "columns": (job.columns or {}).get("fields", {}),
            "unknown_columns": (job.columns or {}).get("unknown", []),
        }
        return TemplateResponse(request, "admin/matching/matchjob/job.html", context)

    def progress_view(self, request, object_id):
        self._require(request)
        return JsonResponse(match_job_progress(self._job(request, object_id)))

    # --- review ---------------------------------------------------------------------------
    def review_view(self, request, object_id):
        self._require(request)
        job = self._job(request, object_id)
        band = request.GET.get("band", "")
        rows = match_rows(job, band=band)
        row = None
        if request.GET.get("row"):
            try:
                row = rows.get(row=int(request.GET["row"]))
            except (ValueError, MatchRow.DoesNotExist) as exc:
                raise Http404(_("No such row.")) from exc
        else:
            row = rows.filter(resolution=MatchRow.Resolution.PENDING).first() or rows.first()
        if row is None:
            messages.info(request, _("There is no row to review here."))
            return redirect("admin:matching_matchjob_change", job.pk)
        candidates = match_candidates(request.user, row)
        neighbours = match_row_neighbours(job, row, band=band)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Row %(row)s of list matching #%(id)s") % {"row": row.row, "id": job.pk},
            "job": job,
            "row": row,
            "band": band,
            "hints": hint_rows(row.hints),
            "raw": row.raw,
            "candidates": [
                {
                    "object": candidate,
                    "key": index if index <= 9 else None,
                    "evidence": evidence_rows(candidate.evidence),
                    "degrees": _degrees(candidate.person),
                    "employers": [e.organisation for e in candidate.person.employments.all()][:3],
                }
                for index, candidate in enumerate(candidates, start=1)
            ],
            "neighbours": {k: self._review_url(job, v, band) if v else "" for k, v in neighbours.items()},
            "can_decide": can_decide_match(request.user),
            "decided": row.resolution != MatchRow.Resolution.PENDING,
        }
        return TemplateResponse(request, "admin/matching/matchjob/review.html", context)

    @staticmethod
    def _review_url(job: MatchJob, row: MatchRow, band: str) -> str:
        query = {"row": row.row, **({"band": band} if band else {})}
        return f"{reverse('admin:matching_matchjob_review', args=[job.pk])}?{urlencode(query)}"

    def decide_view(self, request, object_id, row_id):
        self._require(request, decide=True)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self._job(request, object_id)
        row = MatchRow.objects.filter(job=job, pk=row_id).first()
        if row is None:
            raise Http404(_("No such row."))
        band = request.POST.get("band", "")
        action = request.POST.get("action", "")
        try:
            if action == "no_match":
                services.match_row_reject(row=row, actor=request.user)
            elif action in ("confirm", "reject"):
                candidate = self._candidate(request, row)
                if action == "confirm":
                    services.match_candidate_confirm(candidate=candidate, actor=request.user)
                else:
                    services.match_candidate_reject(candidate=candidate, actor=request.user)
                    return redirect(self._review_url(job, row, band))
            else:
                return HttpResponseNotAllowed(["POST"])
        except ValidationError as exc:
            self.message_user(request, "; ".join(exc.messages), messages.ERROR)
            return redirect(self._review_url(job, row, band))
        following = match_row_neighbours(job, row, band=band)["next_pending"]
        if following is None:
            self.message_user(request, _("Every row of this list has been decided."))
            return redirect("admin:matching_matchjob_change", job.pk)
        return redirect(self._review_url(job, following, band))

    def _candidate(self, request, row: MatchRow) -> MatchCandidate:
        try:
            candidate = row.candidates.get(pk=int(request.POST.get("candidate", "")))
        except (ValueError, MatchCandidate.DoesNotExist) as exc:
            raise Http404(_("No such candidate.")) from exc
        if not people_scope(request.user).filter(pk=candidate.person_id).exists():
            raise Http404(_("No such candidate."))
        return candidate

    def accept_high_view(self, request, object_id):
        self._require(request, decide=True)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        job = self._job(request, object_id)
        with transaction.atomic():
            services.match_job_accept_high_start(job=job, actor=request.user)
        self.message_user(
            request,
            _(
                "The best candidates of the high-confidence rows are being confirmed and their honours written; "
                "reload this page to see the progress."
            ),
        )
        return redirect("admin:matching_matchjob_change", job.pk)
