"""One list row as the matcher sees it: the cells it had and the hints read from them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from apps.alumni.models import Honour
from apps.core.names import clean_text, name_key
from apps.imports.parsing.dates import parse_year_text
from apps.imports.parsing.normalise import normalise_degree_level, normalise_gender

from ..keys import org_key
from .bio import YEAR, Education, Vocabulary, parse_bio
from .columns import Columns

_BRACKETED = re.compile(r"[(（\[【〔].*?[)）\]】〕]")
_NAME_NOISE = re.compile(r"[*※#＊\d]+")
_LATIN_NAME = re.compile(r"^[A-Za-z][A-Za-z .'\-]*$")
_SPLIT_NAMES = re.compile(r"[,，、;；/|]+")
_YEAR = re.compile(YEAR)
_URL = URLValidator(schemes=["http", "https"])

# What an honour column says -> Honour.Kind; the first group whose word appears wins.
_KIND_WORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("中国科学院院士", "科学院院士", "中科院院士", "chinese academy of sciences"), Honour.Kind.ACADEMICIAN_CAS),
    (("中国工程院院士", "工程院院士", "chinese academy of engineering"), Honour.Kind.ACADEMICIAN_CAE),
    (("五一劳动奖章", "劳动奖章", "labour medal", "labor medal"), Honour.Kind.LABOUR_MEDAL),
    (("劳动模范", "劳模", "先进工作者", "model worker"), Honour.Kind.MODEL_WORKER),
    (("福布斯", "胡润", "富豪榜", "百富榜", "排行榜", "榜单", "forbes", "hurun", "rich list"), Honour.Kind.LIST),
    (("奖", "award", "prize", "medal"), Honour.Kind.AWARD),
)  # fmt: skip
_YEAR_MIN = 1880


@dataclass
class Defaults:
    """Job-level values for rows whose list does not give them."""

    honour_kind: str = Honour.Kind.OTHER
    honour_title: str = ""
    honour_year: int | None = None
    source_url: str = ""


@dataclass
class ListRow:
    row: int
    raw: dict[str, str] = field(default_factory=dict)
    name: str = ""
    name_key: str = ""
    latin_keys: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    gender: str = ""
    birth_year: int | None = None
    birth_month: int | None = None
    organisation: str = ""
    title: str = ""
    education: list[Education] = field(default_factory=list)
    other_schools: list[str] = field(default_factory=list)
    honour_kind: str = Honour.Kind.OTHER
    honour_title: str = ""
    honour_year: int | None = None
    source_url: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        """Identity of the entry across runs: the same name, birth year, organisation and honour kind."""
        key = "|".join(
            [self.name_key or " ".join(self.latin_keys), str(self.birth_year or ""), org_key(self.organisation),
             self.honour_kind]
        )  # fmt: skip
        return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()

    @property
    def ours_mentioned(self) -> bool:
        return any(e.school == "ours" for e in self.education)

    @property
    def elsewhere_only(self) -> bool:
        """Education is given, and all of it at other schools."""
        return bool(self.education) and all(e.school == "other" for e in self.education)

    def hints(self) -> dict:
        """What was read from the row, for the review page and the JSON stored on the row."""
        data = {
            "name": self.name,
            "former_names": list(self.former_names),
            "latin_keys": list(self.latin_keys),
            "gender": self.gender,
            "birth_year": self.birth_year,
            "birth_month": self.birth_month,
            "organisation": self.organisation,
            "title": self.title,
            "education": [e.as_json() for e in self.education],
            "other_schools": self.other_schools,
            "honour_kind": self.honour_kind,
            "honour_title": self.honour_title,
            "honour_year": self.honour_year,
            "source_url": self.source_url,
            "notes": self.notes,
        }
        return {k: v for k, v in data.items() if v not in ("", None, [], ())}


def _year(text: str, *, today: date) -> int | None:
    if not text:
        return None
    value = parse_year_text(text)
    if value.__class__ is not int:
        match = _YEAR.search(clean_text(text))
        value = int(match.group(1)) if match else None
    return value if value is not None and _YEAR_MIN <= value <= today.year else None


_MONTH = re.compile(YEAR + r"\s*(?:年|[.\-/])\s*(\d{1,2})(?!\d)")


def _month(text: str) -> int | None:
    """The month of '1962年3月', '1962.03', '1962-03-05' or '1962/3'; None for a bare year."""
    match = _MONTH.search(clean_text(text))
    month = int(match.group(2)) if match else None
    return month if month and 1 <= month <= 12 else None


def _clean_name(text: str) -> tuple[str, str]:
    """(name, gender said in brackets): '张伟（女）' -> ('张伟', 'F'); '王 芳*' -> ('王芳', '')."""
    text = clean_text(text)
    gender = ""
    for bracket in _BRACKETED.findall(text):
        if "女" in bracket:
            gender = "F"
        elif "男" in bracket:
            gender = "M"
    text = _NAME_NOISE.sub("", _BRACKETED.sub("", text)).strip()
    if not _LATIN_NAME.match(text):
        text = text.replace(" ", "")
    return text, gender


def latin_keys(text: str) -> tuple[str, ...]:
    """Pinyin keys of a name written in Latin letters, in both orders: 'Zhang Wei' -> ('zhangwei', 'weizhang')."""
    tokens = re.findall(r"[a-z]+", text.lower())
    if not tokens:
        return ()
    keys = ["".join(tokens)]
    if len(tokens) > 1:
        keys.append("".join(tokens[1:] + tokens[:1]))
    return tuple(dict.fromkeys(keys))


def kind_of(text: str) -> str:
    """The Honour.Kind an honour text names, or '' if it names none."""
    lowered = name_key(text).lower()
    if not lowered:
        return ""
    for words, kind in _KIND_WORDS:
        if any(word in lowered for word in words):
            return kind
    if lowered in {k for k, _label in Honour.Kind.choices}:
        return lowered
    return ""


def build_row(
    number: int, raw: dict[str, str], columns: Columns, vocabulary: Vocabulary, defaults: Defaults, *, today: date
) -> ListRow:
    """Read every hint of one row; bad cells become notes, never errors."""

    def cell(name: str) -> str:
        header = columns.first(name)
        return clean_text(raw.get(header, "")) if header else ""

    row = ListRow(row=number, raw={k: v for k, v in raw.items() if v})
    name, bracket_gender = _clean_name(cell("name"))
    if not name and columns.first("latin_name"):
        name = _clean_name(cell("latin_name"))[0]
    row.name = name[:100]
    if _LATIN_NAME.match(name):
        row.latin_keys = latin_keys(name)
    else:
        row.name_key = name_key(name)
        if columns.first("latin_name"):
            row.latin_keys = latin_keys(cell("latin_name"))
    if not row.name:
        row.notes.append("no_name")
    formers = [name_key(_clean_name(n)[0]) for n in _SPLIT_NAMES.split(cell("former_names"))]
    row.former_names = tuple(n for n in dict.fromkeys(formers) if n and n != row.name_key)

    gender = normalise_gender(cell("gender")) if cell("gender") else None
    row.gender = gender if gender in ("M", "F") else bracket_gender
    birth_text = cell("birth")
    row.birth_year = _year(birth_text, today=today)
    if birth_text and row.birth_year is None:
        row.notes.append("bad_birth")
    elif row.birth_year is not None:
        row.birth_month = _month(birth_text)
    row.organisation = cell("organisation")[:200]
    row.title = cell("title")[:100]

    _column_education(row, cell, vocabulary, today=today)
    for header in columns.fields.get("bio", []):
        facts = parse_bio(raw.get(header, ""), vocabulary)
        row.education.extend(facts.education)
        row.other_schools.extend(s for s in facts.other_schools if s not in row.other_schools)
        if row.birth_year is None and facts.birth_year and _YEAR_MIN <= facts.birth_year <= today.year:
            row.birth_year = facts.birth_year
        if row.honour_year is None and facts.honour_year:
            row.honour_year = facts.honour_year

    honour_text = cell("honour")
    row.honour_kind = kind_of(honour_text) or kind_of(defaults.honour_title) or defaults.honour_kind
    row.honour_title = (honour_text or defaults.honour_title)[:200]
    row.honour_year = _year(cell("honour_year"), today=today) or row.honour_year or defaults.honour_year
    url = cell("source_url")
    try:
        _URL(url)
    except ValidationError:
        url = ""
    row.source_url = url or defaults.source_url
    return row


def _column_education(row: ListRow, cell, vocabulary: Vocabulary, *, today: date) -> None:
    university = cell("university")
    education = Education()
    if university:
        education.school = "ours" if vocabulary.is_ours(name_key(university)) else "other"
        education.school_text = university
        if education.school == "other":
            row.other_schools.append(university)
    degree = normalise_degree_level(cell("degree")) if cell("degree") else None
    if degree.__class__ is str:
        education.degree = degree
    education.graduation_year = _year(cell("graduation_year"), today=today)
    education.enrolment_year = _year(cell("enrollment_year"), today=today)
    if cell("major"):
        education.majors = [cell("major")]
    if cell("college"):
        education.colleges = [cell("college")]
    if education.has_content():
        row.education.append(education)
