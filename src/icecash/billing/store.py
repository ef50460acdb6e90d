"""The accounting server's SQL tables and the queries on them (SQLAlchemy Core).

The tables may live in the central server's database, so all but amstat's own ``statistic``
carry a ``billing_`` prefix, and Alembic keeps its version in ``billing_alembic_version``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    delete,
    func,
    insert,
    select,
)

from icecash.core.formula import Month
from icecash.store.db import make_engine, reading, writing
from icecash.store.migrate import upgrade

MIGRATIONS = "icecash.billing.migrations"
VERSION_TABLE = "billing_alembic_version"

metadata = MetaData()

statistic = Table(
    "statistic", metadata,
    Column("account", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("month", Integer, nullable=False),
    Column("item", String(128), nullable=False),
    Column("quantity", BigInteger, nullable=False),  # thousandths of a unit
    Column("price", BigInteger, nullable=False),  # kopecks per `per`
    Column("per", BigInteger, nullable=False),  # thousandths of a unit
    Column("cost", BigInteger, nullable=False),  # kopecks
    Column("price_list", String(64), nullable=False),
    PrimaryKeyConstraint("account", "year", "month", "item"),
)

payments = Table(
    "billing_payments", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(64), nullable=False, index=True),
    Column("paid_on", Date, nullable=False),
    Column("amount", BigInteger, nullable=False),  # kopecks; negative = a refund or correction
    Column("comment", String(256), nullable=False, default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# What a run has done: (kind, period, step, account) once each, so a re-run skips it.
journal = Table(
    "billing_journal", metadata,
    Column("kind", String(16), nullable=False),  # daily · monthly
    Column("period", String(16), nullable=False),  # 2026-11-21 or 2026.11
    Column("step", String(32), nullable=False),
    Column("account", String(64), nullable=False),  # '' for a step that is not per account
    Column("done_at", DateTime(timezone=True), nullable=False),
    Column("note", String(512), nullable=False, default=""),
    PrimaryKeyConstraint("kind", "period", "step", "account"),
)

# Every warning sent: the admin's history of why a firm was warned or closed.
notices = Table(
    "billing_notices", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(64), nullable=False, index=True),
    Column("day", Date, nullable=False),
    Column("count", Integer, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("form", String(64), nullable=False),
    Column("program", String(256), nullable=False, default=""),
    Column("total", BigInteger, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def open_engine(url: str) -> Engine:
    """An engine for ``url`` with the billing tables created or upgraded."""
    engine = make_engine(url)
    upgrade(MIGRATIONS, engine)
    return engine


@dataclass(frozen=True)
class RatedRow:
    item: str
    quantity: int
    price: int
    per: int
    cost: int
    price_list: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Book:
    """Reads and writes of the billing tables for one engine."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # statistic
    def replace_month(self, month: Month, rated: dict[str, Sequence[RatedRow]]) -> int:
        """Replace the rows of (account, month) for every account in ``rated``; one transaction."""
        rows = [
            {"account": account, "year": month.year, "month": month.month, "item": r.item, "quantity": r.quantity,
             "price": r.price, "per": r.per, "cost": r.cost, "price_list": r.price_list}
            for account, lines in rated.items() for r in lines
        ]
        accounts = list(rated)
        with writing(self.engine) as conn:
            for start in range(0, len(accounts), 500):
                chunk = accounts[start:start + 500]
                conn.execute(delete(statistic).where(
                    statistic.c.year == month.year, statistic.c.month == month.month, statistic.c.account.in_(chunk)))
            for start in range(0, len(rows), 5000):
                conn.execute(insert(statistic), rows[start:start + 5000])
        return len(rows)

    def month_rows(self, account: str, month: Month) -> list[dict]:
        with reading(self.engine) as conn:
            result = conn.execute(select(statistic).where(
                statistic.c.account == account, statistic.c.year == month.year, statistic.c.month == month.month,
            ).order_by(statistic.c.item))
            return [dict(row._mapping) for row in result]

    # payments
    def add_payment(self, account: str, amount: int, on: date, comment: str = "") -> int:
        with writing(self.engine) as conn:
            result = conn.execute(insert(payments).values(
                account=account, paid_on=on, amount=amount, comment=comment[:256], created_at=_utcnow()))
            return int(result.inserted_primary_key[0])

    def payment_rows(self, account: str, month: Month | None = None) -> list[dict]:
        query = select(payments).where(payments.c.account == account)
        if month is not None:
            first = date(month.year, month.month, 1)
            nxt = month.shift(1)
            query = query.where(payments.c.paid_on >= first, payments.c.paid_on < date(nxt.year, nxt.month, 1))
        with reading(self.engine) as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(payments.c.paid_on, payments.c.id))]

    # journal
    def done(self, kind: str, period: str, step: str, account: str = "") -> bool:
        with reading(self.engine) as conn:
            return conn.execute(select(journal.c.step).where(
                journal.c.kind == kind, journal.c.period == period, journal.c.step == step,
                journal.c.account == account)).first() is not None

    def done_accounts(self, kind: str, period: str, step: str) -> set[str]:
        with reading(self.engine) as conn:
            return set(conn.execute(select(journal.c.account).where(
                journal.c.kind == kind, journal.c.period == period, journal.c.step == step)).scalars())

    def mark(self, kind: str, period: str, step: str, account: str = "", note: str = "", conn=None) -> None:
        values = {"kind": kind, "period": period, "step": step, "account": account, "done_at": _utcnow(), "note": note[:512]}
        if conn is not None:
            conn.execute(insert(journal).values(**values))
            return
        with writing(self.engine) as own:
            exists = own.execute(select(journal.c.step).where(
                journal.c.kind == kind, journal.c.period == period, journal.c.step == step,
                journal.c.account == account)).first()
            if exists is None:
                own.execute(insert(journal).values(**values))

    # notices
    def add_notice(self, account: str, day: date, count: int, threshold: int, form: str, program: str | None,
                   total: int, step_period: str) -> None:
        """Record a warning and mark the account's check done for the day, in one transaction."""
        with writing(self.engine) as conn:
            conn.execute(insert(notices).values(
                account=account, day=day, count=count, threshold=threshold, form=form, program=program or "",
                total=total, created_at=_utcnow()))
            conn.execute(insert(journal).values(
                kind="daily", period=step_period, step="check", account=account, done_at=_utcnow(), note=form))

    def notice_rows(self, account: str) -> list[dict]:
        with reading(self.engine) as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(notices).where(notices.c.account == account).order_by(notices.c.id))]

    # figures for formulas
    def figures(self, accounts: Iterable[str] | None = None) -> Figures:
        """Every account's payments by month and charges by (month, item), in two queries."""
        figures = Figures()
        wanted = None if accounts is None else list(accounts)
        with reading(self.engine) as conn:
            query = select(statistic.c.account, statistic.c.year, statistic.c.month, statistic.c.item,
                           statistic.c.cost)
            pay = select(payments.c.account, payments.c.paid_on, payments.c.amount)
            if wanted is not None and len(wanted) <= 500:
                query = query.where(statistic.c.account.in_(wanted))
                pay = pay.where(payments.c.account.in_(wanted))
            for account, year, month, item, cost in conn.execute(query):
                figures.charges[account][(year * 12 + month - 1, item)] = cost
            for account, paid_on, amount in conn.execute(pay):
                key = paid_on.year * 12 + paid_on.month - 1
                bucket = figures.paid[account]
                bucket[key] = bucket.get(key, 0) + amount
        return figures

    def balance(self, account: str) -> int:
        with reading(self.engine) as conn:
            paid = conn.execute(select(func.coalesce(func.sum(payments.c.amount), 0)).where(
                payments.c.account == account)).scalar_one()
            spent = conn.execute(select(func.coalesce(func.sum(statistic.c.cost), 0)).where(
                statistic.c.account == account)).scalar_one()
        return int(paid) - int(spent)


@dataclass
class Figures:
    """A snapshot of accounts' money, indexed by month index (year × 12 + month − 1)."""

    charges: dict[str, dict[tuple[int, str], int]] = field(default_factory=lambda: defaultdict(dict))
    paid: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(dict))

    def total(self, account: str) -> int:
        return sum(self.paid.get(account, {}).values()) - sum(self.charges.get(account, {}).values())

    def statistic(self, account: str, first: Month, last: Month, item: str | None) -> int:
        lo, hi = first.index, last.index
        prefix = item[:-1] if item and item.endswith("*") else None
        total = 0
        for (index, name), cost in self.charges.get(account, {}).items():
            if lo <= index <= hi and (item is None or name == item or (prefix is not None and name.startswith(prefix))):
                total += cost
        return total

    def payments(self, account: str, first: Month, last: Month) -> int:
        return sum(v for k, v in self.paid.get(account, {}).items() if first.index <= k <= last.index)
