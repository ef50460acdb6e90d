"""Browser tests of the till's UI: one real till process and one real chromium per session.

The till runs as ``icecash demo`` on a free port over a data directory prepared here with cheap
password hashes (Argon2 reads its cost from each hash, so logins stay fast in the real process).
Every test gets its own browser context and, where receipts matter, its own fresh users, so
tests never see each other's open receipts. Any console error or page error fails the test.
Screenshots land in tests/e2e/artifacts/ (look at them).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import icecash.security as security
from icecash.core.roles import Role
from icecash.till.app import open_till
from icecash.till.demo import seed_demo
from icecash.till.service import Till
from tests.conftest import LiveTill
from tests.helpers import FAST_HASHER

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1024, "height": 768}



@pytest.fixture(scope="session")
def till_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Till]:
    """The demo till's database, seeded here with cheap hashes; also used to make fresh users."""
    saved = security._hasher
    security._hasher = FAST_HASHER
    try:
        service = open_till(tmp_path_factory.mktemp("e2e") / "till")
        seed_demo(service, items=300)
        yield service
    finally:
        security._hasher = saved
        service.engine.dispose()


@pytest.fixture(scope="session")
def live(till_service: Till) -> Iterator[LiveTill]:
    data = Path(str(till_service.engine.url.database)).parent
    till = LiveTill(data, items=300).start()
    try:
        yield till
    finally:
        till.stop()


_numbers = itertools.count(1)


@pytest.fixture
def new_user(till_service: Till, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Make a fresh user of a role (password = login; user card code = '99' + number); returns the login."""
    monkeypatch.setattr(security, "_hasher", FAST_HASHER)

    def make(role: str = "cashier", language: str = "ru", theme: str = "light") -> str:
        n = next(_numbers)
        login = f"{role}{n}"
        till_service.create_user(None, login, login, Role[role.upper()], f"{role.title()} {n}", f"99{n:06d}", theme, language)
        return login
    return make


class Screen:
    """A browser page on the live till, with the console watched and helpers for the cashier's keys."""

    def __init__(self, page, base: str):
        self.page = page
        self.base = base
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)

    def login(self, login: str, password: str | None = None) -> None:
        self.goto("/login")
        self.page.fill("#login", login)
        self.page.fill("#password", password if password is not None else login)
        self.page.press("#password", "Enter")
        self.page.wait_for_url("**/sale")
        self.page.wait_for_selector("#scan:focus")

    def rendered(self, action: Callable[[], None]) -> None:
        """Do ``action`` and wait until the screen has drawn the till's answer (and nothing is queued)."""
        self.page.evaluate("window.__rendered = 0; document.addEventListener('icecash:rendered', () => window.__rendered++)")
        action()
        self.page.wait_for_function("window.__rendered > 0 && window.icecash.pending() === 0")

    def scan(self, barcode: str) -> None:
        self.page.locator("#scan").focus()
        self.page.keyboard.type(barcode)
        self.rendered(lambda: self.page.keyboard.press("Enter"))

    def key(self, key: str) -> None:
        self.page.keyboard.press(key)

    def key_rendered(self, key: str) -> None:
        self.rendered(lambda: self.page.keyboard.press(key))

    def lines(self) -> list[dict[str, str]]:
        return self.page.eval_on_selector_all(
            "#lines tr.line",
            """rows => rows.map(r => ({no: r.dataset.line, name: r.querySelector('.item-name').textContent,
                 price: r.cells[2].textContent.trim(), qty: r.cells[3].textContent.trim(),
                 total: r.cells[5].textContent.trim(), storno: r.classList.contains('storno'),
                 selected: r.classList.contains('selected')}))""",
        )

    def message(self) -> str:
        return self.page.inner_text("#message").strip()

    def total(self) -> str:
        return self.page.inner_text("#totals strong").strip()

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture
def screen(browser, live: LiveTill) -> Iterator[Screen]:
    context = browser.new_context(viewport=VIEWPORT, locale="ru-RU")
    page = context.new_page()
    page.set_default_timeout(10_000)
    view = Screen(page, live.url)
    try:
        yield view
    finally:
        context.close()
    assert not view.errors, view.errors


def money(text: str) -> str:
    """A screen's money ('1 234,50' with a narrow space) as '1234,50' for comparisons."""
    return text.replace("\u202f", "").replace("\u00a0", "").replace(" ", "")
