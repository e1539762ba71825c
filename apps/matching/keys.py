"""Comparison forms and string similarity for organisations, majors and colleges (rapidfuzz).

Chinese abbreviations keep the characters of the full name in order (中科院计算所 for 中国科学院计算技术
研究所, 中航工业 for 中国航空工业集团), so besides the plain edit ratio a short name that is a
subsequence of a longer one scores high; generic suffixes (有限公司, 集团, Co., Ltd.) are dropped first.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from apps.core.names import clean_text, to_simplified

_BRACKETS = re.compile(r"[(（\[【].*?[)）\]】]")
_ORG_SUFFIXES = re.compile(
    r"(?:股份有限公司|有限责任公司|有限公司|集团公司|集团有限公司|总公司|集团|公司|"
    r"co\.?,?\s*ltd\.?|co\.?|ltd\.?|inc\.?|llc|corporation|corp\.?|company|group|plc|gmbh|\bag\b|\bse\b)\s*$",
    re.IGNORECASE,
)
_NOISE = re.compile(r"[\s·•.,，、:：;；'\"“”‘’()（）\[\]【】/\\&-]+")
_SUBJECT_SUFFIXES = re.compile(r"(?:专业|方向|学科|系|学院)$")


@lru_cache(maxsize=65536)
def org_key(text: str) -> str:
    """'中国航空工业集团有限公司' -> '中国航空工业'; 'Boeing Company' -> 'boeing'."""
    value = to_simplified(clean_text(text)).lower()
    value = _BRACKETS.sub("", value)
    for _ in range(3):
        stripped = _ORG_SUFFIXES.sub("", value.strip())
        if stripped == value.strip() or not stripped:
            break
        value = stripped
    return _NOISE.sub("", value)


@lru_cache(maxsize=65536)
def subject_key(text: str) -> str:
    """'飞机设计专业' -> '飞机设计'; '计算机学院' -> '计算机'."""
    value = _NOISE.sub("", to_simplified(clean_text(text)).lower())
    stripped = _SUBJECT_SUFFIXES.sub("", value)
    return stripped if len(stripped) >= 2 else value


def similarity(a: str, b: str, *, min_abbreviation: int = 4) -> int:
    """0-100: equal 100; one inside the other, or an in-order abbreviation of it (at least
    ``min_abbreviation`` characters), 90; else rapidfuzz's edit ratio."""
    if not a or not b:
        return 0
    if a == b:
        return 100
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) >= min_abbreviation:
        if short in long_:
            return 90
        common = (len(short) + len(long_) - Indel.distance(short, long_)) // 2
        if common == len(short) and short[0] == long_[0]:
            return 90
    return int(fuzz.ratio(a, b))
