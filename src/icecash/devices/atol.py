"""An ATOL fiscal registrar speaking the legacy protocol v2, seen from the device's side.

It keeps fiscal state the way a registrar does: the shift (open/closed, its number, the 24-hour
limit on the device clock), the receipt state machine (closed → sale/return open → paid → closed,
or cancelled), document and receipt numbers, cash in the drawer, shift totals per receipt type,
payment type and tax code, the Z counter, tables (header lines, cashier), and a paper tape of what
it printed. The state is written to ``--state`` (atomically) after every change, so a killed and
restarted emulator keeps its fiscal memory.

Faults (control channel): ``paper-out`` / ``paper-in``, ``paper-runout`` (the roll ends during the
next printing command), ``cover-open`` / ``cover-close``,
``power-loss`` / ``power-on`` (an open receipt is annulled at power-on, as the device does),
``power-loss-on-close`` (the next close is fiscalised, then the power fails before the answer),
``nak-next`` (NAK the host's next frame once), ``corrupt-next`` (send the next answer with a bad
CRC once), ``advance SECONDS`` (move the device clock, e.g. past the 24-hour limit).
See docs/printing/atol.md for the commands and their data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from icecash.core.money import div_half_up, format_money, format_quantity, line_amount
from icecash.devices.base import read_state, write_state
from icecash.printd.drivers import atol_protocol as p
from icecash.printd.drivers.escpos import wrap

# Bytes of one frame follow each other closely; a longer pause means the host gave the frame up
# (ATOL v2: the inter-byte timeout T6, 500 ms).
INTER_BYTE_TIMEOUT = 0.5


class _Refuse(Exception):
    """A command refused with a device error byte."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def _fresh_state(serial: str, model: int, name: str) -> dict[str, Any]:
    return {
        "serial": serial, "model": model, "name": name,
        "clock_offset": 0.0,  # seconds added to the host clock
        "doc_number": 0, "z_count": 0, "cash": 0,
        "shift": {"open": False, "number": 0, "opened_at": None, "receipts": 0, "payments": {}, "vat": {},
                  "cash_in": 0, "cash_out": 0},
        "receipt": None,
        "last_receipt": None,
        "tables": {},
        "grand_total": {"1": 0, "2": 0},
        "faults": {"paper_out": False, "cover_open": False},
        "pending_annul": False,
        "tape": [],
    }


class AtolEmulator:
    """An ATOL registrar: ``feed`` host bytes in, device bytes out; ``control`` for faults and state."""

    TAPE_KEEP = 400

    def __init__(self, state_path: Path | None = None, *, serial: str = "00106708", model: int = 67,
                 name: str = "АТОЛ 30Ф (эмулятор IceCash)", width: int = 32, access_password: int = 0,
                 mode_passwords: dict[int, int] | None = None, clock: Callable[[], float] = time.monotonic):
        self.state_path = Path(state_path) if state_path else None
        self.clock = clock
        self._last_byte_at = clock()
        self.width = width
        self.access_password = access_password
        self.mode_passwords = mode_passwords or {1: 30, 2: 30, 3: 30, 4: 30}
        self.s = read_state(self.state_path) or _fresh_state(serial, model, name)
        self.mode = p.MODE_SELECT
        self.powered = True
        self.power_loss_on_close = False
        self.runout = False
        self.nak_next = False
        self.corrupt_next = False
        self._reset_link()
        if self.s.get("receipt") is not None:  # power came back with a receipt open: annul it
            self._annul("power-on")
        self._save()

    # --- link layer ----------------------------------------------------------------------------
    def _reset_link(self) -> None:
        self.link = "idle"  # idle · wait_stx · frame · wait_eot · wait_ack_enq · wait_ack_frame · wait_ack_eot
        self.reader = p.FrameReader()
        self.answer = b""
        self.request = b""
        self.resends = 0

    def feed(self, data: bytes) -> bytes:
        if not self.powered:
            return b""
        now = self.clock()
        if self.link == "frame" and data and now - self._last_byte_at > INTER_BYTE_TIMEOUT:
            self._reset_link()  # a frame cut off mid-way (the host gave up): the next ENQ starts afresh
        self._last_byte_at = now
        out = bytearray()
        i = 0
        while i < len(data):
            byte = data[i]
            if self.link == "frame":
                used = self.reader.push(data[i:])
                i += used
                if self.reader.done:
                    if self.reader.bad_crc or self.nak_next:
                        self.nak_next = False
                        out.append(p.NAK)
                        self.reader = p.FrameReader()
                        self.link = "wait_stx"
                    else:
                        self.request = bytes(self.reader.payload)
                        out.append(p.ACK)
                        self.link = "wait_eot"
                continue
            i += 1
            if byte == p.ENQ:  # the host starts a transfer (whatever we were doing)
                self._reset_link()
                self.link = "wait_stx"
                out.append(p.ACK)
            elif self.link == "wait_stx" and byte == p.STX:
                self.reader = p.FrameReader()
                self.reader.push(bytes((p.STX,)))
                self.link = "frame"
            elif self.link == "wait_eot" and byte == p.EOT:
                self.answer = self._execute(self.request)
                if not self.powered:  # power failed while executing: nothing more is sent
                    self._reset_link()
                    return bytes(out)
                self.link = "wait_ack_enq"
                out.append(p.ENQ)
            elif self.link == "wait_ack_enq" and byte == p.ACK:
                out += self._answer_frame()
                self.link = "wait_ack_frame"
            elif self.link == "wait_ack_frame" and byte == p.NAK and self.resends < 5:
                self.resends += 1
                out += self._answer_frame()
            elif self.link == "wait_ack_frame" and byte == p.ACK:
                out.append(p.EOT)
                self._reset_link()
            elif byte == p.EOT:
                self._reset_link()
        return bytes(out)

    def _answer_frame(self) -> bytes:
        frame = p.make_frame(self.answer)
        if self.corrupt_next:
            self.corrupt_next = False
            frame = frame[:-1] + bytes((frame[-1] ^ 0xFF,))
        return frame

    # --- commands ------------------------------------------------------------------------------
    def _execute(self, request: bytes) -> bytes:
        if len(request) < 3:
            return b"U" + bytes((0x1E,))
        password = p.from_bcd(request[:2]) if request[:2].hex().isdigit() else -1
        command, data = request[2], request[3:]
        if password != self.access_password:
            return b"U" + bytes((0x8C,))
        handler = self.COMMANDS.get(command)
        if handler is None:
            return (b"" if command == p.CMD_DEVICE_TYPE else b"U") + bytes((0x7A,))
        try:
            answer = handler(self, data)
        except _Refuse as refusal:
            if command == p.CMD_DEVICE_TYPE:
                return bytes((refusal.code,))
            return b"U" + bytes((refusal.code,))
        except (ValueError, IndexError):
            return b"U" + bytes((0x1E,))
        if command not in self.READ_ONLY:
            self._save()
        return answer

    READ_ONLY = frozenset({p.CMD_STATUS, p.CMD_MODE_STATUS, p.CMD_DEVICE_TYPE, p.CMD_CASH_IN_DRAWER,
                           p.CMD_READ_TABLE, p.CMD_READ_REGISTER, p.CMD_BEEP})

    def _ok(self, data: bytes = b"") -> bytes:
        return b"U\x00" + data

    # helpers
    def now(self) -> datetime:
        return datetime.now() + timedelta(seconds=self.s["clock_offset"])

    def _need_mode(self, mode: int) -> None:
        if self.mode != mode:
            raise _Refuse(0x66)

    def _need_printer(self) -> None:
        if self.s["faults"]["cover_open"]:
            raise _Refuse(0x6D)
        if self.s["faults"]["paper_out"]:
            raise _Refuse(0x67)
        if self.runout:  # this command prints on the last of the roll; the next one finds none
            self.runout = False
            self.s["faults"]["paper_out"] = True

    def _shift_expired(self) -> bool:
        shift = self.s["shift"]
        if not shift["open"]:
            return False
        return self.now() - datetime.fromisoformat(shift["opened_at"]) > timedelta(hours=24)

    def _need_no_receipt(self) -> None:
        receipt = self.s["receipt"]
        if receipt is not None:
            raise _Refuse(0x89 if receipt["type"] == p.RECEIPT_SALE else 0x87)

    def _need_receipt(self) -> dict[str, Any]:
        if self.s["receipt"] is None:
            raise _Refuse(0x9A)
        return self.s["receipt"]

    def _print(self, *lines: str) -> None:
        tape = self.s["tape"]
        for line in lines:
            tape.extend(wrap(line, self.width) if line else [""])
        del tape[: max(0, len(tape) - self.TAPE_KEEP)]

    def _ensure_shift(self) -> None:
        """Open the shift on the first document that needs one (the device does so by itself)."""
        if self._shift_expired():
            raise _Refuse(0x88)
        if not self.s["shift"]["open"]:
            self._open_shift_now()

    def _open_shift_now(self) -> None:
        shift = self.s["shift"]
        shift.update(open=True, number=shift["number"] + 1, opened_at=self.now().isoformat(timespec="seconds"),
                     receipts=0, payments={}, vat={}, cash_in=0, cash_out=0)
        self.s["doc_number"] += 1
        self._print("ОТКРЫТИЕ СМЕНЫ", f"Смена № {shift['number']}", *self._cashier_lines(),
                    f"ФД № {self.s['doc_number']}", "-" * self.width)

    def _header_lines(self) -> list[str]:
        """The receipt header (cliché): table 2, rows 1–10, field 1."""
        tables = self.s["tables"]
        rows = (tables.get(f"2.{row}.1") for row in range(1, 11))
        return [bytes.fromhex(row).decode("cp866", "replace") for row in rows if row]

    def _cashier_lines(self) -> list[str]:
        name = bytes.fromhex(self.s["tables"].get("3.1.1", "")).decode("cp866", "replace")
        inn = bytes.fromhex(self.s["tables"].get("3.1.2", "")).decode("cp866", "replace")
        return ([f"Кассир: {name}"] if name else []) + ([f"ИНН кассира: {inn}"] if inn else [])

    def _annul(self, why: str) -> None:
        self.s["receipt"] = None
        self._print(f"ЧЕК АННУЛИРОВАН ({why})", "-" * self.width)

    # 3F status
    def cmd_status(self, data: bytes) -> bytes:
        now = self.now()
        receipt = self.s["receipt"]
        flags = (1 | (2 if self.s["shift"]["open"] else 0)
                 | (8 if self.s["faults"]["paper_out"] else 0) | (32 if self.s["faults"]["cover_open"] else 0))
        return (b"D" + p.bcd(1, 1) + p.bcd(1, 1) + p.bcd(now.year % 100, 1) + p.bcd(now.month, 1) + p.bcd(now.day, 1)
                + p.bcd(now.hour, 1) + p.bcd(now.minute, 1) + p.bcd(now.second, 1) + bytes((flags,))
                + p.bcd(int(self.s["serial"]), 4) + bytes((self.s["model"],)) + b"\x03\x00"
                + bytes((self.mode | (1 if receipt else 0) << 4,))
                + p.bcd(self.s["shift"]["receipts"] + 1, 2) + p.bcd(self.s["shift"]["number"], 2)
                + bytes((receipt["type"] if receipt else 0,)) + p.bcd(receipt["total"] if receipt else 0, 5)
                + b"\x02\x01")

    # 45 mode status
    def cmd_mode_status(self, data: bytes) -> bytes:
        flags = (1 if self.s["faults"]["paper_out"] else 0) | (32 if self.s["faults"]["cover_open"] else 0) \
            | (64 if self._shift_expired() else 0)
        receipt = self.s["receipt"]
        return self._ok(bytes((self.mode | (1 if receipt else 0) << 4, flags)))

    # A5 device type
    def cmd_device_type(self, data: bytes) -> bytes:
        return (b"\x00" + bytes((2, 1, self.s["model"])) + b"\x00\x01" + b"\x03\x00\x00\x00\x01"
                + self.s["name"].encode("cp866", "replace"))

    # 4D cash in drawer
    def cmd_cash_in_drawer(self, data: bytes) -> bytes:
        return b"M" + p.bcd(self.s["cash"], 7)

    # 56 / 48 modes
    def cmd_enter_mode(self, data: bytes) -> bytes:
        mode, password = data[0], p.from_bcd(data[1:5])
        if self.mode != p.MODE_SELECT:
            raise _Refuse(0x66)
        if mode not in self.mode_passwords:
            raise _Refuse(0x1E)
        if password != self.mode_passwords[mode]:
            raise _Refuse(0x8C)
        self.mode = mode
        return self._ok()

    def cmd_exit_mode(self, data: bytes) -> bytes:
        if self.s["receipt"] is not None:
            raise _Refuse(0x9B)
        self.mode = p.MODE_SELECT
        return self._ok()

    # 64 / 4B date and time
    def _set_clock(self, target: datetime) -> None:
        if self.s["shift"]["open"]:
            raise _Refuse(0x9C)
        self.s["clock_offset"] = (target - datetime.now()).total_seconds()

    def cmd_set_date(self, data: bytes) -> bytes:
        day, month, year = (p.from_bcd(data[i:i + 1]) for i in range(3))
        now = self.now()
        self._set_clock(now.replace(year=2000 + year, month=month, day=day))
        return self._ok()

    def cmd_set_time(self, data: bytes) -> bytes:
        hour, minute, second = (p.from_bcd(data[i:i + 1]) for i in range(3))
        self._set_clock(self.now().replace(hour=hour, minute=minute, second=second))
        return self._ok()

    # 50 / 46 tables
    def cmd_write_table(self, data: bytes) -> bytes:
        table, row, field = data[0], p.from_bcd(data[1:3]), data[3]
        self.s["tables"][f"{table}.{row}.{field}"] = data[4:].hex()
        return self._ok()

    def cmd_read_table(self, data: bytes) -> bytes:
        table, row, field = data[0], p.from_bcd(data[1:3]), data[3]
        return self._ok(bytes.fromhex(self.s["tables"].get(f"{table}.{row}.{field}", "")))

    # printing
    def cmd_print_string(self, data: bytes) -> bytes:
        self._need_printer()
        self._print(p.decode_text(data))
        return self._ok()

    def cmd_barcode(self, data: bytes) -> bytes:
        self._need_printer()
        kind = {0: "EAN13", 3: "QR"}.get(data[0], f"TYPE{data[0]}")
        self._print(f"[{kind} {data[1:].decode('utf-8', 'replace')}]")
        return self._ok()

    def cmd_beep(self, data: bytes) -> bytes:
        return self._ok()

    def cmd_drawer(self, data: bytes) -> bytes:
        self.s["drawer_pulses"] = self.s.get("drawer_pulses", 0) + 1
        return self._ok()

    def cmd_cut(self, data: bytes) -> bytes:
        self._need_printer()
        self._print("- - отрез - -" if data[:1] == b"\x01" else "== отрез ==")
        return self._ok()

    # 9A open shift
    def cmd_open_shift(self, data: bytes) -> bytes:
        self._need_mode(p.MODE_REGISTRATION)
        if self.s["shift"]["open"]:
            raise _Refuse(0x88 if self._shift_expired() else 0x9C)
        self._need_printer()
        self._open_shift_now()
        return self._ok()

    # 92 open receipt
    def cmd_open_receipt(self, data: bytes) -> bytes:
        self._need_mode(p.MODE_REGISTRATION)
        kind = data[1]
        if kind not in (p.RECEIPT_SALE, p.RECEIPT_RETURN):
            raise _Refuse(0x6A)
        self._need_no_receipt()
        self._need_printer()
        self._ensure_shift()
        self.s["receipt"] = {"type": kind, "lines": [], "total": 0, "paid": {"1": 0, "2": 0}}
        self._print(*self._header_lines())
        self._print("КАССОВЫЙ ЧЕК" if kind == p.RECEIPT_SALE else "КАССОВЫЙ ЧЕК ВОЗВРАТ",
                    f"Чек № {self.s['shift']['receipts'] + 1}  Смена № {self.s['shift']['number']}", *self._cashier_lines())
        return self._ok()

    # E6 / E7 register item
    def _register(self, data: bytes, kind: int) -> bytes:
        self._need_mode(p.MODE_REGISTRATION)
        receipt = self._need_receipt()
        if receipt["type"] != kind:
            raise _Refuse(0x89 if receipt["type"] == p.RECEIPT_SALE else 0x87)
        if any(receipt["paid"].values()):
            raise _Refuse(0x1E)
        if len(data) != p.ITEM_SIZE:
            raise _Refuse(0x1E)
        pos = 1
        name = p.decode_text(data[pos:pos + p.NAME_SIZE])
        pos += p.NAME_SIZE
        price = p.from_bcd(data[pos:pos + 6])
        pos += 6
        quantity = p.from_bcd(data[pos:pos + 5])
        pos += 5
        disc_type, disc_sign = data[pos], data[pos + 1]
        pos += 2
        disc_value = p.from_bcd(data[pos:pos + 6])
        pos += 6
        tax, section = data[pos], p.from_bcd(data[pos + 1:pos + 2])
        if quantity <= 0:
            raise _Refuse(0x0A)
        if tax not in p.TAX_PERCENT:
            raise _Refuse(0x1E)
        if not 1 <= section <= 16:
            raise _Refuse(0x7D)
        gross = line_amount(price, quantity)
        if disc_sign != 0 or disc_type not in (0, 1):
            raise _Refuse(0x7B)
        discount = disc_value if disc_type == 1 else div_half_up(gross * disc_value, 10000)
        if discount > gross:
            raise _Refuse(0x7B)
        if receipt["total"] + gross - discount > 10**12:
            raise _Refuse(0x08)
        self._need_printer()
        amount = gross - discount
        receipt["lines"].append({"name": name, "price": price, "quantity": quantity, "amount": amount,
                                 "tax": tax, "section": section})
        receipt["total"] += amount
        self._print(name, f"{format_quantity(quantity)} x {format_money(price)} = {format_money(amount)}",
                    *([f"  скидка {format_money(discount)}"] if discount else []), f"  налог {tax} секция {section}")
        return self._ok()

    def cmd_register_item(self, data: bytes) -> bytes:
        return self._register(data, p.RECEIPT_SALE)

    def cmd_return_item(self, data: bytes) -> bytes:
        return self._register(data, p.RECEIPT_RETURN)

    # 43 discount on the receipt (spread over its lines) or on the last line
    def cmd_discount(self, data: bytes) -> bytes:
        self._need_mode(p.MODE_REGISTRATION)
        receipt = self._need_receipt()
        area, kind, sign, value = data[1], data[2], data[3], p.from_bcd(data[4:9])
        if sign != 0 or kind not in (0, 1) or area not in (0, 1) or not receipt["lines"] or any(receipt["paid"].values()):
            raise _Refuse(0x7B)
        lines = receipt["lines"] if area == 0 else receipt["lines"][-1:]
        base = sum(line["amount"] for line in lines)
        discount = value if kind == 1 else div_half_up(base * value, 10000)
        if not 0 < discount <= base:
            raise _Refuse(0x7B)
        self._need_printer()
        left = discount
        for i, line in enumerate(lines):  # spread in proportion to the line amounts, the rest on the last line
            share = left if i == len(lines) - 1 else discount * line["amount"] // base
            line["amount"] -= share
            left -= share
        receipt["total"] -= discount
        self._print(f"СКИДКА {format_money(discount)}")
        return self._ok()

    # 99 payment / 4A close
    def _pay(self, pay_type: int, amount: int) -> None:
        receipt = self._need_receipt()
        if pay_type not in (p.PAY_CASH, p.PAY_CARD):
            raise _Refuse(0x7E)
        paid = receipt["paid"]
        if pay_type == p.PAY_CARD and paid["2"] + amount > receipt["total"]:
            raise _Refuse(0x86)
        paid[str(pay_type)] += amount

    def cmd_payment(self, data: bytes) -> bytes:
        self._need_mode(p.MODE_REGISTRATION)
        self._need_receipt()
        self._need_printer()
        self._pay(data[1], p.from_bcd(data[2:7]))
        receipt = self.s["receipt"]
        paid = receipt["paid"]["1"] + receipt["paid"]["2"]
        return self._ok(p.bcd(max(0, receipt["total"] - paid), 5) + p.bcd(max(0, paid - receipt["total"]), 5))

    def cmd_close_receipt(self, data: bytes) -> bytes:
        self._need_mode(p.MODE_REGISTRATION)
        receipt = self._need_receipt()
        self._need_printer()
        pay_type, amount = data[1], p.from_bcd(data[2:7])
        before = dict(receipt["paid"])
        self._pay(pay_type, amount)
        paid = receipt["paid"]
        total = receipt["total"]
        if paid["1"] + paid["2"] < total:
            receipt["paid"] = before
            raise _Refuse(0x99)
        change = paid["1"] + paid["2"] - total
        cash = paid["1"] - change
        if receipt["type"] == p.RECEIPT_RETURN and cash > self.s["cash"]:
            receipt["paid"] = before
            raise _Refuse(0x98)
        shift = self.s["shift"]
        kind = str(receipt["type"])
        pays = shift["payments"].setdefault(kind, {"1": 0, "2": 0})
        pays["1"] += cash
        pays["2"] += paid["2"]
        per_tax: dict[int, int] = {}
        for line in receipt["lines"]:
            per_tax[line["tax"]] = per_tax.get(line["tax"], 0) + line["amount"]
        for tax, amount in per_tax.items():  # VAT rounded once per rate in the receipt
            percent = p.TAX_PERCENT[tax]
            vat = div_half_up(amount * percent, 100 + percent) if percent else 0
            slot = shift["vat"].setdefault(kind, {}).setdefault(str(tax), [0, 0])
            slot[0] += amount
            slot[1] += vat
        self.s["cash"] += cash if receipt["type"] == p.RECEIPT_SALE else -cash
        self.s["grand_total"][kind] += total
        shift["receipts"] += 1
        self.s["doc_number"] += 1
        self.s["last_receipt"] = {"doc_number": self.s["doc_number"], "receipt_number": shift["receipts"],
                                  "type": receipt["type"], "total": total, "cash": cash, "card": paid["2"]}
        self.s["receipt"] = None
        self._print(f"ИТОГ ={format_money(total)}", f"НАЛИЧНЫМИ ={format_money(paid['1'])}",
                    f"БЕЗНАЛИЧНЫМИ ={format_money(paid['2'])}", f"СДАЧА ={format_money(change)}",
                    f"ФД № {self.s['doc_number']}",
                    f"[QR t={self.now():%Y%m%dT%H%M}&s={format_money(total)}&i={self.s['doc_number']}"
                    f"&n={receipt['type']}]", "-" * self.width)
        if self.power_loss_on_close:  # fiscalised, then the power fails before the answer leaves
            self.power_loss_on_close = False
            self._save()
            self.powered = False
        return self._ok()

    # 59 cancel
    def cmd_cancel_receipt(self, data: bytes) -> bytes:
        self._need_mode(p.MODE_REGISTRATION)
        self._need_receipt()
        self._annul("отмена")
        return self._ok()

    # 49 / 4F cash in and out
    def _cash_move(self, data: bytes, sign: int) -> bytes:
        self._need_mode(p.MODE_REGISTRATION)
        self._need_no_receipt()
        amount = p.from_bcd(data[1:6])
        if amount <= 0:
            raise _Refuse(0x08)
        if sign < 0 and amount > self.s["cash"]:
            raise _Refuse(0x98)
        self._need_printer()
        self._ensure_shift()
        self.s["cash"] += sign * amount
        self.s["shift"]["cash_in" if sign > 0 else "cash_out"] += amount
        self.s["doc_number"] += 1
        self._print("ВНЕСЕНИЕ" if sign > 0 else "ВЫПЛАТА", f"={format_money(amount)}", f"ФД № {self.s['doc_number']}",
                    "-" * self.width)
        return self._ok()

    def cmd_cash_in(self, data: bytes) -> bytes:
        return self._cash_move(data, +1)

    def cmd_cash_out(self, data: bytes) -> bytes:
        return self._cash_move(data, -1)

    # 67 X / 5A Z
    def _report_lines(self, title: str) -> list[str]:
        shift = self.s["shift"]
        lines = [title, f"Смена № {shift['number']}"]
        for kind, label in (("1", "ПРОДАЖИ"), ("2", "ВОЗВРАТЫ")):
            pays = shift["payments"].get(kind, {"1": 0, "2": 0})
            lines += [f"{label} НАЛ ={format_money(pays['1'])}", f"{label} БЕЗНАЛ ={format_money(pays['2'])}"]
        lines += [f"ВНЕСЕНИЯ ={format_money(shift['cash_in'])}", f"ВЫПЛАТЫ ={format_money(shift['cash_out'])}",
                  f"НАЛИЧНЫХ В КАССЕ ={format_money(self.s['cash'])}"]
        return lines

    def cmd_x_report(self, data: bytes) -> bytes:
        self._need_mode(p.MODE_X)
        if data[:1] != b"\x01":
            raise _Refuse(0x1E)
        self._need_printer()
        self._print(*self._report_lines("X-ОТЧЁТ"), "-" * self.width)
        return self._ok()

    def cmd_z_report(self, data: bytes) -> bytes:
        self._need_mode(p.MODE_Z)
        if not self.s["shift"]["open"]:
            raise _Refuse(0x8F)
        self._need_printer()
        self.s["z_count"] += 1
        self.s["doc_number"] += 1
        self._print(*self._report_lines("ОТЧЁТ О ЗАКРЫТИИ СМЕНЫ"), f"ФД № {self.s['doc_number']}", "-" * self.width)
        self.s["shift"].update(open=False, opened_at=None)
        return self._ok()

    # 91 registers
    def cmd_read_register(self, data: bytes) -> bytes:
        reg, p1, p2 = data[0], data[1], data[2]
        shift = self.s["shift"]
        if reg == p.REG_PAYMENTS:
            return self._ok(p.bcd(shift["payments"].get(str(p1), {}).get(str(p2), 0), 7))
        if reg == p.REG_VAT:
            amount, vat = shift["vat"].get(str(p1), {}).get(str(p2), [0, 0])
            return self._ok(p.bcd(amount, 7) + p.bcd(vat, 7))
        if reg == p.REG_LAST_RECEIPT:
            last = self.s["last_receipt"] or {"doc_number": 0, "receipt_number": 0, "type": 0, "total": 0,
                                              "cash": 0, "card": 0}
            return self._ok(p.bcd(last["doc_number"], 5) + p.bcd(last["receipt_number"], 5) + bytes((last["type"],))
                            + p.bcd(last["total"], 7) + p.bcd(last["cash"], 7) + p.bcd(last["card"], 7))
        if reg == p.REG_COUNTERS:
            return self._ok(p.bcd(shift["number"], 2) + p.bcd(self.s["z_count"], 2) + p.bcd(self.s["doc_number"], 5)
                            + p.bcd(shift["receipts"], 5) + bytes((1 if shift["open"] else 0,)))
        raise _Refuse(0x1E)

    COMMANDS = {
        p.CMD_STATUS: cmd_status, p.CMD_MODE_STATUS: cmd_mode_status, p.CMD_DEVICE_TYPE: cmd_device_type,
        p.CMD_CASH_IN_DRAWER: cmd_cash_in_drawer, p.CMD_ENTER_MODE: cmd_enter_mode, p.CMD_EXIT_MODE: cmd_exit_mode,
        p.CMD_SET_DATE: cmd_set_date, p.CMD_SET_TIME: cmd_set_time, p.CMD_WRITE_TABLE: cmd_write_table,
        p.CMD_READ_TABLE: cmd_read_table, p.CMD_PRINT_STRING: cmd_print_string, p.CMD_BARCODE: cmd_barcode,
        p.CMD_BEEP: cmd_beep, p.CMD_DRAWER: cmd_drawer, p.CMD_CUT: cmd_cut, p.CMD_OPEN_SHIFT: cmd_open_shift,
        p.CMD_OPEN_RECEIPT: cmd_open_receipt, p.CMD_REGISTER_ITEM: cmd_register_item,
        p.CMD_RETURN_ITEM: cmd_return_item, p.CMD_DISCOUNT: cmd_discount, p.CMD_PAYMENT: cmd_payment,
        p.CMD_CLOSE_RECEIPT: cmd_close_receipt, p.CMD_CANCEL_RECEIPT: cmd_cancel_receipt,
        p.CMD_CASH_IN: cmd_cash_in, p.CMD_CASH_OUT: cmd_cash_out, p.CMD_X_REPORT: cmd_x_report,
        p.CMD_Z_REPORT: cmd_z_report, p.CMD_READ_REGISTER: cmd_read_register,
    }

    # --- state and control ---------------------------------------------------------------------
    def _save(self) -> None:
        if self.state_path:
            write_state(self.state_path, self.s)

    def state(self) -> dict[str, Any]:
        out = {k: v for k, v in self.s.items() if k != "tape"}
        out.update(device="atol", powered=self.powered, mode=self.mode, shift_expired=self._shift_expired(),
                   clock=self.now().isoformat(timespec="seconds"), tape_lines=len(self.s["tape"]))
        return out

    def control(self, command: str) -> str:
        words = command.split()
        if not words:
            return "error: empty command"
        name, args = words[0], words[1:]
        faults = self.s["faults"]
        if name == "help":
            return ("paper-out paper-in paper-runout cover-open cover-close power-loss power-on power-loss-on-close "
                    "nak-next corrupt-next advance SECONDS state tape paper")
        if name == "state":
            return json.dumps(self.state(), ensure_ascii=False)
        if name in ("tape", "paper"):
            return json.dumps(self.s["tape"], ensure_ascii=False)
        if name == "paper-out":
            faults["paper_out"] = True
        elif name == "paper-in":
            faults["paper_out"] = False
            self.runout = False
        elif name == "paper-runout":
            self.runout = True
        elif name == "cover-open":
            faults["cover_open"] = True
        elif name == "cover-close":
            faults["cover_open"] = False
        elif name == "power-loss":
            self.powered = False
            self._reset_link()
        elif name == "power-on":
            if not self.powered:
                self.powered = True
                self.mode = p.MODE_SELECT
                self._reset_link()
                if self.s["receipt"] is not None:
                    self._annul("сбой питания")
        elif name == "power-loss-on-close":
            self.power_loss_on_close = True
        elif name == "nak-next":
            self.nak_next = True
        elif name == "corrupt-next":
            self.corrupt_next = True
        elif name == "advance":
            try:
                seconds = float(args[0])
            except (IndexError, ValueError):
                return "error: advance SECONDS"
            self.s["clock_offset"] += seconds
        else:
            return f"error: unknown command {name!r} (try help)"
        self._save()
        return "ok"


def make_emulator(state_path: Path | None, *, model: str | int | None = None, serial: str | None = None,
                  width: int | str | None = None, **options: Any) -> AtolEmulator:
    """The ``icecash emulator atol`` device; ``model`` is the model number reported by A5/3F (default 67)."""
    if options:
        raise ValueError(f"unknown ATOL emulator options: {', '.join(sorted(options))}")
    kwargs: dict[str, Any] = {}
    if model is not None:
        if not str(model).isdigit() or not 0 < int(model) < 256:
            raise ValueError("--model: a model number 1-255")
        kwargs["model"] = int(model)
    if serial is not None:
        if not str(serial).isdigit() or len(str(serial)) > 8:
            raise ValueError("--serial: up to 8 digits")
        kwargs["serial"] = str(serial)
    if width is not None:
        kwargs["width"] = int(width)
    return AtolEmulator(state_path, **kwargs)
