"""The service page (sync with the central server), the sale screen's sync dot, and a failed print on the screen.

The live till's sync agent is pointed at a closed port (no server answers there): the agent's
own status says so, the pages show it, the backlog grows with each sale and selling goes on.
The printing test drives the live till through a real print service and an emulated Shtrih-M
(the fixture of test_printing_ui), with the paper taken out on the emulator.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.conftest import Screen
from tests.e2e.test_printing_ui import registrar  # noqa: F401  (the print service and the emulated Shtrih-M)
from tests.helpers import BREAD, MILK


def _admin_api(live) -> httpx.Client:
    client = httpx.Client(base_url=f"{live.url}/api/v1", timeout=30)
    answer = client.post("/auth/login", json={"login": "admin", "password": "admin"})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    return client


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
            error = status["jobs"]["receipts"]["last_error"] or ""
            return status if status["state"] == "error" and error.startswith("server unreachable") else None
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
