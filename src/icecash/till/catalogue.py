"""The till's catalogue: look-ups for selling, and price file import in one all-or-nothing transaction."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, func, or_, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from icecash.core.errors import InvalidInput, NotFound
from icecash.core.pricefile import (
    KEPT_WHEN_UNKNOWN,
    CatalogueRow,
    LineError,
    PriceFile,
    PriceFileError,
    StockMode,
    merge_held,
    unknown_fields,
)
from icecash.core.receipt import ItemSnapshot, pack_of
from icecash.core.vat import VatRate
from icecash.store.db import Prepared

from .tables import catalogue, extra_barcodes

Progress = Callable[[int, int], None]
CHUNK = 5000
MAX_ITEMS_PER_PAGE = 200


def snapshot_of(row: Any, extra: Any | None = None) -> ItemSnapshot:
    """The selling snapshot of a catalogue row, or of what one of its extra barcodes sells (``pack_of``).

    Price files give every extra barcode a coefficient (empty or 0 reads as 1), so an own price
    wins: ``#1005;…;акция;;39.00;0`` sells one bottle at 39.00, ``#1005;…;6 шт;;0;6`` six bottles
    at six base prices, with six times the base min price as its floor.
    """
    item = ItemSnapshot(
        code=row.code,
        name=row.name,
        price=row.price,
        min_price=row.min_price,
        max_price=row.max_price,
        max_discount_bp=row.max_discount_bp,
        weighed=bool(row.weighed),
        department=row.department,
        vat=VatRate(row.vat),
        alcohol=bool(row.alcohol),
        litres_ml=row.litres_ml,
        barcode=row.barcode,
        group_code=row.parent_code,
        no_discount=bool(row.no_discount),
    )
    return item if extra is None else _pack(item, extra)


def _pack(item: ItemSnapshot, extra: Any) -> ItemSnapshot:
    """What extra barcode ``extra`` of ``item`` sells (``pack_of``)."""
    return pack_of(item, extra.coefficient, own_price=extra.price, name=extra.name or "", barcode=extra.barcode or "")


_SNAPSHOT_FIELDS = tuple(f.name for f in fields(ItemSnapshot))


def snapshot_to_json(item: ItemSnapshot) -> str:
    # What asdict() gives for these flat fields, without its deep copy (this runs on every scan).
    data = {name: getattr(item, name) for name in _SNAPSHOT_FIELDS}
    data["vat"] = item.vat.value
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=4096)
def snapshot_from_json(text: str) -> ItemSnapshot:
    """The snapshot a line stored; cached, as every change re-reads all lines of the receipt (it is frozen)."""
    data = json.loads(text)
    data["vat"] = VatRate(data["vat"])
    return ItemSnapshot(**data)


# Built once: the selling path runs these on every scan. An item row comes with ``has_extras``
# (whether it has extra barcodes, i.e. maybe several prices): most have none, and then
# price_options() need not look.
_HAS_EXTRAS = exists().where(extra_barcodes.c.item_code == catalogue.c.code).label("has_extras")
_BY_CODE = Prepared(select(catalogue, _HAS_EXTRAS).where(catalogue.c.code == bindparam("code")))
_BY_BARCODE = Prepared(
    select(catalogue, _HAS_EXTRAS).where(catalogue.c.barcode == bindparam("barcode"), catalogue.c.is_item.is_(True)).limit(1)
)
_EXTRA_BY_BARCODE = Prepared(select(extra_barcodes).where(extra_barcodes.c.barcode == bindparam("barcode")).limit(1))
_EXTRAS_OF_ITEM = Prepared(
    select(extra_barcodes).where(extra_barcodes.c.item_code == bindparam("item_code")).order_by(extra_barcodes.c.id)
)


def item_by_code(conn: Connection, code: str) -> Any:
    row = _BY_CODE.first(conn, {"code": code})
    if row is None:
        raise NotFound("unknown_code", f"Товар с кодом {code!r} не найден", f"No item with code {code!r}", field="code")
    if not row.is_item:
        raise InvalidInput(
            "group_not_sellable", f"«{row.name}» — группа, а не товар", f"'{row.name}' is a group, not an item", field="code"
        )
    return row


def item_by_barcode(conn: Connection, barcode: str) -> tuple[Any, Any | None]:
    """The item with this barcode, and the extra-barcode row when it was one of those."""
    row = _BY_BARCODE.first(conn, {"barcode": barcode})
    if row is not None:
        return row, None
    extra = _EXTRA_BY_BARCODE.first(conn, {"barcode": barcode})
    if extra is not None:
        item = _BY_CODE.first(conn, {"code": extra.item_code})
        if item is not None and item.is_item:
            return item, extra
    raise NotFound("unknown_barcode", f"Штрихкод {barcode} не найден", f"Barcode {barcode} is not in the catalogue", field="barcode")


def price_choices(conn: Connection, item: Any, base: ItemSnapshot | None = None) -> list[tuple[dict[str, Any], ItemSnapshot]]:
    """The prices a multi-price item offers, its own first, each with the snapshot of what it sells
    (``base``: the item's own, when the caller has it). Names and prices are the lines' they make."""
    if not getattr(item, "has_extras", True):  # a row from item_by_code/item_by_barcode knows
        return []
    extras = _EXTRAS_OF_ITEM.all(conn, {"item_code": item.code})
    if not extras:
        return []
    base = base or snapshot_of(item)
    choices = [({"option": "base", "name": item.name, "price": item.price, "barcode": item.barcode}, base)]
    for extra in extras:
        pack = _pack(base, extra)
        choices.append(({"option": str(extra.id), "name": pack.name, "price": pack.price, "barcode": extra.barcode}, pack))
    return choices


def price_options(conn: Connection, item: Any) -> list[dict[str, Any]]:
    """The prices a multi-price item offers: its own, then each extra barcode's."""
    return [option for option, _ in price_choices(conn, item)]


def search_items(conn: Connection, query: str = "", group: str | None = None, limit: int = 50, offset: int = 0) -> list[Any]:
    """Items and groups by code prefix or name substring (case-insensitive, Cyrillic too)."""
    stmt = select(catalogue)
    if group is not None:
        stmt = stmt.where(catalogue.c.parent_code == group if group else catalogue.c.parent_code.is_(None))
    text = query.strip()
    if text:
        needle = text.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(
            or_(
                catalogue.c.code == text,
                catalogue.c.barcode == text,
                catalogue.c.search_name.like(f"%{needle}%", escape="\\"),
            )
        )
    stmt = stmt.order_by(catalogue.c.is_item, catalogue.c.name).limit(min(limit, MAX_ITEMS_PER_PAGE)).offset(offset)
    return conn.execute(stmt).all()


def catalogue_size(conn: Connection) -> dict[str, int]:
    items = conn.execute(select(func.count()).where(catalogue.c.is_item.is_(True))).scalar_one()
    groups = conn.execute(select(func.count()).where(catalogue.c.is_item.is_(False))).scalar_one()
    return {"items": items, "groups": groups}


# --- import --------------------------------------------------------------------------------------


def _row_values(row: CatalogueRow, default_vat: str) -> dict[str, Any]:
    """The catalogue row as a new item gets it: an unknown VAT is the till's default, an unknown mark off."""
    return {
        "code": row.code,
        "parent_code": row.parent_code,
        "is_item": row.is_item,
        "name": row.name,
        "search_name": row.name.casefold(),
        "barcode": row.barcode,
        "price": row.price,
        "min_price": row.min_price,
        "max_price": row.max_price,
        "max_discount_bp": row.max_discount_bp,
        "weighed": row.weighed,
        "department": row.department,
        "vat": row.vat.value if row.vat is not None else default_vat,
        "alcohol": row.alcohol,
        "litres_ml": row.litres_ml,
        "stock": row.stock,
        "item_type": row.type,
        "scheme": row.scheme,
        "no_discount": bool(row.no_discount),
    }


def _check_references(conn: Connection, price_file: PriceFile) -> None:
    """Parents are groups and extra barcodes belong to items, in the file or (upserting) in the till."""
    in_file = {row.code: row.is_item for row in price_file.rows}
    keep_existing = not price_file.header.replace_catalogue
    wanted = {row.parent_code for row in price_file.rows if row.parent_code and row.parent_code not in in_file}
    wanted |= {extra.item_code for extra in price_file.extra_barcodes if extra.item_code not in in_file}
    existing: dict[str, bool] = {}
    if keep_existing and wanted:
        for chunk_start in range(0, len(wanted), 500):
            chunk = list(wanted)[chunk_start : chunk_start + 500]
            for code, is_item in conn.execute(select(catalogue.c.code, catalogue.c.is_item).where(catalogue.c.code.in_(chunk))):
                existing[code] = bool(is_item)
    known = {**existing, **in_file}
    errors: list[LineError] = []
    for row in price_file.rows:
        if row.parent_code and known.get(row.parent_code) is not False:
            errors.append(
                LineError(row.line_no, "idgroup", f"группа {row.parent_code} не найдена", f"group {row.parent_code} not found")
            )
    for extra in price_file.extra_barcodes:
        if known.get(extra.item_code) is not True:
            errors.append(
                LineError(extra.line_no, "id", f"товар {extra.item_code} не найден", f"item {extra.item_code} not found")
            )
    if errors:
        raise PriceFileError(sorted(errors, key=lambda e: e.line_no)[:50])


def _insert_many(conn: Connection, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """Execute ``stmt`` for many rows; on SQLite straight to the driver's executemany.

    SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself (see
    bench/price_import.py). The statement is compiled once by SQLAlchemy and the rows are handed
    over as tuples in its parameter order; SQLite stores Python booleans as 1/0, as SQLAlchemy does.
    """
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        compiled = stmt.compile(dialect=conn.dialect, column_keys=list(rows[0]))
        order = compiled.positiontup
        if order and set(order) <= rows[0].keys():
            conn.exec_driver_sql(compiled.string, [tuple([row[key] for key in order]) for row in rows])
            return
    conn.execute(stmt, rows)


def _upsert(stock_mode: StockMode, kept: tuple[str, ...]) -> Any:
    """Insert by code, or update the item in place: its stock as :meth:`StockMode.stock_after` says (in
    SQL), and the ``kept`` columns (unknown to the file) left as the item has them."""
    stmt = sqlite_insert(catalogue)
    updated = {c.name: stmt.excluded[c.name] for c in catalogue.columns if c.name != "code" and c.name not in kept}
    if stock_mode is StockMode.KEEP:
        updated["stock"] = catalogue.c.stock
    elif stock_mode is StockMode.ADD:
        updated["stock"] = catalogue.c.stock + stmt.excluded.stock
    return stmt.on_conflict_do_update(index_elements=["code"], set_=updated)


def _keep_for_staying_goods(
    conn: Connection, rows: list[CatalogueRow], values: list[dict[str, Any]], unknown: list[tuple[str, ...]],
    stock_mode: StockMode,
) -> None:
    """Before a file replaces the catalogue: the goods that stay keep (or add to) their stock as the stock
    mode says, and keep the columns the file leaves unknown (VAT, "no discount"), as an update would
    (:func:`merge_held`). ``values`` are the rows' new values, ``unknown`` their :func:`unknown_fields`."""
    if stock_mode is StockMode.CLEAR and not any(unknown):
        return  # nothing held would change
    columns = [catalogue.c.stock, *(catalogue.c[name] for name in KEPT_WHEN_UNKNOWN)]
    held = {item.code: item for item in conn.execute(select(catalogue.c.code, *columns))}
    for row, value in zip(rows, values):
        old = held.get(row.code)
        if old is not None:
            merge_held(value, row, old, stock_mode)


MAX_WARNINGS_SHOWN = 100


def import_price_file(conn: Connection, price_file: PriceFile, default_vat: str = "none", progress: Progress | None = None) -> dict[str, Any]:
    """Load a parsed price file inside the caller's transaction: all of it or, on any error, none."""
    if price_file.header.replace_catalogue and not any(row.is_item for row in price_file.rows):
        # A truncated export that kept only its header would otherwise empty the till's catalogue.
        raise InvalidInput(
            "empty_replacement",
            "Прайс заменяет каталог, но в нём нет ни одного товара: каталог не тронут",
            "The price file replaces the catalogue but holds no item: the catalogue is left as it was",
            field="file",
        )
    _check_references(conn, price_file)
    total = len(price_file.rows) + len(price_file.extra_barcodes)
    done = 0
    if progress:
        progress(0, total)
    values = [_row_values(row, default_vat) for row in price_file.rows]
    unknown = [unknown_fields(row) for row in price_file.rows]
    stock_mode = price_file.header.stock_mode
    if price_file.header.replace_catalogue:
        _keep_for_staying_goods(conn, price_file.rows, values, unknown, stock_mode)
        conn.execute(delete(extra_barcodes))
        conn.execute(delete(catalogue))
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        if price_file.header.replace_catalogue:
            _insert_many(conn, catalogue.insert(), chunk)
        else:
            # one upsert per set of unknown columns (a .spr: all rows alike), each keeping those columns
            by_unknown: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for value, kept in zip(chunk, unknown[start : start + CHUNK]):
                by_unknown.setdefault(kept, []).append(value)
            for kept, rows in by_unknown.items():
                _insert_many(conn, _upsert(stock_mode, kept), rows)
        done += len(chunk)
        if progress:
            progress(done, total)
    if price_file.extra_barcodes:
        touched = sorted({extra.item_code for extra in price_file.extra_barcodes})
        if not price_file.header.replace_catalogue:
            for start in range(0, len(touched), 500):
                conn.execute(delete(extra_barcodes).where(extra_barcodes.c.item_code.in_(touched[start : start + 500])))
        _insert_many(
            conn,
            extra_barcodes.insert(),
            [
                {"item_code": e.item_code, "barcode": e.barcode, "name": e.name, "price": e.price, "coefficient": e.coefficient}
                for e in price_file.extra_barcodes
            ],
        )
        done += len(price_file.extra_barcodes)
        if progress:
            progress(done, total)
    return {
        "rows": len(price_file.rows),
        "items": sum(1 for row in price_file.rows if row.is_item),
        "groups": sum(1 for row in price_file.rows if not row.is_item),
        "extra_barcodes": len(price_file.extra_barcodes),
        "replaced": int(price_file.header.replace_catalogue),
        "warnings_count": len(price_file.warnings),
        "warnings": [warning.as_dict() for warning in price_file.warnings[:MAX_WARNINGS_SHOWN]],
    }
