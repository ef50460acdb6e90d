"""The formula language: grammar, periods, exact arithmetic, errors with positions, formatting."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecash.core.formula import (
    FormulaError,
    Month,
    Period,
    format_value,
    match_period,
    parse,
    round_half_up,
)
from icecash.core.money import div_half_up


class Ctx:
    """A fixed account: balance, warnings, per-month charges by item and payments."""

    def __init__(self, current=None, total=40000, count=0, charges=None, paid=None):
        self.current = current or Month(2026, 11)
        self._total = total
        self._count = count
        self.charges = charges or {}  # {(Month, item): kopecks}
        self.paid = paid or {}  # {Month: kopecks}
        self.calls: list[tuple] = []

    def total(self):
        return self._total

    def count(self):
        return self._count

    def statistic(self, first, last, item):
        self.calls.append(("statistic", first, last, item))
        total = 0
        for (month, name), cost in self.charges.items():
            if first <= month <= last and (item is None or name == item
                                           or (item.endswith("*") and name.startswith(item[:-1]))):
                total += cost
        return total

    def payments(self, first, last):
        self.calls.append(("payments", first, last))
        return sum(v for m, v in self.paid.items() if first <= m <= last)


def ev(text, **kw):
    return parse(text).evaluate(Ctx(**kw))


# --- the reference's examples ------------------------------------------------------------------


def test_reference_criterion_total_below_50000():
    assert ev("total() < 50000", total=49999) == 1
    assert ev("total() < 50000", total=50000) == 0
    assert parse("total() < 50000").is_true(Ctx(total=-1))


def test_reference_criterion_average_of_three_months():
    charges = {(Month(2026, 9), "a"): 30000, (Month(2026, 10), "a"): 60000, (Month(2026, 11), "b"): 90000,
               (Month(2026, 8), "a"): 10**9}  # outside the range: must not count
    formula = "total() < max(50000,statistic(-.2,.)/3)"
    assert ev(formula, total=59999, charges=charges) == 1  # average 60000
    assert ev(formula, total=60000, charges=charges) == 0
    assert ev(formula, total=49999, charges={}) == 1
    assert ev("statistic(-.2,.)/3", charges=charges) == 60000


def test_criterion_zero_never_warns():
    assert ev("0") == 0 and not parse("  0 ").is_true(Ctx())


# --- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    (".", Month(2026, 11)), ("-.2", Month(2026, 9)), ("-1.", Month(2025, 11)), ("-1.2", Month(2025, 9)),
    ("-.11", Month(2025, 12)), ("-.14", Month(2025, 9)), ("2026.03", Month(2026, 3)), ("1999.1", Month(1999, 1)),
])
def test_periods_resolve(text, expected):
    period, end = match_period(text, 0)
    assert end == len(text)
    assert period.resolve(Month(2026, 11)) == expected


def test_period_ranges_include_both_ends_and_any_order():
    ctx = Ctx(charges={(Month(2026, m), "x"): 100 * m for m in range(1, 12)})
    assert parse("statistic(2026.03, 2026.05)").evaluate(ctx) == 300 + 400 + 500
    assert parse("statistic(2026.05, 2026.03)").evaluate(ctx) == 1200
    assert parse("statistic(., .)").evaluate(ctx) == 1100
    assert parse("statistic(-.1, -.1, 'x')").evaluate(ctx) == 1000


def test_statistic_item_and_prefix_reach_the_context():
    ctx = Ctx(charges={(Month(2026, 11), "mail.out"): 5, (Month(2026, 11), "mail.in"): 7, (Month(2026, 11), "till"): 100})
    assert parse('statistic(.,., "mail*")').evaluate(ctx) == 12
    assert parse("statistic(.,., 'till')").evaluate(ctx) == 100
    assert ctx.calls[0] == ("statistic", Month(2026, 11), Month(2026, 11), "mail*")


def test_payments_by_period():
    ctx = Ctx(paid={Month(2026, 10): 1000, Month(2026, 11): 500, Month(2025, 11): 1})
    assert parse("payments(-.1, .)").evaluate(ctx) == 1500
    assert parse("payments(-1., .)").evaluate(ctx) == 1501


@given(st.integers(1, 9999 * 12 - 1), st.integers(0, 400))
def test_relative_period_is_a_month_shift(index, back):
    current = Month.from_index(12 + index) if 12 + index < 9999 * 12 else Month(9999, 12)
    if current.index - back < 12:
        return
    years, months = divmod(back, 12)
    for text in (f"-{years}.{months}", f"-.{back}" if back else "."):
        period, _ = match_period(text, 0)
        assert period.resolve(current).index == current.index - back
        assert match_period(str(period), 0)[0].resolve(current) == period.resolve(current)


def test_month_parse_and_str():
    assert Month.parse("2026.03") == Month(2026, 3) == Month.parse("2026-3")
    assert str(Month(2026, 3)) == "2026.03"
    assert str(Period(back=14)) == "-1.2" and str(Period(back=0)) == "."
    with pytest.raises(ValueError):
        Month.parse("2026.13")


# --- arithmetic and logic -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 - 4 - 3", 3), ("2 * 3 / 4", Fraction(3, 2)), ("-2 * -3", 6),
    ("1/3 + 1/3 + 1/3 == 1", 1), ("0.1 + 0.2 == 0.3", 1), ("!0", 1), ("!5", 0), ("1 < 2 && 2 < 1", 0),
    ("1 < 2 || 2 < 1", 1), ("1 <= 1", 1), ("2 >= 3", 0), ("3 != 3", 0), ("1 + 1 == 2 && 3 > 2", 1),
    ("max(1, 5, 3)", 5), ("min(4, -2)", -2), ("abs(-7.5)", Fraction(15, 2)), ("round(2.5)", 3), ("round(-2.5)", -3),
    ("round(2.345, 2)", Fraction(235, 100)), ("round(1/3, 3)", Fraction(333, 1000)), ("+4", 4), ("--4", 4),
    ("count() + 1", 3), ("TOTAL() > 0", 1), (".5 * 4", 2), ("2. + 1", 3),
])
def test_arithmetic(text, value):
    assert ev(text, count=2) == value


def test_logic_short_circuits_before_a_division_by_zero():
    assert ev("0 && 1/0") == 0
    assert ev("1 || 1/0") == 1


# a random expression and the value Python's Fraction arithmetic gives it
_leaf = st.integers(-10**6, 10**6).map(lambda n: (str(n) if n >= 0 else f"({n})", Fraction(n)))


def _combine(children):
    ops = st.sampled_from(["+", "-", "*", "max", "min", "<", "==", "&&"])

    def build(op, a, b):
        ta, va = a
        tb, vb = b
        if op in "+-*":
            value = {"+": va + vb, "-": va - vb, "*": va * vb}[op]
            return f"({ta} {op} {tb})", value
        if op == "max":
            return f"max({ta}, {tb})", max(va, vb)
        if op == "min":
            return f"min({ta},{tb})", min(va, vb)
        if op == "<":
            return f"({ta} < {tb})", Fraction(int(va < vb))
        if op == "==":
            return f"({ta}=={tb})", Fraction(int(va == vb))
        return f"({ta} && {tb})", Fraction(int(bool(va) and bool(vb)))

    return st.builds(build, ops, children, children)


@settings(max_examples=300, deadline=None)
@given(st.recursive(_leaf, _combine, max_leaves=12))
def test_random_expressions_match_exact_arithmetic(case):
    text, value = case
    assert parse(text).evaluate(Ctx()) == value


@given(st.integers(-10**9, 10**9), st.integers(1, 10**6))
def test_division_is_exact_until_rounded_half_up(a, b):
    assert ev(f"({a}) / {b}") == Fraction(a, b)
    assert ev(f"round(({a}) / {b})") == div_half_up(a, b)


@given(st.fractions(), st.integers(0, 6))
def test_round_half_up_is_nearest_with_ties_away_from_zero(value, digits):
    rounded = round_half_up(value, digits)
    step = Fraction(1, 10**digits)
    assert abs(rounded - value) <= step / 2
    assert (rounded * 10**digits).denominator == 1
    if abs(rounded - value) == step / 2:
        assert abs(rounded) > abs(value)


# --- errors name the position -------------------------------------------------------------------


@pytest.mark.parametrize(("text", "position", "words"), [
    ("1 +", 4, "end of the formula"),
    ("foo(1)", 1, "unknown function 'foo'"),
    ("total() < 5 )", 13, "unexpected character ')'"),
    ("(1 + 2", 7, "expected ')'"),
    ("statistic(1, .)", 11, "must be a period"),
    ("statistic(., 2026.13)", 14, "bad period"),
    ("statistic(., ., 5)", 17, "quoted string"),
    ("'x' + 1", 1, "string is allowed only"),
    ("total(1)", 1, "expected 0"),
    ("max()", 1, "expected 1..∞"),
    ("2.5.3", 1, "malformed number"),
    ("1 $ 2", 3, "unexpected character '$'"),
    ("total", 6, "expected '(' after total"),
    ("", 1, "empty formula"),
    ("statistic(-., .)", 11, "bad period"),
    ("'abc", 1, "string is allowed only"),
    ("max(1 2)", 7, "expected ',' or ')'"),
])
def test_syntax_errors_name_the_position(text, position, words):
    with pytest.raises(FormulaError) as caught:
        parse(text)
    error = caught.value
    assert error.position == position
    assert words in error.message_en
    assert f"position {position}" in error.message_en and f"позиция {position}" in error.message_ru
    assert error.field == "formula"


def test_division_by_zero_names_the_operator():
    formula = parse("total() / (count() - 2)")
    with pytest.raises(FormulaError) as caught:
        formula.evaluate(Ctx(count=2))
    assert caught.value.position == 9 and caught.value.code == "formula_eval"
    assert formula.evaluate(Ctx(count=3, total=10)) == 10


def test_round_digits_must_be_whole():
    with pytest.raises(FormulaError) as caught:
        ev("round(1, 1/2)")
    assert caught.value.position == 10


def test_deep_nesting_is_refused_not_a_crash():
    with pytest.raises(FormulaError):
        parse("(" * 500 + "1" + ")" * 500)
    with pytest.raises(FormulaError):
        parse("-" * 500 + "1")
    assert ev("(" * 50 + "1" + ")" * 50) == 1


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="0123456789.+-*/()<>=!&|, tabcdeilmnoprsuxTM'\"", max_size=40))
def test_any_text_parses_or_fails_with_a_position(text):
    try:
        formula = parse(text)
    except FormulaError as error:
        assert 1 <= error.position <= len(text) + 1
        return
    try:
        formula.evaluate(Ctx())
    except FormulaError as error:
        assert 1 <= error.position <= len(text)


# --- formatting ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "spec", "text"), [
    (Fraction(123456), "%m", "1234.56"), (Fraction(-5), "%m", "-0.05"), (Fraction(7), None, "7"),
    (Fraction(1, 3), None, "0.33"), (Fraction(2, 3), "%.3f", "0.667"), (Fraction(5, 2), "%d", "3"),
    (Fraction(-5, 2), "%d", "-3"), (Fraction(1, 8), "%.2f", "0.13"), (Fraction(10), "%.0f", "10"),
    (Fraction(1, 2), "%m", "0.01"), (Fraction(1, 200), "%m", "0.00"),
])
def test_format_value(value, spec, text):
    assert format_value(value, spec) == text


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        format_value(Fraction(1), "%s")


@given(st.integers(-10**12, 10**12))
def test_money_format_matches_core_money(kopecks):
    from icecash.core.money import format_money

    assert format_value(Fraction(kopecks), "%m") == format_money(kopecks)


def test_period_errors_in_both_languages():
    with pytest.raises(FormulaError) as caught:
        parse("statistic(2026.13, .)")
    assert "месяц 13 не в 1..12" in caught.value.message_ru and "month 13 is not 1..12" in caught.value.message_en
    with pytest.raises(FormulaError) as caught:
        parse("payments(0000.01, .)")
    assert "year 0000" in caught.value.message_en


def test_resolving_far_back_beyond_year_one_is_an_error_not_a_crash():
    with pytest.raises(FormulaError):
        parse("statistic(-9999., .)").evaluate(Ctx())
