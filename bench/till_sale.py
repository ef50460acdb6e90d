#!/usr/bin/env python3
"""Till sale benchmark: add-line-by-barcode latency and the time to pay a 20-line receipt.

Starts a real till (``python -m icecash.cli demo``: uvicorn, SQLite in WAL with synchronous=FULL)
over a catalogue of --items demo items, logs in once as the demo cashier (httpx), and drives it
over one keep-alive ``http.client`` connection (less client overhead in the timed requests):
warm-up receipts first, then --scans timed ``POST /api/v1/receipt/lines`` by barcode in receipts
of --lines lines, each paid in cash with a timed ``POST /api/v1/receipt/pay``.

The baseline, measured in the same run and interleaved receipt by receipt so disk noise hits both
alike: plain ``sqlite3`` on a database with the till's own table DDL and the same durability
(WAL, synchronous=FULL) writing the very rows the till wrote —

* per add-line: one transaction inserting the line row and updating the receipt header;
* per receipt: one transaction inserting the receipt row and all its line rows.

Ratios are ours / raw. Targets (the "Till core" issue): add-line p99 ≤ 5 ms, pay ≤ 15 ms (median).
A measurement, not a test: it exits 0 whether the targets are met or not.

    .venv/bin/python bench/till_sale.py [--items 100000] [--scans 1000] [--data DIR] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sqlite3
import sys
import time
import uuid
from pathlib import Path

import httpx

from _common import (
    TillProcess,
    console,
    copy_schema,
    login,
    ms,
    percentile,
    progress,
    ratio,
    run_in_data_dir,
    raw_connection,
    read_only,
    table,
    verdict,
)

ADD_LINE_P99_TARGET = 0.005
PAY_TARGET = 0.015
LINE_COLUMNS = ("receipt_id", "line_no", "code", "name", "snapshot", "price", "quantity", "storno", "manual_discount_bp",
                "price_changed", "quantity_changed", "fixed_total", "return_of_line_id", "amount", "discount_bp",
                "discount", "total", "final_price", "vat", "vat_amount", "marks")  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Add-line latency and pay time of a real till over HTTP, beside raw SQLite writing the same rows.",
    )
    parser.add_argument("--items", type=int, default=100_000, help="demo catalogue size (default: %(default)s)")
    parser.add_argument("--scans", type=int, default=1000, help="timed add-lines, at least 500 (default: %(default)s)")
    parser.add_argument("--lines", type=int, default=20, help="lines per receipt, each receipt paid (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed warm-up receipts (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=None, help="data directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory (and the till's log)")
    parser.add_argument("--port", type=int, default=None, help="till port (default: a free one)")
    parser.add_argument("--seed", type=int, default=1, help="barcode sampling seed (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.scans < 500:
        parser.error("--scans must be at least 500")
    if args.lines < 1:
        parser.error("--lines must be at least 1")
    return args


def sellable_barcodes(db: Path, count: int, seed: int) -> list[str]:
    """Piece items with one price (no price choice, no weight), sampled over the whole catalogue."""
    with read_only(db) as conn:
        barcodes = [row[0] for row in conn.execute(
            "SELECT barcode FROM catalogue WHERE is_item AND NOT weighed AND barcode != '' AND price > 0 "
            "AND code NOT IN (SELECT item_code FROM extra_barcodes) ORDER BY code"
        )]  # fmt: skip
    conn.close()
    if not barcodes:
        raise RuntimeError("the catalogue has no sellable piece items")
    rng = random.Random(seed)
    return [rng.choice(barcodes) for _ in range(count)]


class RawBaseline:
    """Plain sqlite3, the till's DDL, WAL + synchronous=FULL: the same rows, written the cheapest way."""

    def __init__(self, path: Path, till_db: Path):
        self.conn = raw_connection(path, pregrow_wal=True)
        copy_schema(till_db, self.conn, ("receipts", "receipt_lines"))
        self.insert_line = f"INSERT INTO receipt_lines ({','.join(LINE_COLUMNS)}) VALUES ({','.join('?' * len(LINE_COLUMNS))})"
        self.header_columns: list[str] = []

    def _header(self, receipt: sqlite3.Row) -> tuple[str, list]:
        columns = [c for c in receipt.keys() if c not in ("id", "uuid")]
        values = [receipt[c] for c in columns]
        sql = f"INSERT INTO receipts (uuid,{','.join(columns)}) VALUES (?,{','.join('?' * len(columns))})"
        return sql, [str(uuid.uuid4()), *values]

    def add_lines(self, receipt: sqlite3.Row, lines: list[sqlite3.Row]) -> tuple[list[float], float]:
        """One transaction per line (insert it, update the header's totals); the open header is untimed.

        Returns each transaction's wall time and the CPU time of them all.
        """
        sql, values = self._header(receipt)
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        receipt_id = conn.execute(sql, values).lastrowid
        conn.execute("COMMIT")
        timings = []
        cpu = 0.0
        for line in lines:
            row = [receipt_id, *(line[c] for c in LINE_COLUMNS[1:])]
            cpu_started = time.thread_time()
            started = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(self.insert_line, row)
            conn.execute(
                "UPDATE receipts SET amount = amount + ?, discount = discount + ?, total = total + ?, selected_line = ?, "
                "version = version + 1 WHERE id = ?", (line["amount"], line["discount"], line["total"], line["line_no"], receipt_id),
            )  # fmt: skip
            conn.execute("COMMIT")
            timings.append(time.perf_counter() - started)
            cpu += time.thread_time() - cpu_started
        return timings, cpu

    def whole_receipt(self, receipt: sqlite3.Row, lines: list[sqlite3.Row]) -> tuple[float, float]:
        """One transaction writing the paid receipt row and all its line rows: (wall time, CPU time)."""
        sql, values = self._header(receipt)
        conn = self.conn
        cpu_started = time.thread_time()
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        receipt_id = conn.execute(sql, values).lastrowid
        conn.executemany(self.insert_line, [[receipt_id, *(line[c] for c in LINE_COLUMNS[1:])] for line in lines])
        conn.execute("COMMIT")
        return time.perf_counter() - started, time.thread_time() - cpu_started

    def close(self) -> None:
        self.conn.close()


class KeepAlive:
    """The timed requests' client: one HTTP/1.1 keep-alive connection (``http.client``), JSON in and out.

    The till gets the same requests as from httpx (POST, JSON body, bearer token), but the client
    spends ~0.1 ms on each instead of httpx's ~0.4–0.7 ms, so the times are more the till's own.
    """

    def __init__(self, client: httpx.Client):
        self.conn = http.client.HTTPConnection(client.base_url.host, client.base_url.port, timeout=60)
        self.headers = {"Authorization": client.headers["Authorization"], "Content-Type": "application/json",
                        "Accept": "application/json"}  # fmt: skip

    def post(self, path: str, payload: dict) -> tuple[int, bytes]:
        try:
            self.conn.request("POST", path, json.dumps(payload).encode(), self.headers)  # headers and body: one send
            answer = self.conn.getresponse()
            return answer.status, answer.read()
        except (OSError, http.client.HTTPException) as exc:
            raise RuntimeError(f"POST {path}: {exc!r}") from exc

    def close(self) -> None:
        self.conn.close()


def sell(client: KeepAlive, till: TillProcess, barcodes: list[str]) -> tuple[list[float], float, str, float, float]:
    """Add one line per barcode, then pay the receipt in cash.

    Returns the add-line times, the pay time, the receipt's uuid, and the till process's CPU time
    spent on the add-lines and on the pay.
    """
    timings = []
    view = None
    cpu_started = till.cpu_seconds()
    for barcode in barcodes:
        started = time.perf_counter()
        status, body = client.post("/api/v1/receipt/lines", {"barcode": barcode})
        timings.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"add-line {barcode}: {status} {body.decode(errors='replace')}")
        view = json.loads(body)
    cpu_lines = till.cpu_seconds() - cpu_started
    started = time.perf_counter()
    status, body = client.post("/api/v1/receipt/pay", {"cash": view["total"]})
    pay_time = time.perf_counter() - started
    cpu_pay = till.cpu_seconds() - cpu_started - cpu_lines
    if status != 200 or json.loads(body)["status"] != "paid":
        raise RuntimeError(f"pay: {status} {body.decode(errors='replace')}")
    return timings, pay_time, view["uuid"], cpu_lines, cpu_pay


def ready_to_sell(client: httpx.Client) -> None:
    """A reused data directory may hold a shift over 24 h old (close it) or a half-built receipt (cancel it)."""
    if client.get("/api/v1/shift").json().get("state") == "expired":
        client.post("/api/v1/reports/z").raise_for_status()
    if client.get("/api/v1/receipt").status_code == 200:
        client.post("/api/v1/receipt/cancel").raise_for_status()


def run(args: argparse.Namespace, data: Path) -> None:
    receipts = -(-args.scans // args.lines)
    till = TillProcess(data, args.items, args.port)
    with till:
        console.print(f"till up in {till.started_in:.1f} s (demo seed of {args.items:,} items included on a new data dir)")
        barcodes = sellable_barcodes(till.db_path, (receipts + args.warmup) * args.lines, args.seed)
        raw = RawBaseline(data / "raw-baseline.sqlite3", till.db_path)
        till_db = read_only(till.db_path)
        add_ours: list[float] = []
        add_raw: list[float] = []
        pay_ours: list[float] = []
        pay_raw: list[float] = []
        cpu = {"add ours": 0.0, "add raw": 0.0, "pay ours": 0.0, "pay raw": 0.0}
        with httpx.Client(base_url=till.url, timeout=60) as client:
            login(client, "kassir")
            size = client.get("/api/v1/catalogue").json()
            console.print(f"catalogue: {size['items']:,} items, {size['groups']} groups; logged in as kassir (keep-alive)")
            ready_to_sell(client)
            seller = KeepAlive(client)
        # Redrawn between receipts only: a refresh thread would take the GIL in the middle of timed requests.
        with progress(auto_refresh=False) as bar:
            task = bar.add_task("selling", total=receipts + args.warmup)
            for n in range(receipts + args.warmup):
                chunk = barcodes[n * args.lines : (n + 1) * args.lines]
                timings, pay_time, receipt_uuid, cpu_lines, cpu_pay = sell(seller, till, chunk)
                receipt = till_db.execute("SELECT * FROM receipts WHERE uuid = ?", (receipt_uuid,)).fetchone()
                lines = till_db.execute(
                    "SELECT * FROM receipt_lines WHERE receipt_id = ? ORDER BY line_no", (receipt["id"],)
                ).fetchall()
                raw_lines, raw_lines_cpu = raw.add_lines(receipt, lines)
                raw_pay, raw_pay_cpu = raw.whole_receipt(receipt, lines)
                if n >= args.warmup:
                    add_ours += timings
                    pay_ours.append(pay_time)
                    add_raw += raw_lines
                    pay_raw.append(raw_pay)
                    cpu["add ours"] += cpu_lines
                    cpu["add raw"] += raw_lines_cpu
                    cpu["pay ours"] += cpu_pay
                    cpu["pay raw"] += raw_pay_cpu
                bar.update(task, advance=1, refresh=True)
        seller.close()
        till_db.close()
        raw.close()
    cpu = {name: total / (len(add_ours) if name.startswith("add") else len(pay_ours)) for name, total in cpu.items()}
    add_ours = add_ours[: args.scans]
    add_raw = add_raw[: args.scans]
    report(args, add_ours, add_raw, pay_ours, pay_raw, cpu)


def report(args: argparse.Namespace, add_ours: list[float], add_raw: list[float], pay_ours: list[float],
           pay_raw: list[float], cpu: dict[str, float]) -> None:
    out = table(
        f"Till sale: {args.items:,} items; {len(add_ours)} add-lines by barcode over HTTP; "
        f"{len(pay_ours)} receipts of {args.lines} lines paid",
        ("", "ours", "raw SQLite", "ratio", "target", "result"),
    )
    rows = (
        ("add-line p50", add_ours, add_raw, 50, None),
        ("add-line p99", add_ours, add_raw, 99, ADD_LINE_P99_TARGET),
        ("add-line max", add_ours, add_raw, 100, None),
        (f"pay ({args.lines} lines) p50", pay_ours, pay_raw, 50, PAY_TARGET),
        (f"pay ({args.lines} lines) p99", pay_ours, pay_raw, 99, None),
    )
    for name, ours, raw, q, target in rows:
        value, base = percentile(ours, q), percentile(raw, q)
        out.add_row(name, ms(value), ms(base), ratio(value, base), f"≤ {ms(target)}" if target else "",
                    verdict(value, target) if target else "")  # fmt: skip
    out.add_row("CPU per add-line, mean", ms(cpu["add ours"]), ms(cpu["add raw"]), ratio(cpu["add ours"], cpu["add raw"]), "", "")
    out.add_row("CPU per pay, mean", ms(cpu["pay ours"]), ms(cpu["pay raw"]), ratio(cpu["pay ours"], cpu["pay raw"]), "", "")
    console.print()
    console.print(out)
    console.print(
        "[dim]raw = plain sqlite3, the till's DDL, WAL + synchronous=FULL, the same rows: for add-line one transaction "
        "inserting the line and updating the receipt; for pay one transaction writing the receipt and all its lines. "
        "CPU: the till process (HTTP, auth, service, SQLite) against the raw writer's thread; it does not wait "
        "on the disk, so it is the steadiest figure on a busy machine. ratio = ours / raw.[/]"
    )


def main(argv: list[str] | None = None) -> int:
    return run_in_data_dir(parse_args(argv), run, "icecash-bench-sale-")


if __name__ == "__main__":
    sys.exit(main())
