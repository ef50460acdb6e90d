#!/usr/bin/env python3
"""Server reports benchmark: the report queries over millions of receipts, with and without their indexes.

Fills a server database (SQLite, the server's own migrations) with --receipts receipts of 3 lines,
spread over --days days, 20 shops and 60 tills of one firm, plus another firm's receipts in
between (plain sqlite3 inserts: this is data making, not what is measured). Then times what the
report pages and the back office ask, through the server's own use-cases:

- revenue of the last 30 days by day, by shop, by till;
- top items of the last 7 days;
- one page (100) of yesterday's receipts of one shop, and of one till;
- Z reports of a month not yet exported.

Baseline in the same run: the same queries on the same data after dropping the report indexes
(``ix_receipts_*``, ``ix_z_reports_*``) — the full scans the indexes save. A measurement, not a
test: exits 0. Target: every report ≤ 1 s at a million receipts.

    .venv/bin/python bench/server_reports.py [--receipts 1000000] [--days 365] [--keep]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from _common import console, data_dir, progress, table

TARGET = 1.0
INDEXES = ("ix_receipts_firm_date", "ix_receipts_shop_date", "ix_receipts_till_date", "ix_receipts_firm_id",
           "ix_z_reports_firm_date", "ix_z_reports_firm_exported")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Report queries over many receipts, with and without indexes.")
    parser.add_argument("--receipts", type=int, default=1_000_000, help="receipts of the measured firm (default: %(default)s)")
    parser.add_argument("--days", type=int, default=365, help="days they spread over (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=None, help="data directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory")
    return parser.parse_args()


def fill(path: Path, receipts: int, days: int) -> date:
    """The server's schema and data; returns the last business day."""
    from icecash.server.app import open_server

    server = open_server(path.parent)
    server.create_firm(None, "big", "Big chain")
    server.create_firm(None, "other", "Other")
    for idplace in range(1, 21):
        server.create_shop(None, "big", idplace, f"Shop {idplace}")
        for nkassa in (1, 2, 3):
            server.create_till(None, "big", idplace, nkassa)
    server.create_shop(None, "other", 1, "Other shop")
    server.create_till(None, "other", 1, 1)
    server.engine.dispose()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")  # data making only
    tills = conn.execute("SELECT tills.id, tills.firm_id, tills.shop_id FROM tills ORDER BY tills.id").fetchall()
    big = [t for t in tills if t[1] == 1]
    other = [t for t in tills if t[1] == 2]
    last = date(2026, 11, 20)
    rng = random.Random(7)
    rid = 0
    with progress() as bar:
        task = bar.add_task("making receipts", total=receipts)
        chunk = 20_000
        for start in range(0, receipts, chunk):
            rows, lines = [], []
            for n in range(start, min(receipts, start + chunk)):
                rid += 1
                day = last - timedelta(days=days - 1 - n * days // receipts)
                till = big[rng.randrange(len(big))] if n % 10 else other[0]
                closed = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randrange(8 * 3600, 22 * 3600))
                stamp = closed.isoformat(" ", "microseconds")
                total = 0
                for line_no in (1, 2, 3):
                    price = 1000 + rng.randrange(0, 50_000, 10)
                    total += price
                    lines.append((rid, line_no, str(100_000 + rng.randrange(20_000)), f"Товар {line_no}", "", price, 1000, 0,
                                  price, 0, price, price, "20", price // 6, ""))
                rows.append((rid, str(uuid.uuid4()), till[1], till[2], till[0], "sale" if n % 50 else "return", "paid", n,
                             "", None, stamp, stamp, day.isoformat(), stamp, "kassir", "kassir", None, 0, total, 0, total,
                             total, 0, total, 0, ""))
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO receipts VALUES ({','.join('?' * 26)})", rows)
            conn.executemany("INSERT INTO receipt_lines (receipt_id, line_no, code, name, barcode, price, quantity, storno, "
                             f"amount, discount, total, final_price, vat, vat_amount, marks) VALUES ({','.join('?' * 15)})", lines)
            conn.execute("COMMIT")
            bar.update(task, completed=min(receipts, start + chunk))
    zid = 0
    conn.execute("BEGIN")
    for offset in range(days):
        day = last - timedelta(days=offset)
        for till in big:
            zid += 1
            conn.execute(
                "INSERT INTO z_reports VALUES (?,?,?,?,?,?,?,?,?,0,0,0,0,0,0,0,0,0,0,0,0,0,?,?)",
                (zid, str(uuid.uuid4()), till[1], till[2], till[0], offset + 1, f"{day} 08:00:00.000000",
                 f"{day} 22:00:00.000000", day.isoformat(), f"{day} 22:00:00.000000",
                 None if offset < 40 else f"{day} 23:00:00.000000"))
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return last


def measure(path: Path, last: date) -> dict[str, float]:
    from icecash.server.service import Actor, Server
    from icecash.store.db import make_engine

    server = Server(make_engine(f"sqlite:///{path}"))
    actor = Actor(0, "bench", "bench", "operator", None)
    month, week, yesterday = last - timedelta(days=29), last - timedelta(days=6), last - timedelta(days=1)
    queries = {
        "revenue 30 days by day": lambda: server.revenue(actor, "big", month, last, "day"),
        "revenue 30 days by shop": lambda: server.revenue(actor, "big", month, last, "shop"),
        "revenue 30 days by till": lambda: server.revenue(actor, "big", month, last, "till"),
        "top items, 7 days": lambda: server.top_items(actor, "big", week, last),
        "receipts of a shop, yesterday (page)": lambda: server.receipts_page(
            actor, "big", date_from=yesterday, date_to=yesterday, idplace=7, limit=100),
        "receipts of a till, yesterday (page)": lambda: server.receipts_page(
            actor, "big", date_from=yesterday, date_to=yesterday, idplace=7, nkassa=2, limit=100),
        "Z not exported, a month": lambda: server.z_list(actor, "big", month, last, False),
    }
    out = {}
    for name, query in queries.items():
        query()  # warm the cache: both sides measured warm
        began = time.perf_counter()
        query()
        out[name] = time.perf_counter() - began
    server.engine.dispose()
    return out


def main() -> int:
    args = parse_args()
    with data_dir(args.data, args.keep, "icecash-bench-reports-") as data:
        path = data / "server.sqlite3"
        last = fill(path, args.receipts, args.days)
        with console.status("queries with the indexes…"):
            ours = measure(path, last)
        conn = sqlite3.connect(path)
        for name in INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {name}")
        conn.commit()
        conn.close()
        with console.status("queries without them…"):
            bare = measure(path, last)
    result = table(f"Reports over {args.receipts:,} receipts ({args.days} days, 60 tills) + another firm's",
                   ("query", "with indexes", "without", "ours / without", f"≤ {TARGET:.0f} s"))
    for name, seconds in ours.items():
        result.add_row(name, f"{seconds * 1000:,.1f} ms", f"{bare[name] * 1000:,.1f} ms", f"{seconds / bare[name]:.2f}×",
                       "[bold green]PASS[/]" if seconds <= TARGET else "[bold red]MISS[/]")
    console.print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
