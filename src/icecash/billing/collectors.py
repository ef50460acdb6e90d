"""Built-in daily collectors: one function per service that measures a day of the central server.

A collector is ``(day, connection) -> iterable of UsageLine``: given the day and a SQLAlchemy
connection to the central server's database, it returns per-account usage. The daily run writes
each account's lines into ``<service>.st`` as one ``# day YYYY-MM-DD`` block (a re-run replaces
the block). In ``services.cf`` a built-in collector is named with ``@``: ``receipts @receipts no
receipts.st``.

The account of a firm is its ``regid`` (the central server makes ``accounts/<regid>/``). The
queries use only the central server's table and column names (firms, receipts, files,
price_lists), in plain SQL, so they do not depend on the server's Python code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, inspect, text

from icecash.core.money import div_half_up

MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class UsageLine:
    account: str
    item: str
    quantity: int  # thousandths of a unit


Collector = Callable[[date, Connection], Iterable[UsageLine]]


class CollectorUnavailable(Exception):
    """The central server's database lacks what the collector reads."""


def _need(conn: Connection, *tables: str) -> None:
    present = set(inspect(conn).get_table_names())
    missing = [t for t in tables if t not in present]
    if missing:
        raise CollectorUnavailable(f"the central server's tables {', '.join(missing)} are not in this database")


def _day_bounds(day: date) -> dict:
    return {"day": day, "start": datetime.combine(day, time.min), "end": datetime.combine(day + timedelta(days=1), time.min)}


def receipts_uploaded(day: date, conn: Connection) -> Iterable[UsageLine]:
    """``receipts``: receipts of the day (by business date) the firm's tills uploaded."""
    _need(conn, "firms", "receipts")
    rows = conn.execute(text(
        "SELECT f.regid, COUNT(*) FROM receipts r JOIN firms f ON f.id = r.firm_id "
        "WHERE r.business_date = :day GROUP BY f.regid"), _day_bounds(day))
    return [UsageLine(regid, "receipts", count * 1000) for regid, count in rows]


def tills_active(day: date, conn: Connection) -> Iterable[UsageLine]:
    """``tills``: tills that sold that day (a till-day each)."""
    _need(conn, "firms", "receipts")
    rows = conn.execute(text(
        "SELECT f.regid, COUNT(DISTINCT r.till_id) FROM receipts r JOIN firms f ON f.id = r.firm_id "
        "WHERE r.business_date = :day GROUP BY f.regid"), _day_bounds(day))
    return [UsageLine(regid, "tills", count * 1000) for regid, count in rows]


def storage_used(day: date, conn: Connection) -> Iterable[UsageLine]:
    """``storage.mb``: megabytes of files the firm keeps on the server (a megabyte-day each day)."""
    _need(conn, "firms", "files")
    rows = conn.execute(text(
        "SELECT f.regid, SUM(x.size) FROM files x JOIN firms f ON f.id = x.firm_id "
        "WHERE x.uploaded_at < :end GROUP BY f.regid"), _day_bounds(day))
    return [UsageLine(regid, "storage.mb", div_half_up(int(size) * 1000, MEGABYTE)) for regid, size in rows if size]


def price_pushes(day: date, conn: Connection) -> Iterable[UsageLine]:
    """``pricelists``: price lists changed (and so pushed to the tills) that day."""
    _need(conn, "firms", "price_lists")
    rows = conn.execute(text(
        "SELECT f.regid, COUNT(*) FROM price_lists p JOIN firms f ON f.id = p.firm_id "
        "WHERE p.updated_at >= :start AND p.updated_at < :end GROUP BY f.regid"), _day_bounds(day))
    return [UsageLine(regid, "pricelists", count * 1000) for regid, count in rows]


BUILTIN: dict[str, Collector] = {
    "receipts": receipts_uploaded,
    "tills": tills_active,
    "storage": storage_used,
    "pricelists": price_pushes,
}
