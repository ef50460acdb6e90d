"""ATOL fiscal registrars over the legacy protocol v2, on a serial line or raw TCP.

:class:`AtolRegistrar` runs one command per transaction (ENQ/ACK, the frame, EOT, then the
device's ENQ, its answer frame and EOT; see :mod:`.atol_protocol`) and raises a named
:class:`~icecash.printd.errors.DeviceError` for every device error byte and every link failure;
nothing is swallowed and there is no "ignore errors" switch.

The fiscal operations switch the device to the mode they need (registration, X, Z) by themselves.
``print_receipt`` fiscalises a whole :class:`~.escpos_receipt.ReceiptDocument` (open, register each
line with price, quantity, department, VAT and discount, close with cash and card kept separate).
When a close gets no answer (``atol_no_answer``) the result is unknown: compare
:meth:`AtolRegistrar.last_receipt` with the number read before, never simply print again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from icecash.core.errors import InvalidInput
from icecash.core.vat import VatRate
from icecash.printd.errors import DeviceError, TransportError

from . import atol_protocol as p
from .escpos import wrap

if TYPE_CHECKING:  # pragma: no cover
    from icecash.printd.transports import Transport

    from .escpos_receipt import ReceiptDocument


@dataclass(frozen=True)
class AtolStatus:
    """The answer to the status request (3F)."""

    device_time: datetime
    fiscal: bool
    shift_open: bool
    paper_out: bool
    cover_open: bool
    serial: str
    model: int
    mode: int
    submode: int
    receipt_number: int  # the next receipt's number in the shift
    shift_number: int
    receipt_state: int  # 0 closed, 1 sale open, 2 return open
    receipt_total: int


@dataclass(frozen=True)
class ModeStatus:
    """The answer to the mode status request (45)."""

    mode: int
    submode: int
    paper_out: bool
    cover_open: bool
    shift_expired: bool


@dataclass(frozen=True)
class DeviceInfo:
    protocol: int
    device_type: int
    model: int
    version: str
    name: str


@dataclass(frozen=True)
class LastReceipt:
    """The last fiscalised receipt (register 5): the till reconciles with it after a failure."""

    document_number: int
    receipt_number: int
    kind: str | None  # "sale", "return", None when there is none yet
    total: int
    cash: int
    card: int


@dataclass(frozen=True)
class Counters:
    shift_number: int
    z_count: int
    document_number: int
    receipts_in_shift: int
    shift_open: bool


KIND_CODES = {"sale": p.RECEIPT_SALE, "return": p.RECEIPT_RETURN}


class AtolRegistrar:
    """One ATOL registrar on a transport; methods are the fiscal operations, each one transaction or a few."""

    def __init__(self, transport: Transport, *, password: int = 0, mode_password: int = 30, width: int = 32,
                 enq_timeout: float = 0.5, answer_timeout: float = 10.0, byte_timeout: float = 0.5,
                 retries: int = 5):
        if not 0 <= password <= 9999 or not 0 <= mode_password <= 99999999:
            raise InvalidInput("bad_password", "Пароль ККТ: до 4 цифр (доступ), до 8 цифр (режим)",
                               "Registrar password: up to 4 digits (access), up to 8 digits (mode)", field="password")
        self.transport = transport
        self.password = password
        self.mode_password = mode_password
        self.width = width
        self.enq_timeout = enq_timeout
        self.answer_timeout = answer_timeout
        self.byte_timeout = byte_timeout
        self.retries = retries

    @classmethod
    def open(cls, url: str, *, timeout: float = 1.0, **options: object) -> AtolRegistrar:
        """Open ``serial:/dev/ttyUSB0?baudrate=115200``, ``tcp://host:5555`` … and wrap it."""
        from icecash.printd.transports import open_driver

        return open_driver(url, lambda transport: cls(transport, **options), timeout=timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> AtolRegistrar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- link layer ----------------------------------------------------------------------------
    def _read_byte(self, timeout: float) -> int | None:
        data = self.transport.read(1, timeout=timeout)
        return data[0] if data else None

    def _write(self, data: bytes) -> None:
        self.transport.write(data)

    def transact(self, payload: bytes, *, timeout: float | None = None) -> bytes:
        """Send one command payload (password already in it) and return the answer payload."""
        try:
            return self._transact(payload, self.answer_timeout if timeout is None else timeout)
        except TransportError as exc:
            raise p.link_error("atol_link", cause=exc.code, cause_en=exc.message_en) from exc

    def _transact(self, payload: bytes, answer_timeout: float) -> bytes:
        command = f"0x{payload[2]:02X}" if len(payload) > 2 else "?"
        # 1. ENQ → ACK
        for _ in range(self.retries):
            self.transport.reset_input()
            self._write(bytes((p.ENQ,)))
            if self._read_byte(self.enq_timeout) == p.ACK:
                break
        else:
            raise p.link_error("atol_no_link", command=command)
        # 2. the frame → ACK (NAK: again)
        frame = p.make_frame(payload)
        for _ in range(self.retries):
            self._write(frame)
            reply = self._read_byte(self.byte_timeout)
            if reply == p.ACK:
                break
            if reply is None:
                raise p.link_error("atol_no_link", command=command, stage="frame")
        else:
            raise p.link_error("atol_frame_rejected", command=command)
        self._write(bytes((p.EOT,)))
        # 3. the device's ENQ → ACK, its frame → ACK (bad CRC: NAK, it sends again), EOT
        deadline = time.monotonic() + answer_timeout
        while True:  # stray bytes (a late ACK of a repeated ENQ) are skipped
            left = deadline - time.monotonic()
            byte = self._read_byte(left) if left > 0 else None
            if byte is None:
                raise p.link_error("atol_no_answer", command=command)
            if byte == p.ENQ:
                break
        self._write(bytes((p.ACK,)))
        for _ in range(self.retries):
            reader = p.FrameReader()
            deadline = time.monotonic() + max(self.byte_timeout * 4, 1.0)
            while not reader.done:
                left = deadline - time.monotonic()
                chunk = self.transport.read(256, timeout=max(left, 0.01)) if left > 0 else b""
                if not chunk:
                    raise p.link_error("atol_no_answer", command=command, stage="answer frame")
                used = reader.push(chunk)
                if used < len(chunk):
                    break  # bytes after the frame (its EOT) arrived too
            if reader.bad_crc:
                self._write(bytes((p.NAK,)))
                continue
            self._write(bytes((p.ACK,)))
            self._read_byte(self.byte_timeout)  # the closing EOT (missing is harmless)
            return bytes(reader.payload)
        raise p.link_error("atol_bad_answer", command=command)

    def execute(self, command: int, data: bytes = b"", *, timeout: float | None = None, answer: bytes = b"U") -> bytes:
        """Run ``command`` with ``data``; the answer's data after its header. A device error byte raises."""
        reply = self.transact(p.bcd(self.password, 2) + bytes((command,)) + data, timeout=timeout)
        if not reply:
            raise p.link_error("atol_bad_answer", command=f"0x{command:02X}")
        if reply[:1] == b"U":
            if len(reply) < 2:
                raise p.link_error("atol_bad_answer", command=f"0x{command:02X}")
            if reply[1]:
                raise p.device_error(reply[1], command)
            if answer != b"U":
                raise p.link_error("atol_bad_answer", command=f"0x{command:02X}")
            return reply[2:]
        if reply[:1] != answer:
            raise p.link_error("atol_bad_answer", command=f"0x{command:02X}")
        return reply[1:]

    # --- status and information ----------------------------------------------------------------
    def status(self) -> AtolStatus:
        d = self.execute(p.CMD_STATUS, answer=b"D")
        if len(d) < 29:
            raise p.link_error("atol_bad_answer", command="0x3F")
        year, month, day, hour, minute, second = (p.from_bcd(d[i:i + 1]) for i in range(2, 8))
        flags = d[8]
        return AtolStatus(
            device_time=datetime(2000 + year, month, day, hour, minute, second),
            fiscal=bool(flags & 1), shift_open=bool(flags & 2), paper_out=bool(flags & 8),
            cover_open=bool(flags & 32), serial=d[9:13].hex(), model=d[13], mode=d[16] & 0x0F, submode=d[16] >> 4,
            receipt_number=p.from_bcd(d[17:19]), shift_number=p.from_bcd(d[19:21]), receipt_state=d[21],
            receipt_total=p.from_bcd(d[22:27]))

    def mode_status(self) -> ModeStatus:
        d = self.execute(p.CMD_MODE_STATUS)
        return ModeStatus(mode=d[0] & 0x0F, submode=d[0] >> 4, paper_out=bool(d[1] & 1), cover_open=bool(d[1] & 32),
                          shift_expired=bool(d[1] & 64))

    def device_type(self) -> DeviceInfo:
        reply = self.transact(p.bcd(self.password, 2) + bytes((p.CMD_DEVICE_TYPE,)))
        if not reply:
            raise p.link_error("atol_bad_answer", command="0xA5")
        if reply[0]:
            raise p.device_error(reply[0], p.CMD_DEVICE_TYPE)
        if len(reply) < 11:
            raise p.link_error("atol_bad_answer", command="0xA5")
        return DeviceInfo(protocol=reply[1], device_type=reply[2], model=reply[3],
                          version=".".join(str(b) for b in reply[6:11]), name=reply[11:].decode("cp866", "replace"))

    def cash_in_drawer(self) -> int:
        return p.from_bcd(self.execute(p.CMD_CASH_IN_DRAWER, answer=b"M")[:7])

    def read_register(self, register: int, p1: int = 0, p2: int = 0) -> bytes:
        return self.execute(p.CMD_READ_REGISTER, bytes((register, p1, p2)))

    def last_receipt(self) -> LastReceipt:
        d = self.read_register(p.REG_LAST_RECEIPT)
        kind = {p.RECEIPT_SALE: "sale", p.RECEIPT_RETURN: "return"}.get(d[10])
        return LastReceipt(document_number=p.from_bcd(d[0:5]), receipt_number=p.from_bcd(d[5:10]), kind=kind,
                           total=p.from_bcd(d[11:18]), cash=p.from_bcd(d[18:25]), card=p.from_bcd(d[25:32]))

    def counters(self) -> Counters:
        d = self.read_register(p.REG_COUNTERS)
        return Counters(shift_number=p.from_bcd(d[0:2]), z_count=p.from_bcd(d[2:4]), document_number=p.from_bcd(d[4:9]),
                        receipts_in_shift=p.from_bcd(d[9:14]), shift_open=bool(d[14]))

    def shift_payments(self, kind: str, payment: str) -> int:
        """Shift total of ``kind`` (sale/return) receipts paid by ``payment`` (cash/card), kopecks."""
        pay = {"cash": p.PAY_CASH, "card": p.PAY_CARD}[payment]
        return p.from_bcd(self.read_register(p.REG_PAYMENTS, KIND_CODES[kind], pay)[:7])

    def shift_vat(self, kind: str, vat: VatRate) -> tuple[int, int]:
        """(amount, VAT) of ``kind`` receipts at ``vat`` in the shift, kopecks."""
        d = self.read_register(p.REG_VAT, KIND_CODES[kind], p.TAX_CODES[vat])
        return p.from_bcd(d[0:7]), p.from_bcd(d[7:14])

    # --- modes and settings --------------------------------------------------------------------
    def enter_mode(self, mode: int) -> None:
        self.execute(p.CMD_ENTER_MODE, bytes((mode,)) + p.bcd(self.mode_password, 4))

    def exit_mode(self) -> None:
        self.execute(p.CMD_EXIT_MODE)

    def ensure_mode(self, mode: int) -> None:
        """Switch to ``mode`` (leaving the current one first) unless the device is in it already."""
        current = self.mode_status().mode
        if current == mode:
            return
        if current != p.MODE_SELECT:
            self.exit_mode()
        self.enter_mode(mode)

    def set_datetime(self, when: datetime) -> None:
        """Set the device clock (refused while a shift is open)."""
        if self.mode_status().mode != p.MODE_SELECT:
            self.exit_mode()
        self.execute(p.CMD_SET_DATE, p.bcd(when.day, 1) + p.bcd(when.month, 1) + p.bcd(when.year % 100, 1))
        self.execute(p.CMD_SET_TIME, p.bcd(when.hour, 1) + p.bcd(when.minute, 1) + p.bcd(when.second, 1))

    def get_datetime(self) -> datetime:
        return self.status().device_time

    def write_table(self, table: int, row: int, field: int, value: bytes) -> None:
        self.execute(p.CMD_WRITE_TABLE, bytes((table,)) + p.bcd(row, 2) + bytes((field,)) + value)

    def read_table(self, table: int, row: int, field: int) -> bytes:
        return self.execute(p.CMD_READ_TABLE, bytes((table,)) + p.bcd(row, 2) + bytes((field,)))

    def set_header(self, lines: list[str] | tuple[str, ...]) -> None:
        """The receipt header (cliché) the device prints on every receipt: table 2, rows 1–10 (empty rows clear)."""
        if len(lines) > 10:
            raise InvalidInput("bad_header", "Не больше 10 строк заголовка", "At most 10 header lines", field="header")
        for row in range(1, 11):
            text = lines[row - 1] if row <= len(lines) else ""
            self.write_table(2, row, 1, p.encode_text(text)[: self.width])

    def set_cashier(self, name: str, inn: str = "") -> None:
        """The cashier printed on documents (table 3, row 1: field 1 name, field 2 INN)."""
        if inn and not (inn.isdigit() and len(inn) in (10, 12)):
            raise InvalidInput("bad_inn", "ИНН кассира: 10 или 12 цифр", "Cashier INN: 10 or 12 digits", field="cashier_inn")
        self.write_table(3, 1, 1, p.encode_text(name)[:64])
        self.write_table(3, 1, 2, inn.encode("ascii"))

    # --- fiscal operations ---------------------------------------------------------------------
    def open_shift(self, text: str = "") -> None:
        self.ensure_mode(p.MODE_REGISTRATION)
        self.execute(p.CMD_OPEN_SHIFT, b"\x00" + p.encode_text(text))

    def open_receipt(self, kind: str = "sale") -> None:
        if kind not in KIND_CODES:
            raise InvalidInput("bad_receipt_kind", f"Вид чека {kind!r}: sale или return",
                               f"Receipt kind {kind!r}: sale or return", field="kind")
        self.ensure_mode(p.MODE_REGISTRATION)
        self.execute(p.CMD_OPEN_RECEIPT, bytes((0, KIND_CODES[kind])))

    def register(self, name: str, price: int, quantity: int = 1000, *, vat: VatRate = VatRate.NONE,
                 department: int = 1, discount: int = 0, kind: str = "sale") -> None:
        """One position of the open receipt (E6 in a sale, E7 in a return): kopecks, thousandths."""
        if price < 0 or price >= 10**12:
            raise InvalidInput("bad_price", "Цена от 0 до 9 999 999 999.99", "Price 0 to 9,999,999,999.99", field="price")
        if not 0 < quantity < 10**10:
            raise InvalidInput("bad_quantity", "Количество больше нуля", "Quantity above zero", field="quantity")
        if not 0 <= discount < 10**12:
            raise InvalidInput("bad_discount", "Скидка не может быть отрицательной", "Negative discount", field="discount")
        if not 1 <= department <= 16:
            raise InvalidInput("bad_department", "Секция 1–16", "Department 1-16", field="department")
        body = (b"\x00" + p.encode_text(name, p.NAME_SIZE) + p.bcd(price, 6) + p.bcd(quantity, 5)
                + bytes((1, 0)) + p.bcd(discount, 6) + bytes((p.TAX_CODES[vat],)) + p.bcd(department, 1)
                + bytes(16) + b"\x00")
        self.execute(p.CMD_RETURN_ITEM if kind == "return" else p.CMD_REGISTER_ITEM, body)

    def discount(self, amount: int = 0, *, percent_bp: int | None = None, last_line: bool = False) -> None:
        """A discount on the whole receipt (spread over its lines) or on its last line: kopecks or basis points."""
        kind, value = (0, percent_bp) if percent_bp is not None else (1, amount)
        if value is None or value <= 0:
            raise InvalidInput("bad_discount", "Скидка больше нуля", "The discount must be above zero", field="discount")
        self.execute(p.CMD_DISCOUNT, bytes((0, 1 if last_line else 0, kind, 0)) + p.bcd(value, 5))

    def close_receipt(self, cash: int = 0, card: int = 0) -> None:
        """Pay and close: the card part as its own payment (99), then the cash (4A); change comes from cash."""
        if cash < 0 or card < 0:
            raise InvalidInput("bad_payment", "Оплата не может быть отрицательной", "A payment cannot be negative",
                               field="cash" if cash < 0 else "card")
        if cash and card:
            self.execute(p.CMD_PAYMENT, bytes((0, p.PAY_CARD)) + p.bcd(card, 5))
            self.execute(p.CMD_CLOSE_RECEIPT, bytes((0, p.PAY_CASH)) + p.bcd(cash, 5))
        elif card:
            self.execute(p.CMD_CLOSE_RECEIPT, bytes((0, p.PAY_CARD)) + p.bcd(card, 5))
        else:
            self.execute(p.CMD_CLOSE_RECEIPT, bytes((0, p.PAY_CASH)) + p.bcd(cash, 5))

    def cancel_receipt(self) -> None:
        self.ensure_mode(p.MODE_REGISTRATION)
        self.execute(p.CMD_CANCEL_RECEIPT)

    def cash_in(self, amount: int) -> None:
        self.ensure_mode(p.MODE_REGISTRATION)
        self.execute(p.CMD_CASH_IN, b"\x00" + p.bcd(amount, 5))

    def cash_out(self, amount: int) -> None:
        self.ensure_mode(p.MODE_REGISTRATION)
        self.execute(p.CMD_CASH_OUT, b"\x00" + p.bcd(amount, 5))

    def x_report(self) -> None:
        self.ensure_mode(p.MODE_X)
        self.execute(p.CMD_X_REPORT, b"\x01", timeout=max(self.answer_timeout, 30.0))

    def z_report(self) -> None:
        self.ensure_mode(p.MODE_Z)
        self.execute(p.CMD_Z_REPORT, timeout=max(self.answer_timeout, 60.0))

    # --- printing and hardware -----------------------------------------------------------------
    def print_text(self, text: str) -> None:
        """Text lines wrapped to the receipt width (4C per line)."""
        for line in wrap(text, self.width):
            self.execute(p.CMD_PRINT_STRING, p.encode_text(line))

    def print_qr(self, data: str) -> None:
        self.execute(p.CMD_BARCODE, b"\x03" + data.encode("utf-8"))

    def cut(self, partial: bool = False) -> None:
        self.execute(p.CMD_CUT, b"\x01" if partial else b"\x00")

    def open_drawer(self) -> None:
        self.execute(p.CMD_DRAWER)

    def beep(self) -> None:
        self.execute(p.CMD_BEEP)

    # --- a whole receipt -----------------------------------------------------------------------
    def print_receipt(self, doc: ReceiptDocument) -> LastReceipt:
        """Fiscalise ``doc``: open, register every line, footer text, close with cash and card; the last receipt.

        A receipt left open on the device is refused (``atol_receipt_open``): deciding to cancel it is
        the caller's (it may be the one this document was, see :meth:`last_receipt`).
        """
        if doc.cashier:
            self.set_cashier(doc.cashier, doc.cashier_inn)
        self.open_receipt(doc.kind)
        for line in doc.lines:
            self.register(line.name, line.price, line.quantity, vat=line.vat, department=line.department,
                          discount=line.discount, kind=doc.kind)
        for text in doc.footer:
            self.print_text(text)
        self.close_receipt(cash=doc.cash, card=doc.card)
        return self.last_receipt()


__all__ = ["AtolRegistrar", "AtolStatus", "Counters", "DeviceError", "DeviceInfo", "LastReceipt", "ModeStatus"]
