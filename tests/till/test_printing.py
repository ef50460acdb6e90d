"""The till prints through a real print service process driving real emulator processes over a pty.

Paper out and power loss are injected in the Shtrih-M emulator mid-receipt; every test checks on
the emulator's own fiscal memory that a receipt is fiscalised exactly once and never lost.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from icecash.store.db import reading
from icecash.till import printing
from icecash.till.tables import receipts
from tests.conftest import login
from tests.helpers import API, BREAD, MILK, ok, refused
from tests.printd.conftest import EmulatorProcess
from tests.printd.live import LivePrintd


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[dict]:
    """One print service with an emulated Shtrih-M ("fr") and ESC/POS printer ("esc")."""
    base = tmp_path_factory.mktemp("printing")
    shtrih = EmulatorProcess("shtrih", base / "shtrih.json")
    escpos = EmulatorProcess("escpos", base / "escpos.json", extra=["--out", str(base / "roll")])
    printd = LivePrintd(base / "printd").configure().start()
    printd.add_printer("fr", type="shtrih", url=shtrih.url, timeout_ms=700)
    printd.add_printer("esc", type="escpos", url=escpos.url, preview=str(base / "roll"), timeout_ms=700)
    try:
        yield {"shtrih": shtrih, "escpos": escpos, "printd": printd, "roll": base / "roll"}
    finally:
        printd.stop()
        shtrih.stop()
        escpos.stop()


def use_printer(till, rig: dict, name: str) -> None:
    till.update_settings(None, {"printer": name, "printd_host": "127.0.0.1", "printd_port": rig["printd"].port,
                                "printd_token": rig["printd"].token})


@pytest.fixture
def fr(rig, till):
    """The till printing on the emulated registrar, which is healthy at the start of each test."""
    shtrih = rig["shtrih"]
    shtrih.control("power-on")
    shtrih.control("paper-in")
    shtrih.control("cover-close")
    use_printer(till, rig, "fr")
    answer = rig["printd"].post("/printers/fr/recover")
    assert answer.status_code == 200, answer.text
    return shtrih


def sales(shtrih: EmulatorProcess) -> int:
    """Sale receipts in the registrar's fiscal memory (its totals), the ground truth."""
    return shtrih.state_json()["totals"]["receipts"]["sale"]


def sell(client: TestClient, headers: dict, *barcodes: str) -> dict:
    for barcode in barcodes:
        ok(client.post(f"{API}/receipt/scan", json={"barcode": barcode}, headers=headers))
    return ok(client.get(f"{API}/receipt", headers=headers))


def test_no_printer_pays_and_says_nothing_was_printed(client, cashier) -> None:
    sell(client, cashier, MILK)
    paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier))
    assert paid["status"] == "paid"
    assert paid["print"]["printed"] is False and paid["print"]["reason"] == "no_printer"
    state = ok(client.get(f"{API}/printing", headers=cashier))
    assert state["printer"] is None and state["message"]


def test_a_paid_receipt_is_fiscalised_once_with_its_lines_and_payments(fr, client, cashier) -> None:
    before = fr.state_json()
    sell(client, cashier, MILK, BREAD, BREAD)
    paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "150", "card": "100"}, headers=cashier))
    assert paid["status"] == "paid" and paid["print"]["fiscal"] is True and paid["print"]["printed"] is True
    after = fr.state_json()
    assert after["totals"]["receipts"]["sale"] == before["totals"]["receipts"]["sale"] + 1
    assert after["fd_number"] == paid["print"]["document"]
    last = after["last_document"]
    assert [(i["name"], i["qty"], i["amount"]) for i in last["items"]] == [
        (line["name"], 1000, int(line["total"].replace(".", ""))) for line in paid["lines"]]
    assert last["total"] == 8990 + 5490 * 2
    assert last["payments"][0] == 15000 and last["payments"][1] == 10000  # cash and card kept apart


def test_paper_out_mid_receipt_leaves_it_unpaid_read_only_then_paid_once(fr, client, cashier) -> None:
    before = sales(fr)
    receipt = sell(client, cashier, MILK, BREAD)
    fr.control("paper-runout")  # the roll ends while the receipt prints
    error = refused(client.post(f"{API}/receipt/pay", json={"cash": "200"}, headers=cashier), 409, "printer_error", "printer")
    assert error["details"]["device"]["code"] and error["details"]["device"]["message_en"]
    current = ok(client.get(f"{API}/receipt", headers=cashier))
    assert current["uuid"] == receipt["uuid"] and current["status"] == "open"
    refused(client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=cashier), 409, "receipt_printing", "receipt")
    refused(client.post(f"{API}/receipt/cancel", headers=cashier), 409, "receipt_printing", "receipt")
    pending = ok(client.get(f"{API}/printing", headers=cashier))["pending"]
    assert [p["uuid"] for p in pending] == [receipt["uuid"]] and pending[0]["error"]["code"]
    # still no paper: paying again fails again, nothing is fiscalised
    refused(client.post(f"{API}/receipt/pay", json={"cash": "200"}, headers=cashier), 409, "printer_error", "printer")
    assert sales(fr) == before
    fr.control("paper-in")
    paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "200"}, headers=cashier))
    assert paid["uuid"] == receipt["uuid"] and paid["status"] == "paid"
    assert sales(fr) == before + 1
    assert ok(client.get(f"{API}/printing", headers=cashier))["pending"] == []


def test_power_lost_after_the_close_the_receipt_is_not_fiscalised_twice(fr, client, cashier) -> None:
    before = sales(fr)
    receipt = sell(client, cashier, BREAD)
    fr.control("power-loss-at FF45 after")  # the registrar closes the receipt, then dies before answering
    refused(client.post(f"{API}/receipt/pay", json={"cash": "60"}, headers=cashier), 409, "printer_error", "printer")
    assert ok(client.get(f"{API}/receipt", headers=cashier))["status"] == "open"
    fr.control("power-on")
    assert sales(fr) == before + 1  # it is in the fiscal memory already
    paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "60"}, headers=cashier))
    assert paid["uuid"] == receipt["uuid"] and paid["status"] == "paid"
    assert paid["print"]["reconciled"] is True
    assert sales(fr) == before + 1  # reconciled with the last document number, not printed again


def test_power_lost_mid_receipt_reconcile_then_pay_once(fr, client, cashier) -> None:
    before = sales(fr)
    receipt = sell(client, cashier, MILK)
    fr.control("power-loss-at FF46 before")  # dies while the lines are registered
    refused(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier), 409, "printer_error", "printer")
    fr.control("power-on")
    assert fr.state_json()["receipt"] is not None  # left open on the device
    settled = ok(client.post(f"{API}/printing/reconcile", headers=cashier))
    assert settled == {"paid": [], "unpaid": [receipt["uuid"]]}
    assert fr.state_json()["receipt"] is None  # the half receipt was cancelled
    paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier))
    assert paid["status"] == "paid" and paid["print"]["reconciled"] is False
    assert sales(fr) == before + 1


def test_a_crash_between_print_and_payment_is_reconciled_by_the_next_call(fr, till, client, cashier) -> None:
    before = sales(fr)
    receipt = sell(client, cashier, BREAD)
    user = till.authenticate(cashier["Authorization"].split()[1])
    printed = printing.print_before_pay(till, user, 10000, 0, None)  # printed; the till "dies" before step 3
    assert printed is not None and sales(fr) == before + 1
    settled = ok(client.post(f"{API}/printing/reconcile", headers=cashier))
    assert settled == {"paid": [receipt["uuid"]], "unpaid": []}
    done = ok(client.get(f"{API}/receipts/{receipt['uuid']}", headers=cashier))
    assert done["status"] == "paid" and done["cash"] == "54.90" and done["change"] == "45.10"
    assert sales(fr) == before + 1


def test_release_makes_an_unfiscalised_receipt_editable_again(fr, client, cashier) -> None:
    sell(client, cashier, MILK)
    fr.control("paper-out")
    refused(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier), 409, "printer_error", "printer")
    fr.control("paper-in")
    released = ok(client.post(f"{API}/printing/release", headers=cashier))
    assert released["status"] == "open" and released["number"] is None
    ok(client.post(f"{API}/receipt/scan", json={"barcode": BREAD}, headers=cashier))
    ok(client.post(f"{API}/receipt/cancel", headers=cashier))
    refused(client.post(f"{API}/printing/release", headers=cashier), 409, "not_printing", "receipt")


def test_cash_moves_x_and_z_go_to_the_registrar(fr, client, cashier) -> None:
    cash_before = fr.state_json()["cash"]
    ok(client.post(f"{API}/cash/in", json={"amount": "500"}, headers=cashier))
    assert fr.state_json()["cash"] == cash_before + 50000
    ok(client.post(f"{API}/cash/out", json={"amount": "200"}, headers=cashier))
    assert fr.state_json()["cash"] == cash_before + 30000
    x = ok(client.post(f"{API}/printing/x-report", headers=cashier))
    assert x["print"]["fiscal"] is True
    sell(client, cashier, MILK)
    ok(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier))
    # a Z the device cannot do is not stored either
    fr.control("cover-open")
    refused(client.post(f"{API}/reports/z", headers=cashier), 409, "printer_error", "printer")
    assert ok(client.get(f"{API}/shift", headers=cashier))["open"] is True
    fr.control("cover-close")
    z = ok(client.post(f"{API}/reports/z", headers=cashier))
    assert z["print"]["fiscal"] is True
    assert fr.state_json()["shift_open"] is False
    assert ok(client.get(f"{API}/shift", headers=cashier))["open"] is False


def test_a_copy_prints_non_fiscally(fr, client, cashier) -> None:
    before = sales(fr)
    sell(client, cashier, BREAD)
    paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier))
    copied = ok(client.post(f"{API}/receipts/{paid['uuid']}/copy", headers=cashier))
    assert copied["receipt"] == paid["uuid"]
    assert any("КОПИЯ" in line for line in fr.paper()[-40:])
    assert sales(fr) == before + 1


def test_escpos_printer_prints_non_fiscal_receipts_and_blocks_on_paper_out(rig, till, client, cashier) -> None:
    escpos = rig["escpos"]
    escpos.control("paper-in")
    use_printer(till, rig, "esc")
    sell(client, cashier, MILK)
    paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier))
    assert paid["print"] == {"printed": True, "printer": "esc", "fiscal": False, "document": None, "reconciled": False}
    text = (rig["roll"] / "paper.txt").read_text(encoding="utf-8")
    assert "ТОВАРНЫЙ ЧЕК" in text and "89.90" in text and "ФН" not in text  # never a fake fiscal footer
    sell(client, cashier, BREAD)
    escpos.control("paper-out")
    error = refused(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier), 409, "printer_error", "printer")
    assert error["details"]["device"]["code"] == "escpos_paper_out"
    escpos.control("paper-in")
    assert ok(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier))["status"] == "paid"


def test_printing_endpoints_need_a_cashier(rig, till, client) -> None:
    use_printer(till, rig, "fr")
    seller = login(client, "seller")
    for path in ("/printing/reconcile", "/printing/x-report", "/printing/drawer", "/printing/copy", "/printing/release"):
        refused(client.post(f"{API}{path}", headers=seller), 403, "forbidden", "role")
    refused(client.get(f"{API}/printing", headers=seller), 403, "forbidden", "role")


def test_an_unreachable_print_service_is_a_clear_error(till, client, cashier) -> None:
    from tests.conftest import free_port

    till.update_settings(None, {"printer": "fr", "printd_host": "127.0.0.1", "printd_port": free_port()})
    sell(client, cashier, MILK)
    error = refused(client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=cashier), 409, "printer_error", "printer")
    assert error["details"]["device"]["code"] == "printd_unreachable"
    assert ok(client.get(f"{API}/receipt", headers=cashier))["status"] == "open"  # nothing was attempted: still editable
    ok(client.post(f"{API}/receipt/scan", json={"barcode": BREAD}, headers=cashier))


def test_a_return_is_fiscalised_on_the_registrar_or_not_stored(fr, client, cashier) -> None:
    sell(client, cashier, MILK, BREAD)
    sale = ok(client.post(f"{API}/receipt/pay", json={"cash": "200"}, headers=cashier))
    returns_before = fr.state_json()["totals"]["receipts"]["return"]
    fr.control("cover-open")
    refused(client.post(f"{API}/receipts/{sale['uuid']}/return", json={"lines": [{"line_no": 2, "quantity": "1"}]},
                        headers=cashier), 409, "printer_error", "printer")
    assert ok(client.get(f"{API}/receipts", params={"kind": "return"}, headers=cashier)) == []
    fr.control("cover-close")
    back = ok(client.post(f"{API}/receipts/{sale['uuid']}/return", json={"lines": [{"line_no": 2, "quantity": "1"}]},
                          headers=cashier))
    assert back["kind"] == "return" and back["print"]["fiscal"] is True
    state = fr.state_json()
    assert state["totals"]["receipts"]["return"] == returns_before + 1
    assert state["last_document"]["type"] == "return" and state["last_document"]["total"] == 5490


def test_a_repeated_payment_with_the_same_key_is_not_printed_twice(fr, client, cashier) -> None:
    before = sales(fr)
    sell(client, cashier, MILK)
    key = {"Idempotency-Key": "pay-once-1", **cashier}
    first = client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=key)
    again = client.post(f"{API}/receipt/pay", json={"cash": "100"}, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replay") == "true" and again.json() == first.json()
    assert sales(fr) == before + 1


def test_escpos_x_report_and_cash_moves_print_and_pulse_the_drawer(rig, till, client, cashier) -> None:
    escpos = rig["escpos"]
    escpos.control("paper-in")
    use_printer(till, rig, "esc")
    pulses = escpos.state_json()["counters"]["drawer_pulses"]
    ok(client.post(f"{API}/cash/in", json={"amount": "300"}, headers=cashier))
    assert escpos.state_json()["counters"]["drawer_pulses"] == pulses + 1
    x = ok(client.post(f"{API}/printing/x-report", headers=cashier))
    assert x["print"]["fiscal"] is False
    assert "X-ОТЧЁТ" in (rig["roll"] / "paper.txt").read_text(encoding="utf-8")
    ok(client.post(f"{API}/printing/drawer", headers=cashier))
    assert escpos.state_json()["counters"]["drawer_pulses"] == pulses + 2


def test_a_real_till_process_killed_after_a_lost_answer_reconciles_once(rig, tmp_path) -> None:
    """A real till process: the registrar fiscalises and dies before answering, the till is killed
    (SIGKILL) and restarted; the receipt is still there, read-only, and paying it again is reconciled."""
    import subprocess
    import sys

    import httpx

    from tests.conftest import REPO
    from tests.helpers import TillService

    shtrih = rig["shtrih"]
    shtrih.control("power-on")
    shtrih.control("paper-in")
    shtrih.control("cover-close")
    data = tmp_path / "till"
    price = tmp_path / "price.csv"
    price.write_text("code;name;price\n9100;Тестовый товар;10.00\n", encoding="utf-8")

    def run(*args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "icecash.cli", "till", *args, "--data", str(data)],
                              capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
        assert done.returncode == 0, done.stderr

    run("user", "add", "boss", "--role", "admin", "--password", "boss-pass")
    run("user", "add", "anna", "--role", "cashier", "--password", "anna-pass")
    run("price", "import", str(price))
    till = TillService(data, logs=tmp_path)
    url = f"{till.url}/api/v1"

    def auth(login: str, password: str) -> dict:
        answer = httpx.post(f"{url}/auth/login", json={"login": login, "password": password}, timeout=30)
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    till.start()
    try:
        boss = auth("boss", "boss-pass")
        settings = {"printer": "fr", "printd_host": "127.0.0.1", "printd_port": str(rig["printd"].port),
                    "printd_token": rig["printd"].token}
        assert httpx.patch(f"{url}/settings", json=settings, headers=boss, timeout=30).status_code == 200
        anna = auth("anna", "anna-pass")
        receipt = httpx.post(f"{url}/receipt/lines", json={"code": "9100"}, headers=anna, timeout=30).json()
        before = sales(shtrih)
        shtrih.control("power-loss-at FF45 after")
        failed = httpx.post(f"{url}/receipt/pay", json={"cash": "10"}, headers=anna, timeout=60)
        assert failed.status_code == 409 and failed.json()["error"]["code"] == "printer_error", failed.text
        till.kill()
        shtrih.control("power-on")
        till.start()
        current = httpx.get(f"{url}/receipt", headers=anna, timeout=30).json()
        assert current["uuid"] == receipt["uuid"] and current["status"] == "open"
        still = httpx.post(f"{url}/receipt/lines", json={"code": "9100"}, headers=anna, timeout=30)
        assert still.status_code == 409 and still.json()["error"]["code"] == "receipt_printing"
        paid = httpx.post(f"{url}/receipt/pay", json={"cash": "10"}, headers=anna, timeout=60)
        assert paid.status_code == 200, paid.text
        assert paid.json()["status"] == "paid" and paid.json()["print"]["reconciled"] is True
        assert sales(shtrih) == before + 1
    finally:
        till.stop()


# --- releasing another user's receipt stuck in printing (admin) -----------------------------------------


def _stuck(fr, client: TestClient, headers: dict, *barcodes: str) -> dict:
    """A receipt whose payment failed on paper out: unpaid, read-only, waiting for the printer."""
    receipt = sell(client, headers, *barcodes)
    fr.control("paper-out")
    refused(client.post(f"{API}/receipt/pay", json={"cash": "200"}, headers=headers), 409, "printer_error", "printer")
    fr.control("paper-in")
    return receipt


def test_an_admin_releases_another_users_receipt_stuck_in_printing(fr, till, client, cashier, admin) -> None:
    from icecash.core.roles import Role

    before = sales(fr)
    till.create_user(None, "kassir2", "kassir2", Role.CASHIER, "Кассир Петров")
    other = login(client, "kassir2")
    receipt = _stuck(fr, client, cashier, MILK)
    release = f"{API}/receipts/{receipt['uuid']}/release"
    # the admin sees whose it is
    pending = ok(client.get(f"{API}/printing", headers=admin))["pending"]
    assert [(p["uuid"], p["owner_login"], p["state"]) for p in pending] == [(receipt["uuid"], "kassir", "failed")]
    # another cashier may not release it, a seller may not release at all: refused, nothing changed
    refused(client.post(release, headers=other), 403, "forbidden", "uuid")
    refused(client.post(release, headers=login(client, "seller")), 403, "forbidden", "role")
    refused(client.post(f"{API}/receipt/scan", json={"barcode": BREAD}, headers=cashier), 409, "receipt_printing", "receipt")
    # bad input: an unknown receipt, one that waits for no print
    refused(client.post(f"{API}/receipts/00000000-0000-0000-0000-000000000000/release", headers=admin), 404,
            "unknown_receipt", "uuid")
    refused(client.post(f"{API}/receipts/' OR 1=1 --/release", headers=admin), 404, "unknown_receipt", "uuid")
    ok(client.post(f"{API}/receipt/scan", json={"barcode": BREAD}, headers=other))
    refused(client.post(f"{API}/receipts/{ok(client.get(f'{API}/receipt', headers=other))['uuid']}/release", headers=admin),
            409, "not_printing", "uuid")
    # the admin releases it: still the cashier's, open, unpaid, editable again; the admin's own receipt untouched
    released = ok(client.post(release, headers=admin))
    assert (released["uuid"], released["status"], released["number"]) == (receipt["uuid"], "open", None)
    assert ok(client.get(f"{API}/printing", headers=admin))["pending"] == []
    refused(client.post(release, headers=admin), 409, "not_printing", "uuid")
    assert ok(client.post(f"{API}/receipt/scan", json={"barcode": BREAD}, headers=cashier))["uuid"] == receipt["uuid"]
    paid = ok(client.post(f"{API}/receipt/pay", json={"cash": "200"}, headers=cashier))
    assert paid["uuid"] == receipt["uuid"] and paid["status"] == "paid"
    assert sales(fr) == before + 1  # fiscalised once: by the payment after the release


def test_the_owner_releases_their_own_receipt_by_its_uuid(fr, client, cashier) -> None:
    before = sales(fr)
    receipt = _stuck(fr, client, cashier, BREAD)
    released = ok(client.post(f"{API}/receipts/{receipt['uuid']}/release", headers=cashier))
    assert released["status"] == "open"
    ok(client.post(f"{API}/receipt/cancel", headers=cashier))
    assert sales(fr) == before


def test_a_receipt_the_registrar_printed_is_never_released_reconcile_pays_it_once(fr, client, cashier, admin) -> None:
    before = sales(fr)
    receipt = sell(client, cashier, BREAD)
    fr.control("power-loss-at FF45 after")  # the registrar closes the receipt, then dies before answering
    refused(client.post(f"{API}/receipt/pay", json={"cash": "60"}, headers=cashier), 409, "printer_error", "printer")
    fr.control("power-on")
    assert sales(fr) == before + 1
    release = f"{API}/receipts/{receipt['uuid']}/release"
    for _ in range(2):  # asked again, the registrar's answer is the same
        refused(client.post(release, headers=admin), 409, "already_fiscalised", "uuid")
    refused(client.post(f"{API}/receipt/cancel", headers=cashier), 409, "receipt_printing", "receipt")  # still read-only
    assert [p["uuid"] for p in ok(client.get(f"{API}/printing", headers=admin))["pending"]] == [receipt["uuid"]]
    assert ok(client.post(f"{API}/printing/reconcile", headers=admin)) == {"paid": [receipt["uuid"]], "unpaid": []}
    done = ok(client.get(f"{API}/receipts/{receipt['uuid']}", headers=admin))
    assert done["status"] == "paid" and done["cash"] == "54.90" and done["change"] == "5.10"
    assert sales(fr) == before + 1  # fiscalised once, and the till says so


def test_a_release_waits_for_a_print_in_progress(fr, till, client, cashier, admin) -> None:
    """The registrar's answer and the release are one step under the print lock: a release asked while
    a payment prints waits for it, then finds the receipt paid (never an editable fiscalised receipt)."""
    import threading

    receipt = _stuck(fr, client, cashier, MILK)
    answers: list = []
    with printing._lock:  # a payment printing right now holds it
        worker = threading.Thread(target=lambda: answers.append(
            client.post(f"{API}/receipts/{receipt['uuid']}/release", headers=admin)))
        worker.start()
        worker.join(1.0)
        assert worker.is_alive() and not answers  # waiting for the print to finish
        # the payment's step (3) commits while the release waits: the receipt is paid and its print done
        user = till.authenticate(cashier["Authorization"].split()[1])
        with reading(till.engine) as conn:
            receipt_id = conn.execute(select(receipts.c.id).where(receipts.c.uuid == receipt["uuid"])).scalar_one()
        printing.finish_paid(till, user, {"receipt_id": receipt_id, "cash": 20000, "card": 0, "doc_number": None,
                                          "fiscal": True, "reconciled": False, "printer": "fr"})
    worker.join(30)
    refused(answers[0], 409, "not_printing", "uuid")
    paid = ok(client.get(f"{API}/receipts/{receipt['uuid']}", headers=admin))
    assert paid["status"] == "paid" and paid["number"]  # its number and print record untouched by the release
    with reading(till.engine) as conn:
        assert conn.execute(select(printing.print_state.c.state)
                            .where(printing.print_state.c.receipt_id == receipt_id)).scalar_one() == printing.DONE
