#!/usr/bin/env python3
"""Server ingest benchmark: receipts per second through the tills' HTTP exchange, beside raw inserts.

Starts a real ``icecash server`` process (uvicorn) on SQLite (WAL, synchronous=FULL) and, when it
is reachable, on PostgreSQL (127.0.0.1:5432, database ``test``, a schema of its own dropped at the
end). A till logs in and uploads --batches batches of 100 receipts of 5 lines each
(``POST /api/v1/exchange/receipts``, one keep-alive connection, the JSON made before the clock
starts), back to back.

The baseline, in the same run and the same database engine: the very same rows inserted with the
plain driver into tables made by the server's own migrations, one transaction per batch of 100
receipts — sqlite3 ``executemany`` of the receipts, then of their lines; psycopg ``COPY`` of both
(the fastest plain way on each engine, as the server itself uses).

Targets (issue 5): ≥ 3,000 receipts/s and ≥ 30 % of the raw rate. A measurement, not a test: exits 0.

    .venv/bin/python bench/server_ingest.py [--batches 100] [--no-postgres] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from _common import REPO, console, data_dir, free_port, table

RATE_TARGET = 3000.0
RATIO_TARGET = 0.30
PG_URL = "postgresql+psycopg://{user}@127.0.0.1:5432/test"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Receipts/s through the server's exchange API beside raw inserts.")
    parser.add_argument("--batches", type=int, default=100, help="batches of 100 receipts (default: %(default)s)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--data", type=Path, default=None, help="data directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory")
    return parser.parse_args()


def make_batches(count: int) -> list[list[dict]]:
    start = datetime(2026, 11, 20, 9, 0, 0)
    batches, number = [], 0
    for _ in range(count):
        batch = []
        for _ in range(100):
            number += 1
            closed = start + timedelta(seconds=number)
            lines = [{"line_no": n, "code": str(100_000 + (number * 7 + n) % 5000), "name": f"Товар №{n}",
                      "barcode": "", "price": 4990 + n, "quantity": 1000, "storno": False, "amount": 4990 + n,
                      "discount": 0, "total": 4990 + n, "final_price": 4990 + n, "vat": "20", "vat_amount": 832,
                      "marks": ""} for n in range(1, 6)]
            total = sum(line["total"] for line in lines)
            batch.append({"uuid": str(uuid.uuid4()), "kind": "sale", "status": "paid", "number": number, "idplace": 1,
                          "nkassa": 1, "shift_uuid": "", "return_of": None,
                          "created_at": (closed - timedelta(minutes=1)).isoformat(), "closed_at": closed.isoformat(),
                          "cashier": "kassir", "seller": "kassir", "card_number": None, "card_rate_bp": 0,
                          "amount": total, "discount": 0, "total": total, "cash": total, "card": 0, "cash_given": total,
                          "change": 0, "comment": "", "lines": lines})
        batches.append(batch)
    return batches


def pg_base() -> str | None:
    from sqlalchemy import create_engine, text

    for user in ("postgres", "root"):
        url = PG_URL.format(user=user)
        try:
            engine = create_engine(url, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            return url
        except Exception:  # noqa: BLE001
            continue
    return None


def prepare(url: str) -> str:
    """The server's schema at ``url`` with firm bench / shop 1 / till 1; the till's secret."""
    from icecash.server.service import Server
    from icecash.store.db import make_engine
    from icecash.store.migrate import upgrade

    engine = make_engine(url)
    upgrade("icecash.server.migrations", engine)
    server = Server(engine)
    server.create_firm(None, "bench", "Bench")
    server.create_shop(None, "bench", 1, "Shop")
    secret = server.create_till(None, "bench", 1, 1, "Till")
    engine.dispose()
    return secret


def http_rate(data: Path, url: str, secret: str, bodies: list[bytes]) -> tuple[float, float]:
    """(receipts/s, seconds) of uploading ``bodies`` to a real server process over one connection."""
    port = free_port()
    log = data / f"server-{port}.log"
    command = [sys.executable, "-m", "icecash.cli", "server", "--data", str(data / "srv"), "--port", str(port),
               "--db", url, "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT, cwd=REPO)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError(log.read_text()[-2000:]) from None
                time.sleep(0.1)
        token = httpx.post(f"http://127.0.0.1:{port}/api/v1/exchange/auth",
                           json={"regid": "bench", "idplace": 1, "nkassa": 1, "secret": secret}).json()["token"]
        conn = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        began = time.perf_counter()
        for body in bodies:
            conn.request("POST", "/api/v1/exchange/receipts", body=body, headers=headers)
            answer = conn.getresponse()
            payload = answer.read()
            if answer.status != 200:
                raise RuntimeError(payload[:500])
        elapsed = time.perf_counter() - began
        conn.close()
        return len(bodies) * 100 / elapsed, elapsed
    finally:
        process.terminate()
        process.wait(15)


RECEIPT_COLUMNS = ("id", "uuid", "firm_id", "shop_id", "till_id", "kind", "status", "number", "shift_uuid", "return_of",
                   "created_at", "closed_at", "business_date", "received_at", "cashier", "seller", "card_number",
                   "card_rate_bp", "amount", "discount", "total", "cash", "card", "cash_given", "change", "comment")
LINE_COLUMNS = ("receipt_id", "line_no", "code", "name", "barcode", "price", "quantity", "storno", "amount", "discount",
                "total", "final_price", "vat", "vat_amount", "marks")


def raw_rows(batches: list[list[dict]], first_id: int) -> list[tuple[list[tuple], list[tuple]]]:
    out, rid = [], first_id
    now = datetime.now().replace(microsecond=0)
    for batch in batches:
        receipts, lines = [], []
        for r in batch:
            closed = datetime.fromisoformat(r["closed_at"])
            receipts.append((rid, str(uuid.uuid4()), 1, 1, 1, r["kind"], r["status"], r["number"], "", None,
                             datetime.fromisoformat(r["created_at"]), closed, closed.date(), now, r["cashier"],
                             r["seller"], None, 0, r["amount"], r["discount"], r["total"], r["cash"], r["card"],
                             r["cash_given"], r["change"], ""))
            lines += [(rid, ln["line_no"], ln["code"], ln["name"], ln["barcode"], ln["price"], ln["quantity"], False,
                       ln["amount"], ln["discount"], ln["total"], ln["final_price"], ln["vat"], ln["vat_amount"],
                       ln["marks"]) for ln in r["lines"]]
            rid += 1
        out.append((receipts, lines))
    return out


def raw_sqlite(path: Path, batches: list[list[dict]]) -> tuple[float, float]:
    import sqlite3

    prepare(f"sqlite:///{path}")
    rows = raw_rows(batches, 1)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    r_sql = f"INSERT INTO receipts ({','.join(RECEIPT_COLUMNS)}) VALUES ({','.join('?' * len(RECEIPT_COLUMNS))})"
    l_sql = f"INSERT INTO receipt_lines ({','.join(LINE_COLUMNS)}) VALUES ({','.join('?' * len(LINE_COLUMNS))})"
    began = time.perf_counter()
    for receipts, lines in rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(r_sql, receipts)
        conn.executemany(l_sql, lines)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return len(batches) * 100 / elapsed, elapsed


def raw_postgres(base: str, schema: str, batches: list[list[dict]]) -> tuple[float, float]:
    import psycopg

    prepare(f"{base}?options=-csearch_path%3D{schema}")
    rows = raw_rows(batches, 1)
    dsn = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, options=f"-csearch_path={schema}") as conn:
        r_sql = f"COPY receipts ({','.join(RECEIPT_COLUMNS)}) FROM STDIN"
        l_sql = f"COPY receipt_lines ({','.join(LINE_COLUMNS)}) FROM STDIN"
        began = time.perf_counter()
        for receipts, lines in rows:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(r_sql) as copy:
                    for row in receipts:
                        copy.write_row(row)
                with cur.copy(l_sql) as copy:
                    for row in lines:
                        copy.write_row(row)
        elapsed = time.perf_counter() - began
    return len(batches) * 100 / elapsed, elapsed


def pg_schema(base: str, create: bool, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"' if create else f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


def main() -> int:
    args = parse_args()
    with console.status("making the receipts…"):
        batches = make_batches(args.batches)
        bodies = [json.dumps({"receipts": b}, ensure_ascii=False).encode() for b in batches]
    results = []
    with data_dir(args.data, args.keep, "icecash-bench-ingest-") as data:
        with console.status("SQLite: HTTP ingest…"):
            secret = prepare(f"sqlite:///{data / 'srv.sqlite3'}")
            ours = http_rate(data, f"sqlite:///{data / 'srv.sqlite3'}", secret, bodies)
        with console.status("SQLite: raw inserts…"):
            raw = raw_sqlite(data / "raw.sqlite3", batches)
        results.append(("SQLite", ours, raw))
        base = None if args.no_postgres else pg_base()
        if base is None and not args.no_postgres:
            console.print("[yellow]PostgreSQL not reachable at 127.0.0.1:5432: SQLite only[/]")
        if base:
            tag = uuid.uuid4().hex[:8]
            server_schema, raw_schema = f"bench_srv_{tag}", f"bench_raw_{tag}"
            pg_schema(base, True, server_schema)
            pg_schema(base, True, raw_schema)
            try:
                with console.status("PostgreSQL: HTTP ingest…"):
                    url = f"{base}?options=-csearch_path%3D{server_schema}"
                    secret = prepare(url)
                    ours = http_rate(data, url, secret, bodies)
                with console.status("PostgreSQL: raw inserts…"):
                    raw = raw_postgres(base, raw_schema, batches)
                results.append(("PostgreSQL", ours, raw))
            finally:
                pg_schema(base, False, server_schema)
                pg_schema(base, False, raw_schema)
    out = table(f"Server ingest: {args.batches} batches × 100 receipts × 5 lines", (
        "engine", "HTTP receipts/s", "raw receipts/s", "ours / raw", f"≥ {RATE_TARGET:,.0f}/s", f"≥ {RATIO_TARGET:.0%} of raw"))
    for engine, (rate, _), (raw_rate, _) in results:
        ratio = rate / raw_rate
        out.add_row(engine, f"{rate:,.0f}", f"{raw_rate:,.0f}", f"{ratio:.0%}",
                    "[bold green]PASS[/]" if rate >= RATE_TARGET else "[bold red]MISS[/]",
                    "[bold green]PASS[/]" if ratio >= RATIO_TARGET else "[bold red]MISS[/]")
    console.print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
