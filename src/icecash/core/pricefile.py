"""Price files: the catalogue a shop loads into its tills, as IceCash2 ``.spr`` or our UTF-8 CSV.

Loading is all-or-nothing. Every line is checked; up to :data:`MAX_ERRORS` problems are collected
with their line number and field name, and a :class:`PriceFileError` is raised if there was any,
so an admin can fix several at once and a till never loads half a price list.

Pure code: callers pass bytes (a zipped ``.spr`` is opened in memory) and get records back.
The formats are described for admins in ``docs/admin/price-files.md``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .barcodes import GTIN_LENGTHS, gtin_check_digit, is_valid_gtin
from .errors import InvalidInput
from .money import (
    FULL_RATE,
    MAX_MONEY,
    MAX_QUANTITY,
    QTY_SCALE,
    format_money,
    format_quantity,
    format_rate,
    parse_money,
    parse_quantity,
    parse_rate,
)
from .vat import VatRate, parse_vat

MAX_ERRORS = 50  # problems collected before giving up on a file
MAX_STOCK = 999_999_999_999  # thousandths: a billion units, far above any shop, inside BIGINT
MAX_INT_FIELD = 2_147_483_647  # department, type and scheme fit a 32-bit column
MAX_UNZIPPED = 256 * 1024 * 1024  # a 100,000-item .spr is ~10 MB; refuse zip bombs

SPR_ENCODING = "cp1251"
SPR_MIN_FIELDS = 17
SPR_BARCODE_MIN_FIELDS = 6
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members, an empty zip


class StockMode(str, Enum):
    """What the stock column does to the stock a till already has."""

    CLEAR = "clear"  # overwrite with the file's value
    KEEP = "keep"  # leave the till's stock alone
    ADD = "add"  # add the file's value (a delivery)

    def stock_after(self, held: int, in_file: int) -> int:
        """An item's stock (thousandths) after a file with this mode: ``held`` before, ``in_file`` in the file."""
        if self is StockMode.KEEP:
            return held
        if self is StockMode.ADD:
            return held + in_file
        return in_file


@dataclass(frozen=True, slots=True)
class PriceHeader:
    """How to apply the file: replace the whole catalogue or upsert by code, and the stock mode."""

    replace_catalogue: bool = False
    stock_mode: StockMode = StockMode.CLEAR


@dataclass(frozen=True, slots=True)
class CatalogueRow:
    """One item or group. Money in kopecks, stock and litres in thousandths, discount in basis points.

    ``line_no`` says where the row came from and is left out of equality, so a re-parsed file
    compares equal to the one written.

    ``vat`` and ``no_discount`` may be unknown (None): ``.spr`` has no field for them, and a CSV
    may leave them out. Loading such a row keeps what the item already has (set earlier by a CSV,
    the back office or the server) and gives an item new to the catalogue the till's default VAT
    rate and no "no discount" mark: a price update must not wipe them.
    """

    line_no: int = field(compare=False)
    code: str
    barcode: str
    name: str
    is_item: bool
    parent_code: str | None = None  # None: at the root of the tree
    price: int = 0
    min_price: int = 0
    max_price: int = 0  # 0: no upper limit
    max_discount_bp: int = 0  # maximum manual discount, 20 % == 2000
    weighed: bool = False  # fractional quantities allowed
    department: int = 0
    vat: VatRate | None = None  # None: not in the file (keep the item's rate; a new item: the till's default)
    alcohol: bool = False  # excise alcohol, needs an EGAIS mark
    litres_ml: int = 0  # volume in litres x 1000 (0.70 l == 700)
    stock: int = 0  # thousandths
    type: int = 0
    scheme: int = 0
    # no card, manual or promotion discount on this item; None: not in the file (keep; a new item: False)
    no_discount: bool | None = None


# The fields a CatalogueRow may leave unknown (None): loading keeps the held item's value (see CatalogueRow).
KEPT_WHEN_UNKNOWN = ("vat", "no_discount")


def unknown_fields(row: CatalogueRow) -> tuple[str, ...]:
    """The fields of :data:`KEPT_WHEN_UNKNOWN` that this row leaves unknown."""
    return tuple(name for name in KEPT_WHEN_UNKNOWN if getattr(row, name) is None)


def merge_held(values: dict[str, Any], row: CatalogueRow, held: Any, stock_mode: StockMode) -> None:
    """Update ``values`` (the stored form of ``row``) for an item already held as ``held`` (a stored row with
    ``stock``, ``vat`` and ``no_discount``): stock as ``stock_mode`` says, unknown fields as held."""
    values["stock"] = stock_mode.stock_after(held.stock, row.stock)
    for name in unknown_fields(row):
        values[name] = getattr(held, name)


@dataclass(frozen=True, slots=True)
class ExtraBarcodeRow:
    """Another barcode (or another price) for an item; ``coefficient`` in thousandths, 1000 == 1."""

    line_no: int = field(compare=False)
    item_code: str
    barcode: str
    name: str
    price: int = 0
    coefficient: int = QTY_SCALE


@dataclass(frozen=True, slots=True)
class PriceFile:
    """A parsed price file: how to apply it, its catalogue rows and extra barcodes, and its format."""

    header: PriceHeader
    rows: list[CatalogueRow]
    extra_barcodes: list[ExtraBarcodeRow]
    format: str  # "spr" or "csv"
    # Lines that load but deserve the admin's eye (e.g. a barcode no scanner will accept).
    warnings: list[LineError] = field(default_factory=list, compare=False)


@dataclass(frozen=True, slots=True)
class LineError:
    """One problem in a price file; ``line_no`` 0 means the file as a whole."""

    line_no: int
    field: str
    message_ru: str
    message_en: str

    def summary_ru(self) -> str:
        if self.line_no:
            return f"строка {self.line_no}, поле {self.field}: {self.message_ru}"
        return f"файл: {self.message_ru}"

    def summary_en(self) -> str:
        if self.line_no:
            return f"line {self.line_no}, field {self.field}: {self.message_en}"
        return f"file: {self.message_en}"

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line_no, "field": self.field, "message": self.message_ru, "message_en": self.message_en}


class PriceFileError(InvalidInput):
    """A price file refused as a whole, with every problem found (at most :data:`MAX_ERRORS`)."""

    def __init__(self, errors: list[LineError], truncated: bool = False):
        if not errors:
            raise ValueError("PriceFileError needs at least one error")
        self.errors = list(errors)
        self.truncated = truncated
        first = self.errors[0]
        count = f"{len(self.errors)}{'+' if truncated else ''}"
        more_ru = f" (всего ошибок: {count})" if len(self.errors) > 1 or truncated else ""
        more_en = f" ({count} errors in all)" if len(self.errors) > 1 or truncated else ""
        super().__init__(
            "bad_price_file",
            f"Прайс не загружен: {first.summary_ru()}{more_ru}",
            f"Price file not loaded: {first.summary_en()}{more_en}",
            field=first.field,
            errors=[e.as_dict() for e in self.errors],
            truncated=truncated,
        )


# --------------------------------------------------------------------------- field parsing


class _TooManyErrors(Exception):
    """Raised inside the parser when the error cap is passed; turned into PriceFileError."""


_SPR_NAMES = {
    "code": "id",
    "barcode": "shk",
    "name": "name",
    "litres": "litrag",
    "price": "cena",
    "stock": "ostatok",
    "scheme": "sheme",
    "weighed": "real",
    "department": "section",
    "max_discount": "max_skid",
    "type": "type",
    "alcohol": "alco",
    "min_price": "minprice",
    "max_price": "maxprice",
    "parent": "idgroup",
    "is_item": "istov",
    "coefficient": "koef",
    "vat": "vat",
    "no_discount": "no_discount",
}
_SPR_FIELDS = (
    "id", "shk", "name", "litrag", "cena", "ostatok", "sheme", "real", "section",
    "max_skid", "type", "alco", "minprice", "maxprice", "reserved2", "idgroup", "istov",
)  # fmt: skip
_SPR_BARCODE_FIELDS = ("id", "shk", "name", "name2", "cena", "koef")

CSV_COLUMNS = (
    "kind", "code", "barcode", "name", "price", "group", "min_price", "max_price", "max_discount",
    "weighed", "department", "vat", "alcohol", "litres", "stock", "coefficient", "no_discount",
)  # fmt: skip
CSV_REQUIRED = ("code", "name", "price")
_CSV_NAMES = {
    "code": "code",
    "barcode": "barcode",
    "name": "name",
    "litres": "litres",
    "price": "price",
    "stock": "stock",
    "scheme": "scheme",
    "weighed": "weighed",
    "department": "department",
    "max_discount": "max_discount",
    "type": "type",
    "alcohol": "alcohol",
    "min_price": "min_price",
    "max_price": "max_price",
    "parent": "group",
    "is_item": "kind",
    "coefficient": "coefficient",
    "vat": "vat",
    "no_discount": "no_discount",
}

_FLAGS = {"1": True, "0": False, "": False}
_TRUE = frozenset({"1", "yes", "да", "true"})
_FALSE = frozenset({"0", "no", "нет", "false", ""})


def _show(raw: str) -> str:
    """A raw value short enough to quote in a message."""
    return raw if len(raw) <= 40 else raw[:37] + "..."


def _is_code(text: str) -> bool:
    return text.isdigit() and text.isascii()


class _Parser:
    """Collects the errors and records of one file, turning raw field text into checked values.

    Field parsers return ``None`` after recording an error, so a line reports every bad field.
    Parsed numbers are cached by their text: price lists repeat the same few values.
    """

    def __init__(self, names: dict[str, str], loose_flags: bool):
        self.names = names
        self.loose_flags = loose_flags
        self.errors: list[LineError] = []
        self.warnings: list[LineError] = []
        self.line_no = 0
        self.rows: list[CatalogueRow] = []
        self.barcodes: list[ExtraBarcodeRow] = []
        self._first_line: dict[str, int] = {}  # code -> the line it first appeared on
        self._is_item: dict[str, bool] = {}
        self._money: dict[str, int] = {"": 0}  # parsed values by their text, one cache per limit
        self._quantity: dict[str, int] = {"": 0}
        self._stock: dict[str, int] = {"": 0}
        self._rate: dict[str, int] = {"": 0}
        self._ints: dict[str, int] = {"": 0}

    def error(self, key: str, ru: str, en: str, line_no: int | None = None) -> None:
        if len(self.errors) >= MAX_ERRORS:
            raise _TooManyErrors
        name = self.names.get(key, key)
        self.errors.append(LineError(self.line_no if line_no is None else line_no, name, ru, en))

    def fail(self, truncated: bool = False) -> PriceFileError:
        return PriceFileError(sorted(self.errors, key=lambda e: e.line_no), truncated=truncated)

    # -- scalars

    def code(self, raw: str, key: str = "code") -> str | None:
        if raw.isdigit() and raw.isascii():
            return raw
        if not raw:
            self.error(key, "код не указан", "the code is empty")
        else:
            self.error(
                key,
                f"код должен состоять только из цифр, а не «{_show(raw)}»",
                f"the code must be digits only, not {_show(raw)!r}",
            )
        return None

    def parent(self, raw: str) -> str | None:
        """The parent group code; empty or 0 is the root."""
        if raw == "" or raw == "0":
            return None
        return self.code(raw, "parent")

    def _parse(self, raw: str, key: str, kind: str, limit: int, cache: dict[str, int]) -> int | None:
        parse = {"money": parse_money, "quantity": parse_quantity, "rate": parse_rate}[kind]
        try:
            value = parse(raw)
        except ValueError:
            ru, en = _EXPECTED[kind]
            self.error(
                key, f"«{_show(raw)}» — не число; ожидается {ru}", f"{_show(raw)!r} is not a number; expected {en}"
            )
            return None
        if value < 0:
            self.error(key, f"отрицательное значение {_show(raw)}", f"negative value {_show(raw)}")
            return None
        if value > limit:
            if kind == "rate":
                self.error(
                    key, f"скидка {_show(raw)} % вне диапазона 0–100", f"discount {_show(raw)} % is outside 0-100"
                )
            else:
                self.error(key, f"слишком большое значение {_show(raw)}", f"value {_show(raw)} is too large")
            return None
        cache[raw] = value
        return value

    def money(self, raw: str, key: str) -> int | None:
        value = self._money.get(raw)
        return self._parse(raw, key, "money", MAX_MONEY, self._money) if value is None else value

    def quantity(self, raw: str, key: str) -> int | None:
        value = self._quantity.get(raw)
        return self._parse(raw, key, "quantity", MAX_QUANTITY, self._quantity) if value is None else value

    def percent(self, raw: str, key: str) -> int | None:
        value = self._rate.get(raw)
        return self._parse(raw, key, "rate", FULL_RATE, self._rate) if value is None else value

    def integer(self, raw: str, key: str) -> int | None:
        value = self._ints.get(raw)
        if value is not None:
            return value
        if raw.isdigit() and raw.isascii() and int(raw) <= MAX_INT_FIELD:
            self._ints[raw] = value = int(raw)
            return value
        self.error(
            key,
            f"«{_show(raw)}» — ожидается целое число от 0 до {MAX_INT_FIELD}",
            f"{_show(raw)!r}: expected a whole number from 0 to {MAX_INT_FIELD}",
        )
        return None

    def flag(self, raw: str, key: str) -> bool | None:
        if raw == "1":
            return True
        if raw == "0" or raw == "":
            return False
        if self.loose_flags:
            low = raw.lower()
            if low in _TRUE:
                return True
            if low in _FALSE:
                return False
            self.error(
                key,
                f"«{_show(raw)}» — ожидается 1/0, да/нет, yes/no или true/false",
                f"{_show(raw)!r}: expected 1/0, yes/no, да/нет or true/false",
            )
        else:
            self.error(key, f"ожидается 0 или 1, а не «{_show(raw)}»", f"expected 0 or 1, not {_show(raw)!r}")
        return None

    # -- records

    def catalogue_row(
        self, code_raw: str, barcode: str, name: str, is_item: bool | None, parent_raw: str, price_raw: str,
        min_raw: str, max_raw: str, discount_raw: str, weighed_raw: str, alcohol_raw: str, department_raw: str,
        type_raw: str, scheme_raw: str, litres_raw: str, stock_raw: str, vat: VatRate | None, start: int | None = None,
        no_discount: bool | None = None,
    ) -> None:  # fmt: skip
        """Check one item or group (``is_item`` None: its kind was bad and already reported) and keep it."""
        if start is None:
            start = len(self.errors)
        # Fast paths inline (cached numbers, 0/1 flags): this runs once per line of 100,000-line files.
        code = code_raw if code_raw.isdigit() and code_raw.isascii() else self.code(code_raw)
        if barcode:
            self.check_barcode(barcode)
        if is_item and not name:
            self.error("name", "у товара нет наименования", "an item needs a name")
        parent = None if parent_raw == "" or parent_raw == "0" else self.code(parent_raw, "parent")
        money, quantity, ints = self._money.get, self._quantity.get, self._ints.get
        price = money(price_raw)
        if price is None:
            price = self._parse(price_raw, "price", "money", MAX_MONEY, self._money)
        min_price = money(min_raw)
        if min_price is None:
            min_price = self._parse(min_raw, "min_price", "money", MAX_MONEY, self._money)
        max_price = money(max_raw)
        if max_price is None:
            max_price = self._parse(max_raw, "max_price", "money", MAX_MONEY, self._money)
        max_discount = self.percent(discount_raw, "max_discount")
        weighed = _FLAGS.get(weighed_raw)
        if weighed is None:
            weighed = self.flag(weighed_raw, "weighed")
        alcohol = _FLAGS.get(alcohol_raw)
        if alcohol is None:
            alcohol = self.flag(alcohol_raw, "alcohol")
        department = ints(department_raw)
        if department is None:
            department = self.integer(department_raw, "department")
        type_ = ints(type_raw)
        if type_ is None:
            type_ = self.integer(type_raw, "type")
        scheme = ints(scheme_raw)
        if scheme is None:
            scheme = self.integer(scheme_raw, "scheme")
        litres = quantity(litres_raw)
        if litres is None:
            litres = self._parse(litres_raw, "litres", "quantity", MAX_QUANTITY, self._quantity)
        stock = self._stock.get(stock_raw)
        if stock is None:
            stock = self._parse(stock_raw, "stock", "quantity", MAX_STOCK, self._stock)
        if min_price is not None and max_price is not None:
            if max_price and min_price > max_price:
                self.error(
                    "min_price",
                    f"минимальная цена {format_money(min_price)} больше максимальной {format_money(max_price)}",
                    f"minimum price {format_money(min_price)} is above maximum price {format_money(max_price)}",
                )
            elif price is not None and (price < min_price or (max_price and price > max_price)):
                upper = format_money(max_price) if max_price else "∞"
                self.error(
                    "price",
                    f"цена {format_money(price)} вне диапазона [{format_money(min_price)}; {upper}]",
                    f"price {format_money(price)} is outside [{format_money(min_price)}; {upper}]",
                )
        if code is not None:
            first = self._first_line.get(code)
            if first is not None:
                self.error(
                    "code",
                    f"код {code} повторяется: он уже есть в строке {first}",
                    f"code {code} repeats: it is already on line {first}",
                )
            else:
                self._first_line[code] = self.line_no
                if is_item is not None:
                    self._is_item[code] = is_item
        if len(self.errors) == start and is_item is not None:
            row = CatalogueRow(
                self.line_no, code, barcode, name, is_item, parent, price, min_price, max_price,
                max_discount, weighed, department, vat, alcohol, litres, stock, type_, scheme, no_discount,
            )  # fmt: skip
            self.rows.append(row)

    def check_barcode(self, barcode: str) -> None:
        """An EAN/UPC with a wrong check digit loads (the item sells by code) but is reported."""
        if barcode.isascii() and barcode.isdigit() and len(barcode) in GTIN_LENGTHS and not is_valid_gtin(barcode):
            expected = gtin_check_digit(barcode[:-1])
            self.warnings.append(LineError(
                self.line_no, self.names.get("barcode", "barcode"),
                f"штрихкод {barcode}: неверная контрольная цифра (ожидается {expected}) — сканер его не примет, продажа только по коду",
                f"barcode {barcode}: wrong check digit (expected {expected}): it cannot be scanned, sell by code",
            ))

    def barcode_row(self, code_raw: str, barcode: str, name: str, price_raw: str, koef_raw: str) -> None:
        """Check one extra barcode and keep it; empty or 0 coefficient means 1."""
        start = len(self.errors)
        code = self.code(code_raw)
        if barcode:
            self.check_barcode(barcode)
        price = self.money(price_raw, "price")
        koef = self.quantity(koef_raw, "coefficient")
        if len(self.errors) == start:
            extra = ExtraBarcodeRow(self.line_no, code, barcode, name, price, koef or QTY_SCALE)
            self.barcodes.append(extra)

    def finish(self, header: PriceHeader, fmt: str) -> PriceFile:
        """Check extra barcodes against the file's items, then all or nothing."""
        for extra in self.barcodes:
            is_item = self._is_item.get(extra.item_code)
            if is_item is False:
                self.error(
                    "code",
                    f"доп. штрихкод для {extra.item_code}, но это группа, а не товар",
                    f"extra barcode for {extra.item_code}, which is a group, not an item",
                    line_no=extra.line_no,
                )
            elif is_item is None and header.replace_catalogue and extra.item_code not in self._first_line:
                self.error(
                    "code",
                    f"доп. штрихкод для товара {extra.item_code}, которого нет в файле, а файл заменяет весь каталог",
                    f"extra barcode for item {extra.item_code}, which is not in this file, "
                    "and the file replaces the catalogue",
                    line_no=extra.line_no,
                )
        if self.errors:
            raise self.fail()
        return PriceFile(header, self.rows, self.barcodes, fmt, self.warnings)


_EXPECTED = {
    "money": (
        "сумма в рублях, не более 2 знаков после точки, например 198.00",
        "rubles with at most 2 decimals, e.g. 198.00",
    ),
    "quantity": (
        "число, не более 3 знаков после точки, например 0.750",
        "a number with at most 3 decimals, e.g. 0.750",
    ),
    "rate": (
        "процент, не более 2 знаков после точки, например 20",
        "a percentage with at most 2 decimals, e.g. 20",
    ),
}


def _run(parser: _Parser, body) -> PriceFile:
    """Run a parse body; past the error cap, raise with the collected errors marked truncated."""
    try:
        return body()
    except _TooManyErrors:
        raise parser.fail(truncated=True) from None


def _file_error(ru: str, en: str, line_no: int = 0, field_name: str = "file") -> PriceFileError:
    return PriceFileError([LineError(line_no, field_name, ru, en)])


def _decode(data: bytes, encoding: str, hint_ru: str, hint_en: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line_no = data.count(b"\n", 0, exc.start) + 1
        raise _file_error(
            f"байт 0x{data[exc.start]:02X} не читается в кодировке {encoding}; {hint_ru}",
            f"byte 0x{data[exc.start]:02X} cannot be read as {encoding}; {hint_en}",
            line_no=line_no,
            field_name="encoding",
        ) from None


# --------------------------------------------------------------------------- .spr


def _unzip_spr(data: bytes) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _file_error("повреждённый zip-архив", "damaged zip archive") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        candidates = [m for m in members if m.filename.lower().endswith(".spr")]
        if not candidates and len(members) == 1:
            candidates = members
        if len(candidates) != 1:
            found = ", ".join(_show(m.filename) for m in candidates)
            raise _file_error(
                f"в архиве должен быть ровно один файл .spr, найдено: {found or 'ни одного'}",
                f"the archive must hold exactly one .spr file, found: {found or 'none'}",
            )
        member = candidates[0]
        if member.file_size > MAX_UNZIPPED:
            raise _file_error("файл в архиве слишком большой", "the file in the archive is too large")
        try:
            with archive.open(member) as handle:
                content = handle.read(MAX_UNZIPPED + 1)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError, ValueError):
            raise _file_error(
                f"не удалось распаковать {member.filename}", f"could not unpack {member.filename}"
            ) from None
        if len(content) > MAX_UNZIPPED:
            raise _file_error("файл в архиве слишком большой", "the file in the archive is too large")
        return content


def _options(parser: _Parser, text: str, field_name: str) -> list[tuple[str, str]]:
    """``key=value`` pairs of a header or options line, keys and values lower-cased."""
    pairs = []
    for token in text.split(";"):
        token = token.strip()
        if not token:
            continue
        key, sep, value = token.partition("=")
        if sep:
            pairs.append((key.strip().lower(), value.strip().lower()))
        else:
            parser.error(
                field_name,
                f"ожидается ключ=значение, а не «{_show(token)}»",
                f"expected key=value, not {_show(token)!r}",
            )
    return pairs


def _stock_mode(parser: _Parser, value: str, field_name: str) -> StockMode:
    try:
        return StockMode(value)
    except ValueError:
        parser.error(
            field_name,
            f"«{_show(value)}» — ожидается clear, keep или add",
            f"{_show(value)!r}: expected clear, keep or add",
        )
        return StockMode.CLEAR


def _spr_header(parser: _Parser, line: str) -> PriceHeader:
    replace = False
    stock = StockMode.CLEAR
    for key, value in _options(parser, line[1:], "header"):
        if key == "type" and value != "price":
            parser.error("type", f"файл типа «{_show(value)}», а не price", f"file of type {_show(value)!r}, not price")
        elif key == "sheme_record":
            replace = value == "clear"
        elif key == "sheme_count":
            stock = _stock_mode(parser, value, "sheme_count")
    return PriceHeader(replace, stock)


def parse_spr(data: bytes) -> PriceFile:
    """Parse an IceCash2 ``.spr`` price file (cp1251, ``;``-separated), plain or zipped."""
    if data.startswith(_ZIP_MAGICS):
        data = _unzip_spr(data)
    if data.startswith(b"\xef\xbb\xbf"):
        raise _file_error(
            "файл сохранён в UTF-8, а прайс .spr должен быть в cp1251 (Windows-1251); для UTF-8 есть формат CSV",
            "the file is UTF-8, but a .spr price file must be cp1251 (Windows-1251); use CSV for UTF-8",
            line_no=1,
            field_name="encoding",
        )
    text = _decode(
        data,
        SPR_ENCODING,
        "прайс .spr должен быть в cp1251 (Windows-1251)",
        "a .spr file must be cp1251 (Windows-1251)",
    )
    parser = _Parser(_SPR_NAMES, loose_flags=False)
    return _run(parser, lambda: _parse_spr_text(parser, text))


def _parse_spr_text(parser: _Parser, text: str) -> PriceFile:
    header = PriceHeader()
    seen_content = False
    catalogue_row = parser.catalogue_row
    flag = parser.flag
    for line_no, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line or line.isspace():
            continue
        parser.line_no = line_no
        first_content, seen_content = not seen_content, True
        if line[0] == "#":
            if line[:8].lower() == "#icecash":
                if first_content:
                    header = _spr_header(parser, line)
                else:
                    parser.error(
                        "header",
                        "заголовок #IceCash допустим только в первой строке",
                        "the #IceCash header is allowed on the first line only",
                    )
                continue
            fields = line[1:].split(";")
            if not _is_code(fields[0]):
                continue  # a comment: a barcode line has its code right after the '#'
            fields = [x.strip() for x in fields]
            if len(fields) < SPR_BARCODE_MIN_FIELDS:
                parser.error(
                    _SPR_BARCODE_FIELDS[len(fields)],
                    f"полей в строке доп. штрихкода: {len(fields)}, нужно не меньше {SPR_BARCODE_MIN_FIELDS}",
                    f"the extra barcode line has {len(fields)} fields, at least {SPR_BARCODE_MIN_FIELDS} are needed",
                )
                continue
            parser.barcode_row(fields[0], fields[1], fields[2], fields[4], fields[5])
            continue
        f = line.split(";")
        if len(f) < SPR_MIN_FIELDS:
            parser.error(
                _SPR_FIELDS[len(f)],
                f"полей в строке: {len(f)}, нужно не меньше {SPR_MIN_FIELDS}",
                f"the line has {len(f)} fields, at least {SPR_MIN_FIELDS} are needed",
            )
            continue
        f = [x.strip() for x in f[:SPR_MIN_FIELDS]]
        # f: id shk name litrag cena ostatok sheme real section max_skid type alco minprice maxprice
        #    reserved2 idgroup istov
        catalogue_row(
            f[0], f[1], f[2], flag(f[16], "is_item"), f[15], f[4], f[12], f[13], f[9], f[7], f[11], f[8],
            f[10], f[6], f[3], f[5], None,
        )  # fmt: skip
    return parser.finish(header, "spr")


def _spr_text(value: str, what: str, code: str) -> str:
    if ";" in value or "\n" in value or "\r" in value:
        raise InvalidInput(
            "price_file_unwritable",
            f"{what} товара {code} содержит «;» или перевод строки, в .spr так нельзя",
            f"{what} of {code} contains ';' or a line break, which .spr cannot hold",
            field=what,
        )
    try:
        value.encode(SPR_ENCODING)
    except UnicodeEncodeError:
        raise InvalidInput(
            "price_file_unwritable",
            f"{what} товара {code} содержит символы вне cp1251",
            f"{what} of {code} has characters outside cp1251",
            field=what,
        ) from None
    return value


def _spr_code(value: str | None, what: str) -> str:
    if value is None:
        return "0"
    if not _is_code(value):
        raise InvalidInput(
            "price_file_unwritable",
            f"код «{_show(value)}» не из цифр, в .spr так нельзя",
            f"code {_show(value)!r} is not all digits, which .spr cannot hold",
            field=what,
        )
    return value


def write_spr(price_file: PriceFile) -> bytes:
    """Write a :class:`PriceFile` as a cp1251 ``.spr`` with its header line (demo data, benchmarks).

    ``.spr`` has no VAT or "no discount" field, so a row that sets either is refused rather than
    silently dropped (a dropped value would leave the till's instead).
    """
    header = price_file.header
    record = "clear" if header.replace_catalogue else "update"
    out = [f"#IceCash=2.0;type=price;sheme_record={record};sheme_count={header.stock_mode.value}"]
    for row in price_file.rows:
        code = _spr_code(row.code, "code")
        if row.vat is not None:
            raise InvalidInput(
                "price_file_unwritable",
                f"у товара {code} указана ставка НДС, а в .spr для неё нет поля",
                f"item {code} has a VAT rate, which .spr has no field for",
                field="vat",
            )
        if row.no_discount is not None:
            raise InvalidInput(
                "price_file_unwritable",
                f"у товара {code} указан признак «без скидки», а в .spr для него нет поля",
                f"item {code} has a no-discount flag, which .spr has no field for",
                field="no_discount",
            )
        out.append(
            ";".join((
                code,
                _spr_text(row.barcode, "shk", code),
                _spr_text(row.name, "name", code),
                format_quantity(row.litres_ml),
                format_money(row.price),
                format_quantity(row.stock),
                str(row.scheme),
                "1" if row.weighed else "0",
                str(row.department),
                format_rate(row.max_discount_bp),
                str(row.type),
                "1" if row.alcohol else "0",
                format_money(row.min_price),
                format_money(row.max_price),
                "0",
                _spr_code(row.parent_code, "parent_code"),
                "1" if row.is_item else "0",
            ))
        )  # fmt: skip
    for extra in price_file.extra_barcodes:
        code = _spr_code(extra.item_code, "item_code")
        out.append(
            "#" + ";".join((
                code,
                _spr_text(extra.barcode, "shk", code),
                _spr_text(extra.name, "name", code),
                "",
                format_money(extra.price),
                format_quantity(extra.coefficient),
            ))
        )  # fmt: skip
    out.append("")
    return "\r\n".join(out).encode(SPR_ENCODING)


# --------------------------------------------------------------------------- CSV


def _csv_options(parser: _Parser, line: str) -> PriceHeader:
    replace = False
    stock = StockMode.CLEAR
    for key, value in _options(parser, line.lstrip().removeprefix("#").replace(",", ";"), "options"):
        if key == "replace":
            replace = bool(parser.flag(value, "replace"))
        elif key == "stock":
            stock = _stock_mode(parser, value, "stock")
        else:
            parser.error(
                "options", f"неизвестный параметр «{_show(key)}»; допустимы replace и stock",
                f"unknown option {_show(key)!r}; allowed: replace, stock",
            )  # fmt: skip
    return PriceHeader(replace, stock)


def parse_csv(data: bytes) -> PriceFile:
    """Parse our UTF-8 CSV price file: optional ``# options`` line, a header row, then rows."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    text = _decode(data, "utf-8", "сохраните таблицу как «CSV UTF-8»", "save the sheet as 'CSV UTF-8'")
    parser = _Parser(_CSV_NAMES, loose_flags=True)
    return _run(parser, lambda: _parse_csv_text(parser, text))


def _parse_csv_text(parser: _Parser, text: str) -> PriceFile:
    header = PriceHeader()
    offset = 0  # physical lines before the csv reader's text
    lines = text.split("\n", 1)
    if lines[0].lstrip().startswith("#"):
        parser.line_no = 1
        header = _csv_options(parser, lines[0].rstrip("\r"))
        text = lines[1] if len(lines) > 1 else ""
        offset = 1
    header_line = next((line for line in text.split("\n", 50) if line.strip()), "")
    if not header_line:
        parser.line_no = offset + 1
        parser.error("header", "нет строки заголовка с названиями колонок", "no header row naming the columns")
        raise parser.fail()
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns: list[str] | None = None
    index: dict[str, int] = {}
    previous = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parser.line_no = offset + reader.line_num
            parser.error("line", f"строка CSV не читается: {exc}", f"unreadable CSV line: {exc}")
            break
        parser.line_no = offset + previous + 1
        previous = reader.line_num
        if not record or all(not cell.strip() for cell in record):
            continue
        cells = [cell.strip() for cell in record]
        if columns is None:
            columns = [cell.lower() for cell in cells]
            _csv_check_header(parser, columns)
            index = {name: i for i, name in enumerate(columns)}
            continue
        if len(cells) > len(columns) and any(cells[len(columns):]):
            parser.error(
                "line", f"полей в строке: {len(cells)}, а колонок в заголовке: {len(columns)}",
                f"the line has {len(cells)} fields but the header names {len(columns)} columns",
            )  # fmt: skip
            continue
        raw = {name: (cells[i] if i < len(cells) else "") for name, i in index.items()}
        _csv_row(parser, raw)
    if columns is None:
        parser.line_no = offset + 1
        parser.error("header", "нет строки заголовка с названиями колонок", "no header row naming the columns")
    return parser.finish(header, "csv")


def _csv_check_header(parser: _Parser, columns: list[str]) -> None:
    """Unknown, repeated or missing columns make the rows unreadable: stop at once."""
    start = len(parser.errors)
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        parser.error(
            "header",
            f"неизвестные колонки: {', '.join(map(_show, unknown))}; допустимы: {', '.join(CSV_COLUMNS)}",
            f"unknown columns: {', '.join(map(_show, unknown))}; allowed: {', '.join(CSV_COLUMNS)}",
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        listed = ", ".join(repeated)
        parser.error("header", f"колонки повторяются: {listed}", f"repeated columns: {listed}")
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if missing:
        listed = ", ".join(missing)
        parser.error("header", f"нет обязательных колонок: {listed}", f"required columns missing: {listed}")
    if len(parser.errors) > start:
        raise parser.fail()


def _csv_row(parser: _Parser, raw: dict[str, str]) -> None:
    get = raw.get
    kind = get("kind", "").lower() or "item"
    if kind == "barcode":
        parser.barcode_row(
            get("code", ""), get("barcode", ""), get("name", ""), get("price", ""), get("coefficient", "")
        )
        return
    start = len(parser.errors)
    is_item: bool | None = kind == "item"
    if kind not in ("item", "group"):
        parser.error(
            "kind",
            f"«{_show(kind)}» — ожидается item, group или barcode",
            f"{_show(kind)!r}: expected item, group or barcode",
        )
        is_item = None
    vat: VatRate | None = None
    vat_raw = get("vat", "")
    if vat_raw:
        try:
            vat = parse_vat(vat_raw)
        except InvalidInput as exc:
            parser.error("vat", exc.message_ru, exc.message_en)
    no_discount_raw = get("no_discount", "")  # empty: not given, the item keeps its mark
    no_discount = parser.flag(no_discount_raw, "no_discount") if no_discount_raw else None
    parser.catalogue_row(
        get("code", ""), get("barcode", ""), get("name", ""), is_item, get("group", ""), get("price", ""),
        get("min_price", ""), get("max_price", ""), get("max_discount", ""), get("weighed", ""),
        get("alcohol", ""), get("department", ""), "", "", get("litres", ""), get("stock", ""), vat, start,
        no_discount,
    )  # fmt: skip


# --------------------------------------------------------------------------- choosing a parser


def parse_price_file(data: bytes, filename: str) -> PriceFile:
    """Parse a price file by its extension (``.spr``/``.zip`` or ``.csv``), else by its content."""
    name = filename.lower()
    if name.endswith((".spr", ".zip")):
        return parse_spr(data)
    if name.endswith(".csv"):
        return parse_csv(data)
    if data.startswith(_ZIP_MAGICS) or data[:8].lower() == b"#icecash":
        return parse_spr(data)
    first = next((line for line in data[:4096].split(b"\n") if line.strip()), b"")
    if first.count(b";") >= SPR_MIN_FIELDS - 1 and _is_code(first.split(b";", 1)[0].strip().decode("ascii", "replace")):
        return parse_spr(data)  # a headerless .spr: digits code and 17 fields
    return parse_csv(data)


__all__ = [
    "CSV_COLUMNS",
    "CatalogueRow",
    "ExtraBarcodeRow",
    "KEPT_WHEN_UNKNOWN",
    "LineError",
    "MAX_ERRORS",
    "MAX_INT_FIELD",
    "MAX_STOCK",
    "PriceFile",
    "PriceFileError",
    "PriceHeader",
    "StockMode",
    "merge_held",
    "parse_csv",
    "parse_price_file",
    "parse_spr",
    "unknown_fields",
    "write_spr",
]
