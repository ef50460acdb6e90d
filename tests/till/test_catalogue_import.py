"""Catalogue import, through the service and through ``POST /api/v1/catalogue/import``: replace and
update modes, stock modes, extra barcodes that sell, all-or-nothing refusals, admin only, body limit."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import icecash.till.app as till_app
from icecash.core.barcodes import make_ean13
from icecash.core.errors import Conflict, Forbidden
from icecash.core.pricefile import (
    CatalogueRow,
    ExtraBarcodeRow,
    PriceFile,
    PriceFileError,
    PriceHeader,
    StockMode,
    parse_price_file,
    write_spr,
)
from icecash.core.roles import Role
from icecash.store.db import reading
from icecash.till.app import create_app, open_till
from icecash.till.service import Till
from icecash.till.tables import catalogue, extra_barcodes
from tests.conftest import login
from tests.helpers import BREAD, CARD10, MILK

API = "/api/v1"
WATER_BC = make_ean13("460555000001")
PACK_BC = make_ean13("460555000002")  # 6 × water, priced by the coefficient
PROMO_BC = make_ean13("460555000003")  # water at its own promo price
TEA_BC = make_ean13("460555000004")
TEA_BIG_BC = make_ean13("460555000005")  # 1.5 × tea (koef with decimals)
SALT_BC = make_ean13("460555000006")


def spr(*lines: str, record: str = "clear", count: str = "clear") -> bytes:
    header = f"#IceCash=2.0;type=price;sheme_record={record};sheme_count={count}"
    return "\r\n".join((header, *lines, "")).encode("cp1251")


def item(code: str, name: str, price: str, group: str, stock: str = "0", barcode: str = "") -> str:
    return f"{code};{barcode};{name};0;{price};{stock};0;0;1;10;0;0;0;0;0;{group};1"


def group(code: str, name: str, parent: str = "0") -> str:
    return f"{code};;{name};0;0;0;0;0;1;0;0;0;0;0;0;{parent};0"


BASE = spr(
    group("1", "Напитки"),
    group("2", "Бакалея"),
    group("21", "Чай и кофе", "2"),
    item("101", "Вода 1,5 л", "45.00", "1", "100", WATER_BC),
    item("201", "Чай чёрный 100 г", "120.00", "21", "10", TEA_BC),
    item("202", "Соль 1 кг", "19.90", "2", "50", SALT_BC),
    f"#101;{PACK_BC};Вода, упаковка 6 шт;;0;6",
    f"#101;{PROMO_BC};Вода, акция;;39.00;0",
    f"#201;{TEA_BIG_BC};Чай 150 г;;0;1.5",
)


def state(till: Till) -> dict[str, Any]:
    """The whole catalogue: rows by code, and the extra barcodes."""
    with reading(till.engine) as conn:
        rows = {row.code: row._asdict() for row in conn.execute(select(catalogue))}
        extras = sorted(
            (e.item_code, e.barcode, e.name, e.price, e.coefficient) for e in conn.execute(select(extra_barcodes))
        )
    return {"rows": rows, "extras": extras}


def stock(till: Till) -> dict[str, int]:
    return {code: row["stock"] for code, row in state(till)["rows"].items() if row["is_item"]}


def load(till: Till, data: bytes, name: str = "price.spr") -> dict[str, int]:
    return till.import_price_file(None, parse_price_file(data, name))


@pytest.fixture(scope="module")
def users_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A till database with one user of each role and an empty catalogue (hashing passwords is slow: once)."""
    data = tmp_path_factory.mktemp("template")
    till = open_till(data)
    till.create_user(None, "admin", "admin", Role.ADMIN)
    till.create_user(None, "kassir", "kassir", Role.CASHIER)
    till.create_user(None, "seller", "seller", Role.SELLER)
    till.engine.dispose()  # checkpoints the WAL into the main file
    return data


@pytest.fixture
def empty_till(tmp_path: Path, users_only: Path) -> Till:
    data = tmp_path / "till"
    data.mkdir()
    for part in users_only.iterdir():
        shutil.copyfile(part, data / part.name)
    return open_till(data)


@pytest.fixture
def http(empty_till: Till):
    with TestClient(create_app(empty_till), raise_server_exceptions=False) as client:
        yield client


# --- the service ---------------------------------------------------------------------------------


def test_replace_mode_replaces_everything(empty_till: Till) -> None:
    assert load(empty_till, BASE) == {"rows": 6, "items": 3, "groups": 3, "extra_barcodes": 3, "replaced": 1,
                                      "warnings_count": 0, "warnings": []}
    first = state(empty_till)
    assert set(first["rows"]) == {"1", "2", "21", "101", "201", "202"}
    tea = first["rows"]["201"]
    assert (tea["name"], tea["search_name"], tea["price"], tea["parent_code"], tea["stock"], tea["barcode"]) == (
        "Чай чёрный 100 г", "чай чёрный 100 г", 12000, "21", 10_000, TEA_BC,
    )
    assert tea["max_discount_bp"] == 1000 and tea["vat"] == "none"  # .spr has no VAT: the till's default
    assert first["extras"] == [
        ("101", PACK_BC, "Вода, упаковка 6 шт", 0, 6000),
        ("101", PROMO_BC, "Вода, акция", 3900, 1000),
        ("201", TEA_BIG_BC, "Чай 150 г", 0, 1500),
    ]

    result = load(empty_till, spr(group("3", "Хозтовары"), item("301", "Мыло", "35.00", "3", "7")))
    assert result["replaced"] == 1
    after = state(empty_till)
    assert set(after["rows"]) == {"3", "301"}
    assert after["extras"] == []  # extra barcodes of goods that left went with them
    assert after["rows"]["301"]["stock"] == 7000


def test_update_mode_changes_by_code_and_keeps_the_rest(empty_till: Till) -> None:
    load(empty_till, BASE)
    before = state(empty_till)
    result = load(
        empty_till,
        spr(item("201", "Чай чёрный 100 г, новая цена", "125.50", "21", "3", TEA_BC),
            item("203", "Сахар 1 кг", "89.90", "2", "20"),
            f"#201;{TEA_BIG_BC};Чай 150 г;;180.00;1.5", record="update"),
    )
    assert result == {"rows": 2, "items": 2, "groups": 0, "extra_barcodes": 1, "replaced": 0,
                      "warnings_count": 0, "warnings": []}
    after = state(empty_till)
    assert set(after["rows"]) == set(before["rows"]) | {"203"}
    for code in ("1", "2", "21", "101", "202"):
        assert after["rows"][code] == before["rows"][code], code
    tea = after["rows"]["201"]
    assert (tea["name"], tea["price"], tea["stock"]) == ("Чай чёрный 100 г, новая цена", 12550, 3000)
    assert after["rows"]["203"]["parent_code"] == "2"
    # the touched item's extra barcodes are the file's; the water's stay
    assert after["extras"] == [
        ("101", PACK_BC, "Вода, упаковка 6 шт", 0, 6000),
        ("101", PROMO_BC, "Вода, акция", 3900, 1000),
        ("201", TEA_BIG_BC, "Чай 150 г", 18000, 1500),
    ]


@pytest.mark.parametrize(
    ("record", "count", "expected"),
    [
        ("update", "clear", {"101": 5000, "201": 0, "202": 50_000, "203": 2000}),
        ("update", "keep", {"101": 100_000, "201": 10_000, "202": 50_000, "203": 2000}),
        ("update", "add", {"101": 105_000, "201": 10_000, "202": 50_000, "203": 2000}),
        ("clear", "clear", {"101": 5000, "201": 0, "203": 2000}),
        ("clear", "keep", {"101": 100_000, "201": 10_000, "203": 2000}),
        ("clear", "add", {"101": 105_000, "201": 10_000, "203": 2000}),
    ],
)
def test_stock_modes(empty_till: Till, record: str, count: str, expected: dict[str, int]) -> None:
    load(empty_till, BASE)
    assert stock(empty_till) == {"101": 100_000, "201": 10_000, "202": 50_000}
    load(
        empty_till,
        spr(group("1", "Напитки"), group("2", "Бакалея"), group("21", "Чай и кофе", "2"),
            item("101", "Вода 1,5 л", "45.00", "1", "5", WATER_BC),
            item("201", "Чай чёрный 100 г", "120.00", "21", "0", TEA_BC),
            item("203", "Сахар 1 кг", "89.90", "2", "2"), record=record, count=count),
    )
    assert stock(empty_till) == expected


def test_stock_modes_from_csv(empty_till: Till) -> None:
    load(empty_till, BASE)
    load(empty_till, "# stock=add\ncode;name;price;group;stock\n101;Вода 1,5 л;45;1;0,5\n".encode(), "delivery.csv")
    assert stock(empty_till)["101"] == 100_500
    load(empty_till, "# replace=no; stock=keep\ncode;name;price;group;stock\n101;Вода 1,5 л;46;1;7\n".encode(), "p.csv")
    assert stock(empty_till)["101"] == 100_500
    assert state(empty_till)["rows"]["101"]["price"] == 4600


def test_extra_barcodes_sell_at_their_price(empty_till: Till) -> None:
    load(empty_till, BASE)
    _token, kassir = empty_till.login("kassir", "kassir")
    prices = {}
    for barcode in (PACK_BC, PROMO_BC, TEA_BIG_BC):
        view = empty_till.scan(kassir, barcode)
        line = view["lines"][-1]
        prices[barcode] = (line["code"], line["price"])
    assert prices == {
        PACK_BC: ("101", "270.00"),  # 6 × 45.00
        PROMO_BC: ("101", "39.00"),  # its own price
        TEA_BIG_BC: ("201", "180.00"),  # 1.5 × 120.00
    }
    assert empty_till.current(kassir)["total"] == "489.00"
    # its own barcode or its code: a multi-price item asks which price, then sells the chosen one
    with pytest.raises(Conflict) as asked_by_scan:
        empty_till.scan(kassir, WATER_BC)
    assert asked_by_scan.value.code == "choose_price"
    with pytest.raises(Conflict) as asked:
        empty_till.add_line(kassir, code="101")
    options = asked.value.details["options"]
    assert options == asked_by_scan.value.details["options"]
    assert [(o["name"], o["price"]) for o in options] == [
        ("Вода 1,5 л", "45.00"), ("Вода, упаковка 6 шт", "270.00"), ("Вода, акция", "39.00"),
    ]
    promo = next(o["option"] for o in options if o["barcode"] == PROMO_BC)
    assert empty_till.add_line(kassir, code="101", price_option=promo)["lines"][-1]["price"] == "39.00"
    assert empty_till.pay(kassir, cash=100_000)["total"] == "528.00"


@pytest.mark.parametrize(
    ("content", "line", "field", "words"),
    [
        pytest.param(
            spr(item("204", "Перец", "30.00", "2"), item("205", "Корица", "40.00", "99"), record="update"),
            3, "idgroup", "group 99 not found", id="unknown-group",
        ),
        pytest.param(
            spr(item("204", "Перец", "30.00", "2"), f"#777;{make_ean13('460555000009')};Нет такого;;10.00;1",
                record="update"),
            3, "id", "item 777 not found", id="extra-for-unknown-item",
        ),
        pytest.param(
            spr(item("204", "Перец", "30.00", "2"), f"#21;{make_ean13('460555000009')};Группа;;10.00;1",
                record="update"),
            3, "id", "item 21 not found", id="extra-for-a-group-in-the-till",
        ),
        pytest.param(
            spr(group("1", "Напитки"), item("101", "Вода", "45.00", "1"), item("204", "Перец", "30.00", "2")),
            4, "idgroup", "group 2 not found", id="replace-needs-parents-in-the-file",
        ),
    ],
)
def test_bad_references_name_the_line_and_import_nothing(empty_till: Till, content: bytes, line: int, field: str,
                                                         words: str) -> None:
    load(empty_till, BASE)
    before = state(empty_till)
    with pytest.raises(PriceFileError) as refused:
        load(empty_till, content)
    error = refused.value
    assert (error.errors[0].line_no, error.errors[0].field) == (line, field)
    assert f"line {line}, field {field}" in error.message_en and words in error.message_en
    assert state(empty_till) == before


def test_an_extra_barcode_for_an_item_already_on_the_till_is_fine(empty_till: Till) -> None:
    load(empty_till, BASE)
    load(empty_till, spr(f"#202;{make_ean13('460555000010')};Соль, 3 пачки;;0;3", record="update"))
    _token, kassir = empty_till.login("kassir", "kassir")
    assert empty_till.scan(kassir, make_ean13("460555000010"))["lines"][0]["price"] == "59.70"
    # salt is multi-price now: its own barcode asks which price
    with pytest.raises(Conflict):
        empty_till.scan(kassir, SALT_BC)


def test_only_an_admin_imports_through_the_service(empty_till: Till) -> None:
    price_file = parse_price_file(BASE, "price.spr")
    for login_ in ("kassir", "seller"):
        _token, user = empty_till.login(login_, login_)
        with pytest.raises(Forbidden):
            empty_till.import_price_file(user, price_file)
    assert state(empty_till)["rows"] == {}
    _token, admin = empty_till.login("admin", "admin")
    assert empty_till.import_price_file(admin, price_file)["items"] == 3


def test_a_large_file_is_one_transaction(empty_till: Till) -> None:
    """More rows than one insert chunk, with the bad line at the very end: still nothing imported."""
    rows = [CatalogueRow(0, "9", "", "Всё", False)]
    rows += [CatalogueRow(0, str(100_000 + n), "", f"Товар {n}", True, "9", price=100 + n, stock=n) for n in range(12_000)]
    extras = [ExtraBarcodeRow(0, "100000", PACK_BC, "x", 0, 2000)]
    good = write_spr(PriceFile(PriceHeader(True, StockMode.CLEAR), rows, extras, "spr"))
    assert load(empty_till, good)["rows"] == 12_001
    before = state(empty_till)
    bad = good + f"#555555;{WATER_BC};x;;1.00;1\r\n".encode()
    with pytest.raises(PriceFileError) as refused:
        load(empty_till, bad)
    assert refused.value.errors[0].line_no == 12_004
    assert state(empty_till) == before

    # a failure after the old catalogue was deleted and a first chunk written: rolled back whole
    class PowerCut(Exception):
        pass

    def cut_after_first_chunk(done: int, total: int) -> None:
        if done >= 5000:
            raise PowerCut

    other = write_spr(PriceFile(PriceHeader(True, StockMode.CLEAR), [
        CatalogueRow(0, "8", "", "Другое", False),
        *(CatalogueRow(0, str(200_000 + n), "", f"Другой {n}", True, "8", price=5) for n in range(6000)),
    ], [], "spr"))
    with pytest.raises(PowerCut):
        empty_till.import_price_file(None, parse_price_file(other, "other.spr"), cut_after_first_chunk)
    assert state(empty_till) == before


# --- VAT and "no discount": kept unless the file says --------------------------------------------


def vat_and_mark(till: Till) -> dict[str, tuple[str, bool]]:
    """Each item's VAT rate and "no discount" mark."""
    return {code: (row["vat"], bool(row["no_discount"])) for code, row in state(till)["rows"].items() if row["is_item"]}


def csv(text: str, name: str = "p.csv") -> tuple[bytes, str]:
    return text.encode(), name


def test_an_update_without_vat_keeps_each_items_rate_and_a_new_item_gets_the_default(empty_till: Till) -> None:
    empty_till.update_settings(None, {"default_vat": "20"})
    load(empty_till, BASE)  # .spr: no VAT field, every item new: the default
    assert vat_and_mark(empty_till) == {"101": ("20", False), "201": ("20", False), "202": ("20", False)}
    load(empty_till, *csv("code;name;price;group;vat\n101;Вода 1,5 л;45;1;10\n202;Соль 1 кг;19.90;2;0\n"))
    assert vat_and_mark(empty_till) == {"101": ("10", False), "201": ("20", False), "202": ("0", False)}
    # a .spr price update: new prices, no VAT: the rates stay; a new item takes the default
    load(empty_till, spr(item("101", "Вода 1,5 л", "47.00", "1", "5", WATER_BC), item("203", "Сахар 1 кг", "89.90", "2"),
                         record="update"))
    assert vat_and_mark(empty_till) == {"101": ("10", False), "201": ("20", False), "202": ("0", False),
                                        "203": ("20", False)}
    assert state(empty_till)["rows"]["101"]["price"] == 4700
    # a CSV without a vat column, or with an empty cell: the same
    load(empty_till, *csv("code;name;price;group\n101;Вода 1,5 л;48;1\n"))
    load(empty_till, *csv("code;name;price;group;vat\n202;Соль 1 кг;21;2;\n204;Перец;30;2;\n"))
    assert vat_and_mark(empty_till) == {"101": ("10", False), "201": ("20", False), "202": ("0", False),
                                        "203": ("20", False), "204": ("20", False)}
    # a file that names a rate changes it
    load(empty_till, *csv("code;name;price;group;vat\n101;Вода 1,5 л;48;1;без НДС\n"))
    assert vat_and_mark(empty_till)["101"] == ("none", False)


@pytest.mark.parametrize("count", ["clear", "keep"])
def test_replacing_the_catalogue_keeps_the_vat_and_mark_of_the_goods_that_stay(empty_till: Till, count: str) -> None:
    empty_till.update_settings(None, {"default_vat": "20"})
    load(empty_till, BASE)
    load(empty_till, *csv("# stock=keep\ncode;name;price;group;vat;no_discount\n101;Вода 1,5 л;45;1;10;1\n"
                          "201;Чай;120;21;0;да\n"))
    replacing = [group("1", "Напитки"), group("2", "Бакалея"), item("101", "Вода 1,5 л", "46.00", "1", "7", WATER_BC),
                 item("203", "Сахар 1 кг", "89.90", "2", "3")]
    load(empty_till, spr(*replacing, count=count))  # 201 and 202 go
    assert vat_and_mark(empty_till) == {"101": ("10", True), "203": ("20", False)}
    assert stock(empty_till) == {"101": 100_000 if count == "keep" else 7000, "203": 3000}
    # an item that went comes back as a new one: the default, no mark
    load(empty_till, spr(*replacing, group("21", "Чай и кофе", "2"), item("201", "Чай", "120.00", "21"), count=count))
    assert vat_and_mark(empty_till) == {"101": ("10", True), "201": ("20", False), "203": ("20", False)}
    # a replacing CSV that names them sets them
    load(empty_till, *csv("# replace=yes\nkind;code;name;price;group;vat;no_discount\ngroup;1;Напитки;;;;\n"
                          "item;101;Вода 1,5 л;45;1;22;нет\nitem;301;Мыло;35;1;;1\n"))
    assert vat_and_mark(empty_till) == {"101": ("22", False), "301": ("20", True)}


def test_no_discount_comes_from_the_csv_and_a_spr_keeps_it(empty_till: Till) -> None:
    load(empty_till, BASE)
    load(empty_till, *csv("code;name;price;group;no_discount\n101;Вода 1,5 л;45;1;да\n201;Чай;120;21;1\n"
                          "202;Соль 1 кг;19.90;2;0\n"))
    assert {code: mark for code, (_vat, mark) in vat_and_mark(empty_till).items()} == {"101": True, "201": True,
                                                                                      "202": False}
    # .spr update and .spr replace: no field for it, the marks stay
    load(empty_till, spr(item("101", "Вода 1,5 л", "47.00", "1", "5", WATER_BC), item("202", "Соль", "20.00", "2"),
                         record="update"))
    load(empty_till, BASE)
    assert {code: mark for code, (_vat, mark) in vat_and_mark(empty_till).items()} == {"101": True, "201": True,
                                                                                      "202": False}
    # CSV: an empty cell keeps the mark, 0 takes it off
    load(empty_till, *csv("code;name;price;group;no_discount\n101;Вода 1,5 л;45;1;\n201;Чай;120;21;нет\n"))
    assert {code: mark for code, (_vat, mark) in vat_and_mark(empty_till).items()} == {"101": True, "201": False,
                                                                                      "202": False}


def test_a_large_update_mixing_known_and_unknown_values_keeps_each_rows_own(empty_till: Till) -> None:
    """Rows with and without VAT or mark, over more than one insert chunk: each row keeps what it does not give."""
    n = 6000
    load(empty_till, *csv("kind;code;name;price;group;vat;no_discount\ngroup;9;Всё;;;;\n"
                          + "".join(f"item;{100_000 + i};Товар {i};1;9;10;1\n" for i in range(n))))
    cells = [("", ""), ("20", ""), ("", "0"), ("0", "1")]
    load(empty_till, *csv("code;name;price;group;vat;no_discount\n"
                          + "".join(f"{100_000 + i};Товар {i};2;9;{cells[i % 4][0]};{cells[i % 4][1]}\n" for i in range(n))))
    expected = [("10", True), ("20", True), ("10", False), ("0", True)]
    got = vat_and_mark(empty_till)
    assert all(got[str(100_000 + i)] == expected[i % 4] for i in range(n))
    assert {row["price"] for row in state(empty_till)["rows"].values() if row["is_item"]} == {200}


# --- the API -------------------------------------------------------------------------------------


def test_import_raw_body_zip_and_multipart(http: TestClient, empty_till: Till) -> None:
    admin = login(http, "admin")
    answer = http.post(f"{API}/catalogue/import", params={"filename": "x.spr"}, content=BASE, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"rows": 6, "items": 3, "groups": 3, "extra_barcodes": 3, "replaced": 1,
                                      "warnings_count": 0, "warnings": []}
    assert http.get(f"{API}/catalogue", headers=admin).json() == {"items": 3, "groups": 3}
    water = http.get(f"{API}/catalogue/items/101", headers=admin).json()
    assert (water["price"], water["stock"], water["parent"]) == ("45.00", "100.000", "1")
    assert [(o["barcode"], o["price"]) for o in water["price_options"]] == [
        (WATER_BC, "45.00"), (PACK_BC, "270.00"), (PROMO_BC, "39.00"),
    ]

    # a zipped .spr in update mode
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("price.spr", spr(item("202", "Соль йодированная", "21.00", "2", "5"), record="update"))
    answer = http.post(f"{API}/catalogue/import", params={"filename": "x.zip"}, content=buffer.getvalue(), headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["replaced"] == 0
    salt = http.get(f"{API}/catalogue/items/202", headers=admin).json()
    assert (salt["name"], salt["price"]) == ("Соль йодированная", "21.00")
    assert http.get(f"{API}/catalogue", headers=admin).json() == {"items": 3, "groups": 3}

    # a CSV as a multipart upload: the upload's file name picks the format
    csv = "kind;code;barcode;name;price;group;vat\nitem;204;;Перец молотый;55,00;2;20\n".encode()
    answer = http.post(f"{API}/catalogue/import", files={"file": ("delivery.csv", csv, "text/csv")}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"] == 1
    pepper = http.get(f"{API}/catalogue/items/204", headers=admin).json()
    assert (pepper["name"], pepper["price"], pepper["vat"], pepper["parent"]) == ("Перец молотый", "55.00", "20", "2")

    # and the imported barcodes sell
    kassir = login(http, "kassir")
    for barcode, price in ((PROMO_BC, "39.00"), (PACK_BC, "270.00"), (TEA_BIG_BC, "180.00")):
        scanned = http.post(f"{API}/receipt/scan", json={"barcode": barcode}, headers=kassir)
        assert scanned.status_code == 200, scanned.text
        assert scanned.json()["lines"][-1]["price"] == price


def test_without_a_file_name_the_content_decides(http: TestClient, empty_till: Till) -> None:
    admin = login(http, "admin")
    spr_answer = http.post(f"{API}/catalogue/import", content=BASE, headers=admin)
    assert spr_answer.status_code == 200, spr_answer.text
    assert spr_answer.json()["replaced"] == 1
    csv = "kind;code;name;price;group\nitem;204;Перец;55,00;2\n".encode()
    csv_answer = http.post(f"{API}/catalogue/import", content=csv, headers={**admin, "Content-Type": "text/csv"})
    assert csv_answer.status_code == 200, csv_answer.text
    assert state(empty_till)["rows"]["204"]["price"] == 5500
    # a name that is given still decides: the same CSV as .spr is refused
    as_spr = http.post(f"{API}/catalogue/import?filename=p.spr", content=csv, headers=admin)
    assert (as_spr.status_code, as_spr.json()["error"]["code"]) == (400, "bad_price_file")


def test_api_refuses_a_bad_file_whole(http: TestClient, empty_till: Till) -> None:
    admin = login(http, "admin")
    assert http.post(f"{API}/catalogue/import?filename=x.spr", content=BASE, headers=admin).status_code == 200
    before = state(empty_till)
    bad = spr(item("202", "Соль", "21.00", "2"), item("204", "Перец", "30,0.0", "2"), item("205", "Корица", "1", "88"),
              record="update")
    answer = http.post(f"{API}/catalogue/import?filename=x.spr", content=bad, headers=admin)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["code"], error["field"]) == ("bad_price_file", "cena")
    assert "line 3, field cena" in error["message_en"]
    assert error["details"]["errors"][0]["line"] == 3
    assert state(empty_till) == before

    unknown = spr(item("205", "Корица", "1", "88"), record="update")
    answer = http.post(f"{API}/catalogue/import", files={"file": ("p.spr", unknown)}, headers=admin)
    assert answer.status_code == 400
    assert answer.json()["error"]["details"]["errors"] == [
        {"line": 2, "field": "idgroup", "message": "группа 88 не найдена", "message_en": "group 88 not found"},
    ]
    assert state(empty_till) == before

    no_file = http.post(f"{API}/catalogue/import", files={"other": ("p.spr", BASE)}, headers=admin)
    assert (no_file.status_code, no_file.json()["error"]["field"]) == (400, "file")
    empty = http.post(f"{API}/catalogue/import?filename=x.spr", content=b"", headers=admin)
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "empty_file")
    assert state(empty_till) == before


def test_api_import_is_admin_only(http: TestClient, empty_till: Till) -> None:
    for user in ("kassir", "seller"):
        refused = http.post(f"{API}/catalogue/import?filename=x.spr", content=BASE, headers=login(http, user))
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"
        multipart = http.post(f"{API}/catalogue/import", files={"file": ("p.spr", BASE)}, headers=login(http, user))
        assert multipart.status_code == 403
    http.cookies.clear()  # login() left a session cookie behind
    anonymous = http.post(f"{API}/catalogue/import?filename=x.spr", content=BASE)
    assert anonymous.status_code == 401
    assert state(empty_till)["rows"] == {}


def test_oversized_body_is_413_not_500(empty_till: Till, monkeypatch: pytest.MonkeyPatch) -> None:
    # the real limit, declared up front: refused before a byte of the body is read
    with TestClient(create_app(empty_till), raise_server_exceptions=False) as client:
        admin = login(client, "admin")
        declared = client.post(
            f"{API}/catalogue/import?filename=x.spr", content=iter([BASE]),
            headers={**admin, "Content-Length": str(till_app.IMPORT_BODY_LIMIT + 1)},
        )
        assert declared.status_code == 413
        assert declared.json()["error"]["code"] == "body_too_large"

    # a smaller limit, to send bodies over it for real: plain, chunked (no length) and multipart
    monkeypatch.setattr(till_app, "IMPORT_BODY_LIMIT", 64 * 1024)
    big = spr(group("1", "Напитки"), *(item(str(1000 + n), f"Товар {n}", "10.00", "1") for n in range(3000)))
    assert len(big) > 64 * 1024
    with TestClient(create_app(empty_till), raise_server_exceptions=False) as client:
        admin = login(client, "admin")
        plain = client.post(f"{API}/catalogue/import?filename=x.spr", content=big, headers=admin)
        chunked = client.post(
            f"{API}/catalogue/import?filename=x.spr", headers=admin,
            content=(big[i : i + 8192] for i in range(0, len(big), 8192)),
        )
        multipart = client.post(f"{API}/catalogue/import", files={"file": ("x.spr", big)}, headers=admin)
        for answer in (plain, chunked, multipart):
            assert answer.status_code == 413, answer.text
            assert answer.json()["error"]["code"] == "body_too_large"
        assert state(empty_till)["rows"] == {}
        # under the limit the same route works
        small = client.post(f"{API}/catalogue/import?filename=x.spr", content=BASE, headers=admin)
        assert small.status_code == 200


def test_bad_check_digit_loads_with_a_warning_naming_the_line(client):
    headers = login(client, "admin")
    good = make_ean13("460555000007")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    body = spr(group("1", "Напитки"), item("501", "Квас", "60.00", "1", barcode=bad), item("502", "Морс", "70.00", "1", barcode=good))
    answer = client.post(f"{API}/catalogue/import?filename=p.spr", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["items"], result["warnings_count"]) == (2, 1)
    assert result["warnings"][0]["line"] == 3 and result["warnings"][0]["field"] == "shk"
    assert f"ожидается {good[-1]}" in result["warnings"][0]["message"]
    # the item sells by code, and its barcode is refused at the scanner with the same reason
    cashier = login(client, "kassir")
    assert client.post(f"{API}/receipt/lines", json={"code": "501"}, headers=cashier).status_code == 200
    scanned = client.post(f"{API}/receipt/scan", json={"barcode": bad}, headers=cashier)
    assert scanned.status_code == 400 and scanned.json()["error"]["code"] == "bad_check_digit"


def test_a_replacing_file_without_items_leaves_the_catalogue_alone(client):
    headers = login(client, "admin")
    before = client.get(f"{API}/catalogue", headers=headers).json()
    answer = client.post(f"{API}/catalogue/import?filename=p.spr", content=spr(group("1", "Напитки")), headers=headers)
    assert answer.status_code == 400
    assert (answer.json()["error"]["code"], answer.json()["error"]["field"]) == ("empty_replacement", "file")
    assert client.get(f"{API}/catalogue", headers=headers).json() == before


def test_a_no_discount_item_from_a_csv_gets_no_card_discount_and_keeps_its_vat(client):
    """The audit's probe: milk (VAT 10) updated by a CSV without a vat column still sells with VAT 10; marked
    "no discount" by the same CSV, it gets no card discount while bread beside it does."""
    admin = login(client, "admin")
    body = f"code;barcode;name;price;group;min_price;max_price;no_discount\n1001;{MILK};Молоко 3,2% 1 л;91.90;10;80;120;1\n"
    answer = client.post(f"{API}/catalogue/import?filename=p.csv", content=body.encode(), headers=admin)
    assert answer.status_code == 200, answer.text
    milk = client.get(f"{API}/catalogue/items/1001", headers=admin).json()
    assert (milk["price"], milk["vat"], milk["no_discount"]) == ("91.90", "10", True)
    cashier = login(client, "kassir")
    client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=cashier)
    client.post(f"{API}/receipt/scan", json={"barcode": BREAD}, headers=cashier)
    view = client.put(f"{API}/receipt/card", json={"number": CARD10}, headers=cashier).json()
    milk_line, bread_line = sorted(view["lines"], key=lambda ln: ln["line_no"])
    assert (milk_line["vat"], milk_line["discount"], milk_line["total"]) == ("10", "0.00", "91.90")
    assert (bread_line["discount"], bread_line["total"]) == ("5.49", "49.41")  # 54.90 − 10 %
    assert view["total"] == "141.31"
