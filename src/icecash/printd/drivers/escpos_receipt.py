"""A structured receipt document and its ESC/POS rendering for a given printer width.

The print service gets a receipt as data (lines with VAT, cash and card kept apart, cashier,
header, footer, QR) and either fiscalises it on a registrar or prints it with
:func:`render_receipt` on an ESC/POS printer. A non-fiscal receipt says so in its title and never
imitates fiscal data (no FN/FD/FP numbers, no OFD footer: 54-FZ).

Money is integer kopecks and quantities integer thousandths, as everywhere in IceCash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from icecash.core.errors import InvalidInput
from icecash.core.money import (
    format_money,
    format_quantity_short,
    line_amount,
    parse_money,
    parse_quantity,
)
from icecash.core.vat import VatRate, parse_vat, vat_included

from .escpos import PLAIN, EscposEncoder, EscposProfile, Style, get_profile

KINDS = ("sale", "return")


@dataclass(frozen=True)
class ReceiptLine:
    """One position: ``price`` kopecks per unit × ``quantity`` thousandths, less ``discount`` kopecks."""

    name: str
    price: int
    quantity: int = 1000
    vat: VatRate = VatRate.NONE
    discount: int = 0
    department: int = 1

    @property
    def gross(self) -> int:
        return line_amount(self.price, self.quantity)

    @property
    def amount(self) -> int:
        return self.gross - self.discount


@dataclass(frozen=True)
class ReceiptDocument:
    """A receipt to print: ``kind`` sale or return, its lines, and what was paid in cash and by card."""

    lines: tuple[ReceiptLine, ...]
    kind: str = "sale"
    cash: int = 0
    card: int = 0
    header: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    cashier: str = ""
    cashier_inn: str = ""
    number: str = ""
    created_at: datetime | None = None
    qr: str = ""
    title: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.validate()

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def change(self) -> int:
        return max(0, self.cash + self.card - self.total)

    def vat_totals(self) -> list[tuple[VatRate, int, int]]:
        """(rate, amount, VAT in it) per rate in the order of first appearance; VAT rounded once per rate."""
        sums: dict[VatRate, int] = {}
        for line in self.lines:
            sums[line.vat] = sums.get(line.vat, 0) + line.amount
        return [(rate, amount, vat_included(amount, rate)) for rate, amount in sums.items()]

    def validate(self) -> None:
        def bad(code: str, fld: str, ru: str, en: str) -> InvalidInput:
            return InvalidInput(code, ru, en, field=fld)

        if self.kind not in KINDS:
            raise bad("bad_receipt_kind", "kind", f"Вид чека {self.kind!r}: sale или return",
                      f"Receipt kind {self.kind!r}: sale or return")
        if not self.lines:
            raise bad("empty_receipt", "lines", "В чеке нет позиций", "The receipt has no lines")
        for i, line in enumerate(self.lines):
            where = f"lines[{i}]"
            if not line.name.strip():
                raise bad("bad_line_name", f"{where}.name", "Пустое наименование", "Empty item name")
            if line.price < 0:
                raise bad("bad_price", f"{where}.price", "Цена не может быть отрицательной", "The price cannot be negative")
            if line.quantity <= 0:
                raise bad("bad_quantity", f"{where}.quantity", "Количество должно быть больше нуля",
                          "The quantity must be above zero")
            if not 0 <= line.discount <= line.gross:
                raise bad("bad_discount", f"{where}.discount", "Скидка от 0 до суммы позиции",
                          "The discount must be from 0 to the line amount")
            if not 1 <= line.department <= 99:
                raise bad("bad_department", f"{where}.department", "Отдел 1–99", "Department 1-99")
        if self.cash < 0 or self.card < 0:
            raise bad("bad_payment", "cash" if self.cash < 0 else "card", "Оплата не может быть отрицательной",
                      "A payment cannot be negative")
        if self.card > self.total:
            raise bad("card_over_total", "card", "Оплата картой больше суммы чека", "The card payment exceeds the total")
        if self.cash + self.card < self.total:
            raise bad("underpaid", "cash", f"Оплачено {format_money(self.cash + self.card)} из {format_money(self.total)}",
                      f"Paid {format_money(self.cash + self.card)} of {format_money(self.total)}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReceiptDocument:
        """From JSON-like data: money as kopecks (int) or '12.50' strings, quantities as thousandths or '1.5'."""
        def money(value: Any, fld: str) -> int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            try:
                return parse_money(str(value))
            except ValueError:
                raise InvalidInput("bad_money", f"{fld}: сумма {value!r} — не число с не более чем 2 знаками",
                                   f"{fld}: amount {value!r} is not a number with at most 2 decimals",
                                   field=fld) from None

        def quantity(value: Any, fld: str) -> int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            try:
                return parse_quantity(str(value))
            except ValueError:
                raise InvalidInput("bad_quantity", f"{fld}: количество {value!r} — не число с не более чем 3 знаками",
                                   f"{fld}: quantity {value!r} is not a number with at most 3 decimals",
                                   field=fld) from None

        raw_lines = data.get("lines")
        if not isinstance(raw_lines, list):
            raise InvalidInput("bad_lines", "lines: нужен список позиций", "lines: a list of lines expected", field="lines")
        lines = []
        for i, raw in enumerate(raw_lines):
            if not isinstance(raw, dict):
                raise InvalidInput("bad_line", "Позиция должна быть объектом", "A line must be an object",
                                   field=f"lines[{i}]")
            lines.append(ReceiptLine(
                name=str(raw.get("name", "")),
                price=money(raw.get("price", 0), f"lines[{i}].price"),
                quantity=quantity(raw.get("quantity", 1000), f"lines[{i}].quantity"),
                vat=parse_vat(raw.get("vat"), f"lines[{i}].vat"),
                discount=money(raw.get("discount", 0), f"lines[{i}].discount"),
                department=_int(raw.get("department", 1), f"lines[{i}].department"),
            ))
        created = data.get("created_at")
        if isinstance(created, str):
            try:
                created = datetime.fromisoformat(created)
            except ValueError:
                raise InvalidInput("bad_datetime", "created_at: дата и время ISO 8601",
                                   "created_at: an ISO 8601 date-time", field="created_at") from None
        return cls(
            lines=tuple(lines), kind=str(data.get("kind", "sale")),
            cash=money(data.get("cash", 0), "cash"), card=money(data.get("card", 0), "card"),
            header=tuple(str(x) for x in data.get("header", ())), footer=tuple(str(x) for x in data.get("footer", ())),
            cashier=str(data.get("cashier", "")), cashier_inn=str(data.get("cashier_inn", "")),
            number=str(data.get("number", "")), created_at=created, qr=str(data.get("qr", "")),
            title=str(data.get("title", "")),
        )


def _int(value: Any, fld: str) -> int:
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise InvalidInput("bad_number", f"{fld}: нужно целое число", f"{fld}: a whole number expected", field=fld)
    return int(value)


BOLD = Style(bold=True)
CENTER = Style(align="center")
TITLE = Style(bold=True, align="center")
TOTAL = Style(bold=True, tall=True)


def render_receipt(doc: ReceiptDocument, profile: EscposProfile | str = "80mm", *, cut: bool = True,
                   logo: Any = None) -> bytes:
    """The ESC/POS bytes of ``doc`` for a printer of ``profile`` (its width in characters and code page)."""
    enc = EscposEncoder(get_profile(profile))
    if logo is not None:
        enc.image(logo)
    for text in doc.header:
        enc.wrapped(text, CENTER)
    title = doc.title or ("ТОВАРНЫЙ ЧЕК" if doc.kind == "sale" else "ВОЗВРАТ ТОВАРА")
    enc.wrapped(f"{title} № {doc.number}" if doc.number else title, TITLE)
    if doc.created_at is not None:
        enc.line(doc.created_at.strftime("%d.%m.%Y %H:%M"))
    if doc.cashier:
        enc.wrapped(f"Кассир: {doc.cashier}" + (f", ИНН {doc.cashier_inn}" if doc.cashier_inn else ""))
    enc.rule()
    for number, line in enumerate(doc.lines, 1):
        enc.wrapped(f"{number}. {line.name}")
        qty = format_quantity_short(line.quantity)
        enc.pair(f"   {qty} x {format_money(line.price)}", f"={format_money(line.gross)}")
        if line.discount:
            enc.pair("   Скидка", f"-{format_money(line.discount)}")
        enc.line(f"   {line.vat.label_ru}")
    enc.rule()
    total = doc.total
    enc.pair("ИТОГ", f"={format_money(total)}", TOTAL)
    for rate, _amount, vat in doc.vat_totals():
        if rate is VatRate.NONE:
            enc.pair("Без НДС", f"={format_money(_amount)}")
        else:
            enc.pair(f"Сумма {rate.label_ru}", f"={format_money(vat)}")
    if doc.cash:
        enc.pair("Наличными", f"={format_money(doc.cash)}")
    if doc.card:
        enc.pair("Безналичными", f"={format_money(doc.card)}")
    change = max(0, doc.cash + doc.card - total)
    if change:
        enc.pair("Сдача", f"={format_money(change)}", BOLD)
    if doc.footer:
        enc.rule()
        for text in doc.footer:
            enc.wrapped(text, CENTER)
    if doc.qr:
        enc.qr(doc.qr)
    enc.set_style(PLAIN)
    if cut:
        enc.cut(partial=True)
    return enc.getvalue()
