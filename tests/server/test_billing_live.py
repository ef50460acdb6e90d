"""The accounting and the central server as real processes: a suspended firm's till sells on and
its outbox arrives after the lift; user-close from a daily run's warn.cf escalation suspends the
firm on a live server and a payment with the next daily lifts it; the demo's mail catcher gets the
daily's mail and the operator reads it in the admin."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from icecash.billing.engine import Accounting
from icecash.billing.example import init_home
from icecash.billing.home import Home
from icecash.billing.store import open_engine
from icecash.server.app import database_url, open_server
from icecash.server.billing import set_billing_token
from icecash.store.db import make_engine, sqlite_url
from tests.billing.conftest import FrozenClock, Inbox
from tests.conftest import REPO, free_port

from .conftest import PgSchema, ServerProcess, TillProcess, eventually, prepare_till, server_receipts, till_receipts, \
    two_firms


class BillingServer(ServerProcess):
    """``icecash server`` with its accounting home (and optionally a Maildir to read)."""

    def __init__(self, data: Path, db: str | None, billing_home: Path, maildir: Path | None = None):
        super().__init__(data, db, ["--billing-home", str(billing_home)] + (["--billing-maildir", str(maildir)] if maildir else []))


@pytest.fixture(params=["sqlite", "postgresql"])
def server_db(request) -> Iterator[str | None]:
    """None: the server's SQLite in its data directory; else a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    schema = PgSchema(request.getfixturevalue("pg_base"))
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def exchange_login(url: str, secret: str, regid: str = "alpha") -> httpx.Response:
    return httpx.post(f"{url}/api/v1/exchange/auth", json={"regid": regid, "idplace": 1, "nkassa": 1, "secret": secret},
                      timeout=30)


def test_a_suspended_till_sells_on_and_its_outbox_arrives_after_resume(tmp_path: Path, server_db: str | None):
    data = tmp_path / "server"
    setup = open_server(data, server_db, billing_home=tmp_path / "billing")
    secrets = two_firms(setup)
    token = set_billing_token(setup.engine)
    setup.engine.dispose()
    server = BillingServer(data, server_db, tmp_path / "billing").start()
    till_data = tmp_path / "till"
    prepare_till(till_data, server.url, "alpha", 1, 1, secrets[("alpha", 1, 1)]).engine.dispose()
    till = TillProcess(till_data).start()
    auth = {"Authorization": f"Bearer {token}"}
    try:
        till.sell()
        eventually(lambda: till.status()["backlog"]["receipts"] == 0, message="first receipt sent")
        answer = httpx.post(f"{server.url}/api/v1/billing/firms/alpha/suspend", headers=auth, timeout=30,
                            json={"reason": "Недостаточно средств / insufficient balance", "balance": -500, "count": 11})
        assert answer.status_code == 200
        status = eventually(lambda: (s := till.status())["state"] == "suspended" and s, message="till sees suspension")
        assert "insufficient balance" in status["suspended"]["reason"] and status["suspended"]["since"]
        for _ in range(3):  # the cashier is not stopped
            assert till.sell()["status"] == "paid"
        assert till.status()["backlog"]["receipts"] == 3
        assert len(till_receipts(till_data)) == 4
        assert len(server_receipts(server.url, "alpha-admin", "alpha-pass", "alpha", 1, 1)) == 1
        assert httpx.post(f"{server.url}/api/v1/billing/firms/alpha/resume", headers=auth, timeout=30,
                          json={"reason": "paid", "balance": 100}).status_code == 200
        eventually(lambda: till.status()["backlog"]["receipts"] == 0, timeout=60, message="outbox drained after resume")
        assert till.status()["state"] != "suspended" and till.status()["suspended"] is None
        assert server_receipts(server.url, "alpha-admin", "alpha-pass", "alpha", 1, 1) == till_receipts(till_data)
    finally:
        till.stop()
        server.stop()


def test_user_close_from_a_daily_suspends_on_a_live_server_and_payment_lifts(tmp_path: Path, server_db: str | None,
                                                                               smtp):
    inbox, smtp_port = smtp
    data, home_path = tmp_path / "server", tmp_path / "billing"
    init_home(home_path, None)
    setup = open_server(data, server_db, billing_home=home_path)
    secrets = two_firms(setup)  # the firms' accounts are made by the server
    setup.engine.dispose()
    account = home_path / "accounts" / "alpha"
    assert (account / "user.cf").exists() and (home_path / "accounts" / "beta" / "user.cf").exists()
    (account / "user.cf").write_text("prices standard\nmail buh@alpha.example.ru\n")
    (account / "warn.cf").write_text("criterion total() < 50000\n0 =warn.fm\n1 =warn-close.fm user-close\n")
    (home_path / "accounts" / "beta" / "warn.cf").write_text("criterion 0\n")
    # the token, by the command line, straight into billing.toml
    made = subprocess.run([sys.executable, "-m", "icecash.cli", "server", "--data", str(data),
                           *(["--db", server_db] if server_db else []), "billing-token", "--write-to", str(home_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert made.returncode == 0, made.stderr
    server = BillingServer(data, server_db, home_path)
    config = (home_path / "billing.toml").read_text()
    config = config.replace('url = "http://127.0.0.1:10100"', f'url = "{server.url}"').replace("port = 25", f"port = {smtp_port}")
    (home_path / "billing.toml").write_text(config.replace('user = "icecash"', 'user = "nobody"'))
    server.start()
    clock = FrozenClock(datetime(2026, 11, 20, 1, 30))
    engine = open_engine(sqlite_url(home_path / "billing.sqlite3"))
    server_engine = make_engine(server_db or database_url(data))
    acc = Accounting(Home(home_path), engine, clock=clock, server_engine=server_engine)
    secret = secrets[("alpha", 1, 1)]
    try:
        acc.daily()  # count 0: a warning only
        assert [str(m["Subject"]) for m in inbox.to("buh@alpha.example.ru")][0].startswith("Остаток")
        assert exchange_login(server.url, secret).status_code == 200
        clock.advance()
        acc.daily()  # count 1: warn-close.fm and user-close
        assert len(inbox.to("buh@alpha.example.ru")) == 2 and (account / ".closed").exists()
        refused = exchange_login(server.url, secret)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "firm_suspended"
        assert "insufficient balance" in refused.json()["error"]["message_en"]
        assert exchange_login(server.url, secrets[("beta", 1, 1)], "beta").status_code == 200
        # the payment arrives while the server is down: recorded, but the lift must wait for the next daily
        server.stop()
        acc.pay("alpha", 100000, "п/п 42")
        assert (account / ".closed").exists()
        assert "reopening failed" in (home_path / "failures.log").read_text()
        server.start()
        assert exchange_login(server.url, secret).status_code == 403
        clock.advance()
        acc.daily()
        assert not (account / ".closed").exists()
        assert exchange_login(server.url, secret).status_code == 200
        assert (account / ".count").read_text() == "0\n"
    finally:
        server.stop()
        engine.dispose()
        server_engine.dispose()


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def test_demo_runs_daily_from_the_admin_and_its_mail_is_readable(tmp_path: Path):
    from icecash.demo_suite import DemoSuite
    from icecash.till.app import open_till

    data = tmp_path / "demo"
    mail_port = free_port()
    suite = DemoSuite(data, host="127.0.0.1", till_port=free_port(), server_port=free_port(), printd_port=0,
                      mail_port=mail_port)
    try:
        till = suite.start(lambda: open_till(data / "till"), 200)
        till.engine.dispose()
        url = f"http://127.0.0.1:{suite.server_port}"
        assert sorted(p.name for p in (data / "billing" / "accounts").iterdir()) == ["romashka", "vasilkov"]
        assert 'token = ""' not in (data / "billing" / "billing.toml").read_text()
        with httpx.Client(base_url=url, timeout=60) as web:
            assert web.post("/login", data={"login": "operator", "password": "operator"}).status_code in (200, 303)
            csrf = _csrf(web.get("/billing").text)
            assert web.post("/billing/daily", data={"csrf_token": csrf}).status_code in (200, 303)
            eventually(lambda: "Закончен" in web.get("/billing").text, timeout=120, message="daily finished")
            page = web.get("/billing").text
            assert "Ошибка / error" not in page
            listing = eventually(lambda: (t := web.get("/billing/mail").text).count("romashka@demo.icecash.local") and t,
                                 message="warning mail caught")
            assert "vasilkov@demo.icecash.local" in listing
            key = re.search(r'href="/billing/mail/([^"]+)"', listing).group(1)
            shown = web.get(f"/billing/mail/{key}")
            assert shown.status_code == 200 and "X-Envelope-To" in shown.text
            firm = web.get("/firms/romashka/billing").text
            assert "Предупреждения" in firm and "warn.fm" in firm
        assert len(list((data / "mail" / "new").iterdir())) >= 2
        # the same home from the command line: the statement shows the day's charges
        statement = subprocess.run([sys.executable, "-m", "icecash.cli", "billing", "--home", str(data / "billing"),
                                    "statement", "romashka"], capture_output=True, text=True, cwd=REPO, timeout=120)
        assert statement.returncode == 0 and "receipts" in statement.stdout, statement.stdout + statement.stderr
    finally:
        suite.stop()
