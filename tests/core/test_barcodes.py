"""GS1 check digits and scan dispatch (scale barcode, cards, plain barcodes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icecash.core.barcodes import (
    Scan,
    ScanKind,
    ScanRules,
    classify_scan,
    gtin_check_digit,
    is_valid_gtin,
    make_ean8,
    make_ean13,
    parse_prefixes,
)
from icecash.core.errors import InvalidInput

DEFAULT = ScanRules()


def refusal(text: str, rules: ScanRules = DEFAULT) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        classify_scan(text, rules)
    return info.value


# --- check digits -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "4006381333931",  # EAN-13
        "73513537",  # EAN-8
        "036000291452",  # UPC-A
        "4601234567893",  # EAN-13, Russian GS1 prefix 460
        "4651111190225",  # the price-file example of the original
        "00012345600012",  # GTIN-14
    ],
)
def test_known_codes_are_valid(code):
    assert is_valid_gtin(code)
    assert gtin_check_digit(code[:-1]) == int(code[-1])


@pytest.mark.parametrize(
    ("body", "digit"),
    [("400638133393", 1), ("7351353", 7), ("03600029145", 2), ("460123456789", 3), ("0001234560001", 2)],
)
def test_check_digit_values(body, digit):
    assert gtin_check_digit(body) == digit


@pytest.mark.parametrize(
    "code",
    ["4006381333932", "73513530", "036000291450", "4601234567891", "", "abcdefgh", "123", "400638133393１", "40063813339311"],
)
def test_invalid_codes(code):
    assert not is_valid_gtin(code)


def test_wrong_lengths_are_not_gtins_even_with_a_right_digit():
    body = "1234567890"  # 10 digits + check = 11: no such GTIN
    assert not is_valid_gtin(body + str(gtin_check_digit(body)))


@pytest.mark.parametrize("body", ["", "12a4567", "１２３４５６７", "123 456"])
def test_check_digit_refuses_non_digits(body):
    with pytest.raises(ValueError):
        gtin_check_digit(body)


def test_make_ean13_and_ean8():
    assert make_ean13("400638133393") == "4006381333931"
    assert make_ean13("460123456789") == "4601234567893"
    assert make_ean8("7351353") == "73513537"


@pytest.mark.parametrize(("maker", "body"), [(make_ean13, "12345"), (make_ean13, "1234567890123"), (make_ean8, "123456x")])
def test_make_refuses_wrong_bodies(maker, body):
    with pytest.raises(ValueError):
        maker(body)


@given(body=st.sampled_from([7, 11, 12, 13]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)))
def test_any_body_with_its_digit_is_valid_and_every_single_digit_change_is_caught(body):
    code = body + str(gtin_check_digit(body))
    assert is_valid_gtin(code)
    for position in range(len(code)):
        for replacement in "0123456789":
            if replacement == code[position]:
                continue
            changed = code[:position] + replacement + code[position + 1 :]
            assert not is_valid_gtin(changed), changed


@given(body=st.text("0123456789", min_size=12, max_size=12))
def test_make_ean13_property(body):
    code = make_ean13(body)
    assert code[:12] == body and len(code) == 13 and is_valid_gtin(code)


# --- prefixes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21", ("21",)),
        ("21;22; 23", ("21", "22", "23")),
        (" 21 ;; 22 ;", ("21", "22")),
        ("", ()),
        (" ; ", ()),
        ("21;21", ("21",)),
    ],
)
def test_parse_prefixes(text, expected):
    assert parse_prefixes(text, "scale_prefix") == expected


@pytest.mark.parametrize("text", ["2a", "21;x", "21,22", "21;-1", "２１"])
def test_parse_prefixes_refuses_non_digits(text):
    with pytest.raises(InvalidInput) as info:
        parse_prefixes(text, "discount_prefix")
    assert info.value.code == "bad_prefix"
    assert info.value.field == "discount_prefix"
    assert info.value.message_ru and info.value.message_en


def test_rules_defaults_and_from_settings():
    assert ScanRules.from_settings() == ScanRules()
    assert DEFAULT.scale_prefixes == ("21",)
    assert DEFAULT.user_prefixes == ("111",)
    assert DEFAULT.discount_prefixes == ("222",)
    assert DEFAULT.bonus_prefixes == ("777",)
    rules = ScanRules.from_settings(scale="21;22", user="", discount="2220; 2221", bonus="9")
    assert rules == ScanRules(("21", "22"), (), ("2220", "2221"), ("9",))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"scale": "2x"}, "scale_prefix"),
        ({"user": "u"}, "user_prefix"),
        ({"discount": "22 2"}, "discount_prefix"),
        ({"bonus": "7;?"}, "bonus_prefix"),
    ],
)
def test_from_settings_names_the_bad_field(kwargs, field):
    with pytest.raises(InvalidInput) as info:
        ScanRules.from_settings(**kwargs)
    assert (info.value.code, info.value.field) == ("bad_prefix", field)


def test_rules_refuse_empty_prefix_and_bare_string():
    with pytest.raises(InvalidInput) as info:
        ScanRules(discount_prefixes=("",))
    assert info.value.code == "bad_prefix"
    with pytest.raises(TypeError):
        ScanRules(scale_prefixes="21")  # type: ignore[arg-type]


# --- scale barcodes -----------------------------------------------------------------------


def scale_code(prefix: str, item: str, grams: int) -> str:
    return make_ean13(f"{prefix}{item:0>5}{grams:05d}")


@pytest.mark.parametrize(
    ("settings", "prefix", "item", "grams"),
    [
        ("21", "21", "06496", 1234),
        ("21", "21", "00001", 1),
        ("21", "21", "99999", 99999),
        ("21;22; 23", "22", "12345", 500),
        ("21;22; 23", "23", "00700", 250),
        ("28", "28", "10000", 2000),
    ],
)
def test_scale_round_trip(settings, prefix, item, grams):
    rules = ScanRules.from_settings(scale=settings)
    text = scale_code(prefix, item, grams)
    assert classify_scan(text, rules) == Scan(ScanKind.SCALE, text, item_code=item.lstrip("0"), quantity=grams)


def test_scale_example_by_hand():
    # 21 06496 01234 + check digit: item 6496, 1.234 kg
    text = make_ean13("210649601234")
    assert text == "2106496012348"
    scan = classify_scan(f"  {text}\r\n", DEFAULT)
    assert scan.kind is ScanKind.SCALE
    assert scan.text == text
    assert (scan.item_code, scan.quantity) == ("6496", 1234)


@given(
    prefix=st.sampled_from(["21", "22", "29"]),
    item=st.integers(1, 99999),
    grams=st.integers(1, 99999),
)
def test_scale_round_trip_property(prefix, item, grams):
    rules = ScanRules.from_settings(scale="21;22;29")
    scan = classify_scan(scale_code(prefix, str(item), grams), rules)
    assert (scan.kind, scan.item_code, scan.quantity) == (ScanKind.SCALE, str(item), grams)


def test_scale_wrong_check_digit():
    good = scale_code("21", "06496", 1234)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    error = refusal(bad)
    assert (error.code, error.field) == ("bad_check_digit", "barcode")
    assert error.details["expected"] == int(good[-1])
    assert f"ожидается {good[-1]}" in error.message_ru


def test_scale_zero_item_code():
    error = refusal(scale_code("21", "00000", 1234))
    assert (error.code, error.field) == ("bad_scale_barcode", "barcode")


def test_scale_zero_weight():
    error = refusal(scale_code("21", "06496", 0))
    assert (error.code, error.field) == ("bad_scale_barcode", "barcode")


def test_scale_prefix_needs_exactly_13_digits():
    # 12 digits starting with 21: not a scale barcode, but a UPC-A to look up
    upc = "210649601234"
    assert is_valid_gtin(upc)
    assert classify_scan(upc, DEFAULT) == Scan(ScanKind.BARCODE, upc)
    # a short internal code starting with 21 is a plain barcode too
    assert classify_scan("21A", DEFAULT).kind is ScanKind.BARCODE


def test_no_scale_prefixes_means_no_scale_barcodes():
    text = scale_code("21", "06496", 1234)
    assert classify_scan(text, ScanRules.from_settings(scale="")) == Scan(ScanKind.BARCODE, text)


# --- cards ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("1110000000017", ScanKind.USER_CARD),
        ("111", ScanKind.USER_CARD),
        ("2220000123", ScanKind.DISCOUNT_CARD),
        ("2221234567890", ScanKind.DISCOUNT_CARD),  # 13 digits, bad check digit: cards are not verified
        ("777ABC-9", ScanKind.BONUS_CARD),
        ("77700001", ScanKind.BONUS_CARD),  # 8 digits, bad check digit, still a card
    ],
)
def test_card_prefixes(text, kind):
    assert classify_scan(text, DEFAULT) == Scan(kind, text)


def test_card_prefix_lists_from_settings():
    rules = ScanRules.from_settings(user="50;51", discount="60", bonus="70; 71")
    assert classify_scan("510042", rules).kind is ScanKind.USER_CARD
    assert classify_scan("600042", rules).kind is ScanKind.DISCOUNT_CARD
    assert classify_scan("710042", rules).kind is ScanKind.BONUS_CARD
    assert classify_scan("1110042", rules).kind is ScanKind.BARCODE


# --- dispatch order -------------------------------------------------------------------------


def test_scale_wins_over_an_overlapping_card_prefix():
    rules = ScanRules.from_settings(scale="2", discount="222")
    text = make_ean13("222222200500")
    scan = classify_scan(text, rules)
    assert (scan.kind, scan.item_code, scan.quantity) == (ScanKind.SCALE, "22222", 500)
    # shorter than 13 digits it is a discount card
    assert classify_scan("2220001", rules).kind is ScanKind.DISCOUNT_CARD


def test_scale_with_bad_check_digit_is_refused_not_read_as_a_card():
    rules = ScanRules.from_settings(scale="22", discount="222")
    good = make_ean13("222222200500")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert refusal(bad, rules).code == "bad_check_digit"


def test_user_before_discount_before_bonus():
    rules = ScanRules.from_settings(user="9", discount="99", bonus="999")
    assert classify_scan("99912", rules).kind is ScanKind.USER_CARD
    rules = ScanRules.from_settings(user="1", discount="99", bonus="999")
    assert classify_scan("99912", rules).kind is ScanKind.DISCOUNT_CARD
    rules = ScanRules.from_settings(user="1", discount="2", bonus="999")
    assert classify_scan("99912", rules).kind is ScanKind.BONUS_CARD


def test_card_prefix_shadows_a_valid_ean():
    ean = make_ean13("777123456789")
    assert classify_scan(ean, DEFAULT).kind is ScanKind.BONUS_CARD
    assert classify_scan(ean, ScanRules.from_settings(bonus="")).kind is ScanKind.BARCODE


# --- plain barcodes ------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["4006381333931", "73513537", "036000291452", "4601234567893", "00012345600012"])
def test_valid_gtins_are_barcodes(code):
    assert classify_scan(code, DEFAULT) == Scan(ScanKind.BARCODE, code)


def test_wrong_check_digit_names_the_expected_digit():
    error = refusal("4601234567891")
    assert (error.code, error.field) == ("bad_check_digit", "barcode")
    assert error.message_ru == "Неверная контрольная цифра штрихкода 4601234567891: ожидается 3"
    assert error.message_en == "Wrong check digit in barcode 4601234567891: expected 3"
    assert error.details == {"expected": 3}


@pytest.mark.parametrize("code", ["73513530", "036000291459", "00012345600019"])
def test_wrong_check_digit_for_every_gtin_length(code):
    assert refusal(code).code == "bad_check_digit"


@pytest.mark.parametrize(
    "text",
    ["6496", "1234567", "123456789", "12345678901234567", "ABC-123", "Код 128 тест", "x" * 64, "4601234567891A"],
)
def test_other_texts_are_taken_as_they_are(text):
    assert classify_scan(text, DEFAULT) == Scan(ScanKind.BARCODE, text)


@pytest.mark.parametrize("text", ["", "   ", "\r\n", "\t"])
def test_empty_barcode(text):
    error = refusal(text)
    assert (error.code, error.field) == ("empty_barcode", "barcode")


@pytest.mark.parametrize("text", ["x" * 65, "12\x1d34", "AB\x00C", "460\x07123", "1" * 65, "111" + "\x1b" + "5"])
def test_bad_barcode(text):
    error = refusal(text)
    assert (error.code, error.field) == ("bad_barcode", "barcode")


def test_scan_kind_values():
    assert [k.value for k in ScanKind] == ["scale", "user_card", "discount_card", "bonus_card", "barcode"]
    assert ScanKind("bonus_card") is ScanKind.BONUS_CARD
