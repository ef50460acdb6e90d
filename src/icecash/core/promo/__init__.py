"""Promotions ("Акции"): the original IceCash language, parsed, evaluated and bridged to the receipt.

Pure domain code (no I/O). ``docs/promotions.md`` describes every command with an example.

    promo = parse_promotion(1, "10% от 1000 ₽", "IF_HEAD_PROPERTY (summa?>=?1000)", "DO_SET_HEAD_DISCOUNT (DCF,0.10)")
    result = calculate_with_promotions(ReceiptFacts(lines, moment), PromotionSet([promo]), PromoContext(...))
"""

from .bridge import PromoCalculation, apply_evaluation, calculate_with_promotions, promotion_set_from_rows
from .evaluator import (
    AddedLine,
    Evaluation,
    LinePromo,
    Problem,
    PromoContext,
    PromotionSet,
    Reason,
    ReceiptFacts,
    cap_discount,
    evaluate,
    targets_place,
)
from .model import Promotion, PromoSyntaxError, Schedule, Stage
from .parser import check_text, parse_promotion, parse_schedule

__all__ = [
    "AddedLine",
    "Evaluation",
    "LinePromo",
    "Problem",
    "PromoCalculation",
    "PromoContext",
    "PromoSyntaxError",
    "Promotion",
    "PromotionSet",
    "Reason",
    "ReceiptFacts",
    "Schedule",
    "Stage",
    "apply_evaluation",
    "calculate_with_promotions",
    "cap_discount",
    "check_text",
    "evaluate",
    "parse_promotion",
    "parse_schedule",
    "promotion_set_from_rows",
    "targets_place",
]
