"""Injection strings in an item's name and a user's name reach the cashier's screen as plain text.

An item imported through the real price-file import and a user made through the real admin API
carry HTML and SQL; the screen must show both verbatim, escaped, and run nothing: no element is
made from the name, no alert opens, and the data (users included) is still there afterwards.
"""

from __future__ import annotations

import uuid

import httpx

from icecash.core.barcodes import make_ean13
from tests.conftest import login

IMG = "<img src=x onerror=alert(1)>"
SQL = "'; DROP TABLE users; --"
ITEM_NAME = f"{IMG} Молоко {SQL}"
USER_NAME = f"{SQL} Иван {IMG}"
ITEM_CODE = "97001"
ITEM_BARCODE = make_ean13("460970010001")  # outside the demo catalogue's barcodes


def _csv_field(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _seed(live, new_user) -> str:
    """Import the item and make the seller with the injection name through the till's own API; the seller's login."""
    login_name = f"inj{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=live.url, timeout=30) as client:
        admin = login(client, new_user("admin"))
        price = f"code;barcode;name;price;group\n{ITEM_CODE};{ITEM_BARCODE};{_csv_field(ITEM_NAME)};12.34;10\n"
        imported = client.post("/api/v1/catalogue/import", params={"filename": "inj.csv"}, content=price.encode(),
                               headers={**admin, "content-type": "text/csv"})
        assert imported.status_code == 200, imported.text
        made = client.post("/api/v1/users", json={"login": login_name, "password": login_name, "role": "seller",
                                                  "name": USER_NAME}, headers=admin)
        assert made.status_code == 201, made.text
    return login_name


def test_injection_in_item_and_user_names_is_shown_verbatim(screen, live, new_user):
    seller = _seed(live, new_user)
    dialogs: list[str] = []
    screen.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page = screen.page

    def nothing_ran() -> None:
        assert page.locator("img[src='x']").count() == 0  # no element was made out of a name
        assert dialogs == []  # and no alert(1)

    # the seller: their name in the header, the item on the receipt, exactly as typed
    screen.login(seller)
    assert page.inner_text(".who b") == USER_NAME
    screen.scan(ITEM_BARCODE)
    assert [line["name"] for line in screen.lines()] == [ITEM_NAME]
    # the catalogue search finds it by a piece of the SQL and lists it verbatim
    screen.key("Home")
    page.wait_for_selector("#cat-q:focus")
    page.keyboard.type("DROP TABLE")
    found = page.locator(f"#panel-body [data-add-code='{ITEM_CODE}'] .pick-name")
    found.wait_for()
    assert found.inner_text() == ITEM_NAME
    screen.shot("escaping-catalogue")
    nothing_ran()
    screen.key("Escape")
    page.wait_for_selector("#scan:focus")
    screen.key_rendered("[")  # deferred for a cashier
    assert screen.lines() == []

    # the cashier: the seller's name in the deferred list, the item's on the loaded receipt
    page.click("#logout")
    page.wait_for_url("**/login")
    screen.login(new_user("cashier"))
    screen.key("]")
    page.wait_for_selector("#panel-body [data-load]")
    mine = page.locator("#panel-body [data-load]").last
    assert USER_NAME in mine.locator(".pick-name").inner_text()
    nothing_ran()
    mine.focus()
    screen.rendered(lambda: screen.key("Enter"))
    assert [line["name"] for line in screen.lines()] == [ITEM_NAME]
    screen.shot("escaping-receipt")
    screen.key("Delete")  # paid by card, so the receipt is not left open
    page.wait_for_selector("#dlg-pay[open]")
    screen.rendered(lambda: screen.key("Enter"))
    assert screen.lines() == []
    # F2: the last receipt as the till shows it
    screen.key("F2")
    page.wait_for_selector("#panel-body .receipt-view .paper")
    assert ITEM_NAME in page.inner_text("#panel-body")
    nothing_ran()

    # nothing was executed on the till's side either: the users table and the names are intact
    with httpx.Client(base_url=live.url, timeout=30) as client:
        admin = login(client, new_user("admin"))
        users = client.get("/api/v1/users", headers=admin)
        assert users.status_code == 200, users.text
        assert USER_NAME in [u["name"] for u in users.json()]
        item = client.get(f"/api/v1/catalogue/items/{ITEM_CODE}", headers=admin).json()
        assert item["name"] == ITEM_NAME
