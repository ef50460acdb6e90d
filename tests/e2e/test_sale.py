"""The sale screen: scans, weighed items, storno, line changes within limits, cards, payment, defer."""

from __future__ import annotations

from tests.e2e.conftest import money
from tests.helpers import BREAD, CARD10, MILK, WATER, WATER_SIX, scale


def test_scan_weighed_storno_and_line_changes(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(MILK)
    screen.scan(BREAD)
    screen.scan(scale("1003", 250))  # 250 g of cheese at 650.00/kg
    lines = screen.lines()
    assert [(l["name"], l["qty"], money(l["total"])) for l in lines] == [
        ("Молоко 3,2% 1 л", "1", "89,90"), ("Хлеб Бородинский", "1", "54,90"), ("Сыр Российский, кг", "0,250", "162,50"),
    ]
    assert lines[2]["selected"]
    assert money(screen.total()) == "307,30"

    # ↑ selects the bread; * cancels it (storno): struck through, out of the total
    screen.key_rendered("ArrowUp")
    assert screen.lines()[1]["selected"]
    screen.key_rendered("*")
    assert screen.lines()[1]["storno"]
    assert money(screen.total()) == "252,40"

    # + quantity of the milk: 3 is fine, 1,5 of a piece item is refused in plain words
    screen.key_rendered("ArrowUp")
    screen.key("+")
    screen.page.wait_for_selector("#dlg-number[open]")
    assert "Количество" in screen.page.inner_text("#dlg-number-title")
    screen.page.fill("#number-input", "1,5")
    screen.rendered(lambda: screen.key("Enter"))
    assert screen.page.inner_text("#number-error")  # refused, the dialog stays open
    assert screen.page.is_visible("#dlg-number")
    screen.shot("sale-refused-quantity")
    screen.page.fill("#number-input", "3")
    screen.rendered(lambda: screen.key("Enter"))
    assert not screen.page.is_visible("#dlg-number")
    assert screen.lines()[0]["qty"] == "3"
    assert money(screen.lines()[0]["total"]) == "269,70"

    # − price: within 80.00–120.00 accepted, outside refused
    screen.key("-")
    screen.page.fill("#number-input", "150")
    screen.rendered(lambda: screen.key("Enter"))
    assert screen.page.inner_text("#number-error")
    screen.page.fill("#number-input", "85,00")
    screen.rendered(lambda: screen.key("Enter"))
    assert money(screen.lines()[0]["price"]) == "85,00"

    # F8 discount: the milk allows at most 10 %
    screen.key("F8")
    screen.page.fill("#number-input", "15")
    screen.rendered(lambda: screen.key("Enter"))
    assert screen.page.inner_text("#number-error")
    screen.page.fill("#number-input", "10")  # 10 % would take 85.00 below the 80.00 minimum
    screen.rendered(lambda: screen.key("Enter"))
    assert "ниже минимальной" in screen.page.inner_text("#number-error")
    screen.page.fill("#number-input", "5")
    screen.rendered(lambda: screen.key("Enter"))
    assert not screen.page.is_visible("#dlg-number")
    assert money(screen.lines()[0]["total"]) == "242,25"  # 255.00 − 5 %
    screen.shot("sale")


def test_discount_card_and_mixed_payment_with_change(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(MILK)
    screen.scan(BREAD)
    screen.scan(CARD10)  # a discount card scanned like an item: 10 % off the whole receipt
    assert "2220000000028" in screen.page.inner_text("#card-pill")
    assert money(screen.total()) == "130,32"
    screen.page.click("[data-action=pay-cash]")
    screen.page.click("#dlg-pay .tab[data-mode=mixed]")
    screen.page.fill("#pay-card", "30")
    screen.page.type("#pay-cash", "200")  # change as you type: cash due 100.32, given 200
    assert money(screen.page.inner_text("#pay-change")) == "99,68"
    screen.shot("payment-mixed")
    screen.rendered(lambda: screen.page.press("#pay-cash", "Enter"))
    assert not screen.page.is_visible("#dlg-pay")
    assert money(screen.page.inner_text("#change-amount")) == "99,68"
    assert "оплачен" in screen.message()
    assert screen.lines() == []
    screen.shot("sale-paid")


def test_too_little_cash_is_refused_and_the_receipt_kept(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(MILK)
    screen.key("Insert")
    screen.page.type("#pay-cash", "50")
    assert "Не хватает" in screen.page.inner_text("#pay-change-label")
    screen.rendered(lambda: screen.key("Enter"))
    assert screen.page.is_visible("#dlg-pay")
    assert screen.page.inner_text("#pay-error")
    screen.key("Escape")
    assert len(screen.lines()) == 1


def test_defer_as_seller_and_pay_as_cashier(browser, live, screen, new_user):
    seller = new_user("seller")
    screen.login(seller)
    screen.scan(MILK)
    screen.scan(BREAD)
    screen.key_rendered("[")
    assert screen.lines() == []
    assert "отложен" in screen.message()

    screen.page.click("#logout")
    screen.page.wait_for_url("**/login")
    screen.login(new_user("cashier"))
    screen.key("]")
    screen.page.wait_for_selector("#panel-body [data-load]")
    assert seller.title() in screen.page.inner_text("#panel-body") or "Seller" in screen.page.inner_text("#panel-body")
    screen.shot("deferred-list")
    # the first receipt of the list is focused; pick the seller's (the newest is last)
    screen.page.locator("#panel-body [data-load]").last.focus()
    screen.rendered(lambda: screen.key("Enter"))
    assert [l["name"] for l in screen.lines()] == ["Молоко 3,2% 1 л", "Хлеб Бородинский"]
    screen.key("Delete")  # pay by card: the whole amount
    screen.page.wait_for_selector("#dlg-pay[open]")
    screen.rendered(lambda: screen.key("Enter"))
    assert money(screen.page.inner_text("#totals .t-row b")) == "144,80"
    assert screen.lines() == []


def test_multi_price_item_and_catalogue_browser(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(WATER)  # the base barcode of a multi-price item: the picker opens
    screen.page.wait_for_selector("#dlg-panel[open] [data-option]")
    screen.shot("price-picker")
    assert screen.page.locator("#panel-body [data-option]").count() == 3
    screen.key("ArrowDown")  # from the first option to the six-pack
    screen.rendered(lambda: screen.key("Enter"))
    assert not screen.page.is_visible("#dlg-panel")
    assert money(screen.lines()[0]["total"]) == "270,00"
    screen.scan(WATER_SIX)  # the six-pack's own barcode needs no picking
    assert money(screen.lines()[1]["total"]) == "270,00"

    screen.key("Home")
    screen.page.wait_for_selector("#cat-q")
    screen.page.type("#cat-q", "бородин")
    screen.page.wait_for_selector("#panel-body [data-add-code='1002']")
    screen.shot("catalogue-search")
    screen.key("ArrowDown")
    screen.rendered(lambda: screen.key("Enter"))
    assert screen.lines()[-1]["name"] == "Хлеб Бородинский"
    # the group tree: root groups, then into one
    screen.key("Home")
    screen.page.wait_for_selector("#panel-body .pick.group")
    screen.page.click("#panel-body .pick.group:has-text('Продукты')")
    screen.page.wait_for_selector("#panel-body .crumb:has-text('Продукты')")
    screen.shot("catalogue-tree")
    screen.key("Escape")
    screen.page.wait_for_selector("#scan:focus")


def test_refused_scan_says_why(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan("4601234567890")  # wrong check digit
    assert "!" in screen.page.inner_text("#message .msg-icon")
    assert screen.lines() == []
    screen.scan("2000000000008")  # a valid EAN that the catalogue does not hold
    assert screen.message() and screen.lines() == []
    screen.shot("sale-refused-scan")


def test_touch_only_quantity_and_payment_with_the_number_pad(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(MILK)
    screen.page.click("#lines tr.line")
    screen.page.click("[data-action=quantity]")
    screen.page.wait_for_selector("#dlg-number[open]")
    screen.page.click("#dlg-number [data-pad='⌫']")  # the field opens with "1" selected: ⌫ clears it
    for key in "2":
        screen.page.click(f"#dlg-number [data-pad='{key}']")
    screen.rendered(lambda: screen.page.click("#number-form button[type=submit]"))
    assert screen.lines()[0]["qty"] == "2"
    screen.page.click("[data-action=pay-cash]")
    for key in "200":
        screen.page.click(f"#dlg-pay [data-pad='{key}']")
    assert money(screen.page.inner_text("#pay-change")) == "20,20"
    screen.shot("payment-cash")
    screen.rendered(lambda: screen.page.click("#pay-submit"))
    assert money(screen.page.inner_text("#change-amount")) == "20,20"


def test_a_scan_lands_in_the_field_wherever_the_focus_was(screen, new_user):
    screen.login(new_user("cashier"))
    screen.page.locator("[data-action=defer]").focus()  # e.g. a button touched a moment ago
    screen.page.keyboard.type(MILK)
    screen.rendered(lambda: screen.key("Enter"))
    assert [l["name"] for l in screen.lines()] == ["Молоко 3,2% 1 л"]


def test_a_weighed_item_from_the_catalogue_asks_for_its_weight(screen, new_user):
    screen.login(new_user("cashier"))
    screen.key("Home")
    screen.page.wait_for_selector("#cat-q:focus")
    screen.page.keyboard.type("Сыр Российский")
    screen.page.wait_for_selector("#panel-body [data-add-code='1003']")
    screen.key("ArrowDown")
    screen.rendered(lambda: screen.key("Enter"))
    screen.page.wait_for_selector("#number-input:focus")
    screen.page.keyboard.type("0,35")
    screen.rendered(lambda: screen.key("Enter"))
    assert (screen.lines()[0]["qty"], money(screen.lines()[0]["total"])) == ("0,350", "227,50")


def test_a_promotion_discount_shows_its_reason(screen, new_user, till_service):
    """A promotion downloaded by the sync agent changes the line, and the screen says which and why."""
    from sqlalchemy import select

    from icecash.store.db import reading
    from icecash.till.tables import catalogue
    from tests.till.test_promotions import download

    with reading(till_service.engine) as conn:  # an item no other test sells, so the promotion touches nothing else
        code, barcode = conn.execute(
            select(catalogue.c.code, catalogue.c.barcode).where(
                catalogue.c.is_item.is_(True), catalogue.c.weighed.is_(False), catalogue.c.alcohol.is_(False),
                catalogue.c.no_discount.is_(False), catalogue.c.max_discount_bp >= 1500, catalogue.c.barcode != "",
                catalogue.c.min_price * 100 <= catalogue.c.price * 85)  # a 15 % discount fits the item's limits
            .order_by(catalogue.c.code.desc()).limit(1)).one()
    promotion = {"id": 77, "name": "Товар недели", "if_text": "",
                 "then_text": f"DO_POS_CODE_IN {{w}} ({code})\nDO_GROUP_DISCOUNT {{w}} (WEEK,15)"}
    download(till_service, [promotion])
    try:
        screen.login(new_user("cashier"))
        reason = screen.page.locator("#lines .promo-reason")
        for _attempt in range(8):  # the live till rereads promotions a few seconds after a download
            screen.scan(barcode)
            if reason.count():
                break
            screen.page.wait_for_timeout(1000)
        assert "Товар недели" in reason.first.inner_text()
        screen.shot("sale-promotion")
        screen.key("/")  # cancel the receipt (confirmed): no open receipt is left behind for the X/Z tests
        screen.rendered(lambda: screen.page.click("#confirm-yes"))
        assert screen.lines() == []
    finally:
        download(till_service, [])


def test_loading_over_a_storno_only_receipt_keeps_it_cancelled(screen, new_user):
    """Scan, storno, load a deferred receipt: the screen says the stornoed receipt was cancelled (not silently dropped)."""
    screen.login(new_user("cashier"))
    screen.scan(BREAD)
    screen.key_rendered("[")
    screen.scan(MILK)
    screen.key_rendered("*")  # the only line stornoed: nothing live is left
    assert screen.lines()[0]["storno"]
    screen.key("]")
    screen.page.wait_for_selector("#panel-body [data-load]")
    screen.page.locator("#panel-body [data-load]").last.focus()  # this cashier's deferred bread (the newest)
    screen.rendered(lambda: screen.key("Enter"))
    assert [l["name"] for l in screen.lines()] == ["Хлеб Бородинский"]
    assert "Чек №" in screen.message() and "отменён" in screen.message()
    screen.shot("sale-load-over-storno")
    screen.key("Delete")  # paid, so no open receipt is left behind
    screen.page.wait_for_selector("#dlg-pay[open]")
    screen.rendered(lambda: screen.key("Enter"))
    assert screen.lines() == []


def test_a_scale_label_on_a_weighed_multi_price_item_sells_its_weight_after_the_pick(screen, new_user, till_service):
    """The label asks for a price; the pick (Enter) sells the label's 0.300 kg, not a kilogram."""
    from sqlalchemy import select

    from icecash.core.barcodes import make_ean13
    from icecash.core.pricefile import parse_price_file
    from icecash.store.db import reading
    from icecash.till.tables import catalogue

    with reading(till_service.engine) as conn:  # a weighed item no other test sells, its code fit for a label
        weighed = conn.execute(
            select(catalogue.c.code, catalogue.c.name, catalogue.c.price).where(
                catalogue.c.is_item.is_(True), catalogue.c.weighed.is_(True), catalogue.c.price > 0)
            .order_by(catalogue.c.code.desc())).all()
    code, name, price = next(row for row in weighed if row.code.isdigit() and len(row.code) <= 5 and row.code != "1003")
    spr = f"#IceCash=2.0;type=price;sheme_record=update;sheme_count=keep\r\n#{code};{make_ean13('460777000099')};;;0;0.5\r\n"
    till_service.import_price_file(None, parse_price_file(spr.encode("cp1251"), "half.spr"))

    screen.login(new_user("cashier"))
    screen.scan(scale(code, 300))
    screen.page.wait_for_selector("#dlg-panel[open] [data-option][data-quantity='0.300']")
    screen.rendered(lambda: screen.key("Enter"))  # the first option: the item's own price
    line = screen.lines()[-1]
    assert (line["name"], line["qty"]) == (name, "0,300")
    total = (price * 300 + 500) // 1000  # kopecks, half-up
    assert money(line["total"]) == f"{total // 100},{total % 100:02d}"
    screen.key("/")  # cancel the receipt (confirmed): no open receipt is left behind for the X/Z tests
    screen.rendered(lambda: screen.page.click("#confirm-yes"))
