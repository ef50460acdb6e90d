"""Properties of the domain core over generated realistic items, receipts, returns and shifts.

Items: prices 1 kop .. 1,000,000 ₽, consistent min/max prices, max discounts, weighed and piece
goods, every VAT rate, no-discount flags. Receipts: 1–30 lines, card rates 0–100 %.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icecash.core.errors import InvalidInput
from icecash.core.money import FULL_RATE, MAX_MONEY, QTY_SCALE, div_ceil, div_half_up, line_amount, rate_of
from icecash.core.receipt import (
    Calculation,
    ItemSnapshot,
    LineInput,
    Payment,
    ReceiptKind,
    calculate,
    calculate_line,
    pack_of,
    refund,
    return_total,
    settle,
    validate_price,
    validate_quantity,
    validate_return_quantity,
)
from icecash.core.vat import VatRate, vat_included
from icecash.core.zreport import ReceiptStatus, ReceiptSummary, SummaryLine, compute_shift_totals

MAX_PRICE = 100_000_000  # 1,000,000.00 ₽

PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEAVY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --- strategies --------------------------------------------------------------------------------

prices = st.one_of(st.integers(1, 10_000), st.integers(1, MAX_PRICE))  # cheap goods are common
rates = st.one_of(st.sampled_from([0, 100, 300, 500, 1000, 1500, 2000, 5000, FULL_RATE]), st.integers(0, FULL_RATE))


@st.composite
def items(draw, code: str | None = None) -> ItemSnapshot:
    price = draw(prices)
    min_price = draw(st.one_of(st.just(0), st.just(price), st.integers(0, price)))
    max_price = draw(st.one_of(st.just(0), st.just(price), st.integers(price, min(MAX_MONEY, price * 3))))
    return ItemSnapshot(
        code=code or str(draw(st.integers(1, 40))),  # few codes: the same item on several lines
        name=draw(st.sampled_from(["Молоко", "Хлеб", "Сыр", "Водка", "Сигареты", "Гвозди"])),
        price=price,
        min_price=min_price,
        max_price=max_price,
        max_discount_bp=draw(rates),
        weighed=draw(st.booleans()),
        department=draw(st.integers(1, 16)),
        vat=draw(st.sampled_from(list(VatRate))),
        alcohol=draw(st.booleans()),
        no_discount=draw(st.booleans()),
    )


def quantities(item: ItemSnapshot):
    if item.weighed:
        return st.one_of(st.integers(1, 2_000), st.integers(1, 50_000))  # 1 g .. 50 kg
    return st.integers(1, 100).map(lambda pieces: pieces * QTY_SCALE)


@st.composite
def lines(draw, storno: bool = True) -> LineInput:
    item = draw(items())
    quantity = draw(quantities(item))
    price_changed = draw(st.booleans())
    price = item.price
    if price_changed:  # a cashier's price change stays within [min_price, max_price]
        price = draw(st.integers(max(1, item.min_price), item.max_price or min(MAX_MONEY, item.price * 2)))
    validate_quantity(item, quantity)
    validate_price(item, price)
    # calculate() must keep its promises even for a manual rate above what the till would accept
    manual = draw(st.one_of(st.just(0), st.integers(0, item.max_discount_bp), rates))
    return LineInput(
        item=item,
        quantity=quantity,
        price=price,
        storno=storno and draw(st.integers(0, 9)) == 0,  # about one line in ten cancelled
        manual_discount_bp=manual,
        price_changed=price_changed,
        quantity_changed=draw(st.booleans()),
    )


receipts = st.lists(lines(), min_size=1, max_size=30)


# --- 1..4: totals, registrar arithmetic, min price, VAT ------------------------------------------


@PROPS
@given(receipts, rates)
def test_total_is_the_sum_of_live_line_totals(receipt: list[LineInput], card: int) -> None:
    calc = calculate(receipt, card)
    live = [r for line, r in zip(receipt, calc.lines) if not line.storno]
    assert len(calc.lines) == len(receipt)
    assert calc.total == sum(r.total for r in live)
    assert calc.amount == sum(r.amount for r in live)
    assert calc.discount == sum(r.discount for r in live)
    assert calc.amount - calc.discount == calc.total
    for line, result in zip(receipt, calc.lines):
        if line.storno:
            assert (result.total, result.discount, result.vat_amount) == (0, 0, 0)
            assert "c" in result.marks


@PROPS
@given(receipts, rates)
def test_line_total_is_what_the_registrar_computes(receipt: list[LineInput], card: int) -> None:
    calc = calculate(receipt, card)
    for line, result in zip(receipt, calc.lines):
        if line.storno:
            continue
        assert result.amount == line_amount(line.price, line.quantity)
        assert result.total == line_amount(result.final_price, line.quantity)
        assert result.discount == result.amount - result.total
        assert result.vat_amount == vat_included(result.total, line.item.vat)


@PROPS
@given(receipts, rates)
def test_no_discount_goes_below_min_price_or_above_price(receipt: list[LineInput], card: int) -> None:
    calc = calculate(receipt, card)
    for line, result in zip(receipt, calc.lines):
        if line.storno:
            continue
        item = line.item
        assert item.min_price <= result.final_price <= line.price
        assert result.discount >= 0
        assert 0 <= result.total <= result.amount
        assert result.total >= line_amount(item.min_price, line.quantity)
        expected_rate = 0 if item.no_discount else max(line.manual_discount_bp, card)
        assert result.discount_bp == expected_rate
        if expected_rate == 0:
            assert (result.discount, result.final_price, result.total) == (0, line.price, result.amount)
        # the discount is the rate of the amount, cut at the min price, give or take the rounding to
        # a whole-kopeck unit price: at most half a kopeck per unit (plus half a kopeck) either way
        floor = div_ceil(item.min_price * line.quantity, QTY_SCALE)
        granted = min(rate_of(result.amount, expected_rate), max(0, result.amount - floor))
        assert 2000 * abs(result.discount - granted) <= line.quantity + 1000
        if result.discount > 0:
            assert expected_rate > 0
        # '$' exactly when the min price cut the discount short
        assert ("$" in result.marks) == (expected_rate > 0 and rate_of(result.amount, expected_rate) > granted)
        if item.no_discount:
            assert result.marks.startswith("#")


@PROPS
@given(receipts, rates)
def test_vat_totals_add_up_to_the_receipt_total(receipt: list[LineInput], card: int) -> None:
    calc = calculate(receipt, card)
    assert sum(v.total for v in calc.vat_totals) == calc.total
    order = list(VatRate)
    assert [v.rate for v in calc.vat_totals] == sorted({v.rate for v in calc.vat_totals}, key=order.index)
    for vat_total in calc.vat_totals:
        assert vat_total.vat == vat_included(vat_total.total, vat_total.rate)
        percent = vat_total.rate.percent or 0  # prices include VAT: rate/(100+rate) of the total
        assert abs(Fraction(vat_total.total * percent, 100 + percent) - vat_total.vat) <= Fraction(1, 2)
        rate_lines = [r for line, r in zip(receipt, calc.lines) if not line.storno and line.item.vat is vat_total.rate]
        assert vat_total.total == sum(r.total for r in rate_lines)
        # rounded once per rate vs once per line: apart by at most half a kopeck per rounding
        assert 2 * abs(sum(r.vat_amount for r in rate_lines) - vat_total.vat) <= len(rate_lines) + 1
    live_rates = {line.item.vat for line in receipt if not line.storno}
    assert {v.rate for v in calc.vat_totals} == live_rates


# --- 5: a full return nets to zero --------------------------------------------------------------


@st.composite
def splits(draw, item: ItemSnapshot, quantity: int) -> list[int]:
    """``quantity`` cut into 1–5 positive parts, whole pieces for piece goods."""
    unit = 1 if item.weighed else QTY_SCALE
    units = quantity // unit
    parts = min(draw(st.integers(1, 5)), units)
    cuts = sorted(draw(st.sets(st.integers(1, units - 1), min_size=parts - 1, max_size=parts - 1))) if parts > 1 else []
    bounds = [0, *cuts, units]
    return [(b - a) * unit for a, b in zip(bounds, bounds[1:])]


def summary_lines(receipt: list[LineInput], calc: Calculation) -> tuple[SummaryLine, ...]:
    return tuple(
        SummaryLine(line.item.code, line.item.name, line.quantity, result.total, result.discount)
        for line, result in zip(receipt, calc.lines)
        if not line.storno
    )


def summary(kind: ReceiptKind, receipt: list[LineInput], calc: Calculation, payment: Payment | None) -> ReceiptSummary:
    cash, card = (payment.cash, payment.card) if payment else (0, 0)
    return ReceiptSummary(kind, ReceiptStatus.PAID, calc.total, cash, card, calc.discount, summary_lines(receipt, calc))


@HEAVY
@given(st.data(), st.lists(lines(storno=False), min_size=1, max_size=30), rates)
def test_full_return_in_random_parts_nets_to_zero(data, sold: list[LineInput], card: int) -> None:
    sale = calculate(sold, card)
    rounds: dict[int, list[LineInput]] = defaultdict(list)  # the k-th return receipt's lines
    for line, result in zip(sold, sale.lines):
        parts = data.draw(splits(line.item, line.quantity))
        returned = refunded = 0
        for k, part in enumerate(parts):
            validate_return_quantity(line.item, line.quantity, returned, part)
            money = return_total(result.total, line.quantity, returned, part)
            assert money >= 0
            refunded += money
            returned += part
            rounds[k].append(LineInput(line.item, part, line.price, fixed_total=money))
        assert returned == line.quantity
        assert refunded == result.total
        # nothing is left to return
        try:
            validate_return_quantity(line.item, line.quantity, returned, line.item.weighed and 1 or QTY_SCALE)
        except InvalidInput as error:
            assert error.code == "return_exceeds_sold"
        else:
            raise AssertionError("a fully returned line accepted another return")

    # paid by card (a receipt may exceed what one can hand in as cash), refunded to the card
    shift = [summary(ReceiptKind.SALE, sold, sale, settle(sale.total, 0, sale.total) if sale.total else None)]
    for k in sorted(rounds):
        calc = calculate(rounds[k])
        assert calc.total == sum(l.fixed_total for l in rounds[k])
        shift.append(summary(ReceiptKind.RETURN, rounds[k], calc, refund(calc.total, calc.total) if calc.total else None))

    totals = compute_shift_totals(shift)
    assert totals.revenue == 0
    assert totals.cash == totals.card == 0
    assert totals.returns_count == len(rounds)
    for z in totals.lines:
        assert z.net_total == 0
        assert z.sold_quantity == z.returned_quantity
    assert {z.code for z in totals.lines} == {line.item.code for line in sold}


@PROPS
@given(st.integers(0, 10**9), st.integers(1, 10**6), st.data())
def test_return_parts_always_add_up(sold_total: int, sold_quantity: int, data) -> None:
    # the telescoping rule on its own: any cut of any line sums to exactly its total
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, sold_quantity - 1)), max_size=6)) - {sold_quantity})
    bounds = [0, *cuts, sold_quantity]
    parts = [return_total(sold_total, sold_quantity, a, b - a) for a, b in zip(bounds, bounds[1:])]
    assert sum(parts) == sold_total
    assert all(p >= 0 for p in parts)


# --- 6: a Z is the sum of its receipts ----------------------------------------------------------


@dataclass
class Shift:
    receipts: list[ReceiptSummary]
    sales: list[int]
    returns: list[int]
    cancels: list[int]
    cash_moves: list[int]


@st.composite
def shifts(draw) -> Shift:
    out = Shift([], [], [], [], draw(st.lists(st.integers(-10**7, 10**7).filter(bool), max_size=4)))
    sold: list[tuple[list[LineInput], Calculation, dict[int, int]]] = []
    for _ in range(draw(st.integers(0, 8))):
        action = draw(st.sampled_from(["sale", "sale", "return", "cancel"]))
        if action == "return" and sold:
            receipt, calc, returned = draw(st.sampled_from(sold))
            lines_back = []
            for i, (line, result) in enumerate(zip(receipt, calc.lines)):
                left = line.quantity - returned[i]
                if line.storno or left <= 0 or not draw(st.booleans()):
                    continue
                unit = 1 if line.item.weighed else QTY_SCALE
                part = draw(st.integers(1, left // unit)) * unit
                validate_return_quantity(line.item, line.quantity, returned[i], part)
                money = return_total(result.total, line.quantity, returned[i], part)
                returned[i] += part
                lines_back.append(LineInput(line.item, part, line.price, fixed_total=money))
            back = calculate(lines_back)
            if back.total <= 0:
                continue
            card = draw(st.integers(0, back.total))
            out.receipts.append(summary(ReceiptKind.RETURN, lines_back, back, refund(back.total, card)))
            out.returns.append(back.total)
            continue
        receipt = draw(st.lists(lines(), min_size=1, max_size=10))
        calc = calculate(receipt, draw(rates))
        if action == "cancel" or calc.total <= 0:  # nothing to pay: the cashier cancels it
            out.receipts.append(
                ReceiptSummary(ReceiptKind.SALE, ReceiptStatus.CANCELLED, calc.total, 0, 0, calc.discount,
                               summary_lines(receipt, calc))
            )
            out.cancels.append(calc.total)
            continue
        card = draw(st.integers(max(0, calc.total - MAX_MONEY), calc.total))  # cash handed in <= MAX_MONEY
        due = calc.total - card
        cash_given = due + draw(st.integers(0, min(500_000, MAX_MONEY - due)))
        out.receipts.append(summary(ReceiptKind.SALE, receipt, calc, settle(calc.total, cash_given, card)))
        out.sales.append(calc.total)
        sold.append((receipt, calc, defaultdict(int)))
    return out


@HEAVY
@given(shifts())
def test_z_totals_are_the_sums_of_its_receipts(shift: Shift) -> None:
    totals = compute_shift_totals(shift.receipts, shift.cash_moves)
    assert totals.sales_count == len(shift.sales)
    assert totals.returns_count == len(shift.returns)
    assert totals.cancels_count == len(shift.cancels)
    assert totals.sales_total == sum(shift.sales)
    assert totals.returns_total == sum(shift.returns)
    assert totals.cancels_total == sum(shift.cancels)
    assert totals.revenue == sum(shift.sales) - sum(shift.returns)
    assert totals.cash + totals.card == totals.revenue
    assert sum(z.net_total for z in totals.lines) == totals.revenue
    assert totals.cash_in == sum(m for m in shift.cash_moves if m > 0)
    assert totals.cash_out == -sum(m for m in shift.cash_moves if m < 0)
    assert totals.cash_in_drawer == totals.cash + sum(shift.cash_moves)
    paid = [r for r in shift.receipts if r.status is ReceiptStatus.PAID]
    assert totals.discount == sum(r.discount if r.kind is ReceiptKind.SALE else -r.discount for r in paid)
    # per item: what was sold less what came back, from paid receipts only
    expected: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in paid:
        for line in r.lines:
            slot = expected[line.code]
            if r.kind is ReceiptKind.SALE:
                slot[0] += line.quantity
                slot[1] += line.total
            else:
                slot[2] += line.quantity
                slot[3] += line.total
    assert {z.code: [z.sold_quantity, z.sold_total, z.returned_quantity, z.returned_total] for z in totals.lines} == {
        code: slot for code, slot in expected.items()
    }
    for z in totals.lines:
        assert z.returned_quantity <= z.sold_quantity  # returns only of what this shift sold
    assert totals.is_empty == (not shift.receipts and not shift.cash_moves)


# --- 7: settle ---------------------------------------------------------------------------------


@PROPS
@given(st.integers(1, MAX_MONEY), st.data())
def test_settle_balances(total: int, data) -> None:
    card = data.draw(st.integers(0, total))
    cash_given = data.draw(st.integers(total - card, MAX_MONEY))
    payment = settle(total, cash_given, card)
    assert payment.cash + payment.card == total
    assert payment.card == card
    assert payment.cash_given == cash_given
    assert payment.change >= 0
    assert payment.change == cash_given - payment.cash
    assert payment.cash >= 0


@PROPS
@given(st.integers(1, MAX_MONEY), st.data())
def test_settle_refuses_short_or_excess_card(total: int, data) -> None:
    card = data.draw(st.integers(0, total))
    short = data.draw(st.integers(0, total - card - 1)) if total - card > 0 else None
    if short is not None:
        try:
            settle(total, short, card)
        except InvalidInput as error:
            assert (error.code, error.field) == ("insufficient_payment", "cash")
        else:
            raise AssertionError("too little cash accepted")
    excess = data.draw(st.integers(total + 1, total + MAX_MONEY))
    try:
        settle(total, MAX_MONEY, excess)
    except InvalidInput as error:
        assert (error.code, error.field) == ("card_exceeds_total", "card")
    else:
        raise AssertionError("card above the total accepted")


@PROPS
@given(st.integers(1, MAX_MONEY), st.data())
def test_refund_balances(total: int, data) -> None:
    card = data.draw(st.integers(0, total))
    payment = refund(total, card)
    assert payment.cash + payment.card == total
    assert payment.change == 0 and payment.cash_given == payment.cash


# --- 8: determinism and independence -------------------------------------------------------------


@PROPS
@given(receipts, rates)
def test_calculation_is_deterministic(receipt: list[LineInput], card: int) -> None:
    first = calculate(receipt, card)
    assert calculate(receipt, card) == first
    assert calculate(tuple(receipt), card) == first
    # each line is computed on its own: the receipt neither influences nor depends on line order
    assert first.lines == tuple(calculate_line(line, card) for line in receipt)
    backwards = calculate(list(reversed(receipt)), card)
    assert backwards.lines == tuple(reversed(first.lines))
    assert (backwards.amount, backwards.discount, backwards.total, backwards.vat_totals) == (
        first.amount, first.discount, first.total, first.vat_totals,
    )


# --- 9: packs sold under extra barcodes ----------------------------------------------------------

coefficients = st.one_of(st.sampled_from([0, 1000, 2000, 6000, 12_000, 500, 333, 1500]), st.integers(1, 100_000))
own_prices = st.one_of(st.just(0), prices)


def pack_floor_holds(item: ItemSnapshot, k: int, pack: ItemSnapshot, price: int) -> bool:
    """``price`` for the pack is at least k × the base min price, unless the pack's own price is lower."""
    return price * QTY_SCALE >= min(item.min_price * k, pack.price * QTY_SCALE)


@PROPS
@given(items(), coefficients, own_prices)
def test_pack_limits_are_the_scaled_limits_and_admit_the_packs_price(item: ItemSnapshot, coefficient: int, own: int) -> None:
    pack = pack_of(item, coefficient, own_price=own)
    k = coefficient or QTY_SCALE
    assert pack.price == (own or div_half_up(item.price * k, QTY_SCALE))
    # the floor: k × min rounded up, lowered only to the pack's own price
    assert pack.min_price <= div_ceil(item.min_price * k, QTY_SCALE)
    assert pack_floor_holds(item, k, pack, pack.min_price)
    # the ceiling: 0 stays "no limit"; else k × max rounded down, raised only to the pack's own price
    assert (pack.max_price == 0) == (item.max_price == 0)
    if pack.max_price:
        assert pack.max_price * QTY_SCALE <= max(item.max_price * k, pack.price * QTY_SCALE, QTY_SCALE)
        assert pack.max_price >= pack.min_price
    if pack.price > 0:  # what the barcode sells at is a valid price for it
        assert validate_price(pack, pack.price) == pack.price
    assert pack.litres_ml == div_half_up(item.litres_ml * k, QTY_SCALE)
    assert pack.weighed == (item.weighed and k == QTY_SCALE)


@PROPS
@given(items(), coefficients, own_prices, rates, rates, st.data())
def test_no_price_change_or_discount_takes_a_pack_below_k_times_min_price(
    item: ItemSnapshot, coefficient: int, own: int, card: int, manual: int, data
) -> None:
    pack = pack_of(item, coefficient, own_price=own)
    k = coefficient or QTY_SCALE
    # any price a cashier tries: refused, or at least k × min (unless the pack's own price is lower)
    tried = data.draw(st.integers(1, max(2, pack.price * 2, div_ceil(item.min_price * k, QTY_SCALE) * 2)))
    try:
        price = validate_price(pack, tried)
    except InvalidInput:
        price = pack.price
    if price <= 0:
        return  # no price: the till asks for one, which validate_price bounds as above
    assert pack_floor_holds(item, k, pack, price)
    quantity = data.draw(quantities(pack))
    promo = data.draw(st.integers(0, line_amount(price, quantity)))
    line = LineInput(pack, quantity, price, manual_discount_bp=manual, price_changed=price != pack.price, promo_discount=promo)
    result = calculate_line(line, card)
    # whatever discount applied (card, manual, promotion), the unit price stays above the pack's floor
    assert result.final_price >= pack.min_price
    assert pack_floor_holds(item, k, pack, result.final_price)
    assert result.total * QTY_SCALE >= pack.min_price * quantity - QTY_SCALE // 2  # the registrar's rounding of the line
