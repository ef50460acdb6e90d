"""Price files: the IceCash2 ``.spr`` format, our CSV, and the all-or-nothing error report."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecash.core.errors import InvalidInput
from icecash.core.money import MAX_MONEY, MAX_QUANTITY
from icecash.core.pricefile import (
    KEPT_WHEN_UNKNOWN,
    MAX_ERRORS,
    MAX_INT_FIELD,
    MAX_STOCK,
    CatalogueRow,
    ExtraBarcodeRow,
    LineError,
    PriceFile,
    PriceFileError,
    PriceHeader,
    StockMode,
    merge_held,
    parse_csv,
    parse_price_file,
    parse_spr,
    unknown_fields,
    write_spr,
)
from icecash.core.vat import VatRate

DOC = Path(__file__).resolve().parents[2] / "docs" / "admin" / "price-files.md"

REFERENCE_LINE = "6496;4651111190225;Name;0.70;198.00;0.00;0;0;1;20;0;1;0;0;0;2786;1"
HEADER = "#IceCash=2.0;type=price;sheme_record=clear;sheme_count=clear"
GOOD_ITEM = "1001;4600000000015;Вода;0;45.50;120;0;0;1;10;0;0;0;0;0;0;1"

# The examples of docs/admin/price-files.md, verbatim: the doc test below checks they are still there.
SPR_EXAMPLE = """\
#IceCash=2.0;type=price;sheme_record=clear;sheme_count=clear
# Группы: idgroup 0 — верх каталога
100;;Напитки;0;0;0;0;0;1;0;0;0;0;0;0;0;0
200;;Бакалея;0;0;0;0;0;1;0;0;0;0;0;0;0;0
6496;4651111190225;Коньяк «Кизляр» 5 лет;0.70;198.00;12;0;0;1;20;0;1;150.00;0;0;100;1
1001;4600000000015;Вода питьевая 1,5 л;0;45.50;120;0;0;1;10;0;0;0;0;0;100;1
2001;;Сахар весовой;0;89.90;250.500;0;1;2;0;0;0;80.00;120.00;0;200;1
#1001;4600000000022;Вода питьевая, упаковка 6 шт;;0;6
"""

CSV_EXAMPLE = """\
# replace=no; stock=add
kind;code;barcode;name;price;group;max_discount;weighed;department;vat;alcohol;litres;stock;coefficient
group;100;;Напитки;;;;;;;;;;
item;1001;4600000000015;Вода питьевая 1,5 л;45,50;100;10;нет;1;20;нет;;120;
item;2001;;"Сахар; весовой";89.90;;;да;2;10%;;;250,5;
barcode;1001;4600000000022;Вода питьевая, упаковка 6 шт;;;;;;;;;;6
"""


def spr(*lines: str, newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode("cp1251")


def zipped(**members: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name.replace("__", "."), content)
    return buffer.getvalue()


def refused(parse, data: bytes) -> PriceFileError:
    with pytest.raises(PriceFileError) as info:
        parse(data)
    return info.value


def item_line(**fields: str) -> str:
    """A valid .spr item line with some fields replaced by name."""
    names = (
        "id shk name litrag cena ostatok sheme real section max_skid type alco minprice maxprice"
        " reserved2 idgroup istov"
    )
    values = dict(zip(names.split(), GOOD_ITEM.split(";"), strict=True))
    values["id"] = "1003"
    values.update(fields)
    return ";".join(values.values())


# --------------------------------------------------------------------------- .spr


def test_reference_line_without_header_is_an_upsert_with_stock_overwritten():
    result = parse_spr(spr(REFERENCE_LINE))
    assert result.header == PriceHeader(replace_catalogue=False, stock_mode=StockMode.CLEAR)
    assert result.format == "spr"
    assert result.extra_barcodes == []
    [row] = result.rows
    assert row == CatalogueRow(
        line_no=1, code="6496", barcode="4651111190225", name="Name", is_item=True, parent_code="2786",
        price=19800, min_price=0, max_price=0, max_discount_bp=2000, weighed=False, department=1, vat=None,
        alcohol=True, litres_ml=700, stock=0, type=0, scheme=0,
    )  # fmt: skip
    assert (row.line_no, row.price, row.litres_ml, row.alcohol, row.max_discount_bp, row.parent_code) == (
        1, 19800, 700, True, 2000, "2786",
    )  # fmt: skip


def test_sample_with_header_groups_items_and_extra_barcodes():
    data = spr(
        "#IceCash=2.0;type=price;sheme_record=clear;sheme_count=keep",
        "",
        "# a comment line",
        "2786;;Алкоголь;;;;;;;;;;;;;0;0",
        "10;;Молочное;0;0;0;0;0;0;0;0;0;0;0;0;;0",
        REFERENCE_LINE,
        "501;2100501000004;Сыр «Российский» весовой;0;650.00;12.345;3;1;2;5.5;7;0;600.00;700.00;0;10;1;extra;fields",
        "#6496;4651111190232;Name, коробка;;0;6",
        "#6496;4651111190249;Name, акция;;150.00;",
        "#6496;4651111190256;Name, половина;;0;0.5",
        "#6496;4651111190263;Name;;0;0",
        newline="\r\n",
    )
    result = parse_spr(data)
    assert result.header == PriceHeader(True, StockMode.KEEP)
    assert [(r.line_no, r.code, r.is_item, r.parent_code) for r in result.rows] == [
        (4, "2786", False, None),
        (5, "10", False, None),
        (6, "6496", True, "2786"),
        (7, "501", True, "10"),
    ]
    assert result.rows[0].name == "Алкоголь"
    cheese = result.rows[3]
    assert cheese.name == "Сыр «Российский» весовой"
    assert (cheese.barcode, cheese.price, cheese.min_price, cheese.max_price) == ("2100501000004", 65000, 60000, 70000)
    assert (cheese.stock, cheese.scheme, cheese.weighed, cheese.department) == (12345, 3, True, 2)
    assert (cheese.max_discount_bp, cheese.type, cheese.alcohol, cheese.vat) == (550, 7, False, None)
    assert result.extra_barcodes == [
        ExtraBarcodeRow(8, "6496", "4651111190232", "Name, коробка", 0, 6000),
        ExtraBarcodeRow(9, "6496", "4651111190249", "Name, акция", 15000, 1000),
        ExtraBarcodeRow(10, "6496", "4651111190256", "Name, половина", 0, 500),
        ExtraBarcodeRow(11, "6496", "4651111190263", "Name", 0, 1000),
    ]
    assert [b.line_no for b in result.extra_barcodes] == [8, 9, 10, 11]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("#IceCash=2.0;type=price;sheme_record=clear;sheme_count=clear", PriceHeader(True, StockMode.CLEAR)),
        ("#IceCash=2.0;type=price;sheme_record=update;sheme_count=add", PriceHeader(False, StockMode.ADD)),
        ("#IceCash=2.0;sheme_count=keep", PriceHeader(False, StockMode.KEEP)),
        ("#IceCash=2.0;type=price", PriceHeader(False, StockMode.CLEAR)),
        ("#icecash=2.0; TYPE=Price; sheme_record=CLEAR; future=1;", PriceHeader(True, StockMode.CLEAR)),
    ],
)
def test_header_options(header, expected):
    assert parse_spr(spr(header, GOOD_ITEM)).header == expected


def test_cp1251_names_and_lf_or_crlf():
    name = "Пельмени «Сибирские» №1 — 0,9 кг ёЁ"
    line = item_line(name=name)
    for newline in ("\n", "\r\n"):
        assert parse_spr(spr(HEADER, line, newline=newline)).rows[0].name == name
    assert parse_spr(line.encode("cp1251")).rows[0].name == name  # no final newline


def test_empty_file_and_header_only_give_no_rows():
    assert parse_spr(b"").rows == []
    assert parse_spr(spr(HEADER)) == PriceFile(PriceHeader(True, StockMode.CLEAR), [], [], "spr")


def test_empty_numbers_are_zero_and_empty_name_is_fine_for_a_group():
    [group] = parse_spr(spr("7;;;;;;;;;;;;;;;;0")).rows
    assert group == CatalogueRow(1, "7", "", "", False)


def test_price_limits_zero_max_means_no_upper_limit():
    [row] = parse_spr(spr(item_line(cena="5000.00", minprice="100.00", maxprice="0"))).rows
    assert (row.price, row.min_price, row.max_price) == (500000, 10000, 0)
    [row] = parse_spr(spr(item_line(cena="100.00", minprice="100.00", maxprice="100.00"))).rows
    assert (row.price, row.min_price, row.max_price) == (10000, 10000, 10000)


# --------------------------------------------------------------------------- zip


def test_zipped_spr_is_unpacked():
    data = zipped(price__spr=spr(HEADER, REFERENCE_LINE), readme__txt=b"hello")
    result = parse_spr(data)
    assert result.header.replace_catalogue is True
    assert [r.code for r in result.rows] == ["6496"]
    assert parse_price_file(data, "1_main.zip") == result


def test_zip_with_one_member_of_any_name_is_read():
    assert parse_spr(zipped(price__txt=spr(REFERENCE_LINE))).rows[0].price == 19800


@pytest.mark.parametrize(
    "data",
    [
        zipped(a__spr=spr(REFERENCE_LINE), b__spr=spr(REFERENCE_LINE)),
        zipped(a__txt=b"x", b__txt=b"y"),
        zipped(),
        b"PK\x03\x04 this is not really a zip archive",
    ],
    ids=["two-spr", "no-spr", "empty", "damaged"],
)
def test_bad_zip_is_refused_for_the_file(data):
    error = refused(parse_spr, data)
    assert len(error.errors) == 1
    assert error.errors[0].line_no == 0
    assert error.errors[0].field == "file"
    assert error.message_ru.startswith("Прайс не загружен: файл: ")


# --------------------------------------------------------------------------- .spr errors


@pytest.mark.parametrize(
    ("line", "field", "fragment"),
    [
        (item_line(id="10a1"), "id", "только из цифр"),
        (item_line(id=""), "id", "код не указан"),
        (";".join(GOOD_ITEM.split(";")[:16]), "istov", "полей в строке: 16, нужно не меньше 17"),
        ("1001;4600000000015", "name", "полей в строке: 2"),
        (item_line(cena="19,8.0"), "cena", "не число"),
        (item_line(cena="198.001"), "cena", "не число"),
        (item_line(cena="abc"), "cena", "не число"),
        (item_line(cena="-1.00"), "cena", "отрицательное"),
        (item_line(cena="1000000000000"), "cena", "слишком большое"),
        (item_line(ostatok="-5"), "ostatok", "отрицательное"),
        (item_line(ostatok="1.0005"), "ostatok", "не число"),
        (item_line(litrag="x"), "litrag", "не число"),
        (item_line(minprice="50.00", maxprice="40.00", cena="45.00"), "minprice", "больше максимальной"),
        (item_line(minprice="50.00", cena="45.50"), "cena", "вне диапазона [50.00; ∞]"),
        (item_line(maxprice="40.00", cena="45.50"), "cena", "вне диапазона [0.00; 40.00]"),
        (item_line(max_skid="101"), "max_skid", "вне диапазона 0–100"),
        (item_line(max_skid="-1"), "max_skid", "отрицательное"),
        (item_line(max_skid="ten"), "max_skid", "не число"),
        (item_line(real="2"), "real", "ожидается 0 или 1"),
        (item_line(alco="yes"), "alco", "ожидается 0 или 1"),
        (item_line(istov="2"), "istov", "ожидается 0 или 1"),
        (item_line(section="1.5"), "section", "целое число"),
        (item_line(section="-1"), "section", "целое число"),
        (item_line(type=str(MAX_INT_FIELD + 1)), "type", "целое число"),
        (item_line(sheme="x"), "sheme", "целое число"),
        (item_line(idgroup="12b"), "idgroup", "только из цифр"),
        (item_line(name=""), "name", "нет наименования"),
        (item_line(name="   "), "name", "нет наименования"),
        ("#1001;4600000000022;Вода;;-1;6", "cena", "отрицательное"),
        ("#1001;4600000000022;Вода;;1;-6", "koef", "отрицательное"),
        ("#1001;4600000000022;Вода;;1;x", "koef", "не число"),
        ("#1001;4600000000022;Вода;;1", "koef", "полей в строке доп. штрихкода: 5, нужно не меньше 6"),
        ("#2001;4600000000022;Сахар;;0;1", "id", "которого нет в файле"),
        ("#IceCash=2.0;type=price", "header", "только в первой строке"),
    ],
)
def test_each_error_names_its_line_and_field(line, field, fragment):
    error = refused(parse_spr, spr(HEADER, GOOD_ITEM, line, GOOD_ITEM.replace("1001;", "1002;", 1)))
    assert [(e.line_no, e.field) for e in error.errors] == [(3, field)]
    assert fragment in error.errors[0].message_ru
    assert error.errors[0].message_en
    assert error.message_ru.startswith(f"Прайс не загружен: строка 3, поле {field}: ")
    assert str(error).startswith(f"Price file not loaded: line 3, field {field}: ")
    assert error.field == field


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("#IceCash=2.0;type=stock", "type"),
        ("#IceCash=2.0;type=price;sheme_count=merge", "sheme_count"),
        ("#IceCash=2.0;type=price;sheme_record", "header"),
    ],
)
def test_bad_header_values(header, field):
    error = refused(parse_spr, spr(header, GOOD_ITEM))
    assert [(e.line_no, e.field) for e in error.errors] == [(1, field)]


def test_duplicate_code_names_both_lines():
    error = refused(parse_spr, spr(HEADER, GOOD_ITEM, REFERENCE_LINE.replace("2786", "0"), GOOD_ITEM))
    [problem] = error.errors
    assert (problem.line_no, problem.field) == (4, "id")
    assert problem.message_ru == "код 1001 повторяется: он уже есть в строке 2"
    assert problem.message_en == "code 1001 repeats: it is already on line 2"


def test_a_group_and_an_item_may_not_share_a_code():
    error = refused(parse_spr, spr("5;;Группа;;;;;;;;;;;;;0;0", item_line(id="5")))
    assert [(e.line_no, e.field) for e in error.errors] == [(2, "id")]


def test_extra_barcode_for_an_unknown_item_is_fine_when_updating():
    data = spr("#IceCash=2.0;type=price", GOOD_ITEM, "#2001;4600000000022;Сахар;;0;1")
    assert parse_spr(data).extra_barcodes == [ExtraBarcodeRow(3, "2001", "4600000000022", "Сахар", 0, 1000)]
    assert parse_spr(spr("#2001;4600000000022;Сахар;;0;1")).extra_barcodes[0].item_code == "2001"


def test_extra_barcode_may_come_before_its_item():
    result = parse_spr(spr(HEADER, "#1001;4600000000022;Вода;;0;6", GOOD_ITEM))
    assert result.extra_barcodes[0].coefficient == 6000


def test_extra_barcode_for_a_group_is_refused_even_when_updating():
    error = refused(parse_spr, spr("5;;Группа;;;;;;;;;;;;;0;0", "#5;4600000000022;Сахар;;0;1"))
    assert [(e.line_no, e.field) for e in error.errors] == [(2, "id")]
    assert "это группа" in error.errors[0].message_ru


def test_comment_lines_are_not_barcodes():
    result = parse_spr(spr("#", "# 12;34", "#abc;1;2;3;4;5", "#12 items follow", GOOD_ITEM))
    assert result.extra_barcodes == []
    assert [r.line_no for r in result.rows] == [5]


def test_undecodable_byte_is_reported_with_its_line():
    data = spr(HEADER, GOOD_ITEM) + b"1002;;\x98;0;1;0;0;0;1;0;0;0;0;0;0;0;1\n"
    error = refused(parse_spr, data)
    assert [(e.line_no, e.field) for e in error.errors] == [(3, "encoding")]
    assert "cp1251" in error.errors[0].message_ru


def test_utf8_bom_spr_is_refused_with_a_hint():
    error = refused(parse_spr, b"\xef\xbb\xbf" + HEADER.encode() + b"\n")
    assert error.errors[0].field == "encoding"
    assert "UTF-8" in error.message_ru


def test_all_errors_of_a_file_are_reported_in_line_order():
    data = spr(
        HEADER,
        "#1999;4600000000022;Сахар;;0;1",  # unknown item, found only after the whole file is read
        item_line(cena="x", real="7"),
        GOOD_ITEM,
        item_line(id="1002", name=""),
    )
    error = refused(parse_spr, data)
    assert [(e.line_no, e.field) for e in error.errors] == [(2, "id"), (3, "cena"), (3, "real"), (5, "name")]
    assert error.message_ru.startswith("Прайс не загружен: строка 2, поле id: ")
    assert error.message_ru.endswith("(всего ошибок: 4)")
    assert error.message_en.endswith("(4 errors in all)")
    assert error.truncated is False


def test_errors_stop_at_fifty():
    lines = [HEADER] + [item_line(id=str(2000 + n), cena="bad") for n in range(80)]
    error = refused(parse_spr, spr(*lines))
    assert len(error.errors) == MAX_ERRORS == 50
    assert error.truncated is True
    assert [e.line_no for e in error.errors] == list(range(2, 52))
    assert error.message_ru.endswith("(всего ошибок: 50+)")
    assert error.details["truncated"] is True
    assert len(error.details["errors"]) == 50


def test_price_file_error_is_an_invalid_input_with_every_error_in_its_details():
    error = refused(parse_spr, spr(item_line(cena="x")))
    assert isinstance(error, InvalidInput)
    assert error.kind == "invalid"
    body = error.as_dict()
    assert body["code"] == "bad_price_file"
    assert body["field"] == "cena"
    assert body["details"]["errors"] == [
        {
            "line": 1,
            "field": "cena",
            "message": "«x» — не число; ожидается сумма в рублях, не более 2 знаков после точки, например 198.00",
            "message_en": "'x' is not a number; expected rubles with at most 2 decimals, e.g. 198.00",
        }
    ]
    assert error.errors == [LineError(1, "cena", body["details"]["errors"][0]["message"], error.errors[0].message_en)]


def test_error_message_looks_as_documented():
    lines = [HEADER] + [item_line(id=str(2000 + n)) for n in range(15)]
    lines += [item_line(id="3000", cena="19,8.0"), item_line(id="3001", real="2"), item_line(id="3002", alco="x")]
    error = refused(parse_spr, spr(*lines))
    doc = DOC.read_text(encoding="utf-8")
    assert error.errors[0].line_no == 17
    assert error.message_ru in doc
    assert error.message_en in doc


# --------------------------------------------------------------------------- write_spr and round trip


def test_write_spr_output():
    price_file = PriceFile(
        PriceHeader(False, StockMode.ADD),
        [
            CatalogueRow(0, "2786", "", "Алкоголь", False),
            CatalogueRow(0, "6496", "4651111190225", "Коньяк", True, "2786", price=19800, max_discount_bp=2000,
                         department=1, alcohol=True, litres_ml=700, stock=1500),
        ],
        [ExtraBarcodeRow(0, "6496", "4651111190232", "Коньяк x6", 0, 6000)],
        "spr",
    )  # fmt: skip
    data = write_spr(price_file)
    assert data.decode("cp1251").split("\r\n") == [
        "#IceCash=2.0;type=price;sheme_record=update;sheme_count=add",
        "2786;;Алкоголь;0.000;0.00;0.000;0;0;0;0.00;0;0;0.00;0.00;0;0;0",
        "6496;4651111190225;Коньяк;0.700;198.00;1.500;0;0;1;20.00;0;1;0.00;0.00;0;2786;1",
        "#6496;4651111190232;Коньяк x6;;0.00;6.000",
        "",
    ]
    assert parse_spr(data) == price_file


@pytest.mark.parametrize(
    "row",
    [
        CatalogueRow(0, "1", "", "a;b", True),
        CatalogueRow(0, "1", "", "a\nb", True),
        CatalogueRow(0, "1", "", "日本", True),
        CatalogueRow(0, "1", "", "Вода", True, vat=VatRate.VAT20),
        CatalogueRow(0, "1", "", "Вода", True, no_discount=True),
        CatalogueRow(0, "1", "", "Вода", True, no_discount=False),  # "take the mark off" is no less lost
        CatalogueRow(0, "A1", "", "Вода", True),
        CatalogueRow(0, "1", "", "Вода", True, parent_code="x"),
    ],
)
def test_write_spr_refuses_what_spr_cannot_hold(row):
    with pytest.raises(InvalidInput):
        write_spr(PriceFile(PriceHeader(), [row], [], "spr"))


_NAME_CHARS = "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ" "abcXYZ0123456789 .,-()%«»№/\"'#"
_codes = st.from_regex(r"[1-9][0-9]{0,12}", fullmatch=True)
_names = st.text(alphabet=_NAME_CHARS, max_size=30).map(str.strip)
_barcodes = st.from_regex(r"[0-9]{0,13}", fullmatch=True)


@st.composite
def price_files(draw):
    codes = draw(st.lists(_codes, unique=True, max_size=25))
    rows = []
    for code in codes:
        is_item = draw(st.booleans())
        name = draw(_names.filter(bool) if is_item else _names)
        max_price = draw(st.one_of(st.just(0), st.integers(1, MAX_MONEY)))
        min_price = draw(st.integers(0, max_price or MAX_MONEY))
        price = draw(st.integers(min_price, max_price or MAX_MONEY))
        rows.append(
            CatalogueRow(
                line_no=draw(st.integers(0, 10)),
                code=code,
                barcode=draw(_barcodes),
                name=name,
                is_item=is_item,
                parent_code=draw(st.one_of(st.none(), st.sampled_from(codes))),
                price=price,
                min_price=min_price,
                max_price=max_price,
                max_discount_bp=draw(st.integers(0, 10000)),
                weighed=draw(st.booleans()),
                department=draw(st.integers(0, MAX_INT_FIELD)),
                vat=None,
                alcohol=draw(st.booleans()),
                litres_ml=draw(st.integers(0, MAX_QUANTITY)),
                stock=draw(st.integers(0, MAX_STOCK)),
                type=draw(st.integers(0, MAX_INT_FIELD)),
                scheme=draw(st.integers(0, MAX_INT_FIELD)),
            )
        )
    header = PriceHeader(draw(st.booleans()), draw(st.sampled_from(StockMode)))
    items = [r.code for r in rows if r.is_item]
    groups = {r.code for r in rows if not r.is_item}
    if header.replace_catalogue:
        item_codes = st.sampled_from(items) if items else st.nothing()
    else:
        item_codes = _codes.filter(lambda c: c not in groups)
    extras = draw(
        st.lists(
            st.builds(
                ExtraBarcodeRow,
                line_no=st.integers(0, 10),
                item_code=item_codes,
                barcode=_barcodes,
                name=_names,
                price=st.integers(0, MAX_MONEY),
                coefficient=st.integers(1, MAX_QUANTITY),
            ),
            max_size=5 if (items or not header.replace_catalogue) else 0,
        )
    )
    return PriceFile(header, rows, extras, "spr")


@settings(max_examples=150, deadline=None)
@given(price_files())
def test_round_trip_spr(price_file):
    data = write_spr(price_file)
    parsed = parse_spr(data)
    assert parsed == price_file  # line numbers are left out of row equality
    assert parse_spr(zipped(p__spr=data)) == price_file
    assert parse_price_file(data, "whatever.dat") == price_file
    # line numbers are real: header on line 1, rows in order, then the extra barcodes
    assert [r.line_no for r in parsed.rows] == list(range(2, 2 + len(price_file.rows)))
    first_extra = 2 + len(price_file.rows)
    last_extra = first_extra + len(price_file.extra_barcodes)
    assert [b.line_no for b in parsed.extra_barcodes] == list(range(first_extra, last_extra))


_spr_like = st.lists(
    st.one_of(
        st.just(HEADER), st.just(GOOD_ITEM), st.just(REFERENCE_LINE), st.just("#1001;1;x;;0;2"),
        st.text(alphabet="0123456789;#.,-= abcАБВ\"\r\x98", max_size=60),
    ),
    max_size=12,
).map(lambda lines: "\n".join(lines).encode("cp1251", "replace"))


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=200), _spr_like))
def test_any_bytes_give_a_price_file_or_a_price_file_error(data):
    for parse in (parse_spr, parse_csv, lambda d: parse_price_file(d, "x")):
        try:
            result = parse(data)
        except PriceFileError as error:
            assert 1 <= len(error.errors) <= MAX_ERRORS
            assert error.message_ru.startswith("Прайс не загружен: ")
        else:
            assert isinstance(result, PriceFile)


def test_a_large_file_parses_with_real_line_numbers():
    """Volume, not speed: timing is checked by hand (100,000 lines), never asserted here."""
    rows = [
        CatalogueRow(0, str(10_000 + n), str(4_600_000_000_000 + n), f"Товар {n}", True, price=100 + n)
        for n in range(20_000)
    ]
    result = parse_spr(write_spr(PriceFile(PriceHeader(True), rows, [], "spr")))
    assert result.rows == rows
    assert result.rows[-1].line_no == 20_001


# --------------------------------------------------------------------------- CSV


def test_csv_semicolon_with_options_bom_and_quotes():
    text = (
        "# replace=yes; stock=keep\n"
        "code;name;price;group;kind;vat;weighed;alcohol;litres;stock;"
        "min_price;max_price;max_discount;department;barcode\n"
        "10;Молочное;;;group;;;;;;;;;;\n"
        '501;"Сыр; ""Российский"" весовой";650,00;10;item;20%;да;нет;;12,345;600;700;5,5;2;2100501000004\n'
        "6496;Коньяк;198.00;;;без НДС;0;yes;0,70;;;;20;1;4651111190225\n"
    )
    result = parse_csv(b"\xef\xbb\xbf" + text.encode())
    assert result.format == "csv"
    assert result.header == PriceHeader(True, StockMode.KEEP)
    group, cheese, cognac = result.rows
    assert group == CatalogueRow(3, "10", "", "Молочное", False)
    assert cheese == CatalogueRow(
        4, "501", "2100501000004", 'Сыр; "Российский" весовой', True, "10", price=65000, min_price=60000,
        max_price=70000, max_discount_bp=550, weighed=True, department=2, vat=VatRate.VAT20, alcohol=False,
        litres_ml=0, stock=12345,
    )  # fmt: skip
    assert (cognac.vat, cognac.alcohol, cognac.litres_ml, cognac.price, cognac.max_discount_bp, cognac.parent_code) == (
        VatRate.NONE, True, 700, 19800, 2000, None,
    )  # fmt: skip
    assert [r.line_no for r in result.rows] == [3, 4, 5]


def test_csv_comma_delimiter_and_decimal_comma_in_quotes():
    text = 'code,name,price,vat,weighed,kind\r\n1001,"Вода, 1,5 л","45,50",10,TRUE,\r\n1002,Хлеб,30,,false,item\r\n'
    result = parse_csv(text.encode())
    assert result.header == PriceHeader(False, StockMode.CLEAR)
    water, bread = result.rows
    assert (water.name, water.price, water.vat, water.weighed) == ("Вода, 1,5 л", 4550, VatRate.VAT10, True)
    assert (bread.price, bread.vat, bread.weighed) == (3000, None, False)


def test_csv_no_discount_column_and_what_a_file_leaves_unknown():
    text = (
        "code;name;price;vat;no_discount;weighed\n"
        "1;Сигареты;150;20;1;\n"
        "2;Хлеб;30;;да;\n"
        "3;Вода;45;10;нет;\n"
        "4;Соль;20;;0;\n"
        "5;Сахар;90;;;1\n"
        "6;Чай;120;none;TRUE;\n"
    )
    rows = parse_csv(text.encode()).rows
    assert [(r.vat, r.no_discount) for r in rows] == [
        (VatRate.VAT20, True), (None, True), (VatRate.VAT10, False), (None, False), (None, None),
        (VatRate.NONE, True),
    ]  # fmt: skip
    assert rows[4] == CatalogueRow(0, "5", "", "Сахар", True, price=9000, weighed=True)  # unknown: None
    # no such column: unknown too; and a .spr has neither field
    assert parse_csv("code;name;price\n1;Вода;45\n".encode()).rows[0].no_discount is None
    spr_row = parse_spr(spr(GOOD_ITEM)).rows[0]
    assert (spr_row.vat, spr_row.no_discount) == (None, None)


@pytest.mark.parametrize("value", ["2", "может быть", "-1"])
def test_csv_bad_no_discount_names_the_column(value):
    error = refused(parse_csv, f"code;name;price;no_discount\n1;Вода;45;0\n2;Хлеб;30;{value}\n".encode())
    assert [(e.line_no, e.field) for e in error.errors] == [(3, "no_discount")]
    assert "да/нет" in error.errors[0].message_ru


def test_csv_barcode_rows_and_header_case_and_column_order():
    text = (
        "KIND;Price;Code;Coefficient;Name;Barcode\n"
        "item;45.5;1001;;Вода;4600000000015\n"
        "barcode;0;1001;6;Вода x6;4600000000022\n"
        "barcode;40;1001;;Вода акция;4600000000035\n"
    )
    result = parse_csv(text.encode())
    assert result.extra_barcodes == [
        ExtraBarcodeRow(3, "1001", "4600000000022", "Вода x6", 0, 6000),
        ExtraBarcodeRow(4, "1001", "4600000000035", "Вода акция", 4000, 1000),
    ]


def test_csv_multiline_quoted_field_keeps_line_numbers():
    text = 'code;name;price\n1;"Две\nстроки";1\n2;Ок;2\n3;Плохо;x\n'
    error = refused(parse_csv, text.encode())
    assert [(e.line_no, e.field) for e in error.errors] == [(5, "price")]
    assert parse_csv(text.replace(";x", ";3").encode()).rows[0].name == "Две\nстроки"


def test_csv_blank_lines_are_skipped():
    result = parse_csv(b"\n\ncode;name;price\n\n1;A;1\n\n2;B;2\n")
    assert [(r.line_no, r.code) for r in result.rows] == [(5, "1"), (7, "2")]


@pytest.mark.parametrize(
    ("row", "field", "fragment"),
    [
        ("x1;Вода;1;;;;", "code", "только из цифр"),
        ("١٢;Вода;1;;;;", "code", "только из цифр"),  # Arabic-Indic digits are not code digits
        ("1;Вода;-1;;;;", "price", "отрицательное"),
        ("1;Вода;1,2,3;;;;", "price", "не число"),
        ("1;;1;;;;", "name", "нет наименования"),
        ("1;Вода;1;да;;;", "weighed", None),  # fine: see below
        ("1;Вода;1;может быть;;;", "weighed", "да/нет"),
        ("1;Вода;1;;150;;", "max_discount", "вне диапазона 0–100"),
        ("1;Вода;1;;;18;", "vat", "Неизвестная ставка НДС"),
        ("1;Вода;1;;;;товар", "kind", "item, group или barcode"),
        ("1;Вода;1;;;;;extra", "line", "полей в строке: 8"),
    ],
)
def test_csv_errors_name_the_column(row, field, fragment):
    data = f"code;name;price;weighed;max_discount;vat;kind\n2;Хлеб;30;;;;\n{row}\n".encode()
    if fragment is None:
        assert parse_csv(data).rows[1].weighed is True
        return
    error = refused(parse_csv, data)
    assert [(e.line_no, e.field) for e in error.errors] == [(3, field)]
    assert fragment in error.errors[0].message_ru


def test_csv_price_limits_duplicates_and_barcodes_are_checked_as_in_spr():
    text = (
        "# replace=да\n"
        "kind,code,name,price,min_price,max_price,coefficient\n"
        "item,1,A,5,10,0,\n"
        "item,2,B,5,10,8,\n"
        "item,1,C,5,,,\n"
        "group,3,G,,,,\n"
        "barcode,3,x,1,,,2\n"
        "barcode,4,y,1,,,2\n"
        "barcode,2,z,1,,,-2\n"
    )
    error = refused(parse_csv, text.encode())
    assert [(e.line_no, e.field) for e in error.errors] == [
        (3, "price"), (4, "min_price"), (5, "code"), (7, "code"), (8, "code"), (9, "coefficient"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("code;name;price;colour;size", "неизвестные колонки: colour, size"),
        ("code;name", "нет обязательных колонок: price"),
        ("code;name;price;name", "колонки повторяются: name"),
    ],
)
def test_csv_header_problems(header, fragment):
    error = refused(parse_csv, f"{header}\n1;A;1\n".encode())
    assert [(e.line_no, e.field) for e in error.errors] == [(1, "header")]
    assert fragment in error.errors[0].message_ru


def test_csv_unknown_columns_are_named_in_english_too():
    error = refused(parse_csv, b"# stock=add\ncode,name,price,foo\n")
    assert (error.errors[0].line_no, error.errors[0].message_en.split(";")[0]) == (2, "unknown columns: foo")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ("# replace=maybe", "replace"),
        ("# stock=sometimes", "stock"),
        ("# colour=red", "options"),
        ("# price list", "options"),
    ],
)
def test_csv_bad_options(options, field):
    error = refused(parse_csv, f"{options}\ncode;name;price\n1;A;1\n".encode())
    assert [(e.line_no, e.field) for e in error.errors] == [(1, field)]


def test_csv_options_variants():
    assert parse_csv(b"#replace=1,stock=add\ncode,name,price\n").header == PriceHeader(True, StockMode.ADD)
    assert parse_csv(b"#\ncode,name,price\n").header == PriceHeader()


def test_csv_empty_or_headerless_file_is_refused():
    for data in (b"", b"\n\n", b"# replace=yes\n"):
        error = refused(parse_csv, data)
        assert error.errors[0].field == "header"


def test_csv_must_be_utf8():
    error = refused(parse_csv, "code;name;price\n1;Вода;1\n".encode("cp1251"))
    assert [(e.line_no, e.field) for e in error.errors] == [(2, "encoding")]
    assert "CSV UTF-8" in error.message_ru


def test_csv_errors_stop_at_fifty():
    text = "code;name;price\n" + "".join(f"{n};A;x\n" for n in range(1, 70))
    error = refused(parse_csv, text.encode())
    assert len(error.errors) == 50 and error.truncated
    assert error.errors[-1].line_no == 51


# --------------------------------------------------------------------------- choosing the format


def test_parse_price_file_by_extension_and_content():
    spr_data = spr(HEADER, REFERENCE_LINE)
    csv_data = b"code;name;price\n1;A;1\n"
    assert parse_price_file(spr_data, "PRICE.SPR").format == "spr"
    assert parse_price_file(zipped(p__spr=spr_data), "1_main.ZIP").format == "spr"
    assert parse_price_file(csv_data, "goods.csv").format == "csv"
    assert parse_price_file(spr_data, "price.txt").format == "spr"  # #IceCash header
    assert parse_price_file(zipped(p__spr=spr_data), "download").format == "spr"  # zip magic
    assert parse_price_file(spr(REFERENCE_LINE), "price").format == "spr"  # 17 fields, numeric code
    assert parse_price_file(csv_data, "goods.txt").format == "csv"
    with pytest.raises(PriceFileError):
        parse_price_file(csv_data, "goods.spr")


# --------------------------------------------------------------------------- the admin doc


def _doc_block(kind: str) -> str:
    blocks = re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) == 1, f"docs/admin/price-files.md must have one ```{kind} example"
    return blocks[0]


def test_doc_spr_example_parses_as_described():
    assert _doc_block("spr") == SPR_EXAMPLE
    result = parse_spr(SPR_EXAMPLE.encode("cp1251"))
    assert result.header == PriceHeader(True, StockMode.CLEAR)
    assert [(r.code, r.is_item, r.parent_code) for r in result.rows] == [
        ("100", False, None), ("200", False, None), ("6496", True, "100"), ("1001", True, "100"), ("2001", True, "200"),
    ]  # fmt: skip
    cognac, water, sugar = result.rows[2:]
    assert cognac.name == "Коньяк «Кизляр» 5 лет"
    assert (cognac.price, cognac.min_price, cognac.max_discount_bp, cognac.alcohol, cognac.litres_ml, cognac.stock) == (
        19800, 15000, 2000, True, 700, 12000,
    )  # fmt: skip
    assert (water.price, water.stock, water.max_discount_bp) == (4550, 120000, 1000)
    assert (sugar.weighed, sugar.price, sugar.min_price, sugar.max_price, sugar.stock, sugar.department) == (
        True, 8990, 8000, 12000, 250500, 2,
    )  # fmt: skip
    assert result.extra_barcodes == [
        ExtraBarcodeRow(8, "1001", "4600000000022", "Вода питьевая, упаковка 6 шт", 0, 6000)
    ]


def test_doc_csv_example_parses_as_described():
    assert _doc_block("csv") == CSV_EXAMPLE
    result = parse_csv(CSV_EXAMPLE.encode())
    assert result.header == PriceHeader(False, StockMode.ADD)
    group, water, sugar = result.rows
    assert group == CatalogueRow(3, "100", "", "Напитки", False)
    assert water == CatalogueRow(
        4, "1001", "4600000000015", "Вода питьевая 1,5 л", True, "100", price=4550, max_discount_bp=1000,
        department=1, vat=VatRate.VAT20, stock=120000,
    )  # fmt: skip
    assert (sugar.name, sugar.price, sugar.weighed, sugar.vat, sugar.stock, sugar.department) == (
        "Сахар; весовой", 8990, True, VatRate.VAT10, 250500, 2,
    )  # fmt: skip
    assert result.extra_barcodes == [
        ExtraBarcodeRow(6, "1001", "4600000000022", "Вода питьевая, упаковка 6 шт", 0, 6000)
    ]


@pytest.mark.parametrize(("mode", "expected"), [(StockMode.CLEAR, 2_500), (StockMode.KEEP, 7_000), (StockMode.ADD, 9_500)])
def test_stock_after_follows_the_files_stock_mode(mode: StockMode, expected: int) -> None:
    assert mode.stock_after(7_000, 2_500) == expected  # thousandths: 7 held, 2.5 in the file


def test_unknown_fields_are_the_kept_ones_a_row_leaves_none():
    assert KEPT_WHEN_UNKNOWN == ("vat", "no_discount")
    row = CatalogueRow(1, "1", "", "Вода", True)
    assert unknown_fields(row) == ("vat", "no_discount")  # a .spr row
    assert unknown_fields(CatalogueRow(1, "1", "", "Вода", True, vat=VatRate.NONE)) == ("no_discount",)
    assert unknown_fields(CatalogueRow(1, "1", "", "Вода", True, vat=VatRate.VAT20, no_discount=False)) == ()


@pytest.mark.parametrize(("mode", "stock"), [(StockMode.CLEAR, 2_500), (StockMode.KEEP, 7_000), (StockMode.ADD, 9_500)])
@pytest.mark.parametrize(
    ("vat", "no_discount", "kept"),
    [
        (None, None, {"vat": "10", "no_discount": True}),  # both unknown: the held item's
        (VatRate.NONE, None, {"vat": "none", "no_discount": True}),
        (None, False, {"vat": "10", "no_discount": False}),  # False is known, not unknown
        (VatRate.VAT20, False, {"vat": "20", "no_discount": False}),
    ],
)
def test_merge_held_keeps_what_the_row_leaves_unknown_and_stock_as_the_mode_says(mode, stock, vat, no_discount, kept):
    row = CatalogueRow(1, "1", "", "Вода", True, price=4550, stock=2_500, vat=vat, no_discount=no_discount)
    new_vat = vat.value if vat is not None else None
    values = {"code": "1", "price": 4550, "stock": 2_500, "vat": new_vat, "no_discount": no_discount}
    held = SimpleNamespace(code="1", price=3000, stock=7_000, vat="10", no_discount=True)  # a stored row
    merge_held(values, row, held, mode)
    assert values == {"code": "1", "price": 4550, "stock": stock, **kept}
