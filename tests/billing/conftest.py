"""Fixtures of the accounting server: a home directory, a real SMTP server, a frozen clock."""

from __future__ import annotations

import email
import email.policy
import os
import pwd
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from icecash.billing.engine import Accounting
from icecash.billing.example import init_home
from icecash.billing.home import Home
from icecash.billing.store import open_engine
from icecash.store.db import sqlite_url

SERVICE_USER = "nobody"  # programs run as this user when the tests run as root


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def subjects(self, address: str) -> list[str]:
        return [str(m["Subject"]) for m in self.to(address)]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
            self.envelopes.clear()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on a free port: (inbox, port)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


class FrozenClock:
    """The accounting's clock, moved by the test: no sleeping."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def set(self, year: int, month: int, day: int) -> None:
        self.now = self.now.replace(year=year, month=month, day=day)

    def advance(self, days: int = 1) -> None:
        self.now += timedelta(days=days)


def make_home(path: Path, smtp_port: int, account: str | None = None, timeout: float = 10) -> Home:
    """An example home whose billing.toml points at the test's SMTP server and service user."""
    init_home(path, account)
    config = (path / "billing.toml").read_text()
    config = config.replace('port = 25', f'port = {smtp_port}').replace('user = "icecash"', f'user = "{SERVICE_USER}"')
    config = config.replace("program_timeout = 60", f"program_timeout = {timeout}")
    (path / "billing.toml").write_text(config)
    return Home(path)


def give_to_service_user(path: Path) -> None:
    """As root, the home belongs to the service user (as it would in production)."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(SERVICE_USER)
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


@pytest.fixture
def home_dir() -> Iterator[Path]:
    """A directory the service user can reach (pytest's own tmp dirs are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="icecash-billing-"))
    os.chmod(path, 0o755)
    try:
        yield path / "home"
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 20, 1, 30))


@pytest.fixture
def acc(home_dir: Path, smtp, clock: FrozenClock) -> Iterator[Accounting]:
    """An Accounting over a fresh example home (no example account), SQLite in the home."""
    _inbox, port = smtp
    home = make_home(home_dir, port)
    engine = open_engine(sqlite_url(home.path / "billing.sqlite3"))
    accounting = Accounting(home, engine, clock=clock)
    try:
        yield accounting
    finally:
        engine.dispose()


def add_account(home: Home, name: str, *, prices: str = "standard", mail: str | None = None,
                files: dict[str, str] | None = None) -> Path:
    directory = home.accounts_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "user.cf").write_text(f"prices {prices}\nmail {mail or name + '@shop.example.ru'}\n")
    for file_name, text in (files or {}).items():
        (directory / file_name).write_text(text)
    give_to_service_user(home.path)
    return directory


def wait_for(predicate, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Central:
    """A real HTTP server speaking the suspend/resume contract of icecash.billing.central."""

    def __init__(self, token: str):
        self.token = token
        self.suspended: set[str] = set()
        self.calls: list[tuple[str, str, dict]] = []
        self.known: set[str] | None = None  # None: every firm exists


@pytest.fixture
def central() -> Iterator[tuple[Central, str]]:
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    state = Central("s3cret-token")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            parts = self.path.strip("/").split("/")
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.headers.get("Authorization") != f"Bearer {state.token}":
                return self._answer(401, {"error": "bad token"})
            if len(parts) != 6 or parts[:4] != ["api", "v1", "billing", "firms"] or parts[5] not in ("suspend", "resume"):
                return self._answer(404, {"error": "no such endpoint"})
            firm, action = parts[4], parts[5]
            if state.known is not None and firm not in state.known:
                return self._answer(404, {"error": f"no firm {firm}"})
            state.calls.append((action, firm, body))
            (state.suspended.add if action == "suspend" else state.suspended.discard)(firm)
            return self._answer(200, {"firm": firm, "suspended": firm in state.suspended})

        def _answer(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
