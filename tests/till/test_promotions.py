"""The till with promotions loaded: the original's examples through the real use-cases and API.

Promotions reach the till's tables exactly as the sync agent stores them (``download`` below
writes the same rows and versions; the end-to-end path through a real server is
``tests/server/test_promotions_e2e.py``). Receipts go through ``Till`` and its HTTP API over a real
SQLite database.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select

from icecash.core.pricefile import CatalogueRow, PriceFile, PriceHeader, StockMode
from icecash.core.vat import VatRate
from icecash.store.db import reading, writing
from icecash.till.app import create_app
from icecash.till.promotions import receipt_line_promotions
from icecash.till.sync import (
    _put_state,
    server_goods_lists,
    server_promotions,
    server_variables,
)
from icecash.till.tables import receipt_lines
from tests.conftest import login
from tests.helpers import API, BREAD, ok, refused

# Items of the docs' examples (docs/promotions.md §7), beside the demo catalogue (bread 1002 is 54.90, max 20 %).
ITEMS = [
    CatalogueRow(0, "50", "", "Мороженое", False, None),
    CatalogueRow(0, "1101", "", "Кофе зерновой", True, "12", 95000, max_discount_bp=1000, vat=VatRate.VAT10),
    CatalogueRow(0, "2001", "", "Пиво безалкогольное 0,5", True, "20", 12000, max_discount_bp=1000, litres_ml=500,
                 vat=VatRate.VAT20),
    CatalogueRow(0, "9001", "", "Пиво безалкогольное 0,5 (подарок)", True, "20", 12000, max_discount_bp=10000,
                 litres_ml=500, vat=VatRate.VAT20),
    CatalogueRow(0, "5001", "", "Пломбир", True, "50", 8000, max_discount_bp=5000, vat=VatRate.VAT10),
]

TEN_OVER_1000 = {"id": 1, "name": "10% от 1000 ₽", "if_text": "IF_HEAD_PROPERTY (summa?>=?1000)",
                 "then_text": "DO_SET_HEAD_DISCOUNT (DCF,0.10)"}
THREE_FOR_TWO = {"id": 2, "name": "3 за 2 на пиво", "if_text": "IF_GROUP_PROPERTY {b} (paramf2?>=?3)",
                 "then_text": "DO_POS_CODE_IN {b} GROUPS (beer3)\nDO_FILTERS_GROUP\n"
                              "DO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=3,count=1) [discount=100]"}
HEAT = {"id": 3, "name": "Жара", "if_text": "IF_HEAD_PROPERTY (sets.temperature?>=?25)",
        "then_text": "DO_POS_CODE_IN {ice} GROUPS (icecream)\nDO_GROUP_DISCOUNT {ice} (HOT,sets.temperature)"}
BROKEN = {"id": 4, "name": "Опечатка", "if_text": "IF_HEAD_PROPERTY (summa?>=?1)",
          "then_text": "DO_GROUP_DISCONT {x} (A,50)"}
LISTS = {"beer3": ["2001"], "icecream": ["5001"]}

_versions = iter(range(1, 10_000))


def download(till: Any, promotions: list[dict[str, Any]] = (), goods_lists: dict[str, list[str]] | None = None,
             variables: dict[str, str] | None = None) -> None:
    """What the sync agent does with the server's answers (``_job_promotions``, ``_job_variables``)."""
    with writing(till.engine) as conn:
        conn.execute(delete(server_promotions))
        conn.execute(delete(server_goods_lists))
        conn.execute(delete(server_variables))
        for p in promotions:
            conn.execute(insert(server_promotions).values(
                id=p["id"], name=p["name"], date_from=None, date_to=None, time_from=p.get("time_from", "00:00:00"),
                time_to=p.get("time_to", "23:59:59"), weekdays=p.get("weekdays", "1111111"), places="",
                if_text=p["if_text"], then_text=p["then_text"]))
        for name, codes in (goods_lists or {}).items():
            for code in codes:
                conn.execute(insert(server_goods_lists).values(name=name, code=code))
        for name, value in (variables or {}).items():
            conn.execute(insert(server_variables).values(name=name, value=value))
        _put_state(conn, "promotions_version", str(next(_versions)))
        _put_state(conn, "variables_version", str(next(_versions)))
    till.promotions.invalidate()


@pytest.fixture
def shop(till):
    till.import_price_file(None, PriceFile(PriceHeader(replace_catalogue=False, stock_mode=StockMode.KEEP), ITEMS, [], "test"))
    return till


@pytest.fixture
def kassir(shop):
    return shop.login("kassir", "kassir")[1]


def sell(till, user, *lines: tuple[str, int]) -> dict[str, Any]:
    view = None
    for code, quantity in lines:
        view = till.add_line(user, code=code, quantity=quantity * 1000)
    return view


def reasons(line: dict[str, Any]) -> list[str]:
    return [r["reason_ru"] for r in line["promotions"]]


# --- the original's examples ---------------------------------------------------------------------------------


def test_ten_percent_over_1000(shop, kassir):
    download(shop, [TEN_OVER_1000])
    view = sell(shop, kassir, ("1101", 1))
    assert (view["total"], view["discount"]) == ("950.00", "0.00")  # below the threshold
    assert view["lines"][0]["promotions"] == []
    view = sell(shop, kassir, ("1002", 1))  # 950.00 + 54.90 = 1004.90 ≥ 1000
    assert (view["amount"], view["discount"], view["total"]) == ("1004.90", "100.49", "904.41")
    assert [line["discount"] for line in view["lines"]] == ["95.00", "5.49"]
    for line in view["lines"]:
        assert reasons(line) == ["Акция «10% от 1000 ₽»: скидка 10% (DCF)"]
        assert line["promotions"][0]["id"] == "1" and line["promotions"][0]["name"] == "10% от 1000 ₽"
        assert line["promotions"][0]["reason_en"] == "Promotion '10% от 1000 ₽': 10% off (DCF)"
    view = shop.storno(kassir, 2)  # removing the line that crossed the threshold undoes it
    assert (view["total"], view["discount"]) == ("950.00", "0.00")
    assert view["lines"][0]["promotions"] == []
    with reading(shop.engine) as conn:
        assert conn.execute(select(receipt_line_promotions)).all() == []  # no stale reason left behind


def test_the_printed_receipt_says_why(shop, kassir):
    """The document sent to the print service lists each line's promotion under the lines."""
    from icecash.till.printing import receipt_document
    from icecash.till.tables import receipts

    download(shop, [TEN_OVER_1000])
    sell(shop, kassir, ("1101", 1), ("1002", 1), ("1002", 1))
    shop.storno(kassir, 2)  # a cancelled line is neither printed nor numbered
    with reading(shop.engine) as conn:
        receipt = conn.execute(select(receipts).order_by(receipts.c.id.desc())).first()
        doc = receipt_document(conn, shop, receipt, None, 100441, 0, None)
    assert [line["code"] for line in doc["lines"]] == ["1101", "1002"]
    reason = "Акция «10% от 1000 ₽»: скидка 10% (DCF)"
    assert doc["footer"][:3] == ["Акции:", f"1. {reason}", f"2. {reason}"]


def test_three_for_two_adds_a_gift_line(shop, kassir):
    download(shop, [THREE_FOR_TWO], LISTS)
    view = sell(shop, kassir, ("2001", 2))
    assert view["total"] == "240.00" and len(view["lines"]) == 1
    view = sell(shop, kassir, ("2001", 1))
    assert [(ln["line_no"], ln["code"], ln["promo_added"]) for ln in view["lines"]] == [
        (1, "2001", False), (2, "2001", False), (3, "9001", True)]
    gift = view["lines"][2]
    assert (gift["quantity"], gift["amount"], gift["discount"], gift["total"]) == ("1.000", "120.00", "120.00", "0.00")
    assert reasons(gift) == [("Акция «3 за 2 на пиво»: добавлено 1.000 × «Пиво безалкогольное 0,5 (подарок)» "
                              "(1.000 за каждые 3.000), скидка 120.00 ₽")]
    # a cashier's line goes before the gift, which is renumbered after it
    view = shop.add_line(kassir, barcode=BREAD)
    assert [(ln["line_no"], ln["code"], ln["promo_added"]) for ln in view["lines"]] == [
        (1, "2001", False), (2, "2001", False), (3, "1002", False), (4, "9001", True)]
    assert (view["amount"], view["discount"], view["total"]) == ("534.90", "120.00", "414.90")  # four beers, three paid
    # the gift follows the lines that caused it: the cashier cannot change or cancel it
    with pytest.raises(Exception) as refusal:
        shop.storno(kassir, 4)
    assert getattr(refusal.value, "code", None) == "promotion_line"
    with pytest.raises(Exception) as refusal:
        shop.change_line(kassir, 4, quantity=5000)
    assert getattr(refusal.value, "code", None) == "promotion_line"
    view = shop.storno(kassir, 1)  # two beers left: the gift goes
    assert [ln["code"] for ln in view["lines"]] == ["2001", "2001", "1002"]
    assert view["total"] == "174.90"
    view = shop.change_line(kassir, 2, quantity=6000)  # six beers on line 2: two gifts
    assert [(ln["code"], ln["quantity"], ln["total"]) for ln in view["lines"] if ln["promo_added"]] == [("9001", "2.000", "0.00")]
    paid = shop.pay(kassir, cash=100_000)
    assert paid["status"] == "paid" and paid["total"] == "774.90"  # 6 × 120.00 + 54.90 (the gifts free)
    with reading(shop.engine) as conn:
        stored = conn.execute(select(receipt_lines.c.code, receipt_lines.c.total).order_by(receipt_lines.c.line_no)).all()
    assert sum(total for _, total in stored) == 77490  # the stored lines are what was paid


def test_temperature_driven_discount(shop, kassir, caplog):
    download(shop, [HEAT], LISTS, {"temperature": "18"})
    view = sell(shop, kassir, ("5001", 2), ("1002", 1))
    assert (view["total"], view["discount"]) == ("214.90", "0.00")  # 18°: no discount
    download(shop, [HEAT], LISTS, {"temperature": "27"})
    view = shop.change_line(kassir, 2, quantity=1000)  # the next change sees the new variable
    assert view["lines"][0]["discount"] == "43.20" and view["lines"][0]["total"] == "116.80"  # 27 % of 160.00
    assert reasons(view["lines"][0]) == ["Акция «Жара»: скидка 27% (HOT)"]
    assert view["lines"][1]["promotions"] == []
    download(shop, [HEAT], LISTS, {"temperature": "55"})
    view = shop.change_line(kassir, 2, quantity=1000)
    assert view["lines"][0]["discount"] == "80.00"  # capped at the item's 50 %
    assert "ограничена" in reasons(view["lines"][0])[0]
    download(shop, [HEAT], LISTS, {})  # no variable yet: skipped, logged, the sale goes on
    with caplog.at_level(logging.WARNING, logger="icecash.till.promotions"):
        view = shop.change_line(kassir, 2, quantity=1000)
        shop.change_line(kassir, 2, quantity=1000)
    assert (view["total"], view["discount"]) == ("214.90", "0.00")
    skipped = [r.getMessage() for r in caplog.records if "temperature" in r.getMessage()]
    assert skipped == ["Promotion 'Жара' skipped: variable sets.temperature is not set"]  # once, not per change
    assert shop.pay(kassir, cash=30_000)["status"] == "paid"


def test_a_broken_promotion_is_left_out_and_logged_and_the_sale_goes_on(shop, kassir, caplog):
    with caplog.at_level(logging.ERROR, logger="icecash.till.promotions"):
        download(shop, [BROKEN, TEN_OVER_1000])
        view = sell(shop, kassir, ("1101", 1), ("1002", 1))
    assert view["total"] == "904.41"  # the good one still works
    assert [r.getMessage() for r in caplog.records] == [
        ("Promotion 'Опечатка' not loaded: then, line 1, column 1: unknown command 'DO_GROUP_DISCONT'; "
         "did you mean DO_GROUP_DISCOUNT?")]
    assert shop.pay(kassir, cash=100_000)["status"] == "paid"


def test_a_promotion_failing_at_sale_time_never_fails_the_sale(shop, kassir, caplog):
    # the gift item is not in the catalogue: the promotion is skipped, the beers are sold
    download(shop, [{**THREE_FOR_TWO, "then_text": THREE_FOR_TWO["then_text"].replace("9001", "9999")}], LISTS)
    with caplog.at_level(logging.WARNING, logger="icecash.till.promotions"):
        view = sell(shop, kassir, ("2001", 3))
    assert view["total"] == "360.00" and len(view["lines"]) == 1
    assert any("3 за 2" in r.getMessage() and "9999" in r.getMessage() for r in caplog.records)


def test_recalculation_is_idempotent(shop, kassir):
    download(shop, [TEN_OVER_1000, THREE_FOR_TWO, HEAT], LISTS, {"temperature": "30"})
    view = sell(shop, kassir, ("2001", 3), ("5001", 1), ("1101", 1))
    again = shop.select_line(kassir, 1)
    with writing(shop.engine) as conn:  # recalculating twice more changes nothing stored
        from icecash.till.service import _current_row

        before = conn.execute(select(receipt_lines).order_by(receipt_lines.c.line_no)).all()
        reasons_before = conn.execute(select(receipt_line_promotions).order_by(receipt_line_promotions.c.line_id)).all()
        first = shop._recalculated(conn, _current_row(conn, kassir))
        second = shop._recalculated(conn, _current_row(conn, kassir))
        after = conn.execute(select(receipt_lines).order_by(receipt_lines.c.line_no)).all()
        reasons_after = conn.execute(select(receipt_line_promotions).order_by(receipt_line_promotions.c.line_id)).all()
    assert before == after and reasons_before == reasons_after
    strip = lambda v: {k: x for k, x in v.items() if k not in ("version", "selected_line")}
    assert strip(first) == strip(second) == strip(view) == strip(again)
    assert [ln["code"] for ln in view["lines"]] == ["2001", "5001", "1101", "9001"]
    # 10 % on all (beer 36.00, coffee 95.00), ice cream 30 % = 24.00 wins over 10 %; the gift 120.00
    assert (view["amount"], view["discount"], view["total"]) == ("1510.00", "275.00", "1235.00")


def test_a_paid_receipt_keeps_its_promotions_after_a_new_download(shop, kassir):
    download(shop, [TEN_OVER_1000])
    paid = (sell(shop, kassir, ("1101", 1), ("1002", 1)), shop.pay(kassir, cash=100_000))[1]
    deferred = sell(shop, kassir, ("1101", 1), ("1002", 1))
    shop.defer(kassir)
    download(shop, [])  # the promotion is withdrawn
    assert shop.receipt(kassir, paid["uuid"]) == paid  # lines, totals and reasons as paid
    loaded = shop.load_deferred(kassir, deferred["uuid"])
    assert loaded["total"] == "904.41" and reasons(loaded["lines"][0])  # as the customer was shown
    changed = shop.add_line(kassir, code="5001")  # the next change applies what is in force now
    assert changed["total"] == "1084.90" and all(ln["promotions"] == [] for ln in changed["lines"])


def test_returns_take_no_promotions_and_give_back_what_was_paid(shop, kassir):
    download(shop, [TEN_OVER_1000])
    paid = (sell(shop, kassir, ("1101", 1), ("1002", 1)), shop.pay(kassir, cash=100_000))[1]
    returned = shop.make_return(kassir, paid["uuid"], [(1, 1000)])
    assert returned["total"] == "855.00"  # the coffee as paid: 950.00 less its 10 %
    assert returned["lines"][0]["promotions"] == [] and returned["promotions"] == []


def test_time_window_is_checked_at_the_receipt_moment(tmp_path):
    from icecash.till.app import open_till
    from icecash.till.demo import seed_demo
    from icecash.till.service import Till

    now = [datetime(2026, 7, 15, 17, 59)]
    till = Till(open_till(tmp_path / "t").engine, clock=lambda: now[0])
    seed_demo(till, items=10)
    till.import_price_file(None, PriceFile(PriceHeader(replace_catalogue=False, stock_mode=StockMode.KEEP), ITEMS, [], "t"))
    user = till.login("kassir", "kassir")[1]
    download(till, [{**TEN_OVER_1000, "if_text": "IF_HEAD_PROPERTY (summa?>=?0)", "time_from": "18:00:00"}])
    assert sell(till, user, ("1101", 1))["discount"] == "0.00"
    now[0] = datetime(2026, 7, 15, 18, 0)
    assert sell(till, user, ("1101", 1))["discount"] == "190.00"


# --- the receipt view over HTTP ------------------------------------------------------------------------------


def test_reasons_in_the_api_view(shop):
    download(shop, [THREE_FOR_TWO, TEN_OVER_1000], LISTS)
    with TestClient(create_app(shop), raise_server_exceptions=False) as client:
        headers = login(client, "kassir")
        for _ in range(3):
            ok(client.post(f"{API}/receipt/lines", json={"code": "2001"}, headers=headers))
        view = ok(client.post(f"{API}/receipt/lines", json={"code": "1101"}, headers=headers))
        assert [(ln["line_no"], ln["code"], ln["promo_added"]) for ln in view["lines"]] == [
            (1, "2001", False), (2, "2001", False), (3, "2001", False), (4, "1101", False), (5, "9001", True)]
        assert {tuple(r) for ln in view["lines"] for r in ln["promotions"]} == {("id", "name", "reason_ru", "reason_en")}
        assert view["lines"][0]["promotions"][0]["reason_ru"] == "Акция «10% от 1000 ₽»: скидка 10% (DCF)"
        assert view["lines"][4]["promotions"][0]["name"] == "3 за 2 на пиво"
        assert view["promotions"] == []  # nothing on the whole receipt here
        assert ok(client.get(f"{API}/receipt", headers=headers))["lines"] == view["lines"]
        refused(client.post(f"{API}/receipt/lines/5/storno", headers=headers), 409, "promotion_line", "line_no")
        paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "2000"}, headers=headers))
        assert paid["lines"] == view["lines"] and paid["total"] == view["total"]
        again = ok(client.get(f"{API}/receipts/{paid['uuid']}", headers=headers))
        assert again["lines"] == view["lines"]


def test_receipt_level_reasons(shop, kassir):
    deny = {"id": 7, "name": "Без карты по акции", "if_text": "IF_HEAD_PROPERTY (summa?>=?100)",
            "then_text": "DO_DENY_DISCOUNT_CARD"}
    download(shop, [deny])
    shop.scan(kassir, "2220000000028")  # the 10 % card
    view = sell(shop, kassir, ("1101", 1))
    assert view["discount"] == "0.00"
    assert [r["reason_ru"] for r in view["promotions"]] == ["Акция «Без карты по акции»: дисконтная карта не действует"]
    assert shop.current(kassir)["promotions"] == view["promotions"]
    download(shop, [])  # withdrawn: the next change clears the receipt's reason and the card works again
    view = shop.add_line(kassir, code="1002")
    assert view["promotions"] == [] and view["discount"] == "100.49"
    assert shop.current(kassir)["promotions"] == []


def test_a_filter_on_a_parent_group_takes_the_items_below_it(shop, kassir):
    # 2001 is in group 20 "Вода и соки", under 2 "Напитки" in the demo catalogue's tree
    download(shop, [{"id": 8, "name": "Напитки −10%", "if_text": "", "then_text": "DO_POS_CODE_IN {d} (2)\nDO_GROUP_DISCOUNT {d} (D,10)"}])
    view = sell(shop, kassir, ("2001", 1), ("1101", 1))
    assert [ln["discount"] for ln in view["lines"]] == ["12.00", "0.00"]
    assert reasons(view["lines"][0]) == ["Акция «Напитки −10%»: скидка 10% (D)"]
