"""Database engines: SQLite tuned for money that must survive a power cut, or any SQLAlchemy URL.

SQLite runs in WAL mode with ``synchronous=FULL``: a committed receipt is on disk before the
till answers. Write transactions start with ``BEGIN IMMEDIATE`` so two writers queue instead
of failing half-way; reads use plain deferred transactions and never block writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

BUSY_TIMEOUT_MS = 10_000


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, full sync, foreign keys and immediate writes."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        poolclass=QueuePool,
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see _on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


_open_write: ContextVar[Connection | None] = ContextVar("icecash_open_write", default=None)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back whole on any error.

    Nested use joins the caller's transaction, so a caller can wrap several use-cases (or a
    use-case and its idempotency record) into one atomic unit.
    """
    joined = _open_write.get()
    if joined is not None and joined.engine is engine:
        yield joined
        return
    with engine.connect().execution_options(write=True) as conn, conn.begin():
        token = _open_write.set(conn)
        try:
            yield conn
        finally:
            _open_write.reset(token)


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read-only snapshot."""
    with engine.connect() as conn, conn.begin():
        yield conn
