"""The receipt's promotion fields (``LineInput.promo_discount`` / ``promo_rate_bp``, ``LineResult.promo``).

A promotion's discount competes with the manual and card discounts: the largest applies, they do
not stack, and it goes through the same min-price cut and price rounding (rules 2–3 of
``docs/admin/rounding.md``).
"""

from __future__ import annotations

from icecash.core.receipt import ItemSnapshot, LineInput, LineResult, calculate, calculate_line

MILK = ItemSnapshot(code="1001", name="Молоко", price=10000, max_discount_bp=2000)
VODKA = ItemSnapshot(code="3003", name="Водка", price=10000, min_price=9500, max_discount_bp=1000, alcohol=True)
TOBACCO = ItemSnapshot(code="4004", name="Сигареты", price=18000, no_discount=True)


def line(item=MILK, quantity=1000, **changes) -> LineInput:
    return LineInput(item=item, quantity=quantity, price=item.price, **changes)


def test_defaults_change_nothing() -> None:
    assert calculate_line(line()) == LineResult(10000, 0, 0, 10000, 10000, 0, "")
    assert calculate_line(line(), 1000).promo is False


def test_promotion_discount_applies() -> None:
    result = calculate_line(line(promo_discount=1500, promo_rate_bp=1500))
    assert result == LineResult(10000, 1500, 1500, 8500, 8500, 0, "", True)


def test_larger_card_wins_and_they_do_not_stack() -> None:
    result = calculate_line(line(promo_discount=500, promo_rate_bp=500), card_rate_bp=1000)
    assert (result.discount, result.discount_bp, result.promo) == (1000, 1000, False)
    result = calculate_line(line(promo_discount=1500, promo_rate_bp=1500, manual_discount_bp=1000))
    assert (result.discount, result.promo, result.marks) == (1500, True, "")  # not marked manual


def test_equal_discounts_keep_the_card() -> None:
    result = calculate_line(line(promo_discount=1000, promo_rate_bp=1000), card_rate_bp=1000)
    assert result.promo is False and result.discount == 1000


def test_promotion_price_has_no_rate() -> None:
    # 3 × 100.00 at a promotion price of 89.90: 30.30 off
    result = calculate_line(line(quantity=3000, promo_discount=3030))
    assert (result.discount_bp, result.discount, result.total, result.final_price, result.promo) == (0, 3030, 26970, 8990, True)


def test_min_price_still_cuts() -> None:
    result = calculate_line(line(VODKA, promo_discount=2000, promo_rate_bp=2000))
    assert (result.total, result.final_price, result.marks, result.promo) == (9500, 9500, "$A", True)


def test_no_discount_item_ignores_it() -> None:
    result = calculate_line(line(TOBACCO, promo_discount=1000))
    assert (result.discount, result.promo) == (0, False)


def test_rounding_rule_three() -> None:
    # 3 × 33.33 = 99.99, promotion wants 10.00 off: 89.99 / 3 = 29.9967 → 30.00, total 90.00, shown 9.99
    item = ItemSnapshot(code="5", name="x", price=3333, max_discount_bp=1000)
    result = calculate_line(LineInput(item, 3000, 3333, promo_discount=1000, promo_rate_bp=1000))
    assert (result.final_price, result.total, result.discount) == (3000, 9000, 999)


def test_totals() -> None:
    calc = calculate([line(promo_discount=1000, promo_rate_bp=1000), line(TOBACCO), line(storno=True, promo_discount=500)])
    assert (calc.amount, calc.discount, calc.total) == (28000, 1000, 27000)
