"""The screen pays, returns and closes the shift through the print service exactly as the JSON API does.

A real print service process drives an emulated Shtrih-M registrar; the registrar's own fiscal
memory says whether a receipt the screen paid was fiscalised, and only once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.helpers import MILK
from tests.printd.conftest import EmulatorProcess
from tests.printd.live import LivePrintd


@pytest.fixture(scope="module")
def registrar(tmp_path_factory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("ui-printing")
    shtrih = EmulatorProcess("shtrih", base / "shtrih.json")
    printd = LivePrintd(base / "printd").configure().start()
    printd.add_printer("fr", type="shtrih", url=shtrih.url, timeout_ms=700)
    try:
        yield {"shtrih": shtrih, "printd": printd}
    finally:
        printd.stop()
        shtrih.stop()


def _screen(client, till, registrar) -> dict[str, str]:
    till.update_settings(None, {"printer": "fr", "printd_host": "127.0.0.1", "printd_port": registrar["printd"].port,
                                "printd_token": registrar["printd"].token})
    assert client.post("/login", data={"login": "kassir", "password": "kassir"}, follow_redirects=False).status_code == 303
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/sale").text).group(1)
    return {"X-CSRF-Token": csrf}


def _fiscal(registrar) -> dict:
    return registrar["shtrih"].state_json()["totals"]["receipts"]


def test_pay_return_drawer_and_z_go_through_the_registrar(client, till, registrar):
    headers = _screen(client, till, registrar)
    before = _fiscal(registrar)
    client.post("/ui/sale/scan", data={"barcode": MILK}, headers=headers)
    pay = {**headers, "Idempotency-Key": "pay-once"}
    paid = client.post("/ui/sale/pay", data={"cash": "100"}, headers=pay)
    assert 'data-paid="1"' in paid.text, paid.text
    again = client.post("/ui/sale/pay", data={"cash": "100"}, headers=pay)  # a retried press
    assert 'data-error=""' in again.text
    assert _fiscal(registrar)["sale"] == before["sale"] + 1

    sale_uuid = re.search(r'data-print-copy="([^"]+)"', client.get("/ui/sale/last").text).group(1)
    form = client.get(f"/ui/returns/{sale_uuid}", headers=headers).text
    idem = re.search(r'name="idem" value="([^"]+)"', form).group(1)
    done = client.post(f"/ui/returns/{sale_uuid}", data={"idem": idem, "q1": "1"}, headers=headers)
    assert 'id="return-result"' in done.text, done.text
    assert _fiscal(registrar)["return"] == before.get("return", 0) + 1

    assert client.post("/ui/drawer", headers=headers).json()["ok"] is True
    assert client.post("/ui/copy", headers=headers).json()["ok"] is True
    z = client.post("/ui/z", data={"idem": "z-once"}, headers=headers)
    assert "report-grid" in z.text and "form-error" not in z.text, z.text


def test_a_printer_failure_is_told_and_nothing_is_paid(client, till, registrar):
    headers = _screen(client, till, registrar)
    shtrih = registrar["shtrih"]
    client.post("/ui/sale/scan", data={"barcode": MILK}, headers=headers)
    shtrih.control("paper-out")
    try:
        answer = client.post("/ui/sale/pay", data={"cash": "100"}, headers={**headers, "Idempotency-Key": "p1"})
        assert "Принтер" in answer.text and 'data-paid=""' in answer.text
    finally:
        shtrih.control("paper-in")
    registrar["printd"].post("/printers/fr/recover")
    answer = client.post("/ui/sale/pay", data={"cash": "100"}, headers={**headers, "Idempotency-Key": "p2"})
    assert 'data-paid="' in answer.text and 'data-paid=""' not in answer.text, answer.text
