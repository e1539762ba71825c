"""Dates and years as staff type them, and Excel serial numbers in both workbook epochs.

Every parser returns a value or an ``Invalid``; none raises on bad input. Text parsers are cached:
a roster repeats the same birth dates and years thousands of times.
"""

import re
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache

from django.utils.translation import gettext_lazy as _

from .errors import Invalid, shorten

NOT_A_DATE = _("“%(value)s” is not a date; write it as yyyy-mm-dd")
AMBIGUOUS_DATE = _("“%(value)s” is ambiguous (day and month could be swapped); write it as yyyy-mm-dd")
EXCEL_FEB_29 = _("Excel serial number 60 stands for 29 February 1900, a day that does not exist")
BAD_SERIAL = _("%(value)s is not a valid Excel date serial number")
NOT_A_YEAR = _("“%(value)s” is not a year")

_EXCEL_1900_BEFORE_LEAP = date(1899, 12, 31)  # serials 1..59
_EXCEL_1900_AFTER_LEAP = date(1899, 12, 30)  # serials 61.. (Excel counts a 29 February 1900)
_EXCEL_1904 = date(1904, 1, 1)
MAX_SERIAL = 2958465  # 9999-12-31 in the 1900 system
_FEB_29_1900 = Invalid(EXCEL_FEB_29)

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)")
_Y_M_D = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")
_Y_M = re.compile(r"(\d{4})[-/.年](\d{1,2})月?")
_YMD8 = re.compile(r"(\d{4})(\d\d)(\d\d)")
_YM6 = re.compile(r"(\d{4})(\d\d)")
_SERIAL = re.compile(r"(\d{5})(?:\.\d+)?")
_D_M_Y = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
# A time after the date, as Excel writes it into CSV ("2001/9/1 0:00") or ISO datetimes.
_TIME_TAIL = re.compile(r"(?:\s+|T)\d{1,2}:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?\s*$")
_YEAR = re.compile(r"(\d{4})(?:\.0+)?[年级届]?")
_SPACES = re.compile(r"\s+")


def excel_serial_to_date(serial: float, *, epoch_1904: bool = False) -> date | Invalid:
    """An Excel serial day number as a date; the fraction (time of day) is dropped.

    1900 system: serial 1 is 1900-01-01 and serial 60 is Excel's phantom 1900-02-29 (an Invalid).
    1904 system (Mac workbooks): serial 0 is 1904-01-01.
    """
    if serial != serial or serial < 0 or serial > MAX_SERIAL:  # NaN or out of Excel's range
        return Invalid(BAD_SERIAL, {"value": shorten(serial)})
    day = int(serial)
    if epoch_1904:
        return _EXCEL_1904 + timedelta(days=day)
    if day < 1:
        return Invalid(BAD_SERIAL, {"value": shorten(serial)})
    if day < 60:
        return _EXCEL_1900_BEFORE_LEAP + timedelta(days=day)
    if day == 60:
        return _FEB_29_1900
    return _EXCEL_1900_AFTER_LEAP + timedelta(days=day)


def _to_date(year: str, month: str, day: str, text: str) -> date | Invalid:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return Invalid(NOT_A_DATE, {"value": shorten(text)})


@lru_cache(maxsize=65536)
def parse_date_text(text: str) -> date | Invalid:
    """'2001-09-01', '2001/9/1', '2001.9.1', '2001年9月1日', '20010901', '2001.09', '2019年7月',
    '200109', '1990-3' (month forms give the 1st), '36000' (an Excel serial typed as text, 1900
    system), '9/1/2001' when day and month cannot be confused; full-width digits; a trailing
    time of day is ignored."""
    match = _ISO.fullmatch(text)
    if match:
        return _to_date(*match.groups(), text)
    s = text if text.isascii() else unicodedata.normalize("NFKC", text)
    if ":" in s:
        s = _TIME_TAIL.sub("", s)
    if not s.isalnum():
        s = _SPACES.sub("", s)
    if match := _Y_M_D.fullmatch(s):
        return _to_date(*match.groups(), text)
    if match := _Y_M.fullmatch(s):
        return _to_date(*match.groups(), "1", text)
    if s.isdigit() and s.isascii():
        if len(s) == 8:
            return _to_date(*_YMD8.fullmatch(s).groups(), text)
        if len(s) == 6:
            return _to_date(*_YM6.fullmatch(s).groups(), "1", text)
    if _SERIAL.fullmatch(s):
        return excel_serial_to_date(float(s))
    if match := _D_M_Y.fullmatch(s):
        first, second, year = (int(g) for g in match.groups())
        if first > 12 >= second:  # 25/12/2001: day first
            return _to_date(year, second, first, text)
        if second > 12 >= first:  # 12/25/2001: month first (Excel's en-US CSV)
            return _to_date(year, first, second, text)
        if first == second:
            return _to_date(year, first, first, text)
        return Invalid(AMBIGUOUS_DATE, {"value": shorten(text)})
    return Invalid(NOT_A_DATE, {"value": shorten(text)})


def cell_to_date(value: object, *, epoch_1904: bool = False) -> date | Invalid:
    """A date from any cell: text, a datetime/date from a date-formatted cell, or a bare serial number."""
    cls = value.__class__
    if cls is str:
        return parse_date_text(value)
    if cls is datetime:
        return value.date()
    if cls is date:
        return value
    if cls is int or cls is float:
        return excel_serial_to_date(value, epoch_1904=epoch_1904)
    return Invalid(NOT_A_DATE, {"value": shorten(value)})


@lru_cache(maxsize=4096)
def parse_year_text(text: str) -> int | Invalid:
    """'2019', '2019年', '2015级', '2019届', '2019.0' (an Excel float), full-width digits, or any date form
    that parse_date_text accepts, as its year."""
    s = text if text.isascii() else unicodedata.normalize("NFKC", text)
    s = _SPACES.sub("", s)
    if match := _YEAR.fullmatch(s):
        return int(match.group(1))
    if len(s) > 5 or not s.isdigit():  # a full date, not a bare 5-digit serial
        parsed = parse_date_text(s)
        if parsed.__class__ is date:
            return parsed.year
    return Invalid(NOT_A_YEAR, {"value": shorten(text)})


def cell_to_year(value: object) -> int | Invalid:
    cls = value.__class__
    if cls is str:
        if len(value) == 4 and value.isdigit() and value.isascii():
            return int(value)
        return parse_year_text(value)
    if cls is int:
        return value
    if cls is float and value.is_integer():
        return int(value)
    if cls is datetime or cls is date:
        return value.year
    return Invalid(NOT_A_YEAR, {"value": shorten(value)})
