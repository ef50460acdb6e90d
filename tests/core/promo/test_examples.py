"""The original's illustrative examples, exactly as ``docs/promotions.md`` shows them.

If a number here changes, the document must change with it.
"""

from __future__ import annotations

from datetime import datetime

from icecash.core.promo import PromoContext, PromotionSet, ReceiptFacts, calculate_with_promotions, parse_promotion
from icecash.core.receipt import ItemSnapshot, LineInput

MOMENT = datetime(2026, 7, 15, 14, 0)
BREAD = ItemSnapshot("1002", "Хлеб", 5000, max_discount_bp=1000)
COFFEE = ItemSnapshot("1101", "Кофе зерновой", 95000, max_discount_bp=1000)
BEER = ItemSnapshot("2001", "Пиво светлое 0,5", 12000, max_discount_bp=1000, litres_ml=500)
GIFT = ItemSnapshot("9001", "Пиво светлое 0,5 (подарок)", 12000, max_discount_bp=10000, litres_ml=500)
ICE = ItemSnapshot("5001", "Пломбир", 8000, max_discount_bp=5000, group_code="50")
CATALOGUE = {i.code: i for i in (BREAD, COFFEE, BEER, GIFT, ICE)}


def receipt(*lines: tuple[ItemSnapshot, int]) -> ReceiptFacts:
    return ReceiptFacts(tuple(LineInput(item, qty * 1000, item.price) for item, qty in lines), MOMENT)


class TestTenPercentOverThousand:
    promo = parse_promotion(
        1, "10% от 1000 ₽",
        "IF_HEAD_PROPERTY (summa?>=?1000)",
        "DO_SET_HEAD_DISCOUNT (DCF,0.10)",
    )  # fmt: skip

    def test_below_the_threshold(self) -> None:
        r = calculate_with_promotions(receipt((COFFEE, 1)), [self.promo])
        assert (r.calculation.total, r.calculation.discount) == (95000, 0)  # 950.00 < 1000.00

    def test_at_the_threshold_and_no_flip_flop(self) -> None:
        # 950.00 + 50.00 = 1000.00 ≥ 1000 → 10 %: 95.00 + 5.00 off, total 900.00. The threshold is
        # on the sum before discounts, so the next recalculation does not drop it again (the
        # original compared the discounted sum and flipped between 1000.00 and 900.00).
        r = calculate_with_promotions(receipt((COFFEE, 1), (BREAD, 1)), [self.promo])
        assert (r.calculation.amount, r.calculation.discount, r.calculation.total) == (100000, 10000, 90000)
        assert r.reasons[0][0].text_ru == "Акция «10% от 1000 ₽»: скидка 10% (DCF)"
        again = calculate_with_promotions(ReceiptFacts(r.lines, MOMENT), [self.promo])
        assert again.calculation == r.calculation

    def test_removing_the_line_undoes_it(self) -> None:
        r = calculate_with_promotions(receipt((COFFEE, 1), (BREAD, 1)), [self.promo])
        assert r.calculation.total == 90000
        storno = ReceiptFacts((r.lines[0], LineInput(BREAD, 1000, 5000, storno=True)), MOMENT)
        r = calculate_with_promotions(storno, [self.promo])
        assert (r.calculation.total, r.calculation.discount) == (95000, 0)


class TestThreeForTwo:
    promo = parse_promotion(
        2, "3 за 2 на пиво",
        "IF_GROUP_PROPERTY {b} (paramf2?>=?3)",
        "DO_POS_CODE_IN {b} GROUPS (beer3)\n"
        "DO_FILTERS_GROUP\n"
        "DO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=3,count=1) [discount=100]",
    )  # fmt: skip
    context = PromoContext(goods_lists={"beer3": ["2001"]}, lookup=CATALOGUE.get)
    promotions = PromotionSet([promo], context.goods_lists)

    def calc(self, *lines):
        return calculate_with_promotions(receipt(*lines), self.promotions, self.context)

    def test_two_beers_no_gift(self) -> None:
        r = self.calc((BEER, 2))
        assert r.added == () and r.calculation.total == 24000

    def test_three_beers_one_gift(self) -> None:
        r = self.calc((BEER, 3), (BREAD, 1))
        (gift,) = r.added
        assert (gift.item.code, gift.quantity) == ("9001", 1000)
        # 3 × 120.00 + 50.00 + the gift 120.00 − 120.00 = 410.00: three beers paid, a fourth free
        assert (r.calculation.amount, r.calculation.discount, r.calculation.total) == (53000, 12000, 41000)
        assert r.reasons[2][0].text_ru == (
            "Акция «3 за 2 на пиво»: добавлено 1.000 × «Пиво светлое 0,5 (подарок)» (1.000 за каждые 3.000), скидка 120.00 ₽"
        )

    def test_seven_beers_two_gifts_and_scanning_one_off(self) -> None:
        r = self.calc((BEER, 7))
        assert r.added[0].quantity == 2000
        r = self.calc((BEER, 5))
        assert r.added[0].quantity == 1000
        assert self.calc((BEER, 2)).added == ()


class TestTemperature:
    promo = parse_promotion(
        3, "Жара: скидка на мороженое = температуре",
        "IF_HEAD_PROPERTY (sets.temperature?>=?25)",
        "DO_POS_CODE_IN {ice} GROUPS (icecream)\n"
        "DO_GROUP_DISCOUNT {ice} (HOT,sets.temperature)",
    )  # fmt: skip

    def calc(self, temperature: str | None):
        variables = {} if temperature is None else {"temperature": temperature}
        context = PromoContext(variables=variables, goods_lists={"icecream": ["50"]})
        return calculate_with_promotions(receipt((ICE, 2), (BREAD, 1)), [self.promo], context)

    def test_cool_day(self) -> None:
        r = self.calc("18")
        assert r.calculation.total == 21000 and r.problems == ()

    def test_hot_day(self) -> None:
        r = self.calc("27")
        # 2 × 80.00 = 160.00, 27 % = 43.20 → 116.80; bread untouched
        assert [x.total for x in r.calculation.lines] == [11680, 5000]
        assert r.reasons[0][0].text_en == "Promotion 'Жара: скидка на мороженое = температуре': 27% off (HOT)"

    def test_scorching_day_is_capped_by_max_discount(self) -> None:
        r = self.calc("55")
        assert r.calculation.lines[0].total == 8000  # max discount 50 %

    def test_no_temperature_yet(self) -> None:
        r = self.calc(None)
        assert r.calculation.total == 21000
        assert r.problems[0].message_ru == (
            "Акция «Жара: скидка на мороженое = температуре» пропущена: переменная sets.temperature не задана"
        )
