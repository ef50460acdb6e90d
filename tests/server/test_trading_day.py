"""The server's reports count by trading day: a receipt closed before the shop's ``begin_time`` belongs to the day before.

The till sends each receipt's trading day (its own ``begin_time`` setting, the rule its Z reports
follow); a receipt from a till that does not send it gets the default rule (06:00). Stored rows of
an older server are re-dated by migration 0011. On SQLite, PostgreSQL and MariaDB; and end to end,
a real ``icecash server`` process with tills whose clocks are set to the night.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import insert, select

from icecash.core.errors import InvalidInput
from icecash.server import tables
from icecash.server.app import open_server
from icecash.store.db import make_engine, reading, writing
from icecash.store.migrate import alembic_config, upgrade
from icecash.till.sync import SyncAgent
from tests.helpers import MILK
from tests.server.conftest import (
    ServerProcess,
    actor,
    database,
    make_receipt,
    make_z,
    parsed,
    prepare_till,
    till_of,
    two_firms,
)

NIGHT = date(2026, 11, 20)  # the trading day of a night shift from the 20th into the 21st
MORNING = date(2026, 11, 21)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 21) -> datetime:
    return datetime(2026, 11, day, hour, minute, second)


def stored_dates(server, regid: str = "alpha") -> dict[str, str]:
    admin = actor(server, "operator", "operator-pass")
    return {r["closed_at"]: r["business_date"] for r in server.receipts_page(admin, regid, with_lines=False)["receipts"]}


def test_a_receipt_from_a_till_that_sends_no_trading_day_gets_the_default_rule(firms):
    """An older till: 02:30 and 05:59:59 belong to the day before, 06:00 to its own day."""
    closings = (at(23, 30, day=20), at(2, 30), at(5, 59, 59), at(6), at(12))
    firms.ingest_receipts(till_of(firms), [parsed(make_receipt(closed_at=c, number=n)) for n, c in enumerate(closings, 1)])
    assert stored_dates(firms) == {"2026-11-20T23:30:00": "2026-11-20", "2026-11-21T02:30:00": "2026-11-20",
                                   "2026-11-21T05:59:59": "2026-11-20", "2026-11-21T06:00:00": "2026-11-21",
                                   "2026-11-21T12:00:00": "2026-11-21"}
    viewer = actor(firms, "alpha-viewer", "alpha-view")
    by_day = {r["date"]: r["receipts"] for r in firms.revenue(viewer, "alpha", NIGHT, MORNING, "day")}
    assert by_day == {"2026-11-20": 3, "2026-11-21": 2}
    assert firms.revenue(viewer, "alpha", NIGHT, NIGHT, "till")[0]["sales"] == 3 * 17980
    assert firms.top_items(viewer, "alpha", MORNING, MORNING)[0]["quantity"] == 2000
    page = firms.receipts_page(viewer, "alpha", date_from=NIGHT, date_to=NIGHT, with_lines=False)["receipts"]
    assert sorted(r["closed_at"] for r in page) == ["2026-11-20T23:30:00", "2026-11-21T02:30:00", "2026-11-21T05:59:59"]


def test_the_tills_own_trading_day_is_kept(firms):
    """A shop whose day starts at 04:00: its till says 04:30 is the 21st, which the default rule would not."""
    sent = [(at(3, 30), NIGHT), (at(4, 30), MORNING), (at(5, 0), MORNING)]
    batch = [{**parsed(make_receipt(closed_at=c, number=n)), "business_date": d} for n, (c, d) in enumerate(sent, 1)]
    firms.ingest_receipts(till_of(firms), batch)
    assert stored_dates(firms) == {"2026-11-21T03:30:00": "2026-11-20", "2026-11-21T04:30:00": "2026-11-21",
                                   "2026-11-21T05:00:00": "2026-11-21"}
    viewer = actor(firms, "alpha-viewer", "alpha-view")
    assert [(r["date"], r["receipts"]) for r in firms.revenue(viewer, "alpha", NIGHT, MORNING)] == [
        ("2026-11-20", 1), ("2026-11-21", 2)]


def test_a_trading_day_that_cannot_be_is_refused_naming_it(firms):
    till = till_of(firms)
    batch = [parsed(make_receipt(closed_at=at(12), number=n)) for n in range(1, 4)]
    batch[2]["business_date"] = date(2026, 11, 19)  # two days before its closing: no begin_time gives that
    with pytest.raises(InvalidInput) as refused:
        firms.ingest_receipts(till, batch)
    assert (refused.value.code, refused.value.field) == ("bad_trading_day", "receipts[2].business_date")
    batch[2]["business_date"] = date(2026, 11, 22)  # the day after: neither
    with pytest.raises(InvalidInput):
        firms.ingest_receipts(till, batch)
    assert stored_dates(firms) == {}
    z = {**make_z(), "closed_at": at(2), "opened_at": at(20, day=20), "accounting_date": date(2026, 11, 19)}
    with pytest.raises(InvalidInput) as refused:
        firms.ingest_z(till, [z])
    assert (refused.value.code, refused.value.field) == ("bad_trading_day", "reports[0].accounting_date")
    assert firms.ingest_z(till, [{**z, "accounting_date": NIGHT}])["stored"] == 1


# --- migration 0011: rows stored by an older server --------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def old_server_db(request, tmp_path):
    """A database at revision 0010 (before 0011) with firm alpha, shop 1, tills 1 and 2."""
    with database(request.param, request, tmp_path) as url:
        engine = make_engine(url)
        upgrade("icecash.server.migrations", engine, "0010")
        now = datetime(2026, 11, 22)
        with writing(engine) as conn:
            conn.execute(insert(tables.firms).values(id=1, regid="alpha", name="Альфа", active=True, variables_version=0,
                                                     promotions_version=0, created_at=now))
            conn.execute(insert(tables.shops).values(id=1, firm_id=1, idplace=1, name=""))
            conn.execute(insert(tables.tills), [
                {"id": n, "firm_id": 1, "shop_id": 1, "nkassa": n, "name": "", "secret_hash": "x", "active": True,
                 "created_at": now, "version": "", "printer": "", "backlog": 0, "clock_skew_s": 0, "price_version": 0}
                for n in (1, 2)])
        try:
            yield engine
        finally:
            engine.dispose()


def _old_receipt(n: int, till: int, closed: datetime) -> dict:
    """A receipt as the older server stored it: the calendar date of its closing."""
    return {"id": n, "uuid": f"00000000-0000-0000-0000-{n:012d}", "firm_id": 1, "shop_id": 1, "till_id": till,
            "kind": "sale", "status": "paid", "number": n, "shift_uuid": "", "created_at": closed, "closed_at": closed,
            "business_date": closed.date(), "received_at": closed, "cashier": "", "seller": "", "card_rate_bp": 0,
            "amount": 100, "discount": 0, "total": 100, "cash": 100, "card": 0, "cash_given": 0, "change": 0, "comment": ""}


def _z_row(n: int, till: int, closed: datetime, day: date) -> dict:
    return {"id": n, "uuid": f"00000000-0000-0000-0001-{n:012d}", "firm_id": 1, "shop_id": 1, "till_id": till, "number": n,
            "opened_at": closed, "closed_at": closed, "accounting_date": day, **dict.fromkeys((
                "sales_count", "returns_count", "cancels_count", "sales_total", "returns_total", "cancels_total", "cash",
                "card", "sales_discount", "returns_discount", "cash_in", "cash_out", "revenue"), 0),
            "received_at": closed}


def test_migration_redates_stored_receipts_by_the_default_rule(old_server_db, caplog):
    engine = old_server_db
    closings = (at(2, 30), at(5, 59, 59), at(6), at(23, 30, day=20))
    with writing(engine) as conn:
        conn.execute(insert(tables.receipts), [_old_receipt(n, 1, c) for n, c in enumerate(closings, 1)]
                     + [_old_receipt(10 + n, 2, c) for n, c in enumerate(closings, 1)])
        # till 1's Z agrees with 06:00; till 2's Z at 05:00 counted as the 21st: its day starts earlier
        conn.execute(insert(tables.z_reports), [_z_row(1, 1, at(3), NIGHT), _z_row(2, 2, at(5), MORNING)])

    def dates(till: int) -> list[date]:
        with reading(engine) as conn:
            return list(conn.execute(select(tables.receipts.c.business_date).where(tables.receipts.c.till_id == till)
                                     .order_by(tables.receipts.c.id)).scalars())

    upgrade("icecash.server.migrations", engine)
    assert dates(1) == [NIGHT, NIGHT, MORNING, NIGHT]
    assert dates(2) == [MORNING, MORNING, MORNING, NIGHT]  # left as they were: its begin_time is not known
    assert "receipts of tills alpha 1/2 (id 2) keep their calendar dates" in caplog.text
    command.downgrade(alembic_config("icecash.server.migrations", engine), "0010")
    assert dates(1) == dates(2) == [MORNING, MORNING, MORNING, NIGHT]


# --- end to end: real tills, a real server process ---------------------------------------------------------


class Clock:
    """A till's clock the test sets: a night shift without waiting for the night."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def central(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        from icecash import security
        from tests.helpers import FAST_HASHER

        patch.setattr(security, "_hasher", FAST_HASHER)
        root = tmp_path_factory.mktemp("trading-day")
        server = open_server(root / "server")
        secrets = two_firms(server)
        process = ServerProcess(root / "server").start()
    try:
        yield server, secrets, process, root
    finally:
        process.stop()


def _sell(till, clock: Clock, when: datetime) -> None:
    clock.now = when
    user = till.login("kassir", "kassir")[1]
    till.scan(user, MILK)
    till.pay(user, cash=100000)


def _z(till, clock: Clock, when: datetime) -> dict:
    clock.now = when
    return till.z_report(till.login("kassir", "kassir")[1])


def _night_and_morning(central, idplace: int, nkassa: int, begin_time: str | None, sales: list[datetime],
                       z_after: list[int]) -> tuple[list[dict], dict[str, str]]:
    """A till of alpha with its ``begin_time`` sells at ``sales``, taking a Z after the sales numbered in
    ``z_after``; everything uploaded by its sync agent. Its Zs, and the server's dates of its receipts."""
    server, secrets, process, root = central
    clock = Clock(sales[0])
    till = prepare_till(root / f"till-{idplace}-{nkassa}", process.url, "alpha", idplace, nkassa,
                        secrets[("alpha", idplace, nkassa)], clock=clock)
    if begin_time:
        till.update_settings(None, {"begin_time": begin_time})
    zs = []
    for n, when in enumerate(sales, 1):
        _sell(till, clock, when)
        if n in z_after:
            zs.append(_z(till, clock, when + timedelta(minutes=5)))
    done = SyncAgent(till).sync_all()
    assert done["receipts"] and done["z"], done
    admin = actor(server, "operator", "operator-pass")
    page = server.receipts_page(admin, "alpha", idplace=idplace, nkassa=nkassa, with_lines=False)["receipts"]
    return zs, {r["closed_at"]: r["business_date"] for r in page}


@pytest.mark.slow
def test_a_night_shift_is_one_trading_day_on_the_server_as_on_the_till(central):
    """Default begin_time: a shift from 22:00 to 02:35 is the 20th, its Z and all its receipts; the
    next shift (06:00) is the 21st. The server's revenue of each day is the revenue of that day's Z."""
    server = central[0]
    zs, dates = _night_and_morning(central, 1, 1, None, [at(22, day=20), at(2, 30), at(6)], z_after=[2, 3])
    assert [z["accounting_date"] for z in zs] == ["2026-11-20", "2026-11-21"]
    assert dates == {"2026-11-20T22:00:00": "2026-11-20", "2026-11-21T02:30:00": "2026-11-20",
                     "2026-11-21T06:00:00": "2026-11-21"}
    viewer = actor(server, "alpha-viewer", "alpha-view")
    for day, expected in ((NIGHT, 2 * 8990), (MORNING, 8990)):
        receipts = [r["revenue"] for r in server.revenue(viewer, "alpha", day, day, "till")
                    if (r["idplace"], r["nkassa"]) == (1, 1)]
        z = [z["revenue"] for z in server.z_list(viewer, "alpha", day, day) if (z["idplace"], z["nkassa"]) == (1, 1)]
        assert receipts == z == [expected], day


@pytest.mark.slow
def test_a_shop_whose_day_starts_at_four(central):
    """begin_time 04:00 at shop 2: 03:30 is still the 20th, 04:30 already the 21st (06:00 would say the 20th)."""
    server = central[0]
    zs, dates = _night_and_morning(central, 2, 1, "04:00", [at(3, 30), at(4, 30)], z_after=[1, 2])
    assert [z["accounting_date"] for z in zs] == ["2026-11-20", "2026-11-21"]
    assert dates == {"2026-11-21T03:30:00": "2026-11-20", "2026-11-21T04:30:00": "2026-11-21"}
    viewer = actor(server, "alpha-viewer", "alpha-view")
    for day in (NIGHT, MORNING):
        by_shop = [r["receipts"] for r in server.revenue(viewer, "alpha", day, day, "shop") if r["idplace"] == 2]
        assert by_shop == [1], day
