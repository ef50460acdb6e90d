"""Migrations: the till creates its database on first start, upgrades it on later starts, and the
Alembic head is exactly the schema ``icecash.till.tables`` describes."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Integer, MetaData, String, inspect

from icecash.core.roles import Role
from icecash.store.db import make_engine, sqlite_url
from icecash.store.migrate import alembic_config, current_revision, upgrade
from icecash.till import tables
from icecash.till.app import DB_FILE, MIGRATIONS, open_till
from icecash.till.demo import seed_demo
from tests.conftest import REPO, free_port
from tests.helpers import TillService

TILL_TABLES = set(tables.metadata.tables)


def head_revision() -> str:
    engine = make_engine("sqlite://")
    heads = ScriptDirectory.from_config(alembic_config(MIGRATIONS, engine)).get_heads()
    assert len(heads) == 1, f"the till's migrations must have one head, not {heads}"
    return heads[0]


def schema_of(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name").fetchall()
    finally:
        conn.close()


def differences(engine, metadata=tables.metadata) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        return compare_metadata(context, metadata)


def serve_once(data: Path, logs: Path) -> str:
    """Start ``icecash till --data DATA`` as a real process, wait until it answers, stop it; its output."""
    till = TillService(data, logs=logs)
    try:
        till.start()
        assert httpx.get(f"{till.url}/api/v1/health", timeout=5).json()["service"] == "till"
    finally:
        till.stop()
    return till.log.read_text()


@pytest.mark.slow
def test_first_start_creates_the_database_and_later_starts_keep_it(tmp_path: Path) -> None:
    data = tmp_path / "shop" / "till"  # not there yet: created with its parents
    output = serve_once(data, tmp_path)
    db = data / DB_FILE
    assert db.exists()
    assert "icecash till user add admin --role admin" in output  # a new till says how to get in
    engine = make_engine(sqlite_url(db))
    assert current_revision(engine) == head_revision()
    assert TILL_TABLES <= set(inspect(engine).get_table_names())
    assert differences(engine) == []

    # data written between starts survives the next start, which changes nothing in the schema
    till = open_till(data)
    till.create_user(None, "boss", "secret-1", Role.ADMIN, "Начальник")
    before = schema_of(db)
    output = serve_once(data, tmp_path)
    assert "No users yet" not in output
    assert schema_of(db) == before
    assert current_revision(engine) == head_revision()
    token, user = open_till(data).login("boss", "secret-1")
    assert token and user.role is Role.ADMIN and user.name == "Начальник"
    engine.dispose()


@pytest.mark.slow
def test_a_start_upgrades_a_database_left_at_base(tmp_path: Path) -> None:
    data = tmp_path / "till"
    data.mkdir()
    engine = make_engine(sqlite_url(data / DB_FILE))
    upgrade(MIGRATIONS, engine)
    command.downgrade(alembic_config(MIGRATIONS, engine), "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    serve_once(data, tmp_path)
    assert current_revision(engine) == head_revision()
    assert differences(engine) == []
    engine.dispose()


def test_second_open_is_a_no_op_and_keeps_data(tmp_path: Path) -> None:
    till = open_till(tmp_path)
    till.create_user(None, "anna", "pass-1234", Role.CASHIER)
    till.update_settings(None, {"orgname": "ООО «Ромашка»"})
    before = schema_of(tmp_path / DB_FILE)
    again = open_till(tmp_path)
    assert schema_of(tmp_path / DB_FILE) == before
    assert current_revision(again.engine) == head_revision()
    assert again.settings()["orgname"] == "ООО «Ромашка»"
    assert again.login("anna", "pass-1234")[1].role is Role.CASHIER


def test_head_matches_the_tables_module(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "t.sqlite3"))
    upgrade(MIGRATIONS, engine)
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) == TILL_TABLES | {"alembic_version"}
    assert differences(engine) == []
    # the comparison does see a drift: a column the migrations never created
    drifted = MetaData()
    for table in tables.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["receipts"].append_column(Column("fiscal_sign", String(32), nullable=True))
    drifted.tables["catalogue"].append_column(Column("weight_g", Integer, nullable=False, default=0))
    found = {(d[0], d[3].name) for d in differences(engine, drifted) if d[0] == "add_column"}
    assert found == {("add_column", "fiscal_sign"), ("add_column", "weight_g")}


def test_downgrade_to_base_and_upgrade_again(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / DB_FILE))
    config = alembic_config(MIGRATIONS, engine)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert current_revision(engine) == head_revision()
    assert set(inspect(engine).get_table_names()) == TILL_TABLES | {"alembic_version"}
    assert differences(engine) == []
    engine.dispose()
    # and the database works: a till opens over it and sells
    till = open_till(tmp_path)
    seed_demo(till, items=5)
    _token, kassir = till.login("kassir", "kassir")
    assert till.add_line(kassir, code="1001")["total"] == "89.90"
    paid = till.pay(kassir, cash=10_000)
    assert (paid["status"], paid["number"], paid["change"]) == ("paid", 1, "10.10")


def test_a_database_from_a_newer_version_is_refused_not_touched(tmp_path: Path) -> None:
    data = tmp_path / "till"
    open_till(data).engine.dispose()
    conn = sqlite3.connect(data / DB_FILE)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.commit()
    conn.close()
    before = schema_of(data / DB_FILE)
    result = subprocess.run(
        [sys.executable, "-m", "icecash.cli", "till", "--data", str(data), "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert result.returncode == 2
    output = " ".join((result.stdout + result.stderr).split())
    assert "Traceback" not in output
    assert "cannot upgrade the till database: Can't locate revision identified by '9999'" in output
    assert schema_of(data / DB_FILE) == before
