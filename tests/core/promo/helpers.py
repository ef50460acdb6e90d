"""Shared items and builders for the promotion tests."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from icecash.core.promo import PromoContext, ReceiptFacts, parse_promotion
from icecash.core.receipt import ItemSnapshot, LineInput
from icecash.core.vat import VatRate

NOON = datetime(2026, 11, 20, 12, 0)  # a Friday

MILK = ItemSnapshot("1001", "Молоко", 10000, max_discount_bp=2000, group_code="10", vat=VatRate.VAT10)
BREAD = ItemSnapshot("1002", "Хлеб", 5000, max_discount_bp=5000, group_code="10")
BEER = ItemSnapshot("2001", "Пиво светлое", 12000, min_price=9000, max_discount_bp=3000, group_code="20", litres_ml=500)
BEER2 = ItemSnapshot("2002", "Пиво тёмное", 15000, max_discount_bp=3000, group_code="20", litres_ml=500)
VODKA = ItemSnapshot("3001", "Водка", 50000, min_price=45000, max_discount_bp=2000, group_code="30", alcohol=True, litres_ml=500)
TOBACCO = ItemSnapshot("4001", "Сигареты", 18000, max_discount_bp=2000, group_code="40", no_discount=True)
ICE = ItemSnapshot("5001", "Мороженое", 8000, max_discount_bp=5000, group_code="50")
CHEESE = ItemSnapshot("6001", "Сыр весовой", 80000, max_discount_bp=1000, group_code="10", weighed=True)
GIFT = ItemSnapshot("9001", "Пиво светлое (подарок)", 12000, max_discount_bp=10000, group_code="90")
YOGURT = ItemSnapshot("7001", "Йогурт", 4000, max_discount_bp=2000, group_code="70")
YOGURT4 = ItemSnapshot("7004", "Йогурт ×4 (упаковка)", 4000, max_discount_bp=2000, group_code="70")
CATALOGUE = {i.code: i for i in (MILK, BREAD, BEER, BEER2, VODKA, TOBACCO, ICE, CHEESE, GIFT, YOGURT, YOGURT4)}

GOODS_LISTS = {"beer3": ["2001", "2002"], "icecream": ["5001"], "empty": []}
PLACE_GROUPS = {"north": ["1", "2"], "south": ["3"]}


def context(**changes) -> PromoContext:
    base = PromoContext(variables={"temperature": "27"}, goods_lists=GOODS_LISTS, place_groups=PLACE_GROUPS,
                        lookup=CATALOGUE.get)  # fmt: skip
    return dataclasses.replace(base, **changes)


def line(item: ItemSnapshot, quantity: int = 1000, price: int | None = None, **changes) -> LineInput:
    return LineInput(item=item, quantity=quantity, price=item.price if price is None else price, **changes)


def facts(*lines: LineInput, moment: datetime = NOON, **changes) -> ReceiptFacts:
    return ReceiptFacts(lines=tuple(lines), moment=moment, **changes)


def promo(if_text: str = "", then_text: str = "", id: str = "p1", name: str = "Тест", **schedule):
    return parse_promotion(id, name, if_text, then_text, goods_lists=GOODS_LISTS, place_groups=PLACE_GROUPS, **schedule)
