"""The evaluator and the bridge, command by command, with the numbers worked out in comments."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from icecash.core.promo import (
    PromotionSet,
    calculate_with_promotions,
    evaluate,
    parse_promotion,
    targets_place,
)
from icecash.core.receipt import ReceiptKind, calculate

from .helpers import (
    BEER,
    BEER2,
    BREAD,
    CHEESE,
    GIFT,
    GOODS_LISTS,
    ICE,
    MILK,
    NOON,
    TOBACCO,
    VODKA,
    YOGURT,
    context,
    facts,
    line,
    promo,
)


def run(promotions, receipt, ctx=None):
    promotions = promotions if isinstance(promotions, (list, tuple)) else [promotions]
    return calculate_with_promotions(receipt, PromotionSet(promotions, GOODS_LISTS), ctx or context())


# --- filters ---------------------------------------------------------------------------------


class TestFilters:
    def test_code_in_matches_code_or_group(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (1001,20)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(MILK), line(BREAD), line(BEER), line(ICE)))
        assert [x.discount for x in r.calculation.lines] == [1000, 0, 1200, 0]

    def test_code_in_not(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} NOT (10)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(MILK), line(BREAD), line(BEER), line(ICE)))
        assert [x.discount for x in r.calculation.lines] == [0, 0, 1200, 800]

    def test_code_in_goods_lists(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} GROUPS (beer3,icecream)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(MILK), line(BEER2), line(ICE)))
        assert [x.discount for x in r.calculation.lines] == [0, 1500, 800]

    def test_star_matches_everything_fix(self) -> None:
        # The original looked '*' up in the catalogue and crashed: here it is every line.
        p = promo("", "DO_POS_CODE_IN {all} (*)\nDO_GROUP_DISCOUNT {all} (A,10)")
        r = run(p, facts(line(MILK), line(BEER)))
        assert [x.discount for x in r.calculation.lines] == [1000, 1200]

    def test_ancestor_groups(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (DAIRY)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(MILK), line(BEER), line_groups=(("10", "DAIRY"), ())))
        assert [x.discount for x in r.calculation.lines] == [1000, 0]

    def test_filters_narrow(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (10,20)\nDO_POS_PROPERTY {b} (price?>=?100)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(MILK), line(BREAD), line(BEER)))
        assert [x.discount for x in r.calculation.lines] == [1000, 0, 1200]

    def test_property_filter_in_then_more_conditions_fix(self) -> None:
        # The original stopped at an `in` condition: "price?>=?140" would be ignored and both
        # beers discounted. Every condition counts here.
        p = promo("", "DO_POS_PROPERTY {b} (code?in?2001|2002, price?>=?140)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(BEER), line(BEER2), line(MILK)))
        assert [x.discount for x in r.calculation.lines] == [0, 1500, 0]

    def test_property_filter_fields(self) -> None:
        p = promo("", "DO_POS_PROPERTY {w} (weighed?=?1, quantity?>=?0.5, litres?=?0)\nDO_GROUP_DISCOUNT {w} (A,10)")
        r = run(p, facts(line(CHEESE, 500), line(CHEESE, 400), line(MILK)))
        # 0.5 kg × 800.00 = 400.00, 10 % = 40.00
        assert [x.discount for x in r.calculation.lines] == [4000, 0, 0]

    def test_line_props(self) -> None:
        p = promo("", "DO_POS_PROPERTY {b} (prop.colour?=?red, prop.size?>?2)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(MILK), line(BREAD), line(BEER),
                         line_properties=({"colour": "red", "size": "3"}, {"colour": "red", "size": "2"}, {})))  # fmt: skip
        assert [x.discount for x in r.calculation.lines] == [1000, 0, 0]

    def test_storno_lines_take_no_part(self) -> None:
        p = promo("IF_GROUP_PROPERTY {b} (count?>=?2)", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(BEER), line(BEER2, storno=True)))
        assert r.calculation.discount == 0 and r.evaluation.applied == ()


# --- conditions ------------------------------------------------------------------------------


class TestConditions:
    @pytest.mark.parametrize(
        ("condition", "holds"),
        [("summa?>=?1000", False), ("summa?>=?250", True), ("card?=?", True), ("card?<>?", False),
         ("lines?=?2", True), ("quantity?=?3", True), ("weekday?=?5", True), ("time?>=?12:00", True),
         ("time?<?12:00", False), ("type?=?0", True), ("place?in?1|7", True), ("kassa?=?2", True),
         ("sets.temperature?>?25", True), ("sets.temperature?in?26|27", True), ("prop.segment?=?vip", True),
         ("prop.missing?=?x", False), ("card_rate?=?0", True), ("summa?>?1, summa?<?2", False)],
    )  # fmt: skip
    def test_head(self, condition: str, holds: bool) -> None:
        # 2 × 100.00 + 50.00 = 250.00, on Friday the 20th at noon, place 7, kassa 2
        p = promo(f"IF_HEAD_PROPERTY ({condition})", "DO_SET_HEAD_DISCOUNT (A,10)")
        r = run(p, facts(line(MILK, 2000), line(BREAD), place="7", kassa="2", properties={"segment": "vip"}))
        assert (r.calculation.discount > 0) is holds

    def test_several_head_lines_are_anded(self) -> None:
        p = promo("IF_HEAD_PROPERTY (summa?>=?100)\nIF_HEAD_PROPERTY (lines?>?5)", "DO_SET_HEAD_DISCOUNT (A,10)")
        assert run(p, facts(line(MILK, 2000))).calculation.discount == 0

    @pytest.mark.parametrize(
        ("condition", "holds"),
        [("quantity?>=?3", True), ("quantity?>=?3.5", False), ("sum?=?390", True), ("count?=?2", True),
         ("mean_price?=?135", True), ("litres?=?1.5", True), ("discount?=?0", True), ("bonus?=?0", True)],
    )  # fmt: skip
    def test_group_aggregates(self, condition: str, holds: bool) -> None:
        # beer 2 × 120.00 + dark beer 1 × 150.00: qty 3, sum 390.00, 2 lines, mean price
        # (120 + 150) / 2 = 135.00, litres 3 × 0.5 = 1.5
        p = promo(f"IF_GROUP_PROPERTY {{b}} ({condition})", "DO_POS_CODE_IN {b} GROUPS (beer3)\nDO_GROUP_DISCOUNT {b} (A,10)")
        r = run(p, facts(line(BEER, 2000), line(BEER2), line(MILK)))
        assert (r.calculation.discount > 0) is holds

    def test_aggregates_without_filters_group_fix(self) -> None:
        # The original needed DO_FILTERS_GROUP before IF_GROUP_PROPERTY could see anything.
        p = promo("IF_GROUP_PROPERTY {b} (quantity?>=?2)", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_DISCOUNT {b} (A,10)")
        assert run(p, facts(line(BEER, 2000))).calculation.discount == 2400  # 10 % of 2 × 120.00

    def test_place_is_the_servers_business(self) -> None:
        p = promo("IF_PLACE_IN (3)", "DO_SET_HEAD_DISCOUNT (A,10)")
        receipt = facts(line(MILK), place="7")
        assert run(p, receipt).calculation.discount == 1000  # the till trusts the server's choice
        assert run(p, receipt, context(check_places=True)).calculation.discount == 0  # the simulator checks

    @pytest.mark.parametrize(
        ("text", "place", "yes"),
        [("IF_PLACE_IN (1,7)", "7", True), ("IF_PLACE_IN (1,7)", "2", False), ("IF_PLACE_IN NOT (1,7)", "2", True),
         ("IF_PLACE_IN GROUPS (north)", "2", True), ("IF_PLACE_IN GROUPS (north,south)", "3", True),
         ("IF_PLACE_IN NOT GROUPS (north)", "1", False), ("IF_PLACE_IN GROUPS (north)\nIF_PLACE_IN NOT (2)", "2", False),
         ("IF_HEAD_PROPERTY (summa?>?0)", "9", True)],
    )  # fmt: skip
    def test_targets_place(self, text: str, place: str, yes: bool) -> None:
        # FIX: the original's server-side place filter read keys it never set and crashed.
        p = promo(text, "DO_DENY_BONUS_CARD")
        assert targets_place(p, place, {"north": [1, 2], "south": ["3"]}) is yes


# --- effects ---------------------------------------------------------------------------------


class TestEffects:
    def test_group_discount_reason(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_DISCOUNT {b} (BEER,15)", id="42", name="Пивной вечер")
        r = run(p, facts(line(BEER), line(MILK)))
        # 120.00 × 15 % = 18.00 → 102.00 (min price 90.00 allows it)
        assert r.calculation.lines[0].total == 10200 and r.calculation.lines[0].promo
        (reason,) = r.reasons[0]
        assert (reason.promotion_id, reason.promotion_name) == ("42", "Пивной вечер")
        assert reason.text_ru == "Акция «Пивной вечер»: скидка 15% (BEER)"
        assert reason.text_en == "Promotion 'Пивной вечер': 15% off (BEER)"
        assert r.reasons[1] == ()

    def test_discount_respects_max_discount_and_min_price(self) -> None:
        p = promo("", "DO_POS_CODE_IN {all} (*)\nDO_GROUP_DISCOUNT {all} (A,50)")
        r = run(p, facts(line(MILK), line(BEER), line(VODKA), line(TOBACCO)))
        milk, beer, vodka, tobacco = r.calculation.lines
        assert milk.discount == 2000  # max discount 20 %
        assert beer.discount == 3000 and beer.final_price == 9000  # 30 % max = 36.00, min price 90.00 → 30.00
        assert vodka.discount == 5000 and vodka.final_price == 45000  # 20 % = 100.00, min price 450.00 → 50.00
        assert tobacco.discount == 0 and r.reasons[3] == ()  # no discount, ever
        assert "ограничена" in r.reasons[0][0].text_ru and "limited" in r.reasons[0][0].text_en

    def test_discount_does_not_stack_with_the_card(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (10)\nDO_GROUP_DISCOUNT {b} (A,5)")
        r = run(p, facts(line(MILK), line(BREAD, manual_discount_bp=1000), card_rate_bp=300))
        # milk: card 3 % vs promo 5 % → 5.00; bread: manual 10 % vs promo 5 % → 5.00 manual, no promo reason
        assert [x.discount for x in r.calculation.lines] == [500, 500]
        assert [x.promo for x in r.calculation.lines] == [True, False]
        assert r.reasons[1] == () and "s" in r.calculation.lines[1].marks

    def test_largest_promotion_wins(self) -> None:
        a = promo("", "DO_POS_CODE_IN {b} (10)\nDO_GROUP_DISCOUNT {b} (A,5)", id="a", name="A")
        b = promo("", "DO_POS_CODE_IN {b} (1001)\nDO_GROUP_DISCOUNT {b} (B,7)", id="b", name="B")
        c = promo("", "DO_POS_CODE_IN {b} (1001)\nDO_GROUP_DISCOUNT {b} (C,7)", id="c", name="C")
        r = run([a, b, c], facts(line(MILK)))
        assert r.calculation.lines[0].discount == 700 and r.reasons[0][0].promotion_id == "b"  # ties: the earlier

    def test_head_discount(self) -> None:
        p = promo("", "DO_SET_HEAD_DISCOUNT (DCF,0.10)")
        r = run(p, facts(line(MILK), line(TOBACCO)))
        assert [x.discount for x in r.calculation.lines] == [1000, 0]

    def test_temperature_rate_and_missing_variable(self) -> None:
        p = promo("", "DO_POS_CODE_IN {i} GROUPS (icecream)\nDO_GROUP_DISCOUNT {i} (HOT,sets.temperature)")
        assert run(p, facts(line(ICE))).calculation.lines[0].discount == 2160  # 27 % of 80.00
        r = run(p, facts(line(ICE)), context(variables={}))
        assert r.calculation.discount == 0
        (problem,) = r.problems
        assert "sets.temperature" in problem.message_ru and "skipped" in problem.message_en
        r = run(p, facts(line(ICE)), context(variables={"temperature": "жарко"}))
        assert r.calculation.discount == 0 and "не процент" in r.problems[0].message_ru
        r = run(p, facts(line(ICE)), context(variables={"temperature": "-5"}))
        assert r.calculation.discount == 0 and r.problems

    def test_group_bonus_needs_a_bonus_card(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (10)\nDO_GROUP_BONUS {b} (5,default)")
        r = run(p, facts(line(MILK), line(BEER)))
        assert r.evaluation.lines[0].bonus_bp == 0
        r = run(p, facts(line(MILK), line(BEER), line(TOBACCO), bonus_card="7770001"))
        assert [x.bonus_bp for x in r.evaluation.lines] == [500, 0, 0]
        assert r.reasons[0][0].text_en == "Promotion 'Тест': bonus 5%"

    def test_head_bonus_and_otherwise(self) -> None:
        p = promo("IF_HEAD_PROPERTY (summa?>=?200)", "DO_SET_HEAD_BONUS (7,2)")
        assert run(p, facts(line(MILK, 2000))).evaluation.head_bonus_bp == 700
        r = run(p, facts(line(MILK)))
        assert r.evaluation.head_bonus_bp == 200 and "not in force" in r.receipt_reasons[0].text_en
        keep = promo("IF_HEAD_PROPERTY (summa?>=?200)", "DO_SET_HEAD_BONUS (7,keep)")
        assert run(keep, facts(line(MILK))).evaluation.head_bonus_bp is None

    def test_addpos(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=2,count=1) [discount=100]")
        r = run(p, facts(line(BEER, 3000), line(BEER2, 2000)))
        (added,) = r.added
        assert (added.item, added.quantity, added.discount) == (GIFT, 2000, 24000)  # 5 // 2 = 2 gifts
        gift = r.calculation.lines[2]
        assert (gift.total, gift.discount, gift.promo) == (0, 24000, True)
        assert r.reasons[2][0].text_ru.startswith("Акция «Тест»: добавлено 2.000 × «Пиво светлое (подарок)»")

    def test_addpos_refuses_alcohol_and_unknown_items(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=3001,gcount=1,count=1)")
        r = run(p, facts(line(BEER)))
        assert r.added == () and "алкоголь" in r.problems[0].message_ru
        q = promo("", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_DISCOUNT {b} (A,10)\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=404,gcount=1,count=1)")
        r = run(q, facts(line(BEER)))
        # the whole promotion is skipped, not half-applied
        assert r.added == () and r.calculation.discount == 0 and "404" in r.problems[0].message_en

    def test_summa_addpos(self) -> None:
        p = promo("", "DO_SUMMA_ADDPOS_PROPORCIONAL (code=9001,summa=100,count=1) [price=0.01]")
        r = run(p, facts(line(MILK, 2000), line(BREAD)))
        # 250.00 // 100.00 = 2 gifts at 0.01 each: 240.00 − 0.02 = 239.98 off, max discount 100 %
        (added,) = r.added
        assert (added.quantity, added.discount) == (2000, 23998)
        assert r.calculation.lines[2].total == 2

    def test_divpos(self) -> None:
        p = promo("", "DO_POS_CODE_IN {y} (7001)\nDO_GROUP_DIVPOS {y} (code=7004,count=4) [discount=10]")
        r = run(p, facts(line(YOGURT, 3000), line(MILK), line(YOGURT, 3000)))
        # 6 yoghurts → one pack line of 4 (10 % off) and 2 without
        assert [(a.item.code, a.quantity, a.discount) for a in r.added] == [("7004", 4000, 1600), ("7004", 2000, 0)]
        lines = r.calculation.lines
        assert (lines[0].total, lines[2].total) == (0, 0) and lines[1].total == 10000
        assert "re-packed" in r.reasons[0][0].text_en
        assert r.calculation.total == 10000 + 14400 + 8000

    def test_divpos_never_loses_goods(self) -> None:
        # 1.5 kg of weighed cheese cannot become a piece item: the whole promotion is skipped,
        # the cheese stays on the receipt.
        p = promo("", "DO_POS_CODE_IN {c} (6001)\nDO_GROUP_DIVPOS {c} (code=7004,count=1)")
        r = run(p, facts(line(CHEESE, 1500)))
        assert r.added == () and r.calculation.total == 120000
        assert "поштучно" in r.problems[0].message_ru and "by the piece" in r.problems[0].message_en

    def test_set_property(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_SET_PROPERTY {b} [price=99.90]")
        r = run(p, facts(line(BEER, 2000), line(BEER2)))
        # beer: 2 × (120.00 − 99.90) = 40.20 off (30 % max = 72.00; min price 90.00 fine)
        # dark beer: 150.00 − 99.90 = 50.10 > 30 % = 45.00 → 45.00
        assert [x.discount for x in r.calculation.lines] == [4020, 4500]
        assert "цена 99.90 ₽" in r.reasons[0][0].text_ru

    def test_set_property_no_discount_beats_the_card(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_SET_PROPERTY {b} [no_discount=1]")
        other = promo("", "DO_POS_CODE_IN {b} (20)\nDO_GROUP_DISCOUNT {b} (A,10)", id="p2")
        r = run([p, other], facts(line(BEER), line(MILK), card_rate_bp=1000))
        assert [x.discount for x in r.calculation.lines] == [0, 1000]
        assert r.reasons[0][0].text_en == "Promotion 'Тест': no discount"

    def test_delete(self) -> None:
        p = promo("IF_HEAD_PROPERTY (time?>=?23:00)", "DO_POS_CODE_IN {a} (30)\nDO_GROUP_DELETE {a}")
        receipt = facts(line(VODKA), line(MILK), moment=datetime(2026, 11, 20, 23, 30))
        r = run(p, receipt)
        assert r.calculation.total == 10000 and "taken off" in r.reasons[0][0].text_en
        assert run(p, facts(line(VODKA), line(MILK))).calculation.total == 60000

    def test_denies_and_prize(self) -> None:
        p = promo("", "DO_DENY_DISCOUNT_CARD\nDO_DENY_BONUS_CARD\nDO_DENY_BONUS_DISCOUNT\nDO_PRIZE_GEN (lottery)")
        r = run(p, facts(line(MILK), card_rate_bp=1000))
        e = r.evaluation
        assert r.calculation.discount == 0 and r.card_rate_bp == 0
        assert e.deny_discount_card and e.deny_bonus_card and e.deny_bonus_discount and e.prize_system == "lottery"
        assert len(r.receipt_reasons) == 4

    def test_after_calc_sees_the_total(self) -> None:
        # BEFORE: 10 % on milk (300.00 → 270.00); AFTER: total ≥ 280.00? no → nothing.
        before = promo("", "DO_POS_CODE_IN {m} (1001)\nDO_GROUP_DISCOUNT {m} (A,10)", id="b")
        after = promo("SET AFTER_CALC TRUE\nIF_HEAD_PROPERTY (total?>=?280)", "DO_PRIZE_GEN (x)", id="a")
        r = run([before, after], facts(line(MILK, 3000)))
        assert r.calculation.total == 27000 and r.evaluation.prize_system is None
        assert run([after], facts(line(MILK, 3000))).evaluation.prize_system == "x"
        group = promo("SET AFTER_CALC TRUE\nIF_GROUP_PROPERTY {m} (discount?>=?30)", "DO_POS_CODE_IN {m} (1001)\nDO_PRIZE_GEN (y)", id="g")
        assert run([before, group], facts(line(MILK, 3000))).evaluation.prize_system == "y"

    def test_disabled_promotion(self) -> None:
        p = promo("SET BEFORE_CALC FALSE", "DO_SET_HEAD_DISCOUNT (A,10)")
        assert run(p, facts(line(MILK))).calculation.discount == 0


# --- schedule, returns, robustness -------------------------------------------------------------


class TestScheduleAndSafety:
    @pytest.mark.parametrize(
        ("schedule", "moment", "active"),
        [({"date_from": "2026-11-20", "date_to": "2026-11-20"}, NOON, True),
         ({"date_from": "2026-11-21"}, NOON, False), ({"date_to": "2026-11-19"}, NOON, False),
         ({"weekdays": "1111011"}, NOON, False), ({"weekdays": "0000100"}, NOON, True),
         ({"time_from": "10:00", "time_to": "12:00"}, NOON, True), ({"time_from": "12:01"}, NOON, False),
         ({"time_from": "22:00", "time_to": "02:00"}, datetime(2026, 11, 20, 1, 30), True),
         ({"time_from": "22:00", "time_to": "02:00"}, NOON, False), ({"time_to": "11:59"}, NOON, False),
         ({"time_from": "00:00:00", "time_to": "23:59:59"}, datetime(2026, 11, 20, 23, 59, 59, 900_000), True)],
    )  # fmt: skip
    def test_schedule_at_the_receipts_moment(self, schedule: dict, moment: datetime, active: bool) -> None:
        p = promo("", "DO_SET_HEAD_DISCOUNT (A,10)", **schedule)
        assert (run(p, facts(line(MILK), moment=moment)).calculation.discount > 0) is active

    def test_returns_take_no_promotions(self) -> None:
        p = promo("", "DO_SET_HEAD_DISCOUNT (A,10)")
        r = run(p, facts(line(MILK, fixed_total=9000, fixed_discount=1000), kind=ReceiptKind.RETURN))
        assert r.calculation.total == 9000 and r.evaluation.applied == ()

    def test_unknown_goods_list_is_skipped_and_reported(self) -> None:
        p = parse_promotion("x", "Без списка", "", "DO_POS_CODE_IN {b} GROUPS (wine)\nDO_GROUP_DISCOUNT {b} (A,10)")
        ok = promo("", "DO_SET_HEAD_DISCOUNT (A,5)", id="ok")
        r = run([p, ok], facts(line(MILK)))
        assert r.calculation.discount == 500
        assert [x.promotion_id for x in r.problems] == ["x"] and "wine" in r.problems[0].message_en

    def test_an_internal_error_is_contained(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (10)\nDO_GROUP_DISCOUNT {b} (A,10)")
        broken = dataclasses.replace(p, id="bad", effects=(dataclasses.replace(p.effects[0], rate=None),))
        bad_lookup = context(lookup=lambda code: 1 / 0)
        q = promo("", "DO_POS_CODE_IN {b} (10)\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=1,count=1)", id="q")
        ok = promo("", "DO_SET_HEAD_DISCOUNT (A,5)", id="ok")
        r = run([broken, q, ok], facts(line(MILK)), bad_lookup)
        assert r.calculation.discount == 500
        assert [x.promotion_id for x in r.problems] == ["bad", "q"]
        assert "AttributeError" in r.problems[0].message_en and "ZeroDivisionError" in r.problems[1].message_en

    def test_feeding_promo_fields_back_changes_nothing(self) -> None:
        p = promo("IF_HEAD_PROPERTY (summa?>=?100)", "DO_SET_HEAD_DISCOUNT (A,10)")
        receipt = facts(line(MILK), line(BREAD))
        first = run(p, receipt)
        again = run(p, dataclasses.replace(receipt, lines=first.lines[:2]))
        assert again.calculation == first.calculation and again.reasons == first.reasons

    def test_plain_list_of_promotions_and_no_context(self) -> None:
        p = promo("", "DO_SET_HEAD_DISCOUNT (A,10)")
        assert evaluate(facts(line(MILK)), [p]).lines[0].discount == 1000
        assert calculate_with_promotions(facts(line(MILK)), []).calculation == calculate([line(MILK)])

    def test_the_last_guard(self) -> None:
        # Input the evaluator cannot read (a line's groups that are not a tuple): no promotions,
        # one problem, and the receipt still calculates.
        p = promo("", "DO_SET_HEAD_DISCOUNT (A,10)")
        r = run(p, facts(line(MILK), line_groups=(5,)))
        assert r.calculation == calculate([line(MILK)])
        (problem,) = r.problems
        assert "TypeError" in problem.message_en and problem.message_ru.startswith("Акции не применены")


def test_promotion_set_from_server_rows() -> None:
    from icecash.core.promo import promotion_set_from_rows

    rows = [
        {"id": 1, "name": "10%", "date_from": "2026-11-01", "date_to": None, "time_from": "00:00:00", "time_to": "23:59:59",
         "weekdays": "1111111", "active": True, "places": "", "if_text": "IF_HEAD_PROPERTY (summa?>=?100)",
         "then_text": "DO_SET_HEAD_DISCOUNT (DCF,0.10)"},
        {"id": 2, "name": "Сломанная", "if_text": "IF_HEAD_PROPERTY (summa?>=?)", "then_text": ""},
        {"id": 3, "name": "Выключена", "active": False, "if_text": "", "then_text": "DO_SET_HEAD_DISCOUNT (A,50)"},
    ]
    promotions, problems = promotion_set_from_rows(rows, GOODS_LISTS)
    assert [p.id for p in promotions.promotions] == ["1"]
    (problem,) = problems
    assert problem.promotion_id == "2" and "if, line 1, column 28: missing value" in problem.message_en
    assert run(list(promotions.promotions), facts(line(MILK))).calculation.discount == 1000


def test_every_field_the_parser_accepts_has_a_value_in_the_evaluator() -> None:
    """A field the language accepts but the evaluator cannot read would skip the promotion at the till."""
    from icecash.core.promo import evaluator, parser

    assert set(evaluator._LINE_VALUES) == set(parser.LINE_FIELDS)
    assert set(evaluator._HEAD_VALUES) == set(parser.HEAD_FIELDS)
    assert set(evaluator._GROUP_VALUES) == set(parser.GROUP_FIELDS)
