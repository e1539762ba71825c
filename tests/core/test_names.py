import pytest

from apps.core.names import (
    clean_text,
    id_number_check_char,
    id_number_is_valid,
    mask_id_number,
    mask_phone,
    name_key,
    normalise_contact,
    normalise_phone,
    pinyin_keys,
)

# GB 11643's published sample number; its check character is X.
VALID_ID_X = "11010519491231002X"


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("张伟", "zhangwei", "zw"),
        ("李娜", "lina", "ln"),
        # Surnames whose reading differs from the character's most common one.
        ("曾国藩", "zengguofan", "zgf"),
        ("单田芳", "shantianfang", "stf"),
        ("解缙", "xiejin", "xj"),
        ("仇英", "qiuying", "qy"),
        ("朴树", "piaoshu", "ps"),
        ("区志明", "ouzhiming", "ozm"),
        ("乐嘉", "yuejia", "yj"),
        # Compound surnames.
        ("欧阳修", "ouyangxiu", "oyx"),
        ("司马光", "simaguang", "smg"),
        ("诸葛亮", "zhugeliang", "zgl"),
        ("尉迟恭", "yuchigong", "ycg"),
        ("长孙无忌", "zhangsunwuji", "zswj"),
        ("万俟卨", "moqixie", "mqx"),
        # Traditional characters are keyed like their simplified forms, surname readings included.
        ("張偉", "zhangwei", "zw"),
        ("單田芳", "shantianfang", "stf"),
        ("歐陽修", "ouyangxiu", "oyx"),
        # Middle dots (and their look-alikes) in transliterated names are not letters.
        ("阿依古丽·买买提", "ayigulimaimaiti", "ayglmmt"),
        ("阿依古丽•买买提", "ayigulimaimaiti", "ayglmmt"),
        # Widths, ideographic spaces and invisible characters do not change the key.
        ("  张\u3000伟 ", "zhangwei", "zw"),
        ("张\u200b伟", "zhangwei", "zw"),
    ],
)
def test_pinyin_keys_full_and_initials(name, full, initials):
    assert pinyin_keys(name) == (full, initials)


def test_pinyin_keys_surname_reading_only_applies_to_first_character():
    # 曾 inside a given name keeps its ordinary reading (曾经 céng), only the surname is zēng.
    assert pinyin_keys("张曾") == ("zhangceng", "zc")


@pytest.mark.parametrize("name", ["", None, "   ", "\u200b", "·"])
def test_pinyin_keys_empty_for_blank_names(name):
    assert pinyin_keys(name or "") == ("", "")


def test_pinyin_keys_latin_names_lowercased_letters_only():
    full, initials = pinyin_keys("Ｊｏｈｎ O'Neil")
    assert full == "johnoneil"
    assert initials.startswith("j")
    assert full.isascii()
    assert full.isalpha()


def test_name_key_traditional_and_simplified_compare_equal():
    assert name_key("張 偉") == name_key("张伟") == "张伟"
    assert name_key("阿依古丽·买买提") == "阿依古丽买买提"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("１２３４５", "12345"),
        ("ＡＢＣ ｘｙｚ", "ABC xyz"),
        ("张\u3000伟", "张 伟"),
        ("张\u00a0伟", "张 伟"),
        ("张\u200b伟", "张伟"),
        ("张\u200c\u200d\u2060\ufeff伟", "张伟"),
        ("soft\u00adhyphen", "softhyphen"),
        ("nul\x00byte", "nulbyte"),
        ("  many   \t spaces \n", "many spaces"),
        ("＝HYPERLINK()", "=HYPERLINK()"),
        ("𠮷野家", "𠮷野家"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text_normalises_widths_spaces_and_invisibles(raw, cleaned):
    assert clean_text(raw) == cleaned


def test_clean_text_is_idempotent():
    messy = "\ufeff １３８\u3000００１３\u00a0８０００\x00 "
    assert clean_text(clean_text(messy)) == clean_text(messy) == "138 0013 8000"


@pytest.mark.parametrize(
    "raw",
    [
        "+86 138-0013-8000",
        "+8613800138000",
        "0086 138 0013 8000",
        "008613800138000",
        "86 13800138000",
        "138 0013 8000",
        " 13800138000 ",
        "138-0013-8000",
        "(+86) 138.0013.8000",
        "１３８００１３８０００",
        "＋８６ １３８\u3000００１３ ８０００",
        "138\u200b0013\u200b8000",
    ],
)
def test_normalise_phone_mobile_variants(raw):
    assert normalise_phone(raw) == "13800138000"


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        # A landline keeps its area code; 86 is only a country code before an 11-digit number.
        ("010-6275 1234", "01062751234"),
        ("0755-12345678", "075512345678"),
        ("861380013800", "861380013800"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_phone_keeps_other_numbers_digits_only(raw, normalised):
    assert normalise_phone(raw) == normalised


def test_normalise_contact_by_kind():
    assert normalise_contact("mobile", "+86 138-0013-8000") == "13800138000"
    assert normalise_contact("email", " Zhang.Wei@Example.EDU ") == "zhang.wei@example.edu"
    assert normalise_contact("wechat", " WXID_Ａbc ") == "wxid_abc"


@pytest.mark.parametrize(
    "value",
    [
        VALID_ID_X,
        VALID_ID_X.lower(),
        "11010519491231002Ｘ",
        " 11010519491231002X\u3000",
        "11010119900307" + "001" + id_number_check_char("11010119900307001"),
        "44030419851020" + "123" + id_number_check_char("44030419851020123"),
    ],
)
def test_id_number_is_valid_accepts_correct_check_character(value):
    assert id_number_is_valid(value)


def test_id_number_check_char_of_published_sample_is_x():
    assert id_number_check_char(VALID_ID_X[:17]) == "X"


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # check character should be X
        "110105194912310029",
        "11010519491231002Y",
        "110105491231002",  # 15-digit legacy number
        "11010519491231002",  # 17 characters
        "11010519491231002X0",  # 19 characters
        "1101051949123100X2",  # X only allowed last
        "",
        "abcdefghijklmnopqr",
    ],
)
def test_id_number_is_valid_rejects_wrong_numbers(value):
    assert not id_number_is_valid(value)


@pytest.mark.parametrize("position", range(17))
def test_id_number_is_valid_detects_any_single_digit_change(position):
    digits = list(VALID_ID_X)
    digits[position] = str((int(digits[position]) + 1) % 10)
    assert not id_number_is_valid("".join(digits))


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        (VALID_ID_X, "11**************2X"),
        ("12345", "12*45"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_id_number_keeps_only_two_characters_each_end(value, masked):
    assert mask_id_number(value) == masked
    assert len(mask_id_number(value)) == len(value)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("+86 138-0013-8000", "138****8000"),
        ("13800138000", "138****8000"),
        ("１３８００１３８０００", "138****8000"),
        ("12345", "****"),
        ("", "****"),
    ],
)
def test_mask_phone_hides_middle_digits(value, masked):
    assert mask_phone(value) == masked
