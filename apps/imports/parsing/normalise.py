"""Per-field normalisation and the per-row checks, on the hot path of every import.

Each normaliser takes a non-empty cell (a ``str`` from CSV; also int, float, bool, datetime from
XLSX) and returns the normalised value, ``None`` for a blank, or an ``Invalid``. The common case
(already clean ASCII digits, ISO dates, plain Chinese text) takes a fast path of a few C-level
string checks; parses of repeated values (dates, years, degree names) are cached. Nothing here
raises on bad input.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext_lazy as _

from apps.alumni.models import Enrollment

from .dates import cell_to_date, cell_to_year
from .errors import Invalid, ParsedRow, RowError, make_row_error, shorten
from .fields import CANONICAL_FIELDS, MAX_LENGTHS, REQUIRED_FIELDS

# --- messages ---------------------------------------------------------------------------------
TOO_LONG = _("the text is longer than %(max)s characters")
NOT_TEXT = _("“%(value)s” is not text")
UNDECODABLE = _("the cell contains bytes that are not valid text in the file’s encoding (%(encoding)s)")
FORMULA_WITHOUT_VALUE = _(
    "the cell holds a formula without a calculated value; open the file in Excel, let it calculate, and save it "
    "again (or paste the values)"
)
EXCEL_ERROR = _("the cell shows the Excel error %(value)s")
NUMERIC_ID = _(
    "Excel stored %(value)s as a number, which corrupts long IDs and drops leading zeros; format the column as "
    "text and enter the IDs again"
)
BAD_STUDENT_ID = _("“%(value)s” is not a valid student ID (letters, digits, “-” and “_” only, at most 32 characters)")
DUPLICATE_STUDENT_ID = _("student ID %(value)s already appears in row %(first)s of this file")
BAD_GENDER = _("“%(value)s” is not a gender; use 男 or 女 (M or F)")
DATE_RANGE = _("%(value)s is outside the accepted range %(min)s to %(max)s")
YEAR_RANGE = _("%(value)s is outside the accepted years %(min)s to %(max)s")
GRADUATION_BEFORE_ENROLMENT = _("graduation year %(graduation)s is before enrolment year %(enrolment)s")
LEGACY_ID_NUMBER = _("this is an old 15-digit ID-card number; enter the 18-character number")
BAD_ID_NUMBER = _("%(value)s is not a valid 18-character ID-card number (wrong length, characters or check digit)")
ID_BIRTH_MISMATCH = _("the birth date in the ID-card number (%(id_birth)s) differs from the birth date %(birth)s")
BAD_DEGREE = _("“%(value)s” is not a known degree level; use 专科, 本科, 硕士, 博士 or 其他")
BAD_STATUS = _("“%(value)s” is not a known status; use 在读, 毕业, 结业 or 肄业")
BAD_MOBILE = _("“%(value)s” is not a mainland mobile number (11 digits starting with 13 to 19)")
SEVERAL_NUMBERS = _("“%(value)s” holds more than one number; put one number in this column")
BAD_LANDLINE = _("“%(value)s” is not a telephone number")
BAD_EMAIL = _("“%(value)s” is not a valid email address")
REQUIRED_BLANK = _("this cell is empty, but %(field)s is required")
REQUIRED_NO_COLUMN = _("there is no column for %(field)s")
EXTRA_CELLS = _(
    "the row has %(cells)s cells but the header has %(columns)s; a comma inside a value may be missing its quotes"
)

_PLACEHOLDERS = frozenset(
    {"-", "--", "---", "—", "——", "/", "\\", "无", "暂无", "空", "N/A", "n/a", "NA", "NULL", "null", "None", "none"}
)
# Removed everywhere: NUL and other C0 controls (whitespace ones become spaces), zero-width and
# bidirectional-override characters, soft hyphen, BOM.
_REMOVE = dict.fromkeys(
    [c for c in range(32) if chr(c) not in "\t\n\r\x0b\x0c"]
    + [0x7F, 0xAD, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A)),
    None,
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")


class CellProblem(Invalid):
    """A cell that is wrong before any field looks at it (formula without value, #N/A, undecodable bytes)."""

    __slots__ = ("raw",)

    def __init__(self, message, params: dict | None = None, raw: str = ""):
        super().__init__(message, params)
        self.raw = raw


FORMULA_CELL = CellProblem(FORMULA_WITHOUT_VALUE)


def _stringify(value: object) -> str | Invalid:
    """Text for a non-text cell in a text column: whole numbers without '.0'."""
    cls = value.__class__
    if cls is int:
        return str(value)
    if cls is float:
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if cls is datetime or cls is date:
        return cell_text(value)
    return Invalid(NOT_TEXT, {"value": shorten(cell_text(value))})


def cell_text(value: object) -> str:
    """A cell as staff would read it, for the error report's raw columns."""
    cls = value.__class__
    if cls is str:
        return value
    if value is None:
        return ""
    if cls is CellProblem:
        return value.raw
    if cls is float:
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if cls is datetime:
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, Invalid):
        return ""
    return str(value)


def _clean_slow(value: str, *, nfkc: bool = True) -> str | Invalid:
    if _SURROGATE.search(value):
        return CellProblem(UNDECODABLE, {"encoding": "?"})
    if nfkc:
        value = unicodedata.normalize("NFKC", value)
    return " ".join(value.translate(_REMOVE).split())


def _is_clean(value: str) -> bool:
    """Already NFKC, printable, no doubled or edge spaces: nothing for the slow path to do."""
    return (
        value.isprintable()
        and "  " not in value
        and value[0] != " "
        and value[-1] != " "
        and unicodedata.is_normalized("NFKC", value)
    )


def make_text(max_length: int) -> Callable[[object], object]:
    """A normaliser for free text: NFKC (full-width to half-width), no invisibles, single spaces."""

    def normalise_text(value):
        if value.__class__ is not str:
            value = _stringify(value)
            if value.__class__ is Invalid:
                return value
        if not _is_clean(value):
            value = _clean_slow(value)
            if value.__class__ is not str:
                return value
            if not value:
                return None
        if value in _PLACEHOLDERS:
            return None
        if len(value) > max_length:
            return Invalid(TOO_LONG, {"max": max_length})
        return value

    return normalise_text


def normalise_name(value):
    """Names keep their characters (no NFKC, no simplification): only invisibles and spacing change,
    and spaces between two Chinese characters (张　三, typed to align columns) are dropped."""
    if value.__class__ is not str:
        return Invalid(NOT_TEXT, {"value": shorten(cell_text(value))})
    if not (value.isprintable() and " " not in value):
        value = _clean_slow(value, nfkc=False)
        if value.__class__ is not str:
            return value
        value = _SPACE_BETWEEN_CJK.sub("", value)
        if not value:
            return None
    if value in _PLACEHOLDERS:
        return None
    if len(value) > MAX_LENGTHS["name"]:
        return Invalid(TOO_LONG, {"max": MAX_LENGTHS["name"]})
    return value


# --- identifiers ------------------------------------------------------------------------------
_STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_SCIENTIFIC = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+")
_FLOAT_WHOLE = re.compile(r"(\d+)\.0+")
_NO_SPACES = re.compile(r"\s+")


def normalise_student_id(value):
    """'2011ab01' -> '2011AB01'; a whole number from a numeric cell of up to 15 digits -> its digits."""
    if value.__class__ is str:
        if value.isalnum() and value.isascii() and len(value) <= 32:
            return value.upper()
        return _student_id_text(value)
    cls = value.__class__
    if cls is int and 0 <= value < 10**15:
        return str(value)
    if cls is float and value.is_integer() and 0 <= value < 1e15:
        return str(int(value))
    if cls is int or cls is float:
        return Invalid(NUMERIC_ID, {"value": cell_text(value)})
    return Invalid(BAD_STUDENT_ID, {"value": shorten(cell_text(value))})


def _student_id_text(value: str):
    cleaned = _clean_slow(value)
    if cleaned.__class__ is not str:
        return cleaned
    cleaned = _NO_SPACES.sub("", cleaned)
    if not cleaned or cleaned in _PLACEHOLDERS:
        return None
    if _SCIENTIFIC.fullmatch(cleaned):
        return Invalid(NUMERIC_ID, {"value": cleaned})
    if match := _FLOAT_WHOLE.fullmatch(cleaned):
        cleaned = match.group(1)
    if _STUDENT_ID.fullmatch(cleaned):
        return cleaned.upper()
    return Invalid(BAD_STUDENT_ID, {"value": shorten(value)})


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_NUMBER = re.compile(r"\d{17}[\dX]")


def _id_number_checked(number: str):
    total = 0
    for digit, weight in zip(number[:17], _ID_WEIGHTS, strict=False):
        total += (ord(digit) - 48) * weight
    if _ID_CHECK[total % 11] != number[17]:
        return Invalid(BAD_ID_NUMBER, {"value": _mask(number)})
    if id_number_birth_date(number) is None:
        return Invalid(BAD_ID_NUMBER, {"value": _mask(number)})
    return number


def _mask(number: str) -> str:
    # Messages end up in job records and reports: never the whole ID-card number.
    return number[:6] + "*" * max(len(number) - 10, 0) + number[-4:] if len(number) > 10 else "*" * len(number)


def id_number_birth_date(number: str) -> date | None:
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def normalise_id_number(value):
    """An 18-character GB 11643 number with a valid check character and birth date; 'x' -> 'X'."""
    if value.__class__ is not str:
        if value.__class__ in (int, float):
            return Invalid(NUMERIC_ID, {"value": _mask(cell_text(value))})
        return Invalid(BAD_ID_NUMBER, {"value": "?"})
    if len(value) == 18 and value.isascii() and value[:17].isdigit():
        number = value.upper()
        if _ID_NUMBER.fullmatch(number):
            return _id_number_checked(number)
    cleaned = _clean_slow(value)
    if cleaned.__class__ is not str:
        return cleaned
    cleaned = _NO_SPACES.sub("", cleaned).upper()
    if not cleaned or cleaned in _PLACEHOLDERS:
        return None
    if _SCIENTIFIC.fullmatch(cleaned):
        return Invalid(NUMERIC_ID, {"value": _mask(cleaned)})
    if len(cleaned) == 15 and cleaned.isdigit():
        return Invalid(LEGACY_ID_NUMBER)
    if _ID_NUMBER.fullmatch(cleaned):
        return _id_number_checked(cleaned)
    return Invalid(BAD_ID_NUMBER, {"value": _mask(cleaned)})


# --- choices ----------------------------------------------------------------------------------
_KEY_NOISE = re.compile(r"[\s.'’·_/()\-]+")


def _choice_key(value: str) -> str:
    return _KEY_NOISE.sub("", unicodedata.normalize("NFKC", value).casefold())


_GENDERS = {
    "男": "M", "女": "F", "男性": "M", "女性": "F", "男生": "M", "女生": "F", "先生": "M", "女士": "F",
    "m": "M", "f": "F", "male": "M", "female": "F", "man": "M", "woman": "F",
    "1": "M", "2": "F", "0": "", "9": "", "未知": "", "保密": "", "不详": "", "unknown": "", "u": "", "x": "",
}  # fmt: skip
_GENDERS_RAW = {**_GENDERS, "M": "M", "F": "F", "Male": "M", "Female": "F"}


def normalise_gender(value):
    """男/女/M/F/male/female/1/2 (GB/T 2261.1 codes; 0 and 9 are unknown) -> 'M', 'F' or ''."""
    if value.__class__ is str:
        found = _GENDERS_RAW.get(value)
        if found is not None:
            return found
        key = _choice_key(value)
        if not key or value.strip() in _PLACEHOLDERS:
            return None
        found = _GENDERS.get(key)
    elif value.__class__ in (int, float) and float(value).is_integer():
        found = _GENDERS.get(str(int(value)))
    else:
        found = None
    return found if found is not None else Invalid(BAD_GENDER, {"value": shorten(cell_text(value))})


D = Enrollment.DegreeLevel
_DEGREES = {
    D.JUNIOR_COLLEGE: (
        "专科", "大专", "高职", "专科生", "高职高专", "大学专科", "高专", "专科(高职)", "junior", "junior college",
        "associate", "associate degree", "diploma",
    ),
    D.BACHELOR: (
        "本科", "学士", "本科生", "大学本科", "学士学位", "本科/学士", "专升本", "第二学士", "第二学士学位",
        "bachelor", "bachelors", "bachelor's", "ba", "bs", "bsc", "beng", "b.a.", "b.s.", "b.eng", "bba", "llb",
        "undergraduate",
    ),
    D.MASTER: (
        "硕士", "研究生", "硕士研究生", "硕士学位", "研究生/硕士", "工程硕士", "专业硕士", "学术硕士", "专硕", "学硕",
        "专业学位硕士", "学术学位硕士", "master", "masters", "master's", "ma", "ms", "msc", "meng", "mba", "mpa",
        "emba", "mpacc", "mfa", "llm", "mphil", "postgraduate",
    ),
    D.DOCTOR: (
        "博士", "博士研究生", "博士学位", "研究生/博士", "硕博连读", "直博", "doctor", "doctorate", "doctoral",
        "phd", "ph.d.", "ph.d", "dba", "edd", "md",
    ),
    D.OTHER: ("其他", "其它", "other", "others", "进修", "培训", "访问学者", "博士后", "postdoc"),
}  # fmt: skip
_DEGREE_KEYS = {_choice_key(text): level.value for level, texts in _DEGREES.items() for text in texts}
# Longer phrases: the highest level named wins (硕博连读, 研究生（博士）).
_DEGREE_WORDS = (
    (("博士", "doctor", "phd"), D.DOCTOR.value),
    (("硕士", "研究生", "master"), D.MASTER.value),
    (("本科", "学士", "bachelor"), D.BACHELOR.value),
    (("专科", "大专", "高职"), D.JUNIOR_COLLEGE.value),
)


@lru_cache(maxsize=1024)
def _degree_text(value: str):
    key = _choice_key(value)
    if not key or value.strip() in _PLACEHOLDERS:
        return None
    found = _DEGREE_KEYS.get(key)
    if found is not None:
        return found
    if "博士后" in key:
        return D.OTHER.value
    for words, level in _DEGREE_WORDS:
        if any(word in key for word in words):
            return level
    return Invalid(BAD_DEGREE, {"value": shorten(value)})


def normalise_degree_level(value):
    if value.__class__ is str:
        return _degree_text(value)
    return Invalid(BAD_DEGREE, {"value": shorten(cell_text(value))})


S = Enrollment.Status
_STATUSES = {
    S.STUDYING: ("在读", "在校", "在籍", "在学", "studying", "enrolled", "current", "student"),
    S.GRADUATED: (
        "毕业", "已毕业", "毕业生", "正常毕业", "毕业并获学位", "graduated", "graduate", "alumni", "alumnus",
    ),
    S.COMPLETED: ("结业", "已结业", "completed", "completed without degree"),
    S.WITHDRAWN: ("肄业", "退学", "已退学", "肄业生", "withdrawn", "withdrew", "dropped out", "dropout"),
}  # fmt: skip
_STATUS_KEYS = {_choice_key(text): status.value for status, texts in _STATUSES.items() for text in texts}
# Longer phrases ("已毕业（获学位）"), unless negated ("未毕业").
_STATUS_WORDS = (
    ("肄业", S.WITHDRAWN.value),
    ("退学", S.WITHDRAWN.value),
    ("结业", S.COMPLETED.value),
    ("毕业", S.GRADUATED.value),
    ("在读", S.STUDYING.value),
    ("在校", S.STUDYING.value),
)


@lru_cache(maxsize=256)
def _status_text(value: str):
    key = _choice_key(value)
    if not key or value.strip() in _PLACEHOLDERS:
        return None
    found = _STATUS_KEYS.get(key)
    if found is None and not key.startswith(("未", "不", "非", "not", "non")):
        found = next((status for word, status in _STATUS_WORDS if word in key), None)
    return found if found is not None else Invalid(BAD_STATUS, {"value": shorten(value)})


def normalise_status(value):
    if value.__class__ is str:
        return _status_text(value)
    return Invalid(BAD_STATUS, {"value": shorten(cell_text(value))})


# --- contacts ---------------------------------------------------------------------------------
_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_JUNK = re.compile(r"[\s\-.()]+")
_SEVERAL = re.compile(r"[/,;、|]|或")


def _phone_text(value: object) -> str | Invalid:
    if value.__class__ is str:
        return value
    if value.__class__ is int:
        return str(value)
    if value.__class__ is float and value.is_integer():
        return str(int(value))
    return Invalid(BAD_MOBILE, {"value": shorten(cell_text(value))})


def normalise_mobile(value):
    """'+86 138-0013-8000', '0086 13800138000', '１３８００１３８０００' -> '13800138000'."""
    if value.__class__ is str and len(value) == 11 and value.isdigit() and value.isascii():
        if value[0] == "1" and value[1] in "3456789":
            return value
        return Invalid(BAD_MOBILE, {"value": value})
    text = _phone_text(value)
    if text.__class__ is not str:
        return text
    cleaned = _clean_slow(text)
    if cleaned.__class__ is not str:
        return cleaned
    if not cleaned or cleaned in _PLACEHOLDERS:
        return None
    if _SEVERAL.search(cleaned):
        return Invalid(SEVERAL_NUMBERS, {"value": shorten(cleaned)})
    digits = _PHONE_JUNK.sub("", cleaned)
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("86"):
            return Invalid(BAD_MOBILE, {"value": shorten(cleaned)})
    if len(digits) == 15 and digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if _MOBILE.fullmatch(digits):
        return digits
    return Invalid(BAD_MOBILE, {"value": shorten(cleaned)})


_DIGIT_GROUPS = re.compile(r"\d+")
_EXTENSION = re.compile(r"(?:转|分机|ext\.?|x|#)\s*(\d{1,6})$", re.IGNORECASE)


def normalise_landline(value):
    """Digits and dashes: '(010) 1234 5678' and '+86 10 12345678' -> '010-12345678'; '0755-8888-6666转123'
    -> '0755-88886666-123'; '400-810-8888' -> '4008108888'; numbers typed without separators stay as typed."""
    text = _phone_text(value)
    if text.__class__ is not str:
        return Invalid(BAD_LANDLINE, {"value": shorten(cell_text(value))})
    cleaned = _clean_slow(text)
    if cleaned.__class__ is not str:
        return cleaned
    if not cleaned or cleaned in _PLACEHOLDERS:
        return None
    if _SEVERAL.search(cleaned):
        return Invalid(SEVERAL_NUMBERS, {"value": shorten(cleaned)})
    extension = ""
    if match := _EXTENSION.search(cleaned):
        extension = "-" + match.group(1)
        cleaned = cleaned[: match.start()]
    if cleaned.strip(" 0123456789-()+—–").strip():
        return Invalid(BAD_LANDLINE, {"value": shorten(cleaned)})
    international = cleaned.lstrip().startswith(("+86", "0086"))
    groups = _DIGIT_GROUPS.findall(cleaned)
    if international:
        groups[0] = groups[0].removeprefix("0086").removeprefix("86")
        groups = [g for g in groups if g]
        if groups and not groups[0].startswith("0") and not _MOBILE.fullmatch("".join(groups)):
            groups[0] = "0" + groups[0]
    if not groups:
        return Invalid(BAD_LANDLINE, {"value": shorten(cleaned)})
    if len(groups) > 1 and groups[0].startswith("0") and 3 <= len(groups[0]) <= 4:
        area, local = groups[0], "".join(groups[1:])
        valid = 7 <= len(local) <= 8 and local[0] != "0"
        number = f"{area}-{local}"
    else:
        number = "".join(groups)
        valid = (
            (7 <= len(number) <= 8 and number[0] != "0")
            or (10 <= len(number) <= 12 and number[0] == "0")
            or (len(number) == 10 and number.startswith(("400", "800")))
            or _MOBILE.fullmatch(number) is not None
        )
    if valid:
        return number + extension
    return Invalid(BAD_LANDLINE, {"value": shorten(cleaned)})


_EMAIL_FAST = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{}|~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{}|~-]+)*"
    r"@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.(?!-)[a-z-]{2,63}(?<!-)"
)
_validate_email = EmailValidator()


def normalise_email(value):
    """Lower-cased, NFKC (full-width ＠ and letters), validated as Django's EmailValidator does."""
    if value.__class__ is not str:
        return Invalid(BAD_EMAIL, {"value": shorten(cell_text(value))})
    lowered = value.lower()
    if len(lowered) <= 254 and _EMAIL_FAST.fullmatch(lowered):
        return lowered  # the fast pattern accepts a subset of what EmailValidator accepts
    cleaned = _clean_slow(value)
    if cleaned.__class__ is not str:
        return cleaned
    if not cleaned or cleaned in _PLACEHOLDERS:
        return None
    cleaned = cleaned.strip("<>").removeprefix("mailto:").lower()
    if len(cleaned) > 254 or " " in cleaned:
        return Invalid(BAD_EMAIL, {"value": shorten(value)})
    try:
        _validate_email(cleaned)
    except ValidationError:
        return Invalid(BAD_EMAIL, {"value": shorten(value)})
    return cleaned


# --- dates and years --------------------------------------------------------------------------
EARLIEST_BIRTH_DATE = date(1880, 1, 1)
FIRST_YEAR = 1895  # the university's founding; YEAR_VALIDATORS in alumni.models
YEARS_AHEAD = 8  # enrolment and expected graduation years this far ahead are accepted


def make_birth_date(today: date, *, epoch_1904: bool) -> Callable[[object], object]:
    earliest, latest = EARLIEST_BIRTH_DATE, today
    bounds = {"min": earliest.isoformat(), "max": latest.isoformat()}

    def normalise_birth_date(value):
        parsed = cell_to_date(value, epoch_1904=epoch_1904)
        if parsed.__class__ is not date:
            if value.__class__ is str and (not value.strip() or value.strip() in _PLACEHOLDERS):
                return None
            return parsed
        if earliest <= parsed <= latest:
            return parsed
        return Invalid(DATE_RANGE, {"value": parsed.isoformat(), **bounds})

    return normalise_birth_date


def make_year(today: date) -> Callable[[object], object]:
    first, last = FIRST_YEAR, today.year + YEARS_AHEAD

    def normalise_year(value):
        parsed = cell_to_year(value)
        if parsed.__class__ is not int:
            if value.__class__ is str and (not value.strip() or value.strip() in _PLACEHOLDERS):
                return None
            return parsed
        if first <= parsed <= last:
            return parsed
        return Invalid(YEAR_RANGE, {"value": parsed, "min": first, "max": last})

    return normalise_year


def field_normalisers(today: date, *, epoch_1904: bool = False) -> dict[str, Callable[[object], object]]:
    """Canonical field -> normaliser, for a roster read on ``today`` (the upper bound of dates and years)."""
    year = make_year(today)
    text = {name: make_text(MAX_LENGTHS[name]) for name in MAX_LENGTHS if name not in ("student_id", "name")}
    normalisers = {
        **text,
        "student_id": normalise_student_id,
        "name": normalise_name,
        "gender": normalise_gender,
        "birth_date": make_birth_date(today, epoch_1904=epoch_1904),
        "id_number": normalise_id_number,
        "degree_level": normalise_degree_level,
        "enrollment_year": year,
        "graduation_year": year,
        "status": normalise_status,
        "mobile": normalise_mobile,
        "landline": normalise_landline,
        "email": normalise_email,
    }
    missing = set(CANONICAL_FIELDS) - set(normalisers)
    if missing:  # pragma: no cover - guards the table against a new field without a normaliser
        raise RuntimeError(f"no normaliser for {sorted(missing)}")
    return normalisers


# --- rows -------------------------------------------------------------------------------------


# Fields whose values repeat across a roster (colleges, classes, years, birth dates ...): their
# normalised text values are memoised per pass, up to this many distinct values each.
CACHED_FIELDS = frozenset(
    {
        "gender", "birth_date", "college", "major", "school_class", "degree_level", "enrollment_year",
        "graduation_year", "status", "organisation", "title", "city", "province", "country", "hometown",
    }
)  # fmt: skip
_CACHE_LIMIT = 50_000
_MISSING = object()


class RowBuilder:
    """Turns one row of cells into a ParsedRow: normalise each mapped cell, then the cross-field checks
    (required values, graduation not before enrolment, ID-card birth date, student IDs repeated in the
    file). One builder per pass over a file: it remembers the student IDs it has seen."""

    def __init__(
        self,
        headers: list[str],
        columns: dict[str, int],
        *,
        today: date,
        epoch_1904: bool = False,
        encoding: str = "",
    ):
        normalisers = field_normalisers(today, epoch_1904=epoch_1904)
        self.headers = headers
        self.width = len(headers)
        self.plan = sorted(
            (index, name, normalisers[name], {} if name in CACHED_FIELDS else None) for name, index in columns.items()
        )
        self.column_of = {name: headers[index] for name, index in columns.items()}
        self.required = [name for name in REQUIRED_FIELDS if name in columns]
        self.absent_required = [name for name in REQUIRED_FIELDS if name not in columns]
        self.check_years = "graduation_year" in columns and "enrollment_year" in columns
        self.check_id_birth = "id_number" in columns and "birth_date" in columns
        self.check_duplicates = "student_id" in columns
        self.named = [(index, header) for index, header in enumerate(headers) if header]
        self.all_named = len(self.named) == self.width
        self.encoding = encoding
        self.seen: dict[int | str, int] = {}

    def raw_from_text(self, cells: list[str]) -> dict[str, str]:
        if self.all_named:
            return dict(zip(self.headers, cells, strict=False))
        return {header: cells[index] for index, header in self.named if index < len(cells)}

    def raw_from_values(self, cells: list[object]) -> dict[str, str]:
        return {header: cell_text(cells[index]) for index, header in self.named if index < len(cells)}

    def _error(self, row: int, name: str, problem: Invalid) -> RowError:
        if problem.message is UNDECODABLE:
            problem = Invalid(UNDECODABLE, {"encoding": self.encoding})
        return make_row_error(row, name, self.column_of.get(name, ""), problem)

    def build_text(self, row: int, cells: list[str], raw: dict[str, str]) -> ParsedRow:
        """The CSV fast path: every cell a ``str``, at least ``width`` of them."""
        values: dict[str, object] = {}
        errors: list[RowError] = []
        if len(cells) > self.width and any(cells[self.width :]):
            problem = Invalid(EXTRA_CELLS, {"cells": len(cells), "columns": self.width})
            errors.append(make_row_error(row, "", "", problem))
        for index, name, normalise, cache in self.plan:
            cell = cells[index]
            if not cell:
                continue
            if cache is None:
                value = normalise(cell)
            else:
                value = cache.get(cell, _MISSING)
                if value is _MISSING:
                    value = normalise(cell)
                    if len(cache) < _CACHE_LIMIT:
                        cache[cell] = value
            if value is None:
                continue
            if value.__class__ is Invalid or value.__class__ is CellProblem:
                errors.append(self._error(row, name, value))
                continue
            values[name] = value
        return self._finish(row, values, errors, raw)

    def build(self, row: int, cells: list, raw: dict[str, str]) -> ParsedRow:
        """Any cells: str, None, numbers, dates, booleans and CellProblems (XLSX, damaged CSV)."""
        values: dict[str, object] = {}
        errors: list[RowError] = []
        width = self.width
        if len(cells) != width:
            if len(cells) > width and any(cells[width:]):
                problem = Invalid(EXTRA_CELLS, {"cells": len(cells), "columns": width})
                errors.append(make_row_error(row, "", "", problem))
            cells = cells[:width] if len(cells) > width else cells + [None] * (width - len(cells))
        for index, name, normalise, cache in self.plan:
            cell = cells[index]
            cls = cell.__class__
            if cls is str:
                if not cell:
                    continue
                if cache is None:
                    value = normalise(cell)
                else:
                    value = cache.get(cell, _MISSING)
                    if value is _MISSING:
                        value = normalise(cell)
                        if len(cache) < _CACHE_LIMIT:
                            cache[cell] = value
            elif cell is None:
                continue
            elif cls is CellProblem:
                errors.append(self._error(row, name, cell))
                continue
            else:
                value = normalise(cell)  # a numeric 0 or False is a value, not a blank
            if value is None:
                continue
            if value.__class__ is Invalid or value.__class__ is CellProblem:
                errors.append(self._error(row, name, value))
                continue
            values[name] = value
        return self._finish(row, values, errors, raw)

    def _finish(self, row: int, values: dict[str, object], errors: list[RowError], raw: dict[str, str]) -> ParsedRow:
        for name in self.required:
            if name not in values and not any(error.field == name for error in errors):
                errors.append(self._error(row, name, Invalid(REQUIRED_BLANK, {"field": CANONICAL_FIELDS[name]})))
        for name in self.absent_required:
            errors.append(make_row_error(row, name, "", Invalid(REQUIRED_NO_COLUMN, {"field": CANONICAL_FIELDS[name]})))
        if self.check_years:
            graduation = values.get("graduation_year")
            if graduation is not None:
                enrolment = values.get("enrollment_year")
                if enrolment is not None and graduation < enrolment:
                    del values["graduation_year"]
                    problem = Invalid(GRADUATION_BEFORE_ENROLMENT, {"graduation": graduation, "enrolment": enrolment})
                    errors.append(self._error(row, "graduation_year", problem))
        if self.check_id_birth:
            number = values.get("id_number")
            birth = values.get("birth_date")
            if number is not None and birth is not None:
                id_birth = id_number_birth_date(number)
                if id_birth != birth:
                    del values["id_number"]
                    params = {"id_birth": id_birth.isoformat(), "birth": birth.isoformat()}
                    errors.append(self._error(row, "id_number", Invalid(ID_BIRTH_MISMATCH, params)))
        if self.check_duplicates:
            student_id = values.get("student_id")
            if student_id is not None:
                # All-digit IDs (most of them) are kept as ints: half the memory of a str over a
                # million rows. The leading "1" keeps "0123" and "123" apart.
                key = int("1" + student_id) if len(student_id) <= 18 and student_id.isdigit() else student_id
                first = self.seen.setdefault(key, row)
                if first != row:
                    problem = Invalid(DUPLICATE_STUDENT_ID, {"value": student_id, "first": first})
                    errors.append(self._error(row, "student_id", problem))
        return ParsedRow(row, values, errors, raw)
