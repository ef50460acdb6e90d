"""Receipt arithmetic by worked examples: validation, discounts, VAT, payment, returns.

Every expected number is worked out by hand in the comment next to it. The examples that
``docs/admin/rounding.md`` shows are in ``TestRoundingDocExamples`` at the end.
"""

from __future__ import annotations

import dataclasses

import pytest

from icecash.core.errors import Conflict, InvalidInput
from icecash.core.money import FULL_RATE, MAX_MONEY, MAX_QUANTITY, div_half_up
from icecash.core.receipt import (
    Calculation,
    ItemSnapshot,
    LineInput,
    LineResult,
    Payment,
    VatTotal,
    calculate,
    calculate_line,
    pack_of,
    refund,
    return_total,
    settle,
    validate_card_rate,
    validate_manual_discount,
    validate_price,
    validate_quantity,
    validate_return_quantity,
    validate_scale_label,
)
from icecash.core.vat import VatRate

MILK = ItemSnapshot(code="1001", name="Молоко", price=10000, max_discount_bp=2000, vat=VatRate.VAT10)
CHEESE = ItemSnapshot(code="2002", name="Сыр весовой", price=12345, weighed=True, max_discount_bp=1000, vat=VatRate.VAT10)
VODKA = ItemSnapshot(
    code="3003", name="Водка", price=10000, min_price=9500, max_price=20000, max_discount_bp=1000,
    vat=VatRate.VAT20, alcohol=True,
)
TOBACCO = ItemSnapshot(code="4004", name="Сигареты", price=18000, no_discount=True, vat=VatRate.VAT20)


def item(**changes) -> ItemSnapshot:
    return dataclasses.replace(MILK, **changes)


def line(snapshot: ItemSnapshot = MILK, quantity: int = 1000, price: int | None = None, **changes) -> LineInput:
    return LineInput(item=snapshot, quantity=quantity, price=snapshot.price if price is None else price, **changes)


def refused(call, *args, **kwargs) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        call(*args, **kwargs)
    return info.value


# --- validate_quantity -------------------------------------------------------------------------


class TestValidateQuantity:
    @pytest.mark.parametrize("quantity", [1000, 2000, 99_999_000])
    def test_whole_pieces(self, quantity: int) -> None:
        assert validate_quantity(MILK, quantity) == quantity

    @pytest.mark.parametrize("quantity", [1, 250, 1500, 999, MAX_QUANTITY])
    def test_fractions_of_weighed_goods(self, quantity: int) -> None:
        assert validate_quantity(CHEESE, quantity) == quantity

    @pytest.mark.parametrize("quantity", [0, -1, -1000])
    @pytest.mark.parametrize("snapshot", [MILK, CHEESE])
    def test_zero_and_negative_refused(self, snapshot: ItemSnapshot, quantity: int) -> None:
        error = refused(validate_quantity, snapshot, quantity)
        assert error.code == "bad_quantity"
        assert error.field == "quantity"
        assert "above zero" in error.message_en

    @pytest.mark.parametrize("snapshot", [MILK, CHEESE])
    def test_too_large_refused(self, snapshot: ItemSnapshot) -> None:
        error = refused(validate_quantity, snapshot, MAX_QUANTITY + 1)
        assert error.code == "bad_quantity"
        assert "100000.000" in error.message_en and "99999.999" in error.message_en

    @pytest.mark.parametrize("quantity", [1, 500, 1500, 2999, MAX_QUANTITY])
    def test_fraction_of_a_piece_good_refused(self, quantity: int) -> None:
        error = refused(validate_quantity, MILK, quantity)
        assert error.code == "fractional_quantity"
        assert error.field == "quantity"
        assert "Молоко" in error.message_ru

    def test_field_name_is_passed_through(self) -> None:
        assert refused(validate_quantity, MILK, 0, "lines[2].quantity").field == "lines[2].quantity"


class TestValidateScaleLabel:
    def test_weighed_good_accepted(self) -> None:
        assert validate_scale_label(CHEESE) is CHEESE

    def test_piece_good_refused_even_for_whole_kilograms(self) -> None:
        # the till checks the item, not the weight: a 1.000 kg label on milk is not one carton
        error = refused(validate_scale_label, MILK)
        assert (error.code, error.field) == ("scale_piece_good", "barcode")
        assert "Молоко" in error.message_ru and "by the piece" in error.message_en


# --- pack_of: what an extra barcode sells ------------------------------------------------------

WATER = ItemSnapshot(code="1005", name="Вода питьевая 1,5 л", price=4500, min_price=3000, max_discount_bp=1000,
                     vat=VatRate.VAT20, barcode="4601234000055")


class TestPackOf:
    def test_six_pack_scales_price_and_limits(self) -> None:
        pack = pack_of(WATER, 6000, name="Вода питьевая 1,5 л, упаковка 6 шт", barcode="4601234001052")
        assert (pack.price, pack.min_price, pack.max_price) == (27000, 18000, 0)  # max 0 stays "no limit"
        assert (pack.name, pack.barcode, pack.code) == ("Вода питьевая 1,5 л, упаковка 6 шт", "4601234001052", "1005")
        assert (pack.max_discount_bp, pack.vat, pack.weighed) == (1000, VatRate.VAT20, False)
        # the audit's case: 35.00 for six bottles is refused, 180.00 is the floor
        assert refused(validate_price, pack, 3500).code == "price_below_min"
        assert validate_price(pack, 18000) == 18000
        # and a discount card cannot take it below 6 × 30.00 either: 50 % of 270.00 stops at 180.00
        assert calculate_line(line(pack), card_rate_bp=5000).total == 18000

    def test_zero_coefficient_reads_as_one(self) -> None:
        same = pack_of(WATER, 0)
        assert (same.price, same.min_price, same.name, same.barcode) == (4500, 3000, WATER.name, WATER.barcode)

    def test_own_price_wins_over_the_coefficient(self) -> None:
        offer = pack_of(WATER, 1000, own_price=3900, name="Вода питьевая 1,5 л, акция")
        assert (offer.price, offer.min_price, offer.name) == (3900, 3000, "Вода питьевая 1,5 л, акция")
        own_six = pack_of(WATER, 6000, own_price=25000)
        assert (own_six.price, own_six.min_price, own_six.name) == (25000, 18000, "Вода питьевая 1,5 л, 6 шт")

    def test_own_price_below_the_scaled_min_is_its_own_floor(self) -> None:
        cheap = pack_of(VODKA, 1000, own_price=9000)  # below the base min 95.00
        assert (cheap.price, cheap.min_price, cheap.max_price) == (9000, 9000, 20000)
        assert validate_price(cheap, 9000) == 9000
        assert refused(validate_price, cheap, 8999).code == "price_below_min"

    def test_own_price_above_the_scaled_max_is_its_own_ceiling(self) -> None:
        dear = pack_of(VODKA, 1000, own_price=25000)
        assert (dear.min_price, dear.max_price) == (9500, 25000)

    def test_max_price_scales_down_and_min_up(self) -> None:
        # 0.333 × vodka: price 100.00 → 33.30; min 95.00 → 31.635 → 31.64 (up); max 200.00 → 66.60
        third = pack_of(VODKA, 333)
        assert (third.price, third.min_price, third.max_price) == (3330, 3164, 6660)
        # 0.5 × 45.01: price 22.505 → 22.51 (half-up); min 22.505 → 22.51 (up)
        odd = pack_of(item(price=4501, min_price=4501, max_price=4501), 500)
        assert (odd.price, odd.min_price, odd.max_price) == (2251, 2251, 2251)

    def test_rounding_never_leaves_the_pack_price_outside_its_limits(self) -> None:
        # 0.001 × 1.01 ₽ = 0.101 kopeck: the price rounds to 0 (the cashier must enter one), the floor
        # up to 1 kopeck, and the max stays a limit (1 kopeck), never 0 = "no limit"
        tiny = pack_of(item(price=101, min_price=101, max_price=101), 1)
        assert (tiny.price, tiny.min_price, tiny.max_price) == (0, 1, 1)
        # 0.001 × 10.00 ₽ = exactly 1 kopeck: price and floor agree
        cheap = pack_of(item(price=1000, min_price=1000, max_price=0), 1)
        assert (cheap.price, cheap.min_price, cheap.max_price) == (1, 1, 0)

    def test_litres_scale_and_weighed_packs_are_pieces(self) -> None:
        assert pack_of(item(alcohol=True, litres_ml=500), 6000).litres_ml == 3000
        assert pack_of(item(litres_ml=333), 1500).litres_ml == 500  # 499.5 → 500
        half = pack_of(CHEESE, 500)
        assert (half.weighed, half.price, half.name) == (False, 6173, "Сыр весовой, 0,5 кг")  # 61.725 → 61.73
        assert refused(validate_quantity, half, 1500).code == "fractional_quantity"
        assert pack_of(CHEESE, 1000, own_price=9900).weighed is True  # an offer per kilogram stays weighed

    @pytest.mark.parametrize(("own_name", "coefficient", "expected"), [
        ("", 6000, "Вода питьевая 1,5 л, 6 шт"),
        ("", 1500, "Вода питьевая 1,5 л, 1,5 шт"),
        ("", 1000, "Вода питьевая 1,5 л"),
        ("6 шт", 6000, "Вода питьевая 1,5 л, 6 шт"),  # IceCash2 price files often hold bare labels
        ("акция", 1000, "Вода питьевая 1,5 л, акция"),
        ("Вода питьевая 1,5 л, упаковка 6 шт", 6000, "Вода питьевая 1,5 л, упаковка 6 шт"),
        ("ВОДА, упаковка", 6000, "ВОДА, упаковка"),  # names the item: kept as it is
        ("  ", 2000, "Вода питьевая 1,5 л, 2 шт"),
    ])
    def test_name_says_what_was_sold(self, own_name: str, coefficient: int, expected: str) -> None:
        assert pack_of(WATER, coefficient, name=own_name).name == expected

    def test_long_names_fit_a_receipt_line(self) -> None:
        assert len(pack_of(item(name="М" * 256), 6000, name="упаковка").name) == 256


# --- validate_price ----------------------------------------------------------------------------


class TestValidatePrice:
    def test_within_limits(self) -> None:
        assert validate_price(VODKA, 9500) == 9500  # exactly the minimum
        assert validate_price(VODKA, 20000) == 20000  # exactly the maximum
        assert validate_price(VODKA, 12345) == 12345

    @pytest.mark.parametrize("price", [0, -1, MAX_MONEY + 1])
    def test_zero_negative_and_huge_refused(self, price: int) -> None:
        error = refused(validate_price, MILK, price)
        assert error.code == "bad_price"
        assert error.field == "price"

    def test_below_min(self) -> None:
        error = refused(validate_price, VODKA, 9499)
        assert error.code == "price_below_min"
        assert "94.99" in error.message_en and "95.00" in error.message_en

    def test_above_max(self) -> None:
        error = refused(validate_price, VODKA, 20001)
        assert error.code == "price_above_max"
        assert "200.01" in error.message_en and "200.00" in error.message_en

    def test_max_zero_means_no_upper_limit(self) -> None:
        assert MILK.max_price == 0
        assert validate_price(MILK, 100_000_000) == 100_000_000  # 1,000,000.00 ₽
        assert validate_price(MILK, MAX_MONEY) == MAX_MONEY

    def test_field_name(self) -> None:
        assert refused(validate_price, VODKA, 1, "new_price").field == "new_price"


# --- validate_manual_discount / validate_card_rate ---------------------------------------------


class TestValidateManualDiscount:
    def test_allowed(self) -> None:
        assert validate_manual_discount(line(MILK), 2000) == 2000  # exactly the item's 20 %
        assert validate_manual_discount(line(MILK), 1) == 1

    def test_zero_is_always_fine(self) -> None:
        # removing a discount is allowed even on a no-discount item
        assert validate_manual_discount(line(TOBACCO), 0) == 0

    @pytest.mark.parametrize("rate", [-1, FULL_RATE + 1])
    def test_outside_0_100_refused(self, rate: int) -> None:
        error = refused(validate_manual_discount, line(MILK), rate)
        assert error.code == "bad_discount"
        assert error.field == "percent"

    def test_above_max(self) -> None:
        error = refused(validate_manual_discount, line(MILK), 2001)
        assert error.code == "discount_above_max"
        assert "20.01" in error.message_en and "20.00" in error.message_en

    def test_item_without_max_discount_takes_no_manual_discount(self) -> None:
        assert refused(validate_manual_discount, line(item(max_discount_bp=0)), 1).code == "discount_above_max"

    def test_no_discount_item(self) -> None:
        error = refused(validate_manual_discount, line(TOBACCO), 500)
        assert error.code == "no_discount_item"
        assert "Сигареты" in error.message_ru

    def test_below_min_price(self) -> None:
        # 100.00 with min 95.00: 5 % = 5.00 -> 95.00 is allowed ...
        assert validate_manual_discount(line(VODKA), 500) == 500
        # ... 5.01 % = 5.01 -> 94.99 is below the minimum
        error = refused(validate_manual_discount, line(VODKA), 501)
        assert error.code == "discount_below_min_price"
        assert error.field == "percent"

    def test_below_min_price_uses_the_line_price_and_quantity(self) -> None:
        # price raised to 105.00, 2 pcs: amount 210.00, floor 2 × 95.00 = 190.00
        # 9.52 % of 210.00 = 19.992 -> 19.99 -> 190.01 >= 190.00: fine
        assert validate_manual_discount(line(VODKA, 2000, 10500), 952) == 952
        # 9.53 % of 210.00 = 20.013 -> 20.01 -> 189.99 < 190.00: refused
        assert refused(validate_manual_discount, line(VODKA, 2000, 10500), 953).code == "discount_below_min_price"

    def test_field_name(self) -> None:
        assert refused(validate_manual_discount, line(TOBACCO), 1, "discount").field == "discount"

    def test_card_rate(self) -> None:
        assert validate_card_rate(0) == 0
        assert validate_card_rate(FULL_RATE) == FULL_RATE
        for rate in (-1, FULL_RATE + 1):
            error = refused(validate_card_rate, rate)
            assert (error.code, error.field) == ("bad_discount", "percent")


# --- calculate ---------------------------------------------------------------------------------


class TestCalculateLine:
    def test_plain_line(self) -> None:
        # 2 × 100.00 = 200.00, VAT 10 % inside: 200.00 × 10/110 = 18.18
        assert calculate_line(line(MILK, 2000)) == LineResult(
            amount=20000, discount_bp=0, discount=0, total=20000, final_price=10000, vat_amount=1818, marks=""
        )

    def test_card_rate(self) -> None:
        # 2 × 100.00 = 200.00; card 10 % = 20.00; final price 180.00 / 2 = 90.00
        result = calculate_line(line(MILK, 2000), card_rate_bp=1000)
        assert (result.amount, result.discount_bp, result.discount, result.total, result.final_price) == (
            20000, 1000, 2000, 18000, 9000,
        )
        assert result.marks == ""  # the card's discount is not a manual one
        assert result.vat_amount == 1636  # 180.00 × 10/110 = 16.3636

    def test_card_rate_larger_than_manual_wins_and_they_do_not_stack(self) -> None:
        # manual 5 %, card 10 %: 10 % applies (not 15 %, not 5 %+10 % compounded = 14.5 %)
        result = calculate_line(line(MILK, 2000, manual_discount_bp=500), card_rate_bp=1000)
        assert (result.discount_bp, result.discount, result.total, result.final_price) == (1000, 2000, 18000, 9000)
        assert "s" not in result.marks

    def test_manual_rate_larger_than_card_wins(self) -> None:
        # manual 15 %, card 10 %: 15 % of 200.00 = 30.00 -> 170.00, 85.00 each
        result = calculate_line(line(MILK, 2000, manual_discount_bp=1500), card_rate_bp=1000)
        assert (result.discount_bp, result.discount, result.total, result.final_price) == (1500, 3000, 17000, 8500)
        assert result.marks == "s"

    def test_equal_rates_count_as_manual(self) -> None:
        result = calculate_line(line(MILK, 1000, manual_discount_bp=1000), card_rate_bp=1000)
        assert (result.discount, result.total, result.marks) == (1000, 9000, "s")

    def test_no_discount_line_untouched(self) -> None:
        # 180.00, card 10 % and even a manual 50 % slipped past validation: nothing comes off
        result = calculate_line(line(TOBACCO, 1000, manual_discount_bp=5000), card_rate_bp=1000)
        assert result == LineResult(
            amount=18000, discount_bp=0, discount=0, total=18000, final_price=18000, vat_amount=3000, marks="#"
        )

    def test_min_price_clamp_sets_dollar_mark(self) -> None:
        # 100.00, min 95.00, card 10 %: wanted 10.00, allowed 5.00 -> 95.00
        result = calculate_line(line(VODKA), card_rate_bp=1000)
        assert (result.discount_bp, result.discount, result.total, result.final_price) == (1000, 500, 9500, 9500)
        assert result.marks == "$A"
        assert result.vat_amount == 1583  # 95.00 × 20/120 = 15.8333

    def test_min_price_not_reached_no_mark(self) -> None:
        # 5 % of 100.00 = 5.00 -> exactly 95.00: not cut, no '$'
        result = calculate_line(line(VODKA), card_rate_bp=500)
        assert (result.total, result.marks) == (9500, "A")

    def test_min_price_clamp_with_several_pieces(self) -> None:
        # 3 × 100.00 = 300.00, min 3 × 95.00 = 285.00; card 20 % wants 60.00, gets 15.00
        result = calculate_line(line(VODKA, 3000), card_rate_bp=2000)
        assert (result.discount, result.total, result.final_price, result.marks) == (1500, 28500, 9500, "$A")

    def test_discounted_line_goes_through_a_unit_price(self) -> None:
        # 3 × 33.33 = 99.99; 10 % = 9.999 -> 10.00; 89.99 / 3 = 29.9967 -> 30.00;
        # the registrar computes 3 × 30.00 = 90.00, so the discount shown is 9.99
        result = calculate_line(line(item(price=3333), 3000), card_rate_bp=1000)
        assert (result.amount, result.discount, result.total, result.final_price) == (9999, 999, 9000, 3000)

    def test_weighed_line_with_card(self) -> None:
        # 0.333 kg × 123.45 = 41.10885 -> 41.11; 5 % = 2.0555 -> 2.06; 39.05 / 0.333 = 117.2673 -> 117.27
        # 0.333 × 117.27 = 39.05091 -> 39.05
        result = calculate_line(line(CHEESE, 333), card_rate_bp=500)
        assert (result.amount, result.discount, result.total, result.final_price) == (4111, 206, 3905, 11727)
        assert result.vat_amount == 355  # 39.05 × 10/110 = 3.55

    def test_full_card_discount(self) -> None:
        result = calculate_line(line(MILK, 2000), card_rate_bp=FULL_RATE)
        assert (result.discount, result.total, result.final_price, result.vat_amount) == (20000, 0, 0, 0)

    def test_zero_discount_keeps_the_price(self) -> None:
        # 0.003 kg × 11.00 = 0.033 -> 0.03; 10 % of 0.03 = 0.003 -> 0.00: nothing comes off, so the
        # price sent to the registrar stays 11.00 (not 0.03 / 0.003 = 10.00)
        result = calculate_line(line(item(price=1100, weighed=True), 3), card_rate_bp=1000)
        assert (result.amount, result.discount, result.total, result.final_price) == (3, 0, 3, 1100)

    def test_tiny_weighed_line_never_priced_below_min(self) -> None:
        # 0.003 kg × 11.00 with min 11.00 = 0.033 -> 0.03, below the rounded-up floor 0.04 already;
        # a 10 % card must not turn the unit price into 0.03 / 0.003 = 10.00 < 11.00
        result = calculate_line(line(item(price=1100, min_price=1100, weighed=True), 3), card_rate_bp=1000)
        assert (result.total, result.final_price, result.discount) == (3, 1100, 0)

    def test_storno_line(self) -> None:
        result = calculate_line(line(MILK, 2000, storno=True), card_rate_bp=1000)
        assert (result.total, result.discount, result.vat_amount, result.marks) == (0, 0, 0, "c")
        assert result.amount == 20000  # what it was, for display

    def test_marks_in_order(self) -> None:
        snapshot = dataclasses.replace(VODKA, no_discount=True)
        result = calculate_line(line(snapshot, 2000, 9600, price_changed=True, quantity_changed=True))
        assert result.marks == "#Ap+"
        result = calculate_line(line(VODKA, 1000, 15000, price_changed=True, manual_discount_bp=1000))
        # 150.00 − 10 % = 135.00 >= 95.00: not clamped, manual
        assert (result.total, result.marks) == (13500, "Aps")

    def test_fixed_total_line(self) -> None:
        # a return line carries the sold total and its discount share verbatim, whatever the card:
        # 1 of 3 pieces that cost 90.00 after a 10.00 discount -> 30.00 back, of which 3.33 discount
        result = calculate_line(line(item(price=3333), 1000, fixed_total=3000, fixed_discount=333), card_rate_bp=5000)
        assert (result.amount, result.discount, result.total, result.vat_amount) == (3333, 333, 3000, 273)
        bare = calculate_line(line(item(price=3333), 1000, fixed_total=3000))
        assert (bare.amount, bare.discount, bare.total) == (3000, 0, 3000)


class TestCalculate:
    def test_empty(self) -> None:
        assert calculate([]) == Calculation(lines=(), amount=0, discount=0, total=0, vat_totals=())

    def test_card_manual_no_discount_and_storno_together(self) -> None:
        lines = [
            line(MILK, 2000, manual_discount_bp=500),  # 200.00, card 10 % > manual 5 %: 180.00
            line(MILK, 1000, manual_discount_bp=1500),  # 100.00, manual 15 % > card: 85.00
            line(TOBACCO, 1000),  # 180.00, no discount: 180.00
            line(VODKA, 1000),  # 100.00, min 95.00: 95.00 '$'
            line(MILK, 5000, storno=True),  # 500.00 cancelled: not counted at all
        ]
        calc = calculate(lines, card_rate_bp=1000)
        assert [r.total for r in calc.lines] == [18000, 8500, 18000, 9500, 0]
        assert [r.discount for r in calc.lines] == [2000, 1500, 0, 500, 0]
        assert [r.marks for r in calc.lines] == ["", "s", "#", "$A", "c"]
        assert calc.amount == 20000 + 10000 + 18000 + 10000  # 580.00, the storno line left out
        assert calc.discount == 2000 + 1500 + 500  # 40.00
        assert calc.total == 54000  # 580.00 − 40.00
        # VAT 10 %: 180.00 + 85.00 = 265.00 × 10/110 = 24.0909 -> 24.09
        # VAT 20 %: 180.00 + 95.00 = 275.00 × 20/120 = 45.8333 -> 45.83
        assert calc.vat_totals == (VatTotal(VatRate.VAT10, 26500, 2409), VatTotal(VatRate.VAT20, 27500, 4583))

    def test_vat_per_rate_rounded_once(self) -> None:
        cheap = ItemSnapshot(code="5", name="Спички", price=10, vat=VatRate.VAT20)
        lines = [
            line(item(price=12000, vat=VatRate.VAT20)),  # 120.00 at 20 %: VAT 20.00
            line(cheap),  # 0.10 at 20 %: VAT 0.0167 -> 0.02 on the line
            line(cheap),  # 0.10 at 20 %: VAT 0.02 on the line
            line(item(price=11000)),  # 110.00 at 10 %: VAT 10.00
            line(item(price=5000, vat=VatRate.NONE)),  # 50.00 without VAT
            line(item(price=700, vat=VatRate.VAT0)),  # 7.00 at 0 %
        ]
        calc = calculate(lines)
        assert [r.vat_amount for r in calc.lines] == [2000, 2, 2, 1000, 0, 0]
        # per rate, in VatRate order: 20 % of 120.20 = 120.20 × 20/120 = 20.0333 -> 20.03 (not 20.04)
        assert calc.vat_totals == (
            VatTotal(VatRate.NONE, 5000, 0),
            VatTotal(VatRate.VAT0, 700, 0),
            VatTotal(VatRate.VAT10, 11000, 1000),
            VatTotal(VatRate.VAT20, 12020, 2003),
        )
        assert calc.total == 12000 + 10 + 10 + 11000 + 5000 + 700

    @pytest.mark.parametrize(
        ("rate", "vat"),
        [
            (VatRate.VAT5, 476),  # 100.00 × 5/105 = 4.7619
            (VatRate.VAT7, 654),  # 100.00 × 7/107 = 6.5421
            (VatRate.VAT22, 1803),  # 100.00 × 22/122 = 18.0328
        ],
    )
    def test_vat_of_new_rates(self, rate: VatRate, vat: int) -> None:
        calc = calculate([line(item(vat=rate))])
        assert calc.vat_totals == (VatTotal(rate, 10000, vat),)

    def test_only_storno_lines(self) -> None:
        calc = calculate([line(MILK, storno=True)], card_rate_bp=1000)
        assert (calc.amount, calc.discount, calc.total, calc.vat_totals) == (0, 0, 0, ())

    def test_accepts_a_tuple(self) -> None:
        assert calculate((line(MILK),)).total == 10000


# --- settle and refund -------------------------------------------------------------------------


class TestSettle:
    def test_exact_cash(self) -> None:
        assert settle(10000, 10000, 0) == Payment(cash=10000, card=0, cash_given=10000, change=0)

    def test_change(self) -> None:
        # 97.50 paid with a 100.00 note: 2.50 change
        assert settle(9750, 10000, 0) == Payment(cash=9750, card=0, cash_given=10000, change=250)

    def test_card_only(self) -> None:
        assert settle(10000, 0, 10000) == Payment(cash=0, card=10000, cash_given=0, change=0)

    def test_card_and_cash_mixed(self) -> None:
        # 100.00: 60.00 by card, 40.00 due in cash, a 50.00 note given: 10.00 change
        assert settle(10000, 5000, 6000) == Payment(cash=4000, card=6000, cash_given=5000, change=1000)

    def test_card_above_total_refused(self) -> None:
        error = refused(settle, 10000, 0, 10001)
        assert (error.code, error.field) == ("card_exceeds_total", "card")
        assert "100.01" in error.message_en and "100.00" in error.message_en

    def test_too_little_cash(self) -> None:
        error = refused(settle, 10000, 9999, 0)
        assert (error.code, error.field) == ("insufficient_payment", "cash")
        assert error.details == {"missing": "0.01"}

    def test_too_little_cash_with_card(self) -> None:
        # 100.00, 30.00 by card: 70.00 due in cash, 65.50 given: 4.50 short
        error = refused(settle, 10000, 6550, 3000)
        assert (error.code, error.field, error.details) == ("insufficient_payment", "cash", {"missing": "4.50"})

    @pytest.mark.parametrize("total", [0, -1])
    def test_empty_receipt_refused(self, total: int) -> None:
        with pytest.raises(Conflict) as info:
            settle(total, 10000, 0)
        assert (info.value.code, info.value.field, info.value.kind) == ("empty_receipt", "lines", "conflict")

    @pytest.mark.parametrize("cash", [-1, MAX_MONEY + 1])
    def test_bad_cash_amount(self, cash: int) -> None:
        assert (refused(settle, 10000, cash, 0).field, refused(settle, 10000, cash, 0).code) == ("cash", "bad_amount")

    def test_negative_card(self) -> None:
        error = refused(settle, 10000, 20000, -1)
        assert (error.code, error.field) == ("bad_amount", "card")


class TestRefund:
    def test_cash(self) -> None:
        assert refund(10000, 0) == Payment(cash=10000, card=0, cash_given=10000, change=0)

    def test_mixed(self) -> None:
        assert refund(10000, 4000) == Payment(cash=6000, card=4000, cash_given=6000, change=0)

    def test_card_only(self) -> None:
        assert refund(10000, 10000) == Payment(cash=0, card=10000, cash_given=0, change=0)

    @pytest.mark.parametrize("card", [-1, 10001])
    def test_card_out_of_range(self, card: int) -> None:
        error = refused(refund, 10000, card)
        assert (error.code, error.field) == ("bad_amount", "card")

    def test_empty(self) -> None:
        with pytest.raises(Conflict) as info:
            refund(0, 0)
        assert info.value.code == "empty_receipt"


# --- returns -----------------------------------------------------------------------------------


class TestReturns:
    def test_piece_by_piece(self) -> None:
        # 3 pcs sold for 100.00 in all: 33.33, then 66.67 − 33.33 = 33.34, then 100.00 − 66.67 = 33.33
        assert return_total(10000, 3000, 0, 1000) == 3333
        assert return_total(10000, 3000, 1000, 1000) == 3334
        assert return_total(10000, 3000, 2000, 1000) == 3333

    def test_two_then_one(self) -> None:
        # 2 of 3: 66.666 -> 66.67; the last one: 100.00 − 66.67 = 33.33
        assert return_total(10000, 3000, 0, 2000) == 6667
        assert return_total(10000, 3000, 2000, 1000) == 3333

    def test_whole_line_at_once(self) -> None:
        assert return_total(10000, 3000, 0, 3000) == 10000
        assert return_total(9000, 3000, 0, 3000) == 9000

    def test_weighed(self) -> None:
        # 0.333 kg sold for 41.11 returned in thirds: 13.70, 27.41 − 13.70 = 13.71, 41.11 − 27.41 = 13.70
        parts = [return_total(4111, 333, 0, 111), return_total(4111, 333, 111, 111), return_total(4111, 333, 222, 111)]
        assert parts == [1370, 1371, 1370]
        assert sum(parts) == 4111

    def test_validate_return_quantity(self) -> None:
        assert validate_return_quantity(MILK, 3000, 1000, 2000) == 2000  # the rest
        assert validate_return_quantity(CHEESE, 333, 111, 222) == 222

    def test_more_than_left_refused(self) -> None:
        error = refused(validate_return_quantity, MILK, 3000, 1000, 3000)
        assert (error.code, error.field) == ("return_exceeds_sold", "quantity")
        assert "3.000" in error.message_en and "2.000 left" in error.message_en

    def test_nothing_left(self) -> None:
        error = refused(validate_return_quantity, MILK, 3000, 3000, 1000)
        assert error.code == "return_exceeds_sold"
        assert "0.000 left" in error.message_en

    def test_quantity_rules_apply(self) -> None:
        assert refused(validate_return_quantity, MILK, 3000, 0, 0).code == "bad_quantity"
        assert refused(validate_return_quantity, MILK, 3000, 0, 1500).code == "fractional_quantity"
        assert refused(validate_return_quantity, MILK, 3000, 0, 4000, "q").field == "q"

    def test_return_receipt_calculation(self) -> None:
        # the second of 3 pieces sold for 100.00 in all: 66.67 − 33.33 = 33.34 back, and with no
        # discount share its amount equals its total whatever the card says
        calc = calculate([line(item(price=3333), 1000, fixed_total=return_total(10000, 3000, 1000, 1000))], 1000)
        assert (calc.total, calc.amount, calc.discount) == (3334, 3334, 0)


# --- the numbers docs/admin/rounding.md shows ---------------------------------------------------


class TestRoundingDocExamples:
    def test_rule_0_half_away_from_zero(self) -> None:
        # 0.505 ₽ = 50.5 kop -> 51 kop; −0.505 ₽ -> −0.51 ₽
        assert div_half_up(505, 10) == 51
        assert div_half_up(-505, 10) == -51

    def test_rule_1_line_amount(self) -> None:
        # 0.333 kg × 123.45 ₽ = 41.10885 ₽ -> 41.11 ₽
        assert calculate_line(line(CHEESE, 333)).total == 4111
        # 0.005 kg × 101.00 ₽ = 0.505 ₽ -> 0.51 ₽ (an exact half goes up)
        assert calculate_line(line(item(price=10100, weighed=True), 5)).total == 51

    def test_rule_2_larger_rate_no_stacking(self) -> None:
        # 100.00 ₽, manual 5 %, card 10 % -> 10 % -> 90.00 ₽ (not 85.00, not 85.50)
        assert calculate([line(MILK, 1000, manual_discount_bp=500)], card_rate_bp=1000).total == 9000

    def test_rule_2_no_discount(self) -> None:
        # tobacco 180.00 ₽ with a 10 % card stays 180.00 ₽
        assert calculate([line(TOBACCO)], card_rate_bp=1000).total == 18000

    def test_rule_2_min_price(self) -> None:
        # 100.00 ₽ with min 95.00 ₽ and a 10 % card -> 95.00 ₽, mark '$'
        result = calculate([line(VODKA)], card_rate_bp=1000).lines[0]
        assert (result.total, "$" in result.marks) == (9500, True)

    def test_rule_3_unit_price(self) -> None:
        # 3 × 33.33 = 99.99; 10 % = 10.00; 89.99 / 3 = 29.9967 -> 30.00; 3 × 30.00 = 90.00; discount 9.99
        result = calculate([line(item(price=3333), 3000)], card_rate_bp=1000)
        assert (result.lines[0].final_price, result.total, result.discount) == (3000, 9000, 999)

    def test_rule_4_total_is_sum_of_lines(self) -> None:
        # 90.00 + 180.00 + 95.00 = 365.00
        calc = calculate([line(item(price=3333), 3000), line(TOBACCO), line(VODKA)], card_rate_bp=1000)
        assert calc.total == 36500

    def test_rule_5_vat(self) -> None:
        # 120.00 ₽ at 20 %: 20.00 ₽; two 0.10 ₽ lines at 20 %: 0.02 each on the line, 0.03 for the rate
        assert calculate([line(item(price=12000, vat=VatRate.VAT20))]).vat_totals[0].vat == 2000
        cheap = ItemSnapshot(code="5", name="Спички", price=10, vat=VatRate.VAT20)
        calc = calculate([line(cheap), line(cheap)])
        assert [r.vat_amount for r in calc.lines] == [2, 2]
        assert calc.vat_totals == (VatTotal(VatRate.VAT20, 20, 3),)

    def test_rule_6_returns(self) -> None:
        # 3 pcs for 100.00 ₽ returned one by one: 33.33 + 33.34 + 33.33 = 100.00
        assert [return_total(10000, 3000, done, 1000) for done in (0, 1000, 2000)] == [3333, 3334, 3333]
