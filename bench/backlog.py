#!/usr/bin/env python3
"""Backlog benchmark: a till that was offline for days (30,000 receipts) drains it to the server.

Real processes: ``icecash server`` (SQLite, WAL, synchronous=FULL) and ``icecash till`` with its
sync agent. The till's database gets one real sale through its use-cases, then --receipts − 1
copies of it with new UUIDs and numbers (pending upload) — the shape of three days' sales. The
clock starts when the till process answers (its agent starts with it) and stops when the server
holds every receipt and the till's outbox is empty; progress comes from ``GET /api/v1/sync/status``.
Afterwards every UUID is checked to be on the server exactly once.

Baseline in the same run: the same receipts and lines read from the till's database and written
with plain sqlite3 into tables made by the server's migrations, in batches of the agent's size,
one transaction each — the cost of moving the rows with no HTTP, no JSON, no checks.

Target (issue 5): ≤ 60 s for 30,000 receipts (the original's design, 100 a minute, needed 5 hours).
A measurement, not a test: exits 0.

    .venv/bin/python bench/backlog.py [--receipts 30000] [--keep]
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from _common import REPO, console, data_dir, free_port, progress, sec, table

TARGET = 60.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A till's offline backlog drained to a real server, end to end.")
    parser.add_argument("--receipts", type=int, default=30_000, help="backlog size (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=None, help="data directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory")
    return parser.parse_args()


def start(command: list[str], log: Path, url: str) -> subprocess.Popen:
    process = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace")[-2000:])
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{command[3]} did not start:\n{log.read_text(errors='replace')[-2000:]}")


def clone(db: Path, n: int) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    cur = conn.execute("SELECT * FROM receipts WHERE status = 'paid' ORDER BY id DESC LIMIT 1")
    columns = [d[0] for d in cur.description]
    row = dict(zip(columns, cur.fetchone()))
    cur = conn.execute("SELECT * FROM receipt_lines WHERE receipt_id = ?", (row["id"],))
    line_columns = [d[0] for d in cur.description if d[0] != "id"]
    lines = [dict(zip([d[0] for d in cur.description], values)) for values in cur.fetchall()]
    number, next_id = conn.execute("SELECT MAX(number), MAX(id) FROM receipts").fetchone()
    receipts_sql = f"INSERT INTO receipts ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})"
    lines_sql = f"INSERT INTO receipt_lines ({','.join(line_columns)}) VALUES ({','.join('?' * len(line_columns))})"
    new_rows, new_lines = [], []
    for i in range(n):
        rid = next_id + 1 + i
        new_rows.append(tuple({**row, "id": rid, "uuid": str(uuid.uuid4()), "number": number + 1 + i,
                               "upload_state": "pending"}[c] for c in columns))
        new_lines += [tuple({**ln, "receipt_id": rid}[c] for c in line_columns) for ln in lines]
    conn.executemany(receipts_sql, new_rows)
    conn.executemany(lines_sql, new_lines)
    conn.execute("COMMIT")
    conn.close()


def prepare(data: Path, server_url: str, receipts: int) -> None:
    """Server: firm bench, shop 1, till 1. Till: demo data, attached, one real sale and its copies."""
    from icecash.server.app import open_server
    from icecash.till.app import open_till
    from icecash.till.demo import seed_demo
    from icecash.till.sync import SyncAgent

    server = open_server(data / "server")
    server.create_firm(None, "bench", "Bench")
    server.create_shop(None, "bench", 1, "Shop")
    secret = server.create_till(None, "bench", 1, 1, "Till")
    till = open_till(data / "till")
    seed_demo(till, items=200)
    till.update_settings(None, {"server_url": server_url, "regid": "bench", "idplace": 1, "nkassa": 1})
    SyncAgent(till).set_secret(secret)
    user = till.login("kassir", "kassir")[1]
    for barcode in ("4601234567893", "4601234000026"):
        try:
            till.scan(user, barcode)
        except Exception:  # noqa: BLE001  (a demo barcode that is not there: one line is enough)
            pass
    till.pay(user, cash=1_000_000)
    till.engine.dispose()
    server.engine.dispose()
    clone(data / "till" / "till.sqlite3", receipts - 1)


def raw_copy(data: Path, batch: int) -> float:
    """Seconds to move the same receipts and lines with plain sqlite3 into the server's schema."""
    from icecash.server.app import open_server

    target_dir = data / "raw"
    open_server(target_dir).engine.dispose()
    source = sqlite3.connect(f"file:{data / 'till' / 'till.sqlite3'}?mode=ro", uri=True)
    target = sqlite3.connect(target_dir / "server.sqlite3", isolation_level=None)
    target.execute("PRAGMA journal_mode=WAL")
    target.execute("PRAGMA synchronous=FULL")
    target.execute("INSERT INTO firms (id, regid, name, active, variables_version, promotions_version, created_at) "
                   "VALUES (1, 'raw', 'Raw', 1, 0, 0, '2026-01-01 00:00:00.000000')")
    target.execute("INSERT INTO shops (id, firm_id, idplace, name) VALUES (1, 1, 1, '')")
    target.execute("INSERT INTO tills (id, firm_id, shop_id, nkassa, name, secret_hash, active, created_at, version, printer, "
                   "backlog, clock_skew_s, price_version) VALUES (1, 1, 1, 1, '', 'x', 1, '2026-01-01', '', '', 0, 0, 0)")
    began = time.perf_counter()
    ids = [r[0] for r in source.execute("SELECT id FROM receipts WHERE status IN ('paid','cancelled') ORDER BY id")]
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        marks = ",".join("?" * len(chunk))
        receipts = source.execute(
            f"SELECT id, uuid, kind, status, number, created_at, closed_at, amount, discount, total, cash, card, cash_given, "
            f"change FROM receipts WHERE id IN ({marks})", chunk).fetchall()
        lines = source.execute(
            f"SELECT receipt_id, line_no, code, name, price, quantity, storno, amount, discount, total, final_price, vat, "
            f"vat_amount, marks FROM receipt_lines WHERE receipt_id IN ({marks})", chunk).fetchall()
        target.execute("BEGIN IMMEDIATE")
        target.executemany(
            "INSERT INTO receipts (id, uuid, firm_id, shop_id, till_id, kind, status, number, shift_uuid, created_at, "
            "closed_at, business_date, received_at, cashier, seller, card_rate_bp, amount, discount, total, cash, card, "
            "cash_given, change, comment) VALUES (?,?,1,1,1,?,?,?,'',?,?,substr(?,1,10),?,'','',0,?,?,?,?,?,?,?,'')",
            [(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[6], r[6], *r[7:]) for r in receipts])
        target.executemany(
            "INSERT INTO receipt_lines (receipt_id, line_no, code, name, barcode, price, quantity, storno, amount, discount, "
            "total, final_price, vat, vat_amount, marks) VALUES (?,?,?,?,'',?,?,?,?,?,?,?,?,?,?)", lines)
        target.execute("COMMIT")
    elapsed = time.perf_counter() - began
    source.close()
    target.close()
    return elapsed


def main() -> int:
    args = parse_args()
    with data_dir(args.data, args.keep, "icecash-bench-backlog-") as data:
        server_port, till_port = free_port(), free_port()
        server_url, till_url = f"http://127.0.0.1:{server_port}", f"http://127.0.0.1:{till_port}"
        with console.status(f"preparing a backlog of {args.receipts:,} receipts…"):
            prepare(data, server_url, args.receipts)
        server = start([sys.executable, "-m", "icecash.cli", "server", "--data", str(data / "server"), "--port",
                        str(server_port), "--log-level", "warning"], data / "server.log", server_url)
        till = None
        try:
            began = time.perf_counter()
            till = start([sys.executable, "-m", "icecash.cli", "till", "--data", str(data / "till"), "--port", str(till_port),
                          "--log-level", "warning"], data / "till.log", till_url)
            started = time.perf_counter() - began
            client = httpx.Client(base_url=till_url + "/api/v1", timeout=30)
            token = client.post("/auth/login", json={"login": "admin", "password": "admin"}).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            with progress() as bar:
                task = bar.add_task("draining", total=args.receipts)
                while True:
                    status = client.get("/sync/status").json()
                    left = status["backlog"]["receipts"]
                    bar.update(task, completed=args.receipts - left)
                    if left == 0:
                        break
                    if time.perf_counter() - began > 900:
                        raise RuntimeError(f"not drained after 15 minutes: {status}")
                    time.sleep(0.2)
            drained = time.perf_counter() - began
        finally:
            if till is not None:
                till.terminate()
                till.wait(15)
            server.terminate()
            server.wait(15)
        on_server = sqlite3.connect(f"file:{data / 'server' / 'server.sqlite3'}?mode=ro", uri=True)
        stored, distinct = on_server.execute("SELECT COUNT(*), COUNT(DISTINCT uuid) FROM receipts").fetchone()
        on_server.close()
        with console.status("raw baseline…"):
            raw = raw_copy(data, 500)
    result = table(f"Backlog of {args.receipts:,} receipts, till → server over HTTP", (
        "measure", "value", "raw sqlite3 copy", "ours / raw", f"≤ {TARGET:.0f} s"))
    result.add_row("drained (from the till's start)", sec(drained), sec(raw), f"{drained / raw:.1f}×",
                   "[bold green]PASS[/]" if drained <= TARGET else "[bold red]MISS[/]")
    result.add_row("receipts / s", f"{args.receipts / drained:,.0f}", f"{args.receipts / raw:,.0f}", "", "")
    result.add_row("till start (included above)", sec(started), "", "", "")
    result.add_row("on the server: rows / distinct UUIDs", f"{stored:,} / {distinct:,}", "", "",
                   "[bold green]exactly once[/]" if stored == distinct == args.receipts else "[bold red]WRONG[/]")
    console.print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
