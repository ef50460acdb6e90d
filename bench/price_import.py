#!/usr/bin/env python3
"""Price import benchmark: a 100,000-item ``.spr`` into a till, beside a raw SQLite bulk insert.

Generates a replace-the-catalogue price file of --items items in 110 groups plus --extras extra
barcode lines (``#code;barcode;name;;price;koef``), writes it with ``write_spr`` (cp1251), then:

* ours: ``parse_spr`` of the bytes, then ``Till.import_price_file`` into a new till's database
  (created and migrated by ``open_till``: WAL, synchronous=FULL, one all-or-nothing transaction),
  timed apart and together — the issue's target, ≤ 5 s, is for the sum;
* raw: plain ``sqlite3`` ``executemany`` of the same rows, already as tuples, into tables created
  with the till's own DDL (indexes included), in one transaction on a WAL/FULL database.

Unless --no-http, it also times the same file uploaded to a running till over HTTP
(``POST /api/v1/catalogue/import`` as the demo admin; upload, parse and import together) and
re-imported in place as an update (``sheme_record=update``: upsert by code). These rows are for
information, without a target.

Ratios are ours / raw. A measurement, not a test: it exits 0 whether the target is met or not.

    .venv/bin/python bench/price_import.py [--items 100000] [--extras 5000] [--data DIR] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx

from _common import (
    TillProcess,
    big_price_file,
    console,
    copy_schema,
    login,
    ratio,
    run_in_data_dir,
    raw_connection,
    sec,
    table,
    verdict,
)

TARGET = 5.0
CATALOGUE_COLUMNS = ("code", "parent_code", "is_item", "name", "search_name", "barcode", "price", "min_price",
                     "max_price", "max_discount_bp", "weighed", "department", "vat", "alcohol", "litres_ml", "stock",
                     "item_type", "scheme", "no_discount")  # fmt: skip
EXTRA_COLUMNS = ("item_code", "barcode", "name", "price", "coefficient")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="A big .spr price file imported into a till (parse + insert), beside a raw SQLite bulk insert.",
    )
    parser.add_argument("--items", type=int, default=100_000, help="items in the price file (default: %(default)s)")
    parser.add_argument("--extras", type=int, default=5_000, help="extra barcode lines (default: %(default)s)")
    parser.add_argument("--data", type=Path, default=None, help="data directory (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temp data directory (the .spr, the databases)")
    parser.add_argument("--no-http", action="store_true", help="skip the upload to a running till")
    args = parser.parse_args(argv)
    if args.items < 1 or args.extras < 0:
        parser.error("--items must be at least 1 and --extras not negative")
    return args


def raw_rows(price_file) -> tuple[list[tuple], list[tuple]]:
    """The rows the till stores, as plain tuples (the till's default VAT: none; .spr has no VAT column)."""
    items = [
        (r.code, r.parent_code, r.is_item, r.name, r.name.casefold(), r.barcode, r.price, r.min_price, r.max_price,
         r.max_discount_bp, r.weighed, r.department, r.vat.value if r.vat is not None else "none", r.alcohol,
         r.litres_ml, r.stock, r.type, r.scheme, False)
        for r in price_file.rows
    ]  # fmt: skip
    extras = [(e.item_code, e.barcode, e.name, e.price, e.coefficient) for e in price_file.extra_barcodes]
    return items, extras


def raw_import(path: Path, till_db: Path, items: list[tuple], extras: list[tuple]) -> float:
    conn = raw_connection(path)
    copy_schema(till_db, conn, ("catalogue", "extra_barcodes"))
    insert_items = f"INSERT INTO catalogue ({','.join(CATALOGUE_COLUMNS)}) VALUES ({','.join('?' * len(CATALOGUE_COLUMNS))})"
    insert_extras = f"INSERT INTO extra_barcodes ({','.join(EXTRA_COLUMNS)}) VALUES ({','.join('?' * len(EXTRA_COLUMNS))})"
    started = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(insert_items, items)
    conn.executemany(insert_extras, extras)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def http_imports(data: Path, spr: bytes, update_spr: bytes) -> tuple[float, float]:
    """Upload the file to a running till (replacing its demo catalogue), then again as an update."""
    with TillProcess(data, items=10) as till, httpx.Client(base_url=till.url, timeout=600) as client:
        login(client, "admin")
        timings = []
        for body in (spr, update_spr):
            with console.status(f"uploading {len(body) / 1e6:.1f} MB to the till…"):
                started = time.perf_counter()
                answer = client.post("/api/v1/catalogue/import", params={"filename": "price.spr"}, content=body,
                                     headers={"Content-Type": "application/octet-stream"})  # fmt: skip
                timings.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise RuntimeError(f"import over HTTP: {answer.status_code} {answer.text[:500]}")
        return timings[0], timings[1]


def run(args: argparse.Namespace, data: Path) -> None:
    from icecash.core.pricefile import PriceHeader, StockMode, parse_spr, write_spr
    from icecash.till.app import DB_FILE, open_till

    price_file = big_price_file(args.items, args.extras)
    with console.status("writing the .spr…"):
        spr = write_spr(price_file)
        update_spr = write_spr(replace(price_file, header=PriceHeader(replace_catalogue=False, stock_mode=StockMode.ADD)))
    spr_path = data / "price.spr"
    spr_path.write_bytes(spr)
    console.print(f"{spr_path}: {len(price_file.rows):,} rows ({args.items:,} items), {args.extras:,} extra barcodes, "
                  f"{len(spr) / 1e6:.1f} MB cp1251")  # fmt: skip

    with console.status("parse_spr…"):
        started = time.perf_counter()
        parsed = parse_spr(spr_path.read_bytes())
        parse_time = time.perf_counter() - started
    shutil.rmtree(data / "ours", ignore_errors=True)  # a new till every run, also in a reused --data
    till = open_till(data / "ours")
    with console.status("Till.import_price_file…"):
        started = time.perf_counter()
        result = till.import_price_file(None, parsed)
        insert_time = time.perf_counter() - started
    till.engine.dispose()
    if result["rows"] != len(price_file.rows) or result["extra_barcodes"] != args.extras:
        raise RuntimeError(f"the till imported {result}, not what was written")

    items, extras = raw_rows(parsed)
    with console.status("raw sqlite3 executemany…"):
        raw_time = raw_import(data / "raw-baseline.sqlite3", data / "ours" / DB_FILE, items, extras)

    http = None if args.no_http else http_imports(data, spr, update_spr)
    report(args, parse_time, insert_time, raw_time, http)


def report(args: argparse.Namespace, parse_time: float, insert_time: float, raw_time: float,
           http: tuple[float, float] | None) -> None:
    out = table(
        f"Price import: {args.items:,} items + {args.extras:,} extra barcodes from .spr",
        ("", "ours", "raw SQLite", "ratio", "target", "result"),
    )
    total = parse_time + insert_time
    out.add_row("parse_spr", sec(parse_time), "", "", "", "")
    out.add_row("Till.import_price_file", sec(insert_time), sec(raw_time), ratio(insert_time, raw_time), "", "")
    out.add_row("parse + import", sec(total), sec(raw_time), ratio(total, raw_time), f"≤ {TARGET:.0f} s", verdict(total, TARGET))
    if http is not None:
        out.add_row("HTTP upload, replace", sec(http[0]), sec(raw_time), ratio(http[0], raw_time), "", "")
        out.add_row("HTTP upload, update (upsert)", sec(http[1]), sec(raw_time), ratio(http[1], raw_time), "", "")
    console.print()
    console.print(out)
    console.print(
        "[dim]raw = plain sqlite3 executemany of the same rows (as ready tuples), the till's DDL with its indexes, "
        "one transaction, WAL + synchronous=FULL. ratio = ours / raw.[/]"
    )


def main(argv: list[str] | None = None) -> int:
    return run_in_data_dir(parse_args(argv), run, "icecash-bench-import-")


if __name__ == "__main__":
    sys.exit(main())
