"""Login by password and by user card, for each role; what each role sees."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("login, role_ru, pays, admin", [
    ("seller", "Продавец", False, False),
    ("kassir", "Кассир", True, False),
    ("admin", "Администратор", True, True),
])
def test_each_role_logs_in_and_sees_its_buttons(screen, login, role_ru, pays, admin):
    screen.login(login)
    assert role_ru in screen.page.inner_text(".who")
    assert screen.page.locator("[data-action=pay-cash]").count() == (1 if pays else 0)
    assert screen.page.locator("[data-action=return]").count() == (1 if pays else 0)
    assert screen.page.locator(".nav a[href='/admin']").count() == (1 if admin else 0)
    if login == "seller":
        assert "кассир" in screen.page.inner_text(".seller-note")
        screen.scan("4601234567893")
        screen.key("Insert")  # the seller's Insert does not open the payment
        assert not screen.page.is_visible("#dlg-pay")
        assert "кассир" in screen.page.inner_text("#toast")
        screen.shot("sale-seller")


def test_wrong_password_is_refused_in_plain_words(screen):
    screen.goto("/login")
    screen.shot("login")
    screen.page.fill("#login", "kassir")
    screen.page.fill("#password", "wrong")
    screen.page.press("#password", "Enter")
    assert "Неверный логин или пароль" in screen.page.inner_text("#login-error")
    assert screen.page.input_value("#login") == "kassir"


def test_user_card_scanned_into_the_login_field_logs_in(screen):
    screen.goto("/login")
    screen.page.fill("#login", "1110000000024")  # kassir's card
    screen.page.press("#login", "Enter")
    screen.page.wait_for_url("**/sale")
    assert "Кассир Иванова" in screen.page.inner_text(".who")


def test_unknown_card_is_refused(screen):
    screen.goto("/login")
    screen.page.fill("#login", "1119999999999")
    screen.page.press("#login", "Enter")
    assert "Карта пользователя не найдена" in screen.page.inner_text("#login-error")


def test_pages_need_a_login_and_logout_ends_the_session(screen):
    for path in ("/", "/sale", "/reports", "/receipts", "/admin/users"):
        screen.goto(path)
        assert screen.page.url.endswith("/login"), path
    screen.login("kassir")
    screen.page.click("#logout")
    screen.page.wait_for_url("**/login")
    screen.goto("/sale")
    assert screen.page.url.endswith("/login")


def test_english_login_page(screen):
    screen.goto("/login?lang=en")
    assert screen.page.inner_text("button[type=submit]").startswith("Log in")
    assert screen.page.get_attribute("html", "lang") == "en"
