"""X/Z report totals, Z lines per item, the accounting date and the age of a shift."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecash.core.receipt import ReceiptKind
from icecash.core.zreport import (
    SHIFT_MAX_AGE,
    SHIFT_WARN_AFTER,
    ReceiptStatus,
    ReceiptSummary,
    ShiftAge,
    ShiftTotals,
    SummaryLine,
    ZLine,
    accounting_date,
    compute_shift_totals,
    shift_age,
)

SALE, RETURN = ReceiptKind.SALE, ReceiptKind.RETURN
PAID, CANCELLED = ReceiptStatus.PAID, ReceiptStatus.CANCELLED


def milk(quantity: int, total: int, discount: int = 0) -> SummaryLine:
    return SummaryLine("1001", "Молоко", quantity, total, discount)


def vodka(quantity: int, total: int, discount: int = 0) -> SummaryLine:
    return SummaryLine("3003", "Водка", quantity, total, discount)


def tobacco(quantity: int, total: int) -> SummaryLine:
    return SummaryLine("4004", "Сигареты", quantity, total, 0)


SHIFT = [
    # 2 milk for 180.00 in cash
    ReceiptSummary(SALE, PAID, total=18000, cash=18000, card=0, discount=2000, lines=(milk(2000, 18000, 2000),)),
    # milk 85.00 + vodka 95.00 + tobacco 180.00 = 360.00: 200.00 by card, 160.00 cash
    ReceiptSummary(
        SALE, PAID, total=36000, cash=16000, card=20000, discount=2000,
        lines=(milk(1000, 8500, 1500), vodka(1000, 9500, 500), tobacco(1000, 18000)),
    ),
    # one milk back, 90.00 in cash
    ReceiptSummary(RETURN, PAID, total=9000, cash=9000, card=0, discount=1000, lines=(milk(1000, 9000, 1000),)),
    # the vodka back to the card
    ReceiptSummary(RETURN, PAID, total=9500, cash=0, card=9500, discount=500, lines=(vodka(1000, 9500, 500),)),
    # a cancelled receipt: counted, not in revenue, not in the lines
    ReceiptSummary(SALE, CANCELLED, total=5000, cash=0, card=0, discount=0, lines=(milk(5000, 5000),)),
]


class TestShiftTotals:
    def test_worked_shift(self) -> None:
        totals = compute_shift_totals(SHIFT, [100000, -30000, 5000])
        assert (totals.sales_count, totals.returns_count, totals.cancels_count) == (2, 2, 1)
        assert totals.sales_total == 54000  # 180.00 + 360.00
        assert totals.returns_total == 18500  # 90.00 + 95.00
        assert totals.cancels_total == 5000
        assert totals.revenue == 35500  # 540.00 − 185.00
        assert totals.cash == 25000  # 180.00 + 160.00 − 90.00
        assert totals.card == 10500  # 200.00 − 95.00
        assert totals.cash + totals.card == totals.revenue
        assert (totals.sales_discount, totals.returns_discount, totals.discount) == (4000, 1500, 2500)
        assert (totals.cash_in, totals.cash_out) == (105000, 30000)  # 1000.00 + 50.00 in, 300.00 out
        assert totals.cash_in_drawer == 100000  # 250.00 + 1050.00 − 300.00
        assert not totals.is_empty

    def test_z_lines_grouped_per_item(self) -> None:
        lines = compute_shift_totals(SHIFT).lines
        assert lines == (
            ZLine("1001", "Молоко", 3000, 26500, 1000, 9000),  # sold 2 + 1 for 180.00 + 85.00
            ZLine("3003", "Водка", 1000, 9500, 1000, 9500),
            ZLine("4004", "Сигареты", 1000, 18000, 0, 0),
        )
        assert [z.net_total for z in lines] == [17500, 0, 18000]
        assert sum(z.net_total for z in lines) == 35500  # == revenue

    def test_empty_shift(self) -> None:
        totals = compute_shift_totals([])
        assert totals == ShiftTotals(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ())
        assert totals.is_empty
        assert totals.revenue == totals.discount == totals.cash_in_drawer == 0

    def test_only_a_cash_move_is_not_empty(self) -> None:
        assert not compute_shift_totals([], [1]).is_empty
        assert not compute_shift_totals([], [-1]).is_empty
        assert compute_shift_totals([], [-1]).cash_in_drawer == -1

    def test_only_a_cancel_is_not_empty(self) -> None:
        totals = compute_shift_totals([SHIFT[-1]])
        assert not totals.is_empty
        assert (totals.revenue, totals.cash, totals.lines, totals.cancels_total) == (0, 0, (), 5000)

    def test_cancelled_return_is_a_cancel(self) -> None:
        totals = compute_shift_totals([ReceiptSummary(RETURN, CANCELLED, 700, 0, 0, 0, (milk(1000, 700),))])
        assert (totals.cancels_count, totals.returns_count, totals.returns_total, totals.revenue) == (1, 0, 0, 0)

    @pytest.mark.parametrize("status", [ReceiptStatus.OPEN, ReceiptStatus.DEFERRED])
    def test_unfinished_receipts_refused(self, status: ReceiptStatus) -> None:
        with pytest.raises(ValueError, match="cannot be reported"):
            compute_shift_totals([ReceiptSummary(SALE, status, 100, 100, 0, 0)])

    def test_codes_sorted_numerically_then_text(self) -> None:
        receipt = ReceiptSummary(
            SALE, PAID, 300, 300, 0, 0,
            lines=(SummaryLine("A1", "a", 1000, 100, 0), SummaryLine("10", "b", 1000, 100, 0),
                   SummaryLine("9", "c", 1000, 100, 0)),
        )
        assert [z.code for z in compute_shift_totals([receipt]).lines] == ["9", "10", "A1"]

    def test_same_code_on_several_lines_and_receipts(self) -> None:
        receipts = [
            ReceiptSummary(SALE, PAID, 300, 300, 0, 0, (milk(1000, 100), milk(2000, 200))),
            ReceiptSummary(SALE, PAID, 50, 0, 50, 0, (SummaryLine("1001", "Молоко 2.5%", 500, 50, 0),)),
        ]
        assert compute_shift_totals(receipts).lines == (ZLine("1001", "Молоко 2.5%", 3500, 350, 0, 0),)

    def test_cash_moves_default(self) -> None:
        totals = compute_shift_totals(SHIFT)
        assert (totals.cash_in, totals.cash_out, totals.cash_in_drawer) == (0, 0, 25000)


class TestAccountingDate:
    @pytest.mark.parametrize(
        ("closed_at", "expected"),
        [
            (datetime(2024, 3, 10, 5, 59), date(2024, 3, 9)),  # before 06:00: still yesterday
            (datetime(2024, 3, 10, 5, 59, 59, 999999), date(2024, 3, 9)),
            (datetime(2024, 3, 10, 6, 0), date(2024, 3, 10)),  # 06:00 sharp: today
            (datetime(2024, 3, 10, 6, 0, 1), date(2024, 3, 10)),
            (datetime(2024, 3, 10, 23, 59), date(2024, 3, 10)),
            (datetime(2024, 3, 10, 0, 0), date(2024, 3, 9)),
            (datetime(2024, 1, 1, 2, 0), date(2023, 12, 31)),  # across the year
            (datetime(2024, 3, 1, 1, 0), date(2024, 2, 29)),  # across a leap February
            (datetime(2023, 3, 1, 1, 0), date(2023, 2, 28)),
        ],
    )
    def test_default_begin_time(self, closed_at: datetime, expected: date) -> None:
        assert accounting_date(closed_at) == expected

    def test_custom_begin_time(self) -> None:
        assert accounting_date(datetime(2024, 3, 10, 3, 59), time(4, 0)) == date(2024, 3, 9)
        assert accounting_date(datetime(2024, 3, 10, 4, 0), time(4, 0)) == date(2024, 3, 10)
        assert accounting_date(datetime(2024, 3, 10, 5, 0), time(4, 0)) == date(2024, 3, 10)  # 06:00 no longer counts
        assert accounting_date(datetime(2024, 3, 10, 8, 29), time(8, 30)) == date(2024, 3, 9)
        assert accounting_date(datetime(2024, 3, 10, 8, 30), time(8, 30)) == date(2024, 3, 10)

    def test_midnight_begin_time_means_calendar_day(self) -> None:
        assert accounting_date(datetime(2024, 3, 10, 0, 0), time(0, 0)) == date(2024, 3, 10)
        assert accounting_date(datetime(2024, 3, 10, 0, 0, 1), time(0, 0)) == date(2024, 3, 10)

    @settings(max_examples=200, deadline=None)
    @given(
        st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2100, 1, 1)),
        st.times().map(lambda t: t.replace(microsecond=0)),
    )
    def test_is_the_date_shifted_back_by_begin_time(self, closed_at: datetime, begin: time) -> None:
        shift = timedelta(hours=begin.hour, minutes=begin.minute, seconds=begin.second)
        assert accounting_date(closed_at, begin) == (closed_at - shift).date()


class TestShiftAge:
    OPENED = datetime(2024, 3, 10, 8, 0)

    @pytest.mark.parametrize(
        ("elapsed", "expected"),
        [
            (timedelta(0), ShiftAge.FRESH),
            (timedelta(hours=22, minutes=59), ShiftAge.FRESH),
            (timedelta(hours=22, minutes=59, seconds=59), ShiftAge.FRESH),
            (timedelta(hours=23), ShiftAge.WARN),  # 23:00: close it soon
            (timedelta(hours=23, minutes=59, seconds=59), ShiftAge.WARN),
            (timedelta(hours=24), ShiftAge.EXPIRED),  # 24:00: no sales until the Z
            (timedelta(hours=30), ShiftAge.EXPIRED),
            (timedelta(days=3), ShiftAge.EXPIRED),
            (timedelta(minutes=-5), ShiftAge.FRESH),  # a clock stepped back does not expire a shift
        ],
    )
    def test_ages(self, elapsed: timedelta, expected: ShiftAge) -> None:
        assert shift_age(self.OPENED, self.OPENED + elapsed) is expected

    def test_limits(self) -> None:
        assert SHIFT_WARN_AFTER == timedelta(hours=23)
        assert SHIFT_MAX_AGE == timedelta(hours=24)
