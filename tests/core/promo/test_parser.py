"""The promotions parser: every command's parsed form, and errors that name field, line and column."""

from __future__ import annotations

from datetime import date, time

import pytest

from icecash.core.errors import DomainError, InvalidInput
from icecash.core.promo import PromoSyntaxError, Stage, check_text, parse_promotion, parse_schedule
from icecash.core.promo.model import (
    CodeFilter,
    DenyBonusCard,
    DenyBonusDiscount,
    DenyDiscountCard,
    Fields,
    FiltersGroup,
    GroupAddPos,
    GroupBonus,
    GroupCondition,
    GroupDelete,
    GroupDiscount,
    GroupDivPos,
    GroupSetProperty,
    HeadBonus,
    HeadCondition,
    HeadDiscount,
    Kind,
    PlaceCondition,
    PrizeGen,
    PropertyFilter,
    Rate,
    SummaAddPos,
)

from .helpers import promo


def error_of(if_text: str = "", then_text: str = "", **kwargs) -> PromoSyntaxError:
    with pytest.raises(PromoSyntaxError) as info:
        promo(if_text, then_text, **kwargs)
    return info.value


class TestCommands:
    def test_code_filter_plain(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (2001, 2002 ,20)")
        (f,) = p.filters
        assert f == CodeFilter(1, 1, "b", ("2001", "2002", "20"), False, False, False)
        assert f.name == "DO_POS_CODE_IN"

    def test_code_filter_not_groups(self) -> None:
        (f,) = promo("", "DO_POS_CODE_IN {b} NOT GROUPS (beer3,icecream)").filters
        assert (f.negate, f.lists, f.entries) == (True, True, ("beer3", "icecream"))
        (g,) = promo("", "DO_POS_CODE_IN {b} GROUPS NOT (beer3)").filters
        assert (g.negate, g.lists) == (True, True)

    def test_code_filter_star(self) -> None:
        (f,) = promo("", "DO_POS_CODE_IN {all} (*)").filters
        assert f.any and f.entries == ()

    def test_property_filter_typed_values(self) -> None:
        (f,) = promo("", "DO_POS_PROPERTY {b} (price?>=?99.90, quantity?<?2.5, alcohol?=?1, code?in?1|2|3)").filters
        assert isinstance(f, PropertyFilter)
        price, qty, alco, code = f.conditions
        assert (price.field.name, price.field.kind, price.op, price.value) == ("price", Kind.MONEY, ">=", 9990)
        assert (qty.field.name, qty.value) == ("quantity", 2500)
        assert (alco.field.name, alco.value) == ("alcohol", 1)
        assert (code.op, code.value) == ("in", ("1", "2", "3"))

    def test_original_aliases(self) -> None:
        (f,) = promo("", "DO_POS_PROPERTY {b} (paramf1?>?10, paramf2?>?1, paramf3?>?5, p_alco?=?0, p_idgroup?=?20)").filters
        assert [c.field.name for c in f.conditions] == ["price", "quantity", "sum", "alcohol", "group"]
        (g,) = promo("IF_GROUP_PROPERTY {b} (paramf2?>=?3)", "DO_POS_CODE_IN {b} (1)\nDO_FILTERS_GROUP").conditions
        assert g.conditions[0].field.name == "quantity" and g.conditions[0].value == 3000

    def test_filters_group(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (1)\nDO_FILTERS_GROUP")
        assert isinstance(p.filters[1], FiltersGroup)

    def test_head_condition(self) -> None:
        (c,) = promo("IF_HEAD_PROPERTY (summa?>=?1000, card?=?, time?<?18:30, sets.temperature?>?25, prop.vip?=?yes)").conditions
        assert isinstance(c, HeadCondition)
        summa, card, when, temp, vip = c.conditions
        assert summa.value == 100000 and card.value == "" and when.value == 18 * 60 + 30
        assert (temp.field.source, temp.field.key, temp.value) == ("sets", "temperature", "25")
        assert (vip.field.source, vip.field.key) == ("prop", "vip")

    def test_group_condition(self) -> None:
        p = promo("IF_GROUP_PROPERTY {b} (count?>=?2, sum?>?500, mean_price?<?100, litres?>=?1.5)", "DO_POS_CODE_IN {b} (1)")
        (c,) = p.conditions
        assert isinstance(c, GroupCondition) and c.var == "b"
        assert [x.value for x in c.conditions] == [2, 50000, 10000, 1500]

    def test_place_condition(self) -> None:
        (c,) = promo("IF_PLACE_IN NOT GROUPS (north)").conditions
        assert c == PlaceCondition(1, 1, ("north",), True, True)
        (d,) = promo("IF_PLACE_IN (1,7)").conditions
        assert (d.entries, d.negate, d.groups) == (("1", "7"), False, False)

    @pytest.mark.parametrize(
        ("text", "bp"),
        [("10", 1000), ("10%", 1000), ("0.10", 1000), ("0.5", 5000), ("2.5", 250), ("0.5%", 50), ("100", 10000), ("1", 100)],
    )
    def test_rates(self, text: str, bp: int) -> None:
        (e,) = promo("", f"DO_POS_CODE_IN {{b}} (1)\nDO_GROUP_DISCOUNT {{b}} (PROMO,{text})").effects
        assert e == GroupDiscount(2, 1, "b", "PROMO", Rate(bp))

    def test_rate_variable(self) -> None:
        (e,) = promo("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_DISCOUNT {b} (HOT,sets.temperature)").effects
        assert e.rate == Rate(variable="temperature")

    def test_group_bonus(self) -> None:
        (e,) = promo("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_BONUS {b} (5,keep)").effects
        assert e == GroupBonus(2, 1, "b", Rate(500), "keep")

    def test_addpos(self) -> None:
        (e,) = promo("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=3,count=1) [discount_pos=100]").effects
        assert e == GroupAddPos(2, 1, "b", "9001", 3000, 1000, Fields(discount=Rate(10000)))

    def test_summa_addpos(self) -> None:
        (e,) = promo("", "DO_SUMMA_ADDPOS_PROPORCIONAL (code=9001, summa=500, count=1) [price=0.01]").effects
        assert e == SummaAddPos(1, 1, "9001", 50000, 1000, Fields(price=1))

    def test_divpos(self) -> None:
        (e,) = promo("", "DO_POS_CODE_IN {y} (7001)\nDO_GROUP_DIVPOS {y} (code=7004,count=4) [discount=10]").effects
        assert e == GroupDivPos(2, 1, "y", "7004", 4000, Fields(discount=Rate(1000)))

    def test_set_property(self) -> None:
        (e,) = promo("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_SET_PROPERTY {b} [price=99.90, bonus=3, no_discount=0]").effects
        assert e == GroupSetProperty(2, 1, "b", Fields(price=9990, bonus=Rate(300)))

    def test_delete_prize_denies(self) -> None:
        p = promo("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_DELETE {b}\nDO_PRIZE_GEN (lottery)\nDO_DENY_DISCOUNT_CARD\n"
                      "DO_DENY_BONUS_CARD\nDO_DENY_BONUS_DISCOUNT")  # fmt: skip
        assert [type(e) for e in p.effects] == [GroupDelete, PrizeGen, DenyDiscountCard, DenyBonusCard, DenyBonusDiscount]
        assert p.effects[1].system == "lottery"

    def test_head_discount_and_bonus(self) -> None:
        p = promo("", "DO_SET_HEAD_DISCOUNT (DCF,0.10)\nDO_SET_HEAD_BONUS (7,2)\nDO_SET_HEAD_BONUS (3, keep)")
        assert p.effects[0] == HeadDiscount(1, 1, "DCF", Rate(1000))
        assert p.effects[1] == HeadBonus(2, 1, Rate(700), Rate(200))
        assert p.effects[2].otherwise == "keep"

    def test_comments_blank_lines_and_crlf(self) -> None:
        p = promo("# порог\r\n\r\nIF_HEAD_PROPERTY (summa?>=?1000)\r\n", "  # скидка\nDO_SET_HEAD_DISCOUNT (DCF,10)")
        assert p.conditions[0].line == 3 and p.effects[0].line == 2

    @pytest.mark.parametrize(
        ("if_text", "stage"),
        [("", Stage.BEFORE_CALC), ("SET BEFORE_CALC TRUE", Stage.BEFORE_CALC), ("SET AFTER_CALC TRUE", Stage.AFTER_CALC),
         ("SET BEFORE_CALC FALSE\nSET AFTER_CALC TRUE", Stage.AFTER_CALC), ("SET BEFORE_CALC FALSE", None),
         ("SET AFTER_CALC FALSE", Stage.BEFORE_CALC)],
    )  # fmt: skip
    def test_stage(self, if_text: str, stage: Stage | None) -> None:
        assert promo(if_text, "DO_DENY_BONUS_CARD").stage is stage

    def test_schedule(self) -> None:
        p = promo(date_from="2026-06-01", date_to=date(2026, 8, 31), time_from="10:00", time_to=time(14, 0), weekdays="1111100")
        s = p.schedule
        assert (s.date_from, s.date_to, s.time_from, s.time_to, s.weekdays) == (
            date(2026, 6, 1), date(2026, 8, 31), time(10, 0), time(14, 0), "1111100")

    def test_the_texts_are_kept(self) -> None:
        p = promo("IF_HEAD_PROPERTY (summa?>=?1)", "DO_DENY_BONUS_CARD")
        assert (p.if_text, p.then_text, p.id, p.name) == ("IF_HEAD_PROPERTY (summa?>=?1)", "DO_DENY_BONUS_CARD", "p1", "Тест")


class TestErrors:
    def test_is_a_domain_error_with_position(self) -> None:
        error = error_of("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_DISCONT {b} (X,10)")
        assert isinstance(error, InvalidInput) and isinstance(error, DomainError)
        assert (error.field, error.line, error.column, error.code) == ("then", 2, 1, "unknown_command")
        assert "DO_GROUP_DISCOUNT" in error.message_ru and "DO_GROUP_DISCOUNT" in error.message_en
        assert error.message_ru.startswith("then, строка 2, позиция 1:")
        assert error.message_en.startswith("then, line 2, column 1:")
        assert error.as_dict()["details"] == {"line": 2, "column": 1}

    @pytest.mark.parametrize(
        ("if_text", "then_text", "field", "line", "column", "code"),
        [
            ("IF_HEAD_PROPERTY (summa?>=?1000", "", "if", 1, 18, "unclosed_bracket"),
            ("IF_HEAD_PROPERTY (sumа?>=?1000)", "", "if", 1, 19, "unknown_field"),  # a Cyrillic а
            ("IF_HEAD_PROPERTY (summa?=>?1000)", "", "if", 1, 25, "bad_operator"),
            ("IF_HEAD_PROPERTY (summa?>=?много)", "", "if", 1, 28, "bad_value"),
            ("\n  IF_HEAD_PROPERTY (card?=?1, summa>=1000)", "", "if", 2, 31, "bad_condition"),
            ("IF_HEAD_PROPERTY (card?<?1)", "", "if", 1, 24, "bad_operator"),
            ("IF_HEAD_PROPERTY (summa?in?1|)", "", "if", 1, 30, "empty_item"),
            ("IF_HEAD_PROPERTY", "", "if", 1, 17, "expected"),
            ("IF_HEAD_PROPERTY (summa?>?1) extra", "", "if", 1, 30, "extra_token"),
            ("IF_GROUP_PROPERTY {b} (quantity?>=?3)", "", "if", 1, 19, "undefined_filter"),
            ("IF_GROUP_PROPERTY {b} (price?>=?3)", "DO_POS_CODE_IN {b} (1)", "if", 1, 24, "unknown_field"),
            ("SET BEFORE_CALC MAYBE", "", "if", 1, 17, "bad_set"),
            ("SET WHENEVER TRUE", "", "if", 1, 5, "bad_set"),
            ("SET AFTER_CALC TRUE\nSET AFTER_CALC TRUE", "", "if", 2, 1, "duplicate_set"),
            ("DO_SET_HEAD_DISCOUNT (DCF,10)", "", "if", 1, 1, "wrong_text"),
            ("", "IF_HEAD_PROPERTY (summa?>?1)", "then", 1, 1, "wrong_text"),
            ("", "DO_POS_CODE_IN b (1)", "then", 1, 16, "expected"),
            ("", "DO_POS_CODE_IN {b} ()", "then", 1, 20, "empty_list"),
            ("", "DO_POS_CODE_IN {b} (1,,2)", "then", 1, 23, "empty_item"),
            ("", "DO_POS_CODE_IN {b} (*,1)", "then", 1, 20, "bad_list"),
            ("", "DO_POS_CODE_IN {b} GROUPS (beer3,wine)", "then", 1, 34, "unknown_goods_list"),
            ("", "DO_POS_CODE_IN {b} (1(2))", "then", 1, 22, "nested_bracket"),
            ("", "DO_POS_CODE_IN {b} (1))", "then", 1, 23, "stray_bracket"),
            ("", "DO_POS_CODE_IN {b c} (1)", "then", 1, 16, "bad_filter_name"),
            ("", "DO_GROUP_DISCOUNT {x} (A,10)", "then", 1, 19, "undefined_filter"),
            ("", "DO_SET_HEAD_DISCOUNT (DCF,110)", "then", 1, 27, "bad_rate"),
            ("", "DO_SET_HEAD_DISCOUNT (DCF,-5)", "then", 1, 27, "bad_rate"),
            ("", "DO_SET_HEAD_DISCOUNT (DCF)", "then", 1, 22, "bad_arguments"),
            ("", "DO_SET_HEAD_DISCOUNT (DCF,sets.)", "then", 1, 27, "bad_rate"),
            ("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=0,count=1)", "then", 2, 52, "bad_value"),
            ("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,count=1)", "then", 2, 34, "missing_parameter"),
            ("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=3,count=1,x=2)", "then", 2, 62, "unknown_parameter"),
            ("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_SET_PROPERTY {b} [colour=red]", "then", 2, 28, "unknown_parameter"),
            ("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_SET_PROPERTY {b} [price=abc]", "then", 2, 34, "bad_value"),
            ("", "DO_POS_CODE_IN {b} (1)\nDO_GROUP_BONUS {b} (5,sometimes)", "then", 2, 23, "bad_arguments"),
            ("", "DO_DENY_BONUS_CARD now", "then", 1, 20, "extra_token"),
        ],
    )  # fmt: skip
    def test_position(self, if_text: str, then_text: str, field: str, line: int, column: int, code: str) -> None:
        error = error_of(if_text, then_text)
        assert (error.field, error.line, error.column, error.code) == (field, line, column, code), error.message_en

    def test_messages_are_bilingual_and_say_what(self) -> None:
        error = error_of("IF_HEAD_PROPERTY (sum?>=?1000)")
        assert "summa" in error.message_ru and "summa" in error.message_en  # the close match
        assert error.reason_ru.startswith("неизвестное поле заголовка чека «sum»")
        error = error_of("IF_HEAD_PROPERTY (summa?>=?много)")
        assert "сумма в рублях" in error.message_ru and "rubles" in error.message_en

    def test_goods_lists_unknown_when_not_given_are_accepted(self) -> None:
        p = parse_promotion(1, "x", "", "DO_POS_CODE_IN {b} GROUPS (whatever)")
        assert p.filters[0].entries == ("whatever",)

    @pytest.mark.parametrize(
        ("kwargs", "field", "column"),
        [({"weekdays": "11111"}, "weekdays", 6), ({"weekdays": "1111121"}, "weekdays", 6),
         ({"date_from": "2026-13-01"}, "date_from", 1), ({"date_from": "2026-06-02", "date_to": "2026-06-01"}, "date_to", 1),
         ({"time_to": "25:00"}, "time_to", 1), ({"time_from": "noon"}, "time_from", 1)],
    )  # fmt: skip
    def test_schedule_errors(self, kwargs: dict, field: str, column: int) -> None:
        with pytest.raises(PromoSyntaxError) as info:
            parse_schedule(**kwargs)
        assert (info.value.field, info.value.line, info.value.column) == (field, 1, column)

    def test_check_text_lists_every_error(self) -> None:
        errors = check_text("then", "DO_POS_CODE_IN {b} (1\nDO_FOO\nDO_GROUP_DISCOUNT {b} (X,10)\nIF_PLACE_IN (1)")
        assert [(e.line, e.code) for e in errors] == [(1, "unclosed_bracket"), (2, "unknown_command"), (4, "wrong_text")]

    def test_too_long(self) -> None:
        assert error_of("#" * 100_001).code == "text_too_long"
