"""Money arithmetic: kopecks, thousandths, basis points, the one rounding function and parsing."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecash.core.money import (
    FULL_RATE,
    MAX_MONEY,
    MAX_QUANTITY,
    QTY_SCALE,
    div_ceil,
    div_half_up,
    format_money,
    format_quantity,
    format_quantity_short,
    format_rate,
    line_amount,
    money_to_decimal,
    parse_money,
    parse_quantity,
    parse_rate,
    quantity_to_decimal,
    rate_of,
)

FAST = settings(max_examples=300, deadline=None)


def decimal_half_up(numerator: int, denominator: int) -> int:
    """The reference: Decimal's ROUND_HALF_UP (which rounds half away from zero)."""
    with localcontext() as ctx:
        ctx.prec = 200  # far more digits than the generated ints have: the quotient is exact enough
        quotient = Decimal(numerator) / Decimal(denominator)
        return int(quotient.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- div_half_up -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (5, 10, 1),  # 0.5 -> 1 (half goes up)
        (4, 10, 0),  # 0.4 -> 0
        (6, 10, 1),  # 0.6 -> 1
        (15, 10, 2),  # 1.5 -> 2 (not banker's 2 by accident: see 25)
        (25, 10, 3),  # 2.5 -> 3 (banker's rounding would give 2)
        (-5, 10, -1),  # -0.5 -> -1 (half away from zero, not towards +inf)
        (-4, 10, 0),  # -0.4 -> 0
        (-25, 10, -3),  # -2.5 -> -3
        (-15, 10, -2),  # -1.5 -> -2
        (5, -10, -1),  # negative denominator: -0.5 -> -1
        (-5, -10, 1),  # both negative: 0.5 -> 1
        (7, -2, -4),  # -3.5 -> -4
        (0, 7, 0),
        (1, 3, 0),  # 0.333 -> 0
        (2, 3, 1),  # 0.667 -> 1
        (-2, 3, -1),  # -0.667 -> -1
        (10, 5, 2),  # exact
        (4110885, 1000, 4111),  # 4110.885 -> 4111
        (9999, 2, 5000),  # 4999.5 -> 5000
    ],
)
def test_div_half_up_examples(numerator: int, denominator: int, expected: int) -> None:
    assert div_half_up(numerator, denominator) == expected


def test_div_half_up_by_zero() -> None:
    with pytest.raises(ZeroDivisionError):
        div_half_up(1, 0)


@FAST
@given(st.integers(-(10**18), 10**18), st.integers(-(10**9), 10**9).filter(bool))
def test_div_half_up_matches_decimal_round_half_up(numerator: int, denominator: int) -> None:
    assert div_half_up(numerator, denominator) == decimal_half_up(numerator, denominator)


@FAST
@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_div_half_up_is_nearest_and_odd(numerator: int, denominator: int) -> None:
    result = div_half_up(numerator, denominator)
    # within half a unit of the exact quotient
    assert abs(Fraction(numerator, denominator) - result) <= Fraction(1, 2)
    # symmetric around zero: half away from zero both ways
    assert div_half_up(-numerator, denominator) == -result


@FAST
@given(st.integers(-(10**6), 10**6), st.integers(1, 1000))
def test_div_half_up_exact_halves_go_away_from_zero(whole: int, half_of: int) -> None:
    # (2k+1)/2 is exactly a half: it must round to k+1 for k >= 0 and to k for k < 0 (away from 0)
    numerator = (2 * whole + 1) * half_of
    expected = whole + 1 if whole >= 0 else whole
    assert div_half_up(numerator, 2 * half_of) == expected


# --- div_ceil ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (10, 5, 2),  # exact
        (11, 5, 3),  # 2.2 -> 3
        (14, 5, 3),  # 2.8 -> 3
        (1, 1000, 1),  # 0.001 -> 1: a minimum price never rounds down to nothing
        (0, 1000, 0),
        (-11, 5, -2),  # -2.2 -> -2 (towards +inf)
        (-14, 5, -2),  # -2.8 -> -2
        (3300, 1000, 4),  # 11.00 ₽/kg × 0.003 kg = 3.3 kop -> 4 kop
    ],
)
def test_div_ceil_examples(numerator: int, denominator: int, expected: int) -> None:
    assert div_ceil(numerator, denominator) == expected


@FAST
@given(st.integers(-(10**15), 10**15), st.integers(1, 10**6))
def test_div_ceil_is_the_smallest_upper_bound(numerator: int, denominator: int) -> None:
    result = div_ceil(numerator, denominator)
    assert result * denominator >= numerator
    assert (result - 1) * denominator < numerator


# --- line_amount and rate_of --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "quantity", "expected"),
    [
        (19800, 1000, 19800),  # 198.00 × 1 = 198.00
        (19800, 3000, 59400),  # 198.00 × 3 = 594.00
        (12345, 333, 4111),  # 123.45 × 0.333 = 41.10885 -> 41.11
        (10100, 5, 51),  # 101.00 × 0.005 = 0.505 -> 0.51 (the half goes up)
        (10100, 4, 40),  # 101.00 × 0.004 = 0.404 -> 0.40
        (1, 1, 0),  # 0.01 × 0.001 = 0.00001 -> 0.00
        (1, 500, 1),  # 0.01 × 0.5 = 0.005 -> 0.01
        (1, 499, 0),  # 0.01 × 0.499 = 0.00499 -> 0.00
        (8999, 250, 2250),  # 89.99 × 0.25 = 22.4975 -> 22.50
        (MAX_MONEY, 1000, MAX_MONEY),
    ],
)
def test_line_amount_examples(price: int, quantity: int, expected: int) -> None:
    assert line_amount(price, quantity) == expected


@FAST
@given(st.integers(0, MAX_MONEY), st.integers(0, MAX_QUANTITY))
def test_line_amount_is_price_times_quantity_half_up(price: int, quantity: int) -> None:
    exact = Decimal(price) * Decimal(quantity) / Decimal(QTY_SCALE)
    assert line_amount(price, quantity) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@FAST
@given(st.integers(0, MAX_MONEY), st.integers(0, 10**5))
def test_line_amount_of_whole_pieces_is_exact(price: int, pieces: int) -> None:
    assert line_amount(price, pieces * QTY_SCALE) == price * pieces


@pytest.mark.parametrize(
    ("amount", "rate_bp", "expected"),
    [
        (10000, 1000, 1000),  # 10 % of 100.00 = 10.00
        (9999, 1000, 1000),  # 10 % of 99.99 = 9.999 -> 10.00
        (9995, 1000, 1000),  # 10 % of 99.95 = 9.995 -> 10.00 (half up)
        (9994, 1000, 999),  # 10 % of 99.94 = 9.994 -> 9.99
        (15, 1000, 2),  # 10 % of 0.15 = 0.015 -> 0.02
        (14, 1000, 1),  # 10 % of 0.14 = 0.014 -> 0.01
        (12345, 250, 309),  # 2.5 % of 123.45 = 3.08625 -> 3.09
        (12345, 0, 0),
        (12345, FULL_RATE, 12345),  # 100 % of anything is all of it
        (-15, 1000, -2),  # negative amounts round away from zero too
    ],
)
def test_rate_of_examples(amount: int, rate_bp: int, expected: int) -> None:
    assert rate_of(amount, rate_bp) == expected


@FAST
@given(st.integers(0, MAX_MONEY), st.integers(0, FULL_RATE))
def test_rate_of_never_exceeds_the_amount(amount: int, rate_bp: int) -> None:
    part = rate_of(amount, rate_bp)
    assert 0 <= part <= amount
    assert part == decimal_half_up(amount * rate_bp, FULL_RATE)


# --- parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("198.00", 19800),
        ("198,5", 19850),  # Russian decimal comma
        ("198", 19800),
        ("0.01", 1),
        ("0,1", 10),
        ("  198.00  ", 19800),  # surrounding blanks
        ("1 234,50", 123450),  # thousands grouped with a space
        ("1\u00a0234,50", 123450),  # ... or with a no-break space (what Excel exports)
        ("-5.25", -525),  # the sign is kept: range checks belong to the validators
        ("0", 0),
        (198, 19800),  # an int is whole rubles
        (0, 0),
        (Decimal("12.34"), 1234),
        (Decimal("12.3"), 1230),
        ("99999999.99", MAX_MONEY),
        ("12.300", 1230),  # trailing zeros are not extra decimals
    ],
)
def test_parse_money(text: object, expected: int) -> None:
    assert parse_money(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1000),
        ("0.250", 250),
        ("1,5", 1500),
        ("0.001", 1),
        ("2", 2000),
        (3, 3000),
        (" 12,345 ", 12345),
        ("99999.999", MAX_QUANTITY),
    ],
)
def test_parse_quantity(text: object, expected: int) -> None:
    assert parse_quantity(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10", 1000),
        ("2.5", 250),
        ("2,5", 250),
        ("12.50", 1250),
        ("100", FULL_RATE),
        ("0", 0),
        (7, 700),
    ],
)
def test_parse_rate(text: object, expected: int) -> None:
    assert parse_rate(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["1.001", "0,005", "198.999", "0.0001"])
def test_parse_money_refuses_more_than_two_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="decimal places"):
        parse_money(text)


@pytest.mark.parametrize("text", ["0.0001", "1,2345"])
def test_parse_quantity_refuses_more_than_three_decimals(text: str) -> None:
    with pytest.raises(ValueError, match="decimal places"):
        parse_quantity(text)


def test_parse_rate_refuses_more_than_two_decimals() -> None:
    with pytest.raises(ValueError, match="decimal places"):
        parse_rate("2.555")


@pytest.mark.parametrize(
    "text",
    ["NaN", "nan", "sNaN", "inf", "Infinity", "-inf", "abc", "1.2.3", "12р", "1,234.50", "--1", "0x10", "½", "1/2"],
)
@pytest.mark.parametrize("parse", [parse_money, parse_quantity, parse_rate])
def test_parse_refuses_garbage_nan_and_infinity(parse, text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse(text)


@pytest.mark.parametrize("text", ["", "   ", "\u00a0"])
def test_parse_refuses_empty_text(text: str) -> None:
    with pytest.raises(ValueError, match="empty"):
        parse_money(text)


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("sNaN")])
def test_parse_refuses_non_finite_decimals(value: Decimal) -> None:
    with pytest.raises(ValueError):
        parse_money(value)


@pytest.mark.parametrize("value", [True, False])
@pytest.mark.parametrize("parse", [parse_money, parse_quantity, parse_rate])
def test_parse_refuses_bool(parse, value: bool) -> None:
    # bool is an int subclass: True must not sneak through as 1 ruble / 1 piece / 1 %
    with pytest.raises(ValueError, match="not a number"):
        parse(value)


def test_parse_error_names_what_was_parsed() -> None:
    with pytest.raises(ValueError, match=r"^money:"):
        parse_money("x")
    with pytest.raises(ValueError, match=r"^quantity:"):
        parse_quantity("x")
    with pytest.raises(ValueError, match=r"^percent:"):
        parse_rate("x")


@pytest.mark.parametrize(
    "text",
    [
        "1.000000000000000000000000000001",  # 30 decimals: must not be rounded away to 1.00
        "0.0000000000000000000000000000000000001",
    ],
)
def test_parse_refuses_tiny_fractions_however_many_digits(text: str) -> None:
    with pytest.raises(ValueError, match="decimal places"):
        parse_money(text)


@pytest.mark.parametrize("text", ["1e999999999", "1e500000", "9" * 5000, "12345678901234567890123456789.01"])
def test_parse_refuses_absurdly_large_numbers_quickly(text: str) -> None:
    # a short hostile string must be a plain ValueError (a 4xx), not decimal.Overflow (a 500) and
    # not seconds of CPU spent building a half-million-digit integer
    started = time.perf_counter()
    with pytest.raises(ValueError):
        parse_money(text)
    assert time.perf_counter() - started < 0.5


def test_parse_keeps_precision_of_long_but_valid_numbers() -> None:
    # far above MAX_MONEY (range checks are the validators' job) yet exact to the last digit
    assert parse_money("123456789012345678.91") == 12345678901234567891
    assert parse_money("99999999999999999999.99") == 9999999999999999999999  # 20 integer digits: the cap
    assert parse_quantity("123456789012345.678") == 123456789012345678
    with pytest.raises(ValueError, match="too large"):
        parse_money("100000000000000000000")  # 21 integer digits


@pytest.mark.parametrize("text", ["0", "-0", "0.000", "+0,0", ".0"])
def test_parse_zero_in_any_spelling(text: str) -> None:
    assert parse_money(text) == 0


@pytest.mark.parametrize("text", ["1e2", "0e5", "1e-3", "1e-9999999999", "1_000", "٣", "１２", "0x10", "1.2.3", "--1"])
def test_parse_accepts_plain_decimal_notation_only(text: str) -> None:
    """Exponents, underscores and non-ASCII digits are not how anyone writes a price."""
    for parse in (parse_money, parse_quantity, parse_rate):
        with pytest.raises(ValueError, match="not a number"):
            parse(text)


# --- formatting and round trips ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kopecks", "text"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (19850, "198.50"), (123450, "1234.50"), (-525, "-5.25"), (-1, "-0.01")],
)
def test_format_money(kopecks: int, text: str) -> None:
    assert format_money(kopecks) == text


def test_format_quantity_and_rate() -> None:
    assert format_quantity(1000) == "1.000"
    assert format_quantity(250) == "0.250"
    assert format_quantity(1) == "0.001"
    assert format_quantity(-1500) == "-1.500"
    assert format_rate(1250) == "12.50"
    assert format_rate(5) == "0.05"
    assert format_rate(FULL_RATE) == "100.00"


def test_to_decimal() -> None:
    assert money_to_decimal(19850) == Decimal("198.50")
    assert str(money_to_decimal(19850)) == "198.50"
    assert money_to_decimal(-1) == Decimal("-0.01")
    assert quantity_to_decimal(250) == Decimal("0.250")
    assert str(quantity_to_decimal(1000)) == "1.000"


@FAST
@given(st.integers(-MAX_MONEY, MAX_MONEY))
def test_money_round_trip(kopecks: int) -> None:
    text = format_money(kopecks)
    assert parse_money(text) == kopecks
    assert parse_money(text.replace(".", ",")) == kopecks
    assert parse_money(money_to_decimal(kopecks)) == kopecks
    assert Decimal(text) == money_to_decimal(kopecks)


@FAST
@given(st.integers(-MAX_QUANTITY, MAX_QUANTITY))
def test_quantity_round_trip(thousandths: int) -> None:
    text = format_quantity(thousandths)
    assert parse_quantity(text) == thousandths
    assert parse_quantity(quantity_to_decimal(thousandths)) == thousandths


@FAST
@given(st.integers(0, FULL_RATE))
def test_rate_round_trip(basis_points: int) -> None:
    assert parse_rate(format_rate(basis_points)) == basis_points


@FAST
@given(st.integers(0, 10**8), st.integers(0, 99))
def test_grouped_russian_spelling_parses(rubles: int, kopecks: int) -> None:
    grouped = f"{rubles:,}".replace(",", " ")  # 1 234 567
    assert parse_money(f"{grouped},{kopecks:02d}") == rubles * 100 + kopecks


@FAST
@given(st.text(max_size=12))
def test_parse_money_either_returns_an_int_or_raises_value_error(text: str) -> None:
    try:
        result = parse_money(text)
    except ValueError:
        return
    assert isinstance(result, int) and not isinstance(result, bool)


@pytest.mark.parametrize(("thousandths", "text"), [(2000, "2"), (250, "0.25"), (1500, "1.5"), (1, "0.001"), (10_000, "10")])
def test_format_quantity_short_drops_only_trailing_zeros(thousandths: int, text: str) -> None:
    assert format_quantity_short(thousandths) == text
