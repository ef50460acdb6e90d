#!/usr/bin/env python3
"""Printing benchmark, part 1: ESC/POS encoding of a 20-line receipt.

* ours: ``icecash.printd.drivers.escpos_receipt.render_receipt`` — the function the print service
  calls — from a ``ReceiptDocument`` (20 lines with VAT, header, footer, cash and card, QR) to the
  ESC/POS bytes for an 80 mm printer (48 columns, cp866 table 17, native QR, partial cut);
* baseline: python-escpos's ``Dummy`` printer used directly in the same run, printing the same
  lines (the same layout strings, made here with plain f-strings) with the same styles, code page
  (``charcode("CP866")``, no magic encoding), native QR and cut.

Both run interleaved in rounds so machine noise hits them alike; the table shows the median time
per receipt, receipts per second, the bytes produced and the ratio ours / python-escpos. Also the
parse-back check: our emulator reads both outputs and must find the same text lines.

The second half of the issue's benchmark (fiscal receipts per second through the print service
against the Shtrih-M emulator over a pty) comes with the service.

A measurement, not a test: it exits 0 whatever the figures.

    .venv/bin/python bench/printing.py [--receipts 2000] [--rounds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime

from _common import console, ratio, table

from icecash.core.money import format_money, format_quantity
from icecash.core.vat import VatRate
from icecash.devices.escpos import EscposEmulator
from icecash.printd.drivers.escpos import wrap
from icecash.printd.drivers.escpos_receipt import (
    ReceiptDocument,
    ReceiptLine,
    render_receipt,
)

WIDTH = 48
NAMES = ("Молоко «Домик в деревне» 3,2% 930 мл", "Хлеб Бородинский нарезка", "Сыр Российский весовой",
         "Кефир 1% 1 л", "Гречка ядрица 900 г", "Чай чёрный листовой 100 г", "Кофе молотый 250 г",
         "Сок яблочный 1 л", "Вода питьевая 5 л", "Печенье овсяное 300 г")
RATES = (VatRate.VAT10, VatRate.VAT20, VatRate.NONE, VatRate.VAT22)


def make_document(lines: int = 20) -> ReceiptDocument:
    items = tuple(
        ReceiptLine(NAMES[i % len(NAMES)], 4990 + 731 * i, 1000 + 250 * (i % 3), RATES[i % len(RATES)],
                    discount=100 if i % 5 == 0 else 0)
        for i in range(lines))
    total = sum(line.amount for line in items)
    return ReceiptDocument(
        lines=items, cash=total - 50000 + 10000, card=50000, header=("ООО «Ромашка»", "г. Москва, ул. Ленина, 1"),
        footer=("Спасибо за покупку!",), cashier="Иванова Анна", cashier_inn="500100732259", number="1042",
        created_at=datetime(2026, 11, 21, 10, 55), qr="https://icecash.example/r/1042")


def _pair(left: str, right: str) -> str:
    return left + " " * max(1, WIDTH - len(left) - len(right)) + right


def python_escpos(doc: ReceiptDocument) -> bytes:
    """The same receipt printed with python-escpos's Dummy printer directly."""
    from escpos.printer import Dummy

    p = Dummy(profile="default")
    p.charcode("CP866")
    p.set(align="center")
    for text in doc.header:
        p.textln(text.replace("«", '"').replace("»", '"'))
    p.set(align="center", bold=True)
    p.textln(f"ТОВАРНЫЙ ЧЕК № {doc.number}")
    p.set(align="left")
    p.textln(doc.created_at.strftime("%d.%m.%Y %H:%M"))
    p.textln(f"Кассир: {doc.cashier}, ИНН {doc.cashier_inn}")
    p.textln("-" * WIDTH)
    for number, line in enumerate(doc.lines, 1):
        for piece in wrap(f"{number}. {line.name}".replace("«", '"').replace("»", '"'), WIDTH):
            p.textln(piece)
        qty = format_quantity(line.quantity).rstrip("0").rstrip(".")
        p.textln(_pair(f"   {qty} x {format_money(line.price)}", f"={format_money(line.gross)}"))
        if line.discount:
            p.textln(_pair("   Скидка", f"-{format_money(line.discount)}"))
        p.textln(f"   {line.vat.label_ru}")
    p.textln("-" * WIDTH)
    p.set(bold=True, double_height=True)
    p.textln(_pair("ИТОГ", f"={format_money(doc.total)}"))
    p.set(bold=False, double_height=False, normal_textsize=True)
    for rate, amount, vat in doc.vat_totals():
        p.textln(_pair("Без НДС", f"={format_money(amount)}") if rate is VatRate.NONE
                 else _pair(f"Сумма {rate.label_ru}", f"={format_money(vat)}"))
    p.textln(_pair("Наличными", f"={format_money(doc.cash)}"))
    p.textln(_pair("Безналичными", f"={format_money(doc.card)}"))
    if doc.change:
        p.set(bold=True)
        p.textln(_pair("Сдача", f"={format_money(doc.change)}"))
        p.set(bold=False)
    p.textln("-" * WIDTH)
    p.set(align="center")
    for text in doc.footer:
        p.textln(text)
    p.qr(doc.qr, native=True, size=6)
    p.cut(mode="PART")
    return p.output


def ours(doc: ReceiptDocument) -> bytes:
    return render_receipt(doc, "80mm")


def _time(fn, doc: ReceiptDocument, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(doc)
    return (time.perf_counter() - start) / n


def _lines(data: bytes) -> list[str]:
    emu = EscposEmulator("80mm")
    emu.feed(data)
    return [line.strip() for line in emu.text().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--receipts", type=int, default=2000, help="receipts encoded per round and encoder (2000)")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds; the median is reported (10)")
    args = parser.parse_args(argv)
    doc = make_document(20)
    a, b = ours(doc), python_escpos(doc)
    same = _lines(a) == _lines(b)
    for _ in range(200):  # warm-up
        ours(doc)
        python_escpos(doc)
    per_ours: list[float] = []
    per_lib: list[float] = []
    with console.status("encoding …"):
        for _ in range(args.rounds):
            per_ours.append(_time(ours, doc, args.receipts))
            per_lib.append(_time(python_escpos, doc, args.receipts))
    mo, ml = statistics.median(per_ours), statistics.median(per_lib)
    out = table(f"ESC/POS encoding of a 20-line receipt ({args.rounds} rounds × {args.receipts})",
                ["encoder", "µs / receipt", "receipts / s", "bytes"])
    out.add_row("IceCash render_receipt", f"{mo * 1e6:.0f}", f"{1 / mo:,.0f}", str(len(a)))
    out.add_row("python-escpos Dummy (baseline)", f"{ml * 1e6:.0f}", f"{1 / ml:,.0f}", str(len(b)))
    out.add_row("ratio ours / python-escpos", ratio(mo, ml), "", "")
    console.print(out)
    console.print(f"same printed text lines (parsed back by our emulator): {'yes' if same else '[red]NO[/]'}")
    console.print("[dim]fiscal receipts/s through the print service: comes with the service[/]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
