"""From a parsed roster row to a staged row: derived keys, encrypted ID, resolved college/major/class.

A staged row is a plain tuple in ``STAGE_COLUMNS`` order, the same for the PostgreSQL staging
table and the SQLite fallback. Text columns hold ``""`` for "no value in the file" (an update
never blanks existing data with it); numbers, dates and ids hold ``None``.

Derived values come from the alumni services themselves (``person_derive``, ``contact_derive``),
applied to light stand-in objects, so an imported person gets exactly the keys the admin would
compute. New majors and classes under a known college get negative placeholder ids here; an apply
creates them (``References.materialise``) and the writers swap the placeholders for real ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _

from apps.alumni.models import College, ContactChannel, Major, SchoolClass
from apps.alumni.services import contact_derive, person_derive
from apps.core.crypto import encrypt
from apps.core.names import clean_text, mask_id_number

STAGE_COLUMNS: list[tuple[str, str]] = [
    ("row_no", "integer"),
    ("student_id", "text"),
    ("name", "text"),
    ("name_pinyin", "text"),
    ("name_initials", "text"),
    ("former_names", "text"),
    ("gender", "text"),
    ("birth_date", "date"),
    ("id_number", "text"),  # Fernet ciphertext, as the model field stores it
    ("id_number_hash", "text"),
    ("id_number_masked", "text"),  # for the audit log and the preview, never the clear value
    ("college_id", "bigint"),
    ("major_id", "bigint"),
    ("school_class_id", "bigint"),
    ("degree_level", "text"),
    ("enrollment_year", "integer"),
    ("graduation_year", "integer"),
    ("status", "text"),
    ("hometown_province", "text"),
    ("hometown_city", "text"),
    ("city", "text"),
    ("province", "text"),
    ("country", "text"),
    ("mobile", "text"),
    ("mobile_n", "text"),
    ("landline", "text"),
    ("landline_n", "text"),
    ("email", "text"),
    ("email_n", "text"),
    ("wechat", "text"),
    ("wechat_n", "text"),
    ("address", "text"),
    ("address_n", "text"),
    ("organisation", "text"),
    ("title", "text"),
    ("notes", "text"),
]
COLUMN_NAMES = [name for name, _type in STAGE_COLUMNS]
IX = {name: index for index, name in enumerate(COLUMN_NAMES)}
CONTACT_KINDS = ("mobile", "landline", "email", "wechat", "address")

# Person and enrolment columns an import may change on an existing record (only with a value).
PERSON_TEXT_FIELDS = (
    "name",
    "former_names",
    "gender",
    "hometown_province",
    "hometown_city",
    "city",
    "province",
    "country",
)
ENROLLMENT_FIELDS = (
    "degree_level",
    "college_id",
    "major_id",
    "school_class_id",
    "enrollment_year",
    "graduation_year",
    "status",
)

# Province-level divisions, to split a hometown (籍贯) like "湖南省长沙市" into province and city.
_PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市")
_LIMITS = {"hometown_province": 32, "hometown_city": 64}


@lru_cache(maxsize=4096)
def split_hometown(value: str) -> tuple[str, str]:
    """'湖南省长沙市' -> ('湖南', '长沙'); '北京' -> ('北京', ''); unknown text -> ('', text)."""
    value = clean_text(value)
    if not value:
        return "", ""
    for province in _PROVINCES:
        if value.startswith(province):
            rest = value[len(province) :]
            for suffix in _PROVINCE_SUFFIXES:
                if rest.startswith(suffix):
                    rest = rest[len(suffix) :]
                    break
            if len(rest) > 2 and rest.endswith("市"):
                rest = rest[:-1]
            return province, rest.strip()[: _LIMITS["hometown_city"]]
    return "", value[: _LIMITS["hometown_city"]]


class _PersonStandIn:
    """What person_derive reads and writes, without building a model instance per row."""

    __slots__ = ("id_number", "id_number_hash", "name", "name_initials", "name_pinyin")

    def __init__(self, name: str, id_number: str) -> None:
        self.name = name
        self.id_number = id_number


class _ContactStandIn:
    __slots__ = ("kind", "status", "value", "value_normalised", "verified_at")

    def __init__(self, kind: str, value: str) -> None:
        self.kind = kind
        self.value = value
        self.status = ContactChannel.Status.UNVERIFIED
        self.verified_at = None


def derive_contact(kind: str, value: str) -> tuple[str, str]:
    """(value, value_normalised) exactly as ``contact_derive`` computes them (it is the one rule)."""
    contact = _ContactStandIn(kind, value)
    contact_derive(contact)
    return contact.value, contact.value_normalised


def _key(value: str) -> str:
    return clean_text(value).casefold()


@dataclass
class NewClass:
    placeholder: int
    college_id: int
    name: str
    major_id: int | None
    graduation_year: int | None


@dataclass
class References:
    """Colleges, majors and classes by name (or code), loaded once per job."""

    colleges: dict[str, int] = field(default_factory=dict)
    college_names: dict[int, str] = field(default_factory=dict)
    majors: dict[tuple[int, str], int] = field(default_factory=dict)
    classes: dict[tuple[int, str], int] = field(default_factory=dict)
    new_majors: dict[tuple[int, str], int] = field(default_factory=dict)
    new_major_names: dict[int, str] = field(default_factory=dict)  # placeholder -> name as written
    new_classes: dict[tuple[int, str], NewClass] = field(default_factory=dict)
    # Placeholders a parallel parsing worker gave to a major or class another worker also found.
    aliases: dict[int, int] = field(default_factory=dict)
    _next_placeholder: int = -1
    _step: int = -1

    @classmethod
    def load(cls) -> References:
        refs = cls()
        for pk, code, name, name_en in College.objects.values_list("pk", "code", "name", "name_en"):
            refs.college_names[pk] = name
            # A name wins over a code or English name that happens to read the same.
            for text in (name_en, code):
                if text:
                    refs.colleges.setdefault(_key(text), pk)
        for pk, _code, name, _name_en in College.objects.values_list("pk", "code", "name", "name_en"):
            refs.colleges[_key(name)] = pk
        for pk, college_id, code in Major.objects.values_list("pk", "college_id", "code"):
            if code:
                refs.majors.setdefault((college_id, _key(code)), pk)
        for pk, college_id, name in Major.objects.values_list("pk", "college_id", "name"):
            refs.majors[(college_id, _key(name))] = pk
        for pk, college_id, name in SchoolClass.objects.values_list("pk", "college_id", "name"):
            refs.classes[(college_id, _key(name))] = pk
        return refs

    def _placeholder(self) -> int:
        value = self._next_placeholder
        self._next_placeholder += self._step
        return value

    # --- parallel parsing workers (see parallel.py) -----------------------------------------
    def renumber(self, *, start: int, step: int) -> None:
        """Give this (forked) copy its own series of placeholders, disjoint from the other workers'."""
        self._next_placeholder, self._step = start, step

    def new_items(self) -> dict:
        return {"majors": self.new_majors, "major_names": self.new_major_names, "classes": self.new_classes}

    def merge(self, items: dict) -> None:
        """Adopt a worker's new majors and classes; one it shares with another worker becomes an alias."""
        for key, placeholder in items["majors"].items():
            if key in self.new_majors:
                self.aliases[placeholder] = self.new_majors[key]
            else:
                self.new_majors[key] = placeholder
                self.new_major_names[placeholder] = items["major_names"][placeholder]
        for key, new in items["classes"].items():
            if key in self.new_classes:
                self.aliases[new.placeholder] = self.new_classes[key].placeholder
            else:
                self.new_classes[key] = new

    def placeholder_names(self) -> dict[int, str]:
        """Every placeholder (aliases included) with the name of its major or class."""
        names = {**self.new_major_names, **{new.placeholder: new.name for new in self.new_classes.values()}}
        names.update({alias: names[target] for alias, target in self.aliases.items()})
        return names

    def college(self, text: str) -> int | None:
        return self.colleges.get(_key(text))

    def major(self, college_id: int, text: str) -> int:
        key = (college_id, _key(text))
        found = self.majors.get(key)
        if found is None:
            found = self.new_majors.get(key)
            if found is None:
                found = self.new_majors[key] = self._placeholder()
                self.new_major_names[found] = clean_text(text)
        return found

    def school_class(self, college_id: int, text: str, major_id: int | None, graduation_year: int | None) -> int:
        key = (college_id, _key(text))
        found = self.classes.get(key)
        if found is not None:
            return found
        new = self.new_classes.get(key)
        if new is None:
            new = self.new_classes[key] = NewClass(
                self._placeholder(), college_id, clean_text(text), major_id, graduation_year
            )
        return new.placeholder

    def new_reference_summary(self) -> dict[str, list[dict[str, Any]]]:
        """The majors and classes an apply would create, for the preview (by college, then name)."""
        majors = [
            {"college": self.college_names.get(college_id, ""), "name": self.new_major_names.get(pk, "")}
            for (college_id, _name), pk in self.new_majors.items()
        ]
        classes = [
            {"college": self.college_names.get(new.college_id, ""), "name": new.name}
            for new in self.new_classes.values()
        ]
        return {
            "majors": sorted(majors, key=lambda item: (item["college"], item["name"])),
            "classes": sorted(classes, key=lambda item: (item["college"], item["name"])),
        }

    def materialise(self) -> dict[int, int]:
        """Create the new majors and classes (inside the apply's transaction); placeholder -> real id.

        ``ignore_conflicts`` and a re-read make a concurrent job creating the same class harmless.
        """
        real: dict[int, int] = {}
        if self.new_majors:
            Major.objects.bulk_create(
                [
                    Major(college_id=college_id, code="", name=self.new_major_names[pk])
                    for (college_id, _name), pk in self.new_majors.items()
                ],
                ignore_conflicts=True,
            )
            wanted = {(college_id, self.new_major_names[pk]): pk for (college_id, _n), pk in self.new_majors.items()}
            college_ids = {college_id for college_id, _name in wanted}
            for pk, college_id, name in Major.objects.filter(college_id__in=college_ids).values_list(
                "pk", "college_id", "name"
            ):
                placeholder = wanted.get((college_id, name))
                if placeholder is not None:
                    real[placeholder] = pk
        if self.new_classes:
            SchoolClass.objects.bulk_create(
                [
                    SchoolClass(
                        college_id=new.college_id,
                        name=new.name,
                        major_id=real.get(self.aliases.get(new.major_id, new.major_id), new.major_id),
                        graduation_year=new.graduation_year,
                    )
                    for new in self.new_classes.values()
                ],
                ignore_conflicts=True,
            )
            wanted_classes = {(new.college_id, new.name): new.placeholder for new in self.new_classes.values()}
            college_ids = {college_id for college_id, _name in wanted_classes}
            for pk, college_id, name in SchoolClass.objects.filter(college_id__in=college_ids).values_list(
                "pk", "college_id", "name"
            ):
                placeholder = wanted_classes.get((college_id, name))
                if placeholder is not None:
                    real[placeholder] = pk
        real.update({alias: real[target] for alias, target in self.aliases.items() if target in real})
        return real


@dataclass(frozen=True)
class StageError:
    """A problem found while staging a row that the parser accepted (unknown college, say)."""

    row: int
    field: str
    message: str


class RowBuilder:
    """Turns ParsedRow.values into staged tuples; collects what the row asks for but cannot have."""

    def __init__(self, references: References, headers_by_field: dict[str, str]) -> None:
        self.references = references
        self.columns = headers_by_field  # canonical field -> original header, for messages
        self._resolved: dict[tuple, tuple | str] = {}

    def _error(self, row: int, field_name: str, problem: str) -> StageError:
        column = self.columns.get(field_name, "")
        if column:
            message = _("Row %(row)s, column “%(column)s”: %(problem)s") % {
                "row": row,
                "column": column,
                "problem": problem,
            }
        else:
            message = _("Row %(row)s: %(problem)s") % {"row": row, "problem": problem}
        return StageError(row=row, field=field_name, message=message)

    def build(self, row_no: int, values: dict[str, Any]) -> tuple | StageError:
        get = values.get
        college_text = get("college") or ""
        college_id = major_id = class_id = None
        graduation_year = get("graduation_year")
        if college_text:
            resolved = self._resolved.get(
                (college_text, get("major") or "", get("school_class") or "", graduation_year)
            )
            if resolved is None:
                resolved = self._resolve(college_text, get("major") or "", get("school_class") or "", graduation_year)
            if isinstance(resolved, str):
                return self._error(row_no, "college", resolved)
            college_id, major_id, class_id = resolved
        elif get("major") or get("school_class"):
            return self._error(row_no, "college", _("A major or class is given without its college; add the college."))

        person = _PersonStandIn(get("name") or "", get("id_number") or "")
        person_derive(person)
        id_number = person.id_number
        if id_number:
            encrypted, masked = encrypt(id_number), mask_id_number(id_number)
        else:
            encrypted = masked = ""

        contacts = []
        append = contacts.append
        for kind in CONTACT_KINDS:
            value = get(kind)
            if value:
                value, normalised = derive_contact(kind, value if isinstance(value, str) else str(value))
                append(value[:255])
                append(normalised[:255])
            else:
                append("")
                append("")

        hometown_province, hometown_city = split_hometown(get("hometown") or "")
        birth_date = get("birth_date")
        return (
            row_no,
            get("student_id") or "",
            person.name,
            person.name_pinyin,
            person.name_initials,
            get("former_names") or "",
            get("gender") or "",
            birth_date if isinstance(birth_date, date) else None,
            encrypted,
            person.id_number_hash,
            masked,
            college_id,
            major_id,
            class_id,
            get("degree_level") or "",
            get("enrollment_year"),
            graduation_year,
            get("status") or "",
            hometown_province,
            hometown_city,
            get("city") or "",
            get("province") or "",
            get("country") or "",
            *contacts,
            get("organisation") or "",
            get("title") or "",
            get("notes") or "",
        )

    def _resolve(self, college_text: str, major_text: str, class_text: str, graduation_year) -> tuple | str:
        """(college, major, class) ids for the texts of a row, or the message for an unknown college.

        Rows repeat the same few combinations, so the answer is remembered per combination.
        """
        refs = self.references
        college_id = refs.college(college_text)
        if college_id is None:
            resolved: tuple | str = _(
                "“%(college)s” is not a known college; use the name or code of an existing college."
            ) % {"college": college_text}
        else:
            major_id = refs.major(college_id, major_text) if major_text else None
            class_id = refs.school_class(college_id, class_text, major_id, graduation_year) if class_text else None
            resolved = (college_id, major_id, class_id)
        if len(self._resolved) < 200_000:
            self._resolved[(college_text, major_text, class_text, graduation_year)] = resolved
        return resolved
