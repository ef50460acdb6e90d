"""What a scanned text is: a weighed item, a card, or a barcode to look up, with GS1 check digits.

The till feeds every scan through :func:`classify_scan`, which dispatches by prefix in the fixed
order the original IceCash used (not "longest prefix wins"):

1. **scale barcode** — exactly 13 digits starting with a scale prefix (default ``21``):
   ``PP CCCCC WWWWW K`` with the item code in digits 3–7, the weight in grams in digits 8–12
   and an EAN-13 check digit. The positions are fixed whatever the prefix length, as the
   scales print them.
2. **user card** prefix (default ``111``),
3. **discount card** prefix (default ``222``),
4. **bonus card** prefix (default ``777``) — cards are not check-digit verified; the whole
   text is the card number,
5. otherwise a **barcode**: an all-digit text of GTIN length (8, 12, 13, 14) must carry a
   valid check digit; any other printable text of up to 64 characters (internal codes,
   Code 128) is taken as it is.

So if the lists overlap (say scale ``2`` and discount ``222``), a 13-digit scan starting with
``222`` is a scale barcode and a shorter one a discount card; a user-card prefix shadows the
discount and bonus prefixes. Every scan is stripped first and refused when empty, longer than
64 characters or containing control characters, whatever it turns out to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import InvalidInput

GTIN_LENGTHS = frozenset({8, 12, 13, 14})  # EAN-8, UPC-A, EAN-13, GTIN-14
MAX_SCAN_LENGTH = 64
SCALE_BARCODE_LENGTH = 13


def _is_digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts superscripts and other scripts' digits)."""
    return text.isascii() and text.isdigit()


def gtin_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for a GTIN body (7, 11, 12 or 13 digits, without the check digit).

    Weights 3, 1, 3, … are counted from the rightmost body digit, so one function serves
    EAN-8, UPC-A, EAN-13 and GTIN-14.
    """
    if not body or not _is_digits(body):
        raise ValueError(f"GTIN body must be digits: {body!r}")
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    """True for an 8, 12, 13 or 14 digit code whose last digit is its GS1 check digit."""
    if len(code) not in GTIN_LENGTHS or not _is_digits(code):
        return False
    return gtin_check_digit(code[:-1]) == int(code[-1])


def _make_gtin(body: str, length: int) -> str:
    if len(body) != length or not _is_digits(body):
        raise ValueError(f"expected {length} digits, got {body!r}")
    return body + str(gtin_check_digit(body))


def make_ean13(body12: str) -> str:
    """An EAN-13 from its first 12 digits (for demo data, tests and benchmarks)."""
    return _make_gtin(body12, 12)


def make_ean8(body7: str) -> str:
    """An EAN-8 from its first 7 digits."""
    return _make_gtin(body7, 7)


def parse_prefixes(text: str, field: str) -> tuple[str, ...]:
    """A settings value such as ``"21"`` or ``"21;22; 23"`` as a tuple of digit prefixes.

    Empty parts are ignored (so ``""`` disables that kind of scan), duplicates dropped;
    anything but digits is refused, naming the setting ``field``.
    """
    prefixes: list[str] = []
    for part in text.split(";"):
        prefix = part.strip()
        if not prefix:
            continue
        if not _is_digits(prefix):
            raise InvalidInput(
                "bad_prefix",
                f"Префикс должен состоять из цифр: {prefix!r}",
                f"A prefix must consist of digits: {prefix!r}",
                field=field,
                value=prefix,
            )
        if prefix not in prefixes:
            prefixes.append(prefix)
    return tuple(prefixes)


@dataclass(frozen=True)
class ScanRules:
    """Which prefixes mark scale barcodes and each kind of card (settings of a till)."""

    scale_prefixes: tuple[str, ...] = ("21",)
    user_prefixes: tuple[str, ...] = ("111",)
    discount_prefixes: tuple[str, ...] = ("222",)
    bonus_prefixes: tuple[str, ...] = ("777",)

    def __post_init__(self) -> None:
        # A bare string would be iterated character by character, and an empty prefix
        # would match every scan: refuse both rather than misclassify.
        for name in ("scale_prefixes", "user_prefixes", "discount_prefixes", "bonus_prefixes"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} must be a tuple of prefixes; use ScanRules.from_settings for text")
            for prefix in value:
                if not isinstance(prefix, str) or not prefix or not _is_digits(prefix):
                    raise InvalidInput(
                        "bad_prefix",
                        f"Префикс должен состоять из цифр: {prefix!r}",
                        f"A prefix must consist of digits: {prefix!r}",
                        field=name,
                        value=str(prefix),
                    )

    @classmethod
    def from_settings(
        cls, scale: str = "21", user: str = "111", discount: str = "222", bonus: str = "777"
    ) -> ScanRules:
        """Rules from the till's text settings, each a ``;``-separated list of prefixes."""
        return cls(
            scale_prefixes=parse_prefixes(scale, "scale_prefix"),
            user_prefixes=parse_prefixes(user, "user_prefix"),
            discount_prefixes=parse_prefixes(discount, "discount_prefix"),
            bonus_prefixes=parse_prefixes(bonus, "bonus_prefix"),
        )


class ScanKind(str, Enum):
    """What a scanned text turned out to be."""

    SCALE = "scale"
    USER_CARD = "user_card"
    DISCOUNT_CARD = "discount_card"
    BONUS_CARD = "bonus_card"
    BARCODE = "barcode"


@dataclass(frozen=True)
class Scan:
    """A classified scan; ``item_code`` and ``quantity`` (grams = thousandths of a kg) only for scales."""

    kind: ScanKind
    text: str
    item_code: str | None = None
    quantity: int | None = None


def _bad_check_digit(text: str) -> InvalidInput:
    expected = gtin_check_digit(text[:-1])
    return InvalidInput(
        "bad_check_digit",
        f"Неверная контрольная цифра штрихкода {text}: ожидается {expected}",
        f"Wrong check digit in barcode {text}: expected {expected}",
        field="barcode",
        expected=expected,
    )


def _check_scan_text(text: str) -> None:
    """Refuse what no scanner should send: nothing, too much, or control characters."""
    if not text:
        raise InvalidInput("empty_barcode", "Пустой штрихкод", "Empty barcode", field="barcode")
    if len(text) > MAX_SCAN_LENGTH:
        raise InvalidInput(
            "bad_barcode",
            f"Штрихкод слишком длинный: {len(text)} символов, допустимо не более {MAX_SCAN_LENGTH}",
            f"Barcode too long: {len(text)} characters, at most {MAX_SCAN_LENGTH} allowed",
            field="barcode",
        )
    if not text.isprintable():
        raise InvalidInput(
            "bad_barcode",
            "Штрихкод содержит управляющие или непечатаемые символы",
            "Barcode contains control or non-printable characters",
            field="barcode",
        )


def _scale_scan(text: str) -> Scan:
    """Item code and grams out of a 13-digit scale barcode ``PP CCCCC WWWWW K``."""
    if not is_valid_gtin(text):
        raise _bad_check_digit(text)
    item_code = text[2:7].lstrip("0")
    grams = int(text[7:12])
    if not item_code:
        raise InvalidInput(
            "bad_scale_barcode",
            f"Весовой штрихкод {text} без кода товара",
            f"Scale barcode {text} has no item code",
            field="barcode",
        )
    if grams == 0:
        raise InvalidInput(
            "bad_scale_barcode",
            f"Весовой штрихкод {text} с нулевым весом",
            f"Scale barcode {text} has zero weight",
            field="barcode",
        )
    return Scan(ScanKind.SCALE, text, item_code=item_code, quantity=grams)


def classify_scan(text: str, rules: ScanRules) -> Scan:
    """Classify one scan by the fixed prefix order of the module docstring; refusals are InvalidInput."""
    text = text.strip()
    _check_scan_text(text)
    if len(text) == SCALE_BARCODE_LENGTH and _is_digits(text) and text.startswith(rules.scale_prefixes):
        return _scale_scan(text)
    for prefixes, kind in (
        (rules.user_prefixes, ScanKind.USER_CARD),
        (rules.discount_prefixes, ScanKind.DISCOUNT_CARD),
        (rules.bonus_prefixes, ScanKind.BONUS_CARD),
    ):
        if text.startswith(prefixes):
            return Scan(kind, text)
    if len(text) in GTIN_LENGTHS and _is_digits(text) and not is_valid_gtin(text):
        raise _bad_check_digit(text)
    return Scan(ScanKind.BARCODE, text)
