"""Normalisation of Chinese names and identifiers: widths, traditional forms, pinyin keys."""

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"\s+")
_NON_LETTERS = re.compile(r"[^a-z]")

# Surnames whose reading differs from the character's most common reading.
_SURNAME_READINGS = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "朴": "piao",
    "查": "zha",
    "区": "ou",
    "乐": "yue",
    "盖": "ge",
    "尉": "yu",
    "繁": "po",
    "缪": "miao",
    "翟": "zhai",
    "覃": "qin",
    "万俟": "moqi",
    "长孙": "zhangsun",
    "员": "yun",
    "召": "shao",
    "种": "chong",
    "祭": "zhai",
}
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "万俟",
    "令狐",
    "夏侯",
    "宇文",
    "司徒",
    "端木",
    "独孤",
    "南宫",
    "西门",
    "轩辕",
)


def clean_text(value: str | None) -> str:
    """NFKC (full-width to half-width, ideographic space to space), no invisibles, single spaces."""
    if not value:
        return ""
    value = str(value)
    if value.isascii() and value.isprintable() and "  " not in value and value == value.strip():
        return value  # the common case (roster phones, emails, IDs): nothing below would change it
    value = unicodedata.normalize("NFKC", value).translate(_INVISIBLE).replace("\x00", "")
    return _SPACES.sub(" ", value).strip()


@lru_cache(maxsize=1)
def _t2s():
    from opencc import OpenCC

    return OpenCC("t2s")


@lru_cache(maxsize=65536)
def to_simplified(value: str) -> str:
    if not value or value.isascii() or all(map(_is_simplified, value)):
        return value  # the common case, answered from a per-character cache (OpenCC takes ~60 µs a name)
    return _t2s().convert(value)


@lru_cache(maxsize=16384)
def _is_simplified(char: str) -> bool:
    return _t2s().convert(char) == char


def name_key(value: str | None) -> str:
    """The form a name is compared in: cleaned, simplified, without spaces or middle dots."""
    return to_simplified(clean_text(value)).replace(" ", "").replace("·", "").replace("•", "")


@lru_cache(maxsize=65536)
def pinyin_keys(name: str) -> tuple[str, str]:
    """Full pinyin without tones or spaces, and the initials: 张伟 -> ("zhangwei", "zw")."""
    key = name_key(name)
    if not key:
        return "", ""
    surname = next((s for s in _COMPOUND_SURNAMES if key.startswith(s)), key[0])
    # The surname and the given name are read separately: a surname never forms a word with the
    # given name, and given names repeat far more than full names, so their cache is what hits.
    syllables = _surname_syllables(surname) + _syllables(key[len(surname) :])
    return "".join(syllables)[:120], "".join(s[0] for s in syllables)[:40]


@lru_cache(maxsize=4096)
def _surname_syllables(surname: str) -> tuple[str, ...]:
    if len(surname) == 1 and surname in _SURNAME_READINGS:
        return (_SURNAME_READINGS[surname],)
    return _syllables(surname)


@lru_cache(maxsize=65536)
def _syllables(text: str) -> tuple[str, ...]:
    if not text:
        return ()
    syllables = (_NON_LETTERS.sub("", s.lower()) for s in lazy_pinyin(text, style=Style.NORMAL, errors="default"))
    return tuple(s for s in syllables if s)


def looks_like_pinyin(term: str) -> bool:
    return bool(term) and term.isascii() and term.replace(" ", "").isalpha()


def normalise_phone(value: str | None) -> str:
    """Digits only, without the +86 / 0086 country prefix: '+86 138-0013-8000' -> '13800138000'."""
    digits = clean_text(value)
    if not digits.isdigit():
        digits = re.sub(r"\D", "", digits)
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            return digits[len(prefix) :]
    return digits


def normalise_email(value: str | None) -> str:
    return clean_text(value).lower()


def normalise_contact(kind: str, value: str | None) -> str:
    if kind in ("mobile", "landline"):
        return normalise_phone(value)
    if kind == "email":
        return normalise_email(value)
    return clean_text(value).lower()[:255]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number_is_valid(value: str) -> bool:
    """GB 11643 mainland resident ID: 17 digits and a mod-11 check character."""
    value = clean_text(value).upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def id_number_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def mask_id_number(value: str) -> str:
    if not value:
        return ""
    return value[:2] + "*" * (len(value) - 4) + value[-2:] if len(value) > 4 else "*" * len(value)


def mask_phone(value: str) -> str:
    digits = normalise_phone(value)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 11 else "****"
