"""ATOL legacy protocol v2: bytes, frames, numbers and the error table, with no I/O.

Link layer (both directions the same): the sender sends ENQ and waits for ACK; sends
``STX esc(payload) ETX CRC`` and waits for ACK (NAK: send again); sends EOT. ``esc`` puts DLE
before every DLE and ETX byte; CRC is the XOR of the escaped bytes and the ETX. A host frame's
payload is ``password(2 BCD) command data``; the device's answer payload starts with ``U`` (0x55)
and an error code for most commands, ``D`` for the status request (3F), ``M`` for cash in the
drawer (4D), and the error code itself for the device type (A5).

Numbers are packed BCD, big-endian: prices in kopecks, quantities in thousandths, text in cp866.
Shared by the driver (:mod:`.atol`) and the emulator (:mod:`icecash.devices.atol`).
"""

from __future__ import annotations

from icecash.core.vat import VatRate
from icecash.printd.errors import DeviceError

STX, ETX, EOT, ENQ, ACK, NAK, DLE = 0x02, 0x03, 0x04, 0x05, 0x06, 0x15, 0x10
TEXT_ENCODING = "cp866"

# commands
CMD_PRINT_STRING = 0x4C
CMD_PRINT_FIELD = 0x87
CMD_BARCODE = 0xC1
CMD_BEEP = 0x47
CMD_DRAWER = 0x80
CMD_CUT = 0x75
CMD_ENTER_MODE = 0x56
CMD_EXIT_MODE = 0x48
CMD_STATUS = 0x3F
CMD_MODE_STATUS = 0x45
CMD_CASH_IN_DRAWER = 0x4D
CMD_DEVICE_TYPE = 0xA5
CMD_READ_REGISTER = 0x91
CMD_SET_DATE = 0x64
CMD_SET_TIME = 0x4B
CMD_WRITE_TABLE = 0x50
CMD_READ_TABLE = 0x46
CMD_OPEN_SHIFT = 0x9A
CMD_OPEN_RECEIPT = 0x92
CMD_CANCEL_RECEIPT = 0x59
CMD_CASH_IN = 0x49
CMD_CASH_OUT = 0x4F
CMD_REGISTER_ITEM = 0xE6
CMD_RETURN_ITEM = 0xE7
CMD_DISCOUNT = 0x43
CMD_PAYMENT = 0x99
CMD_CLOSE_RECEIPT = 0x4A
CMD_X_REPORT = 0x67
CMD_Z_REPORT = 0x5A

# modes (56 enter mode)
MODE_SELECT, MODE_REGISTRATION, MODE_X, MODE_Z, MODE_PROGRAMMING = 0, 1, 2, 3, 4

# receipt types (92 open receipt) and payment types (99 / 4A)
RECEIPT_SALE, RECEIPT_RETURN = 1, 2
PAY_CASH, PAY_CARD = 1, 2

# tax codes in E6/E7 (IceCash's numbering of the FFD 1.2 rates, see docs/printing/atol.md)
TAX_CODES: dict[VatRate, int] = {VatRate.VAT0: 1, VatRate.VAT10: 2, VatRate.VAT20: 3, VatRate.NONE: 4,
                                 VatRate.VAT5: 7, VatRate.VAT7: 8, VatRate.VAT22: 11}
TAX_PERCENT: dict[int, int | None] = {1: 0, 2: 10, 3: 20, 4: None, 5: 10, 6: 20, 7: 5, 8: 7, 9: 5, 10: 7,
                                      11: 22, 12: 22}

# registers (91 read register): IceCash's numbering, see docs/printing/atol.md
REG_PAYMENTS = 0x01  # p1 receipt type, p2 payment type → 7 BCD shift sum
REG_VAT = 0x02  # p1 receipt type, p2 tax code → 7 BCD amount, 7 BCD VAT
REG_LAST_RECEIPT = 0x05  # → doc no (5), receipt no (5), type (1), total (7), cash (7), card (7)
REG_COUNTERS = 0x06  # → shift no (2), Z count (2), doc no (5), receipt no in shift (5), shift open (1)

NAME_SIZE = 64  # E6/E7 item name field
ITEM_SIZE = 1 + NAME_SIZE + 6 + 5 + 1 + 1 + 6 + 1 + 1 + 16 + 1


# --- numbers -------------------------------------------------------------------------------------


def bcd(value: int, length: int) -> bytes:
    """``value`` as ``length`` bytes of packed BCD, most significant first."""
    if value < 0:
        raise ValueError(f"BCD of a negative number {value}")
    digits = f"{value:0{length * 2}d}"
    if len(digits) > length * 2:
        raise ValueError(f"{value} does not fit in {length} BCD bytes")
    return bytes(int(digits[i:i + 2], 16) for i in range(0, len(digits), 2))


def from_bcd(data: bytes) -> int:
    """Packed BCD bytes as an integer; a nibble above 9 is a ValueError."""
    text = data.hex()
    if not text.isdigit():
        raise ValueError(f"not BCD: {text}")
    return int(text or "0")


def encode_text(text: str, size: int | None = None) -> bytes:
    """Text in cp866 (unknown characters as '?'), cut or NUL-padded to ``size`` when given."""
    data = text.replace("«", '"').replace("»", '"').replace("—", "-").replace("–", "-").replace("₽", "р")
    raw = data.encode(TEXT_ENCODING, errors="replace")
    if size is None:
        return raw
    return raw[:size].ljust(size, b"\x00")


def decode_text(data: bytes) -> str:
    return data.rstrip(b"\x00").decode(TEXT_ENCODING, errors="replace")


# --- frames --------------------------------------------------------------------------------------


def escape(payload: bytes) -> bytes:
    """DLE before every DLE and ETX byte."""
    return payload.replace(bytes((DLE,)), bytes((DLE, DLE))).replace(bytes((ETX,)), bytes((DLE, ETX)))


def crc(escaped: bytes) -> int:
    value = ETX
    for byte in escaped:
        value ^= byte
    return value


def make_frame(payload: bytes) -> bytes:
    """``STX esc(payload) ETX CRC``."""
    body = escape(payload)
    return bytes((STX,)) + body + bytes((ETX, crc(body)))


class FrameReader:
    """Collects one frame from a byte stream: ``push`` bytes until ``done``; then ``payload`` or ``bad_crc``."""

    def __init__(self) -> None:
        self.started = False
        self.escaped = bytearray()  # bytes as sent (for the CRC)
        self.payload = bytearray()
        self._dle = False
        self._etx = False
        self.done = False
        self.bad_crc = False

    def push(self, data: bytes) -> int:
        """Consume bytes; the number used (the rest belongs after the frame)."""
        for i, byte in enumerate(data):
            if self.done:
                return i
            if not self.started:
                if byte == STX:
                    self.started = True
                continue
            if self._etx:
                self.bad_crc = byte != crc(bytes(self.escaped))
                self.done = True
                continue
            if self._dle:
                self._dle = False
                self.escaped.append(byte)
                self.payload.append(byte)
            elif byte == DLE:
                self._dle = True
                self.escaped.append(byte)
            elif byte == ETX:
                self._etx = True
            else:
                self.escaped.append(byte)
                self.payload.append(byte)
        return len(data)


# --- errors --------------------------------------------------------------------------------------

# device error byte → (name, Russian, English). Codes marked * in docs/printing/atol.md are IceCash's
# choices where the legacy table is not public; the rest follow ATOL's published protocol.
DEVICE_ERRORS: dict[int, tuple[str, str, str]] = {
    0x08: ("atol_bad_price", "Неверная цена (сумма)", "Wrong price (amount)"),
    0x0A: ("atol_bad_quantity", "Неверное количество", "Wrong quantity"),
    0x1E: ("atol_bad_parameter", "Неверный формат или значение параметра команды",
           "Wrong command parameter format or value"),
    0x66: ("atol_wrong_mode", "Команда не реализуется в данном режиме ККТ",
           "The command is not allowed in this device mode"),
    0x67: ("atol_paper_out", "Нет бумаги", "Out of paper"),
    0x6A: ("atol_bad_receipt_type", "Неверный тип чека", "Wrong receipt type"),
    0x6D: ("atol_cover_open", "Открыта крышка ККТ", "The device cover is open"),
    0x7A: ("atol_unsupported", "Данная модель ККТ не может выполнить команду", "This device model cannot run the command"),
    0x7B: ("atol_bad_discount", "Неверная величина скидки / надбавки", "Wrong discount or surcharge"),
    0x7D: ("atol_bad_department", "Неверная секция", "Wrong department"),
    0x7E: ("atol_bad_payment_type", "Неверный вид оплаты", "Wrong payment type"),
    0x86: ("atol_card_over_total", "Вносимая безналичной оплатой сумма больше суммы чека",
           "The card payment exceeds the receipt total"),
    0x87: ("atol_return_receipt_open", "Открыт чек возврата – операция невозможна",
           "A return receipt is open: operation impossible"),
    0x88: ("atol_shift_over_24h", "Смена превысила 24 часа", "The shift is over 24 hours"),
    0x89: ("atol_sale_receipt_open", "Открыт чек продажи – операция невозможна",
           "A sale receipt is open: operation impossible"),
    0x8C: ("atol_bad_password", "Неверный пароль", "Wrong password"),
    0x8F: ("atol_shift_closed", "Обнулённая касса (повторное гашение невозможно)",
           "The shift is already closed (no repeated Z report)"),
    0x98: ("atol_no_cash", "В ККТ нет денег для выплаты", "Not enough cash in the device for the payout"),
    0x99: ("atol_underpaid", "Вносимая сумма меньше суммы чека", "The payment is less than the receipt total"),
    0x9A: ("atol_receipt_closed", "Чек закрыт – операция невозможна", "No receipt is open: operation impossible"),
    0x9B: ("atol_receipt_open", "Чек открыт – операция невозможна", "A receipt is open: operation impossible"),
    0x9C: ("atol_shift_open", "Смена открыта – операция невозможна", "The shift is open: operation impossible"),
}

# link and driver failures (no device byte)
LINK_ERRORS: dict[str, tuple[str, str]] = {
    "atol_no_link": ("ККТ не отвечает (нет ACK на ENQ): проверьте питание и кабель",
                     "The registrar does not answer (no ACK to ENQ): check power and cable"),
    "atol_frame_rejected": ("ККТ не приняла команду (NAK): помехи на линии",
                            "The registrar rejected the command (NAK): line noise"),
    "atol_no_answer": ("ККТ приняла команду, но не ответила: результат неизвестен, сверьте номер последнего документа",
                       ("The registrar took the command but did not answer: the result is unknown, "
                        "check the last document number")),
    "atol_bad_answer": ("Искажённый ответ ККТ", "Garbled answer from the registrar"),
    "atol_link": ("Ошибка связи с ККТ", "Link to the registrar failed"),
    "atol_unknown_error": ("Неизвестная ошибка ККТ", "Unknown registrar error"),
}


def device_error(code: int, command: int) -> DeviceError:
    """The named error for the device's error byte ``code`` answering ``command``."""
    name, ru, en = DEVICE_ERRORS.get(code, ("atol_unknown_error", *LINK_ERRORS["atol_unknown_error"]))
    return DeviceError(name, f"{ru} (ошибка 0x{code:02X})", f"{en} (error 0x{code:02X})",
                       device_code=code, command=f"0x{command:02X}")


def link_error(name: str, **details: object) -> DeviceError:
    ru, en = LINK_ERRORS[name]
    return DeviceError(name, ru, en, **details)
