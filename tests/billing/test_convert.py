"""convertstat: rating .st files by price lists into `statistic`, idempotently, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from icecash.billing.convert import convertstat, rate
from icecash.billing.engine import AccountContext
from icecash.billing.files import parse_price_list
from icecash.billing.home import FailureLog
from icecash.billing.store import Book, open_engine
from icecash.core.formula import Month, parse
from icecash.core.money import div_half_up

from .conftest import add_account

NOV = Month(2026, 11)


def test_rate_searches_lists_in_order_exact_before_wildcard():
    special = parse_price_list("receipts 0.03 1\n", "special")
    standard = parse_price_list("receipts 0.05 1\ntills 10 1\nmisc.* 1 1\n", "standard")
    rows, unpriced = rate({"receipts": 1000 * 1000, "tills": 3000, "misc.sms": 7000, "gold": 1000}, [special, standard])
    by_item = {r.item: r for r in rows}
    assert by_item["receipts"].cost == 3000 and by_item["receipts"].price_list == "special"
    assert by_item["tills"].cost == 3000 and by_item["misc.sms"].cost == 700
    assert unpriced == ["gold"]
    assert [r.item for r in rows] == sorted(by_item)


@given(st.integers(0, 10**12), st.integers(0, 10**8), st.integers(1, 10**7))
def test_cost_is_rounded_half_up_once(quantity, price, per):
    prices = parse_price_list(f"x {price // 100}.{price % 100:02d} {per // 1000}.{per % 1000:03d}\n", "p")
    rows, _ = rate({"x": quantity}, [prices])
    assert rows[0].cost == div_half_up(quantity * price, per)


def test_convertstat_is_idempotent_and_replaces_the_month(acc):
    home = acc.home
    add_account(home, "shop1", files={"receipts.st": "receipts 100\nreceipts 50\n", "tills.st": "tills 2\n"})
    add_account(home, "shop2", files={"misc.st": "misc.sms 3\n"})
    first = convertstat(home, acc.book, NOV, home.accounts(), acc.failures)
    again = convertstat(home, acc.book, NOV, home.accounts(), acc.failures)
    assert (first.rows, first.cost) == (again.rows, again.cost) == (3, 150 * 5 + 2 * 1000 + 300)
    rows = acc.book.month_rows("shop1", NOV)
    assert [(r["item"], r["quantity"], r["cost"]) for r in rows] == [("receipts", 150000, 750), ("tills", 2000, 2000)]
    assert acc.book.balance("shop1") == -2750
    (home.accounts_dir / "shop1" / "tills.st").unlink()  # usage gone: its row goes too
    convertstat(home, acc.book, NOV, ["shop1"], acc.failures)
    assert [r["item"] for r in acc.book.month_rows("shop1", NOV)] == ["receipts"]
    assert acc.book.month_rows("shop2", NOV)[0]["cost"] == 300
    assert acc.failures.count == 0


def test_a_broken_file_keeps_the_old_rows_and_is_logged(acc):
    home = acc.home
    directory = add_account(home, "shop1", files={"receipts.st": "receipts 10\n"})
    convertstat(home, acc.book, NOV, ["shop1"], acc.failures)
    (directory / "receipts.st").write_text("receipts 10\nreceipts ten\n")
    add_account(home, "shop2", files={"receipts.st": "receipts 4\ngold 1\n"})
    result = convertstat(home, acc.book, NOV, home.accounts(), acc.failures)
    assert result.failed == ["shop1"]
    assert acc.book.month_rows("shop1", NOV)[0]["cost"] == 50  # old rows kept
    assert acc.book.month_rows("shop2", NOV)[0]["cost"] == 20  # the others converted
    log = home.failure_log.read_text()
    assert "receipts.st:2" in log and "quantity 'ten'" in log
    assert "item 'gold' is in no price list" in log


def test_missing_price_list_is_logged(acc):
    add_account(acc.home, "shop1", prices="nosuch", files={"a.st": "receipts 1\n"})
    result = convertstat(acc.home, acc.book, NOV, ["shop1"], acc.failures)
    assert result.failed == ["shop1"] and "price list 'nosuch' not found" in acc.home.failure_log.read_text()


def test_input_and_output_files(acc, tmp_path: Path):
    add_account(acc.home, "shop1", files={"receipts.st": "receipts 10\n"})
    stats = tmp_path / "in.st"
    stats.write_text("tills 3\n")
    out = tmp_path / "out.tsv"
    convertstat(acc.home, acc.book, NOV, ["shop1"], acc.failures, input_file=stats, output=out)
    assert "shop1\t2026.11\ttills\t3.000\t10.00\t1.000\t30.00\tstandard" in out.read_text()
    assert acc.book.month_rows("shop1", NOV) == []  # -o writes the file, not the database
    convertstat(acc.home, acc.book, NOV, ["shop1"], acc.failures, input_file=stats)
    assert [r["item"] for r in acc.book.month_rows("shop1", NOV)] == ["tills"]


def test_figures_answer_formulas(acc):
    book = acc.book
    book.replace_month(Month(2026, 9), {"a": []})
    from icecash.billing.store import RatedRow

    for month, cost in ((Month(2026, 9), 30000), (Month(2026, 10), 60000), (Month(2026, 11), 90000)):
        book.replace_month(month, {"a": [RatedRow("receipts", 1000, cost, 1000, cost, "standard")]})
    book.add_payment("a", 200000, date(2026, 10, 5))
    book.add_payment("a", 1000, date(2026, 11, 1))
    ctx = AccountContext(book.figures(), "a", NOV)
    assert ctx.total() == 201000 - 180000
    assert parse("statistic(-.2,.)/3").evaluate(ctx) == 60000
    assert parse("statistic(-.1,-.1,'rec*')").evaluate(ctx) == 60000
    assert parse("payments(.,.)").evaluate(ctx) == 1000
    assert parse("total() < max(50000, statistic(-.2,.)/3)").evaluate(ctx) == 1
    assert book.balance("a") == ctx.total()


def _server_url(kind: str) -> str | None:
    try:
        if kind == "postgresql":
            import psycopg

            with psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=3):
                return "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        import pymysql

        pymysql.connect(host="127.0.0.1", port=3306, user="root", database="test", connect_timeout=3).close()
        return "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"
    except Exception:  # noqa: BLE001
        return None


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_statistic_on_server_databases(acc, kind):
    url = _server_url(kind)
    if url is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{kind} at 127.0.0.1 (db test) is required in CI")
        pytest.skip(f"no {kind} at 127.0.0.1 (db test)")
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM statistic WHERE account LIKE 'dbtest%'"))
            conn.execute(text("DELETE FROM billing_payments WHERE account LIKE 'dbtest%'"))
        add_account(acc.home, "dbtest1", files={"receipts.st": "receipts 1000\n"})
        book = Book(engine)
        for _ in range(2):
            convertstat(acc.home, book, NOV, ["dbtest1"], FailureLog(acc.home.failure_log, acc.clock))
        book.add_payment("dbtest1", 10000, date(2026, 11, 2))
        assert book.balance("dbtest1") == 10000 - 5000
        assert AccountContext(book.figures(["dbtest1"]), "dbtest1", NOV).total() == 5000
        assert [r["cost"] for r in book.month_rows("dbtest1", NOV)] == [5000]
        if kind == "postgresql":
            stem = acc.home.backup_dir / "db-pg"
            dump = acc.__class__(acc.home, engine, acc.settings, clock=acc.clock).backup_database(stem)
            assert "CREATE TABLE public.statistic" in dump.read_text()
    finally:
        engine.dispose()
