"""The canonical roster fields: names, labels in column order, required ones, text lengths."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

CANONICAL_FIELDS = {
    "student_id": _("Student ID"),
    "name": pgettext_lazy("person", "Name"),
    "former_names": _("Former names"),
    "gender": _("Gender"),
    "birth_date": _("Birth date"),
    "id_number": _("ID-card number"),
    "college": _("College"),
    "major": _("Major"),
    "school_class": pgettext_lazy("school class", "Class"),
    "degree_level": _("Degree level"),
    "enrollment_year": _("Enrolment year"),
    "graduation_year": _("Graduation year"),
    "status": pgettext_lazy("enrolment", "Status"),
    "mobile": _("Mobile"),
    "landline": _("Landline"),
    "email": _("Email"),
    "wechat": _("WeChat"),
    "address": _("Postal address"),
    "organisation": _("Employer"),
    "title": pgettext_lazy("job", "Title"),
    "city": _("Current city"),
    "province": _("Current province"),
    "country": _("Current country or region"),
    "hometown": _("Hometown"),
    "notes": _("Notes"),
}

REQUIRED_FIELDS = ("student_id", "name")

# Longest accepted text per field (the model columns, or a sane cap where the value is split later).
MAX_LENGTHS = {
    "student_id": 32,
    "name": 100,
    "former_names": 200,
    "college": 100,
    "major": 100,
    "school_class": 100,
    "wechat": 255,
    "address": 255,
    "organisation": 200,
    "title": 100,
    "city": 64,
    "province": 32,
    "country": 64,
    "hometown": 100,
    "notes": 2000,
    "landline": 32,
    "email": 254,
}
