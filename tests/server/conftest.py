"""Central server fixtures: the server over SQLite, PostgreSQL and MariaDB, real server processes, receipts.

PostgreSQL is 127.0.0.1:5432 (trust), database ``test``; each run gets its own schema, dropped
afterwards. MariaDB is 127.0.0.1:3306 (root, no password); each run gets its own database, dropped
afterwards. Without them those cases skip with the reason, except under CI=true where they fail:
CI must prove the server works there.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from icecash.server.app import create_app, open_server
from icecash.server.service import Server
from icecash.store.db import make_engine
from icecash.store.migrate import upgrade
from icecash.supervise import Child
from tests.helpers import ServiceProcess, TillService

PG_USERS = ("postgres", "root")
PG_BASE = "postgresql+psycopg://{user}@127.0.0.1:5432/test"


def _pg_base() -> str | None:
    for user in PG_USERS:
        url = PG_BASE.format(user=user)
        try:
            engine = create_engine(url, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            engine.dispose()
            return url
        except Exception:  # noqa: BLE001  (any failure means: no PostgreSQL here)
            continue
    return None


@pytest.fixture(scope="session")
def pg_base() -> str:
    url = _pg_base()
    if url is None:
        message = "PostgreSQL is not reachable at 127.0.0.1:5432 (database test, user postgres or root)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " — and CI=true: the server must be tested on PostgreSQL")
        pytest.skip(message)
    return url


def pg_schema_url(base: str, schema: str) -> str:
    return f"{base}?options=-csearch_path%3D{schema}"


class PgSchema:
    """A schema of its own in the test database, dropped with everything in it afterwards."""

    def __init__(self, base: str):
        self.base = base
        self.name = f"icecash_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.name}"'))
        self.url = pg_schema_url(base, self.name)

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.admin.dispose()


MARIADB = "mysql+pymysql://root@127.0.0.1:3306/{db}?charset=utf8mb4"


@pytest.fixture(scope="session")
def mariadb_ok() -> bool:
    try:
        engine = create_engine(MARIADB.format(db="test"), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        message = "MariaDB is not reachable at 127.0.0.1:3306 (root, no password, database test)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " — and CI=true")
        pytest.skip(message)


@contextmanager
def database(kind: str, request, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of ``kind``: SQLite in tmp_path, a new PostgreSQL schema, a new MariaDB database."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'server.sqlite3'}"
        return
    if kind == "mariadb":
        request.getfixturevalue("mariadb_ok")
        name = f"icecash_{uuid.uuid4().hex[:12]}"
        admin = create_engine(MARIADB.format(db="test"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
        try:
            yield MARIADB.format(db=name)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
            admin.dispose()
        return
    schema = PgSchema(request.getfixturevalue("pg_base"))
    try:
        yield schema.url
    finally:
        schema.drop()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def db_url(request, tmp_path: Path) -> Iterator[str]:
    """Storage tests run on every engine."""
    with database(request.param, request, tmp_path) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def api_db_url(request, tmp_path: Path) -> Iterator[str]:
    """The HTTP API tests: the default engine and the chain-scale one (MariaDB is covered by storage)."""
    with database(request.param, request, tmp_path) as url:
        yield url


@pytest.fixture
def server(db_url: str) -> Iterator[Server]:
    engine = make_engine(db_url)
    upgrade("icecash.server.migrations", engine)
    try:
        yield Server(engine)
    finally:
        engine.dispose()


def two_firms(server: Server) -> dict[str, Any]:
    """Firms alpha (shops 1 and 2, tills 1/1, 1/2, 2/1) and beta (shop 1, till 1/1), people of each."""
    secrets: dict[tuple[str, int, int], str] = {}
    server.create_firm(None, "alpha", "ООО «Альфа»")
    server.create_firm(None, "beta", "ИП Бета")
    server.create_shop(None, "alpha", 1, "Альфа, Ленина 1")
    server.create_shop(None, "alpha", 2, "Альфа, Мира 2")
    server.create_shop(None, "beta", 1, "Бета, Садовая 5")
    for regid, idplace, nkassa in (("alpha", 1, 1), ("alpha", 1, 2), ("alpha", 2, 1), ("beta", 1, 1)):
        secrets[(regid, idplace, nkassa)] = server.create_till(None, regid, idplace, nkassa, f"Касса {nkassa}", "main")
    server.create_user(None, "operator", "operator-pass", "operator")
    server.create_user(None, "alpha-admin", "alpha-pass", "admin", "alpha")
    server.create_user(None, "alpha-viewer", "alpha-view", "viewer", "alpha")
    server.create_user(None, "beta-admin", "beta-pass1", "admin", "beta")
    return secrets


EX = "/api/v1/exchange"


@pytest.fixture
def env(tmp_path: Path, api_db_url: str):
    """The server app in a TestClient, over each database of api_db_url: (server, till secrets, client)."""
    server = open_server(tmp_path / "server", api_db_url)
    secrets = two_firms(server)
    try:
        with TestClient(create_app(server), raise_server_exceptions=False) as client:
            yield server, secrets, client
    finally:
        server.engine.dispose()


def till_headers(client, secrets, regid="alpha", idplace=1, nkassa=1) -> dict[str, str]:
    """A till's bearer header from the exchange's login (its secret from two_firms)."""
    answer = client.post(f"{EX}/auth", json={"regid": regid, "idplace": idplace, "nkassa": nkassa,
                                              "secret": secrets[(regid, idplace, nkassa)]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def actor(server: Server, login: str, password: str):
    return server.authenticate(server.login(login, password)[0])


@pytest.fixture
def firms(server: Server) -> Server:
    """The server with :func:`two_firms`; their till secrets in ``server._secrets``."""
    server._secrets = two_firms(server)
    return server


def till_of(server: Server, regid: str = "alpha", idplace: int = 1, nkassa: int = 1):
    """A till of :func:`two_firms`, logged in: the ``TillId`` the exchange's use-cases take."""
    return server.till_login(regid, idplace, nkassa, server._secrets[(regid, idplace, nkassa)])[1]


def make_receipt(idplace: int = 1, nkassa: int = 1, *, lines: int = 2, price: int = 8990, kind: str = "sale",
                 status: str = "paid", closed_at: datetime | None = None, number: int = 1, name: str = "Молоко") -> dict:
    """A receipt as a till sends it: ``lines`` lines of ``price`` kopecks each, paid in cash."""
    closed = closed_at or datetime(2026, 11, 20, 12, 0, 0)
    body = [{"line_no": n, "code": str(1000 + n), "name": f"{name} {n}", "barcode": "", "price": price, "quantity": 1000,
             "storno": False, "amount": price, "discount": 0, "total": price, "final_price": price, "vat": "10",
             "vat_amount": price * 10 // 110, "marks": ""} for n in range(1, lines + 1)]
    total = price * lines
    paid = status == "paid"
    return {"uuid": str(uuid.uuid4()), "kind": kind, "status": status, "number": number, "idplace": idplace,
            "nkassa": nkassa, "shift_uuid": "", "return_of": None, "created_at": (closed - timedelta(minutes=2)).isoformat(),
            "closed_at": closed.isoformat(), "cashier": "kassir", "seller": "kassir", "card_number": None,
            "card_rate_bp": 0, "amount": total, "discount": 0, "total": total, "cash": total if paid else 0, "card": 0,
            "cash_given": total if paid else 0, "change": 0, "comment": "", "lines": body}


def parsed(receipt: dict) -> dict:
    """A wire receipt as the exchange hands it to the service (times parsed)."""
    return {**receipt, "created_at": datetime.fromisoformat(receipt["created_at"]),
            "closed_at": datetime.fromisoformat(receipt["closed_at"])}


def make_z(idplace: int = 1, nkassa: int = 1, sold: int = 17980, returned: int = 0, number: int = 1) -> dict:
    return {"uuid": str(uuid.uuid4()), "number": number, "idplace": idplace, "nkassa": nkassa,
            "opened_at": "2026-11-20T08:00:00", "closed_at": "2026-11-20T22:00:00", "accounting_date": "2026-11-20",
            "sales_count": 1, "returns_count": 1 if returned else 0, "cancels_count": 0, "sales_total": sold,
            "returns_total": returned, "cancels_total": 0, "cash": sold - returned, "card": 0, "sales_discount": 0,
            "returns_discount": 0, "cash_in": 0, "cash_out": 0, "revenue": sold - returned,
            "lines": [{"code": "1001", "name": "Молоко <3,2%> & «сливки»", "sold_quantity": 2000, "sold_total": sold,
                       "returned_quantity": 1000 if returned else 0, "returned_total": returned}]}


class ServerProcess(ServiceProcess):
    """``icecash server --data DIR --port P`` as a real process; kill() is SIGKILL (a power cut).
    ``extra``: more options for the server (e.g. its accounting home)."""

    def __init__(self, data: Path, db: str | None = None, extra: list[str] | None = None):
        super().__init__(data, "server")
        self.db = db
        self.extra = list(extra or [])

    def arguments(self) -> list[str]:
        return ["server", "--data", str(self.data), "--port", str(self.port), "--log-level", "warning", *self.extra,
                *(["--db", self.db] if self.db else [])]


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Until ``process`` answers on ``url``/api/v1/health; a clear error quoting ``log`` if it dies or never does."""
    Child(log.stem, [], log, health_url=f"{url}/api/v1/health", process=process).wait_ready(timeout)


def eventually(check, timeout: float = 30, interval: float = 0.2, message: str = "condition"):
    """Poll ``check`` until it returns a truthy value; fail with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{message} not reached within {timeout} s; last: {last!r}")


# --- tills attached to a server ---------------------------------------------------------------------


FAST_SYNC = {"sync_receipts_s": "1", "sync_z_s": "1", "sync_price_s": "1", "sync_promotions_s": "1",
             "sync_variables_s": "1"}


def prepare_till(data: Path, server_url: str, regid: str, idplace: int, nkassa: int, secret: str, items: int = 50,
                 clock=None):
    """A till's data directory with the demo catalogue and users, attached to the server; the Till."""
    from icecash.till.app import open_till
    from icecash.till.demo import seed_demo
    from icecash.till.service import Till
    from icecash.till.sync import SyncAgent

    till = open_till(data)
    if clock is not None:
        till = Till(till.engine, clock=clock)
    seed_demo(till, items=items)
    till.update_settings(None, {"server_url": server_url, "regid": regid, "idplace": idplace, "nkassa": nkassa,
                                **FAST_SYNC})
    SyncAgent(till).set_secret(secret)
    return till


class FedAndAlone:
    """A real server process feeding a till (alpha 1/1, bound to list ``main``), and a till with the same demo
    catalogue that loads the same files itself: a list on the server must leave the fed till as the files
    leave the other one. :meth:`load` gives a file to both, the fed one by a price delta as it would get it."""

    def __init__(self, tmp_path: Path):
        from icecash.server.app import open_server
        from icecash.till.sync import SyncAgent

        with pytest.MonkeyPatch.context() as patch:
            from icecash import security
            from tests.helpers import FAST_HASHER

            patch.setattr(security, "_hasher", FAST_HASHER)
            self.server = open_server(tmp_path / "server")
            self.secrets = secrets = two_firms(self.server)
        self.tmp_path = tmp_path
        self.process = ServerProcess(tmp_path / "server").start()
        try:
            self.fed = prepare_till(tmp_path / "fed", self.process.url, "alpha", 1, 1, secrets[("alpha", 1, 1)])
            self.agent = SyncAgent(self.fed)
            self.alone = prepare_till(tmp_path / "alone", "", "alpha", 1, 2, "unused")
        except BaseException:
            self.process.stop()
            raise

    def load(self, data: bytes, filename: str) -> None:
        from icecash.core.pricefile import parse_price_file
        from icecash.store.db import writing
        from icecash.till.catalogue import import_price_file

        self.server.push_price_list(None, "alpha", "main", parse_price_file(data, filename))
        assert self.agent.run_job("price")
        default_vat = self.alone.settings()["default_vat"]
        with writing(self.alone.engine) as conn:
            import_price_file(conn, parse_price_file(data, filename), default_vat)

    def late_till(self):
        """A till (alpha 2/1, same demo catalogue) that joins now: it gets the server's whole list at once."""
        from icecash.till.sync import SyncAgent

        till = prepare_till(self.tmp_path / "late", self.process.url, "alpha", 2, 1, self.secrets[("alpha", 2, 1)])
        assert SyncAgent(till).run_job("price")
        return till

    def items(self, till, codes) -> dict[str, dict[str, Any]]:
        """The catalogue rows of ``codes`` on ``till`` (``self.fed`` or ``self.alone``)."""
        from sqlalchemy import select

        from icecash.store.db import reading
        from icecash.till.tables import catalogue

        with reading(till.engine) as conn:
            rows = {row.code: row._asdict() for row in conn.execute(select(catalogue).where(catalogue.c.code.in_(codes)))}
        assert set(rows) == set(codes), f"missing: {set(codes) - set(rows)}"
        return rows

    def stop(self) -> None:
        self.process.stop()


@contextmanager
def fed_and_alone(tmp_path: Path) -> Iterator[FedAndAlone]:
    both = FedAndAlone(tmp_path)
    try:
        yield both
    finally:
        both.stop()


class TillProcess(TillService):
    """``icecash till --data DIR --port P`` (the real till with its sync agent); kill() is SIGKILL."""

    grace = 15.0
    log_level = "warning"

    def __init__(self, data: Path):
        super().__init__(data, f"till-{data.name}")
        self._client: httpx.Client | None = None

    def start(self) -> "TillProcess":
        super().start()
        self._client = None
        return self

    def client(self, login: str = "kassir") -> httpx.Client:
        if self._client is None:
            client = httpx.Client(base_url=self.url + "/api/v1", timeout=30)
            token = client.post("/auth/login", json={"login": login, "password": login}).json()["token"]
            client.headers["Authorization"] = f"Bearer {token}"
            self._client = client
        return self._client

    def admin(self) -> httpx.Client:
        client = httpx.Client(base_url=self.url + "/api/v1", timeout=30)
        token = client.post("/auth/login", json={"login": "admin", "password": "admin"}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        return client

    def sell(self, barcode: str = "4601234567893", cash: str = "1000") -> dict:
        client = self.client()
        answer = client.post("/receipt/scan", json={"barcode": barcode})
        assert answer.status_code == 200, answer.text
        paid = client.post("/receipt/pay", json={"cash": cash})
        assert paid.status_code == 200, paid.text
        return paid.json()

    def status(self) -> dict:
        return self.client().get("/sync/status").json()


def till_receipts(data: Path) -> dict[str, int]:
    """uuid → total of every finished receipt in a till's database (read-only)."""
    import sqlite3

    conn = sqlite3.connect(f"file:{data / 'till.sqlite3'}?mode=ro", uri=True)
    try:
        return dict(conn.execute("SELECT uuid, total FROM receipts WHERE status IN ('paid', 'cancelled')").fetchall())
    finally:
        conn.close()


def server_receipts(server_url: str, login: str, password: str, regid: str, idplace: int, nkassa: int) -> dict[str, int]:
    """uuid → total of every receipt the server holds for one till, through the back-office API."""
    with httpx.Client(base_url=server_url + "/api/v1", timeout=30) as client:
        token = client.post("/auth/login", json={"login": login, "password": password}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        out: dict[str, int] = {}
        after = 0
        while True:
            page = client.get(f"/firms/{regid}/receipts", params={"idplace": idplace, "nkassa": nkassa, "after": after,
                                                                  "limit": 1000, "lines": "false"}).json()
            for r in page["receipts"]:
                assert r["uuid"] not in out, f"receipt {r['uuid']} twice on the server"
                out[r["uuid"]] = r["total"]
            if page["next_after"] is None:
                return out
            after = page["next_after"]


def clone_receipts(data: Path, n: int) -> None:
    """A backlog of ``n`` more paid receipts in a (stopped) till's database: copies of its last paid
    receipt with new UUIDs and numbers, pending upload, in one transaction (fast: no use-case per receipt)."""
    import sqlite3

    conn = sqlite3.connect(data / "till.sqlite3", isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        source = conn.execute("SELECT * FROM receipts WHERE status = 'paid' ORDER BY id DESC LIMIT 1")
        columns = [d[0] for d in source.description]
        row = dict(zip(columns, source.fetchone()))
        lines = conn.execute("SELECT * FROM receipt_lines WHERE receipt_id = ?", (row["id"],))
        line_columns = [d[0] for d in lines.description]
        line_rows = [dict(zip(line_columns, values)) for values in lines.fetchall()]
        number = conn.execute("SELECT MAX(number) FROM receipts").fetchone()[0] or 0
        next_id = conn.execute("SELECT MAX(id) FROM receipts").fetchone()[0] + 1
        receipt_sql = f"INSERT INTO receipts ({','.join(columns)}) VALUES ({','.join('?' * len(columns))})"
        line_cols = [c for c in line_columns if c != "id"]
        line_sql = f"INSERT INTO receipt_lines ({','.join(line_cols)}) VALUES ({','.join('?' * len(line_cols))})"
        new_rows, new_lines = [], []
        for i in range(n):
            rid = next_id + i
            new_rows.append(tuple({**row, "id": rid, "uuid": str(uuid.uuid4()), "number": number + 1 + i,
                                   "upload_state": "pending"}[c] for c in columns))
            new_lines += [tuple({**ln, "receipt_id": rid}[c] for c in line_cols) for ln in line_rows]
        conn.executemany(receipt_sql, new_rows)
        conn.executemany(line_sql, new_lines)
        conn.execute("COMMIT")
    finally:
        conn.close()
