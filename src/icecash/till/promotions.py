"""The till's promotions: the set the server sent, applied at every change of a receipt, the reasons kept.

The sync agent stores what the server hands out (``server_promotions``, ``server_goods_lists``,
``server_variables``, migration 0004) and the version it came with. :class:`TillPromotions` parses
that into a :class:`~icecash.core.promo.PromotionSet` once per download (the agent calls
:meth:`TillPromotions.invalidate`; another process's download is noticed by its version within
:data:`RECHECK_S`), and ``Till._recalculated`` calls :meth:`TillPromotions.calculate` where it
called ``receipt.calculate``.

Decisions (``docs/promotions.md`` §10):

- **What is stored is what is paid.** Every change of an open receipt recalculates it with the
  promotions in force *now* (the till's clock, the set downloaded last) and stores the lines'
  amounts, the promotion-added lines and the reasons. Paying never recalculates: the customer
  pays the total the screen showed (``expected_version`` guards a change in between). A paid
  receipt is never recalculated, so a later download cannot touch it; its reasons are stored
  with it. A deferred receipt keeps its stored lines and reasons when it is loaded again; the
  next change the cashier makes recalculates it with the promotions in force then, and the view
  that change returns shows the new reasons.
- **Added lines are real lines**, numbered after the cashier's, flagged ``added`` in
  :data:`receipt_line_promotions`, rebuilt (deleted and inserted again) whenever they change;
  they are printed, uploaded and counted in the Z like any other line, and never fed back into
  the evaluation. The cashier cannot change or storno them: they follow the lines that caused
  them.
- **A promotion never fails a sale.** A promotion that does not parse is left out when the set
  is built, one that cannot be evaluated is skipped by the evaluator; both are logged once per
  download. Should anything else go wrong, the receipt is calculated without promotions.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Integer,
    Table,
    Text,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from icecash.core.errors import Conflict, DomainError
from icecash.core.promo import (
    Problem,
    PromoCalculation,
    PromoContext,
    PromotionSet,
    Reason,
    ReceiptFacts,
    calculate_with_promotions,
    promotion_set_from_rows,
)
from icecash.core.receipt import ItemSnapshot, LineInput, ReceiptKind

from . import catalogue as cat
from .sync import server_goods_lists, server_promotions, server_variables, sync_state
from .tables import catalogue, metadata, receipt_lines

log = logging.getLogger("icecash.till.promotions")

RECHECK_S = 5.0  # how often the stored versions are compared with the set in memory (downloads by another process)

# --- what a receipt keeps of its promotions (migration 0020) ------------------------------------------------

receipt_line_promotions = Table(
    "receipt_line_promotions",
    metadata,
    Column("line_id", Integer, ForeignKey("receipt_lines.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("added", Boolean, nullable=False, default=False),  # the line was added by a promotion
    Column("reasons", Text, nullable=False, default="[]"),  # JSON: [{id, name, reason_ru, reason_en}]
)

receipt_promotions = Table(
    "receipt_promotions",
    metadata,
    Column("receipt_id", Integer, ForeignKey("receipts.id", ondelete="CASCADE"), primary_key=True, autoincrement=False),
    Column("reasons", Text, nullable=False),  # JSON: the reasons on the whole receipt (card denied, bonus …)
)

LINES_WITH_PROMOTIONS = (
    select(receipt_lines, receipt_line_promotions.c.added.label("promo_added"),
           receipt_line_promotions.c.reasons.label("promo_reasons"))
    .outerjoin(receipt_line_promotions, receipt_line_promotions.c.line_id == receipt_lines.c.id)
    .where(receipt_lines.c.receipt_id == bindparam("receipt_id"))
    .order_by(receipt_lines.c.line_no)
)  # fmt: skip
_RECEIPT_REASONS = select(receipt_promotions.c.reasons).where(receipt_promotions.c.receipt_id == bindparam("receipt_id"))
_STAMP = select(sync_state.c.name, sync_state.c.value).where(sync_state.c.name.in_(("promotions_version", "variables_version")))


def reasons_json(reasons: Sequence[Reason]) -> str | None:
    """The stored form of a line's (or a receipt's) reasons; None when there are none."""
    if not reasons:
        return None
    return json.dumps([{"id": r.promotion_id, "name": r.promotion_name, "reason_ru": r.text_ru, "reason_en": r.text_en}
                       for r in reasons], ensure_ascii=False, separators=(",", ":"))  # fmt: skip


def reasons_view(stored: str | None) -> list[dict[str, str]]:
    """The reasons as the receipt view shows them: ``[{id, name, reason_ru, reason_en}]``."""
    return json.loads(stored) if stored else []


def receipt_reasons(conn: Connection, receipt_id: int) -> str | None:
    return conn.execute(_RECEIPT_REASONS, {"receipt_id": receipt_id}).scalar()


def refuse_if_added(conn: Connection, line: Any) -> None:
    """A line a promotion added follows the lines that caused it: the cashier cannot change it."""
    found = conn.execute(select(receipt_line_promotions.c.added).where(receipt_line_promotions.c.line_id == line.id)).scalar()
    if found:
        raise Conflict("promotion_line", f"Строку {line.line_no} добавила акция: она меняется сама вместе со строками, "
                       "которые её вызвали", f"Line {line.line_no} was added by a promotion: it follows the lines that "
                       "caused it", field="line_no")  # fmt: skip


# --- the set in memory ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Loaded:
    """One download, parsed: the set, its goods lists, the replicated variables and what would not load."""

    promotions: PromotionSet
    goods_lists: dict[str, tuple[str, ...]]
    variables: dict[str, str]
    problems: tuple[Problem, ...]
    stamp: tuple[str, str]
    receipt_reasons: bool = True  # some receipt may carry receipt-level reasons: look before writing
    logged: set[tuple[str, str]] = field(default_factory=set, compare=False)


def load(conn: Connection, stamp: tuple[str, str] | None = None) -> Loaded:
    """The promotion set from what the sync agent stored (a broken promotion is left out and reported)."""
    lists: dict[str, list[str]] = {}
    for name, code in conn.execute(select(server_goods_lists.c.name, server_goods_lists.c.code)):
        lists.setdefault(name, []).append(code)
    goods_lists = {name: tuple(sorted(codes)) for name, codes in lists.items()}
    rows = [dict(r._mapping) for r in conn.execute(select(server_promotions).order_by(server_promotions.c.id))]
    promotions, problems = promotion_set_from_rows(rows, goods_lists)
    variables = dict(conn.execute(select(server_variables.c.name, server_variables.c.value)).all())
    # Without promotions and without stored receipt-level reasons there is nothing to clear: the
    # selling path then skips looking for them (one query less per change).
    held = len(promotions) > 0 or conn.execute(select(receipt_promotions.c.receipt_id).limit(1)).first() is not None
    return Loaded(promotions, goods_lists, variables, problems, stamp if stamp is not None else _stamp(conn), held)


def _stamp(conn: Connection) -> tuple[str, str]:
    found = dict(conn.execute(_STAMP).all())
    return found.get("promotions_version", ""), found.get("variables_version", "")


class TillPromotions:
    """The current promotion set of a till, rebuilt after each download; thread-safe, cheap when nothing changed."""

    def __init__(self) -> None:
        self._loaded: Loaded | None = None
        self._checked = 0.0
        self._generation = 0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """A download changed the promotions or the variables: parse them again at the next receipt change.

        The sync agent calls it inside the transaction that stores the download and again after its
        commit: a set loaded from the old rows in between is never kept (the generation moved on).
        """
        with self._lock:
            self._generation += 1
            self._loaded = None

    def current(self, conn: Connection) -> Loaded:
        loaded, now = self._loaded, time.monotonic()
        if loaded is not None and now - self._checked < RECHECK_S:
            return loaded
        generation = self._generation
        stamp = _stamp(conn)
        if loaded is None or loaded.stamp != stamp:
            loaded = load(conn, stamp)
            for problem in loaded.problems:
                log.error("%s", problem.message_en)
            if loaded.promotions.promotions or loaded.problems:
                log.info("promotions loaded: %d in force, %d left out (version %s, variables version %s)",
                         len(loaded.promotions), len(loaded.problems), *stamp)  # fmt: skip
        with self._lock:
            if generation == self._generation:  # no download since we read: keep it
                self._loaded, self._checked = loaded, now
        return loaded

    def calculate(self, conn: Connection, receipt: Any, inputs: Sequence[LineInput], moment: datetime) -> PromoCalculation | None:
        """The receipt calculated with the promotions, or None when none apply (no set, a return receipt).

        Never raises: whatever goes wrong with promotions is logged and the receipt is calculated
        without them.
        """
        if receipt.kind == ReceiptKind.RETURN.value:
            return None
        try:
            loaded = self.current(conn)
            if not len(loaded.promotions):
                return None
            facts = ReceiptFacts(
                tuple(inputs), moment, card=receipt.card_number or "", card_rate_bp=receipt.card_rate_bp,
                place=str(receipt.idplace), kassa=str(receipt.nkassa), kind=ReceiptKind(receipt.kind),
                line_groups=_ancestor_groups(conn, inputs),
            )  # fmt: skip
            context = PromoContext(variables=loaded.variables, goods_lists=loaded.goods_lists,
                                   lookup=lambda code: _lookup(conn, code))  # fmt: skip
            result = calculate_with_promotions(facts, loaded.promotions, context)
        except Exception:
            log.exception("promotions not applied to receipt %s", getattr(receipt, "uuid", "?"))
            return None
        for problem in result.problems:
            key = (problem.promotion_id, problem.message_en)
            if key not in loaded.logged:
                loaded.logged.add(key)
                log.warning("%s", problem.message_en)
        return result


    def receipt_reasons(self, conn: Connection, receipt_id: int) -> str | None:
        """A receipt's stored receipt-level reasons (no query when none can exist)."""
        loaded = self._loaded
        if loaded is not None and not loaded.receipt_reasons:
            return None
        return receipt_reasons(conn, receipt_id)

    def store(self, conn: Connection, receipt_id: int, cashier_lines: Sequence[Any], old_added: Sequence[Any],
              result: PromoCalculation | None, line_factory: Any) -> tuple[list[Any], str | None]:
        """:func:`store`, skipping the receipt-level look-up when the set says none can exist."""
        loaded = self._loaded
        receipt_level = result is not None or loaded is None or loaded.receipt_reasons
        return store(conn, receipt_id, cashier_lines, old_added, result, line_factory, receipt_level)


def _ancestor_groups(conn: Connection, inputs: Sequence[LineInput]) -> tuple[tuple[str, ...], ...]:
    """Per line, the groups above its item's own group in the catalogue tree (``DO_POS_CODE_IN (3)``
    then takes the items of group 31 too). One query per level of the tree, only with promotions."""
    parents: dict[str, str | None] = {}
    frontier = {line.item.group_code for line in inputs if line.item.group_code}
    while frontier:
        found = dict(conn.execute(select(catalogue.c.code, catalogue.c.parent_code).where(catalogue.c.code.in_(sorted(frontier)))).all())
        for code in frontier:
            parents[code] = found.get(code)
        frontier = {p for p in found.values() if p and p not in parents}
    out = []
    for line in inputs:
        chain: list[str] = []
        group = parents.get(line.item.group_code) if line.item.group_code else None
        while group and group not in chain and len(chain) < 32:
            chain.append(group)
            group = parents.get(group)
        out.append(tuple(chain))
    return tuple(out)


def _lookup(conn: Connection, code: str) -> ItemSnapshot | None:
    try:
        return cat.snapshot_of(cat.item_by_code(conn, code))
    except DomainError:
        return None


# --- storing what a calculation gave ------------------------------------------------------------------------


def store(conn: Connection, receipt_id: int, cashier_lines: Sequence[Any], old_added: Sequence[Any],
          result: PromoCalculation | None, line_factory: Any, receipt_level: bool = True) -> tuple[list[Any], str | None]:
    """Write the reasons of the cashier's lines, the promotion-added lines and the receipt's reasons.

    ``cashier_lines``: the cashier's line rows as they now stand (with their ``id``). ``old_added``:
    the added line rows stored before (still in the database). ``line_factory``: builds a plain
    row object from a dict (the service's). ``receipt_level`` False: no receipt-level reasons can
    be stored (:meth:`TillPromotions.store` knows). Only what changed is written. Returns the added line
    rows now stored and the receipt's reasons (stored form), for the view.
    """
    count = len(cashier_lines)
    wanted = [reasons_json(r) for r in result.reasons[:count]] if result is not None else [None] * count
    for line, reasons in zip(cashier_lines, wanted):
        current = getattr(line, "promo_reasons", None)
        if current == reasons:
            continue
        if reasons is None:
            conn.execute(delete(receipt_line_promotions).where(receipt_line_promotions.c.line_id == line.id))
        elif current is None:
            conn.execute(insert(receipt_line_promotions).values(line_id=line.id, added=False, reasons=reasons))
        else:
            conn.execute(update(receipt_line_promotions).where(receipt_line_promotions.c.line_id == line.id)
                         .values(reasons=reasons))  # fmt: skip
        line.promo_reasons = reasons
        line.promo_added = False
    added = _added_rows(receipt_id, cashier_lines, result)
    if [_added_key(r) for r in added] != [_added_key(r) for r in old_added]:
        if old_added:
            conn.execute(delete(receipt_lines).where(receipt_lines.c.id.in_([r.id for r in old_added])))
        rows = []
        for values in added:
            reasons = values.pop("promo_reasons")
            values.pop("promo_added")
            line_id = conn.execute(insert(receipt_lines).values(**values)).inserted_primary_key[0]
            conn.execute(insert(receipt_line_promotions).values(line_id=line_id, added=True, reasons=reasons or "[]"))
            rows.append(line_factory({**values, "id": line_id, "promo_added": True, "promo_reasons": reasons}))
        old_added = rows
    reasons = reasons_json(result.receipt_reasons) if result is not None else None
    if (reasons is not None or receipt_level) and reasons != receipt_reasons(conn, receipt_id):
        conn.execute(delete(receipt_promotions).where(receipt_promotions.c.receipt_id == receipt_id))
        if reasons is not None:
            conn.execute(insert(receipt_promotions).values(receipt_id=receipt_id, reasons=reasons))
    return list(old_added), reasons


_ADDED_KEY = ("line_no", "code", "snapshot", "price", "quantity", "amount", "discount_bp", "discount", "total",
              "final_price", "vat_amount", "marks", "promo_reasons")  # fmt: skip


def _added_key(row: Any) -> tuple:
    if isinstance(row, dict):
        return tuple(row[k] for k in _ADDED_KEY)
    return tuple(getattr(row, k) for k in _ADDED_KEY)


def _added_rows(receipt_id: int, cashier_lines: Sequence[Any], result: PromoCalculation | None) -> list[dict[str, Any]]:
    """The receipt_lines values of the promotion-added lines, numbered after the cashier's last line."""
    if result is None or not result.added:
        return []
    count = len(cashier_lines)
    line_no = max((line.line_no for line in cashier_lines), default=0)
    rows = []
    for line, calc, reasons in zip(result.lines[count:], result.calculation.lines[count:], result.reasons[count:]):
        line_no += 1
        item = line.item
        rows.append({
            "receipt_id": receipt_id, "line_no": line_no, "code": item.code, "name": item.name,
            "snapshot": cat.snapshot_to_json(item), "price": line.price, "quantity": line.quantity,
            "storno": False, "manual_discount_bp": 0, "price_changed": line.price != item.price,
            "quantity_changed": False, "fixed_total": None, "fixed_discount": 0, "return_of_line_id": None,
            "amount": calc.amount, "discount_bp": calc.discount_bp, "discount": calc.discount, "total": calc.total,
            "final_price": calc.final_price, "vat": item.vat.value, "vat_amount": calc.vat_amount, "marks": calc.marks,
            "promo_added": True, "promo_reasons": reasons_json(reasons),
        })  # fmt: skip
    return rows
