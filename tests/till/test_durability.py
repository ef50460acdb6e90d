"""Durability: a receipt lives in the till database from its first line.

A real till process (``icecash demo``) serves three users selling at once from threads: the
demo cashier, an extra cashier created for the test, and the seller (who defers, as sellers
cannot take money). At a random moment, while requests are in flight, the process gets
SIGKILL (a power cut); it is restarted on the same data directory and must show

* every receipt whose payment was answered 200: paid, with the same number, total and lines;
* no half-written receipt: lines sum to the total, every paid receipt numbered, numbers unique;
* each user's current receipt with exactly the lines whose adding was answered 200 (a request
  in flight at the kill may or may not have landed: exactly that one is allowed either way);
* every deferred receipt;
* a Z report whose totals are the sums of the surviving paid receipts.

The kill is repeated at three moments on the same database.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from icecash.core.barcodes import make_ean13
from icecash.store.db import reading, writing
from icecash.till.app import DB_FILE
from tests.conftest import LiveTill, login

pytestmark = pytest.mark.slow

SIX_PACK = make_ean13("460123400105")  # extra barcode of water 1005: 6 × 45.00
# (endpoint, body, code, quantity in thousandths)
CHOICES = (
    ("lines", {"code": "1001"}, "1001", 1000),
    ("lines", {"code": "1002", "quantity": "2"}, "1002", 2000),
    ("lines", {"code": "1003", "quantity": "0.350"}, "1003", 350),
    ("lines", {"code": "1004"}, "1004", 1000),
    ("scan", {"barcode": "4601234567893"}, "1001", 1000),
    ("scan", {"barcode": SIX_PACK}, "1005", 1000),
)

Line = tuple[int, str, int, bool, int]  # line_no, code, quantity (thousandths), storno, total (kopecks)


def kopecks(text_: str) -> int:
    return int(Decimal(text_) * 100)


def thousandths(text_: str) -> int:
    return int(Decimal(text_) * 1000)


def lines_of(view: dict[str, Any]) -> list[Line]:
    return [
        (line["line_no"], line["code"], thousandths(line["quantity"]), line["storno"], kopecks(line["total"]))
        for line in view["lines"]
    ]


@dataclass
class Op:
    kind: str  # add · storno · pay · defer
    receipt: str | None  # uuid of the current receipt when the op was sent
    code: str = ""
    quantity: int = 0
    line_no: int = 0


@dataclass
class Seller:
    """One user at the till, and what the till has confirmed to them."""

    login: str
    password: str
    pays: bool
    headers: dict[str, str] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)  # confirmed lines of the current receipt
    receipt: str | None = None  # uuid of the current receipt
    total: int = 0
    target: int = 1
    inflight: Op | None = None
    error: str | None = None


@dataclass
class Ledger:
    paid: dict[str, dict[str, Any]] = field(default_factory=dict)  # uuid -> number, total, cash, card, lines
    deferred: dict[str, list[Line]] = field(default_factory=dict)
    in_z: set[str] = field(default_factory=set)  # paid receipts already counted by a Z
    ops: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def work(url: str, user: Seller, ledger: Ledger, rng: random.Random, stop: threading.Event) -> None:
    """Sell until the till dies (or ``stop``): every answered request updates what ``user`` knows."""
    with httpx.Client(base_url=url, timeout=15, headers=user.headers) as http:
        while not stop.is_set():
            live = [line for line in user.lines if not line[3]]
            if live and len(live) >= user.target:
                kind = "pay" if user.pays and rng.random() < 0.8 else "defer"
            elif user.pays and len(live) > 1 and rng.random() < 0.1:
                kind = "storno"
            else:
                kind = "add"
            op = Op(kind, user.receipt)
            if kind == "add":
                endpoint, body, op.code, op.quantity = rng.choice(CHOICES)
                request = ("POST", f"/api/v1/receipt/{endpoint}", body)
            elif kind == "storno":
                op.line_no = rng.choice(live)[0]
                request = ("POST", f"/api/v1/receipt/lines/{op.line_no}/storno", None)
            elif kind == "defer":
                request = ("POST", "/api/v1/receipt/defer", None)
            else:
                total = Decimal(user.total) / 100
                body = rng.choice((
                    {"cash": str(total)},
                    {"card": str(total)},
                    {"cash": str(total + 50)},  # change
                    {"card": "1.00", "cash": str(total - 1)},
                ))
                request = ("POST", "/api/v1/receipt/pay", body)
            user.inflight = op
            try:
                answer = http.request(request[0], request[1], json=request[2])
            except httpx.TransportError:
                return  # the till died: op stays in flight, it may or may not have landed
            if answer.status_code != 200:
                user.error = f"{user.login} {kind}: {answer.status_code} {answer.text[:300]}"
                stop.set()
                return
            view = answer.json()
            if kind in ("add", "storno"):
                fresh = lines_of(view)
                # exactly one line more (or one line cancelled), the others untouched, on the same open receipt
                if kind == "add":
                    expected = [line[:4] for line in user.lines] + [(len(user.lines) + 1, op.code, op.quantity, False)]
                    untouched = fresh[: len(user.lines)] == user.lines
                else:
                    expected = [line[:3] + (line[0] == op.line_no or line[3],) for line in user.lines]
                    untouched = [x for x in fresh if x[0] != op.line_no] == [x for x in user.lines if x[0] != op.line_no]
                with ledger.lock:
                    finished = view["uuid"] in ledger.paid or view["uuid"] in ledger.deferred
                same_receipt = view["uuid"] == user.receipt if user.receipt else not finished
                if [line[:4] for line in fresh] != expected or not untouched or not same_receipt or view["status"] != "open":
                    user.error = f"{user.login} {kind}: expected {expected} on {user.receipt}, got {fresh} on {view['uuid']}"
                    stop.set()
                    return
                user.lines, user.receipt, user.total = fresh, view["uuid"], kopecks(view["total"])
            elif kind == "pay":
                if (view["status"], view["uuid"], lines_of(view), kopecks(view["total"])) != (
                    "paid", user.receipt, user.lines, user.total
                ) or not view["number"] or kopecks(view["cash"]) + kopecks(view["card"]) != user.total:
                    user.error = f"{user.login} pay: paid {view} instead of {user.receipt} {user.lines}"
                    stop.set()
                    return
                with ledger.lock:
                    ledger.paid[view["uuid"]] = {
                        "number": view["number"], "total": kopecks(view["total"]), "cash": kopecks(view["cash"]),
                        "card": kopecks(view["card"]), "lines": lines_of(view),
                    }
                user.lines, user.receipt, user.total, user.target = [], None, 0, rng.randint(1, 5)
            else:
                if (view["status"], view["uuid"], lines_of(view)) != ("deferred", user.receipt, user.lines):
                    user.error = f"{user.login} defer: deferred {view} instead of {user.receipt} {user.lines}"
                    stop.set()
                    return
                with ledger.lock:
                    ledger.deferred[view["uuid"]] = lines_of(view)
                user.lines, user.receipt, user.total, user.target = [], None, 0, rng.randint(1, 5)
            user.inflight = None
            with ledger.lock:
                ledger.ops += 1


def sell_and_kill(live: LiveTill, users: list[Seller], ledger: Ledger, rng: random.Random, ops_target: int) -> None:
    """Sell from one thread per user; SIGKILL once ``ops_target`` more operations and a payment are done."""
    stop = threading.Event()
    start_ops, start_paid = ledger.ops, len(ledger.paid)
    threads = [
        threading.Thread(target=work, args=(live.url, user, ledger, random.Random(rng.random()), stop), daemon=True)
        for user in users
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while ledger.ops - start_ops < ops_target or len(ledger.paid) == start_paid:
        assert time.monotonic() < deadline, "sales too slow"
        assert not stop.is_set(), [u.error for u in users if u.error]
        time.sleep(0.002)
    time.sleep(rng.uniform(0, 0.03))
    while not any(user.inflight for user in users):  # kill while a request is on its way
        assert time.monotonic() < deadline, "no request in flight"
        time.sleep(0.0005)
    live.kill()
    for thread in threads:
        thread.join(20)
        assert not thread.is_alive()
    assert not [u.error for u in users if u.error], [u.error for u in users if u.error]


def db_rows(db: Path, sql: str, *args: Any) -> list[tuple]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def db_lines(db: Path, receipt_uuid: str) -> list[Line]:
    return [
        (no, code, qty, bool(storno), total)
        for no, code, qty, storno, total in db_rows(
            db,
            "SELECT l.line_no, l.code, l.quantity, l.storno, l.total FROM receipt_lines l "
            "JOIN receipts r ON r.id = l.receipt_id WHERE r.uuid = ? ORDER BY l.line_no",
            receipt_uuid,
        )
    ]


def check_current(http: httpx.Client, user: Seller, ledger: Ledger, cashier: dict[str, str]) -> None:
    """The user's current receipt is where it was; an op in flight at the kill landed whole or not at all."""
    answer = http.get("/api/v1/receipt", headers=user.headers)
    assert answer.status_code in (200, 404), answer.text
    view = answer.json() if answer.status_code == 200 else None
    seen = lines_of(view) if view else []
    op, confirmed = user.inflight, user.lines
    why = f"{user.login}: in flight {op}, confirmed {confirmed}, found {seen}"
    if view is not None and confirmed:
        assert view["uuid"] == user.receipt, why
    if view is not None:
        assert kopecks(view["total"]) == sum(line[4] for line in seen if not line[3]), why
    if op is None:
        assert seen == confirmed, why
    elif op.kind == "add":
        grown = (
            len(seen) == len(confirmed) + 1 and seen[:-1] == confirmed
            and seen[-1][:4] == (len(confirmed) + 1, op.code, op.quantity, False)
        )
        assert seen == confirmed or grown, why
    elif op.kind == "storno":
        cancelled = [line[:3] + (True,) if line[0] == op.line_no else line[:4] for line in confirmed]
        assert seen == confirmed or [line[:4] for line in seen] == cancelled, why
    else:  # pay or defer: the receipt is still current, or it went whole to paid/deferred
        if view is not None and view["uuid"] == op.receipt:
            assert seen == confirmed, why
        else:
            assert view is None, why
            landed = http.get(f"/api/v1/receipts/{op.receipt}", headers=cashier)
            assert landed.status_code == 200, landed.text
            body = landed.json()
            assert body["status"] == ("paid" if op.kind == "pay" else "deferred"), why
            assert lines_of(body) == confirmed, why
            if op.kind == "pay":
                ledger.paid[op.receipt] = {
                    "number": body["number"], "total": kopecks(body["total"]), "cash": kopecks(body["cash"]),
                    "card": kopecks(body["card"]), "lines": confirmed,
                }
            else:
                ledger.deferred[op.receipt] = confirmed
    user.lines, user.receipt = seen, view["uuid"] if view else None
    user.total = kopecks(view["total"]) if view else 0
    user.inflight = None


def check_database(db: Path, ledger: Ledger) -> None:
    """Whole-table checks: nothing paid that nobody was told of, nothing half-written."""
    assert db_rows(db, "PRAGMA integrity_check") == [("ok",)]
    paid = {
        row[0]: row[1:]
        for row in db_rows(db, "SELECT uuid, number, total, cash, card, kind FROM receipts WHERE status = 'paid'")
    }
    assert set(paid) == set(ledger.paid), "paid receipts lost or invented"
    for receipt_uuid, (number, total, cash, card, kind) in paid.items():
        expected = ledger.paid[receipt_uuid]
        assert kind == "sale"
        assert number == expected["number"]
        assert (total, cash, card) == (expected["total"], expected["cash"], expected["card"])
        assert cash + card == total
        assert db_lines(db, receipt_uuid) == expected["lines"]
    numbers = [n for (n,) in db_rows(db, "SELECT number FROM receipts WHERE status IN ('paid', 'cancelled')")]
    assert None not in numbers
    assert len(numbers) == len(set(numbers)), "receipt numbers repeat"
    deferred = {u for (u,) in db_rows(db, "SELECT uuid FROM receipts WHERE status = 'deferred'")}
    assert deferred == set(ledger.deferred)
    for receipt_uuid, lines in ledger.deferred.items():
        assert db_lines(db, receipt_uuid) == lines
    # every receipt, whatever its state, is whole: its total is the sum of its live lines
    half_written = db_rows(
        db,
        "SELECT r.uuid, r.total, COALESCE(SUM(CASE WHEN l.storno THEN 0 ELSE l.total END), 0) FROM receipts r "
        "LEFT JOIN receipt_lines l ON l.receipt_id = r.id GROUP BY r.id "
        "HAVING r.total != COALESCE(SUM(CASE WHEN l.storno THEN 0 ELSE l.total END), 0)",
    )
    assert half_written == []
    empty_paid = db_rows(
        db, "SELECT uuid FROM receipts r WHERE status = 'paid' AND NOT EXISTS "
        "(SELECT 1 FROM receipt_lines l WHERE l.receipt_id = r.id AND NOT l.storno)"
    )
    assert empty_paid == []


def check_z(http: httpx.Client, cashier: dict[str, str], ledger: Ledger) -> None:
    """A Z after the restart counts exactly the surviving paid receipts since the last Z."""
    shift = [ledger.paid[u] for u in ledger.paid if u not in ledger.in_z]
    assert shift, "no sale in this round"
    z = http.post("/api/v1/reports/z", headers=cashier)
    assert z.status_code == 200, z.text
    body = z.json()
    assert body["sales_count"] == len(shift)
    assert kopecks(body["sales_total"]) == sum(r["total"] for r in shift)
    assert kopecks(body["revenue"]) == sum(r["total"] for r in shift)
    assert kopecks(body["cash"]) == sum(r["cash"] for r in shift)
    assert kopecks(body["card"]) == sum(r["card"] for r in shift)
    assert (body["returns_count"], body["cancels_count"]) == (0, 0)
    per_code: dict[str, list[int]] = {}
    for receipt in shift:
        for _no, code, qty, storno, total in receipt["lines"]:
            if not storno:
                sums = per_code.setdefault(code, [0, 0])
                sums[0] += qty
                sums[1] += total
    assert {zl["code"]: [thousandths(zl["sold_quantity"]), kopecks(zl["sold_total"])] for zl in body["lines"]} == per_code
    ledger.in_z |= {u for u in ledger.paid}


def test_sigkill_in_the_middle_of_sales_loses_nothing(tmp_path: Path) -> None:
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    data = tmp_path / "live"
    live = LiveTill(data).start()
    try:
        with httpx.Client(base_url=live.url, timeout=15) as http:
            admin = login(http, "admin")
            created = http.post("/api/v1/users", headers=admin,
                                json={"login": "kassir2", "password": "kassir2pw", "role": "cashier", "name": "Кассир 2"})
            assert created.status_code == 201, created.text
            users = [Seller("kassir", "kassir", True), Seller("kassir2", "kassir2pw", True), Seller("seller", "seller", False)]
            for user in users:
                user.headers = login(http, user.login, user.password)
                user.target = rng.randint(1, 5)
        ledger = Ledger()
        for round_no, ops_target in enumerate((rng.randint(8, 25), rng.randint(30, 70), rng.randint(80, 140)), 1):
            context = f"seed {seed}, round {round_no}"
            sell_and_kill(live, users, ledger, rng, ops_target)
            assert live.process.returncode == -9, context
            live = LiveTill(data).start()  # same data directory, new process
            with httpx.Client(base_url=live.url, timeout=15) as http:
                cashier = users[0].headers  # sessions survive the restart too
                for user in users:
                    check_current(http, user, ledger, cashier)
                check_database(data / DB_FILE, ledger)
                for receipt_uuid in list(ledger.paid)[-20:]:
                    one = http.get(f"/api/v1/receipts/{receipt_uuid}", headers=cashier).json()
                    assert one["status"] == "paid", context
                    assert one["number"] == ledger.paid[receipt_uuid]["number"], context
                    assert kopecks(one["total"]) == ledger.paid[receipt_uuid]["total"], context
                    assert lines_of(one) == ledger.paid[receipt_uuid]["lines"], context
                listed = {r["uuid"] for r in http.get("/api/v1/receipts/deferred", headers=users[2].headers).json()}
                sellers_own = {
                    u for (u,) in db_rows(
                        data / DB_FILE,
                        "SELECT r.uuid FROM receipts r JOIN users s ON s.id = r.seller_id "
                        "WHERE r.status = 'deferred' AND s.login = 'seller'",
                    )
                }
                assert listed == sellers_own, context
                check_z(http, cashier, ledger)
        assert len(ledger.paid) >= 3
        assert ledger.deferred and any(lines for lines in ledger.deferred.values())
    finally:
        live.stop()


def test_till_connections_use_wal_and_full_sync(till) -> None:
    """Every pooled connection, for reading and for writing, runs WAL with synchronous=FULL (2)."""
    engine = till.engine
    with reading(engine) as first, reading(engine) as second, writing(engine) as third:
        for conn in (first, second, third):
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert len({id(c.connection.dbapi_connection) for c in (first, second, third)}) == 3


def test_live_till_database_is_in_wal_mode(live_till) -> None:
    """The file a running till writes is a WAL database (header bytes 18–19 are 2) with a live -wal file."""
    with httpx.Client(base_url=live_till.url) as http:
        headers = login(http, "kassir")
        assert http.post("/api/v1/receipt/lines", json={"code": "1001"}, headers=headers).status_code == 200
    db = live_till.data / DB_FILE
    header = db.read_bytes()[:100]
    assert header[18:20] == b"\x02\x02"
    assert (live_till.data / f"{DB_FILE}-wal").exists()
    assert db_rows(db, "PRAGMA journal_mode") == [("wal",)]
