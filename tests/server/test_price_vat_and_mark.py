"""A price list's VAT rates and "no discount" marks survive later files that do not carry them.

``.spr`` has no field for either, a CSV or JSON row may leave them out: the server keeps what its list
holds for the item, an item new to the list stores none (null), and a till keeps its own where the
list has none. On SQLite, PostgreSQL and MariaDB; the back-office JSON over HTTP (old payloads
without ``no_discount`` too); the migration; then end to end, a real server process and a till,
compared with the same files loaded straight into a till, and a till joining afterwards.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import insert, select

from icecash.core.pricefile import parse_price_file
from icecash.server import tables
from icecash.store.db import make_engine, reading, writing
from icecash.store.migrate import alembic_config, upgrade
from tests.helpers import refused
from tests.server.conftest import actor, fed_and_alone, till_headers, till_of

HEAD = "code;name;price;group;vat;no_discount\n"


def spr(*codes_prices: tuple[str, str], replace: bool = False) -> bytes:
    """A .spr file of items ``(code, price)`` in group 1 (first), updating or replacing."""
    head = f"#IceCash=2.0;type=price;sheme_record={'clear' if replace else 'update'};sheme_count=clear\r\n"
    group = "1;;Продукты;0;0;0;0;0;1;0;0;0;0;0;0;;0\r\n"
    items = "".join(f"{code};;Товар {code};0;{price};0;0;0;1;0;0;0;0;0;0;1;1\r\n" for code, price in codes_prices)
    return (head + group + items).encode("cp1251")


def push(server, data: bytes, filename: str) -> dict:
    return server.push_price_list(None, "alpha", "main", parse_price_file(data, filename))


def listed(server) -> dict[str, tuple[str | None, bool | None]]:
    """What a till gets: each item's VAT and mark."""
    answer = server.price_for_till(till_of(server), 0)
    return {r["code"]: (r["vat"], r["no_discount"]) for r in answer["rows"] if r["is_item"]}


def test_a_list_keeps_vat_and_mark_through_files_without_them(firms):
    csv = ("# replace=yes\nkind;code;name;price;group;department;vat;no_discount\ngroup;1;Продукты;;;1;;\n"
           "item;1001;Товар 1001;89.90;1;1;10;1\nitem;1002;Товар 1002;54.90;1;1;20;\nitem;1003;Товар 1003;650;1;1;;0\n")
    assert push(firms, csv.encode(), "p.csv")["version"] == 1
    assert listed(firms) == {"1001": ("10", True), "1002": ("20", None), "1003": (None, False)}
    # a .spr with the same prices changes nothing (it used to wipe the rates and marks)
    same = push(firms, spr(("1001", "89.90"), ("1002", "54.90"), ("1003", "650.00")), "p.spr")
    assert (same["version"], same["changed"]) == (1, 0)
    # new prices: rates and marks stay; a new item has none
    moved = push(firms, spr(("1001", "92.00"), ("1004", "10.00")), "p.spr")
    assert (moved["version"], moved["changed"], moved["added"]) == (2, 1, 1)
    assert listed(firms) == {"1001": ("10", True), "1002": ("20", None), "1003": (None, False), "1004": (None, None)}
    # replacing: the items that stay keep theirs; one that went comes back with none
    push(firms, spr(("1001", "92.00"), ("1002", "55.00"), replace=True), "p.spr")
    assert listed(firms) == {"1001": ("10", True), "1002": ("20", None)}
    push(firms, spr(("1001", "92.00"), ("1002", "55.00"), ("1003", "650.00"), replace=True), "p.spr")
    assert listed(firms) == {"1001": ("10", True), "1002": ("20", None), "1003": (None, None)}
    # a CSV that names them changes them; an empty cell keeps
    push(firms, (HEAD + "1001;Молоко;92;1;без НДС;0\n1002;Хлеб;55;1;;да\n").encode(), "p.csv")
    assert listed(firms) == {"1001": ("none", False), "1002": ("20", True), "1003": (None, None)}
    # the admin pages' view of the list shows the same
    admin = actor(firms, "alpha-admin", "alpha-pass")
    items = {r["code"]: (r["vat"], r["no_discount"]) for r in firms.price_items_of(admin, "alpha", "main")
             if r["is_item"]}
    assert items == {"1001": ("none", False), "1002": ("20", True), "1003": (None, None)}


# --- the back-office API ----------------------------------------------------------------------------------


@pytest.fixture
def api(env):
    """The client, an alpha admin's header and till alpha 1/1's header."""
    _server, secrets, client = env
    admin = client.post("/api/v1/auth/login", json={"login": "alpha-admin", "password": "alpha-pass"}).json()
    return client, {"Authorization": f"Bearer {admin['token']}"}, till_headers(client, secrets)


def test_json_push_carries_no_discount_and_old_payloads_keep_it(api):
    client, admin, till = api
    url = "/api/v1/firms/alpha/price-lists/main"

    def rows() -> dict[str, tuple[str | None, bool | None]]:
        answer = client.get("/api/v1/exchange/price", headers=till).json()
        return {r["code"]: (r["vat"], r["no_discount"]) for r in answer["rows"]}

    body = {"rows": [{"code": "1", "name": "Сигареты", "price": 15000, "vat": "20", "no_discount": True},
                     {"code": "2", "name": "Вода", "price": 4500, "vat": "10", "no_discount": False},
                     {"code": "3", "name": "Соль", "price": 2000}]}
    assert client.put(url, json=body, headers=admin).json()["added"] == 3
    assert rows() == {"1": ("20", True), "2": ("10", False), "3": (None, None)}
    # a payload of an older program: no no_discount, no vat: both kept
    old = {"replace": False, "rows": [{"code": "1", "name": "Сигареты", "price": 16000},
                                      {"code": "2", "name": "Вода", "price": 4500, "vat": None}]}
    assert client.put(url, json=old, headers=admin).json()["changed"] == 1  # only the price of 1
    assert rows() == {"1": ("20", True), "2": ("10", False), "3": (None, None)}
    # null is "not said" too; false takes the mark off
    off = {"replace": False, "rows": [{"code": "1", "name": "Сигареты", "price": 16000, "no_discount": False},
                                      {"code": "3", "name": "Соль", "price": 2000, "no_discount": None}]}
    assert client.put(url, json=off, headers=admin).json()["changed"] == 1
    assert rows() == {"1": ("20", False), "2": ("10", False), "3": (None, None)}
    refused(client.put(url, json={"rows": [{"code": "4", "name": "x", "no_discount": "может быть"}]}, headers=admin),
            400, "invalid_field", "rows[0].no_discount")
    # a CSV file with the column, over HTTP
    csv = (HEAD + "3;Соль;20;;;1\n").encode()
    pushed = client.put(url, content=csv, params={"filename": "p.csv"}, headers={**admin, "content-type": "text/csv"})
    assert pushed.json()["changed"] == 1, pushed.text
    assert rows()["3"] == (None, True)


# --- migration 0012: lists stored by an older server ---------------------------------------------------------


def test_migration_adds_an_unknown_mark_to_stored_rows(db_url):
    engine = make_engine(db_url)
    try:
        upgrade("icecash.server.migrations", engine, "0011")
        now = datetime(2026, 11, 23)
        with writing(engine) as conn:
            conn.execute(insert(tables.firms).values(id=1, regid="alpha", name="Альфа", active=True, variables_version=0,
                                                     promotions_version=0, created_at=now))
            conn.execute(insert(tables.price_lists).values(id=1, firm_id=1, name="main", version=1, updated_at=now))
            conn.execute(insert(tables.price_items).values(price_list_id=1, code="1001", is_item=True, name="Молоко",
                                                           barcode="", vat="10", extras="[]", deleted=False, version=1))
        upgrade("icecash.server.migrations", engine)
        with reading(engine) as conn:
            assert conn.execute(select(tables.price_items.c.vat, tables.price_items.c.no_discount)).one() == ("10", None)
        command.downgrade(alembic_config("icecash.server.migrations", engine), "0011")
        with reading(engine) as conn:
            assert conn.execute(select(tables.price_items.c.code)).scalar_one() == "1001"
    finally:
        engine.dispose()


# --- end to end ------------------------------------------------------------------------------------------


# Both tills start with the demo catalogue (milk 1001 and bread 1002 at VAT 10, cheese 1003 at 10, water
# 1005 at 20; no marks), then get, in this order:
E2E_FILES = [
    ("# replace=yes\nkind;" + HEAD + "group;10;Молочные;;;;\nitem;1001;Молоко;89.90;10;10;1\n"
     "item;1002;Хлеб;54.90;10;20;\nitem;1003;Сыр;650;10;;\nitem;1005;Вода;45;10;;да\nitem;1006;Кефир;70;10;;\n", "p.csv"),
    (spr(("1001", "92.00"), ("1002", "55.00"), ("1007", "10.00")), "p.spr"),  # prices: rates and marks stay
    (spr(("1001", "92.00"), ("1002", "55.00"), ("1005", "45.00"), ("1006", "70.00"), replace=True), "p.spr"),
    ("kind;" + HEAD + "item;1001;Молоко;92;1;;0\nitem;1002;Хлеб;55;1;;1\nitem;1003;Сыр;650;1;22;\n", "p.csv"),
    (spr(("1002", "56.00"), ("1003", "660.00")), "p.spr"),
]
E2E_AFTER = {"1001": ("10", False), "1002": ("20", True), "1003": ("22", False), "1005": ("20", True),
             "1006": ("none", False)}


@pytest.mark.slow
def test_a_till_fed_by_the_server_keeps_vat_and_marks_as_a_till_loading_the_files_itself(tmp_path):
    with fed_and_alone(tmp_path) as both:
        for data, filename in E2E_FILES:
            both.load(data.encode() if isinstance(data, str) else data, filename)
        fed, alone = both.items(both.fed, E2E_AFTER), both.items(both.alone, E2E_AFTER)
        # a till joining now loads the whole list at once: the rates and marks the list kept reach it
        late = both.items(both.late_till(), E2E_AFTER)
        for code, (vat, mark) in E2E_AFTER.items():
            assert (fed[code]["vat"], bool(fed[code]["no_discount"])) == (vat, mark), code
            assert fed[code] == alone[code], code
            assert (late[code]["vat"], bool(late[code]["no_discount"])) == (vat, mark), code
