"""From an evaluation to the receipt calculation: the lines ``receipt.calculate`` needs, and the reasons.

The till calls :func:`calculate_with_promotions` where it called ``receipt.calculate``: the
cashier's lines go in (as stored: no promotion-added lines), the calculation of those lines plus
the added ones comes out, with the reasons to show per line. Totals follow the rounding rule of
``receipt.py`` / ``docs/admin/rounding.md`` unchanged: a promotion only supplies a candidate
discount in kopecks per line (``LineInput.promo_discount``), and the line's final price and total
are derived exactly as for a card discount, so the till's total is still the registrar's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..receipt import Calculation, LineInput, calculate
from .evaluator import (
    AddedLine,
    Evaluation,
    Problem,
    PromoContext,
    PromotionSet,
    Reason,
    ReceiptFacts,
    evaluate,
)
from .model import Promotion, PromoSyntaxError
from .parser import parse_promotion


def apply_evaluation(lines: Sequence[LineInput], card_rate_bp: int, evaluation: Evaluation) -> tuple[list[LineInput], int]:
    """The lines for ``receipt.calculate`` (the given ones, then the added ones) and the card rate to use.

    Any ``promo_*`` values already on the given lines are replaced, so feeding a result back in
    changes nothing. A removed line is calculated as storno (it counts for nothing); a line set
    "no discount" gets its item marked so; a denied discount card makes the card rate 0.
    """
    out: list[LineInput] = []
    for line, effect in zip(lines, evaluation.lines):
        if line.fixed_total is not None:
            out.append(line)
            continue
        if effect.removed is not None:
            line = replace(line, storno=True, promo_discount=0, promo_rate_bp=0)
        elif effect.no_discount is not None:
            line = replace(line, item=replace(line.item, no_discount=True), promo_discount=0, promo_rate_bp=0)
        elif effect.discount or line.promo_discount or line.promo_rate_bp:
            line = replace(line, promo_discount=effect.discount, promo_rate_bp=effect.rate_bp)
        out.append(line)
    for added in evaluation.added:
        out.append(LineInput(item=added.item, quantity=added.quantity, price=added.price,
                             promo_discount=added.discount, promo_rate_bp=added.rate_bp))  # fmt: skip
    return out, 0 if evaluation.deny_discount_card is not None else card_rate_bp


@dataclass(frozen=True)
class PromoCalculation:
    """A receipt calculated with its promotions.

    ``lines`` / ``calculation.lines`` / ``reasons``: one entry per calculated line — first the
    given lines in order, then ``added`` (the promotion-added lines, ``lines[len(given):]``).
    ``reasons``: what to show beside each line (only effects that actually changed it: a card
    discount larger than the promotion's leaves no promotion reason). ``receipt_reasons``: effects
    on the whole receipt (card denied, bonus rate, prize draw). ``problems``: promotions skipped.
    """

    calculation: Calculation
    lines: tuple[LineInput, ...]
    added: tuple[AddedLine, ...]
    reasons: tuple[tuple[Reason, ...], ...]
    receipt_reasons: tuple[Reason, ...]
    card_rate_bp: int
    evaluation: Evaluation

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.evaluation.problems


def calculate_with_promotions(
    facts: ReceiptFacts,
    promotions: PromotionSet | Iterable[Promotion],
    context: PromoContext | None = None,
) -> PromoCalculation:
    """Evaluate the promotions on the receipt and calculate it; never raises for a promotion's sake."""
    evaluation = evaluate(facts, promotions, context)
    lines, card_rate = apply_evaluation(facts.lines, facts.card_rate_bp, evaluation)
    calc = calculate(lines, card_rate)
    reasons: list[tuple[Reason, ...]] = []
    for effect, result in zip(evaluation.lines, calc.lines):
        shown: list[Reason] = []
        if effect.removed is not None:
            shown.append(effect.removed)
        if effect.no_discount is not None:
            shown.append(effect.no_discount)
        if result.promo and effect.discount_reason is not None:
            shown.append(effect.discount_reason)
        if effect.bonus_reason is not None:
            shown.append(effect.bonus_reason)
        reasons.append(tuple(shown))
    for added in evaluation.added:
        reasons.append((added.reason,))
    receipt_reasons = tuple(r for r in (evaluation.deny_discount_card, evaluation.deny_bonus_card,
                                        evaluation.deny_bonus_discount, evaluation.head_bonus_reason,
                                        evaluation.prize_reason) if r is not None)  # fmt: skip
    return PromoCalculation(calc, tuple(lines), evaluation.added, tuple(reasons), receipt_reasons, card_rate, evaluation)


def promotion_set_from_rows(
    rows: Iterable[Mapping[str, Any]], goods_lists: Mapping[str, Collection[str]] | None = None
) -> tuple[PromotionSet, tuple[Problem, ...]]:
    """The till's promotion set from what the server sends (``{id, name, if_text, then_text, date_from,
    date_to, time_from, time_to, weekdays, active}`` per promotion, and the goods lists).

    A promotion that does not parse (the server should have refused it; an older server may not
    have) is left out and reported; one with ``active`` false is left out silently.
    """
    parsed: list[Promotion] = []
    problems: list[Problem] = []
    for row in rows:
        if not row.get("active", True):
            continue
        name = str(row.get("name") or "")
        try:
            parsed.append(parse_promotion(
                str(row.get("id", "")), name, row.get("if_text") or "", row.get("then_text") or "",
                date_from=row.get("date_from"), date_to=row.get("date_to"), time_from=row.get("time_from"),
                time_to=row.get("time_to"), weekdays=row.get("weekdays"),
            ))  # fmt: skip
        except PromoSyntaxError as error:
            problems.append(Problem(str(row.get("id", "")), name, f"Акция «{name}» не загружена: {error.message_ru}",
                                    f"Promotion '{name}' not loaded: {error.message_en}"))  # fmt: skip
    return PromotionSet(parsed, goods_lists), tuple(problems)
