"""`icecash billing …` commands: init, convertstat flags, daily, monthly, pay, statement, eval, runqueue."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from icecash.billing.cli import billing_app

from .conftest import give_to_service_user, make_home

runner = CliRunner()


@pytest.fixture
def home(home_dir: Path, smtp) -> Path:
    _inbox, port = smtp
    make_home(home_dir, port, account="demo")
    (home_dir / "accounts/demo/misc.st").write_text("misc.a 2\nmisc.b 3\n")
    other = home_dir / "accounts/other"
    other.mkdir()
    (other / "user.cf").write_text("prices standard\nmail other@shop.example.ru\n")
    (other / "tills.st").write_text("tills 1\n")
    (home_dir / ".month").write_text("2026.11\n")  # the accounting month, whatever today is
    give_to_service_user(home_dir)
    return home_dir


def run(home: Path, *args: str, code: int = 0):
    result = runner.invoke(billing_app, ["--home", str(home), *args])
    assert result.exit_code == code, result.output
    return result.output


def test_help_explains_every_command():
    output = runner.invoke(billing_app, ["--help"]).output
    for command in ("init", "convertstat", "daily", "monthly", "runqueue", "pay", "statement", "eval"):
        assert command in output
    assert "-Y" in runner.invoke(billing_app, ["convertstat", "--help"]).output


def test_init_then_daily(home_dir: Path, smtp):
    _inbox, port = smtp
    out = run(home_dir, "init")
    assert "accounting home ready" in out and (home_dir / "billing.sqlite3").exists()
    config = (home_dir / "billing.toml").read_text().replace("port = 25", f"port = {port}")
    (home_dir / "billing.toml").write_text(config)
    out = run(home_dir, "daily", "nocheck", "--date", "2026-11-20")
    assert "daily 2026-11-20 (month 2026.11)" in out
    assert run(home_dir, "daily", "sometimes", code=2).count("nocheck") >= 1


def test_not_a_home_is_a_clear_error(tmp_path: Path):
    out = run(tmp_path / "nowhere", "daily", code=2)
    assert "not an accounting home" in out and "icecash billing init" in out


def test_convertstat_options(home: Path, tmp_path: Path):
    assert "2026.10: 2 accounts, 0 rows" in run(home, "convertstat", "-a", "-Y", "2026", "-M", "10")
    out = run(home, "convertstat", "-u", "demo", "-Y", "2026", "-M", "11")
    assert "2026.11: 1 accounts, 2 rows, 5.00 ₽" in out
    out = run(home, "convertstat", "-Y", "2026", "-M", "11")
    assert "2 accounts, 3 rows, 15.00 ₽" in out
    again = run(home, "convertstat", "-Y", "2026", "-M", "11")
    assert "2 accounts, 3 rows, 15.00 ₽" in again  # idempotent
    stats = tmp_path / "in.st"
    stats.write_text("tills 3\n")
    out_file = tmp_path / "out.tsv"
    run(home, "convertstat", "-u", "demo", "-i", str(stats), "-o", str(out_file), "-Y", "2026", "-M", "11")
    assert "tills\t3.000\t10.00" in out_file.read_text()
    assert "-i needs -u" in run(home, "convertstat", "-i", str(stats), code=2)
    assert "exclude each other" in run(home, "convertstat", "-u", "demo", "-a", code=2)
    assert "not 1..12" in run(home, "convertstat", "-M", "13", code=2)
    assert "account 'nobody' not found" in run(home, "convertstat", "-u", "nobody", code=2)
    (home / "accounts/demo/misc.st").write_text("misc.a lots\n")
    assert "failure(s) written" in run(home, "convertstat", "-Y", "2026", "-M", "11", code=1)


def test_pay_statement_and_eval(home: Path):
    run(home, "convertstat", "-Y", "2026", "-M", "11")
    out = run(home, "pay", "demo", "1500.50", "--comment", "счёт 17", "--date", "2026-11-05")
    assert "demo 1500.50 ₽; balance 1495.50 ₽" in out
    out = run(home, "statement", "demo", "-Y", "2026", "-M", "11")
    assert "2026-11-05" in out and "1500.50  счёт 17" in out and "closing balance: 1495.50" in out
    assert "misc.a" in out and "opening balance: 0.00" in out
    assert run(home, "eval", "demo", "total()").strip() == "149550"
    assert run(home, "eval", "demo", "total() < 50000").strip() == "0"
    assert "position 10" in run(home, "eval", "demo", "total() <", code=2)
    assert "amount" in run(home, "pay", "demo", "12.345", code=2)
    assert "cannot be zero" in run(home, "pay", "demo", "0", code=2)
    assert "not found" in run(home, "pay", "ghost", "10", code=2)


def test_monthly_and_runqueue(home: Path):
    (home / ".month").unlink()
    assert "monthly: started (2026.11)" in run(home, "monthly", "--date", "2026-11-20")
    assert "monthly: nothing" in run(home, "monthly", "--date", "2026-11-30")
    assert "closed 2026.11, opened 2026.12" in run(home, "monthly", "--date", "2026-12-01")
    assert (home / "backup/2026.11/demo/misc.st").exists()
    # converting the closed month again reads its archive: the charges stay
    assert "2 accounts, 3 rows, 15.00 ₽" in run(home, "convertstat", "-Y", "2026", "-M", "11")
    assert "0 rows" in run(home, "convertstat")  # December: nothing measured yet
    assert "not started yet" in run(home, "convertstat", "-Y", "2027", "-M", "1", code=2)
    assert "0 answered, 0 refused" in run(home, "runqueue")
    assert "HOST:PORT" in run(home, "runqueue", "--listen", "nowhere", code=2)


def test_home_from_the_environment_and_the_lock(home: Path, monkeypatch):
    from icecash.billing.engine import Accounting
    from icecash.billing.home import Home
    from icecash.billing.store import open_engine
    from icecash.store.db import sqlite_url

    monkeypatch.setenv("ICECASH_BILLING_HOME", str(home))
    result = runner.invoke(billing_app, ["statement", "demo"])
    assert result.exit_code == 0 and "Счёт / account: demo" in result.output
    engine = open_engine(sqlite_url(home / "billing.sqlite3"))
    try:
        with Accounting(Home(home), engine).lock():  # another run holds the lock
            result = runner.invoke(billing_app, ["daily", "--date", "2026-11-20"])
            assert result.exit_code == 2 and "another run is in progress" in result.output
            result = runner.invoke(billing_app, ["convertstat"])
            assert result.exit_code == 2 and "another run is in progress" in result.output
    finally:
        engine.dispose()
    assert runner.invoke(billing_app, ["daily", "nocheck", "--date", "2026-11-20"]).exit_code == 0
