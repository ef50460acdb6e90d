"""The service page (sync with the central server, receipts stuck in printing), the sale screen's
sync dot, and a failed print on the screen.

The live till's sync agent is pointed at a closed port (no server answers there): the agent's
own status says so, the pages show it, the backlog grows with each sale and selling goes on.
Pointed at a server that fails slowly, a "sync now" is seen in progress until its jobs have run.
The printing tests drive the live till through a real print service and an emulated Shtrih-M
(the fixture of test_printing_ui), with the paper taken out on the emulator; an admin releases a
cashier's receipt stuck in printing from the service page.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from icecash.till.sync import ERROR_KINDS
from icecash.till.ui.service import ERROR_TEXTS
from tests.conftest import free_port
from tests.e2e.conftest import ARTIFACTS, Screen
from tests.e2e.test_printing_ui import registrar  # noqa: F401  (the print service and the emulated Shtrih-M)
from tests.helpers import BREAD, MILK
from tests.till.failing_server import failing_server

SHOTS = Path("/tmp/shots")  # the screens this file changes, to look at


def _api(live, login: str = "admin", password: str | None = None) -> httpx.Client:
    """The live till's JSON API as a user (a fresh user's password is its login)."""
    client = httpx.Client(base_url=f"{live.url}/api/v1", timeout=30)
    answer = client.post("/auth/login", json={"login": login, "password": password or login})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


def _admin_api(live) -> httpx.Client:
    return _api(live, "admin")


def _shot(screen: Screen, name: str) -> None:
    """A screenshot in tests/e2e/artifacts, copied to /tmp/shots."""
    screen.shot(name)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(ARTIFACTS / f"{name}.png", SHOTS / f"{name}.png")


def _wait(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def offline_server(live) -> Iterator[httpx.Client]:
    """The live till set up for a central server on a port where nothing listens; set back after."""
    api = _admin_api(live)
    try:
        answer = api.patch("/settings", json={"server_url": f"http://127.0.0.1:{free_port()}", "regid": "e2e-firm"})
        assert answer.status_code == 200, answer.text
        assert api.put("/sync/secret", json={"secret": "e2e-secret-123"}).status_code == 200

        def failed():
            status = api.get("/sync/status").json()
            return status if status["state"] == "error" and status["jobs"]["receipts"]["error_kind"] == "offline" else None
        _wait(failed, "the agent to fail to reach the server")
        yield api
    finally:
        api.patch("/settings", json={"server_url": "", "regid": ""})
        api.close()


def _dark(screen: Screen) -> None:
    screen.page.evaluate("document.documentElement.dataset.theme = 'dark'")


def _light(screen: Screen) -> None:
    screen.page.evaluate("document.documentElement.dataset.theme = 'light'")


def _pay_cash(screen: Screen) -> None:
    screen.key("Insert")
    screen.page.wait_for_selector("#dlg-pay[open]")
    screen.rendered(lambda: screen.key("Enter"))


def test_a_till_without_a_server_says_so_and_shows_no_dot(screen, new_user, live):
    api = _admin_api(live)
    assert api.get("/sync/status").json()["state"] == "off"
    screen.login(new_user("admin"))
    assert screen.page.locator("#sync-ind").is_hidden()  # nothing to tell the cashier
    screen.goto("/admin/service")
    assert screen.page.get_attribute("#sync-state", "data-state") == "off"
    assert screen.page.locator("#sync-now").is_disabled()
    assert "автономно" in screen.page.inner_text("#sync-card")


def test_offline_the_backlog_grows_and_selling_goes_on(screen, new_user, offline_server):
    api = offline_server
    backlog = api.get("/sync/status").json()["backlog"]
    before, waiting = backlog["receipts"], backlog["receipts"] + backlog["z"]  # the dot counts both
    screen.login(new_user("admin"))
    dot = screen.page.locator("#sync-ind")
    assert dot.get_attribute("data-state") == "offline"
    assert dot.get_attribute("data-pending") == str(waiting)
    assert "Нет связи с сервером" in dot.inner_text()

    screen.scan(MILK)
    screen.scan(BREAD)
    _pay_cash(screen)
    assert screen.page.get_attribute("#totals", "data-paid")  # sold, with the server away
    screen.page.wait_for_function(f"document.querySelector('#sync-ind').dataset.pending === '{waiting + 1}'")
    screen.page.wait_for_selector("#scan:focus")  # the dot never takes the scanner's field
    screen.scan(MILK)  # and the next receipt starts as usual
    assert len(screen.lines()) == 1
    screen.shot("sync-dot-offline")
    _dark(screen)
    screen.shot("sync-dot-offline-dark")
    _light(screen)

    screen.goto("/admin/service")
    card = screen.page.locator("#sync-card")
    assert screen.page.get_attribute("#sync-state", "data-state") == "offline"
    assert screen.page.get_attribute("#sync-backlog", "data-receipts") == str(before + 1)
    assert "Сервер недоступен" in card.inner_text()
    assert "server unreachable" in screen.page.inner_text("tr[data-job=receipts]")
    for job in ("receipts", "z", "price", "promotions", "variables"):
        assert screen.page.locator(f"tr[data-job={job}]").count() == 1
    screen.shot("service-offline")
    _dark(screen)
    screen.shot("service-offline-dark")
    _light(screen)

    screen.page.click("#sync-now")
    screen.page.wait_for_selector("#sync-note")
    assert "Обмен запущен" in screen.page.inner_text("#sync-note")
    assert screen.page.locator("#sync-card .form-error").count() == 0
    # the card refreshes by itself: the agent tried again at once and failed again
    assert screen.page.get_attribute("#sync-state", "data-state") == "syncing"
    screen.page.wait_for_selector("#sync-card:not(:has(#sync-note)) #sync-state[data-state=offline]", timeout=15_000)
    assert api.get("/sync/status").json()["backlog"]["receipts"] == before + 1


def test_sync_now_is_the_admins(screen, new_user, live):
    screen.login(new_user("cashier"))
    assert screen.page.locator("#sync-now").count() == 0
    screen.goto("/admin/service")
    screen.page.wait_for_url("**/sale")  # a cashier is sent back to the sale screen
    csrf = screen.page.get_attribute('meta[name="csrf-token"]', "content")
    refused = screen.page.request.post(f"{live.url}/ui/admin/sync/now", headers={"X-CSRF-Token": csrf})
    assert refused.status == 403, refused.text()
    assert refused.json()["error"]["code"] == "forbidden"
    assert screen.page.request.get(f"{live.url}/ui/admin/sync").status == 403


@pytest.fixture
def live_printer(live, registrar) -> Iterator[dict]:  # noqa: F811
    """The live till printing on the emulated Shtrih-M through the real print service; no printer after."""
    api = _admin_api(live)
    printd = registrar["printd"]
    try:
        answer = api.patch("/settings", json={"printer": "fr", "printd_host": "127.0.0.1", "printd_port": str(printd.port),
                                              "printd_token": printd.token})
        assert answer.status_code == 200, answer.text
        yield registrar
    finally:
        registrar["shtrih"].control("paper-in")
        api.patch("/settings", json={"printer": ""})
        api.close()


def _fiscal_sales(devices) -> int:
    return devices["shtrih"].state_json()["totals"]["receipts"]["sale"]


def test_a_failed_print_is_told_with_retry_and_release(screen, new_user, live_printer):
    shtrih = live_printer["shtrih"]
    before = _fiscal_sales(live_printer)
    screen.login(new_user("cashier"))
    screen.scan(MILK)
    shtrih.control("paper-out")
    _pay_cash(screen)
    page = screen.page
    page.wait_for_selector("#message[data-print-fault]:not([data-print-fault=''])")
    assert not page.locator("#dlg-pay").evaluate("d => d.open")  # the dialog gave way to the explanation
    text = screen.message()
    assert "Чек не напечатан" in text and "ККТ Штрих-М" in text, text  # the device's own words
    assert page.locator("[data-action=print-retry]").is_visible()
    assert page.locator("[data-action=print-release]").is_visible()
    assert page.locator("#print-pill").is_visible()
    assert not page.get_attribute("#totals", "data-paid")
    page.wait_for_selector("#scan:focus")
    screen.shot("print-failed")
    _dark(screen)
    screen.shot("print-failed-dark")
    _light(screen)

    # every key still answers: a scan is refused (read-only) and the panel stays; F1 opens the help
    screen.scan(BREAD)
    assert len(screen.lines()) == 1
    assert page.get_attribute("#message", "data-print-fault") == "failed"
    screen.key("F1")
    page.wait_for_selector("#dlg-help[open]")
    screen.key("Escape")
    page.wait_for_selector("#scan:focus")

    # release asks first, and Esc leaves everything as it was
    page.click("[data-action=print-release]")
    page.wait_for_selector("#dlg-confirm[open]")
    assert "регистратор" in page.inner_text("#dlg-confirm-text")
    screen.shot("print-release-confirm")
    screen.key("Escape")
    page.wait_for_selector("#scan:focus")
    assert page.get_attribute("#message", "data-print-fault") == "failed"

    # paper back: retry pays the receipt with the payment it was for, printed once
    shtrih.control("paper-in")
    screen.rendered(lambda: page.click("[data-action=print-retry]"))
    assert page.get_attribute("#totals", "data-paid"), screen.message()
    assert page.get_attribute("#message", "data-print-fault") == ""
    assert _fiscal_sales(live_printer) == before + 1
    page.wait_for_selector("#scan:focus")

    # another receipt fails; released, it is editable again and can be cancelled
    screen.scan(BREAD)
    shtrih.control("paper-out")
    _pay_cash(screen)
    page.wait_for_selector("#message[data-print-fault=failed]")
    shtrih.control("paper-in")
    page.click("[data-action=print-release]")
    page.wait_for_selector("#dlg-confirm[open]")
    screen.rendered(lambda: screen.key("Enter"))
    assert page.get_attribute("#message", "data-print-fault") == "", screen.message()
    assert "освобождён" in screen.message()
    screen.scan(MILK)
    assert len([line for line in screen.lines() if not line["storno"]]) == 2
    screen.key("/")
    page.wait_for_selector("#dlg-confirm[open]")
    screen.rendered(lambda: screen.key("Enter"))
    assert screen.lines() == []
    assert _fiscal_sales(live_printer) == before + 1  # the released receipt was never fiscalised


# --- "sync now" in progress, and the kind of the error -----------------------------------------------------


@pytest.fixture
def slow_failing_server(live) -> Iterator[httpx.Client]:
    """The live till set up for a central server that answers 503, each after 1.5 s; set back after."""
    api = _admin_api(live)
    with failing_server(delay=1.5) as server:
        try:
            assert api.patch("/settings", json={"server_url": server.url, "regid": "e2e-firm"}).status_code == 200
            assert api.put("/sync/secret", json={"secret": "e2e-secret-123"}).status_code == 200
            _wait(lambda: (lambda s: s["state"] == "error" and s["error_kind"] == "server")(api.get("/sync/status").json()),
                  "the agent to fail on the server")
            yield api
        finally:
            api.patch("/settings", json={"server_url": "", "regid": ""})
            api.close()


def test_sync_now_shows_syncing_until_its_jobs_have_run(screen, new_user, slow_failing_server, live):
    api = slow_failing_server
    screen.login(new_user("admin"))
    screen.goto("/admin/service")
    page = screen.page
    state = page.locator("#sync-state")
    assert state.get_attribute("data-state") == "error" and state.get_attribute("data-error-kind") == "server"
    assert "Сервер ответил ошибкой" in page.inner_text("#sync-card")

    page.click("#sync-now")
    page.wait_for_selector("#sync-note")
    assert state.get_attribute("data-state") == "syncing"
    assert "Идёт обмен с сервером" in page.inner_text("#sync-running")
    # the card refreshes by itself (the note is gone): the jobs are still running, and it says so
    page.wait_for_selector("#sync-card:not(:has(#sync-note))", timeout=5_000)
    assert state.get_attribute("data-state") == "syncing", page.inner_text("#sync-card")
    assert api.get("/sync/status").json()["requested"]  # truly: jobs of the "sync now" are still to run
    indicator = page.request.get(f"{live.url}/ui/sync/indicator").text()
    assert 'data-state="syncing"' in indicator and "Идёт обмен" in indicator  # the sale screen's dot too
    _shot(screen, "service-sync-running")
    # when every job has run, the card tells how it went, by the kind of the error
    page.wait_for_selector("#sync-state[data-state=error]", timeout=30_000)
    status = api.get("/sync/status").json()
    assert status["requested"] == [] and status["error_kind"] == "server"
    assert page.locator("tr[data-job=receipts][data-error-kind=server] .job-why").inner_text() == "Сервер ответил ошибкой."
    _shot(screen, "service-sync-error")


def test_the_screens_read_the_error_kind_not_the_text(screen, new_user, offline_server):
    screen.login(new_user("admin"))
    assert screen.page.get_attribute("#sync-ind", "data-error-kind") == "offline"
    screen.goto("/admin/service")
    row = screen.page.locator("tr[data-job=price]")
    assert row.get_attribute("data-error-kind") == "offline"
    assert row.locator(".job-why").inner_text() == "Сервер недоступен."


def test_every_error_kind_has_its_text_under_the_jobs_row():
    """The texts of the card follow the agent's vocabulary: a kind added without its text fails here."""
    assert ERROR_TEXTS.keys() == ERROR_KINDS.keys()


# --- an admin releases a cashier's receipt stuck in printing ------------------------------------------------


def _stuck_receipt(live, cashier: str, shtrih, barcode: str = MILK, fault: str = "paper-out") -> str:
    """A receipt of ``cashier`` whose payment failed on the registrar: its uuid."""
    api = _api(live, cashier)
    try:
        assert api.post("/receipt/scan", json={"barcode": barcode}).status_code == 200
        shtrih.control(fault)
        answer = api.post("/receipt/pay", json={"cash": "100"})
        assert answer.status_code == 409 and answer.json()["error"]["code"] == "printer_error", answer.text
        return api.get("/receipt").json()["uuid"]
    finally:
        api.close()


def test_an_admin_releases_a_cashiers_receipt_stuck_in_printing(screen, new_user, live_printer, live):
    shtrih = live_printer["shtrih"]
    before = _fiscal_sales(live_printer)
    cashier = new_user("cashier")
    uuid = _stuck_receipt(live, cashier, shtrih)
    shtrih.control("paper-in")

    screen.login(new_user("admin"))
    screen.goto("/admin/service")
    page = screen.page
    row = page.locator(f"#print-pending tr[data-uuid='{uuid}']")
    assert row.get_attribute("data-state") == "failed"
    assert f"Cashier {cashier.removeprefix('cashier')}" in row.inner_text()  # whose receipt it is
    assert "не напечатан" in row.inner_text()
    _shot(screen, "service-print-pending")

    # "Release…" asks once more, on the card; "Cancel" leaves everything as it was
    row.locator("[data-action=release]").click()
    page.wait_for_selector("#release-confirm")
    assert "спрашивает регистратор" in page.inner_text("#release-confirm")
    _shot(screen, "service-print-release-confirm")
    _dark(screen)
    _shot(screen, "service-print-release-confirm-dark")
    _light(screen)
    page.click("#release-no")
    page.wait_for_selector("#release-confirm", state="detached")
    assert page.locator(f"#print-pending tr[data-uuid='{uuid}']").count() == 1

    page.locator(f"#print-pending tr[data-uuid='{uuid}'] [data-action=release]").click()
    page.click("#release-yes")
    page.wait_for_selector("#print-note")
    assert "Чек освобождён" in page.inner_text("#print-note")
    assert page.locator(f"#print-pending tr[data-uuid='{uuid}']").count() == 0
    _shot(screen, "service-print-released")

    # the cashier's receipt is editable again, still theirs; cancelled, it was never fiscalised
    api = _api(live, cashier)
    try:
        answer = api.post("/receipt/scan", json={"barcode": BREAD})
        assert answer.status_code == 200 and answer.json()["uuid"] == uuid, answer.text
        assert api.post("/receipt/cancel").json()["status"] == "cancelled"
    finally:
        api.close()
    assert _fiscal_sales(live_printer) == before


def test_a_receipt_the_registrar_printed_is_not_released_but_reconciled(screen, new_user, live_printer, live):
    shtrih = live_printer["shtrih"]
    before = _fiscal_sales(live_printer)
    cashier = new_user("cashier")
    try:
        uuid = _stuck_receipt(live, cashier, shtrih, BREAD, "power-loss-at FF45 after")  # printed, the answer lost
    finally:
        shtrih.control("power-on")
    assert _fiscal_sales(live_printer) == before + 1

    screen.login(new_user("admin"))
    screen.goto("/admin/service")
    page = screen.page
    page.locator(f"#print-pending tr[data-uuid='{uuid}'] [data-action=release]").click()
    page.click("#release-yes")
    page.wait_for_selector("#print-error")
    assert "Регистратор уже напечатал этот чек" in page.inner_text("#print-error")
    assert page.locator(f"#print-pending tr[data-uuid='{uuid}']").count() == 1  # not released
    _shot(screen, "service-print-already-fiscalised")

    page.click("#print-reconcile")
    page.wait_for_selector("#print-note")
    assert "оплаченными отмечено 1" in page.inner_text("#print-note")
    assert page.locator(f"#print-pending tr[data-uuid='{uuid}']").count() == 0
    admin = _admin_api(live)
    try:
        assert admin.get(f"/receipts/{uuid}").json()["status"] == "paid"
    finally:
        admin.close()
    assert _fiscal_sales(live_printer) == before + 1  # once


def test_the_print_card_is_the_admins(screen, new_user, live):
    screen.login(new_user("cashier"))
    csrf = screen.page.get_attribute('meta[name="csrf-token"]', "content")
    for path in ("/ui/admin/printing/release", "/ui/admin/printing/reconcile"):
        refused = screen.page.request.post(f"{live.url}{path}", headers={"X-CSRF-Token": csrf}, form={"uuid": "x"})
        assert refused.status == 403 and refused.json()["error"]["code"] == "forbidden", refused.text()
    assert screen.page.request.get(f"{live.url}/ui/admin/printing").status == 403
