"""Properties of promotions over generated items, receipts and promotion sets.

Deterministic and idempotent; removing the lines a promotion looks at undoes it; totals stay the
sum of what the registrar computes; no line below its min price; nothing off "no discount" lines;
a promotion's discount within the item's max discount (up to the price rounding of rule 3).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icecash.core.money import FULL_RATE, QTY_SCALE, div_ceil, line_amount, rate_of
from icecash.core.promo import PromoContext, PromotionSet, ReceiptFacts, calculate_with_promotions, parse_promotion
from icecash.core.receipt import ItemSnapshot, LineInput, calculate

PROPS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = [str(1000 + n) for n in range(8)]
GROUPS = ["g1", "g2", "g3"]
MOMENT = datetime(2026, 11, 20, 12, 0)


PRICES = st.one_of(st.integers(1, 20_000), st.integers(1, 10_000_000))
MIN_PRICE_SHARE = st.sampled_from([0, 0, 1, 3, 4])  # quarters of the price


@st.composite
def items(draw, code: str) -> ItemSnapshot:
    price = draw(PRICES)
    return ItemSnapshot(
        code=code,
        name=f"Товар {code}",
        price=price,
        min_price=price * draw(MIN_PRICE_SHARE) // 4,
        max_discount_bp=draw(st.sampled_from([0, 500, 1000, 3000, FULL_RATE])),
        weighed=draw(st.booleans()),
        alcohol=draw(st.booleans()),
        no_discount=draw(st.integers(0, 5)) == 0,
        group_code=draw(st.sampled_from(GROUPS)),
        litres_ml=draw(st.sampled_from([0, 500, 1000])),
    )


@st.composite
def catalogues(draw) -> dict[str, ItemSnapshot]:
    return {code: draw(items(code)) for code in CODES}


@st.composite
def lines_of(draw, catalogue: dict[str, ItemSnapshot]) -> tuple[LineInput, ...]:
    out = []
    for _ in range(draw(st.integers(1, 15))):
        item = catalogue[draw(st.sampled_from(CODES))]
        if item.weighed:
            quantity = draw(st.integers(1, 5000))
        else:
            quantity = draw(st.integers(1, 7)) * QTY_SCALE
        price = draw(st.integers(item.min_price or 1, max(item.min_price, item.price * 2)))
        out.append(LineInput(item, quantity, price, storno=draw(st.integers(0, 9)) == 0,
                             manual_discount_bp=draw(st.sampled_from([0, 0, 0, item.max_discount_bp]))))  # fmt: skip
    return tuple(out)


RATES = st.sampled_from(["5", "10%", "0.15", "50", "100", "sets.temperature"])


@st.composite
def gated_promotions(draw, n: int) -> tuple:
    """Promotions whose effects act only on lines with codes/groups in ``keys``: (promo, keys)."""
    keys = tuple(sorted(set(draw(st.lists(st.sampled_from(CODES + GROUPS), min_size=1, max_size=3)))))
    listed = ",".join(keys)
    effect = draw(st.sampled_from([
        "DO_GROUP_DISCOUNT {{f}} (A,{rate})",
        "DO_GROUP_SET_PROPERTY {{f}} [price={price}]",
        "DO_GROUP_SET_PROPERTY {{f}} [discount={rate}, bonus=3]",
        "DO_GROUP_SET_PROPERTY {{f}} [no_discount=1]",
        "DO_GROUP_BONUS {{f}} ({rate},default)",
        "DO_GROUP_ADDPOS_PROPORCIONAL {{f}} (code={code},gcount={per},count=1) [discount={rate}]",
        "DO_GROUP_DIVPOS {{f}} (code={code},count={per}) [discount={rate}]",
        "DO_GROUP_DELETE {{f}}",
    ]))  # fmt: skip
    effect = effect.format(rate=draw(RATES), price=f"{draw(st.integers(0, 50_000)) / 100:.2f}",
                           code=draw(st.sampled_from(CODES)), per=draw(st.integers(1, 4)))  # fmt: skip
    condition = draw(st.sampled_from(["", "IF_GROUP_PROPERTY {f} (quantity?>=?2)", "IF_HEAD_PROPERTY (summa?>=?100)",
                                      "IF_GROUP_PROPERTY {f} (count?>=?1, sum?>?10)", "SET AFTER_CALC TRUE\nIF_HEAD_PROPERTY (total?>?50)"]))  # fmt: skip
    extra = draw(st.sampled_from(["", "DO_POS_PROPERTY {f} (quantity?>=?1)\n", "DO_POS_PROPERTY {f} (alcohol?=?0)\n"]))
    promo = parse_promotion(f"p{n}", f"Акция {n}", condition, f"DO_POS_CODE_IN {{f}} ({listed})\n{extra}DO_FILTERS_GROUP\n{effect}")
    return promo, keys


HEAD_PROMOS = [
    parse_promotion("h1", "10% от 1000", "IF_HEAD_PROPERTY (summa?>=?1000)", "DO_SET_HEAD_DISCOUNT (DCF,0.10)"),
    parse_promotion("h2", "Вечер", "IF_HEAD_PROPERTY (time?>=?10:00)", "DO_SET_HEAD_BONUS (5,1)\nDO_PRIZE_GEN (x)"),
    parse_promotion("h3", "Подарок за сумму", "", "DO_SUMMA_ADDPOS_PROPORCIONAL (code=1000,summa=500,count=1) [discount=100]"),
]


@st.composite
def scenarios(draw):
    catalogue = draw(catalogues())
    lines = draw(lines_of(catalogue))
    gated = [draw(gated_promotions(n)) for n in range(draw(st.integers(0, 6)))]
    head = draw(st.lists(st.sampled_from(HEAD_PROMOS), max_size=2, unique_by=lambda p: p.id))
    promos = [p for p, _ in gated] + head
    draw(st.randoms()).shuffle(promos)
    context = PromoContext(variables={"temperature": str(draw(st.integers(0, 40)))}, lookup=catalogue.get)
    facts = ReceiptFacts(lines, MOMENT, card_rate_bp=draw(st.sampled_from([0, 0, 300, 1000])), bonus_card="777")
    return facts, promos, gated, context


def check_consistent(facts: ReceiptFacts, result) -> None:
    calc = result.calculation
    assert len(calc.lines) == len(result.lines) == len(result.reasons) == len(facts.lines) + len(result.added)
    counted = [(line, r) for line, r in zip(result.lines, calc.lines) if not line.storno]
    assert calc.total == sum(r.total for _, r in counted)
    assert calc.amount == sum(r.amount for _, r in counted)
    assert calc.amount - calc.discount == calc.total
    for line, r in counted:
        item = line.item
        assert r.total == line_amount(r.final_price, line.quantity)  # what the registrar computes
        assert 0 <= r.discount <= r.amount
        if r.discount:
            assert r.final_price >= item.min_price, "below min price"
        if item.no_discount:
            assert r.discount == 0 and not r.promo
        if r.promo:
            allowed = rate_of(r.amount, item.max_discount_bp)
            assert r.discount <= allowed + div_ceil(line.quantity, 2 * QTY_SCALE) + 1, "above max discount"
    for effect, line in zip(result.evaluation.lines, facts.lines):
        if line.item.no_discount:
            assert effect.discount == 0 and effect.bonus_bp == 0
    for added in result.added:
        assert not added.item.alcohol


@PROPS
@given(scenarios())
def test_deterministic_idempotent_and_consistent(scenario) -> None:
    facts, promos, _, context = scenario
    promotions = PromotionSet(promos)
    first = calculate_with_promotions(facts, promotions, context)
    check_consistent(facts, first)
    assert calculate_with_promotions(facts, promotions, context) == first
    assert calculate_with_promotions(facts, list(promos), context).calculation == first.calculation
    # Recalculating from what was calculated (promotion fields on the lines) changes nothing.
    fed_back = [dataclasses.replace(line, promo_discount=fresh.promo_discount, promo_rate_bp=fresh.promo_rate_bp)
                for line, fresh in zip(facts.lines, first.lines)]  # fmt: skip
    again = calculate_with_promotions(dataclasses.replace(facts, lines=tuple(fed_back)), promotions, context)
    assert again.calculation == first.calculation and again.reasons == first.reasons


@PROPS
@given(scenarios())
def test_removing_the_triggering_lines_undoes_them(scenario) -> None:
    facts, _, gated, context = scenario
    promotions = PromotionSet([p for p, _ in gated])
    keys = {k for _, ks in gated for k in ks}
    kept = tuple(line for line in facts.lines if line.item.code not in keys and line.item.group_code not in keys)
    result = calculate_with_promotions(dataclasses.replace(facts, lines=kept), promotions, context)
    assert result.calculation == calculate(kept, facts.card_rate_bp)
    assert result.added == () and all(r == () for r in result.reasons)
    # and storno instead of removing does the same
    stornoed = tuple(line if line in kept else dataclasses.replace(line, storno=True) for line in facts.lines)
    result = calculate_with_promotions(dataclasses.replace(facts, lines=stornoed), promotions, context)
    assert result.calculation == calculate(stornoed, facts.card_rate_bp) and result.added == ()


@PROPS
@given(scenarios(), st.data())
def test_order_of_lines_does_not_change_the_total(scenario, data) -> None:
    facts, promos, _, context = scenario
    promotions = PromotionSet(promos)
    first = calculate_with_promotions(facts, promotions, context)
    shuffled = list(facts.lines)
    data.draw(st.randoms()).shuffle(shuffled)
    second = calculate_with_promotions(dataclasses.replace(facts, lines=tuple(shuffled)), promotions, context)
    assert second.calculation.total == first.calculation.total
    assert sorted(a.quantity for a in second.added) == sorted(a.quantity for a in first.added)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 10 * 99_999_999_99), st.integers(0, FULL_RATE))
def test_fast_rate_of_is_money_rate_of(amount: int, bp: int) -> None:
    from icecash.core.promo.evaluator import _rate_of

    assert _rate_of(amount, bp) == rate_of(amount, bp)


@given(st.integers(-1_000_000, 1_000_000))
def test_a_rate_is_written_exactly_as_a_short_percent(bp: int) -> None:
    """A reason's «скидка 10.5%»: the basis points as a decimal without trailing zeros, no float rounding."""
    from decimal import Decimal

    from icecash.core.promo.model import Rate

    assert str(Rate(bp)) == format(Decimal(bp) / 100, "f") + "%"
