"""The UI's routes without a browser (in-process, fast): sessions, CSRF, roles, once-only actions."""

from __future__ import annotations

import re

from tests.helpers import MILK


def _browser_login(client, login: str) -> str:
    """Log in through the login form as a browser does; returns the page's CSRF token."""
    answer = client.post("/login", data={"login": login, "password": login}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/sale", answer.text
    page = client.get("/sale")
    assert page.status_code == 200
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


def _lines(html: str) -> int:
    return len(re.findall(r'<tr class="line', html))


def test_changes_need_the_sessions_csrf_token(client):
    csrf = _browser_login(client, "kassir")
    refused = client.post("/ui/sale/scan", data={"barcode": MILK})
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "X-CSRF-Token"
    refused = client.post("/ui/sale/scan", data={"barcode": MILK}, headers={"X-CSRF-Token": "forged"})
    assert refused.status_code == 403
    assert _lines(client.get("/ui/sale/state").text) == 0
    ok = client.post("/ui/sale/scan", data={"barcode": MILK}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and _lines(ok.text) == 1


def test_the_same_key_adds_one_line_and_pays_once(client):
    csrf = _browser_login(client, "kassir")
    headers = {"X-CSRF-Token": csrf, "Idempotency-Key": "press-1"}
    for _ in range(3):
        answer = client.post("/ui/sale/scan", data={"barcode": MILK}, headers=headers)
    assert _lines(answer.text) == 1
    pay = {"X-CSRF-Token": csrf, "Idempotency-Key": "pay-1"}
    first = client.post("/ui/sale/pay", data={"cash": "100"}, headers=pay)
    again = client.post("/ui/sale/pay", data={"cash": "100"}, headers=pay)
    assert 'data-paid="1"' in first.text
    assert 'data-error=""' in again.text and _lines(again.text) == 0  # the replay is the first answer, no error
    assert len(client.get("/api/v1/receipts", headers=_bearer(client, "kassir")).json()) == 1


def test_a_seller_cannot_pay_and_is_told_why(client):
    csrf = _browser_login(client, "seller")
    page = client.get("/sale").text
    assert 'data-action="pay-cash"' not in page
    client.post("/ui/sale/scan", data={"barcode": MILK}, headers={"X-CSRF-Token": csrf})
    answer = client.post("/ui/sale/pay", data={"cash": "100"}, headers={"X-CSRF-Token": csrf})
    assert "Недостаточно прав" in answer.text and _lines(answer.text) == 1


def test_pages_redirect_to_login_and_bad_input_is_named(client):
    assert client.get("/sale", follow_redirects=False).headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert client.post("/ui/sale/scan", data={"barcode": MILK}).status_code == 401
    csrf = _browser_login(client, "kassir")
    client.post("/ui/sale/scan", data={"barcode": MILK}, headers={"X-CSRF-Token": csrf})
    answer = client.post("/ui/sale/change", data={"line_no": "1", "what": "quantity", "value": "abc"},
                         headers={"X-CSRF-Token": csrf})
    assert 'data-field="quantity"' in answer.text and "не количество" in answer.text
    answer = client.get("/receipts", params={"date_from": "2026-13-01"})
    assert "ГГГГ-ММ-ДД" in answer.text


def test_english_user_gets_english_pages(client):
    csrf = _browser_login(client, "kassir")
    client.post("/ui/prefs", data={"language": "en", "theme": "dark"}, headers={"X-CSRF-Token": csrf})
    page = client.get("/sale").text
    assert 'lang="en" data-theme="dark"' in page and ">Total<" in page and "Итого" not in page


def _bearer(client, login: str) -> dict[str, str]:
    token = client.post("/api/v1/auth/login", json={"login": login, "password": login}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_the_sale_screen_warns_at_23_hours_and_refuses_at_24(client, till):
    from datetime import timedelta

    csrf = _browser_login(client, "kassir")
    headers = {"X-CSRF-Token": csrf}
    client.post("/ui/sale/scan", data={"barcode": MILK}, headers=headers)
    client.post("/ui/sale/pay", data={"cash": "100"}, headers=headers)  # the first money opens the shift
    start = till.clock()
    till.clock = lambda: start + timedelta(hours=23, minutes=30)
    headers = {"X-CSRF-Token": _browser_login(client, "kassir")}  # a session lasts 12 hours: a new one
    page = client.get("/sale").text
    assert "больше 23 часов" in page and "shift-warn" in page
    till.clock = lambda: start + timedelta(hours=24, minutes=30)
    headers = {"X-CSRF-Token": _browser_login(client, "kassir")}
    page = client.get("/sale").text
    assert "больше 24 часов" in page and "shift-expired" in page
    refused = client.post("/ui/sale/scan", data={"barcode": MILK}, headers=headers)
    assert "24 часов" in refused.text and _lines(refused.text) == 0


def test_cash_in_and_out_from_the_reports_page(client):
    csrf = _browser_login(client, "kassir")
    headers = {"X-CSRF-Token": csrf}
    page = client.get("/reports").text
    idem = re.search(r'id="cash-idem" value="([^"]+)"|name="idem" value="([^"]+)-cash"', page)
    assert idem
    done = client.post("/ui/cash", data={"direction": "in", "amount": "1000", "idem": "c1"}, headers=headers)
    again = client.post("/ui/cash", data={"direction": "in", "amount": "1000", "idem": "c1"}, headers=headers)  # a double click
    assert "в кассе: 1\u202f000,00" in done.text and "в кассе: 1\u202f000,00" in again.text
    out = client.post("/ui/cash", data={"direction": "out", "amount": "5000", "idem": "c2"}, headers=headers)
    assert "В кассе только 1000.00" in out.text
    out = client.post("/ui/cash", data={"direction": "out", "amount": "400", "idem": "c3"}, headers=headers)
    assert "в кассе: 600,00" in out.text
