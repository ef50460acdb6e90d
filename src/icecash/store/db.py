"""Database engines: SQLite tuned for money that must survive a power cut, or any SQLAlchemy URL.

SQLite runs in WAL mode with ``synchronous=FULL``: a committed receipt is on disk before the
till answers. Write transactions start with ``BEGIN IMMEDIATE`` so two writers queue instead
of failing half-way; reads use plain deferred transactions and never block writers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import QueuePool

BUSY_TIMEOUT_MS = 10_000


class WriterBusy(Exception):
    """Another writer holds the database, and the caller asked not to wait (see :func:`without_waiting`)."""


_no_wait: ContextVar[bool] = ContextVar("icecash_no_wait", default=False)


@contextmanager
def without_waiting() -> Iterator[None]:
    """Write transactions begun inside refuse at once with :class:`WriterBusy` when another writer
    holds the database, instead of waiting up to BUSY_TIMEOUT_MS for it.

    For a use-case run on the event loop: it must not stall every other request while a price
    import holds the lock, so it backs off and reruns in a worker thread, where waiting is fine.
    Nothing has been done when it is raised: the transaction had not begun.
    """
    token = _no_wait.set(True)
    try:
        yield
    finally:
        _no_wait.reset(token)


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
        pool_use_lifo=True,
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
        # Straight on the driver's connection: this runs for every transaction, and SQLAlchemy's
        # statement machinery cost ten times the BEGIN itself (bench/till_sale.py).
        driver = conn.connection.driver_connection
        if not conn.get_execution_options().get("write", False):
            driver.execute("BEGIN")
        elif not _no_wait.get():
            driver.execute("BEGIN IMMEDIATE")
        else:
            driver.execute("PRAGMA busy_timeout=0")
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
                raise WriterBusy(str(exc)) from None
            finally:
                driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

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


class Record:
    """A result row as a plain object: attributes by column name, and ``_mapping`` as a Row's.

    Reading a plain attribute costs a tenth of reading a SQLAlchemy Row's; the selling path reads
    every column of every line of a receipt on each scan.
    """

    def __init__(self, values: Any):
        self.__dict__.update(values)

    @property
    def _mapping(self) -> dict[str, Any]:
        return self.__dict__

    def __repr__(self) -> str:
        return f"Record({self.__dict__!r})"


class Prepared:
    """A Core statement compiled once and run straight on the SQLite driver's cursor.

    SQLAlchemy's execution machinery costs ~50 µs a statement on a till's CPU, several times the
    statement itself, and a scan runs a handful (bench/till_sale.py). Parameters and results go
    through the very type processors SQLAlchemy applies, so dates are stored and read back as
    SQLAlchemy does, and an insert fills the Python-side scalar defaults of the columns it is not
    given, as SQLAlchemy would. Runs inside the caller's transaction on ``conn``. SQLite only:
    the till's database.
    """

    def __init__(self, statement: Any):
        self.statement = statement
        self._is_insert = bool(getattr(statement, "is_insert", False))
        self._compiled: dict[tuple[str, ...] | None, _Compiled] = {}

    def _run(self, conn: Connection, params: dict[str, Any]) -> tuple[Any, _Compiled]:
        keys = tuple(params) if self._is_insert else None
        compiled = self._compiled.get(keys)
        if compiled is None:
            compiled = self._compiled[keys] = _Compiled(self.statement, conn.dialect, keys)
        return conn.connection.driver_connection.execute(compiled.sql, compiled.arguments(params)), compiled

    def all(self, conn: Connection, params: dict[str, Any] | None = None) -> list[Record]:
        cursor, compiled = self._run(conn, params or {})
        return [compiled.record(row) for row in cursor.fetchall()]

    def first(self, conn: Connection, params: dict[str, Any] | None = None) -> Record | None:
        cursor, compiled = self._run(conn, params or {})
        row = cursor.fetchone()
        cursor.close()
        return compiled.record(row) if row is not None else None

    def scalar(self, conn: Connection, params: dict[str, Any] | None = None) -> Any:
        """The first column of the first row (None without rows)."""
        cursor, compiled = self._run(conn, params or {})
        row = cursor.fetchone()
        cursor.close()
        return None if row is None else compiled.record(row).__dict__[compiled.keys[0]]

    def execute(self, conn: Connection, params: dict[str, Any] | None = None) -> int:
        """Run an insert, update or delete: the new row's id for an insert, else the rows changed."""
        cursor, _ = self._run(conn, params or {})
        return cursor.lastrowid if self._is_insert else cursor.rowcount

    def executemany(self, conn: Connection, rows: list[dict[str, Any]]) -> int:
        """An update or delete once for each of ``rows`` (all with the same keys): the rows changed."""
        if not rows:
            return 0
        if self._is_insert:
            raise ValueError("Prepared inserts run one row at a time (each returns its id)")
        compiled = self._compiled.get(None)
        if compiled is None:
            compiled = self._compiled[None] = _Compiled(self.statement, conn.dialect, None)
        cursor = conn.connection.driver_connection.executemany(compiled.sql, [compiled.arguments(row) for row in rows])
        return cursor.rowcount


_REQUIRED = object()


class _Compiled:
    """One compiled form of a Prepared statement: its SQL, how to build its arguments, its result columns."""

    def __init__(self, statement: Any, dialect: Any, keys: tuple[str, ...] | None):
        if dialect.name != "sqlite":
            raise ValueError(f"Prepared statements run on SQLite only, not {dialect.name}")
        defaults: dict[str, Any] = {}
        if keys is not None:  # an insert given these columns: the others take their scalar defaults
            for column in statement.table.columns:
                if column.key in keys or column.default is None:
                    continue
                if not column.default.is_scalar:
                    raise ValueError(f"Prepared insert into {statement.table.name}: give {column.key} (its default is not a constant)")
                defaults[column.key] = column.default.arg
            keys = (*keys, *defaults)
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        self.sql = str(compiled)
        self.defaults = defaults
        self.binds = []
        for name in compiled.positiontup:
            bind = compiled.binds[name]
            if bind.expanding or bind.callable is not None:
                raise ValueError(f"Prepared statements take plain parameters, not {name!r}")
            fixed = _REQUIRED if bind.required and name not in self.defaults else bind.value
            self.binds.append((name, fixed, bind.type.dialect_impl(dialect).bind_processor(dialect)))
        self.keys: tuple[str, ...] = ()
        self.processors: list[tuple[int, Any]] = []
        if statement.is_select:
            columns = list(statement.selected_columns)
            self.keys = tuple(column.key for column in columns)
            if len(set(self.keys)) != len(self.keys):
                raise ValueError(f"Prepared statement selects two columns named alike: {self.keys}")
            processors = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
            self.processors = [(index, process) for index, process in enumerate(processors) if process is not None]

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        values = []
        defaults = self.defaults
        for name, fixed, process in self.binds:
            value = params[name] if name in params else defaults.get(name, fixed)
            if value is _REQUIRED:
                raise KeyError(f"the statement needs a value for {name!r}")
            values.append(process(value) if process is not None and value is not None else value)
        return values

    def record(self, row: tuple) -> Record:
        if self.processors:
            row = list(row)
            for index, process in self.processors:
                row[index] = process(row[index])
        return Record(zip(self.keys, row))
