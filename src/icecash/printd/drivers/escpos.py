"""ESC/POS receipt printers: a command set (:class:`EscposEncoder`) over a connection (a Transport).

The python-escpos model: what a printer can do comes from a data profile (:class:`EscposProfile`:
width in characters, dots, code page and its table number, native QR, status reports), not from
code; the encoder turns operations into bytes with no I/O; :class:`EscposPrinter` sends them over
any :class:`~icecash.printd.transports.Transport` and reads the printer's status (DLE EOT).

Cyrillic goes through the printer's code page (cp866, table 17 on most printers; the table number
is per printer). Characters the code page lacks are replaced by a close ASCII form (« » → ",
— → -, ₽ → р) and otherwise by ``?``, so a receipt always prints.

Bad arguments (a barcode with a wrong check digit, a QR too long) are refused with
:class:`~icecash.core.errors.InvalidInput`; device and link failures raise
:class:`~icecash.printd.errors.DeviceError` with a stable code (see ``ESCPOS_ERRORS``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from icecash.core.barcodes import is_valid_gtin, make_ean8, make_ean13
from icecash.core.errors import InvalidInput
from icecash.printd.errors import DeviceError, TransportError

if TYPE_CHECKING:  # pragma: no cover
    from PIL.Image import Image

    from icecash.printd.transports import Transport

ESC = b"\x1b"
GS = b"\x1d"
DLE = b"\x10"
EOT = b"\x04"
LF = b"\n"

# --- profiles ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscposProfile:
    """What one printer model can do; the print service keeps one per configured printer."""

    name: str = "80mm"
    width: int = 48  # characters per line in font A
    width_small: int = 64  # characters per line in font B (the small font)
    dots: int = 576  # printable width in dots (raster images, QR fallback)
    codepage: str = "cp866"  # Python codec of the printer's Cyrillic table
    codepage_table: int = 17  # ESC t n for that table (17 = PC866 on most printers)
    native_qr: bool = True  # GS ( k QR codes; False: QR printed as a raster image
    status: bool = True  # answers DLE EOT real-time status requests
    cutter: bool = True
    drawer: bool = True

    def __post_init__(self) -> None:
        import codecs

        try:
            codecs.lookup(self.codepage)
        except LookupError:
            raise InvalidInput("bad_codepage", f"Неизвестная кодовая страница {self.codepage!r}",
                               f"Unknown code page {self.codepage!r}", field="codepage") from None
        if not 0 <= self.codepage_table <= 255:
            raise InvalidInput("bad_codepage_table", "Номер таблицы кодовой страницы должен быть 0–255",
                               "The code page table number must be 0-255", field="codepage_table")
        if not 16 <= self.width <= 96 or not 16 <= self.width_small <= 128:
            raise InvalidInput("bad_width", "Ширина строки должна быть 16–96 символов",
                               "The line width must be 16-96 characters", field="width")
        if not 128 <= self.dots <= 2048 or self.dots % 8:
            raise InvalidInput("bad_dots", "Ширина в точках должна быть кратна 8, 128–2048",
                               "The width in dots must be a multiple of 8, 128-2048", field="dots")

    def with_width(self, width: int) -> EscposProfile:
        """The same printer with another font-A width (the small font keeps its proportion)."""
        return replace(self, width=width, width_small=max(width, width * 4 // 3))

    @classmethod
    def from_capabilities(cls, model: str, codepage: str = "cp866") -> EscposProfile:
        """A profile from python-escpos's capability database (e.g. ``TM-T88V``, ``TM-T20II``)."""
        from escpos.capabilities import CAPABILITIES

        data = CAPABILITIES["profiles"].get(model)
        if data is None:
            known = ", ".join(sorted(CAPABILITIES["profiles"]))
            raise InvalidInput("unknown_printer_model", f"Неизвестная модель принтера {model!r}; известны: {known}",
                               f"Unknown printer model {model!r}; known: {known}", field="model")
        fonts = data.get("fonts", {})
        width = int(fonts.get("0", {}).get("columns") or 48)
        small = int(fonts.get("1", {}).get("columns") or width * 4 // 3)
        dots = int((data.get("media", {}).get("width", {}) or {}).get("pixels") or width * 12)
        dots = dots if isinstance(dots, int) and dots >= 128 else width * 12
        table = next((int(k) for k, v in data.get("codePages", {}).items() if v.lower() == codepage.lower()), 17)
        features = data.get("features", {})
        return cls(name=model, width=width, width_small=small, dots=dots - dots % 8, codepage=codepage,
                   codepage_table=table, native_qr=bool(features.get("qrCode", True)),
                   cutter=bool(features.get("paperFullCut", True)))


PROFILES: dict[str, EscposProfile] = {
    "80mm": EscposProfile(),
    "80mm-42": EscposProfile(name="80mm-42", width=42, width_small=56, dots=512),
    "58mm": EscposProfile(name="58mm", width=32, width_small=42, dots=384),
    # "old ESC/POS" of the original: no GS ( k QR, no real-time status
    "old": EscposProfile(name="old", width=42, width_small=56, dots=512, native_qr=False, status=False),
}


def get_profile(name: str | EscposProfile, width: int | None = None) -> EscposProfile:
    """A built-in profile by name (or a python-escpos model name), optionally with another width."""
    if isinstance(name, EscposProfile):
        profile = name
    elif name in PROFILES:
        profile = PROFILES[name]
    else:
        profile = EscposProfile.from_capabilities(name)
    return profile.with_width(width) if width and width != profile.width else profile


# --- errors --------------------------------------------------------------------------------------

ESCPOS_ERRORS: dict[str, tuple[str, str]] = {
    "escpos_paper_out": ("В принтере нет бумаги", "The printer is out of paper"),
    "escpos_cover_open": ("Открыта крышка принтера", "The printer cover is open"),
    "escpos_offline": ("Принтер не в сети (ошибка или подача бумаги)", "The printer is offline (error or paper feed)"),
    "escpos_error": ("Ошибка принтера (резчик или механизм)", "Printer error (cutter or mechanism)"),
    "escpos_no_status": ("Принтер не ответил на запрос состояния", "The printer did not answer the status request"),
    "escpos_bad_status": ("Непонятный ответ принтера на запрос состояния",
                          "The printer's status answer makes no sense"),
    "escpos_link": ("Нет связи с принтером", "No link to the printer"),
    "escpos_paper_out_during": ("Бумага кончилась во время печати: остаток задания в принтере, вставьте бумагу",
                                "Paper ran out while printing: the rest of the job waits in the printer, load paper"),
}


def escpos_error(code: str, **details: Any) -> DeviceError:
    ru, en = ESCPOS_ERRORS[code]
    return DeviceError(code, ru, en, **details)


# --- text ----------------------------------------------------------------------------------------

_SUBSTITUTES = str.maketrans({
    "«": '"', "»": '"', "„": '"', "“": '"', "”": '"', "‘": "'", "’": "'", "—": "-", "–": "-", "‑": "-",
    "₽": "р", "…": "...", "\u00a0": " ", "\t": " ", "×": "x", "€": "EUR",
    **{chr(c): None for c in (*range(32), 0x7F) if c != 9},  # control characters are dropped
})


def encode_text(text: str, codepage: str = "cp866") -> bytes:
    """Text in the printer's code page; control characters dropped, unknown letters as close forms or '?'."""
    if text.isprintable():  # the common case: one C-level encode
        try:
            return text.encode(codepage)
        except UnicodeEncodeError:
            pass
    return text.translate(_SUBSTITUTES).encode(codepage, errors="replace")


ALIGNS = {"left": 0, "center": 1, "right": 2}


@dataclass(frozen=True)
class Style:
    """How a line prints: the styles of the original's formatted text lines."""

    bold: bool = False
    inverse: bool = False
    tall: bool = False  # double height
    wide: bool = False  # double width (half the characters per line)
    small: bool = False  # font B
    underline: bool = False
    align: str = "left"

    def __post_init__(self) -> None:
        if self.align not in ALIGNS:
            raise InvalidInput("bad_align", f"Выравнивание {self.align!r}: допустимы left, center, right",
                               f"Alignment {self.align!r}: allowed left, center, right", field="align")

    @classmethod
    def from_flags(cls, flags: str, align: str = "left") -> Style:
        """The original's style letters: b bold, i inverse, h tall, w wide, f small font, u underline."""
        unknown = set(flags) - set("bihwfu")
        if unknown:
            bad = "".join(sorted(unknown))
            raise InvalidInput("bad_style", f"Неизвестные буквы стиля {bad!r}; допустимы b i h w f u",
                               f"Unknown style letters {bad!r}; allowed b i h w f u", field="style")
        return cls(bold="b" in flags, inverse="i" in flags, tall="h" in flags, wide="w" in flags,
                   small="f" in flags, underline="u" in flags, align=align)

    def print_mode(self) -> int:
        """The ESC ! n byte: font B, emphasized, double height, double width, underline."""
        return (1 if self.small else 0) | (8 if self.bold else 0) | (16 if self.tall else 0) \
            | (32 if self.wide else 0) | (128 if self.underline else 0)


PLAIN = Style()

# --- barcodes ------------------------------------------------------------------------------------

BARCODE_TYPES = {"UPCA": 65, "UPCE": 66, "EAN13": 67, "EAN8": 68, "CODE39": 69, "ITF": 70,
                 "CODABAR": 71, "CODE93": 72, "CODE128": 73}
_HRI = {"none": 0, "above": 1, "below": 2, "both": 3}
_CODE39 = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ -.$/+%")


def _bad_barcode(kind: str, data: str, ru: str, en: str) -> InvalidInput:
    return InvalidInput("bad_barcode", f"Штрихкод {kind} {data!r}: {ru}", f"Barcode {kind} {data!r}: {en}",
                        field="barcode")


def barcode_payload(kind: str, data: str) -> bytes:
    """The bytes GS k carries for ``data`` of ``kind``, after checking them (check digits, alphabet)."""
    kind = kind.upper().replace("-", "").replace("_", "")
    if kind not in BARCODE_TYPES:
        allowed = ", ".join(BARCODE_TYPES)
        raise InvalidInput("bad_barcode_type", f"Тип штрихкода {kind!r} не поддерживается; допустимы: {allowed}",
                           f"Barcode type {kind!r} is not supported; allowed: {allowed}", field="barcode_type")
    if not data:
        raise _bad_barcode(kind, data, "пустые данные", "empty data")
    if kind in ("EAN13", "EAN8", "UPCA", "UPCE", "ITF"):
        if not (data.isascii() and data.isdigit()):
            raise _bad_barcode(kind, data, "допустимы только цифры", "digits only")
    if kind == "EAN13":
        if len(data) == 12:
            data = make_ean13(data)
        if len(data) != 13 or not is_valid_gtin(data):
            raise _bad_barcode(kind, data, "нужно 12 цифр или 13 с верной контрольной", "needs 12 digits or 13 with a valid check digit")
    elif kind == "EAN8":
        if len(data) == 7:
            data = make_ean8(data)
        if len(data) != 8 or not is_valid_gtin(data):
            raise _bad_barcode(kind, data, "нужно 7 цифр или 8 с верной контрольной", "needs 7 digits or 8 with a valid check digit")
    elif kind == "UPCA":
        if len(data) not in (11, 12) or (len(data) == 12 and not is_valid_gtin(data)):
            raise _bad_barcode(kind, data, "нужно 11 или 12 цифр", "needs 11 or 12 digits")
    elif kind == "UPCE":
        if len(data) not in (6, 7, 8, 11, 12):
            raise _bad_barcode(kind, data, "неверная длина", "wrong length")
    elif kind == "ITF":
        if len(data) % 2:
            raise _bad_barcode(kind, data, "нужно чётное число цифр", "needs an even number of digits")
    elif kind == "CODE39":
        data = data.upper()
        if not set(data) <= _CODE39:
            raise _bad_barcode(kind, data, "допустимы A–Z, 0–9, пробел и -.$/+%", "allowed A-Z, 0-9, space and -.$/+%")
    elif kind in ("CODE128", "CODE93", "CODABAR"):
        if not data.isascii() or any(not " " <= ch <= "~" for ch in data):
            raise _bad_barcode(kind, data, "допустимы печатные символы ASCII", "printable ASCII only")
        if kind == "CODE128" and not data.startswith("{"):
            data = "{B" + data.replace("{", "{{")
    if len(data) > 255:
        raise _bad_barcode(kind, data[:20] + "…", "слишком длинный", "too long")
    return data.encode("ascii")


# --- QR and images -------------------------------------------------------------------------------

_QR_EC = {"L": 48, "M": 49, "Q": 50, "H": 51}
QR_MAX = 7089


def _check_qr(data: str, size: int, ec: str) -> bytes:
    payload = data.encode("utf-8")
    if not payload:
        raise InvalidInput("bad_qr", "Пустые данные QR-кода", "Empty QR code data", field="qr")
    if len(payload) > 2953:  # byte mode, level L, version 40
        raise InvalidInput("bad_qr", "Слишком длинные данные QR-кода", "QR code data too long", field="qr")
    if not 1 <= size <= 16:
        raise InvalidInput("bad_qr_size", "Размер модуля QR 1–16", "QR module size must be 1-16", field="qr_size")
    if ec not in _QR_EC:
        raise InvalidInput("bad_qr_ec", "Уровень коррекции QR: L, M, Q или H", "QR error correction: L, M, Q or H",
                           field="qr_ec")
    return payload


def qr_image(data: str, size: int = 6, ec: str = "M") -> Image:
    """The QR code of ``data`` as a 1-bit Pillow image with ``size`` dots per module and a 4-module margin."""
    import qrcode
    from qrcode.constants import (
        ERROR_CORRECT_H,
        ERROR_CORRECT_L,
        ERROR_CORRECT_M,
        ERROR_CORRECT_Q,
    )

    levels = {"L": ERROR_CORRECT_L, "M": ERROR_CORRECT_M, "Q": ERROR_CORRECT_Q, "H": ERROR_CORRECT_H}
    code = qrcode.QRCode(error_correction=levels[ec], box_size=size, border=4)
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    return code.make_image(fill_color="black", back_color="white").get_image().convert("1")


def raster_bytes(image: Image, max_width: int, band: int = 1024) -> bytes:
    """``image`` as GS v 0 raster commands (1 = black), scaled down to ``max_width`` dots, in bands."""
    from PIL import Image as PILImage

    img = image.convert("L")
    if img.width > max_width:
        img = img.resize((max_width, max(1, img.height * max_width // img.width)), PILImage.Resampling.LANCZOS)
    width_bytes = (img.width + 7) // 8
    padded = PILImage.new("L", (width_bytes * 8, img.height), 255)
    padded.paste(img, (0, 0))
    ink = padded.point(lambda p: 255 if p < 128 else 0).convert("1", dither=PILImage.Dither.NONE)
    bits = ink.tobytes()
    out = bytearray()
    for top in range(0, img.height, band):
        rows = min(band, img.height - top)
        out += GS + b"v0\x00" + bytes((width_bytes & 0xFF, width_bytes >> 8, rows & 0xFF, rows >> 8))
        out += bits[top * width_bytes:(top + rows) * width_bytes]
    return bytes(out)


# --- the encoder ---------------------------------------------------------------------------------


@dataclass
class EscposEncoder:
    """Builds the ESC/POS bytes of a print job for one profile; no I/O (``getvalue()`` gives the bytes)."""

    profile: EscposProfile = field(default_factory=EscposProfile)
    initialize: bool = True

    def __post_init__(self) -> None:
        self._buf = bytearray()
        self._style = PLAIN
        if self.initialize:
            self.init()

    # -- basics
    def getvalue(self) -> bytes:
        return bytes(self._buf)

    def raw(self, data: bytes) -> EscposEncoder:
        """Bytes sent as they are (the original's raw ESC/POS command)."""
        self._buf += data
        return self

    def init(self) -> EscposEncoder:
        """ESC @ (reset) and the Cyrillic code page table."""
        self._buf += ESC + b"@" + ESC + b"t" + bytes((self.profile.codepage_table,))
        self._style = PLAIN
        return self

    @property
    def style_now(self) -> Style:
        return self._style

    def columns(self, style: Style | None = None) -> int:
        """Characters per line in ``style`` (the current style when None)."""
        style = style or self._style
        base = self.profile.width_small if style.small else self.profile.width
        return base // 2 if style.wide else base

    def set_style(self, style: Style) -> EscposEncoder:
        """Switch to ``style``, sending only what changed."""
        old = self._style
        if style.print_mode() != old.print_mode():
            self._buf += ESC + b"!" + bytes((style.print_mode(),))
        if style.inverse != old.inverse:
            self._buf += GS + b"B" + (b"\x01" if style.inverse else b"\x00")
        if style.align != old.align:
            self._buf += ESC + b"a" + bytes((ALIGNS[style.align],))
        self._style = style
        return self

    def text(self, text: str) -> EscposEncoder:
        """Text in the current style, no line feed."""
        self._buf += encode_text(text, self.profile.codepage)
        return self

    def line(self, text: str = "", style: Style | None = None) -> EscposEncoder:
        """One line (cut to the width) in ``style``, then back to the style before."""
        before = self._style
        if style is not None:
            self.set_style(style)
        self._buf += encode_text(text, self.profile.codepage)[: self.columns()] + LF
        if style is not None:
            self.set_style(before)
        return self

    def wrapped(self, text: str, style: Style | None = None) -> EscposEncoder:
        """``text`` wrapped at word boundaries to the width of ``style`` (long words are split)."""
        for piece in wrap(text, self.columns(style)):
            self.line(piece, style)
        return self

    def pair(self, left: str, right: str, style: Style | None = None, fill: str = " ") -> EscposEncoder:
        """``left`` and ``right`` on one line, right flush; a long left part wraps above."""
        width = self.columns(style)
        right = right[:width]
        room = width - len(right) - 1
        lines = [left] if len(left) <= room else (wrap(left, max(room, 1)) or [""])
        for piece in lines[:-1]:
            self.line(piece, style)
        last = lines[-1]
        self.line(last + fill * (width - len(last) - len(right)) + right, style)
        return self

    def rule(self, char: str = "-") -> EscposEncoder:
        return self.line(char * self.columns(PLAIN), PLAIN)

    def feed(self, lines: int = 1) -> EscposEncoder:
        """ESC d n: print and feed ``lines`` lines."""
        self._buf += ESC + b"d" + bytes((max(0, min(lines, 255)),))
        return self

    # -- codes and pictures
    def barcode(self, data: str, kind: str = "EAN13", *, height: int = 80, module: int = 2, hri: str = "below",
                align: str = "center") -> EscposEncoder:
        """GS k (function B) barcode; GS h height in dots, GS w module width 2–6, GS H text position."""
        payload = barcode_payload(kind, data)
        if not 1 <= height <= 255 or not 1 <= module <= 6 or hri not in _HRI:
            raise InvalidInput("bad_barcode_size", "Высота 1–255, ширина модуля 1–6, подпись none/above/below/both",
                               "Height 1-255, module 1-6, text none/above/below/both", field="barcode")
        m = BARCODE_TYPES[kind.upper().replace("-", "").replace("_", "")]
        before = self._style
        self.set_style(replace(PLAIN, align=align))
        self._buf += GS + b"h" + bytes((height,)) + GS + b"w" + bytes((module,)) + GS + b"H" + bytes((_HRI[hri],))
        self._buf += GS + b"k" + bytes((m, len(payload))) + payload
        self.set_style(before)
        return self

    def qr(self, data: str, *, size: int = 6, ec: str = "M", native: bool | None = None,
           align: str = "center") -> EscposEncoder:
        """A QR code: GS ( k on printers that have it, otherwise a raster image of the same code."""
        payload = _check_qr(data, size, ec)
        before = self._style
        self.set_style(replace(PLAIN, align=align))
        if self.profile.native_qr if native is None else native:
            def fn(body: bytes) -> bytes:
                return GS + b"(k" + bytes((len(body) & 0xFF, len(body) >> 8)) + body

            self._buf += fn(b"1A2\x00") + fn(b"1C" + bytes((size,))) + fn(b"1E" + bytes((_QR_EC[ec],)))
            self._buf += fn(b"1P0" + payload) + fn(b"1Q0")
        else:
            self._buf += raster_bytes(qr_image(data, size, ec), self.profile.dots)
        self.set_style(before)
        return self

    def image(self, image: Image, *, align: str = "center") -> EscposEncoder:
        """A picture (logo) as GS v 0 raster, scaled down to the printer's dots."""
        before = self._style
        self.set_style(replace(PLAIN, align=align))
        self._buf += raster_bytes(image, self.profile.dots)
        self.set_style(before)
        return self

    # -- paper and drawer
    def cut(self, partial: bool = False, feed: int = 3) -> EscposEncoder:
        """GS V 65/66 n: feed to the cutter plus ``feed`` lines, then a full or partial cut."""
        self._buf += GS + b"V" + bytes((66 if partial else 65, max(0, min(feed, 255))))
        return self

    def drawer(self, pin: int = 2, on_ms: int = 100, off_ms: int = 200) -> EscposEncoder:
        """ESC p m t1 t2: a pulse on connector pin 2 or 5 opens the cash drawer."""
        if pin not in (2, 5):
            raise InvalidInput("bad_drawer_pin", "Ящик подключён к контакту 2 или 5", "The drawer pin is 2 or 5",
                               field="pin")
        self._buf += ESC + b"p" + bytes((0 if pin == 2 else 1, min(255, max(1, on_ms // 2)),
                                         min(255, max(1, off_ms // 2))))
        return self

    def beep(self, times: int = 1) -> EscposEncoder:
        """ESC B n t: the buzzer (printers without one ignore it)."""
        self._buf += ESC + b"B" + bytes((max(1, min(times, 9)), 2))
        return self


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters, broken at spaces where possible."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        words = paragraph.split()
        current = ""
        for word in words:
            while len(word) > width:
                if current:
                    out.append(current)
                    current = ""
                out.append(word[:width])
                word = word[width:]
            if not current:
                current = word
            elif len(current) + 1 + len(word) <= width:
                current += " " + word
            else:
                out.append(current)
                current = word
        if current or not words:
            out.append(current)
    return out


# --- status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrinterStatus:
    """What DLE EOT 1, 2 and 4 report."""

    online: bool
    paper_out: bool
    paper_near_end: bool
    cover_open: bool
    drawer_signal: bool  # the drawer connector's pin 3 level (drawer open on most drawers)
    error: bool

    def as_dict(self) -> dict[str, bool]:
        return {"online": self.online, "paper_out": self.paper_out, "paper_near_end": self.paper_near_end,
                "cover_open": self.cover_open, "drawer_signal": self.drawer_signal, "error": self.error}


def parse_status(printer: int, offline: int, paper: int) -> PrinterStatus:
    """The three status bytes (answers to DLE EOT 1, 2, 4) as a :class:`PrinterStatus`."""
    for byte in (printer, offline, paper):
        if byte & 0x93 != 0x12:  # fixed bits: 0 at 0, 1 at 1, 1 at 4, 0 at 7
            raise escpos_error("escpos_bad_status", reply=f"{byte:02x}")
    return PrinterStatus(
        online=not printer & 0x08,
        drawer_signal=bool(printer & 0x04),
        cover_open=bool(offline & 0x04),
        paper_out=bool(offline & 0x20) or bool(paper & 0x60),
        paper_near_end=bool(paper & 0x0C),
        error=bool(offline & 0x40),
    )


# --- the printer ---------------------------------------------------------------------------------


class EscposPrinter:
    """An ESC/POS printer on a transport: sends encoded jobs and reads status where the printer reports it."""

    def __init__(self, transport: Transport, profile: EscposProfile | str = "80mm", *, status_timeout: float = 0.5):
        self.transport = transport
        self.profile = get_profile(profile)
        self.status_timeout = status_timeout

    @classmethod
    def open(cls, url: str, profile: EscposProfile | str = "80mm", *, timeout: float = 1.0,
             status_timeout: float | None = None) -> EscposPrinter:
        """Open the transport at ``url`` (``tcp://host:9100``, ``serial:/dev/ttyUSB0``, ``usb://VID:PID`` …);
        a status byte is awaited ``status_timeout`` seconds (default: ``timeout``, at most 0.5 s)."""
        from icecash.printd.transports import open_driver

        wait = min(timeout, 0.5) if status_timeout is None else status_timeout
        return open_driver(url, lambda transport: cls(transport, profile, status_timeout=wait), timeout=timeout)

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> EscposPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def encoder(self, initialize: bool = True) -> EscposEncoder:
        """A fresh encoder for this printer's profile."""
        return EscposEncoder(self.profile, initialize=initialize)

    def send(self, data: bytes) -> None:
        """Send bytes; a link failure is ``escpos_link`` (with the transport's own error in details)."""
        try:
            self.transport.write(data)
        except TransportError as exc:
            raise escpos_error("escpos_link", cause=exc.code, cause_en=exc.message_en) from exc

    def _query(self, n: int) -> int:
        self.send(DLE + EOT + bytes((n,)))
        try:
            reply = self.transport.read(1, timeout=self.status_timeout)
        except TransportError as exc:
            raise escpos_error("escpos_link", cause=exc.code, cause_en=exc.message_en) from exc
        if not reply:
            raise escpos_error("escpos_no_status", request=n)
        return reply[0]

    def status(self) -> PrinterStatus:
        """DLE EOT 1, 2 and 4; ``escpos_no_status`` when the printer does not answer (or its profile says it cannot)."""
        if not self.profile.status:
            raise escpos_error("escpos_no_status", profile=self.profile.name)
        try:
            self.transport.reset_input()
        except TransportError as exc:
            raise escpos_error("escpos_link", cause=exc.code, cause_en=exc.message_en) from exc
        return parse_status(self._query(1), self._query(2), self._query(4))

    def check_ready(self, status: PrinterStatus | None = None) -> PrinterStatus:
        """Raise the named error of the first problem (cover, paper, error, offline); the status if ready."""
        status = status or self.status()
        if status.cover_open:
            raise escpos_error("escpos_cover_open")
        if status.paper_out:
            raise escpos_error("escpos_paper_out")
        if status.error:
            raise escpos_error("escpos_error")
        if not status.online:
            raise escpos_error("escpos_offline")
        return status

    def print_job(self, data: bytes, *, check: bool = True) -> None:
        """Send a whole job. With a status-reporting printer (and ``check``): refuse it when the printer is
        not ready, and after sending report paper that ran out during the job."""
        checking = check and self.profile.status
        if checking:
            self.check_ready()
        self.send(data)
        if checking:
            after = self.status()
            if after.paper_out:
                raise escpos_error("escpos_paper_out_during")
            self.check_ready(after)

    def print_receipt(self, document: Any, *, cut: bool = True, check: bool = True) -> bytes:
        """Render a :class:`~icecash.printd.drivers.escpos_receipt.ReceiptDocument` and print it; the bytes sent."""
        from .escpos_receipt import render_receipt

        data = render_receipt(document, self.profile, cut=cut)
        self.print_job(data, check=check)
        return data

    def print_lines(self, lines: list[str], style: Style = PLAIN, *, cut: bool = False, check: bool = True) -> None:
        """Plain or styled text lines (the original's formatted text and ``_sendFAX``)."""
        enc = self.encoder()
        for text in lines:
            enc.wrapped(text, style) if text else enc.line("", style)
        if cut:
            enc.cut()
        self.print_job(enc.getvalue(), check=check)

    def python_escpos(self) -> Any:
        """python-escpos's ``Escpos`` command set writing to this printer's transport, for what our encoder
        does not do itself (PDF417, its image modes …). Link failures raise ``TransportError`` (a DeviceError);
        what it sends is not status-checked."""
        return _transport_escpos(self.transport, self.status_timeout)

    def cut(self, partial: bool = False, feed: int = 3) -> None:
        self.print_job(self.encoder(initialize=False).cut(partial, feed).getvalue())

    def open_drawer(self, pin: int = 2) -> None:
        """A drawer pulse; not refused for lack of paper (the drawer works without it)."""
        self.send(self.encoder(initialize=False).drawer(pin).getvalue())


def _transport_escpos_class() -> type:
    from escpos.escpos import Escpos

    class TransportEscpos(Escpos):
        """python-escpos over an IceCash transport (a 'custom connection' in python-escpos's terms)."""

        def __init__(self, transport: Transport, timeout: float):
            super().__init__(profile="default")
            self._transport = transport
            self._timeout = timeout
            self._device = transport

        def _raw(self, msg: bytes) -> None:
            self._transport.write(msg)

        def _read(self) -> bytes:
            return self._transport.read(16, timeout=self._timeout)

        def close(self) -> None:  # the transport belongs to the EscposPrinter
            pass

    return TransportEscpos


def _transport_escpos(transport: Transport, timeout: float) -> Any:
    global _TRANSPORT_ESCPOS
    if _TRANSPORT_ESCPOS is None:
        _TRANSPORT_ESCPOS = _transport_escpos_class()
    return _TRANSPORT_ESCPOS(transport, timeout)


_TRANSPORT_ESCPOS: type | None = None
