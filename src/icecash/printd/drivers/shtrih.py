"""Shtrih-M fiscal registrars: our own implementation of the published protocol (1.12, FN commands).

Link layer (:class:`ShtrihLink`): the host sends ENQ; NAK means "idle, send", ACK means "an
answer is waiting" (it is read and confirmed first). A command goes as ``STX LEN CMD DATA LRC``
(``LRC`` = XOR of LEN, CMD and DATA; two-byte FF-commands count both bytes); the device ACKs it
(NAK: resend) and answers ``STX LEN CMD ERR DATA LRC``, which the host confirms with ACK (or NAKs
to have it again). When the ACK for a command never comes, the host asks with ENQ before
resending, so a command is never executed twice.

Operations (:class:`ShtrihM`): money is integer kopecks, quantity integer thousandths (as in
:mod:`icecash.core.money`); text is cp1251 (cp866 inside FN TLVs). Every error byte is raised as a
:class:`~icecash.printd.drivers.shtrih_errors.ShtrihError` with its Russian and English name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from icecash.core.barcodes import is_valid_gtin
from icecash.core.money import MAX_MONEY, MAX_QUANTITY, line_amount
from icecash.core.vat import VatRate, vat_included
from icecash.printd.errors import DeviceError, TransportError, TransportTimeout
from icecash.printd.transports import Transport, open_driver

from .shtrih_errors import ShtrihError, error_text, shtrih_error

__all__ = [
    "CloseResult", "DeviceType", "FnStatus", "FullStatus", "ShortStatus", "ShtrihError", "ShtrihLink", "ShtrihM",
    "lrc", "make_frame",
]

STX, ENQ, ACK, NAK = 0x02, 0x05, 0x06, 0x15

MODE_NAMES = {
    0: ("Принтер в рабочем режиме", "printer ready"),
    1: ("Выдача данных", "data output"),
    2: ("Открытая смена, 24 часа не кончились", "shift open"),
    3: ("Открытая смена, 24 часа кончились", "shift open, over 24 hours"),
    4: ("Закрытая смена", "shift closed"),
    5: ("Блокировка по неправильному паролю налогового инспектора", "locked (tax inspector password)"),
    6: ("Ожидание подтверждения ввода даты", "waiting for date confirmation"),
    7: ("Разрешение изменения положения десятичной точки", "decimal point change"),
    8: ("Открытый документ", "document open"),
    9: ("Режим разрешения технологического обнуления", "technological reset allowed"),
    10: ("Тестовый прогон", "test run"),
    11: ("Печать полного фискального отчёта", "printing a full fiscal report"),
    12: ("Печать отчёта ЭКЛЗ", "printing an EJ report"),
    13: ("Работа с фискальным подкладным документом", "slip document"),
    14: ("Печать подкладного документа", "printing a slip document"),
    15: ("Фискальный подкладной документ сформирован", "slip document ready"),
}
SUBMODE_NAMES = {
    0: ("Бумага есть", "paper present"),
    1: ("Пассивное отсутствие бумаги", "no paper (idle)"),
    2: ("Активное отсутствие бумаги", "paper ran out while printing"),
    3: ("После активного отсутствия бумаги: ждёт команду продолжения печати", "waiting for continue printing"),
    4: ("Фаза печати операции полных фискальных отчётов", "printing a long report"),
    5: ("Фаза печати операции", "printing"),
}

RECEIPT_KINDS = {"sale": 0, "purchase": 1, "return": 2, "return_purchase": 3}
FN_OPERATIONS = {"sale": 1, "return": 2, "purchase": 3, "return_purchase": 4}
# FF46 tax-rate bits; the basic rate bit (0x01) is 22 % on current firmware (20 % before 2026)
VAT_BITS = {VatRate.VAT22: 0x01, VatRate.VAT20: 0x01, VatRate.VAT10: 0x02, VatRate.VAT0: 0x04,
            VatRate.NONE: 0x08, VatRate.VAT5: 0x40, VatRate.VAT7: 0x80}
# Tax groups (table 6) of the legacy 80h/82h commands
VAT_GROUPS = {VatRate.VAT22: 1, VatRate.VAT20: 1, VatRate.VAT10: 2, VatRate.VAT0: 3, VatRate.NONE: 4}
TAX_SYSTEMS = {"osn": 1, "usn_income": 2, "usn_income_outcome": 4, "eshn": 16, "patent": 32}
HEADER_TABLE = 4
HEADER_ROWS = 20
SYSTEM_ADMIN = 30
UNSET5 = 0xFFFFFFFFFF
BUSY_PRINTING = 0x50  # "идёт печать предыдущей команды": not executed, ask again  # "the registrar computes it" in 5-byte fields of FF46


def lrc(data: bytes) -> int:
    """XOR of every byte (the protocol's check byte over LEN, CMD and DATA)."""
    out = 0
    for b in data:
        out ^= b
    return out


def _cmd_bytes(code: int) -> bytes:
    return bytes([0xFF, code & 0xFF]) if code > 0xFF else bytes([code])


def make_frame(code: int, data: bytes = b"") -> bytes:
    """``STX LEN CMD DATA LRC`` for command ``code`` (one byte, or 0xFFxx for FN commands)."""
    body = _cmd_bytes(code) + data
    if len(body) > 255:
        raise DeviceError("shtrih_frame_too_long", f"Команда {code:02X}h длиннее 255 байт",
                          f"Command {code:02X}h is longer than 255 bytes", command=f"{code:02X}")
    return bytes([STX, len(body)]) + body + bytes([lrc(bytes([len(body)]) + body)])


def _u(value: int, size: int, what: str) -> bytes:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >= 1 << (8 * size):
        raise DeviceError("shtrih_bad_value", f"Значение {what}={value!r} вне допустимого диапазона",
                          f"{what}={value!r} is out of range", field=what)
    return value.to_bytes(size, "little")


def _le(data: bytes) -> int:
    return int.from_bytes(data, "little")


def _text(value: str, size: int | None, what: str = "text", encoding: str = "cp1251") -> bytes:
    try:
        raw = value.encode(encoding)
    except UnicodeEncodeError as exc:
        raise DeviceError("shtrih_bad_text", f"Символ {value[exc.start]!r} в поле {what} не печатается ККТ",
                          f"Character {value[exc.start]!r} in {what} cannot be printed by the registrar",
                          field=what) from None
    if size is None:
        return raw
    return raw[:size].ljust(size, b"\x00")


def _decode(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("cp1251", "replace").rstrip()


class ShtrihLink:
    """The ENQ/ACK/NAK link layer over a transport: one command in, its answer out."""

    def __init__(self, transport: Transport, *, byte_timeout: float = 0.5, answer_timeout: float = 10.0,
                 retries: int = 3):
        self.transport = transport
        self.byte_timeout = byte_timeout
        self.answer_timeout = answer_timeout
        self.retries = retries
        self.stats = {"naks_sent": 0, "naks_received": 0, "stale_answers": 0, "resent": 0}

    def _no_link(self, why_en: str, why_ru: str) -> TransportError:
        return TransportError("shtrih_no_link", f"Нет связи с ККТ Штрих-М: {why_ru}",
                              f"No link to the Shtrih-M registrar: {why_en}", url=self.transport.url)

    def _read_answer_frame(self, first_timeout: float) -> bytes | None:
        """One answer frame body (``CMD ERR DATA``) or None when its check byte was wrong."""
        t = self.transport
        deadline = time.monotonic() + first_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TransportTimeout("shtrih_answer_timeout", "ККТ Штрих-М не прислала ответ",
                                       "The Shtrih-M registrar sent no answer", url=t.url)
            byte = t.read(1, timeout=left)
            if byte == bytes([STX]):
                break
            # anything before STX (a stray ACK, line noise) is skipped, as the protocol says
        length = t.read_exact(1, timeout=self.byte_timeout)[0]
        rest = t.read_exact(length + 1, timeout=self.byte_timeout + length * 0.002)
        body, check = rest[:-1], rest[-1]
        if length == 0 or lrc(bytes([length]) + body) != check:
            return None
        return body

    def _enquire(self) -> bool:
        """ENQ: True when the device has an answer pending (ACK), False when idle (NAK)."""
        t = self.transport
        for _attempt in range(self.retries + 1):
            t.write(bytes([ENQ]))
            byte = t.read(1, timeout=self.byte_timeout * 2)
            if byte == bytes([NAK]):
                return False
            if byte == bytes([ACK]):
                return True
            # nothing (or noise): ask again
        raise self._no_link("no answer to ENQ", "нет ответа на ENQ")

    def _receive(self, timeout: float) -> bytes:
        """Read an answer frame, NAK-ing and re-reading on a bad check byte; then ACK it."""
        t = self.transport
        for _attempt in range(self.retries + 1):
            try:
                body = self._read_answer_frame(timeout)
            except TransportTimeout:
                # the answer was lost or cut: ENQ makes the device send it again
                if self._enquire():
                    timeout = self.byte_timeout * 4
                    continue
                raise self._no_link("the answer was lost and the device has none pending",
                                    "ответ потерян, а у устройства нет ожидающего ответа") from None
            if body is None:
                self.stats["naks_sent"] += 1
                t.write(bytes([NAK]))
                timeout = self.byte_timeout * 4
                continue
            t.write(bytes([ACK]))
            return body
        raise self._no_link("answers keep arriving damaged", "ответы приходят повреждёнными")

    def _drain_pending(self) -> None:
        """Make the device idle: read and confirm any answer it still holds (from an earlier run)."""
        for _attempt in range(self.retries + 2):
            if not self._enquire():
                return
            self.stats["stale_answers"] += 1
            try:
                self._receive(self.byte_timeout * 4)
            except TransportError:
                pass  # a stale answer that cannot be read is dropped; the next ENQ tells
        raise self._no_link("the device keeps reporting a pending answer",
                            "устройство всё время сообщает о неотданном ответе")

    def exchange(self, code: int, data: bytes = b"", *, timeout: float | None = None) -> bytes:
        """Send one command, return the answer body after the command bytes (``ERR DATA``)."""
        t = self.transport
        frame = make_frame(code, data)
        answer_timeout = self.answer_timeout if timeout is None else timeout
        self._drain_pending()
        for _attempt in range(self.retries + 1):
            t.write(frame)
            byte = t.read(1, timeout=self.byte_timeout * 2)
            if byte == bytes([NAK]):
                self.stats["naks_received"] += 1
                self.stats["resent"] += 1
                continue  # the device saw a damaged frame: send it again
            if byte != bytes([ACK]):
                # no ACK: was the frame received? ENQ answers without executing it twice
                if self._enquire():
                    break  # it was: its answer is waiting
                self.stats["resent"] += 1
                continue
            break
        else:
            raise self._no_link(f"command {code:02X}h was refused {self.retries + 1} times",
                                f"команда {code:02X}h не принята {self.retries + 1} раз")
        body = self._receive(answer_timeout)
        prefix = _cmd_bytes(code)
        if not body.startswith(prefix) or len(body) < len(prefix) + 1:
            raise DeviceError("shtrih_unexpected_answer",
                              f"ККТ ответила не на ту команду ({body[:2].hex()} вместо {prefix.hex()})",
                              f"The registrar answered another command ({body[:2].hex()} instead of {prefix.hex()})",
                              command=f"{code:02X}")
        return body[len(prefix):]


@dataclass(frozen=True)
class ShortStatus:
    """Command 10h: what the host checks before and after every operation."""

    operator: int
    flags: int
    mode: int  # the whole mode byte: low nibble mode, high nibble its status (receipt type in mode 8)
    submode: int
    receipt_operations: int
    fn_error: int

    @property
    def mode_number(self) -> int:
        return self.mode & 0x0F

    @property
    def receipt_open(self) -> bool:
        return self.mode_number == 8

    @property
    def receipt_kind(self) -> str | None:
        if not self.receipt_open:
            return None
        return {v: k for k, v in RECEIPT_KINDS.items()}.get(self.mode >> 4, "unknown")

    @property
    def shift_open(self) -> bool:
        return self.mode_number in (2, 3, 8)

    @property
    def shift_over_24h(self) -> bool:
        return self.mode_number == 3

    @property
    def paper_present(self) -> bool:
        return bool(self.flags & 0x0002) and bool(self.flags & 0x0080)

    @property
    def cover_open(self) -> bool:
        return bool(self.flags & 0x0400)

    @property
    def drawer_open(self) -> bool:
        return bool(self.flags & 0x0800)

    @property
    def waiting_continue(self) -> bool:
        return self.submode == 3

    def as_dict(self) -> dict[str, object]:
        ru, en = MODE_NAMES.get(self.mode_number, ("?", "?"))
        sub_ru, sub_en = SUBMODE_NAMES.get(self.submode, ("?", "?"))
        return {"mode": self.mode_number, "mode_byte": self.mode, "mode_ru": ru, "mode_en": en,
                "submode": self.submode, "submode_ru": sub_ru, "submode_en": sub_en,
                "receipt_open": self.receipt_open, "receipt_kind": self.receipt_kind, "shift_open": self.shift_open,
                "shift_over_24h": self.shift_over_24h, "paper_present": self.paper_present,
                "cover_open": self.cover_open, "drawer_open": self.drawer_open,
                "receipt_operations": self.receipt_operations, "operator": self.operator}


@dataclass(frozen=True)
class FullStatus:
    """Command 11h."""

    operator: int
    firmware: str
    firmware_build: int
    document_number: int
    flags: int
    mode: int
    submode: int
    clock: datetime
    serial: int
    last_shift: int
    inn: int


@dataclass(frozen=True)
class DeviceType:
    """Command FCh."""

    type: int
    subtype: int
    protocol: tuple[int, int]
    model: int
    language: int
    name: str


@dataclass(frozen=True)
class FnStatus:
    """Command FF01h: the fiscal storage."""

    life_phase: int
    current_document: int
    document_has_data: bool
    shift_open: bool
    warnings: int
    clock: datetime
    fn_number: str
    last_document_number: int


@dataclass(frozen=True)
class CloseResult:
    """A closed receipt: change given and the fiscal document that fixes it."""

    change: int
    fd_number: int
    fiscal_sign: int | None = None
    details: dict[str, object] = field(default_factory=dict)


class ShtrihM:
    """A Shtrih-M registrar. ``password`` is the operator's (the cashier's), ``admin_password`` the
    system administrator's (tables, clock, FN commands). Use as a context manager or call close()."""

    def __init__(self, transport: Transport, *, password: int = SYSTEM_ADMIN, admin_password: int = SYSTEM_ADMIN,
                 byte_timeout: float = 0.5, answer_timeout: float = 10.0, retries: int = 3, ffd12: bool = True,
                 tax_system: str | int = "osn"):
        self.transport = transport
        transport.reset_input()  # bytes left on the line by an earlier session are not answers to us
        self.link = ShtrihLink(transport, byte_timeout=byte_timeout, answer_timeout=answer_timeout, retries=retries)
        self.password = password
        self.admin_password = admin_password
        self.ffd12 = ffd12
        if isinstance(tax_system, str):
            if tax_system not in TAX_SYSTEMS:
                raise DeviceError("shtrih_bad_tax_system", f"Неизвестная система налогообложения {tax_system!r}",
                                  f"Unknown taxation system {tax_system!r}", field="tax_system")
            tax_system = TAX_SYSTEMS[tax_system]
        self.tax_system = tax_system
        self.receipt_kind: str | None = None  # of the receipt opened by open_receipt(), for register_item()

    @classmethod
    def open(cls, url: str, *, timeout: float = 1.0, **options: object) -> ShtrihM:
        """Open the transport at ``url`` (see :func:`open_transport`) and wrap it."""
        return open_driver(url, lambda transport: cls(transport, **options), timeout=timeout)  # type: ignore[arg-type]

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> ShtrihM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the core: one command, errors raised by name ------------------------------------------
    def command(self, code: int, data: bytes = b"", *, timeout: float | None = None) -> bytes:
        """Run a command; return the answer data after the error byte, or raise :class:`ShtrihError`.

        Error 50h ("still printing the previous command") is the one answer that means "ask again":
        the command was not executed, so it is repeated until ``answer_timeout`` runs out.
        """
        deadline = time.monotonic() + (self.link.answer_timeout if timeout is None else timeout)
        while True:
            answer = self.link.exchange(code, data, timeout=timeout)
            if not answer:
                raise DeviceError("shtrih_short_answer", f"Пустой ответ на команду {code:02X}h",
                                  f"Empty answer to command {code:02X}h", command=f"{code:02X}")
            if answer[0] == BUSY_PRINTING and time.monotonic() < deadline:
                self.link.stats["busy_retries"] = self.link.stats.get("busy_retries", 0) + 1
                time.sleep(0.05)
                continue
            if answer[0] != 0:
                raise self._named_error(answer[0], code)
            return answer[1:]

    def _named_error(self, error: int, code: int) -> ShtrihError:
        """The error for ``error``; a paper error says whether the cover is open (the device's flag)."""
        if error == 0x6B and code != 0x10:
            try:
                status = self.short_status()
            except DeviceError:
                status = None
            if status is not None and status.cover_open:
                ru, en = error_text(error)
                return ShtrihError(error, code, f"ККТ Штрих-М: {ru}: открыта крышка (код 0x6B, команда {code:02X}h)",
                                   f"Shtrih-M: {en}: the cover is open (code 0x6B, command {code:02X}h)",
                                   cover_open=True)
        return shtrih_error(error, code)

    def _pwd(self) -> bytes:
        return _u(self.password, 4, "password")

    def _admin(self) -> bytes:
        return _u(self.admin_password, 4, "admin_password")

    # --- status --------------------------------------------------------------------------------
    def short_status(self) -> ShortStatus:
        d = self.command(0x10, self._pwd())
        return ShortStatus(operator=d[0], flags=_le(d[1:3]), mode=d[3], submode=d[4],
                           receipt_operations=d[5] | (d[10] << 8 if len(d) > 10 else 0), fn_error=d[8])

    def full_status(self) -> FullStatus:
        d = self.command(0x11, self._pwd())
        return FullStatus(
            operator=d[0], firmware=d[1:3].decode("ascii", "replace"), firmware_build=_le(d[3:5]),
            document_number=_le(d[9:11]), flags=_le(d[11:13]), mode=d[13], submode=d[14],
            clock=datetime(2000 + d[25], d[24], d[23], d[26], d[27], d[28]), serial=_le(d[30:34]),
            last_shift=_le(d[34:36]), inn=_le(d[40:46]),
        )

    def device_type(self) -> DeviceType:
        d = self.command(0xFC)
        return DeviceType(type=d[0], subtype=d[1], protocol=(d[2], d[3]), model=d[4], language=d[5],
                          name=_decode(d[6:]))

    def fn_status(self) -> FnStatus:
        d = self.command(0xFF01, self._admin())
        return FnStatus(life_phase=d[0], current_document=d[1], document_has_data=bool(d[2]), shift_open=bool(d[3]),
                        warnings=d[4], clock=datetime(2000 + d[5], d[6], d[7], d[8], d[9]),
                        fn_number=d[10:26].decode("ascii", "replace"), last_document_number=_le(d[26:30]))

    def last_document_number(self) -> int:
        """The number of the last fiscal document in the FN: what a host reconciles by."""
        return self.fn_status().last_document_number

    def beep(self) -> None:
        self.command(0x13, self._pwd())

    # --- clock ---------------------------------------------------------------------------------
    def get_datetime(self) -> datetime:
        return self.full_status().clock

    def set_datetime(self, when: datetime) -> None:
        """Set the clock: time (21h), date (22h) and its confirmation (23h). The shift must be closed."""
        self.command(0x21, self._admin() + bytes([when.hour, when.minute, when.second]))
        date = bytes([when.day, when.month, when.year % 100])
        self.command(0x22, self._admin() + date)
        self.command(0x23, self._admin() + date)

    # --- tables --------------------------------------------------------------------------------
    def read_table(self, table: int, row: int, field_no: int) -> bytes:
        return self.command(0x1F, self._admin() + _u(table, 1, "table") + _u(row, 2, "row") + _u(field_no, 1, "field"))

    def write_table(self, table: int, row: int, field_no: int, value: bytes | str | int, *, size: int = 1) -> None:
        """Write a field: text as cp1251, an int as ``size`` little-endian bytes."""
        if isinstance(value, str):
            raw = _text(value, None, "value")
        elif isinstance(value, int):
            raw = _u(value, size, "value")
        else:
            raw = bytes(value)
        if len(raw) > 40 + 24:
            raise DeviceError("shtrih_value_too_long", "Значение поля таблицы слишком длинное",
                              "The table field value is too long", field="value")
        self.command(0x1E, self._admin() + _u(table, 1, "table") + _u(row, 2, "row") + _u(field_no, 1, "field") + raw)

    def read_header(self) -> list[str]:
        """The receipt header lines (table 4, rows 1–20); empty rows are kept as ''."""
        return [_decode(self.read_table(HEADER_TABLE, row, 1)) for row in range(1, HEADER_ROWS + 1)]

    def write_header(self, lines: Iterable[str], *, first_row: int = 1) -> None:
        """Write header lines from ``first_row`` on; the rows after them are cleared."""
        lines = list(lines)
        if first_row < 1 or first_row - 1 + len(lines) > HEADER_ROWS:
            raise DeviceError("shtrih_header_too_long", f"Заголовок чека — не больше {HEADER_ROWS} строк",
                              f"The receipt header has at most {HEADER_ROWS} lines", field="lines")
        for offset, line in enumerate(lines):
            self.write_table(HEADER_TABLE, first_row + offset, 1, line)
        for row in range(first_row + len(lines), HEADER_ROWS + 1):
            self.write_table(HEADER_TABLE, row, 1, "")

    # --- FN TLV (FFD 1.2 data) -----------------------------------------------------------------
    @staticmethod
    def tlv(tag: int, value: str | bytes | int, *, size: int | None = None) -> bytes:
        """One TLV: strings in cp866 (as the FN stores them), ints little-endian in ``size`` bytes."""
        if isinstance(value, str):
            raw = _text(value, None, f"tag {tag}", "cp866")
        elif isinstance(value, int):
            raw = _u(value, size or max(1, (value.bit_length() + 7) // 8), f"tag {tag}")
        else:
            raw = bytes(value)
        return _u(tag, 2, "tag") + _u(len(raw), 2, "length") + raw

    def send_tlv(self, *tlvs: bytes) -> None:
        """Receipt-level tags (FF0Ch), e.g. the cashier 1021 and their INN 1203."""
        for item in tlvs:
            self.command(0xFF0C, self._admin() + item)

    def send_item_tlv(self, *tlvs: bytes) -> None:
        """Tags of the last registered item (FF4Dh), e.g. the measure of quantity 2108."""
        for item in tlvs:
            self.command(0xFF4D, self._admin() + item)

    def _cashier_tlvs(self, cashier: str | None, cashier_inn: str | None) -> list[bytes]:
        out = []
        if cashier:
            out.append(self.tlv(1021, cashier[:64]))
        if cashier_inn:
            if not (cashier_inn.isdigit() and len(cashier_inn) in (10, 12)):
                raise DeviceError("shtrih_bad_inn", "ИНН кассира — 10 или 12 цифр", "The cashier's INN is 10 or 12 digits",
                                  field="cashier_inn")
            out.append(self.tlv(1203, cashier_inn.ljust(12)))
        return out

    # --- shift ---------------------------------------------------------------------------------
    def open_shift(self, cashier: str | None = None, cashier_inn: str | None = None) -> None:
        if self.ffd12:
            self.send_tlv(*self._cashier_tlvs(cashier, cashier_inn))
        self.command(0xE0, self._pwd())

    def x_report(self) -> None:
        self.command(0x40, self._pwd(), timeout=max(self.link.answer_timeout, 30.0))

    def z_report(self, cashier: str | None = None, cashier_inn: str | None = None) -> None:
        """Close the shift (the Z report) — the FN writes its closing report."""
        if self.ffd12:
            self.send_tlv(*self._cashier_tlvs(cashier, cashier_inn))
        self.command(0x41, self._pwd(), timeout=max(self.link.answer_timeout, 30.0))

    # --- receipts ------------------------------------------------------------------------------
    def open_receipt(self, kind: str = "sale", *, cashier: str | None = None, cashier_inn: str | None = None) -> None:
        """Open a receipt: ``sale`` (приход), ``return`` (возврат прихода), ``purchase``, ``return_purchase``."""
        if kind not in RECEIPT_KINDS:
            raise DeviceError("shtrih_bad_receipt_kind", f"Неизвестный тип чека {kind!r}", f"Unknown receipt kind {kind!r}",
                              field="kind")
        self.command(0x8D, self._pwd() + bytes([RECEIPT_KINDS[kind]]))
        self.receipt_kind = kind
        if self.ffd12:
            self.send_tlv(*self._cashier_tlvs(cashier, cashier_inn))

    def register_item(self, name: str, price: int, quantity: int, *, vat: VatRate = VatRate.NONE,
                      department: int = 1, kind: str | None = None, discount: int = 0, payment_method: int = 4,
                      payment_object: int = 1, measure: int | None = None) -> int:
        """Register a line; returns its amount in kopecks (``price`` × ``quantity`` − ``discount``).

        ``quantity`` is in thousandths; ``kind`` defaults to the kind of the receipt opened by
        :meth:`open_receipt` (else ``sale``). With FFD 1.2 (the default) this is FF46h (operation V2) with
        the VAT computed here, payment method (1214, 4 = full payment) and object (1212, 1 = goods),
        and ``measure`` (2108: 0 pieces, 11 kg …) bound through FF4Dh; otherwise 80h/82h.
        """
        if not isinstance(price, int) or not 0 <= price <= MAX_MONEY:
            raise DeviceError("shtrih_bad_price", f"Цена {price!r} вне диапазона", f"Price {price!r} is out of range",
                              field="price")
        if not isinstance(quantity, int) or not 0 < quantity <= MAX_QUANTITY:
            raise DeviceError("shtrih_bad_quantity", f"Количество {quantity!r} вне диапазона",
                              f"Quantity {quantity!r} is out of range", field="quantity")
        if not 0 <= department <= 16:
            raise DeviceError("shtrih_bad_department", "Отдел — от 0 до 16", "The department is 0 to 16",
                              field="department")
        gross = line_amount(price, quantity)
        if not isinstance(discount, int) or not 0 <= discount <= gross:
            raise DeviceError("shtrih_bad_discount", "Скидка на строку больше её суммы или отрицательна",
                              "The line discount is negative or larger than the line", field="discount")
        amount = gross - discount
        kind = kind or self.receipt_kind or "sale"
        if self.ffd12:
            if kind not in FN_OPERATIONS:
                raise DeviceError("shtrih_bad_receipt_kind", f"Неизвестный тип чека {kind!r}",
                                  f"Unknown receipt kind {kind!r}", field="kind")
            data = (self._admin() + bytes([FN_OPERATIONS[kind]]) + _u(quantity * 1000, 6, "quantity")
                    + _u(price, 5, "price") + _u(amount, 5, "amount") + _u(vat_included(amount, vat), 5, "vat")
                    + bytes([VAT_BITS[vat], department, _u(payment_method, 1, "payment_method")[0],
                             _u(payment_object, 1, "payment_object")[0]])
                    + _text(name, None, "name")[:128])
            self.command(0xFF46, data)
            if measure is not None:
                self.send_item_tlv(self.tlv(2108, measure, size=1))
        else:
            if discount:
                raise DeviceError("shtrih_discount_needs_ffd12", "Скидка на строку — только в режиме ФФД 1.2",
                                  "A per-line discount needs FFD 1.2 mode", field="discount")
            if vat not in VAT_GROUPS:
                raise DeviceError("shtrih_vat_not_in_table", f"Ставки {vat.label_ru} нет в таблице налогов",
                                  f"The rate {vat.value} is not in the legacy tax table", field="vat")
            code = {"sale": 0x80, "return": 0x82}.get(kind)
            if code is None:
                raise DeviceError("shtrih_bad_receipt_kind", f"Тип чека {kind!r} требует ФФД 1.2",
                                  f"Receipt kind {kind!r} needs FFD 1.2", field="kind")
            data = (self._pwd() + _u(quantity, 5, "quantity") + _u(price, 5, "price") + bytes([department])
                    + bytes([VAT_GROUPS[vat], 0, 0, 0]) + _text(name, 40, "name"))
            self.command(code, data)
        return amount

    def discount(self, amount: int, text: str = "", *, vat: VatRate | None = None) -> None:
        """A discount on the receipt subtotal (86h)."""
        taxes = bytes([VAT_GROUPS.get(vat, 0) if vat else 0, 0, 0, 0])
        self.command(0x86, self._pwd() + _u(amount, 5, "amount") + taxes + _text(text, 40, "text"))

    def subtotal(self) -> int:
        return _le(self.command(0x89, self._pwd())[1:6])

    def close_receipt(self, cash: int = 0, card: int = 0, *, text: str = "", other: Iterable[int] = ()) -> CloseResult:
        """Close with cash (type 1) and card (type 2, электронными) kept apart; ``other`` = types 3…16."""
        payments = [cash, card, *other]
        if len(payments) > 16:
            raise DeviceError("shtrih_too_many_payments", "Не больше 16 типов оплаты", "At most 16 payment types",
                              field="other")
        for i, value in enumerate(payments):
            _u(value, 5, f"payment{i + 1}")
        if self.ffd12:
            data = (self._admin() + b"".join(_u(v, 5, "payment") for v in payments + [0] * (16 - len(payments)))
                    + b"\x00" + b"\x00" * 30 + bytes([self.tax_system]) + _text(text, None, "text")[:64])
            d = self.command(0xFF45, data)
            self.receipt_kind = None
            return CloseResult(change=_le(d[0:5]), fd_number=_le(d[5:9]),
                               fiscal_sign=_le(d[9:13]) if len(d) >= 13 else None)
        if any(payments[4:]):
            raise DeviceError("shtrih_payment_type_needs_ffd12", "Типы оплаты 5–16 — только в режиме ФФД 1.2",
                              "Payment types 5-16 need FFD 1.2 mode", field="other")
        p4 = (payments + [0, 0, 0, 0])[:4]
        data = (self._pwd() + b"".join(_u(v, 5, "payment") for v in p4) + b"\x00\x00" + b"\x00" * 4
                + _text(text, 40, "text"))
        d = self.command(0x85, data)
        self.receipt_kind = None
        return CloseResult(change=_le(d[1:6]), fd_number=self.last_document_number())

    def cancel_receipt(self) -> None:
        self.command(0x88, self._pwd())
        self.receipt_kind = None

    def repeat_document(self) -> None:
        """Print a copy of the last document (8Ch)."""
        self.command(0x8C, self._pwd())

    # --- money ---------------------------------------------------------------------------------
    def cash_in(self, amount: int) -> int:
        """Внесение; returns the document number."""
        return _le(self.command(0x50, self._pwd() + _u(amount, 5, "amount"))[1:3])

    def cash_out(self, amount: int) -> int:
        """Выплата; returns the document number."""
        return _le(self.command(0x51, self._pwd() + _u(amount, 5, "amount"))[1:3])

    # --- printer -------------------------------------------------------------------------------
    def cut(self, partial: bool = False) -> None:
        self.command(0x25, self._pwd() + bytes([1 if partial else 0]))

    def open_drawer(self, drawer: int = 0) -> None:
        self.command(0x28, self._pwd() + _u(drawer, 1, "drawer"))

    def feed(self, lines: int = 1) -> None:
        self.command(0x29, self._pwd() + bytes([0x02, _u(lines, 1, "lines")[0]]))

    def print_line(self, text: str, *, receipt: bool = True, journal: bool = False) -> None:
        """One line (17h): up to 40 cp1251 bytes; longer text is the caller's to wrap."""
        flags = (0x02 if receipt else 0) | (0x01 if journal else 0)
        self.command(0x17, self._pwd() + bytes([flags]) + _text(text, 40, "text"))

    def print_text(self, text: str, *, width: int = 36) -> None:
        """Several lines, each wrapped at ``width`` characters."""
        for raw_line in text.splitlines() or [""]:
            line = raw_line.rstrip()
            while len(line) > width:
                self.print_line(line[:width])
                line = line[width:]
            self.print_line(line)

    def print_ean13(self, code: str) -> None:
        """EAN-13 (C2h): 12 digits, or 13 with a correct check digit (the registrar adds its own)."""
        digits = code.strip()
        if not (digits.isdigit() and len(digits) in (12, 13)) or (len(digits) == 13 and not is_valid_gtin(digits)):
            raise DeviceError("shtrih_bad_ean13", "EAN-13: 12 цифр или 13 с верной контрольной цифрой",
                              "EAN-13 needs 12 digits, or 13 with a valid check digit", field="code")
        self.command(0xC2, self._pwd() + _u(int(digits[:12]), 5, "code"))

    def print_qr(self, data: str, *, module_size: int = 4, alignment: int = 1) -> None:
        """A QR code: the data is loaded in 64-byte blocks (DDh), then printed (DEh)."""
        raw = _text(data, None, "data")
        if not raw or len(raw) > 64 * 8:
            raise DeviceError("shtrih_bad_qr", "Данные QR-кода пусты или длиннее 512 байт",
                              "QR data is empty or longer than 512 bytes", field="data")
        for block, start in enumerate(range(0, len(raw), 64)):
            self.command(0xDD, self._pwd() + bytes([0, block]) + raw[start:start + 64].ljust(64, b"\x00"))
        params = bytes([0, module_size, 0, 0, 0])
        self.command(0xDE, self._pwd() + bytes([3]) + _u(len(raw), 2, "length") + bytes([0]) + params
                     + bytes([alignment]))

    def continue_printing(self) -> None:
        """After the paper ran out mid-document and was put back (submode 3): print the rest (B0h)."""
        self.command(0xB0, self._pwd())

    def wait_ready(self, timeout: float = 10.0, poll: float = 0.1) -> ShortStatus:
        """Poll the short status until the printer is idle; paper trouble is raised, not waited out.

        Submode 3 (paper back after running out) is finished with :meth:`continue_printing` here,
        so the interrupted document is printed in full.
        """
        deadline = time.monotonic() + timeout
        while True:
            status = self.short_status()
            if status.submode == 3:
                self.continue_printing()
                continue
            if status.submode in (1, 2) or status.cover_open:
                ru, en = error_text(0x6B)
                if status.cover_open:
                    ru, en = f"{ru}: открыта крышка", f"{en}: the cover is open"
                raise ShtrihError(0x6B, 0x10, f"ККТ Штрих-М: {ru}", f"Shtrih-M: {en}", cover_open=status.cover_open,
                                  submode=status.submode)
            if status.submode == 0:
                return status
            if time.monotonic() > deadline:
                raise TransportTimeout("shtrih_busy", "ККТ Штрих-М занята печатью дольше ожидаемого",
                                       "The Shtrih-M registrar stays busy printing", url=self.transport.url)
            time.sleep(poll)
