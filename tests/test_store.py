"""The database layer: Prepared statements give what SQLAlchemy gives, and a writer that must not wait doesn't.

Everything runs on a real SQLite file with the till's settings (WAL, synchronous=FULL).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Boolean, Column, DateTime, Integer, MetaData, String, Table, bindparam, func, insert, select, text, update

from icecash.store.db import BUSY_TIMEOUT_MS, Prepared, Record, WriterBusy, make_engine, reading, sqlite_url, without_waiting, writing

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(32), nullable=False),
    Column("made_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=True),
    Column("sold", Boolean, nullable=False, default=False),
    Column("count", Integer, nullable=False, default=7),
    Column("note", String(32), nullable=False, server_default="none"),
    Column("tag", String(32), nullable=True, default=lambda: "computed"),
)


@pytest.fixture
def engine(tmp_path: Path):
    engine = make_engine(sqlite_url(tmp_path / "store.sqlite3"))
    metadata.create_all(engine)
    yield engine
    engine.dispose()


MADE = datetime(2026, 11, 21, 6, 0, 1, 250)

BY_NAME = Prepared(select(things).where(things.c.name == bindparam("name")).order_by(things.c.id))
NOT_SOLD = Prepared(select(things.c.id, things.c.name).where(things.c.sold.is_(False), things.c.count > 3).order_by(things.c.id).limit(10))
INSERT = Prepared(insert(things))
RENAME = Prepared(update(things).where(things.c.id == bindparam("thing_id")).values(name=bindparam("new_name"), count=things.c.count + 1))
COUNT = Prepared(select(func.count()).select_from(things))


def test_results_equal_sqlalchemy_s_with_the_same_types(engine):
    with writing(engine) as conn:
        conn.execute(insert(things).values(name="a", made_at=MADE, closed_at=MADE, sold=True, tag="x"))
        conn.execute(insert(things).values(name="a", made_at=MADE))
    with reading(engine) as conn:
        expected = [dict(row._mapping) for row in conn.execute(BY_NAME.statement, {"name": "a"})]
        got = [row._mapping for row in BY_NAME.all(conn, {"name": "a"})]
        assert got == expected
        assert [type(v) for v in got[0].values()] == [type(v) for v in expected[0].values()]
        assert got[0]["made_at"] == MADE and got[0]["sold"] is True and got[1]["closed_at"] is None
        first = BY_NAME.first(conn, {"name": "a"})
        assert first is not None and first.id == expected[0]["id"] and first.made_at == MADE
        assert BY_NAME.first(conn, {"name": "nobody"}) is None
        assert [(r.id, r.name) for r in NOT_SOLD.all(conn)] == [(2, "a")]  # literal binds and LIMIT kept
        assert COUNT.scalar(conn) == 2


def test_insert_fills_scalar_defaults_and_leaves_server_defaults_to_the_database(engine):
    with writing(engine) as conn:
        new_id = INSERT.execute(conn, {"name": "b", "made_at": MADE, "tag": "given"})
    with reading(engine) as conn:
        row = conn.execute(select(things).where(things.c.id == new_id)).one()
        # the date is stored in SQLAlchemy's own text form, so SQL comparisons and ordering keep working
        stored = conn.execute(text("SELECT made_at FROM things WHERE id = :id"), {"id": new_id}).scalar_one()
    assert (row.name, row.made_at, row.sold, row.count, row.note, row.tag) == ("b", MADE, False, 7, "none", "given")
    assert stored == "2026-11-21 06:00:01.000250"


def test_insert_refuses_to_guess_a_computed_default(engine):
    with writing(engine) as conn, pytest.raises(ValueError, match="tag"):
        INSERT.execute(conn, {"name": "c", "made_at": MADE})


def test_update_executemany_and_missing_parameters(engine):
    with writing(engine) as conn:
        ids = [INSERT.execute(conn, {"name": f"n{i}", "made_at": MADE, "tag": None}) for i in range(3)]
        assert RENAME.execute(conn, {"thing_id": ids[0], "new_name": "first"}) == 1
        assert RENAME.executemany(conn, [{"thing_id": i, "new_name": "many"} for i in ids[1:]]) == 2
        assert RENAME.executemany(conn, []) == 0
        with pytest.raises(KeyError, match="new_name"):
            RENAME.execute(conn, {"thing_id": ids[0]})
    with reading(engine) as conn:
        assert [(r.name, r.count) for r in conn.execute(select(things).order_by(things.c.id))] == [
            ("first", 8), ("many", 8), ("many", 8)]


def test_statements_it_cannot_run_plainly_are_refused_by_name(engine):
    with reading(engine) as conn:
        with pytest.raises(ValueError, match="plain parameters"):
            Prepared(select(things).where(things.c.id.in_(bindparam("ids", expanding=True)))).all(conn, {"ids": [1]})
        with pytest.raises(ValueError, match="named alike"):
            Prepared(select(things.c.id, things.c.id.label("id"))).all(conn)


def test_record_reads_like_a_row():
    record = Record({"a": 1, "b": None})
    assert (record.a, record.b, record._mapping) == (1, None, {"a": 1, "b": None})


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def test_a_writer_that_must_not_wait_backs_off_at_once_and_nothing_is_written(engine, tmp_path):
    other = _hold_write_lock(tmp_path / "store.sqlite3")
    try:
        started = time.monotonic()
        with without_waiting(), pytest.raises(WriterBusy):
            with writing(engine) as conn:
                conn.execute(insert(things).values(name="never", made_at=MADE))
        assert time.monotonic() - started < 1.0, "it waited for the lock"
        with reading(engine) as conn:  # readers are never blocked in WAL mode
            assert COUNT.scalar(conn) == 0
    finally:
        other.execute("COMMIT")
        other.close()
    # The pooled connection is whole again: it waits as before, and writes.
    with writing(engine) as conn:
        assert conn.connection.driver_connection.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
        INSERT.execute(conn, {"name": "later", "made_at": MADE, "tag": None})
    with reading(engine) as conn:
        assert COUNT.scalar(conn) == 1


def test_an_ordinary_writer_waits_for_the_lock(engine, tmp_path):
    import threading

    other = _hold_write_lock(tmp_path / "store.sqlite3")
    threading.Timer(0.3, lambda: (other.execute("COMMIT"), other.close())).start()
    started = time.monotonic()
    with writing(engine) as conn:
        INSERT.execute(conn, {"name": "waited", "made_at": MADE, "tag": None})
    assert time.monotonic() - started >= 0.25
