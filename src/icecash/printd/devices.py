"""One device abstraction over the drivers: the same high-level commands for every printer type.

A *command* is a small JSON object ``{"op": NAME, ...}``; :func:`parse_command` checks it (naming
the field at fault) before anything is sent to a device, and :func:`check_supported` refuses a
fiscal command for a printer that is not a registrar. A :class:`Device` runs commands:

======================  ===================================================================
op                      what it does
======================  ===================================================================
status                  the device's state (``last_document``, ``receipt_open``, ``shift_open``…)
beep                    a beep
text                    text lines with styles: bold, inverse, tall, wide, small, align
barcode / qr            an EAN-13 / CODE128 barcode, a QR code
feed / cut / drawer     paper feed, cut (``partial``), cash drawer pulse
receipt                 a structured receipt (:class:`ReceiptDoc`): fiscal on a registrar,
                        non-fiscal on ESC/POS (``fiscal: false`` forces a non-fiscal print)
copy                    a non-fiscal copy of a receipt, titled «КОПИЯ»
open_shift, x_report,   fiscal operations (registrars only)
z_report, cash_in,
cash_out,
cancel_receipt,
continue_print,
set_datetime
recover                 after paper out or power loss: continue printing, cancel a receipt
                        left open; answers the status after it
read_table /            registrar tables (admin only for writing)
write_table,
header / set_header     the receipt header lines (Shtrih-M table 4)
raw                     raw bytes (hex) to an ESC/POS printer
======================  ===================================================================

Money is integer kopecks and quantities integer thousandths, as everywhere in IceCash.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from icecash.core.errors import InvalidInput
from icecash.core.money import MAX_MONEY, div_half_up
from icecash.core.vat import parse_vat

from .errors import DeviceError

FISCAL_TYPES = ("shtrih", "atol")
FISCAL_OPS = frozenset({"open_shift", "x_report", "z_report", "cash_in", "cash_out", "cancel_receipt",
                        "continue_print", "set_datetime", "read_table", "write_table", "header", "set_header"})
CONFIG_OPS = frozenset({"write_table", "set_header", "set_datetime"})
ESCPOS_ONLY = frozenset({"raw"})
ALIGNS = ("left", "center", "right")
STYLE_FLAGS = ("bold", "inverse", "tall", "wide", "small")


def _bad(field_name: str, ru: str, en: str, code: str = "bad_command") -> InvalidInput:
    return InvalidInput(code, ru, en, field=field_name)


def _int(value: Any, field_name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad(field_name, f"{field_name}: нужно целое от {lo} до {hi}, получено {value!r}",
                   f"{field_name}: expected a whole number from {lo} to {hi}, got {value!r}", "bad_number")
    return value


def _text(value: Any, field_name: str, max_len: int = 4096, allow_newlines: bool = False) -> str:
    if not isinstance(value, str):
        raise _bad(field_name, f"{field_name}: нужна строка", f"{field_name}: expected a string", "bad_text")
    if len(value) > max_len:
        raise _bad(field_name, f"{field_name}: не длиннее {max_len} символов", f"{field_name}: at most {max_len} characters",
                   "bad_text")
    if any((ord(c) < 32 and not (allow_newlines and c == "\n")) or ord(c) == 127 for c in value):
        raise _bad(field_name, f"{field_name}: управляющие символы недопустимы", f"{field_name}: control characters are not allowed",
                   "bad_text")
    return value


def _bool(value: Any, field_name: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(field_name, f"{field_name}: нужно true или false", f"{field_name}: expected true or false", "bad_flag")
    return value


# --- the receipt document ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    price: int  # kopecks per unit (before discount)
    quantity: int  # thousandths
    total: int  # kopecks, after discount
    vat: str = "none"  # a VatRate value
    department: int = 1
    code: str = ""

    @property
    def amount(self) -> int:
        """Price × quantity, rounded half-up to the kopeck (before discount)."""
        return div_half_up(self.price * self.quantity, 1000)

    @property
    def discount(self) -> int:
        return self.amount - self.total


@dataclass(frozen=True)
class ReceiptDoc:
    kind: str  # sale · return
    lines: tuple[ReceiptLine, ...]
    cash: int = 0  # cash handed over (may exceed what is due: the device gives change)
    card: int = 0
    cashier_name: str = ""
    cashier_inn: str = ""
    header: tuple[str, ...] = ()
    footer: tuple[str, ...] = ()
    qr: str | None = None
    number: int | None = None  # the till's receipt number
    uuid: str | None = None  # the till's receipt id
    title: str = ""  # e.g. «КОПИЯ»

    @property
    def total(self) -> int:
        return sum(line.total for line in self.lines)

    @property
    def change(self) -> int:
        return self.cash + self.card - self.total

    def as_copy(self) -> ReceiptDoc:
        """The same receipt for a non-fiscal copy: titled «КОПИЯ ЧЕКА» unless it has a title."""
        return replace(self, title=self.title or "КОПИЯ ЧЕКА")


def parse_receipt(data: Any, field_name: str = "receipt") -> ReceiptDoc:
    """A receipt document from JSON, every field checked by name; payments must cover the total."""
    if not isinstance(data, dict):
        raise _bad(field_name, f"{field_name}: нужен объект чека", f"{field_name}: expected a receipt object")
    known = {"kind", "lines", "cash", "card", "cashier", "header", "footer", "qr", "number", "uuid", "title"}
    for key in data:
        if key not in known:
            raise _bad(f"{field_name}.{key}", f"Неизвестное поле {key!r}", f"Unknown field {key!r}", "unknown_field")
    kind = data.get("kind", "sale")
    if kind not in ("sale", "return"):
        raise _bad(f"{field_name}.kind", "Вид чека: sale или return", "Receipt kind: sale or return")
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise _bad(f"{field_name}.lines", "В чеке нет строк", "The receipt has no lines", "empty_receipt")
    if len(raw_lines) > 500:
        raise _bad(f"{field_name}.lines", "Не более 500 строк", "At most 500 lines")
    lines = []
    for i, raw in enumerate(raw_lines):
        f = f"{field_name}.lines[{i}]"
        if not isinstance(raw, dict):
            raise _bad(f, f"{f}: нужен объект строки", f"{f}: expected a line object")
        for key in raw:
            if key not in ("name", "price", "quantity", "total", "vat", "department", "code"):
                raise _bad(f"{f}.{key}", f"Неизвестное поле {key!r}", f"Unknown field {key!r}", "unknown_field")
        name = _text(raw.get("name"), f"{f}.name", 256).strip()
        if not name:
            raise _bad(f"{f}.name", "Пустое название товара", "An empty item name", "bad_text")
        price = _int(raw.get("price"), f"{f}.price", 0, MAX_MONEY)
        quantity = _int(raw.get("quantity", 1000), f"{f}.quantity", 1, 99_999_999)
        amount = div_half_up(price * quantity, 1000)
        total = _int(raw.get("total", amount), f"{f}.total", 0, MAX_MONEY)
        if total > amount:
            raise _bad(f"{f}.total", "Сумма строки больше цены × количество", "The line total exceeds price × quantity",
                       "bad_total")
        vat = parse_vat(raw.get("vat", "none"), field=f"{f}.vat").value
        department = _int(raw.get("department", 1), f"{f}.department", 1, 16)
        code = _text(raw.get("code", ""), f"{f}.code", 64)
        lines.append(ReceiptLine(name, price, quantity, total, vat, department, code))
    cash = _int(data.get("cash", 0), f"{field_name}.cash", 0, MAX_MONEY)
    card = _int(data.get("card", 0), f"{field_name}.card", 0, MAX_MONEY)
    total = sum(line.total for line in lines)
    if card > total:
        raise _bad(f"{field_name}.card", "Оплата картой больше суммы чека", "The card payment exceeds the total", "card_exceeds_total")
    if cash + card < total:
        raise _bad(f"{field_name}.cash", "Оплата меньше суммы чека", "The payments do not cover the total", "not_enough_paid")
    cashier = data.get("cashier") or {}
    if not isinstance(cashier, dict) or set(cashier) - {"name", "inn"}:
        raise _bad(f"{field_name}.cashier", "Кассир: {name, inn}", "Cashier: {name, inn}")
    cashier_name = _text(cashier.get("name", ""), f"{field_name}.cashier.name", 64)
    cashier_inn = _text(cashier.get("inn", ""), f"{field_name}.cashier.inn", 12)
    if cashier_inn and not (cashier_inn.isdigit() and len(cashier_inn) in (10, 12)):
        raise _bad(f"{field_name}.cashier.inn", "ИНН кассира: 10 или 12 цифр", "Cashier INN: 10 or 12 digits", "bad_inn")
    header = _text_lines(data.get("header", []), f"{field_name}.header")
    footer = _text_lines(data.get("footer", []), f"{field_name}.footer")
    qr = data.get("qr")
    if qr is not None:
        qr = _text(qr, f"{field_name}.qr", 1000)
    number = data.get("number")
    if number is not None:
        number = _int(number, f"{field_name}.number", 0, 2**31)
    receipt_uuid = data.get("uuid")
    if receipt_uuid is not None:
        receipt_uuid = _text(receipt_uuid, f"{field_name}.uuid", 64)
    title = _text(data.get("title", ""), f"{field_name}.title", 64)
    return ReceiptDoc(kind, tuple(lines), cash, card, cashier_name, cashier_inn, header, footer, qr, number,
                      receipt_uuid, title)


def _text_lines(value: Any, field_name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split("\n")
    if not isinstance(value, list) or len(value) > 50:
        raise _bad(field_name, f"{field_name}: список строк (не более 50)", f"{field_name}: a list of lines (at most 50)")
    return tuple(_text(v, f"{field_name}[{i}]", 256) for i, v in enumerate(value))


# --- commands --------------------------------------------------------------------------------------

_COMMAND_FIELDS: dict[str, set[str]] = {
    "status": set(), "beep": set(), "drawer": set(), "open_shift": set(), "x_report": set(), "z_report": set(),
    "cancel_receipt": set(), "continue_print": set(), "recover": set(), "header": set(),
    "set_datetime": {"at"},
    "text": {"text", "align", *STYLE_FLAGS},
    "barcode": {"data", "kind"},
    "qr": {"data", "size"},
    "feed": {"lines"},
    "cut": {"partial"},
    "receipt": {"receipt", "fiscal"},
    "copy": {"receipt"},
    "cash_in": {"amount"}, "cash_out": {"amount"},
    "read_table": {"table", "row", "field"},
    "write_table": {"table", "row", "field", "value"},
    "set_header": {"lines"},
    "raw": {"hex"},
}
OPS = tuple(_COMMAND_FIELDS)


def parse_command(command: Any, field_name: str = "command") -> dict[str, Any]:
    """A command checked and normalised (defaults filled in), or :class:`InvalidInput` naming the field."""
    if not isinstance(command, dict):
        raise _bad(field_name, f"{field_name}: нужен объект {{\"op\": …}}", f"{field_name}: expected an object {{\"op\": …}}")
    op = command.get("op")
    if op not in _COMMAND_FIELDS:
        raise _bad(f"{field_name}.op", f"Неизвестная команда {op!r}; есть: {', '.join(OPS)}",
                   f"Unknown command {op!r}; known: {', '.join(OPS)}", "unknown_command")
    for key in command:
        if key != "op" and key not in _COMMAND_FIELDS[op]:
            raise _bad(f"{field_name}.{key}", f"У команды {op} нет поля {key!r}", f"Command {op} has no field {key!r}",
                       "unknown_field")
    out: dict[str, Any] = {"op": op}
    f = field_name
    if op == "text":
        out["text"] = _text(command.get("text", ""), f"{f}.text", 8192, allow_newlines=True)
        for flag in STYLE_FLAGS:
            out[flag] = _bool(command.get(flag, False), f"{f}.{flag}")
        out["align"] = command.get("align", "left")
        if out["align"] not in ALIGNS:
            raise _bad(f"{f}.align", "Выравнивание: left, center, right", "Align: left, center or right")
    elif op == "barcode":
        out["kind"] = command.get("kind", "ean13")
        if out["kind"] not in ("ean13", "code128"):
            raise _bad(f"{f}.kind", "Штрихкод: ean13 или code128", "Barcode: ean13 or code128")
        out["data"] = _text(command.get("data"), f"{f}.data", 64)
        if out["kind"] == "ean13" and not (out["data"].isdigit() and len(out["data"]) in (12, 13)):
            raise _bad(f"{f}.data", "EAN-13: 12 или 13 цифр", "EAN-13: 12 or 13 digits")
    elif op == "qr":
        out["data"] = _text(command.get("data"), f"{f}.data", 1000)
        out["size"] = _int(command.get("size", 6), f"{f}.size", 1, 16)
    elif op == "feed":
        out["lines"] = _int(command.get("lines", 1), f"{f}.lines", 1, 50)
    elif op == "cut":
        out["partial"] = _bool(command.get("partial", False), f"{f}.partial")
    elif op == "receipt":
        out["receipt"] = parse_receipt(command.get("receipt"), f"{f}.receipt")
        fiscal = command.get("fiscal")
        out["fiscal"] = None if fiscal is None else _bool(fiscal, f"{f}.fiscal")
    elif op == "copy":
        out["receipt"] = parse_receipt(command.get("receipt"), f"{f}.receipt")
    elif op in ("cash_in", "cash_out"):
        out["amount"] = _int(command.get("amount"), f"{f}.amount", 1, MAX_MONEY)
    elif op in ("read_table", "write_table"):
        out["table"] = _int(command.get("table"), f"{f}.table", 1, 255)
        out["row"] = _int(command.get("row", 1), f"{f}.row", 1, 65535)
        out["field"] = _int(command.get("field", 1), f"{f}.field", 1, 255)
        if op == "write_table":
            value = command.get("value")
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise _bad(f"{f}.value", "Значение: число или строка", "Value: a number or a string")
            out["value"] = _text(value, f"{f}.value", 256) if isinstance(value, str) else value
    elif op == "set_header":
        out["lines"] = _text_lines(command.get("lines", []), f"{f}.lines")
    elif op == "set_datetime":
        at = command.get("at")
        if at is None:
            out["at"] = None
        else:
            try:
                out["at"] = datetime.fromisoformat(_text(at, f"{f}.at", 32))
            except ValueError:
                raise _bad(f"{f}.at", "Время: ГГГГ-ММ-ДДTЧЧ:ММ:СС", "Time: YYYY-MM-DDTHH:MM:SS") from None
    elif op == "raw":
        text = _text(command.get("hex", ""), f"{f}.hex", 65536)
        try:
            out["data"] = bytes.fromhex(text)
        except ValueError:
            raise _bad(f"{f}.hex", "hex: пары шестнадцатеричных цифр", "hex: pairs of hexadecimal digits") from None
    return out


def check_supported(printer_type: str, command: dict[str, Any], field_name: str) -> None:
    """Refuse, before the job starts, a command this printer type cannot run."""
    op = command["op"]
    if op in FISCAL_OPS and printer_type not in FISCAL_TYPES:
        raise InvalidInput("not_fiscal", f"Команда {op} — только для фискального регистратора, а этот принтер — {printer_type}",
                           f"Command {op} needs a fiscal registrar; this printer is {printer_type}", field=f"{field_name}.op")
    if op in ESCPOS_ONLY and printer_type not in ("escpos", "none"):
        raise InvalidInput("escpos_only", f"Команда {op} — только для принтера ESC/POS",
                           f"Command {op} is for ESC/POS printers only", field=f"{field_name}.op")
    if op == "receipt" and command.get("fiscal") and printer_type not in FISCAL_TYPES:
        raise InvalidInput("not_fiscal", "Фискальный чек печатает только фискальный регистратор",
                           "Only a fiscal registrar prints a fiscal receipt", field=f"{field_name}.fiscal")


def is_config_command(command: dict[str, Any]) -> bool:
    return command["op"] in CONFIG_OPS


# --- devices ---------------------------------------------------------------------------------------


@dataclass
class Device:
    """A printer, opened for one job. Subclasses implement the commands their type supports."""

    printer: dict[str, Any]
    fiscal: bool = False

    def run(self, command: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, f"op_{command['op']}", None)
        if handler is None:
            raise DeviceError("unsupported", f"Принтер типа {self.printer['type']} не умеет {command['op']}",
                              f"A {self.printer['type']} printer cannot do {command['op']}", field="op")
        args = {k: v for k, v in command.items() if k != "op"}
        result = handler(**args)
        return result if isinstance(result, dict) else {}

    def close(self) -> None:
        pass


class NullDevice(Device):
    """Printer type ``none``: accepts every non-fiscal command and prints nothing (the original's «None»)."""

    def run(self, command: dict[str, Any]) -> dict[str, Any]:
        if command["op"] == "status":
            return {"online": True, "fiscal": False, "type": "none"}
        return {"printed": False}


def open_device(printer: dict[str, Any]) -> Device:
    """The device behind a printer's row, its connection opened."""
    kind = printer["type"]
    if kind == "none":
        return NullDevice(printer)
    if not printer.get("url"):
        raise DeviceError("no_connection", f"У принтера «{printer['name']}» не задано подключение",
                          f"Printer {printer['name']!r} has no connection set", field="url")
    return DEVICE_CLASSES[kind].open(printer)


def _timeout(printer: dict[str, Any]) -> float:
    return max(printer.get("timeout_ms") or 3000, 100) / 1000


def to_escpos_document(doc: ReceiptDoc, created_at: datetime | None = None) -> Any:
    """Our receipt document as the ESC/POS renderer's (:mod:`.drivers.escpos_receipt`)."""
    from icecash.core.vat import VatRate

    from .drivers.escpos_receipt import ReceiptDocument
    from .drivers.escpos_receipt import ReceiptLine as EscLine

    return ReceiptDocument(
        lines=tuple(EscLine(name=l.name, price=l.price, quantity=l.quantity, vat=VatRate(l.vat), discount=l.discount,
                            department=l.department) for l in doc.lines),
        kind=doc.kind, cash=doc.cash, card=doc.card, header=doc.header, footer=doc.footer,
        cashier=doc.cashier_name, cashier_inn=doc.cashier_inn, number=str(doc.number or ""),
        created_at=created_at or datetime.now().replace(microsecond=0), qr=doc.qr or "", title=doc.title,
    )


class _DriverDevice(Device):
    """A device run through one of our drivers, whose connection is closed with the job."""

    def __init__(self, printer: dict[str, Any], driver: Any, fiscal: bool = False):
        super().__init__(printer, fiscal=fiscal)
        self.driver = driver

    def close(self) -> None:
        self.driver.close()

    def op_cut(self, partial: bool) -> dict[str, Any]:
        self.driver.cut(partial)
        return {}

    def op_drawer(self) -> dict[str, Any]:
        self.driver.open_drawer()
        return {}


class EscposDevice(_DriverDevice):
    """An ESC/POS printer: everything prints as text; no fiscal operations (refused before the job starts)."""

    @classmethod
    def open(cls, printer: dict[str, Any]) -> EscposDevice:
        from .drivers.escpos import EscposPrinter, EscposProfile, get_profile

        base = get_profile("80mm", printer.get("width") or 48)
        profile = replace(base, codepage=printer.get("codepage") or "cp866",
                          codepage_table=printer.get("codepage_table", 17))
        assert isinstance(profile, EscposProfile)
        return cls(printer, EscposPrinter.open(printer["url"], profile, timeout=_timeout(printer)))

    def _style(self, **flags: Any) -> Any:
        from .drivers.escpos import Style

        return Style(**flags)

    def op_status(self) -> dict[str, Any]:
        status = self.driver.status().as_dict()
        return {"type": "escpos", "fiscal": False, **status, "ready": status["online"] and not status["paper_out"]
                and not status["cover_open"] and not status["error"]}

    def op_beep(self) -> dict[str, Any]:
        self.driver.print_job(self.driver.encoder(initialize=False).beep().getvalue())
        return {}

    def op_text(self, text: str, align: str, **flags: bool) -> dict[str, Any]:
        self.driver.print_lines(text.split("\n"), self._style(align=align, **flags))
        return {"lines": text.count("\n") + 1}

    def op_barcode(self, data: str, kind: str) -> dict[str, Any]:
        self.driver.print_job(self.driver.encoder().barcode(data, kind.upper()).getvalue())
        return {}

    def op_qr(self, data: str, size: int) -> dict[str, Any]:
        self.driver.print_job(self.driver.encoder().qr(data, size=size).getvalue())
        return {}

    def op_feed(self, lines: int) -> dict[str, Any]:
        self.driver.print_job(self.driver.encoder(initialize=False).feed(lines).getvalue())
        return {}

    def op_raw(self, data: bytes) -> dict[str, Any]:
        self.driver.send(data)
        return {"bytes": len(data)}

    def op_receipt(self, receipt: ReceiptDoc, fiscal: bool | None = None) -> dict[str, Any]:
        sent = self.driver.print_receipt(to_escpos_document(receipt))
        return {"fiscal": False, "bytes": len(sent), "total": receipt.total}

    def op_copy(self, receipt: ReceiptDoc) -> dict[str, Any]:
        sent = self.driver.print_receipt(to_escpos_document(receipt.as_copy()))
        return {"fiscal": False, "bytes": len(sent)}

    def op_recover(self) -> dict[str, Any]:
        return self.op_status()


DEVICE_CLASSES: dict[str, Any] = {"escpos": EscposDevice}


def receipt_text(doc: ReceiptDoc, width: int) -> str:
    """A receipt as plain text lines of ``width`` characters: a registrar's non-fiscal copy."""
    from icecash.core.money import format_money, format_quantity_short

    def pair(left: str, right: str) -> str:
        room = max(1, width - len(right))
        return left[:room].ljust(room) + right

    out = [text[:width].center(width).rstrip() for text in doc.header]
    out.append((doc.title or ("ТОВАРНЫЙ ЧЕК" if doc.kind == "sale" else "ВОЗВРАТ")).center(width).rstrip()
               + (f" № {doc.number}" if doc.number else ""))
    if doc.cashier_name:
        out.append(f"Кассир: {doc.cashier_name}"[:width])
    out.append("-" * width)
    for i, line in enumerate(doc.lines, 1):
        out.append(f"{i}. {line.name}"[:width])
        qty = format_quantity_short(line.quantity)
        out.append(pair(f"   {qty} x {format_money(line.price)}", f"={format_money(line.total)}"))
    out.append("-" * width)
    out.append(pair("ИТОГ", f"={format_money(doc.total)}"))
    if doc.cash:
        out.append(pair("Наличными", f"={format_money(doc.cash)}"))
    if doc.card:
        out.append(pair("Безналичными", f"={format_money(doc.card)}"))
    if doc.change > 0:
        out.append(pair("Сдача", f"={format_money(doc.change)}"))
    out += [text[:width] for text in doc.footer]
    return "\n".join(out)


def _receipt_left_open() -> DeviceError:
    return DeviceError("receipt_left_open", "На регистраторе открыт незавершённый чек: выполните восстановление (recover)",
                       "A receipt is left open on the registrar: run recover first", field="receipt")


class _Registrar(_DriverDevice):
    """What the fiscal registrars do alike; a subclass opens its driver, reads its status, prints
    text (:meth:`_print_text`) and sells (:meth:`_fiscal_receipt`)."""

    default_width = 36

    def __init__(self, printer: dict[str, Any], driver: Any):
        super().__init__(printer, driver, fiscal=True)
        self.width = printer.get("width") or self.default_width

    def _status(self) -> dict[str, Any]:
        raise NotImplementedError

    def _print_text(self, text: str) -> None:
        raise NotImplementedError

    def _fiscal_receipt(self, receipt: ReceiptDoc) -> dict[str, Any]:
        raise NotImplementedError

    def _print_nonfiscal(self, doc: ReceiptDoc) -> None:
        self._print_text(receipt_text(doc, self.width))
        self.driver.cut(partial=True)

    def op_status(self) -> dict[str, Any]:
        return self._status()

    def op_receipt(self, receipt: ReceiptDoc, fiscal: bool | None = None) -> dict[str, Any]:
        if fiscal is False:
            self._print_nonfiscal(receipt)
            return {"fiscal": False, "total": receipt.total}
        return self._fiscal_receipt(receipt)

    def op_copy(self, receipt: ReceiptDoc) -> dict[str, Any]:
        self._print_nonfiscal(receipt.as_copy())
        return {"fiscal": False}

    def op_x_report(self) -> dict[str, Any]:
        self.driver.x_report()
        return {}

    def op_cancel_receipt(self) -> dict[str, Any]:
        self.driver.cancel_receipt()
        return {}

    def op_set_datetime(self, at: datetime | None) -> dict[str, Any]:
        when = at or datetime.now().replace(microsecond=0)
        self.driver.set_datetime(when)
        return {"at": when.isoformat()}

    def op_beep(self) -> dict[str, Any]:
        self.driver.beep()
        return {}


class ShtrihDevice(_Registrar):
    """A Shtrih-M registrar (our driver :mod:`.drivers.shtrih`)."""

    default_width = 36

    @classmethod
    def open(cls, printer: dict[str, Any]) -> ShtrihDevice:
        from .drivers.shtrih import ShtrihM

        timeout = _timeout(printer)
        driver = ShtrihM.open(printer["url"], timeout=min(timeout, 1.0), password=printer.get("cashier_password", 1),
                              admin_password=printer.get("admin_password", 30), answer_timeout=timeout)
        return cls(printer, driver)

    def _print_text(self, text: str) -> None:
        self.driver.print_text(text, width=self.width)

    def _status(self) -> dict[str, Any]:
        short = self.driver.short_status()
        view = {"type": "shtrih", "fiscal": True, **short.as_dict(), "waiting_continue": short.waiting_continue,
                "paper_out": not short.paper_present, "last_document": self.driver.last_document_number()}
        view["ready"] = short.submode == 0 and not short.cover_open and not short.receipt_open
        return view

    def op_recover(self) -> dict[str, Any]:
        """Paper back after running out: print the rest (B0h); a receipt left open: cancel it."""
        short = self.driver.short_status()
        continued = cancelled = False
        if short.submode == 3:
            self.driver.continue_printing()
            continued = True
        short = self.driver.wait_ready(timeout=_timeout(self.printer) * 3)
        if short.receipt_open:
            self.driver.cancel_receipt()
            cancelled = True
        return {**self._status(), "continued": continued, "cancelled_receipt": cancelled}

    def _fiscal_receipt(self, receipt: ReceiptDoc) -> dict[str, Any]:
        from icecash.core.vat import VatRate

        short = self.driver.wait_ready(timeout=_timeout(self.printer) * 3)
        if short.receipt_open:
            raise _receipt_left_open()
        if not short.shift_open:
            self.driver.open_shift(receipt.cashier_name or None, receipt.cashier_inn or None)
        self.driver.open_receipt(receipt.kind, cashier=receipt.cashier_name or None, cashier_inn=receipt.cashier_inn or None)
        try:
            for line in receipt.lines:
                self.driver.register_item(line.name, line.price, line.quantity, vat=VatRate(line.vat),
                                          department=line.department, kind=receipt.kind, discount=line.discount)
        except DeviceError as exc:
            self._cancel_after(exc)
            raise
        closed = self.driver.close_receipt(receipt.cash, receipt.card)
        self.driver.wait_ready(timeout=_timeout(self.printer) * 3)
        return {"fiscal": True, "document": closed.fd_number, "fiscal_sign": closed.fiscal_sign,
                "change": closed.change, "total": receipt.total}

    def _cancel_after(self, exc: DeviceError) -> None:
        """A receipt failed before its close: cancel it on the device so nothing half-done stays open.
        When the cancel fails too (the link is gone), the receipt stays open and the error says so;
        the next ``recover`` cancels it. Over a link that is gone, no cancel is tried (it would only wait)."""
        from .errors import TransportError

        if isinstance(exc, TransportError):
            exc.details["receipt_cancelled"] = False
            return
        try:
            self.driver.cancel_receipt()
            exc.details["receipt_cancelled"] = True
        except DeviceError as cancel_exc:
            exc.details["receipt_cancelled"] = False
            exc.details["cancel_error"] = cancel_exc.code

    def op_open_shift(self) -> dict[str, Any]:
        self.driver.open_shift()
        return {"document": self.driver.last_document_number()}

    def op_z_report(self) -> dict[str, Any]:
        self.driver.z_report()
        return {"document": self.driver.last_document_number()}

    def op_cash_in(self, amount: int) -> dict[str, Any]:
        return {"document": self.driver.cash_in(amount)}

    def op_cash_out(self, amount: int) -> dict[str, Any]:
        return {"document": self.driver.cash_out(amount)}

    def op_continue_print(self) -> dict[str, Any]:
        self.driver.continue_printing()
        return {}

    def op_read_table(self, table: int, row: int, field: int) -> dict[str, Any]:
        raw = self.driver.read_table(table, row, field)
        return {"hex": raw.hex(), "text": raw.rstrip(b"\x00").decode("cp1251", "replace"),
                "int": int.from_bytes(raw[:8], "little") if raw else 0}

    def op_write_table(self, table: int, row: int, field: int, value: int | str) -> dict[str, Any]:
        self.driver.write_table(table, row, field, value)
        return {}

    def op_header(self) -> dict[str, Any]:
        lines = self.driver.read_header()
        while lines and not lines[-1].strip():
            lines.pop()
        return {"lines": lines}

    def op_set_header(self, lines: tuple[str, ...]) -> dict[str, Any]:
        self.driver.write_header(list(lines))
        return self.op_header()

    def op_text(self, text: str, align: str, **_flags: bool) -> dict[str, Any]:
        lines = text.split("\n")
        if align != "left":
            lines = [l.center(self.width) if align == "center" else l.rjust(self.width) for l in lines]
        self.driver.print_text("\n".join(lines), width=self.width)
        return {"lines": len(lines)}

    def op_barcode(self, data: str, kind: str) -> dict[str, Any]:
        if kind != "ean13":
            raise DeviceError("unsupported_barcode", "Штрих-М печатает только EAN-13", "Shtrih-M prints EAN-13 only", field="kind")
        self.driver.print_ean13(data)
        return {}

    def op_qr(self, data: str, size: int) -> dict[str, Any]:
        self.driver.print_qr(data, module_size=min(size, 8))
        return {}

    def op_feed(self, lines: int) -> dict[str, Any]:
        self.driver.feed(lines)
        return {}


class AtolDevice(_Registrar):
    """An ATOL registrar over the legacy protocol v2 (:mod:`.drivers.atol`)."""

    default_width = 32

    @classmethod
    def open(cls, printer: dict[str, Any]) -> AtolDevice:
        from .drivers.atol import AtolRegistrar

        timeout = _timeout(printer)
        password = printer.get("cashier_password", 0)
        driver = AtolRegistrar.open(printer["url"], timeout=min(timeout, 1.0), password=password if password <= 9999 else 0,
                                    mode_password=printer.get("admin_password", 30), width=printer.get("width") or 32,
                                    answer_timeout=timeout)
        return cls(printer, driver)

    def _print_text(self, text: str) -> None:
        self.driver.print_text(text)  # the driver was opened with the printer's width

    def _status(self) -> dict[str, Any]:
        st = self.driver.status()
        last = self.driver.last_receipt()
        return {"type": "atol", "fiscal": True, "shift_open": st.shift_open, "paper_out": st.paper_out,
                "cover_open": st.cover_open, "receipt_open": st.receipt_state != 0, "mode": st.mode, "submode": st.submode,
                "serial": st.serial, "last_document": last.document_number, "last_receipt_total": last.total,
                "ready": not st.paper_out and not st.cover_open and st.receipt_state == 0}

    def op_recover(self) -> dict[str, Any]:
        st = self.driver.status()
        cancelled = False
        if st.receipt_state != 0:
            self.driver.cancel_receipt()
            cancelled = True
        return {**self._status(), "continued": False, "cancelled_receipt": cancelled}

    def _fiscal_receipt(self, receipt: ReceiptDoc) -> dict[str, Any]:
        st = self.driver.status()
        if st.receipt_state != 0:
            raise _receipt_left_open()
        if not st.shift_open:
            self.driver.open_shift()
        doc = to_escpos_document(receipt)
        last = self.driver.print_receipt(doc)
        return {"fiscal": True, "document": last.document_number, "change": receipt.change, "total": receipt.total}

    def op_open_shift(self) -> dict[str, Any]:
        self.driver.open_shift()
        return {}

    def op_z_report(self) -> dict[str, Any]:
        self.driver.z_report()
        return {}

    def op_cash_in(self, amount: int) -> dict[str, Any]:
        self.driver.cash_in(amount)
        return {}

    def op_cash_out(self, amount: int) -> dict[str, Any]:
        self.driver.cash_out(amount)
        return {}

    def op_continue_print(self) -> dict[str, Any]:
        return {}

    def op_read_table(self, table: int, row: int, field: int) -> dict[str, Any]:
        raw = self.driver.read_table(table, row, field)
        return {"hex": raw.hex(), "text": raw.rstrip(b"\x00").decode("cp866", "replace")}

    def op_write_table(self, table: int, row: int, field: int, value: int | str) -> dict[str, Any]:
        from .drivers import atol_protocol as p

        raw = p.encode_text(value) if isinstance(value, str) else value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
        self.driver.write_table(table, row, field, raw)
        return {}

    def op_header(self) -> dict[str, Any]:
        raise DeviceError("unsupported", "Редактор заголовка чека — для Штрих-М; у АТОЛ используйте таблицы",
                          "The header editor is for Shtrih-M; on ATOL use the tables", field="op")

    op_set_header = op_header

    def op_text(self, text: str, align: str, **_flags: bool) -> dict[str, Any]:
        self.driver.print_text(text)
        return {"lines": text.count("\n") + 1}

    def op_qr(self, data: str, size: int) -> dict[str, Any]:
        self.driver.print_qr(data)
        return {}


DEVICE_CLASSES.update({"shtrih": ShtrihDevice, "atol": AtolDevice})
