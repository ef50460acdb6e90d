"""Money in integer kopecks, quantities in integer thousandths, rates in basis points.

Every rounding in IceCash goes through :func:`div_half_up` (half away from zero), so there is
one place that decides how a fraction of a kopeck becomes a kopeck. ``Decimal`` appears only
where text is parsed or printed; floats never.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

KOPECKS_PER_RUBLE = 100
QTY_SCALE = 1000  # one piece, or one kilogram / litre of weighed goods
PERCENT_SCALE = 100  # a rate in basis points: 1 % == 100
FULL_RATE = 100 * PERCENT_SCALE  # 100 % in basis points

MAX_MONEY = 99_999_999_99  # 99,999,999.99 ₽: far above any till line, small enough for 5-byte protocols
MAX_QUANTITY = 99_999_999  # 99,999.999 units
_MAX_INTEGER_DIGITS = 20  # parsing refuses larger numbers: far above any limit, cheap to hold


def div_half_up(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero (the 'half-up' of shop arithmetic)."""
    if denominator == 0:
        raise ZeroDivisionError("div_half_up by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    quotient, remainder = divmod(abs(numerator), denominator)
    if remainder * 2 >= denominator:
        quotient += 1
    return sign * quotient


def div_ceil(numerator: int, denominator: int) -> int:
    """Integer division rounded up (towards +infinity), for lower bounds such as a minimum price."""
    return -((-numerator) // denominator)


def line_amount(price: int, quantity: int) -> int:
    """Kopecks for ``quantity`` thousandths at ``price`` kopecks per unit, rounded half-up."""
    return div_half_up(price * quantity, QTY_SCALE)


def rate_of(amount: int, rate_bp: int) -> int:
    """``rate_bp`` basis points of ``amount`` kopecks, rounded half-up."""
    return div_half_up(amount * rate_bp, FULL_RATE)


_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def _parse_decimal(text: str | int | Decimal, places: int, what: str) -> int:
    if isinstance(text, bool):
        raise ValueError(f"{what}: not a number")
    if isinstance(text, int):
        return text * 10**places
    if isinstance(text, Decimal):
        value = text
    else:
        raw = str(text).strip().replace(",", ".").replace("\u00a0", "").replace(" ", "")
        if not raw:
            raise ValueError(f"{what}: empty")
        # Plain decimal notation only: no exponents, underscores or non-ASCII digits, which
        # Decimal would accept but a person typing a price never means.
        if not _PLAIN_NUMBER.fullmatch(raw):
            raise ValueError(f"{what}: {text!r} is not a number")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise ValueError(f"{what}: {text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{what}: {text!r} is not a number")
    # Exact integer arithmetic on the digits: Decimal's context (28 digits, bounded exponent) would
    # round long inputs, turn tiny ones into 0 and overflow on huge ones.
    sign, digits, exponent = value.as_tuple()
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0
    exponent += len(digits) - len(significant)
    if exponent < -places:
        raise ValueError(f"{what}: {text!r} has more than {places} decimal places")
    if len(significant) + exponent > _MAX_INTEGER_DIGITS:
        raise ValueError(f"{what}: {text!r} is too large")
    magnitude = int(significant) * 10 ** (exponent + places)
    return -magnitude if sign else magnitude


def parse_money(text: str | int | Decimal) -> int:
    """'198.00', '198,5' or '198' rubles as kopecks; more than two decimals is an error."""
    return _parse_decimal(text, 2, "money")


def parse_quantity(text: str | int | Decimal) -> int:
    """'1', '0.250' or '1,5' units as thousandths; more than three decimals is an error."""
    return _parse_decimal(text, 3, "quantity")


def parse_rate(text: str | int | Decimal) -> int:
    """'10', '2.5' percent as basis points."""
    return _parse_decimal(text, 2, "percent")


def _format_scaled(value: int, places: int) -> str:
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**places)
    return f"{sign}{whole}.{frac:0{places}d}"


def format_money(kopecks: int) -> str:
    """Kopecks as '1234.50' (machine form: no grouping, dot separator)."""
    if kopecks < 0:  # what _format_scaled(kopecks, 2) gives, written out: a view formats dozens per scan
        return f"-{-kopecks // 100}.{-kopecks % 100:02d}"
    return f"{kopecks // 100}.{kopecks % 100:02d}"


def format_quantity(thousandths: int) -> str:
    """Thousandths as '1.000'."""
    if thousandths < 0:  # as format_money
        return f"-{-thousandths // 1000}.{-thousandths % 1000:03d}"
    return f"{thousandths // 1000}.{thousandths % 1000:03d}"


def format_quantity_short(thousandths: int) -> str:
    """Thousandths without trailing zeros, as a receipt prints them: '2', '0.25', '1.5'."""
    return format_quantity(thousandths).rstrip("0").rstrip(".")


def format_rate(basis_points: int) -> str:
    """Basis points as '12.50'."""
    return _format_scaled(basis_points, 2)


def money_to_decimal(kopecks: int) -> Decimal:
    """Kopecks as a Decimal of rubles, for JSON and protocol edges."""
    return Decimal(kopecks).scaleb(-2)


def quantity_to_decimal(thousandths: int) -> Decimal:
    return Decimal(thousandths).scaleb(-3)
