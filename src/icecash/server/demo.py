"""The server's part of ``icecash demo``: two demo firms, a week of their sales, the demo till attached.

Only the demo uses this: it creates people with well-known passwords. Idempotent: a second
start finds the firms and only gives the demo till a fresh secret.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from icecash.core.pricefile import CatalogueRow, ExtraBarcodeRow, PriceFile, PriceHeader, StockMode
from icecash.core.vat import VatRate
from icecash.store.db import reading, writing

from .service import Server, utcnow
from .tables import firms, tills

# login, password, role, firm
DEMO_PEOPLE = (
    ("operator", "operator", "operator", None),
    ("romashka", "romashka", "admin", "romashka"),
    ("viewer01", "viewer01", "viewer", "romashka"),
    ("vasilkov", "vasilkov", "admin", "vasilkov"),
)
DEMO_FIRMS = (
    ("romashka", "ООО «Ромашка»", ((1, "Ромашка, ул. Ленина, 1", (1, 2)), (2, "Ромашка, пр. Мира, 15", (1,)))),
    ("vasilkov", "ИП Васильков", ((1, "Васильков, Садовая, 5", (1,)),)),
)
DEMO_TILL = ("romashka", 1, 1)  # the demo till process is this one


@dataclass
class DemoServer:
    server: Server
    url: str
    thread: threading.Thread
    uvicorn_server: Any

    def stop(self) -> None:
        self.uvicorn_server.should_exit = True
        self.thread.join(timeout=10)


def seed_demo_server(server: Server, till: Any, server_url: str) -> None:
    """Firms, shops, tills, people, the price list from the demo till's catalogue, a week of sales;
    and the demo till attached (settings and a fresh secret)."""
    from icecash.till.sync import SyncAgent

    with reading(server.engine) as conn:
        seeded = conn.execute(select(firms.c.id).where(firms.c.regid == DEMO_FIRMS[0][0])).first() is not None
    if not seeded:
        for regid, name, shops in DEMO_FIRMS:
            server.create_firm(None, regid, name)
            for idplace, shop_name, numbers in shops:
                server.create_shop(None, regid, idplace, shop_name)
                for nkassa in numbers:
                    server.create_till(None, regid, idplace, nkassa, f"Касса {nkassa}", "main")
        for login, password, role, regid in DEMO_PEOPLE:
            server.create_user(None, login, password, role, regid, login.capitalize())
        rows, extras = _catalogue_rows(till)
        for regid, _name, _shops in DEMO_FIRMS:
            server.push_price_list(None, regid, "main", PriceFile(PriceHeader(True, StockMode.CLEAR), rows, extras, "json"))
        server.set_variable(None, "romashka", "temperature", "-5")
        server.save_promotion(None, "romashka", {
            "name": "Скидка 10% от 1000 ₽", "if_text": "IF_HEAD_PROPERTY (summa?>=?1000)",
            "then_text": "DO_SET_HEAD_DISCOUNT (DCF,0.10)"})
        _history(server, rows)
    regid, idplace, nkassa = DEMO_TILL
    secret = server.reset_till_secret(None, regid, idplace, nkassa)
    till.update_settings(None, {"server_url": server_url, "regid": regid, "idplace": idplace, "nkassa": nkassa})
    SyncAgent(till).set_secret(secret)


def start_demo_server(data: Path, till: Any, host: str = "127.0.0.1", port: int = 10100) -> DemoServer:
    """Open (or create) the demo server under ``data``, seed it, attach ``till``, and serve it in a thread.

    Call before serving the till (its sync agent starts with the till's app and finds the server).
    """
    import uvicorn

    from .app import create_app, open_server

    server = open_server(data)
    url = f"http://{host}:{port}"
    seed_demo_server(server, till, url)
    config = uvicorn.Config(create_app(server), host=host, port=port, log_level="warning", access_log=False)
    uv = uvicorn.Server(config)
    uv.install_signal_handlers = lambda: None  # the till's server in the main thread owns Ctrl+C
    thread = threading.Thread(target=uv.run, name="icecash-demo-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.05)
    return DemoServer(server, url, thread, uv)


def _catalogue_rows(till: Any) -> tuple[list[CatalogueRow], list[ExtraBarcodeRow]]:
    """The demo till's catalogue as a price list: its items and groups, and their extra barcodes (the
    multi-price items: the till loads the server's list whole, so what the list lacks, the till loses)."""
    from icecash.till.tables import catalogue, extra_barcodes

    rows, extras = [], []
    with reading(till.engine) as conn:
        for n, r in enumerate(conn.execute(select(catalogue).order_by(catalogue.c.code)), 1):
            rows.append(CatalogueRow(n, r.code, r.barcode, r.name, bool(r.is_item), r.parent_code, r.price, r.min_price,
                                     r.max_price, r.max_discount_bp, bool(r.weighed), r.department, VatRate(r.vat),
                                     bool(r.alcohol), r.litres_ml, r.stock, r.item_type, r.scheme, bool(r.no_discount)))
        for n, e in enumerate(conn.execute(select(extra_barcodes).order_by(extra_barcodes.c.id)), len(rows) + 1):
            extras.append(ExtraBarcodeRow(n, e.item_code, e.barcode, e.name, e.price, e.coefficient))
    return rows, extras


def _history(server: Server, rows: list[CatalogueRow], days: int = 7, per_day: int = 25) -> None:
    """A week of receipts from the demo firms' other tills, so the reports have something to show."""
    rng = random.Random(2026)
    items = [r for r in rows if r.is_item and not r.weighed and r.price > 0][:300]
    today = utcnow().replace(hour=9, minute=0, second=0)
    for regid, _name, shops in DEMO_FIRMS:
        for idplace, _shop, numbers in shops:
            for nkassa in numbers:
                if (regid, idplace, nkassa) == DEMO_TILL:
                    continue
                secret = server.reset_till_secret(None, regid, idplace, nkassa)
                _token, till_id, _ = server.till_login(regid, idplace, nkassa, secret)
                batch, number = [], 0
                for day in range(days, 0, -1):
                    for _ in range(per_day):
                        number += 1
                        closed = today - timedelta(days=day, minutes=-rng.randrange(0, 12 * 60))
                        batch.append(_receipt(rng, items, idplace, nkassa, number, closed))
                server.ingest_receipts(till_id, batch)
                with writing(server.engine) as conn:  # history, not contact: these tills were never online
                    conn.execute(update(tills).where(tills.c.id == till_id.id).values(last_contact=None))


def _receipt(rng: random.Random, items: list[CatalogueRow], idplace: int, nkassa: int, number: int,
             closed: datetime) -> dict[str, Any]:
    lines = []
    for line_no, item in enumerate(rng.sample(items, rng.randint(1, 5)), 1):
        quantity = rng.randint(1, 3) * 1000
        total = item.price * quantity // 1000
        lines.append({"line_no": line_no, "code": item.code, "name": item.name, "barcode": item.barcode,
                      "price": item.price, "quantity": quantity, "storno": False, "amount": total, "discount": 0,
                      "total": total, "final_price": item.price, "vat": item.vat.value if item.vat else "none",
                      "vat_amount": 0, "marks": ""})
    total = sum(ln["total"] for ln in lines)
    card = total if rng.random() < 0.4 else 0
    return {"uuid": str(uuid.uuid4()), "kind": "sale", "status": "paid", "number": number, "idplace": idplace,
            "nkassa": nkassa, "shift_uuid": "", "return_of": None, "created_at": closed - timedelta(minutes=1),
            "closed_at": closed, "cashier": "kassir", "seller": "kassir", "card_number": None, "card_rate_bp": 0,
            "amount": total, "discount": 0, "total": total, "cash": total - card, "card": card,
            "cash_given": total - card, "change": 0, "comment": "", "lines": lines}
