"""X and Z reports: what a shift sold, returned, cancelled and took in cash and by card.

A shift is the span between two Z reports; an X is the same computation without closing it.
The Z's accounting date is its closing date, or the day before when it is taken before the
shop's ``begin_time`` (06:00 by default): a night shift belongs to the day it started.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum

from .receipt import ReceiptKind

SHIFT_WARN_AFTER = timedelta(hours=23)
SHIFT_MAX_AGE = timedelta(hours=24)


class ReceiptStatus(str, Enum):
    OPEN = "open"
    DEFERRED = "deferred"
    PAID = "paid"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class SummaryLine:
    code: str
    name: str
    quantity: int
    total: int
    discount: int


@dataclass(frozen=True)
class ReceiptSummary:
    """A finished receipt as the report sees it; money positive for both sales and returns."""

    kind: ReceiptKind
    status: ReceiptStatus  # PAID or CANCELLED
    total: int
    cash: int
    card: int
    discount: int
    lines: tuple[SummaryLine, ...] = ()


@dataclass(frozen=True)
class ZLine:
    code: str
    name: str
    sold_quantity: int
    sold_total: int
    returned_quantity: int
    returned_total: int

    @property
    def net_total(self) -> int:
        return self.sold_total - self.returned_total


@dataclass(frozen=True)
class ShiftTotals:
    sales_count: int
    returns_count: int
    cancels_count: int
    sales_total: int
    returns_total: int
    cancels_total: int
    cash: int  # net: taken for sales less given back for returns
    card: int
    sales_discount: int
    returns_discount: int
    cash_in: int
    cash_out: int
    lines: tuple[ZLine, ...]

    @property
    def revenue(self) -> int:
        """Sales less returns (the original's ``vir``)."""
        return self.sales_total - self.returns_total

    @property
    def discount(self) -> int:
        return self.sales_discount - self.returns_discount

    @property
    def cash_in_drawer(self) -> int:
        return self.cash + self.cash_in - self.cash_out

    @property
    def is_empty(self) -> bool:
        """Nothing happened: a Z of it is refused."""
        return not (self.sales_count or self.returns_count or self.cancels_count or self.cash_in or self.cash_out)


def compute_shift_totals(receipts: list[ReceiptSummary], cash_moves: list[int] = ()) -> ShiftTotals:
    """Counts and totals of a shift; ``cash_moves`` are cash-in (positive) and cash-out (negative)."""
    counts = {"sale": 0, "return": 0, "cancel": 0}
    totals = {"sale": 0, "return": 0, "cancel": 0}
    discounts = {"sale": 0, "return": 0}
    cash = card = 0
    per_item: dict[str, list] = {}
    for receipt in receipts:
        if receipt.status is ReceiptStatus.CANCELLED:
            counts["cancel"] += 1
            totals["cancel"] += receipt.total
            continue
        if receipt.status is not ReceiptStatus.PAID:
            raise ValueError(f"receipt in status {receipt.status} cannot be reported")
        key = receipt.kind.value
        sign = 1 if receipt.kind is ReceiptKind.SALE else -1
        counts[key] += 1
        totals[key] += receipt.total
        discounts[key] += receipt.discount
        cash += sign * receipt.cash
        card += sign * receipt.card
        for line in receipt.lines:
            entry = per_item.setdefault(line.code, [line.name, 0, 0, 0, 0])
            entry[0] = line.name
            if receipt.kind is ReceiptKind.SALE:
                entry[1] += line.quantity
                entry[2] += line.total
            else:
                entry[3] += line.quantity
                entry[4] += line.total
    z_lines = tuple(
        ZLine(code, name, sold_q, sold_t, ret_q, ret_t)
        for code, (name, sold_q, sold_t, ret_q, ret_t) in sorted(per_item.items(), key=lambda kv: _code_key(kv[0]))
    )
    cash_in = sum(m for m in cash_moves if m > 0)
    cash_out = -sum(m for m in cash_moves if m < 0)
    return ShiftTotals(
        sales_count=counts["sale"],
        returns_count=counts["return"],
        cancels_count=counts["cancel"],
        sales_total=totals["sale"],
        returns_total=totals["return"],
        cancels_total=totals["cancel"],
        cash=cash,
        card=card,
        sales_discount=discounts["sale"],
        returns_discount=discounts["return"],
        cash_in=cash_in,
        cash_out=cash_out,
        lines=z_lines,
    )


def _code_key(code: str) -> tuple[int, int | str]:
    return (0, int(code)) if code.isdigit() else (1, code)


def accounting_date(closed_at: datetime, begin_time: time = time(6, 0)) -> date:
    """The trading day a Z belongs to: before ``begin_time`` it is still the previous day."""
    day = closed_at.date()
    if closed_at.time() < begin_time:
        day -= timedelta(days=1)
    return day


class ShiftAge(str, Enum):
    FRESH = "fresh"
    WARN = "warn"  # 23 h or more: close it soon
    EXPIRED = "expired"  # 24 h or more: no sales until the Z


def shift_age(opened_at: datetime, now: datetime) -> ShiftAge:
    age = now - opened_at
    if age >= SHIFT_MAX_AGE:
        return ShiftAge.EXPIRED
    if age >= SHIFT_WARN_AFTER:
        return ShiftAge.WARN
    return ShiftAge.FRESH
