"""The identity check as a recorded, audited action, its results page and XLSX download."""

import hashlib
import io
import re
from collections import Counter
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from apps.core import audit
from apps.core.names import clean_text

from ..models import Enrollment, IdentityCheck
from .matching import Outcome, identity_match, note_text
from .parsing import MAX_ROWS, InputRow

RESULTS_KEPT_DAYS = 30
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@transaction.atomic
def identity_check_run(*, actor, purpose: str, rows: list[InputRow], source: str = "") -> IdentityCheck:
    """Check every row, keep the results for download, and audit who checked how many rows and why.

    Raises ValidationError for a missing purpose, an empty list or more than MAX_ROWS rows.
    """
    purpose = clean_text(purpose)
    if not purpose:
        raise ValidationError(
            _("Say what the check is for (e.g. a request from the publicity department)."), code="purpose_required"
        )
    if not rows:
        raise ValidationError(_("The list has no rows to check."), code="empty")
    if len(rows) > MAX_ROWS:
        raise ValidationError(
            _("A check takes at most %(max)s rows; this list has %(count)s.")
            % {"max": f"{MAX_ROWS:,}", "count": f"{len(rows):,}"},
            code="too_many_rows",
        )
    results = identity_match(user=actor, rows=rows)
    counts = Counter(r["status"] for r in results)
    check = IdentityCheck.objects.create(
        actor=actor,
        purpose=purpose[:200],
        source=source[:200],
        row_count=len(results),
        alumni_count=counts[Outcome.ALUMNUS],
        ambiguous_count=counts[Outcome.AMBIGUOUS],
        not_found_count=counts[Outcome.NOT_FOUND],
        invalid_count=counts[Outcome.INVALID],
        results=results,
    )
    audit.record(
        actor=actor,
        action="identity.check",
        target=check,
        reason=purpose,
        changes=[
            {"field": "rows", "old": None, "new": len(results)},
            {"field": "outcomes", "old": None, "new": {str(k): v for k, v in sorted(counts.items())}},
            {"field": "source", "old": None, "new": source[:200]},
        ],
    )
    return check


def identity_check_list(user) -> QuerySet[IdentityCheck]:
    """The user's own checks, newest first (a check is visible to the person who ran it only)."""
    return IdentityCheck.objects.filter(actor=user).order_by("-created_at", "-id")


def result_lines(check: IdentityCheck) -> list[dict]:
    """One display line per result row, and per candidate of an ambiguous row (row number repeated)."""
    lines = []
    for result in check.results:
        base = {
            "row": result["row"],
            "input": result["input"],
            "status": result["status"],
            "status_label": str(Outcome(result["status"]).label),
            "notes": " ".join(note_text(n) for n in result["notes"]),
        }
        matches = result["matches"] or [None]
        for match in matches:
            shown = dict(match) if match else None
            if shown:
                shown["degree"] = str(Enrollment.DegreeLevel(shown["degree"]).label) if shown["degree"] else ""
            lines.append({**base, "match": shown})
    return lines


def _safe(value: object) -> object:
    """A spreadsheet cell that Excel will not run as a formula (=, +, -, @, tab, CR are prefixed)."""
    if not isinstance(value, str):
        return value
    value = _ILLEGAL_XLSX.sub("", value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def identity_check_xlsx(*, check: IdentityCheck, actor) -> bytes:
    """The results as an XLSX workbook; the download is audited with the file's hash."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Identity check"))
    sheet.append(
        [
            _("Row"),
            _("Name given"),
            _("Student ID given"),
            _("Graduation year given"),
            _("College given"),
            _("Result"),
            _("Name"),
            _("Student ID"),
            _("Degree"),
            _("College"),
            _("Graduation year"),
            _("Notes"),
        ]
    )
    for line in result_lines(check):
        given = line["input"]
        match = line["match"] or {}
        cells = [
            line["row"],
            given["name"],
            given["student_id"],
            given["graduation_year"] or given["year_text"],
            given["college"],
            line["status_label"],
            match.get("name", ""),
            match.get("student_id", ""),
            match.get("degree", ""),
            match.get("college", ""),
            match.get("graduation_year"),
            line["notes"],
        ]
        sheet.append([_safe(c) for c in cells])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    audit.record(
        actor=actor,
        action="identity.check_download",
        target=check,
        reason=check.purpose,
        changes=[
            {"field": "rows", "old": None, "new": check.row_count},
            {"field": "sha256", "old": None, "new": hashlib.sha256(data).hexdigest()},
        ],
    )
    return data


def identity_check_results_purge(*, now: datetime | None = None) -> int:
    """Clear per-row results older than RESULTS_KEPT_DAYS (counts and audit rows stay)."""
    now = now or timezone.now()
    return IdentityCheck.objects.filter(
        created_at__lt=now - timedelta(days=RESULTS_KEPT_DAYS), results_cleared_at__isnull=True
    ).update(results=[], results_cleared_at=now, updated_at=now)


def summary_text(check: IdentityCheck) -> str:
    return ngettext(
        "%(count)s row checked: %(alumni)s alumni, %(ambiguous)s ambiguous, %(missing)s not found.",
        "%(count)s rows checked: %(alumni)s alumni, %(ambiguous)s ambiguous, %(missing)s not found.",
        check.row_count,
    ) % {
        "count": check.row_count,
        "alumni": check.alumni_count,
        "ambiguous": check.ambiguous_count,
        "missing": check.not_found_count,
    }
