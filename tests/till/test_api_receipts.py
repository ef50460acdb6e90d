"""The receipt life cycle through the JSON API, with exact money: open, add, change, storno, cards,
defer/load, cancel, pay, return, copy, cash in/out, X, Z and the 24-hour shift limit.

Every expected amount is computed by hand in a comment next to it (kopecks, half-up rounding).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from icecash.core.barcodes import make_ean13
from icecash.till.tables import receipts, shifts, z_reports
from tests.conftest import login
from tests.helpers import API, BREAD, CARD5, CARD10, MILK, VODKA, WATER, WATER_PROMO, WATER_SIX, ok, refused, scale




def scan(client, headers, barcode: str, **extra) -> dict:
    return ok(client.post(f"{API}/receipt/scan", json={"barcode": barcode, **extra}, headers=headers))


def add(client, headers, **body) -> dict:
    return ok(client.post(f"{API}/receipt/lines", json=body, headers=headers))


def pay(client, headers, **body) -> dict:
    return ok(client.post(f"{API}/receipt/pay", json=body, headers=headers))


def x_report(client, headers) -> dict:
    return ok(client.get(f"{API}/reports/x", headers=headers))


def line(view: dict, line_no: int) -> dict:
    return next(item for item in view["lines"] if item["line_no"] == line_no)


# --- open, add, change -------------------------------------------------------------------------


def test_one_current_receipt_per_user(client, cashier, seller):
    refused(client.get(f"{API}/receipt", headers=cashier), 404, "no_receipt", "receipt")
    first = ok(client.post(f"{API}/receipt", headers=cashier))
    again = ok(client.post(f"{API}/receipt", headers=cashier))
    assert again["uuid"] == first["uuid"]
    assert (first["status"], first["kind"], first["total"], first["lines"]) == ("open", "sale", "0.00", [])
    assert ok(client.get(f"{API}/receipt", headers=cashier))["uuid"] == first["uuid"]
    # a scan goes to that same receipt, not a new one
    assert scan(client, cashier, MILK)["uuid"] == first["uuid"]
    # another user has their own
    other = ok(client.post(f"{API}/receipt", headers=seller))
    assert other["uuid"] != first["uuid"] and other["lines"] == []


def test_add_by_barcode_code_and_name_search(client, cashier):
    view = scan(client, cashier, MILK)
    assert view["total"] == "89.90"
    view = add(client, cashier, code="1002")
    assert [(ln["code"], ln["price"], ln["quantity"]) for ln in view["lines"]] == [
        ("1001", "89.90", "1.000"), ("1002", "54.90", "1.000")
    ]
    # a name search, case-insensitive in Cyrillic, then add what was found
    found = ok(client.get(f"{API}/catalogue/items", params={"q": "БОРОДИНСКИЙ"}, headers=cashier))
    assert [item["code"] for item in found] == ["1002"]
    view = add(client, cashier, code=found[0]["code"], quantity="2")
    # 89.90 + 54.90 + 2 × 54.90 = 254.60
    assert view["total"] == "254.60"
    assert view["selected_line"] == 3
    # by barcode through /lines as well
    view = add(client, cashier, barcode=VODKA)
    assert view["total"] == "753.60"  # 254.60 + 499.00
    # VAT per rate: 10 % on 254.60 → 25460 × 10 / 110 = 2314.5 → 23.15; 20 % on 499.00 → 49900 / 6 = 8316.7 → 83.17
    assert view["vat"] == [
        {"rate": "10", "total": "254.60", "vat": "23.15"},
        {"rate": "20", "total": "499.00", "vat": "83.17"},
    ]
    assert "A" in line(view, 4)["marks"]  # alcohol


def test_scale_barcode_gives_the_weight(client, cashier):
    view = scan(client, cashier, scale("1003", 250))  # make_ean13("210100300250")
    assert scale("1003", 250) == make_ean13("210100300250")
    first = line(view, 1)
    assert (first["code"], first["quantity"], first["price"]) == ("1003", "0.250", "650.00")
    assert first["total"] == "162.50"  # 650.00 × 0.250
    view = scan(client, cashier, scale("1003", 1333))
    # 65000 × 1333 / 1000 = 86645 kopecks
    assert line(view, 2)["total"] == "866.45"
    assert view["total"] == "1028.95"  # 162.50 + 866.45


def test_quantity_price_and_line_discount(client, cashier):
    scan(client, cashier, MILK)
    view = ok(client.patch(f"{API}/receipt/lines/1", json={"quantity": "3"}, headers=cashier))
    assert view["total"] == "269.70"  # 3 × 89.90
    view = ok(client.patch(f"{API}/receipt/lines/1", json={"price": "100.00"}, headers=cashier))
    assert view["total"] == "300.00"  # 3 × 100.00, within [80.00, 120.00]
    view = ok(client.patch(f"{API}/receipt/lines/1", json={"discount_percent": "10"}, headers=cashier))
    milk = line(view, 1)
    # 10 % of 300.00 = 30.00 → 270.00, above the floor 3 × 80.00 = 240.00; unit price 90.00
    assert (milk["amount"], milk["discount"], milk["total"], milk["final_price"]) == ("300.00", "30.00", "270.00", "90.00")
    assert milk["manual_discount_percent"] == "10.00" and milk["discount_percent"] == "10.00"
    assert {"p", "s", "+"} <= set(milk["marks"])
    assert (view["amount"], view["discount"], view["total"]) == ("300.00", "30.00", "270.00")
    # limits of the item: discount at most 10 %, price within [80.00, 120.00]
    refused(client.patch(f"{API}/receipt/lines/1", json={"discount_percent": "10.01"}, headers=cashier),
            400, "discount_above_max", "discount_percent")
    refused(client.patch(f"{API}/receipt/lines/1", json={"price": "120.01"}, headers=cashier),
            400, "price_above_max", "price")
    refused(client.patch(f"{API}/receipt/lines/1", json={"price": "79.99"}, headers=cashier),
            400, "price_below_min", "price")
    # with the 10 % discount on, a price of 85.00 would end at 76.50 < 80.00 minimum: refused as a whole
    refused(client.patch(f"{API}/receipt/lines/1", json={"price": "85.00"}, headers=cashier),
            400, "discount_below_min_price", "price")
    assert ok(client.get(f"{API}/receipt", headers=cashier))["total"] == "270.00"  # nothing changed
    refused(client.patch(f"{API}/receipt/lines/7", json={"quantity": "1"}, headers=cashier), 404, "unknown_line", "line_no")


def test_storno_cancels_one_line(client, cashier):
    scan(client, cashier, MILK)
    scan(client, cashier, BREAD)
    view = ok(client.post(f"{API}/receipt/lines/1/storno", headers=cashier))
    assert view["total"] == "54.90" and view["amount"] == "54.90"
    assert line(view, 1)["storno"] is True and "c" in line(view, 1)["marks"]
    assert line(view, 1)["total"] == "0.00"
    # a second storno changes nothing; a cancelled line can't be changed
    assert ok(client.post(f"{API}/receipt/lines/1/storno", headers=cashier))["total"] == "54.90"
    refused(client.patch(f"{API}/receipt/lines/1", json={"quantity": "2"}, headers=cashier), 409, "line_cancelled", "line_no")
    view = ok(client.post(f"{API}/receipt/lines/2/select", headers=cashier))
    assert view["selected_line"] == 2
    # the storno line is not in the VAT or the payment
    assert view["vat"] == [{"rate": "10", "total": "54.90", "vat": "4.99"}]  # 5490 × 10 / 110 = 499.09 → 4.99
    assert pay(client, cashier, cash="54.90")["change"] == "0.00"


def test_multi_price_item(client, cashier):
    choose = refused(client.post(f"{API}/receipt/scan", json={"barcode": WATER}, headers=cashier),
                     409, "choose_price", "price_option")
    options = {o["option"]: o["price"] for o in choose["details"]["options"]}
    assert options == {"base": "45.00", "1": "270.00", "2": "39.00"}  # 6 × 45.00 = 270.00
    assert add(client, cashier, code="1005", price_option="base")["total"] == "45.00"
    assert add(client, cashier, code="1005", price_option="1")["total"] == "315.00"  # + 270.00
    assert scan(client, cashier, WATER_SIX)["total"] == "585.00"  # + 270.00
    assert scan(client, cashier, WATER_PROMO)["total"] == "624.00"  # + 39.00
    refused(client.post(f"{API}/receipt/lines", json={"code": "1005", "price_option": "9"}, headers=cashier),
            400, "bad_price_option", "price_option")


def test_an_open_line_keeps_its_price_when_the_catalogue_is_reimported(client, admin, cashier):
    """A line sells at the price it was scanned at (the item's snapshot on the line); a new price list
    changes the next scan, not the lines already on an open receipt, nor after a recalculation."""
    view = scan(client, cashier, MILK)
    assert (line(view, 1)["price"], view["total"]) == ("89.90", "89.90")
    csv = "code;name;price;barcode;group;min_price;max_price\n1001;Молоко 3,2% 1 л;95.00;4601234567893;10;80;120\n"
    imported = ok(client.post(f"{API}/catalogue/import", params={"filename": "new-prices.csv"}, content=csv.encode(),
                              headers={**admin, "content-type": "text/csv"}))
    assert imported["items"] == 1
    assert ok(client.get(f"{API}/catalogue/items/1001", headers=cashier))["price"] == "95.00"
    view = ok(client.get(f"{API}/receipt", headers=cashier))
    assert (line(view, 1)["price"], view["total"]) == ("89.90", "89.90")
    view = scan(client, cashier, MILK)
    # 89.90 (the old line) + 95.00 (the new scan) = 184.90
    assert [(ln["code"], ln["price"]) for ln in view["lines"]] == [("1001", "89.90"), ("1001", "95.00")]
    assert view["total"] == "184.90"
    # a change of another line recalculates the receipt: the old line keeps its price
    view = ok(client.patch(f"{API}/receipt/lines/2", json={"quantity": "2"}, headers=cashier))
    # 89.90 + 2 × 95.00 = 279.90
    assert ([ln["price"] for ln in view["lines"]], view["total"]) == (["89.90", "95.00"], "279.90")
    paid = pay(client, cashier, cash="279.90")
    stored = ok(client.get(f"{API}/receipts/{paid['uuid']}", headers=cashier))
    assert [(ln["price"], ln["total"]) for ln in stored["lines"]] == [("89.90", "89.90"), ("95.00", "190.00")]


# --- discount cards ----------------------------------------------------------------------------


def test_discount_card_applies_to_every_line(client, cashier):
    scan(client, cashier, MILK)
    scan(client, cashier, BREAD)
    scan(client, cashier, VODKA)
    view = ok(client.put(f"{API}/receipt/card", json={"number": CARD10}, headers=cashier))
    assert (view["card_number"], view["card_percent"]) == (CARD10, "10.00")
    # milk 8990 − 899 = 8091; bread 5490 − 549 = 4941; vodka 49900 − 4990 = 44910
    assert [line(view, n)["total"] for n in (1, 2, 3)] == ["80.91", "49.41", "449.10"]
    assert (view["amount"], view["discount"], view["total"]) == ("643.80", "64.38", "579.42")
    # the card barcode scanned instead: 5 %; milk 449.5 → 450 off; bread 274.5 → 275 off; vodka 2495 off
    view = scan(client, cashier, CARD5)
    assert view["card_percent"] == "5.00"
    assert [line(view, n)["total"] for n in (1, 2, 3)] == ["85.40", "52.15", "474.05"]
    assert view["total"] == "611.60"
    view = ok(client.delete(f"{API}/receipt/card", headers=cashier))
    assert (view["card_number"], view["discount"], view["total"]) == (None, "0.00", "643.80")
    refused(client.put(f"{API}/receipt/card", json={"number": "2229999999999"}, headers=cashier), 404, "unknown_card", "card")


def test_card_and_manual_discounts_do_not_stack_and_stop_at_min_price(client, cashier):
    scan(client, cashier, MILK)
    ok(client.patch(f"{API}/receipt/lines/1", json={"discount_percent": "10"}, headers=cashier))
    scan(client, cashier, MILK)
    ok(client.patch(f"{API}/receipt/lines/2", json={"price": "80.00"}, headers=cashier))
    view = ok(client.put(f"{API}/receipt/card", json={"number": CARD5}, headers=cashier))
    # line 1: the larger of manual 10 % and card 5 %: 8990 − 899 = 8091
    assert (line(view, 1)["discount_percent"], line(view, 1)["total"]) == ("10.00", "80.91")
    # line 2 at its 80.00 minimum: the card's 5 % is cut to nothing and the line is marked $
    assert (line(view, 2)["discount"], line(view, 2)["total"]) == ("0.00", "80.00")
    assert "$" in line(view, 2)["marks"]
    assert view["total"] == "160.91"


# --- defer, load, cancel -----------------------------------------------------------------------


def test_seller_defers_cashier_loads_and_pays(client, seller, cashier, admin):
    ok(client.post(f"{API}/users", json={"login": "seller2", "password": "seller2", "role": "seller"}, headers=admin), 201)
    seller2 = login(client, "seller2")
    scan(client, seller, MILK)
    mine = ok(client.post(f"{API}/receipt/defer", headers=seller))
    assert mine["status"] == "deferred"
    refused(client.get(f"{API}/receipt", headers=seller), 404, "no_receipt", "receipt")
    scan(client, seller2, BREAD)
    theirs = ok(client.post(f"{API}/receipt/defer", headers=seller2))
    scan(client, cashier, VODKA)
    own = ok(client.post(f"{API}/receipt/defer", headers=cashier))
    # a seller sees only their own; a cashier sees every deferred receipt
    assert [r["uuid"] for r in ok(client.get(f"{API}/receipts/deferred", headers=seller))] == [mine["uuid"]]
    assert [r["uuid"] for r in ok(client.get(f"{API}/receipts/deferred", headers=seller2))] == [theirs["uuid"]]
    assert {r["uuid"] for r in ok(client.get(f"{API}/receipts/deferred", headers=cashier))} == {
        mine["uuid"], theirs["uuid"], own["uuid"]
    }
    # a seller may not load someone else's, nor see it
    refused(client.post(f"{API}/receipts/{theirs['uuid']}/load", headers=seller), 403, "forbidden", "uuid")
    refused(client.get(f"{API}/receipts/{theirs['uuid']}", headers=seller), 403, "forbidden", "uuid")
    # the cashier loads the seller's receipt and takes the money
    loaded = ok(client.post(f"{API}/receipts/{mine['uuid']}/load", headers=cashier))
    assert (loaded["uuid"], loaded["status"], loaded["total"]) == (mine["uuid"], "open", "89.90")
    refused(client.post(f"{API}/receipts/{theirs['uuid']}/load", headers=cashier), 409, "receipt_in_progress", "uuid")
    paid = pay(client, cashier, cash="100")
    assert (paid["status"], paid["change"]) == ("paid", "10.10")
    me = ok(client.get(f"{API}/auth/me", headers=cashier))
    assert paid["cashier_id"] == me["id"] and paid["seller_id"] != me["id"]
    refused(client.post(f"{API}/receipts/{mine['uuid']}/load", headers=cashier), 409, "not_deferred", "uuid")
    assert mine["uuid"] not in {r["uuid"] for r in ok(client.get(f"{API}/receipts/deferred", headers=cashier))}
    # the seller still sees the receipt they built
    assert ok(client.get(f"{API}/receipts/{mine['uuid']}", headers=seller))["status"] == "paid"
    # a seller loads their own back
    assert ok(client.post(f"{API}/receipts/{theirs['uuid']}/load", headers=seller2))["status"] == "open"
    refused(client.post(f"{API}/receipt/defer", headers=seller), 409, "no_receipt", "receipt")
    ok(client.post(f"{API}/receipt", headers=seller))
    refused(client.post(f"{API}/receipt/defer", headers=seller), 409, "empty_receipt", "lines")


def test_load_replaces_an_empty_current_receipt(client, seller, cashier):
    scan(client, seller, BREAD)
    deferred = ok(client.post(f"{API}/receipt/defer", headers=seller))
    empty = ok(client.post(f"{API}/receipt", headers=cashier))  # opened, never a line
    loaded = ok(client.post(f"{API}/receipts/{deferred['uuid']}/load", headers=cashier))
    assert loaded["uuid"] == deferred["uuid"]
    assert ok(client.get(f"{API}/receipt", headers=cashier))["uuid"] == deferred["uuid"]
    # a receipt that never had a line leaves nothing to keep: it is dropped, as cancel() drops it
    refused(client.get(f"{API}/receipts/{empty['uuid']}", headers=cashier), 404, "unknown_receipt", "uuid")
    assert ok(client.get(f"{API}/receipts", params={"status": "cancelled"}, headers=cashier)) == []


def test_load_keeps_a_storno_only_current_receipt_as_cancelled(client, seller, cashier):
    """Scan, storno, load a deferred receipt: the stornoed sale stays on record as a cancelled receipt.

    Scanning and then stornoing everything is a way to hide a sale; the trace must survive the load,
    exactly as cancel() would leave it: numbered, in the shift, pending upload, counted in the Z.
    """
    scan(client, seller, BREAD)
    deferred = ok(client.post(f"{API}/receipt/defer", headers=seller))
    current = scan(client, cashier, MILK)
    ok(client.post(f"{API}/receipt/lines/1/storno", headers=cashier))  # only a cancelled line left
    loaded = ok(client.post(f"{API}/receipts/{deferred['uuid']}/load", headers=cashier))
    assert (loaded["uuid"], loaded["status"], loaded["total"]) == (deferred["uuid"], "open", "54.90")
    kept = ok(client.get(f"{API}/receipts/{current['uuid']}", headers=cashier))
    me = ok(client.get(f"{API}/auth/me", headers=cashier))
    assert (kept["status"], kept["number"], kept["total"], kept["cashier_id"]) == ("cancelled", 1, "0.00", me["id"])
    assert kept["upload_state"] == "pending" and kept["closed_at"]
    assert [(ln["code"], ln["storno"]) for ln in kept["lines"]] == [("1001", True)]
    assert [r["uuid"] for r in ok(client.get(f"{API}/receipts", params={"status": "cancelled"}, headers=cashier))] == [
        current["uuid"]
    ]
    # the loaded receipt is paid as usual; the Z counts the sale and the cancel
    pay(client, cashier, cash="54.90")
    z = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert (z["cancels_count"], z["cancels_total"]) == (1, "0.00")
    assert (z["sales_count"], z["sales_total"]) == (1, "54.90")
    # a current receipt with a live line is still refused, and stays as it was
    scan(client, seller, VODKA)
    again = ok(client.post(f"{API}/receipt/defer", headers=seller))
    scan(client, cashier, MILK)
    scan(client, cashier, BREAD)
    ok(client.post(f"{API}/receipt/lines/1/storno", headers=cashier))
    refused(client.post(f"{API}/receipts/{again['uuid']}/load", headers=cashier), 409, "receipt_in_progress", "uuid")
    assert ok(client.get(f"{API}/receipt", headers=cashier))["status"] == "open"


def test_cancel_keeps_the_receipt_and_counts_it_in_z(client, cashier):
    scan(client, cashier, MILK)
    scan(client, cashier, BREAD)
    cancelled = ok(client.post(f"{API}/receipt/cancel", headers=cashier))
    assert (cancelled["status"], cancelled["number"], cancelled["total"]) == ("cancelled", 1, "144.80")
    refused(client.get(f"{API}/receipt", headers=cashier), 404, "no_receipt", "receipt")
    stored = ok(client.get(f"{API}/receipts/{cancelled['uuid']}", headers=cashier))
    assert stored["status"] == "cancelled" and len(stored["lines"]) == 2
    assert [r["uuid"] for r in ok(client.get(f"{API}/receipts", params={"status": "cancelled"}, headers=cashier))] == [
        cancelled["uuid"]
    ]
    # an empty receipt is simply dropped
    ok(client.post(f"{API}/receipt", headers=cashier))
    assert ok(client.post(f"{API}/receipt/cancel", headers=cashier)) == {"cancelled": None}
    refused(client.post(f"{API}/receipt/cancel", headers=cashier), 409, "no_receipt", "receipt")
    z = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert (z["cancels_count"], z["cancels_total"]) == (1, "144.80")
    assert (z["sales_count"], z["sales_total"], z["revenue"], z["cash"], z["lines"]) == (0, "0.00", "0.00", "0.00", [])


# --- payment -------------------------------------------------------------------------------------


def test_pay_cash_with_change(client, cashier):
    scan(client, cashier, MILK)
    scan(client, cashier, BREAD)
    paid = pay(client, cashier, cash="200")
    # 200.00 − 144.80 = 55.20
    assert (paid["status"], paid["total"], paid["cash"], paid["card"]) == ("paid", "144.80", "144.80", "0.00")
    assert (paid["cash_given"], paid["change"], paid["number"]) == ("200.00", "55.20", 1)
    refused(client.get(f"{API}/receipt", headers=cashier), 404, "no_receipt", "receipt")


def test_pay_by_card(client, cashier):
    scan(client, cashier, VODKA)
    paid = pay(client, cashier, card="499.00")
    assert (paid["cash"], paid["card"], paid["cash_given"], paid["change"]) == ("0.00", "499.00", "0.00", "0.00")


def test_pay_mixed(client, cashier):
    scan(client, cashier, MILK)
    scan(client, cashier, BREAD)
    paid = pay(client, cashier, card="100.00", cash="50")
    # card 100.00, cash due 44.80, change 50.00 − 44.80 = 5.20
    assert (paid["card"], paid["cash"], paid["cash_given"], paid["change"]) == ("100.00", "44.80", "50.00", "5.20")
    x = x_report(client, cashier)
    assert (x["cash"], x["card"], x["cash_in_drawer"]) == ("44.80", "100.00", "44.80")


def test_pay_refusals_leave_the_receipt_open(client, cashier):
    refused(client.post(f"{API}/receipt/pay", json={"cash": "10"}, headers=cashier), 409, "empty_receipt", "lines")
    ok(client.post(f"{API}/receipt", headers=cashier))
    refused(client.post(f"{API}/receipt/pay", json={"cash": "10"}, headers=cashier), 409, "empty_receipt", "lines")
    scan(client, cashier, MILK)
    scan(client, cashier, BREAD)
    short = refused(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier),
                    400, "insufficient_payment", "cash")
    assert short["details"] == {"missing": "44.80"}  # 144.80 − 100.00
    refused(client.post(f"{API}/receipt/pay", json={"card": "100", "cash": "44.79"}, headers=cashier),
            400, "insufficient_payment", "cash")
    refused(client.post(f"{API}/receipt/pay", json={"card": "144.81"}, headers=cashier), 400, "card_exceeds_total", "card")
    refused(client.post(f"{API}/receipt/pay", json={"cash": "-1", "card": "144.80"}, headers=cashier), 400, "bad_amount", "cash")
    view = ok(client.get(f"{API}/receipt", headers=cashier))
    refused(client.post(f"{API}/receipt/pay", json={"cash": "200", "expected_version": view["version"] - 1},
                        headers=cashier), 409, "receipt_changed", "expected_version")
    assert ok(client.get(f"{API}/receipt", headers=cashier))["status"] == "open"
    paid = pay(client, cashier, cash="144.80", expected_version=view["version"])
    assert paid["change"] == "0.00"
    # all lines cancelled: nothing to pay
    scan(client, cashier, MILK)
    ok(client.post(f"{API}/receipt/lines/1/storno", headers=cashier))
    refused(client.post(f"{API}/receipt/pay", json={"cash": "10"}, headers=cashier), 409, "empty_receipt", "lines")
    assert x_report(client, cashier)["sales_count"] == 1


# --- returns and the copy ----------------------------------------------------------------------


def _sell(client, headers, barcodes: list[str], **payment) -> dict:
    for code in barcodes:
        scan(client, headers, code)
    return pay(client, headers, **payment)


def test_partial_returns_never_more_than_sold(client, cashier):
    scan(client, cashier, MILK)
    ok(client.patch(f"{API}/receipt/lines/1", json={"quantity": "3"}, headers=cashier))
    scan(client, cashier, BREAD)
    sale = pay(client, cashier, cash="400")  # 269.70 + 54.90 = 324.60
    assert sale["total"] == "324.60"
    url = f"{API}/receipts/{sale['uuid']}/return"
    back = ok(client.post(url, json={"lines": [{"line_no": 1, "quantity": "2"}]}, headers=cashier))
    # 2 of 3 milk: 26970 × 2 / 3 = 17980
    assert (back["kind"], back["status"], back["total"], back["cash"], back["card"]) == ("return", "paid", "179.80", "179.80", "0.00")
    assert back["return_of"] == sale["uuid"]
    assert [(ln["code"], ln["quantity"], ln["total"]) for ln in back["lines"]] == [("1001", "2.000", "179.80")]
    too_many = refused(client.post(url, json={"lines": [{"line_no": 1, "quantity": "2"}]}, headers=cashier),
                       400, "return_exceeds_sold", "lines[0].quantity")
    assert "1.000" in too_many["message_en"]  # 1 left to return
    refused(client.post(url, json={"lines": [{"line_no": 2, "quantity": "0.5"}]}, headers=cashier),
            400, "fractional_quantity", "lines[0].quantity")
    refused(client.post(url, json={"lines": [{"line_no": 2, "quantity": "1"}, {"line_no": 2, "quantity": "1"}]},
                        headers=cashier), 400, "duplicate_line", "lines[1]")
    refused(client.post(url, json={"lines": [{"line_no": 3, "quantity": "1"}]}, headers=cashier),
            404, "unknown_line", "lines[0].line_no")
    last = ok(client.post(url, json={"lines": [{"line_no": 1, "quantity": "1"}, {"line_no": 2, "quantity": "1"}]},
                          headers=cashier))
    # the last milk 26970 − 17980 = 8990, bread 5490: 144.80; all returns add up to the sale: 179.80 + 144.80 = 324.60
    assert last["total"] == "144.80"
    refused(client.post(url, json={"lines": [{"line_no": 2, "quantity": "1"}]}, headers=cashier),
            400, "return_exceeds_sold", "lines[0].quantity")
    # a return itself can't be returned
    refused(client.post(f"{API}/receipts/{back['uuid']}/return", json={"lines": [{"line_no": 1, "quantity": "1"}]},
                        headers=cashier), 409, "not_returnable", "uuid")
    x = x_report(client, cashier)
    assert (x["sales_total"], x["returns_total"], x["revenue"], x["cash"]) == ("324.60", "324.60", "0.00", "0.00")


def test_return_of_a_weighed_line_with_a_card_discount(client, cashier):
    scan(client, cashier, scale("1003", 333))
    ok(client.put(f"{API}/receipt/card", json={"number": CARD10}, headers=cashier))
    sale = pay(client, cashier, cash="200")
    # 65000 × 0.333 = 21645; 10 % = 2164.5 → 2165 off → 19480, ≥ floor 55000 × 0.333 = 18315;
    # unit price 19480 / 0.333 = 58498.5 → 58499; total 58499 × 0.333 = 19480.2 → 19480
    assert (sale["total"], sale["discount"]) == ("194.80", "21.65")
    url = f"{API}/receipts/{sale['uuid']}/return"
    first = ok(client.post(url, json={"lines": [{"line_no": 1, "quantity": "0.100"}]}, headers=cashier))
    # 19480 × 100 / 333 = 5849.85 → 5850
    assert first["total"] == "58.50"
    second = ok(client.post(url, json={"lines": [{"line_no": 1, "quantity": "0.233"}]}, headers=cashier))
    # the rest: 19480 − 5850 = 13630, so the returns add up to the sale exactly
    assert second["total"] == "136.30"


def test_return_to_card_never_exceeds_what_the_card_paid(client, cashier):
    scan(client, cashier, MILK)
    ok(client.patch(f"{API}/receipt/lines/1", json={"quantity": "2"}, headers=cashier))
    scan(client, cashier, BREAD)
    sale = pay(client, cashier, card="100", cash="134.70")  # 179.80 + 54.90 = 234.70
    url = f"{API}/receipts/{sale['uuid']}/return"
    first = ok(client.post(url, json={"lines": [{"line_no": 1, "quantity": "2"}]}, headers=cashier))
    # 179.80 back: all 100.00 of the card, 79.80 in cash
    assert (first["card"], first["cash"]) == ("100.00", "79.80")
    refused(client.post(url, json={"lines": [{"line_no": 2, "quantity": "1"}], "card": "0.01"}, headers=cashier),
            400, "card_exceeds_paid", "card")
    second = ok(client.post(url, json={"lines": [{"line_no": 2, "quantity": "1"}]}, headers=cashier))
    assert (second["card"], second["cash"]) == ("0.00", "54.90")
    x = x_report(client, cashier)
    # card 100.00 − 100.00; cash 134.70 − 79.80 − 54.90
    assert (x["card"], x["cash"]) == ("0.00", "0.00")


def test_return_refund_split_chosen_by_the_cashier(client, cashier):
    sale = _sell(client, cashier, [VODKA], card="499.00")
    # the drawer is empty: 99.00 cannot be handed out (a fiscal registrar refuses it too)
    refused(client.post(f"{API}/receipts/{sale['uuid']}/return",
                        json={"lines": [{"line_no": 1, "quantity": "1"}], "card": "400"}, headers=cashier),
            409, "not_enough_cash", "card")
    ok(client.post(f"{API}/cash/in", json={"amount": "100"}, headers=cashier))
    back = ok(client.post(f"{API}/receipts/{sale['uuid']}/return",
                          json={"lines": [{"line_no": 1, "quantity": "1"}], "card": "400"}, headers=cashier))
    assert (back["card"], back["cash"], back["total"]) == ("400.00", "99.00", "499.00")


def test_full_return_nets_the_z_discount_to_zero(client, cashier):
    client.put(f"{API}/receipt/card", json={"number": "2220000000028"}, headers=cashier)  # 10 %
    sale = _sell(client, cashier, [MILK, MILK, BREAD], cash="300")
    # milk 89.90 − 8.99 = 80.91 (x2), bread 54.90 − 5.49 = 49.41: discount 23.47
    assert sale["discount"] == "23.47"
    for line_no, quantity in ((1, "1"), (2, "1"), (3, "1")):
        ok(client.post(f"{API}/receipts/{sale['uuid']}/return",
                       json={"lines": [{"line_no": line_no, "quantity": quantity}]}, headers=cashier))
    x = ok(client.get(f"{API}/reports/x", headers=cashier))
    assert (x["revenue"], x["discount"], x["cash_in_drawer"]) == ("0.00", "0.00", "0.00")


def test_copy_of_the_last_receipt(client, cashier):
    refused(client.get(f"{API}/receipts/last", headers=cashier), 404, "no_receipts", "receipt")
    _sell(client, cashier, [MILK], cash="100")
    second = _sell(client, cashier, [BREAD, BREAD], cash="200")
    scan(client, cashier, VODKA)
    ok(client.post(f"{API}/receipt/cancel", headers=cashier))  # a cancelled receipt is not a copy
    copy = ok(client.get(f"{API}/receipts/last", headers=cashier))
    assert (copy["uuid"], copy["number"], copy["total"], copy["change"]) == (second["uuid"], 2, "109.80", "90.20")
    assert [ln["code"] for ln in copy["lines"]] == ["1002", "1002"]


# --- cash, X, Z, shift -----------------------------------------------------------------------------


def test_cash_in_and_out(client, cashier):
    x = ok(client.post(f"{API}/cash/in", json={"amount": "1000", "comment": "размен"}, headers=cashier))
    assert (x["cash_in"], x["cash_in_drawer"]) == ("1000.00", "1000.00")
    _sell(client, cashier, [MILK], cash="100")
    x = ok(client.post(f"{API}/cash/out", json={"amount": "300.50"}, headers=cashier))
    # 1000.00 + 89.90 − 300.50 = 789.40
    assert (x["cash_out"], x["cash_in_drawer"]) == ("300.50", "789.40")
    short = refused(client.post(f"{API}/cash/out", json={"amount": "789.41"}, headers=cashier),
                    409, "not_enough_cash", "amount")
    assert "789.40" in short["message_en"]
    assert x_report(client, cashier)["cash_in_drawer"] == "789.40"
    x = ok(client.post(f"{API}/cash/out", json={"amount": "789.40"}, headers=cashier))
    assert x["cash_in_drawer"] == "0.00"


def test_x_does_not_close_the_shift(client, cashier):
    assert ok(client.get(f"{API}/shift", headers=cashier))["open"] is False
    refused(client.post(f"{API}/reports/z", headers=cashier), 409, "nothing_to_close", "shift")
    _sell(client, cashier, [MILK], cash="100")
    shift = ok(client.get(f"{API}/shift", headers=cashier))
    assert (shift["open"], shift["state"]) == (True, "fresh")
    first = x_report(client, cashier)
    second = x_report(client, cashier)
    assert first["shift_opened_at"] == second["shift_opened_at"] == shift["opened_at"]
    assert (second["sales_count"], second["sales_total"]) == (1, "89.90")
    assert ok(client.get(f"{API}/shift", headers=cashier))["uuid"] == shift["uuid"]
    assert ok(client.get(f"{API}/reports/z", headers=cashier)) == []
    z = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert z["sales_total"] == "89.90"
    assert ok(client.get(f"{API}/shift", headers=cashier))["open"] is False
    # the closed shift is gone from the X, and a second Z has nothing to close
    assert (x_report(client, cashier)["sales_count"], x_report(client, cashier)["shift_opened_at"]) == (0, None)
    refused(client.post(f"{API}/reports/z", headers=cashier), 409, "nothing_to_close", "shift")


def test_z_totals_are_the_sums_of_the_receipts(client, till, cashier):
    # A night Z: taken at 03:30, it belongs to the previous trading day (begin_time 06:00).
    night = (datetime.now() - timedelta(days=3)).replace(hour=3, minute=30, second=0, microsecond=0)
    till.clock = lambda: night
    # sale A: 2 milk + bread with the 10 % card, cash
    scan(client, cashier, MILK)
    ok(client.patch(f"{API}/receipt/lines/1", json={"quantity": "2"}, headers=cashier))
    scan(client, cashier, BREAD)
    scan(client, cashier, CARD10)
    sale_a = pay(client, cashier, cash="300")
    # milk 17980 − 1798 = 16182 (≥ 16000), bread 5490 − 549 = 4941 → 21123; discount 23470 − 21123 = 2347
    assert (sale_a["total"], sale_a["discount"], sale_a["change"]) == ("211.23", "23.47", "88.77")
    # sale B: 250 g of cheese, vodka and one more milk, by card
    sale_b = _sell(client, cashier, [scale("1003", 250), VODKA, MILK], card="751.40")
    assert sale_b["total"] == "751.40"  # 162.50 + 499.00 + 89.90
    # C: cancelled
    scan(client, cashier, MILK)
    ok(client.post(f"{API}/receipt/cancel", headers=cashier))
    # a return of one milk of A: 16182 × 1 / 2 = 8091, in cash
    back = ok(client.post(f"{API}/receipts/{sale_a['uuid']}/return", json={"lines": [{"line_no": 1, "quantity": "1"}]},
                          headers=cashier))
    assert (back["total"], back["cash"]) == ("80.91", "80.91")
    ok(client.post(f"{API}/cash/in", json={"amount": "500"}, headers=cashier))
    ok(client.post(f"{API}/cash/out", json={"amount": "100"}, headers=cashier))
    # a receipt still open is not in the Z
    scan(client, cashier, VODKA)

    finished = ok(client.get(f"{API}/receipts", headers=cashier))
    assert len(finished) == 4
    paid_sales = [r for r in finished if r["kind"] == "sale" and r["status"] == "paid"]
    expected = {
        "sales_count": 2, "returns_count": 1, "cancels_count": 1,
        "sales_total": "962.63",  # 211.23 + 751.40
        "returns_total": "80.91", "cancels_total": "89.90",
        "cash": "130.32",  # 211.23 − 80.91
        # the returned milk gives back its share of its line's discount: 17.98 × 1 / 2 = 8.99
        "card": "751.40", "discount": "14.48", "cash_in": "500.00", "cash_out": "100.00",  # 23.47 − 8.99
        "revenue": "881.72",  # 962.63 − 80.91
    }
    assert f"{sum(int(r['total'].replace('.', '')) for r in paid_sales) / 100:.2f}" == expected["sales_total"]
    x = x_report(client, cashier)
    assert {k: x[k] for k in expected} == expected
    assert x["cash_in_drawer"] == "530.32"  # 130.32 + 500.00 − 100.00
    z = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert {k: z[k] for k in expected} == expected
    # one line per item, by code; the cancelled milk is not in them
    assert z["lines"] == [
        {"code": "1001", "name": "Молоко 3,2% 1 л", "sold_quantity": "3.000", "sold_total": "251.72",  # 161.82 + 89.90
         "returned_quantity": "1.000", "returned_total": "80.91"},
        {"code": "1002", "name": "Хлеб Бородинский", "sold_quantity": "1.000", "sold_total": "49.41",
         "returned_quantity": "0.000", "returned_total": "0.00"},
        {"code": "1003", "name": "Сыр Российский, кг", "sold_quantity": "0.250", "sold_total": "162.50",
         "returned_quantity": "0.000", "returned_total": "0.00"},
        {"code": "1004", "name": "Водка «Пшеничная» 0,5 л", "sold_quantity": "1.000", "sold_total": "499.00",
         "returned_quantity": "0.000", "returned_total": "0.00"},
    ]
    assert sum(int(zl["sold_total"].replace(".", "")) for zl in z["lines"]) == 96263
    trading_day = (night - timedelta(days=1)).date().isoformat()
    assert z["accounting_date"] == trading_day and z["number"] == 1
    assert z["closed_at"] == night.isoformat()
    # the Z list by accounting date, and the Z by its uuid
    listed = ok(client.get(f"{API}/reports/z", params={"date_from": trading_day, "date_to": trading_day}, headers=cashier))
    assert [item["uuid"] for item in listed] == [z["uuid"]]
    assert "lines" not in listed[0] and listed[0]["revenue"] == "881.72"
    assert ok(client.get(f"{API}/reports/z", params={"date_from": night.date().isoformat()}, headers=cashier)) == []
    assert ok(client.get(f"{API}/reports/z/{z['uuid']}", headers=cashier)) == z
    refused(client.get(f"{API}/reports/z/no-such-z", headers=cashier), 404, "unknown_z", "uuid")
    # the open vodka receipt is paid into the next shift
    till.clock = lambda: night + timedelta(hours=3)  # 06:30: the next trading day
    pay(client, cashier, card="499")
    z2 = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert (z2["number"], z2["sales_count"], z2["sales_total"], z2["accounting_date"]) == (
        2, 1, "499.00", night.date().isoformat()
    )
    assert [item["number"] for item in ok(client.get(f"{API}/reports/z", headers=cashier))] == [2, 1]


def test_a_z_report_is_born_with_a_uuid_and_waits_for_upload(client, till, cashier):
    """Like a finished receipt, a Z gets its UUID where it is born and waits 'pending' for the sync
    agent (no server here: it stays so); an open receipt stays 'local', outside the Z."""
    sale = _sell(client, cashier, [MILK], cash="100")
    scan(client, cashier, BREAD)  # still open at the Z
    z = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert uuid.UUID(z["uuid"]).version == 4 and z["upload_state"] == "pending"
    assert ok(client.get(f"{API}/reports/z/{z['uuid']}", headers=cashier))["upload_state"] == "pending"
    assert [(item["uuid"], item["upload_state"]) for item in ok(client.get(f"{API}/reports/z", headers=cashier))] == [
        (z["uuid"], "pending")
    ]
    with till.engine.connect() as conn:
        assert conn.execute(select(z_reports.c.uuid, z_reports.c.upload_state)).all() == [(z["uuid"], "pending")]
    assert ok(client.get(f"{API}/receipts/{sale['uuid']}", headers=cashier))["upload_state"] == "pending"
    assert ok(client.get(f"{API}/receipt", headers=cashier))["upload_state"] == "local"
    # the next shift's Z: a UUID of its own
    pay(client, cashier, cash="54.90")
    z2 = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert z2["upload_state"] == "pending" and uuid.UUID(z2["uuid"]).version == 4 and z2["uuid"] != z["uuid"]


def _age_shift(till, hours: float) -> None:
    with till.engine.begin() as conn:
        conn.execute(
            update(shifts).where(shifts.c.closed_at.is_(None))
            .values(opened_at=datetime.now().replace(microsecond=0) - timedelta(hours=hours))
        )


def test_shift_warns_at_23_hours_and_refuses_sales_after_24(client, till, cashier):
    sale = _sell(client, cashier, [MILK, MILK], cash="200")
    _age_shift(till, 23.5)
    assert ok(client.get(f"{API}/shift", headers=cashier))["state"] == "warn"
    scan(client, cashier, BREAD)  # still allowed
    _age_shift(till, 24.1)
    shift = ok(client.get(f"{API}/shift", headers=cashier))
    assert shift["state"] == "expired" and shift["hours"] >= 24
    refused(client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=cashier), 409, "shift_expired", "shift")
    refused(client.post(f"{API}/receipt/lines", json={"code": "1001"}, headers=cashier), 409, "shift_expired", "shift")
    refused(client.patch(f"{API}/receipt/lines/1", json={"quantity": "2"}, headers=cashier), 409, "shift_expired", "shift")
    refused(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier), 409, "shift_expired", "shift")
    refused(client.patch(f"{API}/receipt/lines/1", json={"price": "60"}, headers=cashier), 409, "shift_expired", "shift")
    refused(client.patch(f"{API}/receipt/lines/1", json={"discount_percent": "5"}, headers=cashier),
            409, "shift_expired", "shift")
    refused(client.put(f"{API}/receipt/card", json={"number": "2220000000011"}, headers=cashier), 409, "shift_expired", "shift")
    refused(client.post(f"{API}/cash/in", json={"amount": "10"}, headers=cashier), 409, "shift_expired", "shift")
    refused(client.post(f"{API}/cash/out", json={"amount": "10"}, headers=cashier), 409, "shift_expired", "shift")
    refused(client.post(f"{API}/receipts/{sale['uuid']}/return", json={"lines": [{"line_no": 1, "quantity": "1"}]},
                        headers=cashier), 409, "shift_expired", "shift")
    assert ok(client.get(f"{API}/receipt", headers=cashier))["total"] == "54.90"  # the open receipt is untouched
    z = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert (z["sales_count"], z["sales_total"]) == (1, "179.80")
    # after the Z the till sells again, in a fresh shift
    paid = pay(client, cashier, cash="54.90")
    assert paid["status"] == "paid"
    assert ok(client.get(f"{API}/shift", headers=cashier))["state"] == "fresh"
    with till.engine.connect() as conn:
        shift_ids = conn.execute(select(receipts.c.shift_id).where(receipts.c.status == "paid")).scalars().all()
    assert len(set(shift_ids)) == 2


# --- idempotency ---------------------------------------------------------------------------------


def test_same_idempotency_key_adds_one_line(client, cashier):
    headers = {**cashier, "Idempotency-Key": "scan-1"}
    first = client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=headers)
    second = client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    assert second.headers.get("Idempotent-Replay") == "true" and "Idempotent-Replay" not in first.headers
    assert len(ok(client.get(f"{API}/receipt", headers=cashier))["lines"]) == 1
    # a new key is a new line
    client.post(f"{API}/receipt/lines", json={"code": "1001"}, headers={**cashier, "Idempotency-Key": "add-1"})
    client.post(f"{API}/receipt/lines", json={"code": "1001"}, headers={**cashier, "Idempotency-Key": "add-1"})
    assert ok(client.get(f"{API}/receipt", headers=cashier))["total"] == "179.80"


def test_same_idempotency_key_pays_once(client, cashier, admin):
    scan(client, cashier, MILK)
    headers = {**cashier, "Idempotency-Key": "pay-7f3a"}
    first = client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=headers)
    second = client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json() and first.json()["change"] == "10.10"
    x = x_report(client, cashier)
    assert (x["sales_count"], x["cash"]) == (1, "89.90")
    # the key belongs to its user: another user with the same key is not answered from it
    scan(client, admin, BREAD)
    other = client.post(f"{API}/receipt/pay", json={"cash": "54.90"}, headers={**admin, "Idempotency-Key": "pay-7f3a"})
    assert other.status_code == 200 and other.json()["uuid"] != first.json()["uuid"]
    assert x_report(client, cashier)["sales_count"] == 2


def test_same_idempotency_key_repeats_a_refusal_and_money_moves(client, cashier):
    scan(client, cashier, MILK)
    headers = {**cashier, "Idempotency-Key": "short"}
    first = client.post(f"{API}/receipt/pay", json={"cash": "1"}, headers=headers)
    second = client.post(f"{API}/receipt/pay", json={"cash": "1"}, headers=headers)
    assert first.status_code == second.status_code == 400
    assert first.json() == second.json() and first.json()["error"]["field"] == "cash"
    for _ in range(2):
        client.post(f"{API}/cash/in", json={"amount": "100"}, headers={**cashier, "Idempotency-Key": "in-1"})
    sale = pay(client, cashier, cash="89.90")
    returns = [
        client.post(f"{API}/receipts/{sale['uuid']}/return", json={"lines": [{"line_no": 1, "quantity": "1"}]},
                    headers={**cashier, "Idempotency-Key": "ret-1"})
        for _ in range(2)
    ]
    assert [r.status_code for r in returns] == [200, 200] and returns[0].json() == returns[1].json()
    x = x_report(client, cashier)
    # one cash-in of 100.00, one sale of 89.90 and one return of it
    assert (x["cash_in"], x["returns_count"], x["cash_in_drawer"]) == ("100.00", 1, "100.00")


def test_an_idempotency_key_answers_only_for_its_own_action(client, cashier):
    headers = {**cashier, "Idempotency-Key": "reused"}
    scanned = client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=headers)
    assert scanned.status_code == 200 and scanned.json()["status"] == "open"
    # the same key on the payment must not replay the scan's "200, open" as if it were paid
    paid = client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=headers)
    assert paid.status_code == 200, paid.text
    assert (paid.json()["status"], paid.json()["change"]) == ("paid", "10.10")
    assert "Idempotent-Replay" not in paid.headers
    assert x_report(client, cashier)["sales_count"] == 1
    # and each action still answers its own repeats
    again = client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=headers)
    assert again.headers.get("Idempotent-Replay") == "true" and again.json() == paid.json()


# --- finding receipts ----------------------------------------------------------------------------


def test_find_receipts_by_number_kind_status_and_date(client, till, cashier):
    day = datetime.now().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=10)
    till.clock = lambda: day
    first = _sell(client, cashier, [MILK], cash="100")
    ok(client.post(f"{API}/reports/z", headers=cashier))  # a day later the shift would be over 24 h
    till.clock = lambda: day + timedelta(days=1)
    second = _sell(client, cashier, [BREAD], cash="100")
    scan(client, cashier, VODKA)
    cancelled = ok(client.post(f"{API}/receipt/cancel", headers=cashier))
    ok(client.post(f"{API}/cash/in", json={"amount": "100"}, headers=cashier))  # change for the cash refund
    back = ok(client.post(f"{API}/receipts/{first['uuid']}/return", json={"lines": [{"line_no": 1, "quantity": "1"}]},
                          headers=cashier))
    scan(client, cashier, MILK)  # open: never listed

    def found(**params) -> list[int]:
        return [r["number"] for r in ok(client.get(f"{API}/receipts", params=params, headers=cashier))]

    assert found() == [4, 3, 2, 1]  # newest first
    assert (first["number"], second["number"], cancelled["number"], back["number"]) == (1, 2, 3, 4)
    assert found(number=2) == [2]
    assert found(kind="return") == [4]
    assert found(kind="sale", status="paid") == [2, 1]
    assert found(status="cancelled") == [3]
    assert found(date_from=day.date().isoformat(), date_to=day.date().isoformat()) == [1]
    assert found(date_from=(day + timedelta(days=1)).date().isoformat()) == [4, 3, 2]
    assert found(date_to=(day - timedelta(days=1)).date().isoformat()) == []
    assert found(limit=2) == [4, 3] and found(limit=2, offset=2) == [2, 1]
    listed = ok(client.get(f"{API}/receipts", params={"number": 1}, headers=cashier))[0]
    assert (listed["total"], listed["cash_given"], "lines" not in listed) == ("89.90", "100.00", True)


def test_returns_after_the_z_and_of_cancelled_lines(client, cashier):
    scan(client, cashier, MILK)
    scan(client, cashier, BREAD)
    ok(client.post(f"{API}/receipt/lines/1/storno", headers=cashier))
    sale = pay(client, cashier, cash="54.90")
    ok(client.post(f"{API}/reports/z", headers=cashier))
    url = f"{API}/receipts/{sale['uuid']}/return"
    refused(client.post(url, json={"lines": [{"line_no": 1, "quantity": "1"}]}, headers=cashier),
            400, "line_cancelled", "lines[0].line_no")
    # the Z emptied the drawer: a cash refund needs cash put in first
    refused(client.post(url, json={"lines": [{"line_no": 2, "quantity": "1"}]}, headers=cashier), 409, "not_enough_cash", "card")
    ok(client.post(f"{API}/cash/in", json={"amount": "54.90"}, headers=cashier))
    back = ok(client.post(url, json={"lines": [{"line_no": 2, "quantity": "1"}]}, headers=cashier))
    assert back["total"] == "54.90"
    # the return belongs to the new shift: its Z has the return and nothing sold
    z = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert (z["sales_count"], z["returns_count"], z["returns_total"], z["cash"], z["revenue"]) == (
        0, 1, "54.90", "-54.90", "-54.90"
    )
    assert z["lines"] == [{"code": "1002", "name": "Хлеб Бородинский", "sold_quantity": "0.000", "sold_total": "0.00",
                           "returned_quantity": "1.000", "returned_total": "54.90"}]
    # a cancelled receipt can't be returned
    scan(client, cashier, MILK)
    cancelled = ok(client.post(f"{API}/receipt/cancel", headers=cashier))
    refused(client.post(f"{API}/receipts/{cancelled['uuid']}/return", json={"lines": [{"line_no": 1, "quantity": "1"}]},
                        headers=cashier), 409, "not_returnable", "uuid")
