"""Real processes over HTTP on localhost: one ``icecash server``, tills of two firms, their sync agents.

Sales, uploads, Z, a price change, variables and promotions reach the right tills; then the
faults: the server down for a while, killed in the middle of a batch, a till killed in the middle
of an upload, deliveries duplicated, a till whose clock is hours off. After each, every receipt
is on the server exactly once and the totals are equal.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from icecash.core.pricefile import parse_price_file
from icecash.server.app import open_server
from icecash.till.sync import SyncAgent
from tests.server.conftest import (
    ServerProcess,
    TillProcess,
    clone_receipts,
    eventually,
    prepare_till,
    server_receipts,
    till_receipts,
    two_firms,
)

pytestmark = pytest.mark.slow

MILK = "4601234567893"
LOGINS = {"alpha": ("alpha-admin", "alpha-pass"), "beta": ("beta-admin", "beta-pass1")}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A server with firms alpha and beta; tills alpha 1/1, alpha 2/1 and beta 1/1 as real processes."""
    with pytest.MonkeyPatch.context() as patch:
        import icecash.security as security
        from tests.helpers import FAST_HASHER

        patch.setattr(security, "_hasher", FAST_HASHER)
        root = tmp_path_factory.mktemp("e2e")
        server = open_server(root / "server")
        secrets = two_firms(server)
        process = ServerProcess(root / "server").start()
        tills = {}
        for key in (("alpha", 1, 1), ("alpha", 2, 1), ("beta", 1, 1)):
            data = root / f"till-{'-'.join(map(str, key))}"
            prepare_till(data, process.url, *key, secrets[key])
            tills[key] = TillProcess(data).start()
    try:
        yield {"server": server, "process": process, "tills": tills, "secrets": secrets, "root": root}
    finally:
        for till in tills.values():
            till.stop()
        process.stop()


def same_on_both_sides(world, key) -> bool:
    till = world["tills"][key]
    mine = till_receipts(till.data)
    theirs = server_receipts(world["process"].url, *LOGINS[key[0]], *key)
    return mine == theirs and bool(mine)


def assert_exactly_once(world, key, timeout: float = 60) -> None:
    eventually(lambda: same_on_both_sides(world, key), timeout, 0.5, f"receipts of {key} equal on the server")


def test_sales_z_and_downloads_reach_the_right_places(world):
    tills, server = world["tills"], world["server"]
    for key, till in tills.items():
        for _ in range(3):
            till.sell()
        cancelled = till.client()
        cancelled.post("/receipt/scan", json={"barcode": MILK})
        assert cancelled.post("/receipt/cancel").status_code == 200
    for key in tills:
        assert_exactly_once(world, key)
    # a Z report goes up too, and its revenue is the receipts'
    z = tills[("alpha", 1, 1)].client().post("/reports/z")
    assert z.status_code == 200, z.text
    with httpx.Client(base_url=world["process"].url + "/api/v1") as client:
        token = client.post("/auth/login", json={"login": "alpha-admin", "password": "alpha-pass"}).json()["token"]
        heads = {"Authorization": f"Bearer {token}"}
        zs = eventually(lambda: client.get("/firms/alpha/z", headers=heads).json(), 30, 0.5, "the Z on the server")
        assert zs[0]["uuid"] == z.json()["uuid"] and zs[0]["revenue"] == 3 * 8990
        assert client.get("/firms/beta/z", headers=heads).status_code == 404
    # the price list of alpha changes: both alpha tills sell at the new price, beta's does not change
    csv = "code;barcode;name;price\n1001;4601234567893;Молоко 3,2% 1 л;99.90\n9100;;Новинка;12.50\n".encode()
    server.push_price_list(None, "alpha", "main", parse_price_file(csv, "p.csv"))
    for key in (("alpha", 1, 1), ("alpha", 2, 1)):
        item = eventually(lambda k=key: _item(tills[k], "9100"), 30, 0.5, f"the new item on {key}")
        assert item["price"] == "12.50"
        assert tills[key].sell(MILK)["total"] == "99.90"
    assert _item(tills[("beta", 1, 1)], "9100") is None
    # variables and promotions of alpha reach alpha's tills only
    server.set_variable(None, "alpha", "temperature", "-17")
    server.save_promotion(None, "alpha", {"name": "Мороз", "places": "2", "if_text": "IF_HEAD_PROPERTY (summa?>=?1000)",
                                          "then_text": "DO_SET_HEAD_DISCOUNT (DCF,sets.temperature)"})
    eventually(lambda: _table(tills[("alpha", 2, 1)].data, "SELECT name FROM server_promotions") == [("Мороз",)],
               30, 0.5, "the promotion on alpha 2/1")
    eventually(lambda: _table(tills[("alpha", 1, 1)].data, "SELECT value FROM server_variables") == [("-17",)],
               30, 0.5, "the variable on alpha 1/1")
    assert _table(tills[("alpha", 1, 1)].data, "SELECT name FROM server_promotions") == []  # targeted at shop 2
    assert _table(tills[("beta", 1, 1)].data, "SELECT * FROM server_variables") == []
    status = tills[("alpha", 1, 1)].status()
    assert status["state"] in ("ok", "syncing") and status["price_list"] == "main" and status["last_contact"]
    # the admin pages see the tills online
    admin = world["server"].authenticate(world["server"].login("alpha-admin", "alpha-pass")[0])
    online = {(t["idplace"], t["nkassa"]): t["online"] for t in world["server"].tills_of(admin, "alpha")}
    assert online == {(1, 1): True, (1, 2): False, (2, 1): True}
    for key in tills:
        assert_exactly_once(world, key)


def test_server_down_for_a_while_then_killed_mid_batch(world):
    key = ("alpha", 2, 1)
    till, process = world["tills"][key], world["process"]
    process.stop()
    for _ in range(5):
        till.sell()  # the till sells while the server is down
    status = eventually(lambda: (s := till.status())["jobs"]["receipts"]["failures"] and s, 30, 0.3, "a failed upload")
    assert status["backlog"]["receipts"] >= 5 and "unreachable" in status["jobs"]["receipts"]["last_error"]
    # a backlog built while the till is off, sent when both are up; the server dies in the middle
    till.stop()
    _backlog(world, key, 1500)
    process.start()
    till.start()
    eventually(lambda: 0 < len(server_receipts(process.url, *LOGINS["alpha"], *key)) < len(till_receipts(till.data)),
               60, 0.05, "the drain under way")
    process.kill()
    time.sleep(1)
    process.start()
    till.admin().post("/sync/now")
    assert_exactly_once(world, key, 120)
    assert till.status()["backlog"]["receipts"] == 0


def test_till_killed_mid_upload_and_deliveries_duplicated(world):
    key = ("beta", 1, 1)
    till = world["tills"][key]
    till.stop()
    _backlog(world, key, 3000)  # six batches: a window of several round trips to kill it in
    till.start()
    _wait_for_drain_under_way(till.data, 60)
    till.kill()
    till.start()
    assert_exactly_once(world, key, 120)
    # every acknowledgement "lost": the till sends it all again; the server keeps one of each
    till.stop()
    with sqlite3.connect(till.data / "till.sqlite3") as conn:
        conn.execute("UPDATE receipts SET upload_state = 'pending' WHERE upload_state = 'sent'")
    till.start()
    eventually(lambda: till.status()["backlog"]["receipts"] == 0, 120, 0.5, "the resend acknowledged")
    assert_exactly_once(world, key, 10)


def test_a_till_with_its_clock_hours_off(world):
    """A till whose clock is 7 hours ahead: its receipts carry its time, once each; the skew is shown."""
    server, process = world["server"], world["process"]
    secret = server.create_till(None, "alpha", 2, 7, "Касса с неверными часами", "main")
    ahead = lambda: datetime.now().replace(microsecond=0) + timedelta(hours=7)  # noqa: E731
    till = prepare_till(world["root"] / "till-clock", process.url, "alpha", 2, 7, secret, clock=ahead)
    user = till.login("kassir", "kassir")[1]
    for _ in range(4):
        till.scan(user, MILK)
        till.pay(user, cash=100000)
    agent = SyncAgent(till)
    assert agent.sync_all()["receipts"] and agent.sync_all()["receipts"]  # twice: nothing doubles
    theirs = server_receipts(process.url, *LOGINS["alpha"], "alpha", 2, 7)
    assert theirs == till_receipts(world["root"] / "till-clock")
    admin = server.authenticate(server.login("alpha-admin", "alpha-pass")[0])
    row = server.receipts_page(admin, "alpha", idplace=2, nkassa=7)["receipts"][0]
    assert abs(datetime.fromisoformat(row["closed_at"]) - ahead()) < timedelta(minutes=5)


def _wait_for_drain_under_way(data: Path, timeout: float) -> None:
    """Until some receipts are acknowledged (sent) and some still wait (pending), read from the till's
    own database: a cheap poll, so the window between two batches is not missed."""
    deadline = time.monotonic() + timeout
    states: dict[str, int] = {}
    while time.monotonic() < deadline:
        conn = sqlite3.connect(f"file:{data / 'till.sqlite3'}?mode=ro", uri=True)
        try:
            states = dict(conn.execute("SELECT upload_state, COUNT(*) FROM receipts "
                                       "WHERE status IN ('paid', 'cancelled') GROUP BY upload_state").fetchall())
        finally:
            conn.close()
        if states.get("sent") and states.get("pending"):
            return
        time.sleep(0.01)
    raise AssertionError(f"no drain under way within {timeout} s: receipts by upload state {states}")


def _backlog(world, key, n: int) -> None:
    """``n`` more paid receipts in the (stopped) till's database: a backlog of several batches."""
    clone_receipts(world["tills"][key].data, n)


def _item(till: TillProcess, code: str):
    answer = till.client().get(f"/catalogue/items/{code}")
    return answer.json() if answer.status_code == 200 else None


def _table(data: Path, sql: str) -> list:
    conn = sqlite3.connect(f"file:{data / 'till.sqlite3'}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
