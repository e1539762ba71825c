from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext as _

from apps.alumni.exports import FIELDS, people_matching
from apps.alumni.models import Enrollment, Honour, Person
from apps.alumni.selectors import visible_people
from apps.core.scoping import scope_for

from .models import DataRequest, ExportJob, Recipient


def visible_recipients(user) -> QuerySet[Recipient]:
    """Office staff: every recipient; college staff: their colleges'; anyone: those they collect for."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Recipient.objects.none()
    scope = scope_for(user)
    if scope.whole_school:
        return Recipient.objects.all()
    member = Recipient.users.through.objects.filter(recipient_id=OuterRef("pk"), user_id=user.pk)
    return Recipient.objects.filter(Q(college_id__in=scope.college_ids) | Exists(member))


def visible_datarequests(user) -> QuerySet[DataRequest]:
    """The requests of the recipients ``user`` sees; the same rule decides who may download."""
    scope = scope_for(user)
    if scope.whole_school:
        return DataRequest.objects.all()
    return DataRequest.objects.filter(recipient__in=visible_recipients(user))


def visible_export_jobs(user) -> QuerySet[ExportJob]:
    """Office staff see every export job (oversight); everyone else their own."""
    if user is None or not getattr(user, "is_authenticated", False):
        return ExportJob.objects.none()
    if scope_for(user).whole_school:
        return ExportJob.objects.all()
    return ExportJob.objects.filter(created_by=user)


DELIVERED_STATUSES = (DataRequest.Status.DELIVERED, DataRequest.Status.EXPIRED)


def delivery_stats(user) -> list[dict]:
    """Batches and records delivered per recipient and year (local time), newest year first."""
    return list(
        visible_datarequests(user)
        .filter(status__in=DELIVERED_STATUSES, produced_at__isnull=False)
        .annotate(delivered_year=ExtractYear("produced_at"))
        .values("delivered_year", "recipient_id", "recipient__name", "recipient__kind")
        .annotate(batches=Count("id"), records=Sum("row_count"))
        .order_by("-delivered_year", "-records", "recipient__name")
    )


def datarequest_people(request: DataRequest, *, approver) -> QuerySet[Person]:
    """The people a request delivers: the approver's scope, narrowed by the request's filters."""
    people_ids = list(request.people.values_list("pk", flat=True))
    return people_matching(
        visible_people(approver),
        college_ids=list(request.filter_colleges.values_list("pk", flat=True)),
        degree_levels=request.filter_degree_levels,
        enrollment_year_from=request.filter_enrollment_year_from,
        enrollment_year_to=request.filter_enrollment_year_to,
        graduation_year_from=request.filter_graduation_year_from,
        graduation_year_to=request.filter_graduation_year_to,
        honour_kinds=request.filter_honour_kinds,
        provinces=request.filter_provinces,
        person_ids=people_ids or None,
    )


def datarequest_summary(request: DataRequest) -> list[tuple[str, str]]:
    """What a request asks for, as (label, value) lines for the people who decide on it."""
    degrees = dict(Enrollment.DegreeLevel.choices)
    honours = dict(Honour.Kind.choices)

    def years(start, end):
        return f"{start or '…'} – {end or '…'}" if start or end else ""

    lines = [
        (_("Requested fields"), ", ".join(str(FIELDS[k].label) for k in request.requested_fields if k in FIELDS)),
        (_("Colleges"), ", ".join(c.name for c in request.filter_colleges.all())),
        (_("Degree levels"), ", ".join(str(degrees.get(d, d)) for d in request.filter_degree_levels)),
        (_("Enrolled"), years(request.filter_enrollment_year_from, request.filter_enrollment_year_to)),
        (_("Graduated"), years(request.filter_graduation_year_from, request.filter_graduation_year_to)),
        (_("Honours"), ", ".join(str(honours.get(h, h)) for h in request.filter_honour_kinds)),
        (_("Provinces"), ", ".join(request.filter_provinces)),
    ]
    selected = request.people.count()
    if selected:
        lines.append((_("Selected alumni"), str(selected)))
    return [(label, value or _("any")) for label, value in lines]
