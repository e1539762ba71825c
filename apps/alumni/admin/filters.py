"""Sidebar filters with static or tiny choice lists: none runs SELECT DISTINCT over a million rows."""

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.scoping import scope_for

from ..models import College, ContactChannel, Enrollment, Honour

PROVINCES = [
    "北京",
    "天津",
    "河北",
    "山西",
    "内蒙古",
    "辽宁",
    "吉林",
    "黑龙江",
    "上海",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "广西",
    "海南",
    "重庆",
    "四川",
    "贵州",
    "云南",
    "西藏",
    "陕西",
    "甘肃",
    "青海",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "台湾",
]


class _ExistsFilter(admin.SimpleListFilter):
    """Filters people on a related row; subclasses define ``_exists(value)``."""

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(self._exists(value)) if value else queryset


class CollegeFilter(admin.SimpleListFilter):
    title = _("college")
    parameter_name = "college"

    def lookups(self, request, model_admin):
        scope = scope_for(request.user)
        colleges = College.objects.order_by("code")
        if not scope.whole_school:
            colleges = colleges.filter(pk__in=scope.college_ids)
        return [(str(c.pk), c.name) for c in colleges]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        # With a graduation year chosen too, both must hold for the same degree ("graduated from
        # this college in 2015"), in one EXISTS; the year filter then steps aside.
        lookup = {"person": OuterRef("pk"), "college_id": value}
        year = request.GET.get(GraduationYearFilter.parameter_name, "")
        if year.isdigit():
            lookup["graduation_year"] = int(year)
        return queryset.filter(Exists(Enrollment.objects.filter(**lookup)))


class DegreeFilter(_ExistsFilter):
    title = _("degree level")
    parameter_name = "degree"

    def lookups(self, request, model_admin):
        return Enrollment.DegreeLevel.choices

    def _exists(self, value):
        return Exists(Enrollment.objects.filter(person=OuterRef("pk"), degree_level=value))


class GraduationYearFilter(_ExistsFilter):
    title = _("graduation year")
    template = "admin/filter_select.html"
    parameter_name = "graduation_year"

    def lookups(self, request, model_admin):
        this_year = timezone.localdate().year
        return [(str(year), str(year)) for year in range(this_year, this_year - 60, -1)]

    def queryset(self, request, queryset):
        if request.GET.get(CollegeFilter.parameter_name):
            return queryset  # applied together with the college, see CollegeFilter
        return super().queryset(request, queryset)

    def _exists(self, value):
        if not value.isdigit():
            return Exists(Enrollment.objects.none())
        return Exists(Enrollment.objects.filter(person=OuterRef("pk"), graduation_year=int(value)))


class ProvinceFilter(admin.SimpleListFilter):
    title = _("province")
    template = "admin/filter_select.html"
    parameter_name = "province"

    def lookups(self, request, model_admin):
        return [(p, p) for p in PROVINCES]

    def queryset(self, request, queryset):
        return queryset.filter(province=self.value()) if self.value() else queryset


class ContactStatusFilter(_ExistsFilter):
    title = _("contact status")
    parameter_name = "contact_status"
    NONE = "none"

    def lookups(self, request, model_admin):
        return [*ContactChannel.Status.choices, (self.NONE, _("No contact on file"))]

    def queryset(self, request, queryset):
        if self.value() == self.NONE:
            return queryset.exclude(Exists(ContactChannel.objects.filter(person=OuterRef("pk"))))
        return super().queryset(request, queryset)

    def _exists(self, value):
        return Exists(ContactChannel.objects.filter(person=OuterRef("pk"), status=value))


class HonourFilter(_ExistsFilter):
    title = _("honour")
    parameter_name = "honour"

    def lookups(self, request, model_admin):
        return Honour.Kind.choices

    def _exists(self, value):
        return Exists(Honour.objects.filter(person=OuterRef("pk"), kind=value))
