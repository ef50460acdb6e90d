#!/usr/bin/env python3
"""Accounting benchmark: --accounts accounts, --lines .st lines rated and checked (issue 7).

Builds an accounting home (``icecash billing init`` layout) with --accounts account directories,
each with ``user.cf`` (two price lists, one with wildcards) and three ``.st`` files holding
--lines lines in all; pays most accounts enough and leaves about 1 % short. Then, timed:

* **rate**: ``convertstat`` of every account — read and sum 1,000,000 ``.st`` lines, price them
  by the lists, replace the month in the ``statistic`` table (SQLite, WAL, synchronous=FULL);
* **check**: the ``daily`` balance check (step 5) — every account's ``warn.cf`` criterion
  ``total() < max(50000, statistic(-.2,.)/3)`` evaluated, ``.count`` files read and written, the
  short accounts warned by mail to a real SMTP server (aiosmtpd) on a free port.

The baseline, measured in the same run: plain ``sqlite3`` with the same durability inserting the
very rows ``convertstat`` wrote, in one transaction (executemany). Ratios are ours / raw.
Target: rate + check ≤ 60 s. A measurement, not a test: it exits 0 either way.

    .venv/bin/python bench/billing.py [--accounts 10000] [--lines 1000000] [--data DIR] [--keep]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, datetime
from pathlib import Path

from _common import REPO, console, data_dir, free_port, progress, raw_connection, ratio, sec, table, verdict

sys.path.insert(0, str(REPO / "src"))

from aiosmtpd.controller import Controller  # noqa: E402

from icecash.billing.convert import convertstat  # noqa: E402
from icecash.billing.engine import Accounting  # noqa: E402
from icecash.billing.example import init_home  # noqa: E402
from icecash.billing.home import Home  # noqa: E402
from icecash.billing.store import Book, open_engine  # noqa: E402
from icecash.core.formula import Month  # noqa: E402
from icecash.store.db import sqlite_url  # noqa: E402

TARGET_S = 60.0
MONTH = Month(2026, 11)
ITEMS = ["receipts", "tills", "storage.mb", "pricelists", "misc.sms", "misc.api", "misc.export", "misc.backup"]


class Counter:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
        self.count += 1
        return "250 OK"


def build(home_path: Path, accounts: int, lines: int, smtp_port: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    init_home(home_path, None)
    config = (home_path / "billing.toml").read_text().replace("port = 25", f"port = {smtp_port}")
    (home_path / "billing.toml").write_text(config)
    (home_path / "warn.cf").write_text(
        "criterion total() < max(50000, statistic(-.2,.)/3)\n0 =warn.fm\n10 =warn-close1.fm\n")
    (home_path / "prices" / "special").write_text("receipts 0.04 1 discounted receipts\ntills 8.00 1\n")
    per_account, extra = divmod(lines, accounts)
    with progress() as bar:
        task = bar.add_task("accounts written", total=accounts)
        for n in range(accounts):
            directory = home_path / "accounts" / f"firm{n:05d}"
            directory.mkdir(parents=True)
            lists = "special standard" if n % 3 == 0 else "standard"
            (directory / "user.cf").write_text(f"prices {lists}\nmail owner{n}@firm.example.ru\n")
            count = per_account + (1 if n < extra else 0)
            files: dict[str, list[str]] = {"receipts.st": [], "tills.st": [], "misc.st": []}
            for _ in range(count):
                item = rng.choice(ITEMS)
                target = "receipts.st" if item == "receipts" else "tills.st" if item == "tills" else "misc.st"
                files[target].append(f"{item} {rng.randint(1, 40)}\n")
            for name, body in files.items():
                (directory / name).write_text("".join(body))
            bar.advance(task)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=None, help="Where to build (default: a temp dir, removed).")
    parser.add_argument("--keep", action="store_true", help="Keep the temp dir.")
    args = parser.parse_args()

    smtp = Counter()
    smtp_port = free_port()
    controller = Controller(smtp, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with data_dir(args.data, args.keep, "icecash-bench-billing-") as data:
            home_path = data / "home"
            console.print(f"[bold]Accounting benchmark[/]: {args.accounts:,} accounts, {args.lines:,} .st lines in {data}")
            build(home_path, args.accounts, args.lines, smtp_port)
            home = Home(home_path)
            engine = open_engine(sqlite_url(home_path / "billing.sqlite3"))
            clock = lambda: datetime(2026, 11, 20, 1, 30)  # noqa: E731
            acc = Accounting(home, engine, clock=clock)
            accounts = home.accounts()
            book = Book(engine)
            # payments: most accounts well in credit, every 100th short of 500.00 ₽
            rng = random.Random(7)
            from icecash.billing.store import payments

            with engine.begin() as conn:
                conn.execute(payments.insert(), [
                    {"account": a, "paid_on": date(2026, 11, 1), "amount": 1000 if i % 100 == 0 else rng.randint(10**6, 10**7),
                     "comment": "", "created_at": datetime(2026, 11, 1)} for i, a in enumerate(accounts)])

            with progress() as bar:
                task = bar.add_task("rate (convertstat)", total=len(accounts))
                began = time.perf_counter()
                result = convertstat(home, book, MONTH, accounts, acc.failures, progress=lambda n: bar.advance(task, n))
                rate_s = time.perf_counter() - began

            with progress() as bar:
                task = bar.add_task("check (warn.cf, .count, mail)", total=1)
                began = time.perf_counter()
                from icecash.billing.engine import DailyReport

                report = DailyReport(clock().date(), MONTH)
                acc._step_check("2026-11-20", report)
                check_s = time.perf_counter() - began
                bar.advance(task)

            # baseline: the same rows, plain sqlite3, one transaction
            rows = [(a, MONTH.year, MONTH.month, r.item, r.quantity, r.price, r.per, r.cost, r.price_list)
                    for a, lines in result.rated.items() for r in lines]
            raw = raw_connection(data / "raw.sqlite3")
            raw.execute("CREATE TABLE statistic (account VARCHAR(64) NOT NULL, year INTEGER NOT NULL, month INTEGER "
                        "NOT NULL, item VARCHAR(128) NOT NULL, quantity BIGINT NOT NULL, price BIGINT NOT NULL, per "
                        "BIGINT NOT NULL, cost BIGINT NOT NULL, price_list VARCHAR(64) NOT NULL, PRIMARY KEY (account, "
                        "year, month, item))")
            began = time.perf_counter()
            raw.execute("BEGIN")
            raw.executemany("INSERT INTO statistic VALUES (?,?,?,?,?,?,?,?,?)", rows)
            raw.execute("COMMIT")
            raw_s = time.perf_counter() - began
            raw.close()
            engine.dispose()

            total_s = rate_s + check_s
            out = table("Results", ["step", "time", "per second", "vs raw insert"])
            out.add_row("rate: .st lines read, priced, stored", sec(rate_s), f"{args.lines / rate_s:,.0f} lines",
                        ratio(rate_s, raw_s))
            out.add_row("check: criteria, .count, warnings", sec(check_s), f"{len(accounts) / check_s:,.0f} accounts",
                        ratio(check_s, raw_s))
            out.add_row("raw sqlite3 insert of the same rows", sec(raw_s), f"{len(rows) / raw_s:,.0f} rows", "1.0×")
            console.print(out)
            console.print(f"statistic rows: {result.rows:,}; warned: {len(report.warned):,} accounts; "
                          f"mails received: {smtp.count:,}; failures logged: {acc.failures.count}")
            console.print(f"rate + check: {sec(total_s)} (target ≤ {TARGET_S:.0f} s) {verdict(total_s, TARGET_S)}")
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
