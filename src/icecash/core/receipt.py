"""Receipt arithmetic: lines, discounts, VAT, payment and returns, in kopecks and thousandths.

The rounding rule (also in ``docs/admin/rounding.md``):

1. A line's amount is ``price × quantity`` rounded half-up to the kopeck.
2. A line's discount rate is the larger of its manual rate and the receipt's card rate (they do
   not stack); a line marked "no discount" gets none. The discount is that rate of the amount,
   rounded half-up; a promotion's discount (``promo_discount``, kopecks, see ``core.promo``)
   replaces it when larger (again no stacking). It is cut so the discounted amount stays at or above ``min_price ×
   quantity`` (rounded up): the final unit price is then never below ``min_price``.
3. A discounted line is sent to the fiscal registrar as a unit price and a quantity. Its final
   unit price is ``(amount − discount) / quantity`` rounded half-up, and its total is
   ``final price × quantity`` rounded half-up — the very sum the registrar computes itself. The
   discount shown is ``amount − total``.
4. The receipt total is the sum of the line totals, so it equals the registrar's total.
5. VAT is included in prices: per line ``total × rate / (100 + rate)`` rounded half-up, and per
   rate from the sum of that rate's line totals, rounded once (what the registrar prints).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from .errors import Conflict, InvalidInput
from .money import (
    FULL_RATE,
    MAX_MONEY,
    MAX_QUANTITY,
    QTY_SCALE,
    div_ceil,
    div_half_up,
    format_money,
    format_quantity,
    format_quantity_short,
    format_rate,
    line_amount,
    rate_of,
)
from .vat import VatRate, vat_included


class ReceiptKind(str, Enum):
    SALE = "sale"
    RETURN = "return"


@dataclass(frozen=True)
class ItemSnapshot:
    """The catalogue row as it was when the line was added: later price changes don't touch it."""

    code: str
    name: str
    price: int
    min_price: int = 0
    max_price: int = 0  # 0: no upper limit
    max_discount_bp: int = 0  # the highest manual discount, in basis points
    weighed: bool = False
    department: int = 1
    vat: VatRate = VatRate.NONE
    alcohol: bool = False
    litres_ml: int = 0
    barcode: str = ""
    group_code: str | None = None
    no_discount: bool = False


MAX_LINE_NAME = 256  # what a receipt line's name holds (till table receipt_lines)


def _pack_size_text(coefficient: int, weighed: bool) -> str:
    """'6 шт', '0,5 кг': how much of the base unit a pack holds, as a line name says it."""
    return f"{format_quantity_short(coefficient).replace('.', ',')} {'кг' if weighed else 'шт'}"


def _pack_name(item: ItemSnapshot, coefficient: int, own_name: str) -> str:
    """What a pack's line is called: the barcode's own name when it names the item, else the item's
    name followed by the bare label (``6 шт``, ``акция``) or by the pack size."""
    own_name = own_name.strip()
    words = item.name.split()
    if own_name and (not words or words[0].strip(",.;:").casefold() in own_name.casefold()):
        return own_name
    suffix = own_name or (_pack_size_text(coefficient, item.weighed) if coefficient != QTY_SCALE else "")
    return f"{item.name}, {suffix}"[:MAX_LINE_NAME] if suffix else item.name


def pack_of(item: ItemSnapshot, coefficient: int, *, own_price: int = 0, name: str = "", barcode: str = "") -> ItemSnapshot:
    """The snapshot of what an extra barcode sells: ``coefficient`` thousandths of ``item`` (0 reads as 1).

    The line then describes the unit actually sold, so its price limits, discount floor and
    promotions' litres hold for the whole pack (six bottles at min 30.00 never go below 180.00):

    - price: ``own_price`` when it has one, else coefficient × base price, rounded half-up;
    - min price: coefficient × base min, rounded up (a floor is never undercut by rounding), but not
      above the pack's own price: the price a barcode sells at is always a valid price for it;
    - max price: 0 stays "no limit"; else coefficient × base max, rounded down, but not below the
      pack's own price;
    - litres: scaled by the coefficient, rounded half-up; a pack of a weighed good (coefficient ≠ 1)
      is sold by the piece;
    - name: the barcode's own name when it names the item ("Вода питьевая 1,5 л, упаковка 6 шт"), else
      the item's name and the bare label or the pack size ("Вода питьевая 1,5 л, 6 шт");
    - barcode: the extra barcode.
    """
    k = coefficient if coefficient > 0 else QTY_SCALE
    price = own_price if own_price > 0 else div_half_up(item.price * k, QTY_SCALE)
    min_price = div_ceil(item.min_price * k, QTY_SCALE)
    if price > 0:
        min_price = min(min_price, price)
    max_price = 0 if not item.max_price else max(item.max_price * k // QTY_SCALE, price, 1)
    return replace(
        item,
        name=_pack_name(item, k, name),
        price=price,
        min_price=min_price,
        max_price=max_price,
        weighed=item.weighed and k == QTY_SCALE,
        litres_ml=div_half_up(item.litres_ml * k, QTY_SCALE),
        barcode=barcode or item.barcode,
    )


@dataclass(frozen=True)
class LineInput:
    """What the cashier did to a line; everything else about it is computed."""

    item: ItemSnapshot
    quantity: int
    price: int
    storno: bool = False
    manual_discount_bp: int = 0
    price_changed: bool = False
    quantity_changed: bool = False
    fixed_total: int | None = None  # return lines: the total taken from the sold line, verbatim
    fixed_discount: int = 0  # return lines: their share of the sold line's discount
    promo_discount: int = 0  # a promotion's discount in kopecks, within min price and max discount (core.promo)
    promo_rate_bp: int = 0  # the rate that discount came from (0: a promotion price)


@dataclass(frozen=True)
class LineResult:
    amount: int  # price × quantity
    discount_bp: int  # the rate that applied
    discount: int  # amount − total
    total: int  # what the fiscal registrar computes for this line
    final_price: int  # the unit price sent to the registrar
    vat_amount: int
    marks: str
    promo: bool = False  # the promotion's discount is the one that applied


@dataclass(frozen=True)
class VatTotal:
    rate: VatRate
    total: int
    vat: int


@dataclass(frozen=True)
class Calculation:
    lines: tuple[LineResult, ...]
    amount: int  # before discounts
    discount: int
    total: int
    vat_totals: tuple[VatTotal, ...] = field(default=())


# --- validation of what a cashier enters -------------------------------------------------------


def _money_text(kopecks: int) -> str:
    return format_money(kopecks)


def validate_quantity(item: ItemSnapshot, quantity: int, field_name: str = "quantity") -> int:
    """A positive quantity, whole for piece goods, within what a till can hold."""
    if quantity <= 0:
        raise InvalidInput(
            "bad_quantity",
            f"Количество должно быть больше нуля, получено {format_quantity(quantity)}",
            f"Quantity must be above zero, got {format_quantity(quantity)}",
            field=field_name,
        )
    if quantity > MAX_QUANTITY:
        raise InvalidInput(
            "bad_quantity",
            f"Количество {format_quantity(quantity)} слишком велико (не более {format_quantity(MAX_QUANTITY)})",
            f"Quantity {format_quantity(quantity)} is too large (at most {format_quantity(MAX_QUANTITY)})",
            field=field_name,
        )
    if not item.weighed and quantity % QTY_SCALE:
        raise InvalidInput(
            "fractional_quantity",
            f"«{item.name}» продаётся поштучно: дробное количество {format_quantity(quantity)} недопустимо",
            f"'{item.name}' is sold by the piece: fractional quantity {format_quantity(quantity)} is not allowed",
            field=field_name,
        )
    return quantity


def validate_scale_label(item: ItemSnapshot, field_name: str = "barcode") -> ItemSnapshot:
    """Only a weighed good is sold from a scale label: a label's weight is never a count of pieces.

    Even a whole-kilogram label (1.000) on a piece good is refused, not sold as one piece: the
    scale was set up for another item, or the label is a misprint.
    """
    if not item.weighed:
        raise InvalidInput(
            "scale_piece_good",
            f"«{item.name}» продаётся поштучно: весовая этикетка для него не принимается",
            f"'{item.name}' is sold by the piece: a scale label cannot sell it",
            field=field_name,
        )
    return item


def validate_price(item: ItemSnapshot, price: int, field_name: str = "price") -> int:
    """A price above zero and within the item's [min_price, max_price] (max 0: no upper limit)."""
    if price <= 0 or price > MAX_MONEY:
        raise InvalidInput(
            "bad_price",
            f"Цена {_money_text(price)} недопустима",
            f"Price {_money_text(price)} is not allowed",
            field=field_name,
        )
    if price < item.min_price:
        raise InvalidInput(
            "price_below_min",
            f"Цена {_money_text(price)} ниже минимальной {_money_text(item.min_price)} для «{item.name}»",
            f"Price {_money_text(price)} is below the minimum {_money_text(item.min_price)} for '{item.name}'",
            field=field_name,
        )
    if item.max_price and price > item.max_price:
        raise InvalidInput(
            "price_above_max",
            f"Цена {_money_text(price)} выше максимальной {_money_text(item.max_price)} для «{item.name}»",
            f"Price {_money_text(price)} is above the maximum {_money_text(item.max_price)} for '{item.name}'",
            field=field_name,
        )
    return price


def validate_manual_discount(line: LineInput, rate_bp: int, field_name: str = "percent") -> int:
    """A manual rate the item allows: within its max discount, never below its min price."""
    if rate_bp < 0 or rate_bp > FULL_RATE:
        raise InvalidInput(
            "bad_discount",
            f"Скидка {format_rate(rate_bp)}% вне диапазона 0–100%",
            f"Discount {format_rate(rate_bp)}% is outside 0–100%",
            field=field_name,
        )
    if rate_bp == 0:
        return 0
    item = line.item
    if item.no_discount:
        raise InvalidInput(
            "no_discount_item",
            f"На «{item.name}» скидка не предоставляется",
            f"'{item.name}' takes no discount",
            field=field_name,
        )
    if rate_bp > item.max_discount_bp:
        raise InvalidInput(
            "discount_above_max",
            f"Скидка {format_rate(rate_bp)}% больше допустимой {format_rate(item.max_discount_bp)}% для «{item.name}»",
            f"Discount {format_rate(rate_bp)}% exceeds the maximum {format_rate(item.max_discount_bp)}% for '{item.name}'",
            field=field_name,
        )
    amount = line_amount(line.price, line.quantity)
    floor = div_ceil(item.min_price * line.quantity, QTY_SCALE)
    if amount - rate_of(amount, rate_bp) < floor:
        raise InvalidInput(
            "discount_below_min_price",
            f"Со скидкой {format_rate(rate_bp)}% цена «{item.name}» станет ниже минимальной {_money_text(item.min_price)}",
            f"A {format_rate(rate_bp)}% discount would take '{item.name}' below its minimum price {_money_text(item.min_price)}",
            field=field_name,
        )
    return rate_bp


def validate_card_rate(rate_bp: int, field_name: str = "percent") -> int:
    if rate_bp < 0 or rate_bp > FULL_RATE:
        raise InvalidInput(
            "bad_discount",
            f"Скидка карты {format_rate(rate_bp)}% вне диапазона 0–100%",
            f"Card discount {format_rate(rate_bp)}% is outside 0–100%",
            field=field_name,
        )
    return rate_bp


# --- calculation -------------------------------------------------------------------------------


def _marks(line: LineInput, manual: bool, clamped: bool) -> str:
    marks = ""
    if line.item.no_discount:
        marks += "#"
    if clamped:
        marks += "$"
    if line.item.alcohol:
        marks += "A"
    if line.price_changed:
        marks += "p"
    if manual:
        marks += "s"
    if line.quantity_changed:
        marks += "+"
    if line.storno:
        marks += "c"
    return marks


def calculate_line(line: LineInput, card_rate_bp: int = 0) -> LineResult:
    """One line by the rounding rule in this module's docstring."""
    item = line.item
    amount = line_amount(line.price, line.quantity)
    if line.storno:
        return LineResult(amount, 0, 0, 0, line.price, 0, _marks(line, False, False))
    if line.fixed_total is not None:
        total, discount = line.fixed_total, line.fixed_discount
        return LineResult(
            total + discount, 0, discount, total, line.price, vat_included(total, item.vat), _marks(line, False, False)
        )
    rate = 0 if item.no_discount else max(line.manual_discount_bp, card_rate_bp)
    promo = 0 if item.no_discount else line.promo_discount
    if rate == 0 and promo <= 0:
        return LineResult(amount, 0, 0, amount, line.price, vat_included(amount, item.vat), _marks(line, False, False))
    wanted = rate_of(amount, rate)
    by_promo = promo > wanted  # the larger discount applies; they do not stack
    if by_promo:
        wanted, rate = promo, line.promo_rate_bp
    manual = not by_promo and rate > 0 and rate == line.manual_discount_bp
    floor = div_ceil(item.min_price * line.quantity, QTY_SCALE)
    allowed = max(0, amount - floor)
    clamped = wanted > allowed
    granted = min(wanted, allowed)
    discounted = amount - granted
    if granted == 0:
        # Nothing comes off: the price stays as entered. Re-deriving it from a sub-kopeck amount
        # (1 g of a cheap weighed good) could give any price, even one below ``min_price``.
        final_price = line.price
    else:
        final_price = min(line.price, div_half_up(discounted * QTY_SCALE, line.quantity))
    total = line_amount(final_price, line.quantity)
    return LineResult(
        amount,
        rate,
        amount - total,
        total,
        final_price,
        vat_included(total, item.vat),
        _marks(line, manual, clamped),
        by_promo and total < amount,
    )


def calculate(lines: list[LineInput] | tuple[LineInput, ...], card_rate_bp: int = 0) -> Calculation:
    """Every line, the receipt totals and the VAT per rate."""
    results = tuple(calculate_line(line, card_rate_bp) for line in lines)
    per_rate: dict[VatRate, int] = {}
    amount = discount = total = 0
    for line, result in zip(lines, results):
        if line.storno:
            continue
        amount += result.amount
        discount += result.discount
        total += result.total
        per_rate[line.item.vat] = per_rate.get(line.item.vat, 0) + result.total
    vat_totals = tuple(
        VatTotal(rate, rate_total, vat_included(rate_total, rate))
        for rate, rate_total in sorted(per_rate.items(), key=lambda kv: list(VatRate).index(kv[0]))
    )
    return Calculation(results, amount, discount, total, vat_totals)


# --- payment -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """How a receipt was settled: cash kept, card charged, cash handed in and change given."""

    cash: int
    card: int
    cash_given: int
    change: int


def settle(total: int, cash_given: int, card: int) -> Payment:
    """Payment of a sale: card never above the total, cash covering the rest, change from cash only."""
    if total <= 0:
        raise Conflict("empty_receipt", "Чек пуст: нечего оплачивать", "The receipt is empty: nothing to pay", field="lines")
    if cash_given < 0 or cash_given > MAX_MONEY:
        raise InvalidInput(
            "bad_amount", f"Сумма наличных {_money_text(cash_given)} недопустима",
            f"Cash amount {_money_text(cash_given)} is not allowed", field="cash",
        )
    if card < 0:
        raise InvalidInput(
            "bad_amount", f"Сумма по карте {_money_text(card)} недопустима",
            f"Card amount {_money_text(card)} is not allowed", field="card",
        )
    if card > total:
        raise InvalidInput(
            "card_exceeds_total",
            f"Оплата картой {_money_text(card)} больше суммы чека {_money_text(total)}",
            f"Card payment {_money_text(card)} exceeds the receipt total {_money_text(total)}",
            field="card",
        )
    due_in_cash = total - card
    if cash_given < due_in_cash:
        missing = due_in_cash - cash_given
        raise InvalidInput(
            "insufficient_payment",
            f"Недостаточно средств: не хватает {_money_text(missing)} (к оплате {_money_text(total)})",
            f"Not enough paid: {_money_text(missing)} short of {_money_text(total)}",
            field="cash",
            missing=format_money(missing),
        )
    return Payment(cash=due_in_cash, card=card, cash_given=cash_given, change=cash_given - due_in_cash)


def refund(total: int, card: int) -> Payment:
    """Money given back for a return: to the card up to the total, the rest in cash, no change."""
    if total <= 0:
        raise Conflict("empty_receipt", "Чек возврата пуст", "The return receipt is empty", field="lines")
    if card < 0 or card > total:
        raise InvalidInput(
            "bad_amount",
            f"Возврат на карту {_money_text(card)} должен быть от 0 до {_money_text(total)}",
            f"Card refund {_money_text(card)} must be between 0 and {_money_text(total)}",
            field="card",
        )
    return Payment(cash=total - card, card=card, cash_given=total - card, change=0)


# --- returns -----------------------------------------------------------------------------------


def return_total(sold_total: int, sold_quantity: int, already_returned: int, quantity: int) -> int:
    """The money for returning ``quantity`` of a sold line, of which ``already_returned`` went back.

    Each return takes the difference of the proportional totals before and after it, so that
    however the line is returned piece by piece the returns add up to exactly what was paid.
    """
    before = div_half_up(sold_total * already_returned, sold_quantity)
    after = div_half_up(sold_total * (already_returned + quantity), sold_quantity)
    return after - before


def validate_return_quantity(
    item: ItemSnapshot, sold_quantity: int, already_returned: int, quantity: int, field_name: str = "quantity"
) -> int:
    """A return never gives back more than was sold and not yet returned."""
    validate_quantity(item, quantity, field_name)
    left = sold_quantity - already_returned
    if quantity > left:
        raise InvalidInput(
            "return_exceeds_sold",
            f"Нельзя вернуть {format_quantity(quantity)} «{item.name}»: доступно к возврату {format_quantity(left)}",
            f"Cannot return {format_quantity(quantity)} of '{item.name}': {format_quantity(left)} left to return",
            field=field_name,
        )
    return quantity
