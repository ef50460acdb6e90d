"""VAT rates of a Russian receipt and the VAT contained in a price (prices include VAT)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecash.core.errors import InvalidInput
from icecash.core.money import MAX_MONEY
from icecash.core.vat import VatRate, parse_vat, vat_included


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", VatRate.VAT0),
        ("5", VatRate.VAT5),
        ("7", VatRate.VAT7),
        ("10", VatRate.VAT10),
        ("20", VatRate.VAT20),
        ("22", VatRate.VAT22),
        ("none", VatRate.NONE),
        ("20%", VatRate.VAT20),
        ("20 %", VatRate.VAT20),
        (" 10% ", VatRate.VAT10),
        ("0%", VatRate.VAT0),
        ("22%", VatRate.VAT22),
        (20, VatRate.VAT20),
        (0, VatRate.VAT0),
        (5, VatRate.VAT5),
        (None, VatRate.NONE),
        ("", VatRate.NONE),
        ("   ", VatRate.NONE),
        ("NONE", VatRate.NONE),
        ("no", VatRate.NONE),
        ("No", VatRate.NONE),
        ("-", VatRate.NONE),
        ("без НДС", VatRate.NONE),
        ("Без НДС", VatRate.NONE),
        ("БЕЗ НДС", VatRate.NONE),
    ],
)
def test_parse_vat(text: object, expected: VatRate) -> None:
    assert parse_vat(text) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize("rate", list(VatRate))
def test_parse_vat_accepts_every_code_and_its_label(rate: VatRate) -> None:
    assert parse_vat(rate.value) is rate
    if rate is not VatRate.NONE:
        assert parse_vat(f"{rate.value}%") is rate
        assert parse_vat(int(rate.value)) is rate


@pytest.mark.parametrize("text", ["18", "13", "20.0", "twenty", "НДС 20%", "ндс", "1", "-20", "200", "10/110", "0.0"])
def test_parse_vat_refuses_unknown_rates(text: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_vat(text)
    error = info.value
    assert error.code == "bad_vat_rate"
    assert error.field == "vat"
    assert error.kind == "invalid"
    assert repr(text) in error.message_en
    assert "НДС" in error.message_ru
    assert "20" in error.message_en and "none" in error.message_en  # lists what is allowed


def test_parse_vat_refusal_names_the_given_field() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_vat("18", field="lines[3].vat")
    assert info.value.field == "lines[3].vat"
    assert info.value.as_dict()["field"] == "lines[3].vat"
    assert info.value.as_dict()["code"] == "bad_vat_rate"


def test_parse_vat_refuses_bool() -> None:
    # True is an int, but str(True) is "True": refused, never taken as 1 %
    with pytest.raises(InvalidInput):
        parse_vat(True)  # type: ignore[arg-type]


def test_rate_properties() -> None:
    assert VatRate.NONE.percent is None
    assert VatRate.VAT0.percent == 0
    assert VatRate.VAT20.percent == 20
    assert VatRate.VAT22.percent == 22
    assert VatRate.NONE.label_ru == "Без НДС"
    assert VatRate.VAT10.label_ru == "НДС 10%"
    assert [r.value for r in VatRate] == ["none", "0", "5", "7", "10", "20", "22"]


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        (12000, VatRate.VAT20, 2000),  # 120.00 × 20/120 = 20.00
        (11000, VatRate.VAT10, 1000),  # 110.00 × 10/110 = 10.00
        (12200, VatRate.VAT22, 2200),  # 122.00 × 22/122 = 22.00
        (10500, VatRate.VAT5, 500),  # 105.00 × 5/105 = 5.00
        (10700, VatRate.VAT7, 700),  # 107.00 × 7/107 = 7.00
        (10000, VatRate.VAT20, 1667),  # 100.00 × 20/120 = 16.6667 -> 16.67
        (10000, VatRate.VAT10, 909),  # 100.00 × 10/110 = 9.0909 -> 9.09
        (10000, VatRate.VAT22, 1803),  # 100.00 × 22/122 = 18.0328 -> 18.03
        (10000, VatRate.VAT5, 476),  # 100.00 × 5/105 = 4.7619 -> 4.76
        (10000, VatRate.VAT7, 654),  # 100.00 × 7/107 = 6.5421 -> 6.54
        (3, VatRate.VAT20, 1),  # 0.03 × 20/120 = 0.005 -> 0.01 (exact half goes up)
        (2, VatRate.VAT20, 0),  # 0.02 × 20/120 = 0.00333 -> 0.00
        (10, VatRate.VAT20, 2),  # 0.10 × 20/120 = 0.01667 -> 0.02
        (20, VatRate.VAT20, 3),  # 0.20 × 20/120 = 0.0333 -> 0.03
        (12000, VatRate.VAT0, 0),  # 0 %: no VAT inside
        (12000, VatRate.NONE, 0),  # not subject to VAT
        (0, VatRate.VAT20, 0),
        (-12000, VatRate.VAT20, -2000),  # a negative amount (a correction) mirrors the positive one
    ],
)
def test_vat_included(amount: int, rate: VatRate, expected: int) -> None:
    assert vat_included(amount, rate) == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(0, MAX_MONEY), st.sampled_from(list(VatRate)))
def test_vat_included_is_the_nearest_kopeck_of_the_exact_share(amount: int, rate: VatRate) -> None:
    vat = vat_included(amount, rate)
    if not rate.percent:
        assert vat == 0
        return
    exact = Fraction(amount * rate.percent, 100 + rate.percent)
    assert abs(exact - vat) <= Fraction(1, 2)
    if abs(exact - vat) == Fraction(1, 2):
        assert vat > exact  # a half always goes up
    assert 0 <= vat < amount or amount == 0


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**8), st.sampled_from([r for r in VatRate if r.percent]))
def test_vat_of_a_net_price_plus_its_vat_is_that_vat(net: int, rate: VatRate) -> None:
    # a gross price built from a whole-kopeck net at a whole percent: when the VAT part is a whole
    # number of kopecks, extracting it gives it back exactly
    if (net * rate.percent) % 100:
        return
    vat = net * rate.percent // 100
    assert vat_included(net + vat, rate) == vat
