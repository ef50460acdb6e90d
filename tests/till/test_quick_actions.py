"""The receipt's everyday actions run on the event loop, yet never stall it waiting for another writer.

A real till process; another connection holds the database's write lock, as a long price
import would. A scan sent then must not freeze the service: other requests (health, reading
the receipt, a second user's screen) are answered meanwhile, and the scan itself lands,
answered 200, once the lock is released: it backed off to a worker thread and waited there.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import pytest

from icecash.till.app import DB_FILE
from tests.conftest import login

pytestmark = pytest.mark.slow

MILK = "4601234567893"  # demo item 1001


def test_a_scan_waiting_for_the_lock_does_not_stall_the_service(live_till):
    cashier = httpx.Client(base_url=live_till.url, timeout=30)
    cashier.headers.update(login(cashier, "kassir"))
    seller = httpx.Client(base_url=live_till.url, timeout=30)
    seller.headers.update(login(seller, "seller"))
    assert cashier.post("/api/v1/receipt/scan", json={"barcode": MILK}).status_code == 200

    holder = sqlite3.connect(live_till.data / DB_FILE, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    answers: list[httpx.Response] = []
    scan = threading.Thread(target=lambda: answers.append(cashier.post("/api/v1/receipt/scan", json={"barcode": MILK})))
    try:
        scan.start()
        time.sleep(0.5)  # the scan has arrived and is waiting for the lock
        assert not answers, "the scan did not wait for the lock"
        for probe in (lambda: httpx.get(f"{live_till.url}/api/v1/health", timeout=2),
                      lambda: seller.get("/api/v1/receipts/deferred", timeout=2)):
            started = time.monotonic()
            assert probe().status_code == 200
            assert time.monotonic() - started < 1.5, "the service stalled behind the waiting scan"
    finally:
        holder.execute("COMMIT")
        holder.close()
    scan.join(15)
    assert answers and answers[0].status_code == 200, answers and answers[0].text
    lines = answers[0].json()["lines"]
    assert [(line["code"], line["quantity"]) for line in lines] == [("1001", "1.000"), ("1001", "1.000")]
    cashier.close()
    seller.close()
