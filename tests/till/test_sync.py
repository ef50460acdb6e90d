"""The till's sync agent against a real ``icecash server`` process: outbox, backoff, atomic downloads.

The till runs in-process (its use-cases and agent called directly); the server is a real process
on a free port, and the faults are real too: a port nobody listens on, and a real HTTP server
that answers 503 to everything.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icecash.core.pricefile import parse_price_file
from icecash.server.app import open_server
from icecash.store.db import reading
from icecash.till.app import create_app
from icecash.till.catalogue import item_by_code
from icecash.till.sync import SyncAgent, SyncError, Suspended, sync_state
from tests.conftest import free_port, login
from tests.till.failing_server import failing_server
from tests.helpers import API, MILK
from tests.server.conftest import ServerProcess, prepare_till, two_firms

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        import icecash.security as security
        from tests.helpers import FAST_HASHER

        patch.setattr(security, "_hasher", FAST_HASHER)
        root = tmp_path_factory.mktemp("central")
        server = open_server(root / "server")
        secrets = two_firms(server)
        csv = "code;barcode;name;price\n1001;4601234567893;Молоко;89.90\n1002;;Хлеб;54.90\n".encode()
        server.push_price_list(None, "alpha", "main", parse_price_file(csv, "p.csv"))
        process = ServerProcess(root / "server").start()
    try:
        yield server, secrets, process
    finally:
        process.stop()


@pytest.fixture
def attached(central, tmp_path: Path):
    """A till attached to alpha shop 1 till 2 (a fresh secret each time: the old one stops working)."""
    server, secrets, process = central
    secret = server.reset_till_secret(None, "alpha", 1, 2)
    till = prepare_till(tmp_path / "till", process.url, "alpha", 1, 2, secret)
    return till, SyncAgent(till), server


def _sale(till, cash: int = 100000) -> dict:
    user = till.login("kassir", "kassir")[1]
    till.scan(user, MILK)
    return till.pay(user, cash=cash)


def _states(till) -> dict[str, str]:
    with reading(till.engine) as conn:
        from icecash.till.tables import receipts

        return dict(conn.execute(select(receipts.c.uuid, receipts.c.upload_state)).all())


def _has(conn, code: str) -> bool:
    from icecash.core.errors import NotFound

    try:
        item_by_code(conn, code)
    except NotFound:
        return False
    return True


def test_outbox_local_pending_sent(attached):
    till, agent, server = attached
    user = till.login("kassir", "kassir")[1]
    paid = _sale(till)
    till.scan(user, MILK)
    open_uuid = till.current(user)["uuid"]
    assert _states(till) == {paid["uuid"]: "pending", open_uuid: "local"}
    assert agent.backlog() == {"receipts": 1, "z": 0}
    assert agent.run_job("receipts")
    assert _states(till) == {paid["uuid"]: "sent", open_uuid: "local"}
    till.cancel(user)
    assert _states(till)[open_uuid] == "pending"
    assert agent.run_job("receipts") and set(_states(till).values()) == {"sent"}
    admin = server.authenticate(server.login("alpha-admin", "alpha-pass")[0])
    stored = server.receipts_page(admin, "alpha", idplace=1, nkassa=2)["receipts"]
    assert {r["uuid"]: r["status"] for r in stored} == {paid["uuid"]: "paid", open_uuid: "cancelled"}


def test_unreachable_server_backs_off_with_jitter_and_selling_goes_on(attached):
    till, agent, _ = attached
    till.update_settings(None, {"server_url": f"http://127.0.0.1:{free_port()}", "sync_receipts_s": "60"})
    delays = []
    for _ in range(4):
        _sale(till)  # selling never waits for the server
        assert not agent.run_job("receipts")
        status = agent.status()
        delays.append(status["jobs"]["receipts"]["next_in_s"])
        assert "unreachable" in status["jobs"]["receipts"]["last_error"] and status["state"] == "error"
    assert [agent._jobs["receipts"].failures] == [4]
    # 5, 10, 20, 40 s, each times a jitter factor from 0.5 to 1: growing, within bounds
    for n, delay in enumerate(delays):
        assert 5 * 2 ** n * 0.5 - 1 <= delay <= 5 * 2 ** n + 1, delays
    assert agent.backlog()["receipts"] == 4
    agent.sync_now()
    assert agent.status()["jobs"]["receipts"]["next_in_s"] == 0 and agent._jobs["receipts"].failures == 0


def test_a_server_answering_errors_keeps_everything_pending(attached):
    till, agent, _ = attached
    with failing_server() as broken:
        till.update_settings(None, {"server_url": broken.url})
        sale = _sale(till)
        assert not agent.run_job("receipts")
        assert "login refused" in agent.status()["jobs"]["receipts"]["last_error"]
        assert agent.status()["error_kind"] == "server"
        assert _states(till)[sale["uuid"]] == "pending"


def test_a_server_that_never_answers_does_not_slow_the_sales(attached):
    """A server that takes the connection and then says nothing: the agent waits in its own thread
    (and gives up at its timeout); the cashier's sales go on at full speed meanwhile."""
    import socket
    import time

    import httpx

    till, _, _ = attached
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        silent.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(silent.accept()[0])  # never read, never answered
            except OSError:
                continue

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        till.update_settings(None, {"server_url": f"http://127.0.0.1:{silent.getsockname()[1]}"})
        agent = SyncAgent(till, timeout=httpx.Timeout(3.0, connect=1.0))
        agent.start()
        deadline = time.monotonic() + 10
        while agent._jobs["receipts"].last_run is None and time.monotonic() < deadline:
            time.sleep(0.05)  # until the agent is waiting on the silent server
        for _ in range(10):
            _sale(till)
        # the sales are done while the agent's call still hangs: none of them waited for the network
        assert agent._jobs["receipts"].failures == 0 and agent.status()["state"] != "error"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not agent.status()["jobs"]["receipts"]["failures"]:
            time.sleep(0.1)
        status = agent.status()
        assert "too slow" in status["jobs"]["receipts"]["last_error"] and status["backlog"]["receipts"] == 10
        agent.stop()
    finally:
        stop.set()
        acceptor.join(5)
        for conn in held:
            conn.close()
        silent.close()


def test_a_refused_receipt_does_not_hold_up_the_others(attached):
    till, agent, server = attached
    good = [_sale(till)["uuid"] for _ in range(3)]
    bad = _sale(till)["uuid"]
    good.append(_sale(till)["uuid"])
    with sqlite3.connect(till.engine.url.database) as conn:  # a damaged row: its total no longer matches its lines
        conn.execute("UPDATE receipts SET total = total + 1, cash = cash + 1 WHERE uuid = ?", (bad,))
    assert not agent.run_job("receipts")
    states = _states(till)
    assert [states[u] for u in good] == ["sent"] * 4 and states[bad] == "pending"
    assert bad in agent.status()["jobs"]["receipts"]["last_error"]


def test_price_list_applied_atomically(attached):
    till, agent, server = attached
    assert agent.run_job("price")
    with reading(till.engine) as conn:
        assert item_by_code(conn, "1001").price == 8990 and _has(conn, "1002")
    version = agent.status()["price_version"]
    # a broken delta (a row under a group nobody has) changes nothing: neither rows nor version
    broken = {"list": "main", "version": version + 1, "full": False, "unchanged": False, "deleted": ["1002"],
              "rows": [{"code": "1001", "parent_code": "777", "is_item": True, "name": "Молоко", "barcode": MILK,
                        "price": 1, "min_price": 0, "max_price": 0, "max_discount_bp": 0, "weighed": False,
                        "department": 1, "vat": None, "alcohol": False, "litres_ml": 0, "stock": 0, "item_type": 0,
                        "scheme": 0, "extras": []}]}
    with pytest.raises(Exception):
        agent.apply_price(broken)
    with reading(till.engine) as conn:
        assert item_by_code(conn, "1001").price == 8990 and _has(conn, "1002")
    assert agent.status()["price_version"] == version
    # a real change on the server arrives as a delta: a new price, a deletion
    csv = "code;barcode;name;price\n1001;4601234567893;Молоко;95.00\n".encode()
    server.push_price_list(None, "alpha", "main", parse_price_file(b"# replace=1\n" + csv, "p.csv"))
    assert agent.run_job("price")
    with reading(till.engine) as conn:
        assert item_by_code(conn, "1001").price == 9500 and not _has(conn, "1002")
        stamp = conn.execute(select(sync_state.c.value).where(sync_state.c.name == "price_version")).scalar()
    assert int(stamp) == version + 1 and till.settings()["pricenum"] == f"main:{version + 1}"
    with pytest.raises(SyncError):  # a full list with no item never empties the catalogue
        agent.apply_price({"list": "main", "version": 99, "full": True, "rows": [], "deleted": []})


def test_sync_endpoints_and_the_background_thread(attached):
    till, agent, server = attached
    _sale(till)
    with TestClient(create_app(till), raise_server_exceptions=False) as client:
        admin, cashier = login(client, "admin"), login(client, "kassir")
        status = client.get(f"{API}/sync/status", headers=cashier).json()
        assert status["running"] and status["server_url"].startswith("http://127.0.0.1:")
        assert client.post(f"{API}/sync/now", headers=cashier).status_code == 403
        assert client.post(f"{API}/sync/now", headers=admin).status_code == 200
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and client.get(f"{API}/sync/status", headers=cashier).json()["backlog"]["receipts"]:
            time.sleep(0.1)
        final = client.get(f"{API}/sync/status", headers=cashier).json()
        assert final["backlog"] == {"receipts": 0, "z": 0} and final["last_contact"]
        assert client.put(f"{API}/sync/secret", json={"secret": "short"}, headers=admin).status_code == 422
        assert "secret" not in client.get(f"{API}/settings", headers=admin).text.lower().replace("secret_", "")


def test_an_unexpected_answer_is_a_failure_not_the_end_of_the_agent(attached):
    """A server answering nonsense (a proxy's HTML page with 200): the job fails, is retried, the thread lives."""

    class Nonsense(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>captive portal</html>")

        do_GET = do_POST  # noqa: N815

        def log_message(self, *args):
            pass

    till, agent, _ = attached
    nonsense = ThreadingHTTPServer(("127.0.0.1", 0), Nonsense)
    threading.Thread(target=nonsense.serve_forever, daemon=True).start()
    try:
        till.update_settings(None, {"server_url": f"http://127.0.0.1:{nonsense.server_address[1]}"})
        _sale(till)
        assert not agent.run_job("receipts") and not agent.run_job("price")
        assert agent.status()["jobs"]["price"]["failures"] == 1 and agent.backlog()["receipts"] == 1
        assert agent.status()["jobs"]["price"]["error_kind"] == "server"  # not JSON: the server's fault, not the till's
    finally:
        nonsense.shutdown()
        nonsense.server_close()


def test_promotions_goods_lists_and_variables_arrive_whole(attached):
    till, agent, server = attached
    server.set_goods_list(None, "alpha", "beer3", ["9002", "9001"])
    server.set_variable(None, "alpha", "temperature", "-30")
    server.save_promotion(None, "alpha", {"name": "3 по цене 2", "then_text": "DO_POS_CODE_IN {b} GROUPS (beer3)\n"
                                          "DO_FILTERS_GROUP\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=3,count=1)",
                                          "if_text": "IF_GROUP_PROPERTY {b} (paramf2?>=?3)", "weekdays": "0000011"})
    assert agent.run_job("promotions") and agent.run_job("variables")
    assert agent.goods_lists()["beer3"] == ["9001", "9002"]
    assert agent.variables()["temperature"] == "-30"
    promo = next(p for p in agent.promotions() if p["name"] == "3 по цене 2")
    assert promo["weekdays"] == "0000011" and promo["if_text"] == "IF_GROUP_PROPERTY {b} (paramf2?>=?3)"
    version = agent.status()["promotions_version"]
    assert agent.run_job("promotions") and agent.status()["promotions_version"] == version  # unchanged: nothing new
    promo_id = next(p["id"] for p in server.list_promotions(
        server.authenticate(server.login("alpha-admin", "alpha-pass")[0]), "alpha") if p["name"] == "3 по цене 2")
    server.delete_promotion(None, "alpha", promo_id)
    server.set_goods_list(None, "alpha", "beer3", None)  # gone on the server: gone on the till
    server.set_variable(None, "alpha", "temperature", None)
    assert agent.run_job("promotions") and agent.run_job("variables")
    assert "beer3" not in agent.goods_lists() and "temperature" not in agent.variables()


# --- what kind of error, and "sync now" until its jobs have run ---------------------------------------


@pytest.fixture
def slow_errors():
    """A server answering 503 after ``.delay`` seconds (0 at first)."""
    with failing_server() as server:
        yield server


def _kinds(agent) -> tuple[str | None, str | None, dict[str, str | None]]:
    status = agent.status()
    return status["error_kind"], status["error_job"], {name: job["error_kind"] for name, job in status["jobs"].items()}


def test_the_error_kind_says_what_went_wrong_without_reading_the_text(attached, slow_errors, central):
    till, agent, server = attached
    assert _kinds(agent) == (None, None, dict.fromkeys(("receipts", "z", "price", "promotions", "variables")))
    _sale(till)
    # nobody listens: offline
    till.update_settings(None, {"server_url": f"http://127.0.0.1:{free_port()}"})
    assert not agent.run_job("receipts")
    assert _kinds(agent)[:2] == ("offline", "receipts") and agent.status()["state"] == "error"
    # a server that fails: server; the latest failure is the sync's kind, each job keeps its own
    till.update_settings(None, {"server_url": slow_errors.url})
    assert not agent.run_job("price")
    kind, job, jobs = _kinds(agent)
    assert (kind, job) == ("server", "price") and jobs["receipts"] == "offline" and jobs["price"] == "server"
    # the real server again, but a wrong secret: auth; the right one: no error left
    till.update_settings(None, {"server_url": central[2].url})
    agent.set_secret("not-the-secret-of-this-till")
    assert not agent.run_job("receipts") and not agent.run_job("price")
    assert _kinds(agent)[:2] == ("auth", "price") and agent.status()["jobs"]["receipts"]["error_kind"] == "auth"
    agent.set_secret(server.reset_till_secret(None, "alpha", 1, 2))
    assert agent.run_job("receipts") and agent.run_job("price")
    assert _kinds(agent) == (None, None, dict.fromkeys(("receipts", "z", "price", "promotions", "variables")))
    # a receipt the server refuses: refused
    bad = _sale(till)["uuid"]
    with sqlite3.connect(till.engine.url.database) as conn:
        conn.execute("UPDATE receipts SET total = total + 1, cash = cash + 1 WHERE uuid = ?", (bad,))
    assert not agent.run_job("receipts")
    assert _kinds(agent)[:2] == ("refused", "receipts")


def test_a_suspended_firm_is_its_own_kind(attached, central):
    from icecash.server.billing import resume_firm, suspend_firm

    till, agent, server = attached
    suspend_firm(server, "alpha", "не оплачено")
    try:
        assert not agent.run_job("variables")
        status = agent.status()
        assert (status["state"], status["error_kind"], status["error_job"]) == ("suspended", "suspended", "variables")
    finally:
        resume_firm(server, "alpha")
    assert agent.run_job("variables") and agent.status()["error_kind"] is None


def test_a_slow_server_is_a_timeout(attached, slow_errors):
    import httpx

    till, _, _ = attached
    slow_errors.delay = 1.5
    till.update_settings(None, {"server_url": slow_errors.url})
    agent = SyncAgent(till, timeout=httpx.Timeout(0.5, connect=0.5))
    assert not agent.run_job("variables")
    assert _kinds(agent)[:2] == ("timeout", "variables")


def test_sync_now_is_syncing_until_every_job_has_run(attached, slow_errors):
    """The agent's thread against a server slow to fail: right after "sync now" and until the last job
    has run, the state is "syncing" (never the "ok" of the failures it just forgot)."""
    import time

    till, agent, _ = attached
    slow_errors.delay = 0.3
    till.update_settings(None, {"server_url": slow_errors.url, **{f"sync_{n}_s": "600" for n in
                                                                ("receipts", "z", "price", "promotions", "variables")}})
    agent.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and agent.status()["jobs"]["variables"]["last_run"] is None:
            time.sleep(0.05)  # the first round, begun by itself, is over (each job failed, backing off)
        while time.monotonic() < deadline and agent.status()["running_job"] is not None:
            time.sleep(0.05)
        assert agent.status()["state"] == "error"
        agent.sync_now()
        seen = []
        while time.monotonic() < deadline:
            status = agent.status()
            seen.append((status["state"], tuple(status["requested"])))
            assert status["error_kind"] == "server"  # the last sync's kind, kept until the jobs have run again
            if not status["requested"]:
                break
            time.sleep(0.05)
        states = [state for state, requested in seen if requested]
        assert states and set(states) == {"syncing"}, seen  # from the click until the last job has run
        assert seen[0][1] == ("receipts", "z", "price", "promotions", "variables"), seen[0]
        final = agent.status()
        assert final["state"] == "error" and final["error_kind"] == "server" and final["running_job"] is None
        # each ran once since the click (the Z job, with no Z report to send, never calls the server)
        assert {name: job["failures"] for name, job in final["jobs"].items()} == {
            "receipts": 1, "z": 0, "price": 1, "promotions": 1, "variables": 1}
    finally:
        agent.stop()


def test_sync_now_without_the_agents_thread_does_not_claim_to_sync(attached):
    till, agent, _ = attached
    till.update_settings(None, {"server_url": f"http://127.0.0.1:{free_port()}"})
    assert not agent.run_job("receipts")
    agent.sync_now()  # nobody will run the jobs: the state says what is, not what was asked
    status = agent.status()
    assert status["requested"] == [] and status["jobs"]["receipts"]["failures"] == 0  # the backoff forgotten ...
    # ... but not the failure: its last run failed, so "error" with that kind, never "ok" with an error kind
    assert (status["state"], status["error_kind"], status["error_job"]) == ("error", "offline", "receipts")
    agent.sync_all()
    assert agent.status()["state"] == "error" and agent.status()["error_kind"] == "offline"


# --- how the till sorts the server's HTTP statuses (one classifier: sync._kind_of_status) -----------------


def test_one_classifier_sorts_the_statuses_and_refused_is_its_kind():
    expected = {400: "refused", 403: "refused", 404: "refused", 409: "refused", 413: "refused", 422: "refused",
                401: "auth", 408: "timeout", 429: "server", 500: "server", 503: "server", 302: "server", None: "server"}
    assert {status: SyncError("x", status).kind for status in expected} == expected
    assert {status for status in expected if SyncError("x", status).refused} == {400, 403, 404, 409, 413, 422}
    assert not Suspended("x", {}).refused and Suspended("x", {}).kind == "suspended"
    assert SyncError("2 receipt(s) refused", kind="refused").refused


class Gate:
    """A real HTTP proxy in front of the central server that stops some calls as a proxy or a busy
    server would: ``limit`` bytes for a receipts upload (over it: 413, as nginx's
    ``client_max_body_size``), or ``answer`` {path: status} for every call to a path (e.g. 429).
    ``uploads`` lists how many receipts each receipts upload it saw held."""

    RECEIPTS = "/api/v1/exchange/receipts"

    def __init__(self, upstream: str):
        self.limit: int | None = None
        self.answer: dict[str, int] = {}
        self.uploads: list[int] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith(owner.RECEIPTS):
                    owner.uploads.append(len(json.loads(body)["receipts"]))
                status = owner.answer.get(self.path.split("?")[0])
                if status is None and self.path.startswith(owner.RECEIPTS) and owner.limit and len(body) > owner.limit:
                    status = 413
                if status is not None:
                    self._send(status, json.dumps({"error": {"code": f"gate_{status}", "message_en": "stopped"}}).encode())
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                answer = httpx.request(self.command, upstream + self.path, content=body, headers=headers, timeout=30)
                self._send(answer.status_code, answer.content)

            do_GET = do_POST  # noqa: N815

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def gated(attached, central):
    """``attached``, with the till talking to the server through a :class:`Gate`."""
    till, agent, server = attached
    gate = Gate(central[2].url)
    threading.Thread(target=gate.httpd.serve_forever, daemon=True).start()
    till.update_settings(None, {"server_url": gate.url})
    try:
        yield till, agent, server, gate
    finally:
        gate.httpd.shutdown()
        gate.httpd.server_close()


def test_a_batch_too_large_is_sent_receipt_by_receipt_and_none_is_lost(gated):
    """413 is "refused" (never retried as it is, which would fail forever): the batch goes one by one;
    a receipt too large alone waits in the outbox, named, and goes once the limit allows it."""
    till, agent, _, gate = gated
    uuids = [_sale(till)["uuid"] for _ in range(3)]
    one = agent._pending_receipts(set())[:1]
    gate.limit = len(json.dumps({"receipts": one}, ensure_ascii=False, separators=(",", ":")).encode()) + 300
    assert agent.run_job("receipts")  # 413 for the three, then each alone: all sent in this one run
    assert gate.uploads == [3, 1, 1, 1] and [_states(till)[u] for u in uuids] == ["sent"] * 3
    # a receipt too large even alone: the others go, it stays pending (refused, named), and nothing loops
    gate.uploads.clear()
    big, small = _sale(till)["uuid"], _sale(till)["uuid"]
    with sqlite3.connect(till.engine.url.database) as conn:
        conn.execute("UPDATE receipts SET comment = ? WHERE uuid = ?", ("Ж" * 256, big))
    assert not agent.run_job("receipts")
    assert gate.uploads == [2, 1, 1] and _states(till)[big] == "pending" and _states(till)[small] == "sent"
    status = agent.status()
    assert (status["state"], status["error_kind"]) == ("error", "refused") and big in status["jobs"]["receipts"]["last_error"]
    gate.limit = None  # the proxy's limit raised: the waiting receipt goes
    assert agent.run_job("receipts") and _states(till)[big] == "sent" and agent.backlog()["receipts"] == 0


def test_a_busy_server_is_retried_later_not_split_nor_refused(gated):
    """429 (too many requests) is not a refusal of the data: one upload, the job fails as "server"
    and backs off; the receipts wait whole in the outbox (not sent one by one, not marked refused)."""
    till, agent, _, gate = gated
    uuids = [_sale(till)["uuid"] for _ in range(3)]
    gate.answer[Gate.RECEIPTS] = 429
    assert not agent.run_job("receipts")
    assert gate.uploads == [3] and {_states(till)[u] for u in uuids} == {"pending"}
    assert agent.status()["error_kind"] == "server" and agent.status()["jobs"]["receipts"]["failures"] == 1
    del gate.answer[Gate.RECEIPTS]
    assert agent.run_job("receipts") and {_states(till)[u] for u in uuids} == {"sent"}


@pytest.mark.parametrize(("status", "kind"), [(400, "auth"), (403, "auth"), (413, "auth"), (408, "timeout"),
                                              (429, "server"), (502, "server"), (302, "server")])
def test_a_failed_login_is_sorted_by_the_same_classifier(gated, status, kind):
    """The server refusing the login (any 4xx but 408 and 429) is "auth"; busy, slow or failing are not."""
    _, agent, _, gate = gated
    gate.answer["/api/v1/exchange/auth"] = status
    assert not agent.run_job("variables")
    assert agent.status()["jobs"]["variables"]["error_kind"] == kind
