"""Receipts' business date follows the trading day: a receipt closed before ``begin_time`` belongs to the day before.

Until now the server stored ``closed_at``'s calendar date. The server never knew a till's
``begin_time`` (a till setting), so stored rows are recomputed with the default, 06:00 — what the
server now applies to a till that does not send its trading day — except for the tills whose own
Z reports show another ``begin_time`` (a Z's accounting date, made by the till, that the default
rule does not give): their receipts keep their dates, logged for the operator, since guessing
could move a correct calendar date (``begin_time`` 00:00) to a wrong day.

Data only, no schema change. Downgrade restores the calendar dates.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

import logging
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa
from alembic import op

from icecash.core.zreport import accounting_date

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 10_000
log = logging.getLogger("alembic.runtime.migration")

receipts = sa.table("receipts", sa.column("id", sa.BigInteger), sa.column("till_id", sa.Integer),
                    sa.column("closed_at", sa.DateTime), sa.column("business_date", sa.Date))
tills = sa.table("tills", sa.column("id", sa.Integer), sa.column("shop_id", sa.Integer), sa.column("firm_id", sa.Integer),
                 sa.column("nkassa", sa.Integer))
shops = sa.table("shops", sa.column("id", sa.Integer), sa.column("idplace", sa.Integer))
firms = sa.table("firms", sa.column("id", sa.Integer), sa.column("regid", sa.String))
z_reports = sa.table("z_reports", sa.column("till_id", sa.Integer), sa.column("closed_at", sa.DateTime),
                     sa.column("accounting_date", sa.Date))


def upgrade() -> None:
    conn = op.get_bind()
    other_begin = sorted({z.till_id for z in conn.execute(sa.select(z_reports))
                          if z.accounting_date != accounting_date(z.closed_at)})
    if other_begin:
        named = [f"{t.regid} {t.idplace}/{t.nkassa} (id {t.id})" for t in conn.execute(
            sa.select(tills.c.id, tills.c.nkassa, shops.c.idplace, firms.c.regid)
            .join(shops, shops.c.id == tills.c.shop_id).join(firms, firms.c.id == tills.c.firm_id)
            .where(tills.c.id.in_(other_begin)).order_by(tills.c.id))]
        log.warning("receipts of tills %s keep their calendar dates: their Z reports show a begin_time other than "
                    "06:00 (set their business_date by hand if it matters)", ", ".join(named))
    _redate(conn, lambda r: accounting_date(r.closed_at), skip=set(other_begin))


def downgrade() -> None:
    _redate(op.get_bind(), lambda r: r.closed_at.date(), skip=set())


def _redate(conn: sa.Connection, day_of: Callable[[sa.Row], date], skip: set[int]) -> None:
    """Every receipt's business date set to ``day_of(row)``, in id order by batches; only changed rows written."""
    after = 0
    update = (sa.update(receipts).where(receipts.c.id == sa.bindparam("receipt_id"))
              .values(business_date=sa.bindparam("day")))
    while True:
        rows = conn.execute(sa.select(receipts).where(receipts.c.id > after).order_by(receipts.c.id).limit(BATCH)).all()
        if not rows:
            return
        days = ((r, day_of(r)) for r in rows if r.till_id not in skip)
        changed = [{"receipt_id": r.id, "day": day} for r, day in days if r.business_date != day]
        if changed:
            conn.execute(update, changed)
        after = rows[-1].id
