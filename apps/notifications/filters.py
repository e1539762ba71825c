"""Segment filter kinds: a small registry that later apps extend with ``register_filter_kind``.

A kind turns JSON parameters into a ``Q`` over ``alumni.Person`` (built from ``Exists``
subqueries, so a million-person table is never joined and de-duplicated) and describes the
admin form fields that edit those parameters. Parameters hold ids and plain values only.

Giving would add "donors to a fund" and events "attendees of an event" like this::

    register_filter_kind(
        "fund_donors",
        label=_("Donors to a fund"),
        form_fields=lambda user: {"funds": forms.ModelMultipleChoiceField(Fund.objects.all(), required=False)},
        condition=lambda p: Q(Exists(Gift.objects.filter(donor__person=OuterRef("pk"), fund_id__in=p["funds"]))),
    )
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from apps.alumni.models import College, Enrollment, Honour, Person, SchoolClass, Tag
from apps.chapters.models import Chapter, ChapterMembership
from apps.core.scoping import scope_for


@dataclass(frozen=True)
class FilterKind:
    key: str
    label: Any
    form_fields: Callable[[Any], dict[str, forms.Field]]
    condition: Callable[[dict[str, Any]], Q]
    order: int = 100


_KINDS: dict[str, FilterKind] = {}


def register_filter_kind(
    key: str,
    *,
    label,
    form_fields: Callable[[Any], dict[str, forms.Field]],
    condition: Callable[[dict[str, Any]], Q],
    order: int = 100,
) -> FilterKind:
    """Add (or replace) a filter kind; ``form_fields(user)`` gives the admin fields of its parameters."""
    if not key.isidentifier():
        raise ValueError(f"filter kind key must be an identifier: {key!r}")
    kind = FilterKind(key=key, label=label, form_fields=form_fields, condition=condition, order=order)
    _KINDS[key] = kind
    return kind


def filter_kinds() -> list[FilterKind]:
    return sorted(_KINDS.values(), key=lambda k: (k.order, k.key))


def get_filter_kind(key: str) -> FilterKind:
    try:
        return _KINDS[key]
    except KeyError:
        raise ValidationError(_("Unknown filter “%(kind)s”.") % {"kind": key}, code="unknown_filter") from None


def filters_condition(filters: list[dict[str, Any]]) -> Q:
    """One Q for a segment's filters (all must match); ValidationError for unknown kinds or bad parameters."""
    condition = Q()
    for entry in filters or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("params"), dict):
            raise ValidationError(_("A segment filter is malformed."), code="bad_filter")
        kind = get_filter_kind(entry.get("kind", ""))
        try:
            condition &= kind.condition(entry["params"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(
                _("The filter “%(kind)s” has bad parameters.") % {"kind": kind.label}, code="bad_filter"
            ) from exc
    return condition


def plain_value(value: Any) -> Any:
    """A JSON-storable parameter value: model instances and querysets become ids."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, QuerySet):
        return sorted(value.values_list("pk", flat=True))
    if isinstance(value, list | tuple | set):
        return [plain_value(v) for v in value]
    return value


def _empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple | set | QuerySet) and not len(value))


def params_from_cleaned(kind: FilterKind, user, cleaned: dict[str, Any]) -> dict[str, Any] | None:
    """The parameters of one kind from a form's cleaned data (fields named ``<kind>__<param>``), or None."""
    params = {}
    for name in kind.form_fields(user):
        value = cleaned.get(f"{kind.key}__{name}")
        if not _empty(value):
            params[name] = plain_value(value)
    return params or None


def _ids(values) -> list[int]:
    return [int(v) for v in values]


def _autocomplete(field_owner: type[Model], field_name: str) -> AutocompleteSelectMultiple:
    return AutocompleteSelectMultiple(field_owner._meta.get_field(field_name), admin.site)


# --- built-in kinds -------------------------------------------------------------------------------


def _colleges_for(user) -> QuerySet[College]:
    scope = scope_for(user)
    colleges = College.objects.order_by("code")
    return colleges if scope.whole_school else colleges.filter(pk__in=scope.college_ids)


def _enrollment_fields(user) -> dict[str, forms.Field]:
    return {
        "colleges": forms.ModelMultipleChoiceField(_colleges_for(user), required=False, label=gettext_lazy("Colleges")),
        "degree_levels": forms.MultipleChoiceField(
            choices=Enrollment.DegreeLevel.choices, required=False, label=gettext_lazy("Degree levels")
        ),
        "graduation_year_from": forms.IntegerField(
            required=False, min_value=1895, max_value=2100, label=gettext_lazy("Graduated from (year)")
        ),
        "graduation_year_to": forms.IntegerField(
            required=False, min_value=1895, max_value=2100, label=gettext_lazy("Graduated until (year)")
        ),
        "classes": forms.ModelMultipleChoiceField(
            SchoolClass.objects.all(),
            required=False,
            label=pgettext_lazy("school class", "Classes"),
            widget=_autocomplete(Enrollment, "school_class"),
        ),
    }


def _enrollment_condition(params: dict[str, Any]) -> Q:
    # College, degree, years and class must hold for one and the same degree: "CS graduates of
    # 2010-2012" does not match a CS bachelor of 2005 who took an ME master in 2011.
    degrees = Enrollment.objects.filter(person=OuterRef("pk"))
    if params.get("colleges"):
        degrees = degrees.filter(college_id__in=_ids(params["colleges"]))
    if params.get("degree_levels"):
        degrees = degrees.filter(degree_level__in=list(params["degree_levels"]))
    if params.get("graduation_year_from") is not None:
        degrees = degrees.filter(graduation_year__gte=int(params["graduation_year_from"]))
    if params.get("graduation_year_to") is not None:
        degrees = degrees.filter(graduation_year__lte=int(params["graduation_year_to"]))
    if params.get("classes"):
        degrees = degrees.filter(school_class_id__in=_ids(params["classes"]))
    return Q(Exists(degrees))


def _region_fields(user) -> dict[str, forms.Field]:
    return {
        "provinces": forms.CharField(
            required=False,
            label=gettext_lazy("Provinces"),
            help_text=gettext_lazy("Separate several with commas, as written in the records (北京, 广东 ...)."),
        ),
        "cities": forms.CharField(required=False, label=gettext_lazy("Cities"), help_text=gettext_lazy("Optional.")),
    }


def _split(text: Any) -> list[str]:
    if isinstance(text, list | tuple):
        return [str(t).strip() for t in text if str(t).strip()]
    return [part.strip() for part in str(text or "").replace("，", ",").split(",") if part.strip()]


def _region_condition(params: dict[str, Any]) -> Q:
    condition = Q()
    if _split(params.get("provinces")):
        condition &= Q(province__in=_split(params["provinces"]))
    if _split(params.get("cities")):
        condition &= Q(city__in=_split(params["cities"]))
    return condition


def _chapter_fields(user) -> dict[str, forms.Field]:
    return {
        "chapters": forms.ModelMultipleChoiceField(
            Chapter.objects.all(),
            required=False,
            label=gettext_lazy("Chapters"),
            widget=_autocomplete(ChapterMembership, "chapter"),
        )
    }


def _chapter_condition(params: dict[str, Any]) -> Q:
    members = ChapterMembership.objects.filter(
        person=OuterRef("pk"), chapter_id__in=_ids(params["chapters"]), left_on__isnull=True
    )
    return Q(Exists(members))


def _tag_fields(user) -> dict[str, forms.Field]:
    return {
        "tags": forms.ModelMultipleChoiceField(
            Tag.objects.all(),
            required=False,
            label=gettext_lazy("Tags"),
            widget=_autocomplete(Person, "tags"),
        )
    }


def _tag_condition(params: dict[str, Any]) -> Q:
    links = Person.tags.through.objects.filter(person_id=OuterRef("pk"), tag_id__in=_ids(params["tags"]))
    return Q(Exists(links))


def _honour_fields(user) -> dict[str, forms.Field]:
    return {
        "kinds": forms.MultipleChoiceField(choices=Honour.Kind.choices, required=False, label=gettext_lazy("Honours")),
        "year_from": forms.IntegerField(
            required=False, min_value=1895, max_value=2100, label=gettext_lazy("Honoured from (year)")
        ),
    }


def _honour_condition(params: dict[str, Any]) -> Q:
    honours = Honour.objects.filter(person=OuterRef("pk"))
    if params.get("kinds"):
        honours = honours.filter(kind__in=list(params["kinds"]))
    if params.get("year_from") is not None:
        honours = honours.filter(year__gte=int(params["year_from"]))
    return Q(Exists(honours))


def register_builtin_kinds() -> None:
    register_filter_kind(
        "enrollment",
        label=gettext_lazy("College, degree, graduation years and class"),
        form_fields=_enrollment_fields,
        condition=_enrollment_condition,
        order=10,
    )
    register_filter_kind(
        "region",
        label=gettext_lazy("Province and city"),
        form_fields=_region_fields,
        condition=_region_condition,
        order=20,
    )
    register_filter_kind(
        "chapter",
        label=gettext_lazy("Chapter members"),
        form_fields=_chapter_fields,
        condition=_chapter_condition,
        order=30,
    )
    register_filter_kind(
        "tags", label=gettext_lazy("Tags"), form_fields=_tag_fields, condition=_tag_condition, order=40
    )
    register_filter_kind(
        "honours", label=gettext_lazy("Honours"), form_fields=_honour_fields, condition=_honour_condition, order=50
    )
