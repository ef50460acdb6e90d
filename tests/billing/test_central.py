"""user-close / user-open against the suspend/resume contract, and the built-in collectors against
the central server's tables."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime

import pytest
from sqlalchemy import insert

from icecash.billing.central import main as central_main
from icecash.billing.collectors import BUILTIN, CollectorUnavailable
from icecash.billing.files import parse_st
from icecash.core.formula import Month
from icecash.store.db import make_engine, sqlite_url

from .conftest import add_account, give_to_service_user

NOV = Month(2026, 11)


def point_at(acc, url: str, token: str) -> None:
    acc.settings.central_url = url
    acc.settings.central_token = token
    config = (acc.home.path / "billing.toml").read_text()
    config = config.replace('url = "http://127.0.0.1:10100"', f'url = "{url}"').replace('token = ""', f'token = "{token}"')
    (acc.home.path / "billing.toml").write_text(config)


def test_close_and_payment_lifts(acc, central, smtp):
    server, url = central
    point_at(acc, url, server.token)
    directory = add_account(acc.home, "firm1", files={
        "warn.cf": "criterion total() < 50000\n0 =warn-close.fm user-close\n", "misc.st": "misc.x 100\n"})
    acc.daily()
    assert server.suspended == {"firm1"} and (directory / ".closed").exists()
    action, firm, body = server.calls[0]
    assert (action, firm, body["balance"], body["count"]) == ("suspend", "firm1", -10000, 0)
    assert "insufficient balance" in body["reason"]
    acc.pay("firm1", 20000, "not enough")  # -100 + 200 = 100.00 ₽: still below 500.00
    assert server.suspended == {"firm1"}
    acc.pay("firm1", 50000, "now enough")
    assert server.suspended == set() and not (directory / ".closed").exists()
    assert [c[0] for c in server.calls] == ["suspend", "resume"]
    assert (directory / ".count").read_text() == "0\n"


def test_close_failure_is_logged_and_leaves_no_marker(acc, central, smtp):
    server, url = central
    point_at(acc, url, "wrong-token")
    directory = add_account(acc.home, "firm1", files={"warn.cf": "criterion 1\n0 =warn.fm user-close\n"})
    acc.daily()
    log = next(acc.home.backup_dir.glob("failures-*.log")).read_text()
    assert "check firm1: user-close: central server answered 401" in log
    assert not (directory / ".closed").exists() and server.suspended == set()
    assert (directory / ".count").read_text() == "0\n"  # not done: tried again tomorrow


def test_an_executable_in_bin_replaces_the_builtin(acc, central, smtp):
    server, url = central
    point_at(acc, url, server.token)
    script = acc.home.bin_dir / "user-close"
    script.write_text('#!/bin/sh\necho "$1 $COUNT $TOTAL" > "$HOME/closed-by-script"\n')
    script.chmod(0o755)
    directory = add_account(acc.home, "firm1", files={"warn.cf": "criterion 1\n0 =warn.fm user-close\n"})
    give_to_service_user(acc.home.path)
    acc.daily()
    assert (directory / "closed-by-script").read_text() == "firm1 0 0\n" and server.calls == []


def test_the_program_by_hand(acc, central, monkeypatch):
    server, url = central
    point_at(acc, url, server.token)
    directory = add_account(acc.home, "firm2")
    env = {**os.environ, "ICECASH_BILLING_HOME": str(acc.home.path), "HOME": str(directory), "TOTAL": "-5", "COUNT": "11"}
    result = subprocess.run([sys.executable, "-m", "icecash.billing.central", "close", "firm2"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert server.suspended == {"firm2"} and (directory / ".closed").exists()
    assert server.calls[0][2]["balance"] == -5
    server.known = {"firm1"}
    for key in ("ICECASH_BILLING_HOME", "HOME", "TOTAL", "COUNT"):
        monkeypatch.setenv(key, env[key])
    assert central_main(["open", "firm2"]) == 1  # unknown firm: 404, the marker stays
    assert (directory / ".closed").exists() and len(server.calls) == 1
    server.known = None
    assert central_main(["open", "firm2"]) == 0
    assert not (directory / ".closed").exists() and server.suspended == set()
    assert central_main(["bogus"]) == 2


# --- collectors on the central server's tables ----------------------------------------------------


@pytest.fixture
def server_db(home_dir):
    tables = pytest.importorskip("icecash.server.tables")
    home_dir.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(sqlite_url(home_dir.parent / "server.sqlite3"))
    tables.metadata.create_all(engine)
    now = datetime(2026, 11, 1, 9, 0)
    with engine.begin() as conn:
        conn.execute(insert(tables.firms), [
            {"id": 1, "regid": "firm1", "name": "Ромашка", "active": True, "created_at": now},
            {"id": 2, "regid": "firm2", "name": "Лютик", "active": True, "created_at": now},
            {"id": 3, "regid": "ghost", "name": "no account", "active": True, "created_at": now}])
        conn.execute(insert(tables.shops), [{"id": 1, "firm_id": 1, "idplace": 1, "name": ""},
                                            {"id": 2, "firm_id": 2, "idplace": 1, "name": ""},
                                            {"id": 3, "firm_id": 3, "idplace": 1, "name": ""}])
        conn.execute(insert(tables.tills), [
            {"id": t, "firm_id": f, "shop_id": f, "nkassa": t, "name": "", "secret_hash": "x", "active": True,
             "created_at": now} for t, f in ((1, 1), (2, 1), (3, 2), (4, 3))])
        receipts = []
        number = 0
        for till, firm, day, count in ((1, 1, 19, 5), (2, 1, 19, 3), (1, 1, 18, 7), (3, 2, 19, 2), (4, 3, 19, 1)):
            for _ in range(count):
                number += 1
                stamp = datetime(2026, 11, day, 12, 0)
                receipts.append({
                    "id": number, "uuid": f"00000000-0000-0000-0000-{number:012d}", "firm_id": firm, "shop_id": firm,
                    "till_id": till, "kind": "sale", "status": "paid", "number": number, "created_at": stamp,
                    "closed_at": stamp, "business_date": date(2026, 11, day), "received_at": stamp, "amount": 100,
                    "discount": 0, "total": 100, "cash": 100, "card": 0})
        conn.execute(insert(tables.receipts), receipts)
        conn.execute(insert(tables.files), [
            {"firm_id": 1, "name": "logo.png", "size": 3 * 1024 * 1024, "sha256": "0" * 64, "content": b"x",
             "uploaded_at": datetime(2026, 11, 2)},
            {"firm_id": 1, "name": "later.bin", "size": 1024 * 1024, "sha256": "1" * 64, "content": b"x",
             "uploaded_at": datetime(2026, 11, 25)}])
        conn.execute(insert(tables.price_lists), [
            {"firm_id": 2, "name": "main", "version": 3, "updated_at": datetime(2026, 11, 19, 15, 0)},
            {"firm_id": 1, "name": "main", "version": 1, "updated_at": datetime(2026, 11, 10, 15, 0)}])
    yield engine
    engine.dispose()


def test_builtin_collectors_read_the_central_servers_tables(server_db):
    day = date(2026, 11, 19)
    with server_db.connect() as conn:
        def got(name):
            return sorted((u.account, u.item, u.quantity) for u in BUILTIN[name](day, conn))

        assert got("receipts") == [("firm1", "receipts", 8000), ("firm2", "receipts", 2000), ("ghost", "receipts", 1000)]
        assert got("tills") == [("firm1", "tills", 2000), ("firm2", "tills", 1000), ("ghost", "tills", 1000)]
        assert got("storage") == [("firm1", "storage.mb", 3000)]
        assert got("pricelists") == [("firm2", "pricelists", 1000)]


def test_collectors_in_the_daily_run(acc, server_db):
    from icecash.billing.engine import Accounting

    acc = Accounting(acc.home, acc.engine, acc.settings, clock=acc.clock, server_engine=server_db)
    add_account(acc.home, "firm1")
    add_account(acc.home, "firm2")
    acc.daily(nocheck=True)  # Nov 20: measures Nov 19
    acc.daily(nocheck=True)  # again: the day's block is replaced, not added
    firm1 = acc.home.accounts_dir / "firm1"
    assert parse_st((firm1 / "receipts.st").read_text(), "x") == {"receipts": 8000}
    assert parse_st((firm1 / "tills.st").read_text(), "x") == {"tills": 2000}
    rows = {r["item"]: r["cost"] for r in acc.book.month_rows("firm1", NOV)}
    assert rows == {"receipts": 40, "tills": 2000, "storage.mb": 30}
    assert {r["item"]: r["cost"] for r in acc.book.month_rows("firm2", NOV)} == {
        "receipts": 10, "tills": 1000, "pricelists": 100}
    log = next(acc.home.backup_dir.glob("failures-*.log")).read_text()
    assert "usage for 'ghost', which has no account directory" in log


def test_collectors_say_which_tables_are_missing(acc):
    engine = make_engine(sqlite_url(acc.home.path / "empty.sqlite3"))
    with engine.connect() as conn, pytest.raises(CollectorUnavailable, match="firms, receipts"):
        BUILTIN["receipts"](date(2026, 11, 1), conn)
    engine.dispose()
