"""Promotions on the central server: checked on save, targeted on sync, tried out in the simulator.

- **On save** (``Server.save_promotion``) a promotion is parsed with the firm's goods lists and
  place groups; a broken one is refused with the field, line and column
  (:class:`~icecash.core.promo.PromoSyntaxError`): the API answers 422 (:func:`syntax_error_response`),
  the admin page shows the form again with the error, and nothing is stored.
- **On sync** (``Server.promotions_for_till``) a till gets only the promotions whose ``IF_PLACE_IN``
  lines hold for its shop; one stored before validation existed and no longer parsing is sent as
  it is: the till leaves it out and logs it.
- **The simulator** (:func:`simulate`) runs the firm's promotions (and an unsaved draft) against a
  sample receipt priced from one of the firm's price lists, and returns the calculation, the
  reasons and the problems, exactly as a till would compute them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import Connection, select

from icecash.core.errors import InvalidInput
from icecash.core.promo import (
    PromoContext,
    PromoSyntaxError,
    Promotion,
    PromotionSet,
    ReceiptFacts,
    calculate_with_promotions,
    parse_promotion,
)
from icecash.core.receipt import ItemSnapshot, LineInput
from icecash.core.vat import VatRate
from icecash.store.db import reading

from .tables import (
    goods_lists,
    place_groups,
    price_items,
    price_lists,
    promotions,
    variables,
)

MAX_SAMPLE_LINES = 500


def syntax_error_response(error: PromoSyntaxError) -> JSONResponse:
    """422 with ``{"error": {code, field, message, message_en, details: {line, column}}}``."""
    return JSONResponse({"error": error.as_dict()}, status_code=422)


def place_groups_of(conn: Connection, firm_id: int) -> dict[str, list[str]]:
    """The firm's place groups: name → the idplaces (as text) it holds."""
    out: dict[str, list[str]] = {}
    for name, idplaces in conn.execute(select(place_groups.c.name, place_groups.c.idplaces).where(place_groups.c.firm_id == firm_id)):
        try:
            out[name] = [str(p) for p in json.loads(idplaces or "[]")]
        except (ValueError, TypeError):
            out[name] = []
    return out


def goods_lists_of(conn: Connection, firm_id: int) -> dict[str, list[str]]:
    return {name: json.loads(codes) for name, codes in conn.execute(
        select(goods_lists.c.name, goods_lists.c.codes).where(goods_lists.c.firm_id == firm_id))}  # fmt: skip


def parse_values(values: Mapping[str, Any], goods_list_names: Collection[str] | None = None,
                 place_group_names: Collection[str] | None = None, promotion_id: Any = "") -> Promotion:
    """A promotion's stored values (``_promotion_values`` of the service) parsed; PromoSyntaxError when broken."""
    return parse_promotion(
        promotion_id if promotion_id is not None else "", values.get("name") or "", values.get("if_text") or "",
        values.get("then_text") or "", date_from=values.get("date_from"), date_to=values.get("date_to"),
        time_from=values.get("time_from"), time_to=values.get("time_to"), weekdays=values.get("weekdays") or "1111111",
        goods_lists=goods_list_names, place_groups=place_group_names,
    )  # fmt: skip


def listed(places: str, idplace: int | None) -> bool:
    """The ``places`` field of a promotion (idplaces separated by commas; empty: all) admits this shop."""
    wanted = [p.strip() for p in (places or "").split(",") if p.strip()]
    return not wanted or idplace is None or str(idplace) in wanted


# --- the simulator ---------------------------------------------------------------------------------------


def _snapshot(row: Any) -> ItemSnapshot:
    try:
        vat = VatRate(row.vat) if row.vat else VatRate.NONE
    except ValueError:
        vat = VatRate.NONE
    return ItemSnapshot(code=row.code, name=row.name, price=row.price, min_price=row.min_price, max_price=row.max_price,
                        max_discount_bp=row.max_discount_bp, weighed=bool(row.weighed), department=row.department,
                        vat=vat, alcohol=bool(row.alcohol), litres_ml=row.litres_ml, barcode=row.barcode,
                        group_code=row.parent_code)  # fmt: skip


def _reasons(reasons: Any) -> list[dict[str, str]]:
    return [{"id": r.promotion_id, "name": r.promotion_name, "reason_ru": r.text_ru, "reason_en": r.text_en} for r in reasons]


def simulate(server: Any, actor: Any, regid: str, sample: Mapping[str, Any]) -> dict[str, Any]:
    """Run the firm's promotions (and ``draft``, unsaved) on a sample receipt, as a till would.

    ``sample``: ``lines`` [{code, quantity (thousandths, default 1000), price (kopecks, default the
    list's), storno}], ``price_list`` (default: the firm's first), ``idplace`` (given: ``IF_PLACE_IN``
    and the places field are checked for it), ``nkassa``, ``moment`` (default: now), ``card``,
    ``card_rate_bp``, ``bonus_card``, ``variables`` (over the firm's), ``promotion_ids`` (default:
    every active promotion; given: exactly these, active or not), ``draft`` (a promotion's fields,
    with ``id`` to stand in for a saved one). Money in kopecks, quantities in thousandths.
    """
    lines_in = list(sample.get("lines") or [])
    if not lines_in:
        raise InvalidInput("empty_sample", "Добавьте в пробный чек хотя бы одну строку", "Add at least one line to the sample receipt",
                           field="lines")  # fmt: skip
    if len(lines_in) > MAX_SAMPLE_LINES:
        raise InvalidInput("too_many_lines", f"В пробном чеке не более {MAX_SAMPLE_LINES} строк",
                           f"At most {MAX_SAMPLE_LINES} lines in a sample receipt", field="lines")  # fmt: skip
    idplace = sample.get("idplace")
    moment = sample.get("moment") or datetime.now().replace(microsecond=0)
    with reading(server.engine) as conn:
        firm_id = server._firm_id(conn, regid)
        actor.require_firm(firm_id)
        lists = goods_lists_of(conn, firm_id)
        groups = place_groups_of(conn, firm_id)
        firm_vars = dict(conn.execute(select(variables.c.name, variables.c.value).where(variables.c.firm_id == firm_id)).all())
        list_name = sample.get("price_list")
        stmt = select(price_lists.c.id, price_lists.c.name).where(price_lists.c.firm_id == firm_id)
        if list_name:
            stmt = stmt.where(price_lists.c.name == list_name)
        found_list = conn.execute(stmt.order_by(price_lists.c.id).limit(1)).first()
        if found_list is None:
            raise InvalidInput("unknown_price_list", "Нет прайса для пробного чека: загрузите прайс или укажите его имя",
                               "No price list for the sample receipt: push one or name it", field="price_list")  # fmt: skip
        catalogue: dict[str, ItemSnapshot] = {}

        def lookup(code: str) -> ItemSnapshot | None:
            if code not in catalogue:
                row = conn.execute(select(price_items).where(
                    price_items.c.price_list_id == found_list.id, price_items.c.code == code,
                    price_items.c.deleted.is_(False), price_items.c.is_item.is_(True))).first()  # fmt: skip
                if row is None:
                    return None
                catalogue[code] = _snapshot(row)
            return catalogue[code]

        inputs = []
        for i, line in enumerate(lines_in):
            code = str(line.get("code", ""))
            item = lookup(code)
            if item is None:
                raise InvalidInput("unknown_code", f"Строка {i + 1}: товара {code!r} нет в прайсе {found_list.name}",
                                   f"Line {i + 1}: item {code!r} is not in price list {found_list.name}",
                                   field=f"lines[{i}].code")  # fmt: skip
            quantity = int(line.get("quantity") or 1000)
            price = line.get("price")
            inputs.append(LineInput(item, quantity, item.price if price is None else int(price), storno=bool(line.get("storno"))))
        ids = sample.get("promotion_ids")
        stmt = select(promotions).where(promotions.c.firm_id == firm_id)
        if ids is None:
            stmt = stmt.where(promotions.c.active.is_(True))
        else:
            stmt = stmt.where(promotions.c.id.in_([int(i) for i in ids] or [0]))
        rows = conn.execute(stmt.order_by(promotions.c.id)).all()
        draft = sample.get("draft")
        chosen: list[Promotion] = []
        problems: list[dict[str, str]] = []
        draft_id = str(draft.get("id") or "draft") if draft else None
        for row in rows:
            if str(row.id) == draft_id:
                continue
            if idplace is not None and not listed(row.places, idplace):
                continue
            try:
                chosen.append(parse_values(row._mapping, set(lists), set(groups), row.id))
            except PromoSyntaxError as error:
                problems.append({"id": str(row.id), "name": row.name, "message": f"Акция «{row.name}» не загружена: {error.message_ru}",
                                 "message_en": f"Promotion '{row.name}' not loaded: {error.message_en}"})  # fmt: skip
        if draft:
            from .service import _promotion_values

            values = _promotion_values({**draft, "name": draft.get("name") or "черновик"})
            if idplace is None or listed(values["places"], idplace):
                chosen.append(parse_values(values, set(lists), set(groups), draft_id))  # a broken draft: 422 with its place
        result = calculate_with_promotions(
            ReceiptFacts(tuple(inputs), moment, card=str(sample.get("card") or ""),
                         card_rate_bp=int(sample.get("card_rate_bp") or 0), bonus_card=str(sample.get("bonus_card") or ""),
                         place="" if idplace is None else str(idplace), kassa=str(sample.get("nkassa") or 1)),
            PromotionSet(chosen, lists),
            PromoContext(variables={**firm_vars, **dict(sample.get("variables") or {})}, goods_lists=lists,
                         place_groups=groups, lookup=lookup, check_places=idplace is not None),
        )  # fmt: skip
    calc = result.calculation
    out_lines = []
    for n, (line, res, reasons) in enumerate(zip(result.lines, calc.lines, result.reasons), start=1):
        out_lines.append({
            "line_no": n, "code": line.item.code, "name": line.item.name, "price": line.price, "quantity": line.quantity,
            "storno": line.storno, "amount": res.amount, "discount": res.discount, "total": res.total,
            "final_price": res.final_price, "added": n > len(inputs), "promotions": _reasons(reasons),
        })  # fmt: skip
    problems += [{"id": p.promotion_id, "name": p.promotion_name, "message": p.message_ru, "message_en": p.message_en}
                 for p in result.problems]  # fmt: skip
    return {
        "price_list": found_list.name, "moment": moment.isoformat(), "idplace": idplace,
        "amount": calc.amount, "discount": calc.discount, "total": calc.total, "card_rate_bp": result.card_rate_bp,
        "lines": out_lines, "promotions": _reasons(result.receipt_reasons),
        "applied": [{"id": r.promotion_id, "name": r.promotion_name} for r in result.evaluation.applied],
        "considered": len(chosen), "problems": problems,
    }  # fmt: skip
