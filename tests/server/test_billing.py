"""The accounting inside the central server: suspend/resume for user-close/user-open, the exchange's
"suspended" answer, accounts made per firm, and the admin pages with their role checks.

In-process (TestClient) over SQLite and PostgreSQL; the real processes are in test_billing_live.py.
"""

from __future__ import annotations

import mailbox
import re
from datetime import datetime, time
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from icecash.billing.example import init_home
from icecash.billing.home import Settings
from icecash.core.errors import InvalidInput
from icecash.server.app import create_app
from icecash.server.billing import (
    attach_billing,
    parse_daily_at,
    set_billing_token,
    suspension,
    write_central_token,
)
from icecash.server.service import FirmSuspended

from .conftest import eventually, make_receipt, parsed, two_firms

SUSPEND = "/api/v1/billing/firms/{}/suspend"
RESUME = "/api/v1/billing/firms/{}/resume"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "billing"
    init_home(path, None)
    return path


@pytest.fixture
def setup(server, home: Path, tmp_path: Path):
    """The two firms, their accounts, the accounting token and a mail box: (server, secrets, token, client)."""
    billing = attach_billing(server, home, tmp_path / "mail")
    secrets = two_firms(server)
    token = set_billing_token(server.engine)
    with TestClient(create_app(server), raise_server_exceptions=False) as client:
        yield server, secrets, token, client
    billing.stop_schedule()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_new_firm_gets_an_account(server, home: Path, tmp_path: Path):
    attach_billing(server, home)
    server.create_firm(None, "gamma", "Гамма")
    user_cf = home / "accounts" / "gamma" / "user.cf"
    assert "prices standard" in user_cf.read_text()
    user_cf.write_text("prices standard\nmail boss@gamma.ru\n")  # the operator's edit survives
    attach_billing(server, home).ensure_accounts()
    assert "boss@gamma.ru" in user_cf.read_text()
    # a home nobody initialised is left alone (no accounting on this server)
    bare = tmp_path / "not-a-home"
    attach_billing(server, bare)
    server.create_firm(None, "delta", "Дельта")
    assert not bare.exists()


def test_suspend_and_resume_need_the_token_and_are_idempotent(setup):
    server, _secrets, token, client = setup
    body = {"reason": "insufficient balance", "balance": -12345, "count": 11}
    assert client.post(SUSPEND.format("alpha"), json=body).status_code == 401
    wrong = client.post(SUSPEND.format("alpha"), json=body, headers=bearer("not-the-token"))
    assert wrong.status_code == 401 and wrong.json()["error"]["field"] == "authorization"
    assert suspension(server, "alpha")["suspended"] is False
    first = client.post(SUSPEND.format("alpha"), json=body, headers=bearer(token))
    again = client.post(SUSPEND.format("alpha"), json={**body, "count": 12}, headers=bearer(token))
    assert first.status_code == again.status_code == 200
    assert first.json()["suspended"] is True and first.json()["since"] == again.json()["since"]
    assert first.json()["reason"] == "insufficient balance"
    assert suspension(server, "beta")["suspended"] is False  # only the named firm
    unknown = client.post(SUSPEND.format("nobody"), json=body, headers=bearer(token))
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "regid"
    extra = client.post(SUSPEND.format("alpha"), json={**body, "evil": 1}, headers=bearer(token))
    assert extra.status_code == 422 and "evil" in extra.json()["error"]["field"]
    for _ in range(2):
        lifted = client.post(RESUME.format("alpha"), json={"reason": "paid", "balance": 100}, headers=bearer(token))
        assert lifted.status_code == 200 and lifted.json() == {"regid": "alpha", "suspended": False, "since": None,
                                                               "reason": ""}
    # a new token replaces the old one
    newer = set_billing_token(server.engine)
    assert client.post(RESUME.format("alpha"), json={}, headers=bearer(token)).status_code == 401
    assert client.post(RESUME.format("alpha"), json={}, headers=bearer(newer)).status_code == 200


def test_a_suspended_firms_tills_get_a_clear_answer(setup):
    server, secrets, token, client = setup
    login = {"regid": "alpha", "idplace": 1, "nkassa": 1, "secret": secrets[("alpha", 1, 1)]}
    till_token = client.post("/api/v1/exchange/auth", json=login).json()["token"]
    client.post(SUSPEND.format("alpha"), json={"reason": "не оплачено", "balance": -1, "count": 11}, headers=bearer(token))
    for answer in (client.post("/api/v1/exchange/auth", json=login),
                   client.post("/api/v1/exchange/heartbeat", json={}, headers=bearer(till_token)),
                   client.post("/api/v1/exchange/receipts", json={"receipts": [make_receipt()]}, headers=bearer(till_token))):
        assert answer.status_code == 403, answer.text
        error = answer.json()["error"]
        assert error["code"] == "firm_suspended" and "не оплачено" in error["message"]
        assert "suspended" in error["message_en"] and error["details"]["reason"] == "не оплачено"
    with pytest.raises(FirmSuspended):  # the service refuses too, not only the web layer
        server.till_login("alpha", 1, 2, secrets[("alpha", 1, 2)])
    # another firm is not touched
    beta = {"regid": "beta", "idplace": 1, "nkassa": 1, "secret": secrets[("beta", 1, 1)]}
    assert client.post("/api/v1/exchange/auth", json=beta).status_code == 200
    # a wrong secret still says "wrong secret", not "suspended" (no probing of firms)
    assert client.post("/api/v1/exchange/auth", json={**login, "secret": "wrong"}).status_code == 401
    client.post(RESUME.format("alpha"), json={}, headers=bearer(token))
    stored = client.post("/api/v1/exchange/receipts", json={"receipts": [make_receipt()]}, headers=bearer(till_token))
    assert stored.status_code == 200 and stored.json()["stored"] == 1  # the same token works again


def _login(client: TestClient, login: str, password: str) -> str:
    client.cookies.clear()
    assert client.post("/login", data={"login": login, "password": password}, follow_redirects=False).status_code == 303
    return _csrf(client.get("/billing/mail" if login == "operator" else "/").text)


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    return match.group(1) if match else ""


def test_admin_pages_and_roles(setup, home: Path):
    server, secrets, token, client = setup
    _token, till, _ = server.till_login("alpha", 1, 1, secrets[("alpha", 1, 1)])
    server.ingest_receipts(till, [parsed(make_receipt())])

    csrf = _login(client, "operator", "operator-pass")
    overview = client.get("/billing")
    assert overview.status_code == 200 and "/firms/alpha/billing" in overview.text and "/firms/beta/billing" in overview.text
    paid = client.post("/firms/alpha/billing/pay", data={"amount": "1 234,50", "comment": "п/п 17", "csrf_token": csrf})
    assert paid.status_code == 200 and "1234.50" in paid.text and "п/п 17" in paid.text
    refund = client.post("/firms/alpha/billing/pay", data={"amount": "-34.50", "csrf_token": csrf})
    assert refund.status_code == 200 and "1200.00" in refund.text
    bad = client.post("/firms/alpha/billing/pay", data={"amount": "12.345", "csrf_token": csrf})
    assert bad.status_code == 400 and "amount" in bad.text and "12.345" in bad.text
    stale = client.post("/firms/alpha/billing/pay", data={"amount": "10", "csrf_token": "forged"})
    assert stale.status_code == 400 and "csrf_token" in stale.text
    month = client.get("/firms/alpha/billing", params={"month": "2026-13"})
    assert month.status_code == 400 and "month" in month.text
    assert "1200.00" in client.get("/firms/alpha/billing").text
    saved = client.post("/firms/alpha/billing/mail", data={"addresses": "buh@alpha.ru, boss@alpha.ru", "csrf_token": csrf})
    assert saved.status_code == 200
    assert (home / "accounts/alpha/user.cf").read_text().splitlines()[-2:] == ["mail buh@alpha.ru", "mail boss@alpha.ru"]
    assert client.post("/firms/alpha/billing/mail", data={"addresses": "not-an-address",
                                                          "csrf_token": csrf}).status_code == 400

    # the firm's viewer sees the balance and statement, cannot pay, cannot see the operator's pages
    csrf = _login(client, "alpha-viewer", "alpha-view")
    own = client.get("/firms/alpha/billing")
    assert own.status_code == 200 and "1200.00" in own.text and "Входящий остаток" in own.text
    assert 'action="/firms/alpha/billing/pay"' not in own.text
    assert client.post("/firms/alpha/billing/pay", data={"amount": "999", "csrf_token": csrf}).status_code == 403
    assert client.get("/billing").status_code == 403
    assert client.get("/billing/mail").status_code == 403
    assert client.post("/billing/daily", data={"csrf_token": csrf}).status_code == 403
    assert client.get("/firms/beta/billing").status_code == 404  # another firm does not exist for them
    # the firm's admin cannot record payments either: they are the operator's books
    csrf = _login(client, "alpha-admin", "alpha-pass")
    assert client.post("/firms/alpha/billing/pay", data={"amount": "999", "csrf_token": csrf}).status_code == 403
    assert client.post("/firms/alpha/billing/mail", data={"addresses": "x@y.ru", "csrf_token": csrf}).status_code == 403
    csrf = _login(client, "beta-admin", "beta-pass1")
    assert client.get("/firms/alpha/billing").status_code == 404
    assert client.post("/firms/alpha/billing/pay", data={"amount": "999", "csrf_token": csrf}).status_code == 404
    theirs = client.get("/firms/beta/billing").text
    assert "0.00 ₽" in theirs and "1200.00" not in theirs and "п/п 17" not in theirs
    acc = server.billing.accounting()
    assert [p["amount"] for p in acc.book.payment_rows("alpha")] == [123450, -3450]
    assert acc.book.payment_rows("beta") == []


def test_suspension_is_shown_to_the_firm_and_the_operator(setup):
    server, _secrets, token, client = setup
    client.post(SUSPEND.format("alpha"), json={"reason": "долг 120 ₽", "balance": -12000, "count": 11},
                headers=bearer(token))
    _login(client, "alpha-viewer", "alpha-view")
    page = client.get("/firms/alpha").text
    assert "приостановлено" in page and "долг 120 ₽" in page
    _login(client, "operator", "operator-pass")
    overview = client.get("/billing").text
    assert "suspended" in overview and "долг 120 ₽" in overview
    assert "приостановлено" not in client.get("/firms/beta").text


def test_run_daily_from_the_admin_and_read_the_mail(setup, tmp_path: Path):
    server, _secrets, _token, client = setup
    csrf = _login(client, "operator", "operator-pass")
    started = client.post("/billing/daily", data={"csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == "/billing?started=1"
    server.billing.wait(60)
    last = server.billing.last
    assert last.finished and last.by == "operator" and last.steps[0] == "personal" and last.steps[-1] == "backup"
    page = client.get("/billing").text
    assert "backup" in page and "operator" in page
    assert list((tmp_path / "billing" / "backup").glob("home-*.tar.gz"))
    # the operator reads a caught mail
    box = mailbox.Maildir(tmp_path / "mail", create=True)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "billing@example.ru", "a@alpha.ru", "Остаток на счёте alpha"
    message["Date"] = "Sat, 21 Nov 2026 10:00:00 +0000"
    message.set_content("Остаток: -100.00 руб.\n<script>alert(1)</script>")
    key = box.add(message)
    listing = client.get("/billing/mail")
    assert listing.status_code == 200 and "Остаток на счёте alpha" in listing.text and key in listing.text
    shown = client.get(f"/billing/mail/{key}")
    assert shown.status_code == 200 and "Остаток: -100.00 руб." in shown.text
    assert "<script>alert" not in shown.text  # escaped
    assert client.get("/billing/mail/no-such-key").status_code == 404
    assert client.get("/billing/mail/..%2F..%2Fetc").status_code == 404


def test_pages_say_when_the_accounting_is_not_set_up(server, tmp_path: Path):
    attach_billing(server, tmp_path / "nothing-here")
    two_firms(server)
    with TestClient(create_app(server), raise_server_exceptions=False) as client:
        _login(client, "operator", "operator-pass")
        page = client.get("/billing")
        assert page.status_code == 200 and "icecash billing init --home" in page.text
        firm = client.get("/firms/alpha/billing")
        assert firm.status_code == 404 and "icecash billing init" in firm.text
        csrf = _csrf(page.text)
        assert client.post("/billing/daily", data={"csrf_token": csrf}).status_code == 404


def test_central_token_written_into_billing_toml(home: Path, tmp_path: Path):
    write_central_token(home, "tok-1")
    assert Settings.load(home / "billing.toml", {}).central_token == "tok-1"
    write_central_token(home, "tok-2")
    settings = Settings.load(home / "billing.toml", {})
    assert settings.central_token == "tok-2" and settings.mail.port == 25  # the rest kept
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "billing.toml").write_text('[mail]\nport = 2525\n')
    write_central_token(bare, "tok-3")
    settings = Settings.load(bare / "billing.toml", {})
    assert (settings.central_token, settings.mail.port) == ("tok-3", 2525)


def test_daily_schedule_time(tmp_path: Path):
    assert parse_daily_at("") is None and parse_daily_at("off") is None
    assert parse_daily_at("0:30") == time(0, 30) and parse_daily_at("23:59") == time(23, 59)
    for bad in ("24:00", "12:60", "noon", "1230"):
        with pytest.raises(InvalidInput) as caught:
            parse_daily_at(bad)
        assert caught.value.field == "billing_daily"
    from icecash.server.billing import Billing

    billing = Billing(None, tmp_path, daily_at=time(0, 30))  # type: ignore[arg-type]
    assert billing.next_run(datetime(2026, 11, 21, 0, 10)) == datetime(2026, 11, 21, 0, 30)
    assert billing.next_run(datetime(2026, 11, 21, 0, 30)) == datetime(2026, 11, 22, 0, 30)
    assert Billing(None, tmp_path).next_run() is None  # type: ignore[arg-type]


def test_the_schedule_runs_the_daily_at_its_time(setup, home: Path):
    server, _secrets, _token, _client = setup
    billing = server.billing
    billing.daily_at = time(0, 30)
    ticks = iter([datetime(2026, 11, 21, 0, 29, 59, 800000)])
    billing.now = lambda: next(ticks, datetime(2026, 11, 21, 0, 30, 0))  # 0.2 s before, then due
    billing.start_schedule()
    try:
        eventually(lambda: billing.last.by == "schedule", timeout=30, message="scheduled run started")
        billing.wait(60)
        assert billing.last.by == "schedule" and billing.last.finished and not billing.last.error
        assert billing.last.steps[-1] == "backup"
    finally:
        billing.stop_schedule()
    assert billing._scheduler is None
