"""Shared fixtures: a real till over a temporary data directory, in-process or as a real process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

import icecash.security as security
from icecash.till.app import create_app, open_till
from icecash.till.demo import seed_demo
from icecash.till.service import Till
from tests.helpers import FAST_HASHER, ServiceProcess
from tests.helpers import free_port as free_port  # where the tests have always imported it from

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fast_passwords(monkeypatch):
    """Cheap Argon2 in-process (real processes keep the real cost): see tests/helpers.py."""
    monkeypatch.setattr(security, "_hasher", FAST_HASHER)


@pytest.fixture
def till(tmp_path: Path) -> Till:
    """A till with a small demo catalogue (fixed items 1001–1005 and 200 more) and demo users."""
    service = open_till(tmp_path / "till")
    seed_demo(service, items=200)
    return service


@pytest.fixture
def client(till: Till) -> Iterator[TestClient]:
    with TestClient(create_app(till), raise_server_exceptions=False) as test_client:
        yield test_client


def login(client: TestClient | httpx.Client, user: str, password: str | None = None) -> dict[str, str]:
    """Bearer headers for a demo user (password = login in the demo)."""
    answer = client.post("/api/v1/auth/login", json={"login": user, "password": password or user})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


@pytest.fixture
def cashier(client: TestClient) -> dict[str, str]:
    return login(client, "kassir")


@pytest.fixture
def seller(client: TestClient) -> dict[str, str]:
    return login(client, "seller")


@pytest.fixture
def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin")


class LiveTill(ServiceProcess):
    """A real ``icecash demo`` process on a free port; kill() is SIGKILL, like a power cut."""

    def __init__(self, data: Path, items: int = 200):
        super().__init__(data, "till")
        self.items = items

    def arguments(self) -> list[str]:
        return ["demo", "--data", str(self.data), "--port", str(self.port), "--items", str(self.items),
                "--server-port", "0", "--printd-port", "0"]


@pytest.fixture
def live_till(tmp_path: Path) -> Iterator[LiveTill]:
    live = LiveTill(tmp_path / "live").start()
    try:
        yield live
    finally:
        live.stop()


CHROMIUM = os.environ.get("ICECASH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One Debian chromium for the whole run, driven by Playwright (sync API); no browser is downloaded.

    Playwright's sync API runs an event loop of its own, so a second one cannot start while this
    one lives: every browser test takes this fixture.
    """
    from playwright import sync_api

    if not Path(CHROMIUM).exists():
        pytest.fail(f"chromium not found at {CHROMIUM}: install Debian's chromium (make browser) or set ICECASH_CHROMIUM")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
