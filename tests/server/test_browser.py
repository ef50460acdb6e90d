"""The admin and report pages in a real browser (Debian's chromium through Playwright) against a real
``icecash server`` process: log in, see the tills online, find a receipt, open it, change a variable.
Any console error or page error fails the test.
"""

from __future__ import annotations

import pytest

from icecash.server.app import open_server
from tests.server.conftest import ServerProcess, make_receipt, parsed, two_firms

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        import icecash.security as security
        from tests.helpers import FAST_HASHER

        patch.setattr(security, "_hasher", FAST_HASHER)
        root = tmp_path_factory.mktemp("browser")
        server = open_server(root / "server")
        secrets = two_firms(server)
        token, till, _ = server.till_login("alpha", 1, 1, secrets[("alpha", 1, 1)])
        server.heartbeat(till, "0.1.0", "Штрих-М", 0)
        server.ingest_receipts(till, [parsed(make_receipt(number=n, name="Сыр «Российский» <весовой>")) for n in range(1, 4)])
        process = ServerProcess(root / "server").start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def page_factory(browser):
    """Pages in contexts of their own, on the session's one chromium (tests/conftest.py)."""
    contexts = []

    def make():
        context = browser.new_context(locale="ru-RU")
        contexts.append(context)
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        return page, problems
    yield make
    for context in contexts:
        context.close()


def test_admin_logs_in_sees_tills_and_finds_a_receipt(site, page_factory):
    page, problems = page_factory()
    page.goto(site.url + "/firms/alpha")
    assert page.url.endswith("/login")
    page.fill("input[name=login]", "alpha-admin")
    page.fill("input[name=password]", "alpha-pass")
    page.click("button:has-text('Войти')")
    page.wait_for_url("**/firms/alpha")
    tills = page.locator("#tills tr")
    assert tills.count() == 4  # header and alpha's three tills
    assert "онлайн" in tills.nth(1).inner_text() and "Штрих-М" in tills.nth(1).inner_text()
    assert "нет связи" in tills.nth(2).inner_text()
    assert page.evaluate("typeof window.htmx") == "object"  # the vendored htmx loaded (it refreshes #tills)
    page.click("nav.firm >> text=Чеки")
    page.fill("input[name=number]", "2")
    page.click("button:has-text('Найти')")
    rows = page.locator("table tr")
    assert rows.count() == 2
    rows.nth(1).locator("a").click()
    assert "Сыр «Российский» <весовой> 1" in page.locator("table").inner_text()  # escaped, shown as text
    page.click("nav.firm >> text=Переменные")
    page.fill("form[action$='/variables'] input[name=name]", "temperature")
    page.fill("form[action$='/variables'] input[name=value]", "-21")
    page.click("form[action$='/variables'] button")
    assert "-21" in page.locator("table").inner_text()
    assert not problems, problems


def test_viewer_sees_no_forms_and_no_other_firm(site, page_factory):
    page, problems = page_factory()
    page.goto(site.url + "/login")
    page.fill("input[name=login]", "alpha-viewer")
    page.fill("input[name=password]", "alpha-view")
    page.click("button:has-text('Войти')")
    page.wait_for_url("**/firms/alpha")
    assert page.locator("form[action$='/tills']").count() == 0
    page.goto(site.url + "/firms/alpha/variables")
    assert page.locator("form[action$='/variables']").count() == 0
    response = page.goto(site.url + "/firms/beta")
    assert response.status == 404 and "ИП Бета" not in page.content()
    assert all("404" in p for p in problems), problems  # the browser logs the 404 itself; nothing else
