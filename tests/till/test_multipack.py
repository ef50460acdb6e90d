"""Extra barcodes that sell a pack or an offer: the line describes what was sold, so its price limits
and discount floor are the pack's (six bottles never go below six minimum prices), whether the
pack's own barcode was scanned or its option picked on a multi-price item. Scale labels sell
weighed goods only.

Demo water 1005: 45.00 a bottle, min 30.00, no max, max manual discount 10 %; its six-pack
barcode has coefficient 6 (270.00), its offer barcode an own price of 39.00.
"""

from __future__ import annotations

import pytest

from icecash.core.barcodes import make_ean13
from tests.conftest import login
from tests.helpers import API, CHEESE, MILK, WATER, WATER_PROMO, WATER_SIX, ok, refused, scale

MILK_TWO = make_ean13("460777000001")  # 1001 milk 89.90 (min 80.00, max 120.00) × 2, named
BREAD_THIRD = make_ean13("460777000002")  # 1002 bread 54.90 (min 45.00) × 0.333, unnamed
CHEESE_HALF = make_ean13("460777000003")  # 1003 cheese 650.00/kg (min 550.00) × 0.5: a piece
MILK_OFFER = make_ean13("460777000004")  # 1001 milk at its own 75.00, below the base min 80.00
BIG_CARD = "2220000000509"


def scan(client, headers, barcode: str, **extra) -> dict:
    return ok(client.post(f"{API}/receipt/scan", json={"barcode": barcode, **extra}, headers=headers))


def patch(client, headers, line_no: int, **body):
    return client.patch(f"{API}/receipt/lines/{line_no}", json=body, headers=headers)


def last_line(view: dict) -> dict:
    return view["lines"][-1]


@pytest.fixture
def packs(client) -> None:
    """Extra barcodes beside the demo's, loaded as an admin would: a price file in update mode."""
    spr = "\r\n".join((
        "#IceCash=2.0;type=price;sheme_record=update;sheme_count=keep",
        f"#1001;{MILK_TWO};Молоко 3,2% 1 л, 2 пакета;;0;2",
        f"#1001;{MILK_OFFER};акция;;75.00;0",
        f"#1002;{BREAD_THIRD};;;0;0.333",
        f"#1003;{CHEESE_HALF};;;0;0.5",
        "",
    )).encode("cp1251")
    admin = login(client, "admin")
    assert ok(client.post(f"{API}/catalogue/import", content=spr, headers=admin))["extra_barcodes"] == 4
    ok(client.post(f"{API}/discount-cards", json={"number": BIG_CARD, "percent": "50"}, headers=admin))


def test_six_pack_line_is_six_bottles_with_six_minimum_prices(client, cashier):
    sold = last_line(scan(client, cashier, WATER_SIX))
    assert (sold["code"], sold["name"], sold["quantity"], sold["price"]) == (
        "1005", "Вода питьевая 1,5 л, упаковка 6 шт", "1.000", "270.00",
    )
    # the audit's case: six bottles for 35.00; the floor is 6 × 30.00 = 180.00
    error = refused(patch(client, cashier, 1, price="35.00"), 400, "price_below_min", "price")
    assert "180.00" in error["message"]
    refused(patch(client, cashier, 1, price="179.99"), 400, "price_below_min", "price")
    changed = ok(patch(client, cashier, 1, price="180.00"))
    assert (last_line(changed)["total"], changed["total"]) == ("180.00", "180.00")
    assert "p" in last_line(changed)["marks"]
    # back at the pack's own price the line is no longer "price changed"
    assert "p" not in last_line(ok(patch(client, cashier, 1, price="270.00")))["marks"]


def test_card_discount_stops_at_the_packs_floor(client, cashier, packs):
    scan(client, cashier, WATER_SIX)
    view = ok(client.put(f"{API}/receipt/card", json={"number": BIG_CARD}, headers=cashier))
    # 50 % of 270.00 would be 135.00; six bottles stop at 180.00 and the line is marked $
    pack = last_line(view)
    assert (pack["discount"], pack["total"], view["total"]) == ("90.00", "180.00", "180.00")
    assert "$" in pack["marks"]
    # a manual discount within the item's 10 %: 270.00 − 27.00
    assert last_line(ok(patch(client, cashier, 1, discount_percent="10")))["total"] == "180.00"  # the card's 50 % is larger
    ok(client.delete(f"{API}/receipt/card", headers=cashier))
    assert last_line(ok(client.get(f"{API}/receipt", headers=cashier)))["total"] == "243.00"


def test_price_option_sells_the_same_pack_as_its_barcode(client, cashier):
    choose = refused(client.post(f"{API}/receipt/lines", json={"code": "1005"}, headers=cashier),
                     409, "choose_price", "price_option")
    options = {o["option"]: (o["name"], o["price"]) for o in choose["details"]["options"]}
    assert options == {
        "base": ("Вода питьевая 1,5 л", "45.00"),
        "1": ("Вода питьевая 1,5 л, упаковка 6 шт", "270.00"),
        "2": ("Вода питьевая 1,5 л, акция", "39.00"),
    }
    by_option = last_line(ok(client.post(f"{API}/receipt/lines", json={"code": "1005", "price_option": "1"}, headers=cashier)))
    by_barcode = last_line(scan(client, cashier, WATER_SIX))
    assert (by_option["name"], by_option["price"]) == (by_barcode["name"], by_barcode["price"])
    refused(patch(client, cashier, 1, price="35.00"), 400, "price_below_min", "price")
    refused(patch(client, cashier, 1, price="179.99"), 400, "price_below_min", "price")
    # the base option is one bottle with the bottle's limits
    ok(client.post(f"{API}/receipt/lines", json={"barcode": WATER, "price_option": "base"}, headers=cashier))
    assert last_line(ok(patch(client, cashier, 3, price="30.00")))["total"] == "30.00"
    # the catalogue shows the same names and prices
    item = ok(client.get(f"{API}/catalogue/items/1005", headers=cashier))
    assert [(o["name"], o["price"]) for o in item["price_options"]] == [options[k] for k in ("base", "1", "2")]


def test_offer_with_its_own_price(client, cashier, packs):
    # the demo offer, 39.00 for one bottle: the bottle's limits (min 30.00)
    offer = last_line(scan(client, cashier, WATER_PROMO))
    assert (offer["name"], offer["price"]) == ("Вода питьевая 1,5 л, акция", "39.00")
    refused(patch(client, cashier, 1, price="29.99"), 400, "price_below_min", "price")
    ok(patch(client, cashier, 1, price="30.00"))
    # an offer below the base min (75.00 < 80.00): its own price is valid and is its floor; the max
    # stays the milk's 120.00; a bare label is named after the item
    milk = last_line(scan(client, cashier, MILK_OFFER))
    assert (milk["name"], milk["price"], milk["total"]) == ("Молоко 3,2% 1 л, акция", "75.00", "75.00")
    refused(patch(client, cashier, 2, price="74.99"), 400, "price_below_min", "price")
    refused(patch(client, cashier, 2, price="120.01"), 400, "price_above_max", "price")
    assert last_line(ok(patch(client, cashier, 2, price="120.00")))["total"] == "120.00"


def test_pack_scales_the_maximum_price_too(client, cashier, packs):
    two = last_line(scan(client, cashier, MILK_TWO))
    assert (two["name"], two["price"]) == ("Молоко 3,2% 1 л, 2 пакета", "179.80")  # 2 × 89.90
    refused(patch(client, cashier, 1, price="159.99"), 400, "price_below_min", "price")  # 2 × 80.00
    refused(patch(client, cashier, 1, price="240.01"), 400, "price_above_max", "price")  # 2 × 120.00
    assert last_line(ok(patch(client, cashier, 1, price="240.00")))["total"] == "240.00"
    # the manual discount floor is the pack's too: 10 % of 240.00 = 216.00 ≥ 160.00
    assert last_line(ok(patch(client, cashier, 1, discount_percent="10")))["total"] == "216.00"


def test_fractional_coefficient_rounds_price_half_up_and_floor_up(client, cashier, packs):
    third = last_line(scan(client, cashier, BREAD_THIRD))
    # 54.90 × 0.333 = 18.2817 → 18.28; unnamed: the item's name and the pack size
    assert (third["name"], third["price"]) == ("Хлеб Бородинский, 0,333 шт", "18.28")
    # min 45.00 × 0.333 = 14.985 → 14.99: rounding never takes the floor below the exact share
    refused(patch(client, cashier, 1, price="14.98"), 400, "price_below_min", "price")
    assert last_line(ok(patch(client, cashier, 1, price="14.99")))["total"] == "14.99"


def test_pack_of_a_weighed_good_is_sold_by_the_piece(client, cashier, packs):
    half = last_line(scan(client, cashier, CHEESE_HALF))
    assert (half["name"], half["price"]) == ("Сыр Российский, кг, 0,5 кг", "325.00")  # 650.00 × 0.5
    refused(client.post(f"{API}/receipt/scan", json={"barcode": CHEESE_HALF, "quantity": "1.5"}, headers=cashier),
            400, "fractional_quantity", "quantity")
    assert last_line(scan(client, cashier, CHEESE_HALF, quantity="2"))["total"] == "650.00"
    refused(patch(client, cashier, 1, price="274.99"), 400, "price_below_min", "price")  # 550.00 × 0.5


@pytest.mark.parametrize("code", ["1001", "1005"])  # milk; water, a multi-price item: refused before any price question
@pytest.mark.parametrize("grams", [1000, 2000, 250])
def test_scale_label_on_a_piece_good_is_refused(client, cashier, code, grams):
    before = ok(client.post(f"{API}/receipt", headers=cashier))
    error = refused(client.post(f"{API}/receipt/scan", json={"barcode": scale(code, grams)}, headers=cashier),
                    400, "scale_piece_good", "barcode")
    assert "поштучно" in error["message"] and "by the piece" in error["message_en"]
    after = ok(client.get(f"{API}/receipt", headers=cashier))
    assert (after["lines"], after["version"]) == ([], before["version"])
    # a weighed good still sells from its label, whole kilograms too
    cheese = last_line(scan(client, cashier, scale("1003", 1000)))
    assert (cheese["code"], cheese["quantity"], cheese["total"]) == ("1003", "1.000", "650.00")
    assert last_line(scan(client, cashier, CHEESE))["code"] == "1003"
    assert last_line(scan(client, cashier, MILK))["quantity"] == "1.000"


def test_a_scale_label_on_a_weighed_multi_price_item_keeps_its_weight_through_the_price_picker(client, cashier, packs):
    """Cheese 1003 has a second price (CHEESE_HALF): its label asks for a price, and the answer carries
    the label's weight, so picking a price sells 250 g, not the 1 kg a bare code would."""
    label = scale("1003", 250)
    asked = refused(client.post(f"{API}/receipt/scan", json={"barcode": label}, headers=cashier),
                    409, "choose_price", "price_option")
    assert (asked["details"]["item_code"], asked["details"]["quantity"]) == ("1003", "0.250")
    sold = last_line(ok(client.post(f"{API}/receipt/lines", headers=cashier, json={
        "code": "1003", "price_option": "base", "quantity": asked["details"]["quantity"]})))
    assert (sold["quantity"], sold["amount"]) == ("0.250", "162.50")
    # the cashier's screen: the picker's buttons carry the weight, and a pick sends it back
    picker = client.post("/ui/sale/scan", data={"barcode": label}, headers=cashier)
    assert picker.status_code == 200 and 'data-quantity="0.250"' in picker.text, picker.text[-2000:]
    picked = client.post("/ui/sale/add", data={"code": "1003", "price_option": "base", "quantity": "0.250"}, headers=cashier)
    assert picked.status_code == 200
    lines = ok(client.get(f"{API}/receipt", headers=cashier))["lines"]
    assert [(line["code"], line["quantity"]) for line in lines] == [("1003", "0.250"), ("1003", "0.250")]
