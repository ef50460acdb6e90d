"""A Shtrih-M fiscal registrar (ШТРИХ-М-01Ф class, protocol 1.12 with FN commands), from the device side.

It speaks the published link layer (ENQ/ACK/NAK, ``STX LEN CMD DATA LRC`` frames, answers
``STX LEN CMD ERR DATA LRC``) and keeps the fiscal state a real registrar keeps: shift and its
24-hour limit, the receipt state machine (mode 8 with its type), through document number, FN
document number, receipt numbers, cash in the drawer, shift totals per operation, payment type and
VAT, the Z counter, the tables (header lines in table 4). The state is persisted to ``--state``
after every change (atomically), so a killed or "power-cut" emulator comes back as the real
device would: an open receipt is still open (battery-backed RAM), a closed one is in the FN.

Control commands (one line each, see ``help``): ``state``, ``paper`` (the printed tape as JSON),
``paper-out``, ``paper-in``, ``paper-runout`` (the paper ends while the next document prints),
``cover-open``, ``cover-close``, ``power-loss``, ``power-loss-at CMD before|after``, ``power-on``,
``advance-clock SECONDS``, ``factory-reset``, ``busy-printing N``, ``corrupt-next-answer``, ``ignore-next-frame``, ``lose-next-answer``.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from icecash.devices.base import read_state, write_state

STX, ENQ, ACK, NAK = 0x02, 0x05, 0x06, 0x15
FRAME_BYTE_TIMEOUT = 0.5  # a partial frame older than this is dropped, as the device's byte timeout

# Modes (low nibble of the mode byte) and submodes of the published protocol
MODE_SHIFT_OPEN = 2
MODE_SHIFT_OVER_24H = 3
MODE_SHIFT_CLOSED = 4
MODE_DOCUMENT = 8
SUBMODE_PAPER = 0
SUBMODE_NO_PAPER_PASSIVE = 1
SUBMODE_NO_PAPER_ACTIVE = 2
SUBMODE_AFTER_NO_PAPER = 3

# Receipt types of command 8D (and the high nibble of mode 8)
RECEIPT_SALE, RECEIPT_PURCHASE, RECEIPT_RETURN, RECEIPT_RETURN_PURCHASE = 0, 1, 2, 3
# FF46 operation types (FFD): 1 приход, 2 возврат прихода, 3 расход, 4 возврат расхода
FN_OPERATION_TO_RECEIPT = {1: RECEIPT_SALE, 2: RECEIPT_RETURN, 3: RECEIPT_PURCHASE, 4: RECEIPT_RETURN_PURCHASE}
RECEIPT_NAMES = {0: "sale", 1: "purchase", 2: "return", 3: "return_purchase"}
RECEIPT_TITLES = {0: "ПРИХОД", 1: "РАСХОД", 2: "ВОЗВРАТ ПРИХОДА", 3: "ВОЗВРАТ РАСХОДА"}

# FF46 tax rate bits → VAT percent (None = без НДС); the basic rate (bit 0) is 22 % since 2026
TAX_BITS = {0x01: 22, 0x02: 10, 0x04: 0, 0x08: None, 0x10: 22, 0x20: 10, 0x40: 5, 0x80: 7}
TAX_NAMES = {0x01: "НДС 22%", 0x02: "НДС 10%", 0x04: "НДС 0%", 0x08: "БЕЗ НДС", 0x10: "НДС 22/122",
             0x20: "НДС 10/110", 0x40: "НДС 5%", 0x80: "НДС 7%"}
# Legacy 80h/82h tax groups 1..4 (table 6 of a typical setup) map onto the same bits
TAX_GROUP_BITS = {1: 0x01, 2: 0x02, 3: 0x04, 4: 0x08}

PRINTING_COMMANDS = {0x17, 0x25, 0x29, 0x40, 0x41, 0x50, 0x51, 0x80, 0x82, 0x85, 0x86, 0x87, 0x88, 0x8C,
                     0x8D, 0xB0, 0xC2, 0xDE, 0xE0, 0xFF45, 0xFF46}
SYSADMIN = 30
MAX_PAPER_LINES = 500
HEADER_TABLE = 4
HEADER_ROWS = 20

COMMAND_NAMES = {
    0x10: "short status", 0x11: "full status", 0x13: "beep", 0x17: "print string", 0x1E: "write table",
    0x1F: "read table", 0x21: "set time", 0x22: "set date", 0x23: "confirm date", 0x25: "cut", 0x28: "drawer",
    0x29: "feed", 0x40: "X report", 0x41: "Z report", 0x50: "cash in", 0x51: "cash out", 0x80: "sale",
    0x82: "return sale", 0x85: "close receipt", 0x86: "discount", 0x87: "surcharge", 0x88: "cancel receipt",
    0x89: "subtotal", 0x8C: "repeat document", 0x8D: "open receipt", 0xB0: "continue printing",
    0xC2: "EAN-13", 0xDD: "load data", 0xDE: "print 2D barcode", 0xE0: "open shift", 0xFC: "device type",
    0xFF01: "FN status", 0xFF0C: "send TLV", 0xFF45: "close receipt v2", 0xFF46: "operation v2",
    0xFF4D: "send operation TLV",
}


class CommandError(Exception):
    """A command refused with a protocol error byte."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _le(data: bytes) -> int:
    return int.from_bytes(data, "little")


def _int_bytes(value: int, size: int) -> bytes:
    return int(value).to_bytes(size, "little")


def _text(data: bytes) -> str:
    return data.split(b"\x00", 1)[0].decode("cp1251", "replace").rstrip()


def _lrc(data: bytes) -> int:
    out = 0
    for b in data:
        out ^= b
    return out


def _fresh_totals() -> dict[str, Any]:
    return {
        "receipts": {name: 0 for name in RECEIPT_NAMES.values()},
        "amounts": {name: 0 for name in RECEIPT_NAMES.values()},
        "payments": {name: [0] * 16 for name in RECEIPT_NAMES.values()},
        "vat": {},  # "sale:0x01" → {"amount": kopecks, "vat": kopecks}
        "discounts": 0,
        "cash_in": 0,
        "cash_out": 0,
        "cancelled": 0,
    }


def new_state(serial: str = "0012345678", inn: str = "7700000000", model: str = "ШТРИХ-М-01Ф",
              width: int = 36) -> dict[str, Any]:
    """A factory-fresh but fiscalised registrar: closed shift, empty drawer, demo header."""
    header = {str(row): "" for row in range(1, HEADER_ROWS + 1)}
    header.update({"11": "ООО \"ДЕМО\"", "12": "г. Москва, ул. Примерная, 1", "13": f"ИНН {inn}"})
    return {
        "version": 1,
        "model": model,
        "serial": serial,
        "inn": inn,
        "fn_number": "9999078900012345",
        "width": width,
        "clock_offset": 0.0,
        "shift_open": False,
        "shift_number": 0,  # the Z counter: number of the last closed shift (or the open one)
        "shift_opened_at": None,
        "doc_number": 0,  # through number of every printed document
        "fd_number": 0,  # the last fiscal document number in the FN
        "receipt_number": 0,  # receipts in the current shift
        "receipt": None,
        "cash": 0,
        "totals": _fresh_totals(),
        "grand_totals": {name: 0 for name in RECEIPT_NAMES.values()},
        "tables": {str(HEADER_TABLE): header, "1": {}, "2": {}},
        "paper": True,
        "cover_open": False,
        "drawer_open": False,
        "submode": SUBMODE_PAPER,
        "pending_print": [],
        "pending_date": None,
        "last_document": [],
        "tape": [],
        "pending_tlv": [],
        "data_blocks": {},
    }


class ShtrihEmulator:
    """The registrar: ``feed`` speaks the link layer, ``control`` injects faults and inspects."""

    def __init__(self, state_path: Path | None = None, *, serial: str | None = None, inn: str | None = None,
                 model: str | None = None, width: int | str | None = None):
        self.state_path = Path(state_path) if state_path else None
        self.defaults = {"serial": serial or "0012345678", "inn": inn or "7700000000",
                         "model": model or "ШТРИХ-М-01Ф", "width": int(width or 36)}
        self.powered = True
        self.rx = bytearray()
        self.rx_time = 0.0
        self.pending_answer: bytes | None = None
        self.faults: dict[str, Any] = {}
        self.commands_executed = 0
        self.state = self._load()

    # --- persistence --------------------------------------------------------------------------
    def _load(self) -> dict[str, Any]:
        saved = read_state(self.state_path)
        if saved is None:
            state = new_state(**self.defaults)
            if self.state_path:
                write_state(self.state_path, state)
            return state
        state = new_state(**self.defaults)
        state.update(saved)
        return state

    def _save(self) -> None:
        if self.state_path:
            write_state(self.state_path, self.state)

    # --- clock --------------------------------------------------------------------------------
    def now(self) -> datetime:
        return (datetime.now() + timedelta(seconds=self.state["clock_offset"])).replace(microsecond=0)

    # --- link layer ---------------------------------------------------------------------------
    def feed(self, data: bytes) -> bytes:
        if not self.powered:
            return b""
        out = bytearray()
        now = time.monotonic()
        if self.rx and now - self.rx_time > FRAME_BYTE_TIMEOUT:
            self.rx.clear()  # the rest of that frame never came: the device forgets it
        for byte in data:
            if not self.powered:
                break
            if self.rx:
                self.rx.append(byte)
                self.rx_time = now
                if len(self.rx) >= 2 and len(self.rx) == self.rx[1] + 3:
                    out += self._frame_complete(bytes(self.rx))
                    self.rx.clear()
                continue
            if byte == STX:
                self.rx = bytearray([STX])
                self.rx_time = now
            elif byte == ENQ:
                if self.pending_answer is not None:
                    out.append(ACK)
                    out += self.pending_answer
                else:
                    out.append(NAK)
            elif byte == ACK:
                self.pending_answer = None
            elif byte == NAK:
                if self.pending_answer is not None:
                    out += self.pending_answer
            # anything else is line noise between frames: a device ignores it
        return bytes(out)

    def _frame_complete(self, frame: bytes) -> bytes:
        length = frame[1]
        body = frame[2:2 + length]
        if length == 0 or _lrc(frame[1:2 + length]) != frame[-1]:
            return bytes([NAK])
        if self.faults.pop("ignore-next-frame", False):
            return b""  # as if the frame was lost on the line: no ACK, nothing executed
        self.pending_answer = None  # a new command implicitly confirms the previous answer
        if body[0] == 0xFF and len(body) >= 2:
            code, data = 0xFF00 | body[1], body[2:]
        else:
            code, data = body[0], body[1:]
        armed = self.faults.get("power-loss-at")
        if armed and armed[0] == code and armed[1] == "before":
            self.faults.pop("power-loss-at")
            self._power_loss()
            return b""
        answer_payload = self._execute(code, data)
        if armed and armed[0] == code and armed[1] == "after":
            self.faults.pop("power-loss-at")
            self._power_loss()
            return bytes([ACK])  # it took the command, committed it, and died before answering
        cmd_bytes = bytes([0xFF, code & 0xFF]) if code > 0xFF else bytes([code])
        answer_body = cmd_bytes + answer_payload
        answer = bytes([STX, len(answer_body)]) + answer_body
        answer += bytes([_lrc(answer[1:])])
        self.pending_answer = answer
        if self.faults.pop("corrupt-next-answer", False):
            return bytes([ACK]) + answer[:-1] + bytes([answer[-1] ^ 0xFF])
        if self.faults.pop("lose-next-answer", False):
            return bytes([ACK])
        return bytes([ACK]) + answer

    # --- command dispatch ---------------------------------------------------------------------
    def _execute(self, code: int, data: bytes) -> bytes:
        """Run one command; the answer payload is the error byte and the command's data."""
        self.commands_executed += 1
        before = orjson.dumps(self.state, option=orjson.OPT_SORT_KEYS)  # to roll back a refused command
        try:
            handler = getattr(self, f"_cmd_{code:02x}", None)
            if handler is None:
                raise CommandError(0x37)
            if code in PRINTING_COMMANDS:
                if self.faults.get("busy-printing"):
                    self.faults["busy-printing"] -= 1  # still printing the previous document
                    raise CommandError(0x50)
                self._check_printer(code)
            result = handler(data) or b""
            payload = b"\x00" + result
        except CommandError as exc:
            self.state = orjson.loads(before)  # a refused command changes nothing
            payload = bytes([exc.code])
        except (IndexError, ValueError, UnicodeError, OverflowError):
            self.state = orjson.loads(before)
            payload = bytes([0x33])  # a short or malformed command
        if orjson.dumps(self.state, option=orjson.OPT_SORT_KEYS) != before:
            self._save()
        return payload

    # --- helpers ------------------------------------------------------------------------------
    def _operator(self, data: bytes, *, admin: bool = False) -> int:
        if len(data) < 4:
            raise CommandError(0x33)
        password = _le(data[:4])
        if admin:
            if password != SYSADMIN:
                raise CommandError(0x4F)
            return SYSADMIN
        if not 1 <= password <= SYSADMIN:
            raise CommandError(0x4F)
        return password  # default passwords equal the operator's number

    def _mode(self) -> int:
        s = self.state
        if s["receipt"] is not None:
            return MODE_DOCUMENT | (s["receipt"]["type"] << 4)
        if not s["shift_open"]:
            return MODE_SHIFT_CLOSED
        if self._shift_over_24h():
            return MODE_SHIFT_OVER_24H
        return MODE_SHIFT_OPEN

    def _shift_over_24h(self) -> bool:
        opened = self.state["shift_opened_at"]
        return bool(opened) and self.now() - datetime.fromisoformat(opened) > timedelta(hours=24)

    def _check_printer(self, code: int) -> None:
        s = self.state
        if s["submode"] == SUBMODE_AFTER_NO_PAPER and code != 0xB0:
            raise CommandError(0x58)
        if not s["paper"] or s["cover_open"]:
            raise CommandError(0x6B)

    def _flags(self) -> int:
        s = self.state
        paper = s["paper"] and not s["cover_open"]
        flags = 0
        flags |= 0x0002 if paper else 0  # receipt roll
        flags |= 0x0080 if paper else 0  # receipt optical sensor
        flags |= 0x0200  # receipt thermal head lever down
        flags |= 0x0400 if s["cover_open"] else 0
        flags |= 0x0800 if s["drawer_open"] else 0
        return flags

    def _print(self, *lines: str) -> None:
        """Lines go to the tape; when the paper is set to run out, they wait for command B0."""
        s = self.state
        if self.faults.get("paper-runout"):
            self.faults.pop("paper-runout")
            half = max(1, len(lines) // 2)
            printed, rest = lines[:half], lines[half:]
            s["tape"].extend(printed)
            s["pending_print"].extend(rest)
            s["paper"] = False
            s["submode"] = SUBMODE_NO_PAPER_ACTIVE
        elif s["pending_print"] or s["submode"] in (SUBMODE_NO_PAPER_ACTIVE, SUBMODE_AFTER_NO_PAPER):
            s["pending_print"].extend(lines)
        else:
            s["tape"].extend(lines)
        if len(s["tape"]) > MAX_PAPER_LINES:
            del s["tape"][: len(s["tape"]) - MAX_PAPER_LINES]

    def _line(self, left: str, right: str = "") -> str:
        width = self.state["width"]
        if not right:
            return left[:width]
        room = max(width - len(right) - 1, 0)
        return f"{left[:room]:<{room}} {right}"

    @staticmethod
    def _money(kopecks: int) -> str:
        sign = "-" if kopecks < 0 else ""
        return f"{sign}{abs(kopecks) // 100}.{abs(kopecks) % 100:02d}"

    def _header_lines(self) -> list[str]:
        rows = self.state["tables"][str(HEADER_TABLE)]
        return [rows[str(r)] for r in range(1, HEADER_ROWS + 1) if rows.get(str(r))]

    def _new_document(self) -> int:
        self.state["doc_number"] += 1
        return self.state["doc_number"]

    def _fiscal_sign(self, fd: int) -> int:
        return (int(self.state["serial"]) * 7919 + fd * 104729) % 4_294_967_291

    def _require_shift_for_sale(self) -> None:
        s = self.state
        if not s["shift_open"]:
            raise CommandError(0x3D)
        if self._shift_over_24h():
            raise CommandError(0x4E)

    def _open_receipt(self, receipt_type: int, operator: int) -> None:
        s = self.state
        if s["receipt"] is not None:
            raise CommandError(0x4A)
        self._require_shift_for_sale()
        s["receipt"] = {"type": receipt_type, "operator": operator, "items": [], "discounts": [], "total": 0,
                        "opened_at": self.now().isoformat(), "tlv": []}
        self._print(*self._header_lines(), self._line(RECEIPT_TITLES[receipt_type]))

    def _receipt_for(self, receipt_type: int, operator: int) -> dict[str, Any]:
        s = self.state
        if s["receipt"] is None:
            self._open_receipt(receipt_type, operator)  # 80h/82h/FF46 open a receipt implicitly
        receipt = s["receipt"]
        if receipt["type"] != receipt_type:
            raise CommandError(0x49)
        if receipt["operator"] != operator and operator != SYSADMIN:
            raise CommandError(0x59)
        return receipt

    def _add_item(self, receipt: dict[str, Any], *, name: str, price: int, qty_thousandths: int, amount: int,
                  department: int, tax_bit: int, vat: int | None) -> None:
        if price < 0 or price > 99_999_999_99:
            raise CommandError(0x61)
        if qty_thousandths <= 0 or qty_thousandths > 99_999_999:
            raise CommandError(0x62)
        if not 0 <= department <= 16:
            raise CommandError(0x63)
        if amount < 0:
            raise CommandError(0x33)
        if len(receipt["items"]) >= 200:
            raise CommandError(0x94)
        receipt["items"].append({"name": name, "price": price, "qty": qty_thousandths, "amount": amount,
                                 "department": department, "tax_bit": tax_bit, "vat": vat,
                                 "tlv": []})
        receipt["total"] += amount
        qty = f"{qty_thousandths // 1000}.{qty_thousandths % 1000:03d}"
        gross = (price * qty_thousandths + 500) // 1000
        lines = [self._line(name), self._line(f"  {qty} x {self._money(price)}", f"={self._money(gross)}")]
        if amount != gross:
            lines.append(self._line("  СКИДКА" if amount < gross else "  НАДБАВКА", self._money(amount - gross)))
        self._print(*lines, self._line(f"  {TAX_NAMES.get(tax_bit, '')}"))

    @staticmethod
    def _vat_of(amount: int, percent: int | None) -> int:
        if not percent:
            return 0
        num = amount * percent
        den = 100 + percent
        q, r = divmod(num, den)
        return q + (1 if r * 2 >= den else 0)

    def _close_receipt(self, payments: list[int], text: str) -> tuple[int, int, int]:
        """Close the open receipt: checks payments, moves money, writes the FN document."""
        s = self.state
        receipt = s["receipt"]
        if receipt is None:
            raise CommandError(0x55)
        total = receipt["total"]
        if total == 0 and not receipt["items"]:
            raise CommandError(0x8E)
        paid = sum(payments)
        non_cash = paid - payments[0]
        if paid < total:
            raise CommandError(0x45)
        if non_cash > total:
            raise CommandError(0x4D)
        change = paid - total
        kind = RECEIPT_NAMES[receipt["type"]]
        is_return = receipt["type"] in (RECEIPT_RETURN, RECEIPT_PURCHASE)
        cash_delta = payments[0] - change
        if is_return and cash_delta > s["cash"]:
            raise CommandError(0x46)
        s["cash"] += -cash_delta if is_return else cash_delta
        totals = s["totals"]
        totals["receipts"][kind] += 1
        totals["amounts"][kind] += total
        for i, value in enumerate(payments):
            totals["payments"][kind][i] += value - (change if i == 0 else 0)
        for item in receipt["items"]:
            key = f"{kind}:0x{item['tax_bit']:02x}"
            bucket = totals["vat"].setdefault(key, {"amount": 0, "vat": 0})
            bucket["amount"] += item["amount"]
            bucket["vat"] += item.get("vat_amount", self._vat_of(item["amount"], item["vat"]))
        s["grand_totals"][kind] += total
        s["receipt_number"] += 1
        s["fd_number"] += 1
        doc = self._new_document()
        fd = s["fd_number"]
        fiscal_sign = self._fiscal_sign(fd)
        lines = []
        lines.append(self._line("ИТОГ", f"={self._money(total)}"))
        names = ["НАЛИЧНЫМИ", "БЕЗНАЛИЧНЫМИ"] + [f"ТИП ОПЛАТЫ {i}" for i in range(3, 17)]
        for i, value in enumerate(payments):
            if value:
                lines.append(self._line(names[i], f"={self._money(value)}"))
        if change:
            lines.append(self._line("СДАЧА", f"={self._money(change)}"))
        if text:
            lines.append(self._line(text))
        for tlv in receipt["tlv"]:
            if tlv["tag"] == 1021:
                lines.append(self._line(f"КАССИР {bytes.fromhex(tlv['value']).decode('cp866', 'replace')}"))
        lines += [self._line(f"ЧЕК {s['receipt_number']}  СМЕНА {s['shift_number']}", f"ДОК {doc}"),
                  self._line(f"ФН {s['fn_number']}"), self._line(f"ФД {fd}", f"ФП {fiscal_sign:010d}"),
                  self._line(self.now().strftime("%d.%m.%y %H:%M"))]
        self._print(*lines)
        s["last_document"] = {"type": kind, "fd": fd, "doc": doc, "total": total, "payments": payments,
                              "items": receipt["items"], "discounts": receipt["discounts"]}
        s["receipt"] = None
        return change, fd, fiscal_sign

    # --- commands -----------------------------------------------------------------------------
    def _cmd_10(self, data: bytes) -> bytes:
        op = self._operator(data)
        s = self.state
        ops = len(s["receipt"]["items"]) if s["receipt"] else 0
        return (bytes([op]) + _int_bytes(self._flags(), 2) + bytes([self._mode(), s["submode"], ops & 0xFF,
                                                                    0x9B, 0xC8, 0, 0, ops >> 8]) + b"\x00" * 3)

    def _cmd_11(self, data: bytes) -> bytes:
        op = self._operator(data)
        s = self.state
        now = self.now()
        inn = int(s["inn"] or 0)
        return (bytes([op]) + b"A1" + _int_bytes(2654, 2) + bytes([1, 3, 24]) + bytes([1])
                + _int_bytes(s["doc_number"] & 0xFFFF, 2) + _int_bytes(self._flags(), 2)
                + bytes([self._mode(), s["submode"], 0]) + b"A1" + _int_bytes(2654, 2) + bytes([1, 3, 24])
                + bytes([now.day, now.month, now.year % 100, now.hour, now.minute, now.second])
                + bytes([0x03]) + _int_bytes(int(s["serial"]) & 0xFFFFFFFF, 4)
                + _int_bytes(s["shift_number"] - (1 if s["shift_open"] else 0), 2) + _int_bytes(2000, 2) + bytes([1, 29]) + _int_bytes(inn, 6))

    def _cmd_13(self, data: bytes) -> bytes:
        return bytes([self._operator(data)])

    def _cmd_17(self, data: bytes) -> bytes:
        op = self._operator(data)
        flags = data[4]
        if not flags & 0x03:
            raise CommandError(0x33)
        if flags & 0x02:
            self._print(self._line(_text(data[5:45])))
        return bytes([op])

    def _cmd_1e(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        table, row, field = data[4], _le(data[5:7]), data[7]
        value = data[8:]
        if table not in (1, 2, HEADER_TABLE):
            raise CommandError(0x5D)
        if table == HEADER_TABLE:
            if not 1 <= row <= HEADER_ROWS or field != 1:
                raise CommandError(0x33)
            if len(value) > self.state["width"] + 4 or len(value) > 64:
                raise CommandError(0x90)
            self.state["tables"][str(table)][str(row)] = _text(value)
        else:
            self.state["tables"][str(table)][f"{row}.{field}"] = value.hex()
        return b""

    def _cmd_1f(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        table, row, field = data[4], _le(data[5:7]), data[7]
        if table not in (1, 2, HEADER_TABLE):
            raise CommandError(0x5D)
        if table == HEADER_TABLE:
            if not 1 <= row <= HEADER_ROWS or field != 1:
                raise CommandError(0x33)
            text = self.state["tables"][str(table)].get(str(row), "")
            return text.encode("cp1251", "replace").ljust(self.state["width"] + 4, b"\x00")
        raw = self.state["tables"][str(table)].get(f"{row}.{field}")
        return bytes.fromhex(raw) if raw else b"\x00"

    def _set_clock(self, target: datetime) -> None:
        self.state["clock_offset"] = (target - datetime.now()).total_seconds()

    def _cmd_21(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        hour, minute, second = data[4], data[5], data[6]
        if hour > 23 or minute > 59 or second > 59:
            raise CommandError(0x33)
        now = self.now()
        self._set_clock(now.replace(hour=hour, minute=minute, second=second))
        return b""

    def _cmd_22(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        if self.state["shift_open"]:
            raise CommandError(0x3C)
        day, month, year = data[4], data[5], data[6]
        try:
            datetime(2000 + year, month, day)
        except ValueError:
            raise CommandError(0x7D) from None
        self.state["pending_date"] = [day, month, year]
        return b""

    def _cmd_23(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        day, month, year = data[4], data[5], data[6]
        if self.state["pending_date"] != [day, month, year]:
            raise CommandError(0x7C)
        now = self.now()
        self._set_clock(now.replace(year=2000 + year, month=month, day=day))
        self.state["pending_date"] = None
        return b""

    def _cmd_25(self, data: bytes) -> bytes:
        op = self._operator(data)
        self._print("-" * self.state["width"] + (" ✂ partial" if data[4:5] == b"\x01" else " ✂"))
        return bytes([op])

    def _cmd_28(self, data: bytes) -> bytes:
        op = self._operator(data)
        self.state["drawer_open"] = True
        self.state["drawer_pulses"] = self.state.get("drawer_pulses", 0) + 1
        return bytes([op])

    def _cmd_29(self, data: bytes) -> bytes:
        op = self._operator(data)
        lines = data[5] if len(data) > 5 else 1
        self._print(*([""] * min(lines, 50)))
        return bytes([op])

    def _report_lines(self, title: str) -> list[str]:
        s = self.state
        t = s["totals"]
        lines = [*self._header_lines(), self._line(title), self._line(f"СМЕНА {s['shift_number']}"),
                 self._line("ЧЕКОВ ЗА СМЕНУ", str(s["receipt_number"]))]
        for kind in RECEIPT_NAMES.values():
            if t["receipts"][kind]:
                lines.append(self._line(f"{kind.upper()} {t['receipts'][kind]}", self._money(t["amounts"][kind])))
        lines += [self._line("ВНЕСЕНИЙ", self._money(t["cash_in"])), self._line("ВЫПЛАТ", self._money(t["cash_out"])),
                  self._line("НАЛИЧНЫХ В КАССЕ", self._money(s["cash"]))]
        return lines

    def _cmd_40(self, data: bytes) -> bytes:
        op = self._operator(data)
        if self.state["receipt"] is not None:
            raise CommandError(0x4A)
        self._new_document()
        self._print(*self._report_lines("СУТОЧНЫЙ ОТЧЕТ БЕЗ ГАШЕНИЯ"))
        return bytes([op])

    def _cmd_41(self, data: bytes) -> bytes:
        op = self._operator(data)
        s = self.state
        if s["receipt"] is not None:
            raise CommandError(0x4A)
        if not s["shift_open"]:
            raise CommandError(0x3D)
        self._new_document()
        s["fd_number"] += 1
        cashier = self._take_tlv(1021)
        self._print(*self._report_lines("ОТЧЕТ О ЗАКРЫТИИ СМЕНЫ"), self._line(f"ФД {s['fd_number']}"),
                    *([self._line(f"КАССИР {cashier}")] if cashier else []))
        s["shift_open"] = False
        s["shift_opened_at"] = None
        s["last_z_totals"] = s["totals"]
        s["totals"] = _fresh_totals()
        s["receipt_number"] = 0
        return bytes([op])

    def _cash_move(self, data: bytes, inward: bool) -> bytes:
        op = self._operator(data)
        s = self.state
        amount = _le(data[4:9])
        if s["receipt"] is not None:
            raise CommandError(0x4A)
        self._require_shift_for_sale()
        if amount <= 0:
            raise CommandError(0x33)
        if not inward and amount > s["cash"]:
            raise CommandError(0x46)
        s["cash"] += amount if inward else -amount
        s["totals"]["cash_in" if inward else "cash_out"] += amount
        doc = self._new_document()
        self._print(self._line("ВНЕСЕНИЕ" if inward else "ВЫПЛАТА", self._money(amount)), self._line(f"ДОК {doc}"))
        return bytes([op]) + _int_bytes(doc & 0xFFFF, 2)

    def _cmd_50(self, data: bytes) -> bytes:
        return self._cash_move(data, True)

    def _cmd_51(self, data: bytes) -> bytes:
        return self._cash_move(data, False)

    def _legacy_item(self, data: bytes, receipt_type: int) -> bytes:
        op = self._operator(data)
        qty, price, dept = _le(data[4:9]), _le(data[9:14]), data[14]
        taxes = [t for t in data[15:19] if t]
        name = _text(data[19:59])
        tax_bit = TAX_GROUP_BITS.get(taxes[0], 0x08) if taxes else 0x08
        receipt = self._receipt_for(receipt_type, op)
        amount = (price * qty + 500) // 1000
        self._add_item(receipt, name=name, price=price, qty_thousandths=qty, amount=amount, department=dept,
                       tax_bit=tax_bit, vat=TAX_BITS.get(tax_bit))
        return bytes([op])

    def _cmd_80(self, data: bytes) -> bytes:
        return self._legacy_item(data, RECEIPT_SALE)

    def _cmd_82(self, data: bytes) -> bytes:
        return self._legacy_item(data, RECEIPT_RETURN)

    def _cmd_85(self, data: bytes) -> bytes:
        op = self._operator(data)
        payments = [_le(data[4 + 5 * i: 9 + 5 * i]) for i in range(4)] + [0] * 12
        percent = int.from_bytes(data[24:26], "little", signed=True)
        if percent:
            raise CommandError(0x36)  # a percent discount on close is not supported by this model
        text = _text(data[30:70])
        change, _fd, _sign = self._close_receipt(payments, text)
        return bytes([op]) + _int_bytes(change, 5)

    def _adjustment(self, data: bytes, sign: int) -> bytes:
        op = self._operator(data)
        receipt = self.state["receipt"]
        if receipt is None:
            raise CommandError(0x55)
        amount = _le(data[4:9])
        text = _text(data[13:53])
        if amount <= 0:
            raise CommandError(0x33)
        if sign < 0 and amount > receipt["total"]:
            raise CommandError(0x5A)
        receipt["total"] += sign * amount
        receipt["discounts"].append({"kind": "discount" if sign < 0 else "surcharge", "amount": amount, "text": text})
        self.state["totals"]["discounts"] += amount if sign < 0 else 0
        self._print(self._line(("СКИДКА " if sign < 0 else "НАДБАВКА ") + text,
                               ("-" if sign < 0 else "+") + self._money(amount)))
        return bytes([op])

    def _cmd_86(self, data: bytes) -> bytes:
        return self._adjustment(data, -1)

    def _cmd_87(self, data: bytes) -> bytes:
        return self._adjustment(data, +1)

    def _cmd_88(self, data: bytes) -> bytes:
        op = self._operator(data)
        s = self.state
        if s["receipt"] is None:
            raise CommandError(0x55)
        s["receipt"] = None
        s["totals"]["cancelled"] += 1
        self._new_document()
        self._print(self._line("ЧЕК АННУЛИРОВАН"))
        return bytes([op])

    def _cmd_89(self, data: bytes) -> bytes:
        op = self._operator(data)
        receipt = self.state["receipt"]
        if receipt is None:
            raise CommandError(0x55)
        return bytes([op]) + _int_bytes(receipt["total"], 5)

    def _cmd_8c(self, data: bytes) -> bytes:
        op = self._operator(data)
        last = self.state["last_document"]
        if not last:
            raise CommandError(0x56)
        self._print(self._line("КОПИЯ"), self._line(f"ФД {last['fd']}", f"={self._money(last['total'])}"))
        return bytes([op])

    def _cmd_8d(self, data: bytes) -> bytes:
        op = self._operator(data)
        receipt_type = data[4]
        if receipt_type not in RECEIPT_NAMES:
            raise CommandError(0x33)
        self._open_receipt(receipt_type, op)
        return bytes([op])

    def _cmd_b0(self, data: bytes) -> bytes:
        op = self._operator(data)
        s = self.state
        if s["submode"] != SUBMODE_AFTER_NO_PAPER:
            raise CommandError(0x72) if s["submode"] else CommandError(0x34)
        s["tape"].append(self._line("*** ПРОДОЛЖЕНИЕ ПЕЧАТИ ***"))
        s["tape"].extend(s["pending_print"])
        s["pending_print"] = []
        s["submode"] = SUBMODE_PAPER
        return bytes([op])

    def _cmd_c2(self, data: bytes) -> bytes:
        op = self._operator(data)
        code = _le(data[4:9])
        if code >= 10**12:
            raise CommandError(0x33)
        body = f"{code:012d}"
        odd = sum(int(c) for c in body[0::2])
        even = sum(int(c) for c in body[1::2])
        self._print(f"[EAN-13 {body}{(10 - (odd + 3 * even) % 10) % 10}]")
        return bytes([op])

    def _cmd_dd(self, data: bytes) -> bytes:
        op = self._operator(data)
        data_type, block = data[4], data[5]
        if data_type != 0:
            raise CommandError(0x33)
        self.state["data_blocks"][str(block)] = data[6:70].hex()
        return bytes([op])

    def _cmd_de(self, data: bytes) -> bytes:
        op = self._operator(data)
        kind, length, start = data[4], _le(data[5:7]), data[7]
        blocks = self.state["data_blocks"]
        raw = b""
        block = start
        while len(raw) < length:
            if str(block) not in blocks:
                raise CommandError(0x33)
            raw += bytes.fromhex(blocks[str(block)])
            block += 1
        names = {0: "PDF417", 1: "DATAMATRIX", 2: "AZTEC", 3: "QR"}
        if kind not in names:
            raise CommandError(0x33)
        self._print(f"[{names[kind]} {raw[:length].decode('cp1251', 'replace')}]")
        self.state["data_blocks"] = {}
        return bytes([op])

    def _cmd_e0(self, data: bytes) -> bytes:
        op = self._operator(data)
        s = self.state
        if s["shift_open"]:
            raise CommandError(0x3C)
        s["shift_open"] = True
        s["shift_number"] += 1
        s["shift_opened_at"] = self.now().isoformat()
        s["receipt_number"] = 0
        s["fd_number"] += 1
        self._new_document()
        cashier = self._take_tlv(1021)
        self._print(*self._header_lines(), self._line("ОТЧЕТ ОБ ОТКРЫТИИ СМЕНЫ"),
                    self._line(f"СМЕНА {s['shift_number']}", f"ФД {s['fd_number']}"),
                    *( [self._line(f"КАССИР {cashier}")] if cashier else []))
        return bytes([op])

    def _take_tlv(self, tag: int) -> str | None:
        """The pending tags belong to the next shift document: take them all, return ``tag`` as text."""
        pending, self.state["pending_tlv"] = self.state["pending_tlv"], []
        for item in pending:
            if item["tag"] == tag:
                return bytes.fromhex(item["value"]).decode("cp866", "replace")
        return None

    def _cmd_fc(self, data: bytes) -> bytes:
        name = self.state["model"].encode("cp1251", "replace")
        return bytes([0, 0, 1, 12, 19, 0]) + name

    def _cmd_ff01(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        s = self.state
        now = self.now()
        current_doc = 0x04 if s["receipt"] is not None else 0x00
        return (bytes([0x0F, current_doc, 0x01 if s["receipt"] and s["receipt"]["items"] else 0x00,
                       1 if s["shift_open"] else 0, 0x00])
                + bytes([now.year % 100, now.month, now.day, now.hour, now.minute])
                + s["fn_number"].encode("ascii").ljust(16, b"0")[:16] + _int_bytes(s["fd_number"], 4))

    @staticmethod
    def _parse_tlv(raw: bytes) -> list[dict[str, Any]]:
        out, pos = [], 0
        while pos < len(raw):
            if pos + 4 > len(raw):
                raise CommandError(0x33)
            tag, length = _le(raw[pos:pos + 2]), _le(raw[pos + 2:pos + 4])
            value = raw[pos + 4:pos + 4 + length]
            if len(value) != length:
                raise CommandError(0x33)
            out.append({"tag": tag, "value": value.hex()})
            pos += 4 + length
        return out

    def _cmd_ff0c(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        tlv = self._parse_tlv(data[4:])
        receipt = self.state["receipt"]
        if receipt is not None:
            receipt["tlv"].extend(tlv)
        else:
            self.state["pending_tlv"].extend(tlv)  # e.g. the cashier's name before opening the shift
        return b""

    def _cmd_ff4d(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        receipt = self.state["receipt"]
        if receipt is None or not receipt["items"]:
            raise CommandError(0x02)  # FN: wrong state — no operation to bind to
        receipt["items"][-1]["tlv"].extend(self._parse_tlv(data[4:]))
        return b""

    def _cmd_ff46(self, data: bytes) -> bytes:
        op = self._operator(data, admin=True)
        operation = data[4]
        if operation not in FN_OPERATION_TO_RECEIPT:
            raise CommandError(0x33)
        qty_millionths = _le(data[5:11])
        price = _le(data[11:16])
        amount_raw, tax_raw = _le(data[16:21]), _le(data[21:26])
        tax_bit, department = data[26], data[27]
        payment_method, payment_object = data[28], data[29]
        name = _text(data[30:158])
        if tax_bit not in TAX_BITS:
            raise CommandError(0x33)
        if qty_millionths % 1000:
            raise CommandError(0x62)  # this model keeps three decimals of quantity
        if not 1 <= payment_method <= 7 or not 1 <= payment_object <= 33:
            raise CommandError(0x33)
        qty = qty_millionths // 1000
        amount = (price * qty + 500) // 1000 if amount_raw == 0xFFFFFFFFFF else amount_raw
        receipt = self._receipt_for(FN_OPERATION_TO_RECEIPT[operation], op)
        self._add_item(receipt, name=name, price=price, qty_thousandths=qty, amount=amount, department=department,
                       tax_bit=tax_bit, vat=TAX_BITS[tax_bit])
        item = receipt["items"][-1]
        item["payment_method"], item["payment_object"] = payment_method, payment_object
        item["vat_amount"] = self._vat_of(amount, TAX_BITS[tax_bit]) if tax_raw == 0xFFFFFFFFFF else tax_raw
        return b""

    def _cmd_ff45(self, data: bytes) -> bytes:
        self._operator(data, admin=True)
        payments = [_le(data[4 + 5 * i: 9 + 5 * i]) for i in range(16)]
        # rounding (1 byte) at 84, six tax sums at 85..114, taxation system at 115, text after
        tax_system = data[115]
        if tax_system not in (1, 2, 4, 8, 16, 32):
            raise CommandError(0x33)
        text = _text(data[116:180])
        change, fd, sign = self._close_receipt(payments, text)
        return _int_bytes(change, 5) + _int_bytes(fd, 4) + _int_bytes(sign, 4)

    # --- faults and inspection ----------------------------------------------------------------
    def _power_loss(self) -> None:
        """The device dies: RAM that is not battery-backed is gone, the link is silent."""
        self.powered = False
        self.rx.clear()
        self.pending_answer = None
        self.faults.clear()

    def control(self, command: str) -> str:
        parts = command.split()
        name, args = parts[0].lower(), parts[1:]
        s = self.state
        if name == "help":
            return ("state paper factory-reset paper-out paper-in paper-runout cover-open cover-close power-loss "
                    "power-loss-at CMD before|after power-on advance-clock SECONDS drawer-close busy-printing N "
                    "corrupt-next-answer ignore-next-frame lose-next-answer")
        if name == "state":
            return json.dumps(self.summary(), ensure_ascii=False)
        if name == "paper":
            return json.dumps(s["tape"], ensure_ascii=False)
        if name == "paper-out":
            s["paper"] = False
            if s["submode"] == SUBMODE_PAPER:
                s["submode"] = SUBMODE_NO_PAPER_PASSIVE
        elif name == "paper-in":
            s["paper"] = True
            if s["submode"] == SUBMODE_NO_PAPER_ACTIVE:
                s["submode"] = SUBMODE_AFTER_NO_PAPER
            elif s["submode"] == SUBMODE_NO_PAPER_PASSIVE:
                s["submode"] = SUBMODE_PAPER
        elif name == "paper-runout":
            self.faults["paper-runout"] = True
        elif name == "cover-open":
            s["cover_open"] = True
        elif name == "cover-close":
            s["cover_open"] = False
        elif name == "drawer-close":
            s["drawer_open"] = False
        elif name == "power-loss":
            self._power_loss()
            return "ok"
        elif name == "power-loss-at":
            if len(args) != 2 or args[1] not in ("before", "after"):
                raise ValueError("usage: power-loss-at CMD before|after (CMD in hex, e.g. FF45)")
            self.faults["power-loss-at"] = (int(args[0], 16), args[1])
            return "ok"
        elif name == "power-on":
            self.powered = True
            self.rx.clear()
            self.pending_answer = None
            if self.state_path:
                self.state = self._load()  # boot from what was committed
            return "ok"
        elif name == "factory-reset":
            self.state = new_state(**self.defaults)
            self.faults.clear()
            self.powered = True
            self.rx.clear()
            self.pending_answer = None
            self.commands_executed = 0
        elif name == "advance-clock":
            if len(args) != 1:
                raise ValueError("usage: advance-clock SECONDS")
            s["clock_offset"] += float(args[0])
        elif name == "busy-printing":
            if len(args) != 1 or not args[0].isdigit():
                raise ValueError("usage: busy-printing N")
            self.faults["busy-printing"] = int(args[0])
            return "ok"
        elif name in ("corrupt-next-answer", "ignore-next-frame", "lose-next-answer"):
            self.faults[name] = True
            return "ok"
        else:
            raise ValueError(f"unknown command {name!r}; try help")
        self._save()
        return "ok"

    def summary(self) -> dict[str, Any]:
        s = self.state
        mode = self._mode()
        return {
            "powered": self.powered, "mode": mode & 0x0F, "mode_byte": mode, "submode": s["submode"],
            "shift_open": s["shift_open"], "shift_number": s["shift_number"], "doc_number": s["doc_number"],
            "fd_number": s["fd_number"], "receipt_number": s["receipt_number"], "cash": s["cash"],
            "receipt": s["receipt"], "totals": s["totals"], "paper": s["paper"], "cover_open": s["cover_open"],
            "drawer_open": s["drawer_open"], "header": self._header_lines(), "pending_print": s["pending_print"],
            "last_document": s["last_document"], "last_z_totals": s.get("last_z_totals"),
            "clock": self.now().isoformat(),
            "commands_executed": self.commands_executed,
        }


def make_emulator(state_path: Path | None, **options: Any) -> ShtrihEmulator:
    """The ``icecash emulator shtrih`` entry point (options: serial, inn, model, width)."""
    unknown = set(options) - {"serial", "inn", "model", "width"}
    if unknown:
        raise ValueError(f"unknown Shtrih-M emulator options: {', '.join(sorted(unknown))}")
    serial = options.get("serial")
    if serial is not None and not str(serial).isdigit():
        raise ValueError("--serial must be digits")
    inn = options.get("inn")
    if inn is not None and not (str(inn).isdigit() and len(str(inn)) in (10, 12)):
        raise ValueError("--inn must be 10 or 12 digits")
    return ShtrihEmulator(state_path, **options)
