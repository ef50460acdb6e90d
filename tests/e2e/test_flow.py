"""Whole flows: returns, X and Z, a keyboard-only day, double presses, network blinks and reloads."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from icecash.store.db import reading
from icecash.till.tables import receipt_lines, receipts, users
from tests.e2e.conftest import money
from tests.helpers import BREAD, MILK


def _paid_number(screen) -> str:
    number = screen.page.get_attribute("#totals", "data-paid")
    assert number, screen.message()
    return number


def _count(till_service, login: str, *where) -> int:
    with reading(till_service.engine) as conn:
        user_id = conn.execute(select(users.c.id).where(users.c.login == login)).scalar_one()
        return conn.execute(select(func.count()).select_from(receipts).where(receipts.c.owner_id == user_id, *where)).scalar_one()


def test_return_part_of_a_receipt(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(MILK)
    screen.scan(MILK)
    screen.scan(BREAD)
    screen.key("Insert")
    screen.rendered(lambda: screen.key("Enter"))  # exact cash
    number = _paid_number(screen)

    screen.key("PageUp")
    screen.page.wait_for_selector("#return-number:focus")
    screen.page.keyboard.type(number)
    screen.key("Enter")  # one sale has this number: its lines come at once
    screen.page.wait_for_selector("#return-form input[name=q1]:focus")
    screen.shot("return-pick")
    screen.page.keyboard.type("1")  # one milk of the first line back
    screen.key("Enter")
    screen.page.wait_for_selector("#return-result")
    text = screen.page.inner_text("#return-result")
    assert "Возврат №" in text and "89,90" in text
    screen.shot("return-done")
    # found by date this time (a list of the day's sales); more than was sold is refused, by name
    screen.key("Escape")
    screen.key("PageUp")
    screen.page.wait_for_selector("#return-number:focus")
    today = screen.page.evaluate("new Date().toLocaleDateString('sv')")  # YYYY-MM-DD
    screen.page.fill("#return-body input[name=day]", today)
    screen.page.click("#return-body button[type=submit]")
    screen.page.click(f"#panel-body .pick[data-nav]:has-text('№ {number} ')")
    screen.page.wait_for_selector("#return-form input[name=q1]:focus")
    screen.page.keyboard.type("2")
    screen.key("Enter")
    screen.page.wait_for_selector("#return-body .form-error")
    assert screen.page.locator("#return-result").count() == 0


def test_x_and_z_reports(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(BREAD)
    screen.key("Delete")
    screen.rendered(lambda: screen.key("Enter"))
    screen.key("F11")
    screen.page.wait_for_selector("#panel-body .report-grid")
    assert "Хлеб Бородинский" in screen.page.inner_text("#panel-body")
    screen.shot("x-report")
    screen.key("Escape")
    screen.key("F12")
    screen.page.wait_for_selector("#dlg-confirm[open]")
    screen.key("Enter")
    screen.page.wait_for_selector("#dlg-panel[open] .report-grid")
    assert "№ Z" in screen.page.inner_text("#panel-body")
    screen.shot("z-report")
    screen.key("Escape")
    # a second Z of an empty shift is refused in plain words
    screen.key("F12")
    screen.key("Enter")
    screen.page.wait_for_selector("#panel-body .form-error")
    assert "Смена пуста" in screen.page.inner_text("#panel-body .form-error")
    screen.key("Escape")
    screen.page.wait_for_selector("#scan:focus")
    screen.scan(MILK)  # a new shift: its Z from the reports page this time
    screen.key("Delete")
    screen.rendered(lambda: screen.key("Enter"))
    screen.goto("/reports")
    zs = screen.page.locator("table.grid-table tbody a[href^='/reports/z/']").count()
    assert zs >= 1
    screen.page.click("#z-confirm summary")
    screen.shot("reports")
    screen.page.click("#z-confirm button[type=submit]")
    screen.page.wait_for_selector("#z-result .report-grid")
    screen.goto("/reports")
    assert screen.page.locator("table.grid-table tbody a[href^='/reports/z/']").count() == zs + 1
    screen.page.locator("table.grid-table tbody a[href^='/reports/z/']").first.click()
    screen.page.wait_for_selector("h1:has-text('Z-отчёт №')")


def test_keyboard_only_day(screen, new_user):
    """Log in, sell, change a quantity, find in the catalogue, pay, return, X and Z: no mouse at all."""
    login = new_user("cashier")
    page = screen.page
    screen.goto("/login")
    page.wait_for_selector("#login:focus")
    page.keyboard.type(login)
    screen.key("Enter")  # moves on to the password
    page.wait_for_selector("#password:focus")
    page.keyboard.type(login)
    screen.key("Enter")
    page.wait_for_url("**/sale")
    page.wait_for_selector("#scan:focus")
    screen.scan(MILK)
    screen.key("+")
    page.wait_for_selector("#number-input:focus")
    page.keyboard.type("2")
    screen.rendered(lambda: screen.key("Enter"))
    screen.key("Home")
    page.wait_for_selector("#cat-q:focus")
    page.keyboard.type("бородин")
    page.wait_for_selector("#panel-body [data-add-code='1002']")
    screen.key("ArrowDown")
    screen.rendered(lambda: screen.key("Enter"))
    page.wait_for_selector("#scan:focus")
    assert [(l["name"], l["qty"]) for l in screen.lines()] == [("Молоко 3,2% 1 л", "2"), ("Хлеб Бородинский", "1")]
    screen.key("Insert")
    page.wait_for_selector("#pay-cash:focus")
    page.keyboard.type("500")
    assert money(page.inner_text("#pay-change")) == "265,30"
    screen.rendered(lambda: screen.key("Enter"))
    number = _paid_number(screen)
    page.wait_for_selector("#scan:focus")

    screen.key("PageUp")
    page.wait_for_selector("#return-number:focus")
    page.keyboard.type(number)
    screen.key("Enter")
    page.wait_for_selector("#return-form input[name=q1]:focus")
    page.keyboard.type("1")
    screen.key("Enter")
    page.wait_for_selector("#return-result")
    screen.key("Escape")
    page.wait_for_selector("#scan:focus")

    screen.key("F11")
    page.wait_for_selector("#panel-body .report-grid")
    screen.key("Escape")
    screen.key("F12")
    page.wait_for_selector("#dlg-confirm[open]")
    screen.key("Enter")
    page.wait_for_selector("#dlg-panel[open] .report-grid")
    screen.key("Escape")
    page.wait_for_selector("#scan:focus")
    screen.key("F1")
    page.wait_for_selector("#dlg-help[open]")
    screen.shot("help")
    screen.key("Escape")


def test_a_blink_of_the_network_never_adds_a_line_twice(screen, new_user, till_service):
    login = new_user("cashier")
    screen.login(login)
    dropped = []

    def lose_the_answer(route):
        if not dropped:
            dropped.append(route.fetch())  # the till takes the scan, the answer never arrives
            route.abort()
        else:
            route.continue_()

    screen.page.route("**/ui/sale/scan", lose_the_answer)
    screen.scan(MILK)
    assert dropped and dropped[0].status == 200
    assert len(screen.lines()) == 1
    screen.page.unroute("**/ui/sale/scan")
    with reading(till_service.engine) as conn:
        assert conn.execute(
            select(func.count()).select_from(receipt_lines).join(receipts, receipts.c.id == receipt_lines.c.receipt_id)
            .join(users, users.c.id == receipts.c.owner_id).where(users.c.login == login)
        ).scalar_one() == 1
    screen.page.reload()  # a reload rebuilds the screen from the till
    screen.page.wait_for_selector("#scan:focus")
    assert [l["name"] for l in screen.lines()] == ["Молоко 3,2% 1 л"]
    # the one console error is the lost answer this test made; anything else still fails it
    assert sum("net::ERR_FAILED" in e for e in screen.errors) == 1, screen.errors
    screen.errors[:] = [e for e in screen.errors if "net::ERR_FAILED" not in e]


def test_a_double_pressed_pay_pays_once(screen, new_user, till_service):
    login = new_user("cashier")
    screen.login(login)
    screen.scan(BREAD)
    screen.key("Insert")
    screen.page.wait_for_selector("#pay-cash:focus")
    screen.rendered(lambda: (screen.key("Enter"), screen.key("Enter")))
    assert _paid_number(screen)
    assert _count(till_service, login, receipts.c.status == "paid") == 1
    # and a double Enter on the scanner field adds one line, not two
    screen.page.keyboard.type(MILK)
    screen.rendered(lambda: (screen.key("Enter"), screen.key("Enter")))
    assert len(screen.lines()) == 1


def test_receipt_search_and_view(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(MILK)
    screen.key("Delete")
    screen.rendered(lambda: screen.key("Enter"))
    number = _paid_number(screen)
    screen.goto("/receipts")
    screen.page.fill("input[name=number]", number)
    screen.page.click(".search-form button[type=submit]")
    screen.page.wait_for_function("document.querySelectorAll('#receipt-rows tbody tr[hx-get]').length === 1")
    screen.page.click("#receipt-rows tbody tr[hx-get]")
    screen.page.wait_for_selector("#receipt-view .paper")
    assert re.search(r"ПРОДАЖА · № " + number, screen.page.inner_text("#receipt-view .paper-title"))
    assert "Молоко" in screen.page.inner_text("#receipt-view")
    screen.shot("receipts")
    screen.page.fill("input[name=amount]", "89,90")
    screen.page.select_option("select[name=payment]", "card")
    screen.page.wait_for_function("document.querySelectorAll('#receipt-rows tbody tr[hx-get]').length === 1")
    screen.page.select_option("select[name=payment]", "cash")  # paid by card: no longer found
    screen.page.wait_for_function("document.querySelectorAll('#receipt-rows tbody tr[hx-get]').length === 0")
    screen.page.select_option("select[name=payment]", "")
    screen.page.fill("input[name=amount]", "89,91")
    screen.page.click(".search-form button[type=submit]")
    screen.page.wait_for_function("document.querySelectorAll('#receipt-rows tbody tr[hx-get]').length === 0")
