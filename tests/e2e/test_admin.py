"""Admin pages, themes and languages, and the screen at both sizes a shop uses."""

from __future__ import annotations

import pytest

from icecash.core.barcodes import make_ean13
from icecash.core.pricefile import CatalogueRow, PriceFile, PriceHeader, StockMode, write_spr
from tests.e2e.conftest import VIEWPORT, Screen
from tests.helpers import BREAD, MILK


def test_users_create_and_refuse(screen):
    screen.login("admin")
    screen.goto("/admin/users")
    form = screen.page.locator("#new-user")
    form.locator("input[name=login]").fill("bad login!")
    form.locator("input[name=password]").fill("secret1")
    form.locator("button[type=submit]").click()
    screen.page.wait_for_selector("#users-card .form-error")
    assert "Логин" in screen.page.inner_text("#users-card .form-error")
    form = screen.page.locator("#new-user")
    form.locator("input[name=login]").fill("newseller")
    form.locator("input[name=password]").fill("secret1")
    form.locator("select[name=role]").select_option("seller")
    form.locator("select[name=theme]").select_option("dark")
    form.locator("button[type=submit]").click()
    screen.page.wait_for_selector("#users-card td b:text-is('newseller')")
    screen.shot("admin-users")


def test_settings_are_checked_as_typed_and_saved_all_or_none(screen):
    screen.login("admin")
    screen.goto("/admin/settings")
    screen.page.fill("#s-inn", "1234567890")
    screen.page.wait_for_selector("#f-inn.invalid .form-error")
    assert "ИНН" in screen.page.inner_text("#f-inn .form-error")
    screen.page.fill("#s-nkassa", "7")
    screen.page.wait_for_selector("#f-nkassa .ok-note")  # its inline check has answered
    screen.page.click("#settings-form button[type=submit]")
    screen.page.wait_for_selector("#settings-card > .form-error", timeout=30_000)
    screen.shot("admin-settings-refused")
    assert screen.page.input_value("#s-nkassa") == "7"  # what was typed stays for correcting
    screen.page.fill("#s-inn", "7707083893")
    screen.page.wait_for_selector("#f-inn .ok-note")
    screen.page.click("#settings-form button[type=submit]")
    screen.page.wait_for_selector("#settings-card .ok-note[role=status]")
    screen.goto("/admin/settings")
    assert screen.page.input_value("#s-nkassa") == "7"
    screen.page.fill("#s-nkassa", "1")
    screen.page.click("#settings-form button[type=submit]")
    screen.page.wait_for_selector("#settings-card .ok-note[role=status]")


def test_catalogue_import_with_progress(screen, tmp_path):
    rows = [CatalogueRow(0, "900", "", "Импорт", False, None)] + [
        CatalogueRow(0, str(90_000 + n), make_ean13(f"47{n:010d}"), f"Товар импорта {n}", True, "900", price=10_000 + n)
        for n in range(3000)
    ]
    price = tmp_path / "price.spr"
    price.write_bytes(write_spr(PriceFile(PriceHeader(replace_catalogue=False, stock_mode=StockMode.KEEP), rows, [], "e2e")))
    screen.login("admin")
    screen.goto("/admin/catalogue")
    screen.page.set_input_files("#import-file", str(price))
    screen.page.click("#import-form button[type=submit]")
    screen.page.wait_for_selector(".import-job .ok-note")
    assert "3001" in screen.page.inner_text(".import-job").replace("\u202f", "") or "3000" in screen.page.inner_text(".import-job")
    assert screen.page.get_attribute(".progress", "aria-valuenow") == "100"
    screen.shot("admin-import")
    bad = tmp_path / "bad.csv"
    bad.write_text("not;a;price;file\n1;2\n", encoding="utf-8")
    screen.page.set_input_files("#import-file", str(bad))
    screen.page.click("#import-form button[type=submit]")
    screen.page.wait_for_selector(".import-job .form-error")


def test_shift_status(screen):
    screen.login("admin")
    screen.goto("/admin/shift")
    assert screen.page.locator("main .report-grid").count() == 1
    screen.shot("admin-shift")


def test_a_seller_cannot_open_admin(screen):
    screen.login("seller")
    screen.goto("/admin/users")
    assert screen.page.url.endswith("/sale")


def test_theme_and_language_per_user(screen, new_user):
    screen.login(new_user("cashier"))
    screen.scan(MILK)
    screen.page.click("[data-pref=theme]")
    screen.page.wait_for_selector("html[data-theme=dark]")
    screen.page.wait_for_selector("#scan:focus")
    assert screen.lines()  # the receipt survives the reload
    screen.shot("sale-dark")
    screen.page.click("[data-pref=language]")
    screen.page.wait_for_selector("html[lang=en]")
    assert "Total" in screen.page.inner_text("#totals")
    screen.shot("sale-dark-en")
    screen.page.click("#logout")
    screen.page.wait_for_url("**/login")
    assert screen.page.get_attribute("html", "lang") == "en"  # the login page remembers the language


@pytest.mark.parametrize("width, height", [(1024, 768), (1920, 1080)])
def test_both_screen_sizes_fit_and_touch_targets_are_large(browser, live, new_user, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="ru-RU")
    screen = Screen(context.new_page(), live.url)
    try:
        screen.login(new_user("cashier"))
        for _ in range(3):
            screen.scan(MILK)
            screen.scan(BREAD)
        fits = screen.page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        assert fits[0] <= width and fits[1] <= height, fits
        small = screen.page.evaluate("""Array.from(document.querySelectorAll('button, a.btn, .nav a, tr.line'))
            .filter(el => el.offsetParent !== null)
            .map(el => [el.textContent.trim().slice(0, 30), el.getBoundingClientRect()])
            .filter(([_, r]) => r.height < 48 || r.width < 48).map(([t, r]) => t + ' ' + r.width + 'x' + r.height)""")
        assert small == [], small
        screen.shot(f"sale-{width}x{height}")
    finally:
        context.close()
    assert not screen.errors, screen.errors


def test_every_page_has_no_console_errors(screen):
    screen.login("admin")
    for path in ("/sale", "/receipts", "/reports", "/admin/users", "/admin/settings", "/admin/catalogue", "/admin/shift"):
        screen.goto(path)
        screen.page.wait_for_load_state("load")
    assert VIEWPORT["width"] == 1024
