#!/usr/bin/env python3
"""Printing benchmark, part 2: fiscal receipts per second through the print service.

A real ``icecash printd`` process drives a real Shtrih-M emulator process over a pty at 115200
baud; a client posts 20-line receipts to ``POST /api/v1/printers/fr/receipt`` one after another
(each fiscalised: open, 20 × FF46h, FF45h close, status polls). Beside it, the wire's limit: the
bytes one receipt puts on the line (both ways, counted on the driver's transport in the same run)
÷ the line speed (10 bits a byte at 8N1). A pty does not slow bytes down to the baud rate, so the
service may beat a real line; the ratio says how much of a real 115200 line one receipt needs.

A measurement, not a test: it exits 0 whatever the figures.

    .venv/bin/python bench/printing_service.py [--receipts 200]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from _common import REPO, console, data_dir, free_port, ratio, table

BAUD = 115200
BITS_PER_BYTE = 10  # start + 8 data + stop


def receipt(lines: int = 20) -> dict:
    return {
        "kind": "sale",
        "lines": [{"name": f"Товар номер {i:02d} с длинным названием", "price": 1990 + i * 10, "quantity": 1000 + (i % 3) * 500,
                   "vat": ("20", "10", "none")[i % 3], "department": 1 + i % 4} for i in range(lines)],
        "cash": 10_000_000, "card": 0, "cashier": {"name": "Иванова А. А."},
    }


def cli(data: Path, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "icecash.cli", "printd", *args, "--data", str(data)],
                          capture_output=True, text=True, cwd=REPO, check=True)
    return done.stdout.strip()


def wire_bytes(url: str, doc: dict) -> int:
    """Bytes on the line (written + read) for one fiscal receipt, through the service's own device code."""
    from icecash.printd.devices import ShtrihDevice, parse_receipt

    device = ShtrihDevice.open({"name": "fr", "type": "shtrih", "url": url, "timeout_ms": 3000, "cashier_password": 1,
                                "admin_password": 30, "width": 36})
    transport = device.driver.transport
    counted = {"n": 0}
    write, read_some = transport._write, transport._read_some

    def counting_write(data: bytes) -> None:
        counted["n"] += len(data)
        write(data)

    def counting_read(size: int, timeout: float) -> bytes:
        data = read_some(size, timeout)
        counted["n"] += len(data)
        return data

    transport._write, transport._read_some = counting_write, counting_read
    try:
        device.op_receipt(parse_receipt(doc))
    finally:
        device.close()
    return counted["n"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--receipts", type=int, default=200, help="receipts fiscalised (200)")
    parser.add_argument("--data", type=Path, default=None, help="keep the data here")
    args = parser.parse_args(argv)
    with data_dir(args.data, False, "icecash-bench-printd-") as base:
        emulator = subprocess.Popen([sys.executable, "-m", "icecash.cli", "emulator", "shtrih", "--pty",
                                     "--state", str(base / "shtrih.json")], stdout=subprocess.PIPE, text=True)
        pty = emulator.stdout.readline().strip() if emulator.stdout else ""
        url = f"serial:{pty}?baudrate={BAUD}"
        cli(base / "printd", "admin-password", "--password", "bench-admin-1")
        token = cli(base / "printd", "token", "add", "bench")
        cli(base / "printd", "printer", "set", "fr", "--type", "shtrih", "--url", url)
        port = free_port()
        printd = subprocess.Popen([sys.executable, "-m", "icecash.cli", "printd", "--data", str(base / "printd"),
                                   "--port", str(port), "--log-level", "warning"], cwd=REPO,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=60,
                              headers={"Authorization": f"Bearer {token}"}) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        if client.get("/health").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError("printd did not start")
                    time.sleep(0.1)
                doc = receipt()
                for _ in range(3):  # warm-up (and the shift is opened)
                    client.post("/printers/fr/receipt", json={"receipt": doc}).raise_for_status()
                with console.status(f"fiscalising {args.receipts} receipts …"):
                    started = time.perf_counter()
                    for _ in range(args.receipts):
                        client.post("/printers/fr/receipt", json={"receipt": doc}).raise_for_status()
                    elapsed = time.perf_counter() - started
            printd.terminate()
            printd.wait(10)
            per_receipt_bytes = wire_bytes(url, doc)
        finally:
            if printd.poll() is None:
                printd.terminate()
            emulator.terminate()
            emulator.wait(10)
    rate = args.receipts / elapsed
    wire_seconds = per_receipt_bytes * BITS_PER_BYTE / BAUD
    out = table(f"Fiscal 20-line receipts through the print service (Shtrih-M emulator, pty, {BAUD} baud)",
                ["", "ms / receipt", "receipts / s"])
    out.add_row("IceCash printd (HTTP → driver → pty)", f"{elapsed / args.receipts * 1000:.1f}", f"{rate:.1f}")
    out.add_row(f"wire limit ({per_receipt_bytes} bytes × {BITS_PER_BYTE} bits ÷ {BAUD})", f"{wire_seconds * 1000:.1f}",
                f"{1 / wire_seconds:.1f}")
    out.add_row("ratio service time / wire time", ratio(elapsed / args.receipts, wire_seconds), "")
    console.print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
