"""The print service's admin page in a real browser: log in, test print, the registrar's header editor,
a print program, and the live paper preview of an emulated ESC/POS printer (htmx, no page reloads)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.printd.conftest import EmulatorProcess
from tests.printd.live import ADMIN_PASSWORD, LivePrintd


@pytest.fixture(scope="module")
def printd(tmp_path_factory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("printd-admin")
    escpos = EmulatorProcess("escpos", base / "escpos.json", extra=["--out", str(base / "roll")])
    shtrih = EmulatorProcess("shtrih", base / "shtrih.json")
    live = LivePrintd(base / "printd").configure().start()
    live.add_printer("esc", type="escpos", url=escpos.url, preview=str(base / "roll"), timeout_ms=700)
    live.add_printer("fr", type="shtrih", url=shtrih.url, preview=str(base / "shtrih.json"), timeout_ms=700)
    try:
        yield {"live": live, "escpos": escpos, "shtrih": shtrih}
    finally:
        live.stop()
        escpos.stop()
        shtrih.stop()


def test_admin_page_in_a_browser(browser, printd) -> None:
    live = printd["live"]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(live.url + "/")
        page.fill("input[name=password]", ADMIN_PASSWORD)
        page.click("button:has-text('Войти')")
        page.wait_for_selector("#printer-esc")
        # test print on the ESC/POS printer: the job's answer appears under it
        page.click("#printer-esc button:has-text('Пробная печать')")
        page.wait_for_selector("#out-esc .ok")
        assert "выполнено" in page.inner_text("#out-esc")
        assert "пробная печать" in (live.data.parent / "roll" / "paper.txt").read_text(encoding="utf-8").lower()
        # the paper preview: an image that really loads
        page.click("#printer-esc button:has-text('Лента')")
        image = page.wait_for_selector("#out-esc img")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image)
        # the registrar's header: read, edit, write
        page.click("#printer-fr button:has-text('Текст в чеке')")
        page.wait_for_selector("#out-fr textarea")
        page.fill("#out-fr textarea", "ООО Ромашка\nг. Москва")
        page.click("#out-fr button:has-text('Записать')")
        page.wait_for_selector("#out-fr .ok")
        assert printd["shtrih"].state_json()["header"][:2] == ["ООО Ромашка", "г. Москва"]
        # a print program built with the buttons, run on the registrar
        page.select_option("select[name=printer]", "fr")
        page.click("button[data-cmd]:has-text('beep')")
        page.click("button[data-cmd]:has-text('x_report')")
        page.click("button:has-text('Печать / run')")
        page.wait_for_selector("#program-out div")
        assert "выполнено" in page.inner_text("#program-out")
        # the registrar's tape as its preview
        page.click("#printer-fr button:has-text('Лента')")
        image = page.wait_for_selector("#out-fr img")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image)
        assert errors == []
    finally:
        page.close()
