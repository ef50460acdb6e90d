"""End to end, real processes: a promotion written through the server's admin API reaches a till through
sync ("sync now") and changes the next receipt, its reason in the till's receipt view."""

from __future__ import annotations

import httpx
import pytest

from icecash.core.pricefile import CatalogueRow, PriceFile, PriceHeader, StockMode
from icecash.core.vat import VatRate
from icecash.server.app import open_server
from tests.server.conftest import (
    ServerProcess,
    TillProcess,
    eventually,
    prepare_till,
    two_firms,
)

pytestmark = pytest.mark.slow

ITEMS = [
    CatalogueRow(0, "12", "", "Бакалея", False, None),
    CatalogueRow(0, "1101", "", "Кофе зерновой", True, "12", 95000, max_discount_bp=1000, vat=VatRate.VAT10),
    CatalogueRow(0, "1002", "", "Хлеб", True, "12", 5000, max_discount_bp=1000, vat=VatRate.VAT10),
]
TEN = {"name": "10% от 1000 ₽", "if_text": "IF_HEAD_PROPERTY (summa?>=?1000)", "then_text": "DO_SET_HEAD_DISCOUNT (DCF,0.10)"}


def test_a_promotion_from_the_server_admin_changes_the_next_receipt_on_a_till(tmp_path, monkeypatch):
    from icecash import security
    from tests.helpers import FAST_HASHER

    monkeypatch.setattr(security, "_hasher", FAST_HASHER)
    server = open_server(tmp_path / "server")
    secrets = two_firms(server)
    server.push_price_list(None, "alpha", "main", PriceFile(PriceHeader(True, StockMode.CLEAR), ITEMS, [], "test"))
    central = ServerProcess(tmp_path / "server").start()
    prepare_till(tmp_path / "till", central.url, "alpha", 1, 1, secrets[("alpha", 1, 1)], items=10)
    till = TillProcess(tmp_path / "till").start()
    try:
        cashier = till.client()
        admin = till.admin()

        def sell() -> dict:
            for code in ("1101", "1002"):
                answer = cashier.post("/receipt/lines", json={"code": code})
                assert answer.status_code == 200, answer.text
            paid = cashier.post("/receipt/pay", json={"cash": "1000"})
            assert paid.status_code == 200, paid.text
            return paid.json()

        eventually(lambda: admin.get("/sync/status").json()["price_version"] > 0, 30, 0.2, "the price list on the till")
        before = sell()
        assert (before["total"], before["discount"]) == ("1000.00", "0.00")
        assert all(line["promotions"] == [] for line in before["lines"])

        with httpx.Client(base_url=central.url + "/api/v1", timeout=30) as office:
            token = office.post("/auth/login", json={"login": "alpha-admin", "password": "alpha-pass"}).json()["token"]
            office.headers["Authorization"] = f"Bearer {token}"
            typo = office.post("/firms/alpha/promotions", json={**TEN, "then_text": "DO_SET_HEAD_DISCONT (DCF,0.10)"})
            assert typo.status_code == 422 and typo.json()["error"]["details"] == {"line": 1, "column": 1}
            created = office.post("/firms/alpha/promotions", json=TEN)
            assert created.status_code == 201, created.text

        assert admin.post("/sync/now").status_code == 200
        eventually(lambda: any(p["name"] == TEN["name"] for p in _promotions(tmp_path)), 30, 0.2, "the promotion on the till")
        after = sell()
        assert (after["amount"], after["discount"], after["total"]) == ("1000.00", "100.00", "900.00")
        for line in after["lines"]:
            assert [(r["name"], r["reason_ru"]) for r in line["promotions"]] == [
                ("10% от 1000 ₽", "Акция «10% от 1000 ₽»: скидка 10% (DCF)")]
        shown = cashier.get(f"/receipts/{after['uuid']}").json()
        assert shown["lines"] == after["lines"] and shown["total"] == "900.00"
        # the paid receipt reaches the server as it was paid
        eventually(lambda: _server_total(central.url, after["uuid"]) == 90000, 30, 0.3, "the receipt on the server")
    finally:
        till.stop()
        central.stop()


def _promotions(tmp_path) -> list[dict]:
    import sqlite3

    conn = sqlite3.connect(f"file:{tmp_path / 'till' / 'till.sqlite3'}?mode=ro", uri=True)
    try:
        return [{"name": name} for (name,) in conn.execute("SELECT name FROM server_promotions")]
    finally:
        conn.close()


def _server_total(url: str, uuid: str) -> int | None:
    with httpx.Client(base_url=url + "/api/v1", timeout=30) as office:
        token = office.post("/auth/login", json={"login": "alpha-admin", "password": "alpha-pass"}).json()["token"]
        answer = office.get(f"/firms/alpha/receipts/{uuid}", headers={"Authorization": f"Bearer {token}"})
        return answer.json()["total"] if answer.status_code == 200 else None
