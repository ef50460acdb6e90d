"""The sale screen: the page, and one route per cashier action that answers with the screen's state.

Every action answers with the same fragment (``_state.html``): the receipt's lines, totals and a
message, rebuilt from the server's state, so the screen can never drift from the database. An
action that must not happen twice (a scan, a payment, a storno...) runs once per
``Idempotency-Key``: the browser sends one key per key press and repeats it on a retry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import bindparam, select

from icecash.core.errors import DomainError, InvalidInput
from icecash.core.money import format_money
from icecash.store.db import reading
from icecash.web import FastJSONResponse, run_quick

from .. import printing
from ..api import PlainText, current_user, till_of
from ..catalogue import item_by_code, price_options, search_items
from ..service import User
from ..tables import catalogue as catalogue_table
from ..tables import receipts, users
from . import common, service
from .common import N_, context, message_of, page_user, render, to_login

router = APIRouter(include_in_schema=False)
UiUser = Annotated[User, Depends(current_user)]
Key = Annotated[str | None, Header(alias="Idempotency-Key")]
FormStr = Annotated[str, Form()]


@router.get("/sale", response_class=HTMLResponse)
def sale_page(request: Request) -> Response:
    user = page_user(request)
    if user is None:
        return to_login()
    till = till_of(request)
    shift = till.shift_status(user)
    gettext = common.i18n.translations(common.i18n.language_of(user.language)).gettext
    info = {"warn": gettext("The shift is over 23 hours old: take the Z report (F12) soon"),
            "expired": gettext("The shift is over 24 hours old: no sales until the Z report (F12)")}.get(shift["state"], "")
    return render("sale.html", context(request, user, shift=shift, sync=service.sync_view(request),
                                       **_state(request, user, till.current(user), info=info)))


@router.get("/ui/sale/state", response_class=HTMLResponse)
async def sale_state(request: Request, user: UiUser) -> Response:
    """The screen rebuilt from the server (after a reload, a failed request, or on demand)."""
    return await run_quick(lambda: _answer(request, user, till_of(request).current(user)))


def _state(request: Request, user: User, view: dict[str, Any] | None, *, error: dict[str, Any] | None = None,
           info: str = "", paid: dict[str, Any] | None = None, dialog: str = "", **extra: Any) -> dict[str, Any]:
    language = common.i18n.language_of(user.language)
    lines = view["lines"] if view else []
    live = [line for line in lines if not line["storno"]]
    fault = _print_fault(request, view, language)
    return {
        "receipt": view, "lines": lines, "live_count": len(live),
        "error": message_of(error, language) if error else "", "error_field": (error or {}).get("field") or "",
        "error_code": (error or {}).get("code") or "",
        "info": info, "paid": paid, "dialog": dialog, "print_fault": fault, **extra,
    }


# The unfinished print of an open receipt (printing.py: read-only until paid again or released).
_PRINT_FAULT = (
    select(printing.print_state.c.state, printing.print_state.c.error_ru, printing.print_state.c.error_en,
           printing.print_state.c.cash, printing.print_state.c.card, printing.print_state.c.attempts)
    .join(receipts, receipts.c.id == printing.print_state.c.receipt_id)
    .where(receipts.c.uuid == bindparam("uuid"), printing.print_state.c.state != printing.DONE)
)


def _print_fault(request: Request, view: dict[str, Any] | None, language: str) -> dict[str, Any] | None:
    """What the screen tells about the current receipt's failed or unfinished print, or None."""
    if not view or view.get("status") != "open":
        return None
    with reading(till_of(request).engine) as conn:
        row = conn.execute(_PRINT_FAULT, {"uuid": view["uuid"]}).first()
    if row is None:
        return None
    return {"state": row.state, "device": (row.error_en if language == "en" else row.error_ru) or "",
            "cash": format_money(row.cash), "card": format_money(row.card), "attempts": row.attempts}


def _answer(request: Request, user: User, view: dict[str, Any] | None, **state: Any) -> Response:
    return render("_state.html", context(request, user, **_state(request, user, view, **state)))


def _act(request: Request, user: User, key: str | None, action: Callable[[], Any],
         done: Callable[[Any], dict[str, Any]] | None = None, code: str = "") -> Response:
    """Run a receipt action (once per key) and answer with the fresh state and any refusal."""
    till = till_of(request)
    error = None
    body: Any = None
    try:
        scoped = common.idempotency_key(request, key)
        if scoped:
            status, body, _replayed = till.once(user, scoped, action, common.refusal)
            if status != 200:
                error, body = body["error"], None
        else:
            body = action()
    except DomainError as exc:
        error = exc.as_dict()
    extra: dict[str, Any] = done(body) if (done is not None and error is None) else {}
    if error is not None and error.get("code") == "choose_price":  # not a refusal: a question, the picker opens
        details = error.get("details", {})
        options = details.get("options", [])
        extra.update(dialog="prices", options=options, code=details.get("item_code") or code,
                     quantity=details.get("quantity") or "", name="",
                     info=message_of(error, common.i18n.language_of(user.language)))
        error = None
    # The action's own answer is the receipt as it now stands; anything else: read it fresh.
    view = body if isinstance(body, dict) and body.get("status") == "open" and "lines" in body else till.current(user)
    return _answer(request, user, view, error=error, **extra)


# The screen's everyday actions are short transactions: they run on the event loop (run_quick),
# page and all, as the API's do.


@router.post("/ui/sale/scan", response_class=HTMLResponse)
async def scan(request: Request, user: UiUser, barcode: FormStr = "", key: Key = None) -> Response:
    text = barcode.strip()
    if not text:
        return await run_quick(lambda: _answer(request, user, till_of(request).current(user)))
    return await run_quick(lambda: _act(request, user, key, lambda: till_of(request).scan(user, text)))


@router.post("/ui/sale/add", response_class=HTMLResponse)
async def add(request: Request, user: UiUser, code: FormStr = "", price_option: FormStr = "", quantity: FormStr = "",
              key: Key = None) -> Response:
    """An item by code, at the picked price option; ``quantity``: a scale label's weight carried by the picker."""
    return await run_quick(lambda: _act(
        request, user, key, lambda: till_of(request).add_line(
            user, code=code.strip(), price_option=price_option or None,
            quantity=common.parse_form_quantity(quantity, "quantity", required=False)),
        code=code.strip(),
    ))


@router.post("/ui/sale/select", response_class=HTMLResponse)
async def select_line(request: Request, user: UiUser, line_no: Annotated[int, Form(ge=1, le=100_000)]) -> Response:
    return await run_quick(lambda: _act(request, user, None, lambda: till_of(request).select_line(user, line_no)))


@router.post("/ui/sale/storno", response_class=HTMLResponse)
async def storno(request: Request, user: UiUser, line_no: Annotated[int, Form(ge=1, le=100_000)], key: Key = None) -> Response:
    return await run_quick(lambda: _act(request, user, key, lambda: till_of(request).storno(user, line_no)))


@router.post("/ui/sale/change", response_class=HTMLResponse)
async def change(request: Request, user: UiUser, line_no: Annotated[int, Form(ge=1, le=100_000)], what: FormStr,
                 value: FormStr = "", key: Key = None) -> Response:
    def action() -> Any:
        till = till_of(request)
        if what == "quantity":
            return till.change_line(user, line_no, quantity=common.parse_form_quantity(value, "quantity"))
        if what == "price":
            return till.change_line(user, line_no, price=common.parse_form_money(value, "price"))
        if what == "discount":
            return till.change_line(user, line_no, discount_bp=common.parse_form_rate(value, "discount_percent"))
        raise InvalidInput("bad_change", "Неизвестное изменение строки", "Unknown line change", field="what")
    return await run_quick(lambda: _act(request, user, key, action))


@router.post("/ui/sale/card", response_class=HTMLResponse)
async def card(request: Request, user: UiUser, number: FormStr = "", key: Key = None) -> Response:
    text = number.strip()
    if not text:
        return await run_quick(lambda: _act(request, user, None, lambda: till_of(request).clear_card(user)))
    return await run_quick(lambda: _act(request, user, key, lambda: till_of(request).set_card(user, text)))


@router.post("/ui/sale/cancel", response_class=HTMLResponse)
async def cancel(request: Request, user: UiUser, key: Key = None) -> Response:
    language = common.i18n.language_of(user.language)
    gettext = common.i18n.translations(language).gettext

    def done(body: Any) -> dict[str, Any]:
        if body and body.get("number"):
            return {"info": gettext("Receipt No. %(number)s cancelled") % {"number": body["number"]}}
        return {"info": gettext("Receipt cleared")}
    return await run_quick(lambda: _act(request, user, key, lambda: till_of(request).cancel(user) or {"cancelled": None}, done))


@router.post("/ui/sale/defer", response_class=HTMLResponse)
async def defer(request: Request, user: UiUser, key: Key = None) -> Response:
    gettext = common.i18n.translations(common.i18n.language_of(user.language)).gettext
    return await run_quick(lambda: _act(request, user, key, lambda: till_of(request).defer(user),
                                        lambda body: {"info": gettext("Receipt deferred: load it with ] or the “Deferred” button")}))


@router.post("/ui/sale/pay", response_class=HTMLResponse)
def pay(request: Request, user: UiUser, cash: FormStr = "", card_amount: FormStr = "", version: FormStr = "",
        key: Key = None) -> Response:
    """Payment as the JSON API takes it: with a printer set, the receipt is printed (fiscalised) first."""
    till = till_of(request)
    try:
        cash_kop = common.parse_form_money(cash, "cash", required=False) or 0
        card_kop = common.parse_form_money(card_amount, "card", required=False) or 0
        expected = int(version) if version.isdigit() else None
        if printing.client_for(till) is None:
            def action() -> Any:
                return printing.no_printer_note(till.pay(user, cash_kop, card_kop, expected))
        else:
            # Printed first, outside the once-only record: a failed print is not remembered as the answer.
            printed = printing.print_before_pay(till, user, cash_kop, card_kop, expected)
            if printed is None:
                def action() -> Any:
                    return till.pay(user, cash_kop, card_kop, expected)
            else:
                def action() -> Any:
                    return printing.finish_paid(till, user, printed)
    except DomainError as exc:
        return _answer(request, user, till.current(user), error=exc.as_dict())
    return _act(request, user, key, action, lambda body: {"paid": body})


@router.post("/ui/sale/print-release", response_class=HTMLResponse)
def print_release(request: Request, user: UiUser) -> Response:
    """Release the current receipt after a failed print (printing.release: the registrar is asked first)."""
    gettext = common.i18n.translations(common.i18n.language_of(user.language)).gettext
    return _act(request, user, None, lambda: printing.release(till_of(request), user),
                lambda body: {"info": gettext("Receipt released: change it, pay it again or cancel it")})


@router.get("/ui/sale/deferred", response_class=HTMLResponse)
def deferred_list(request: Request, user: UiUser) -> Response:
    till = till_of(request)
    rows = till.deferred(user)
    with reading(till.engine) as conn:
        sellers = dict(conn.execute(select(users.c.id, users.c.name)).all())
    return render("_deferred.html", context(request, user, rows=rows, sellers=sellers))


@router.post("/ui/sale/load", response_class=HTMLResponse)
def load(request: Request, user: UiUser, uuid: FormStr) -> Response:
    """Load a deferred receipt; a current receipt left with storno lines only is cancelled first, and the screen says so."""
    till = till_of(request)
    gettext = common.i18n.translations(common.i18n.language_of(user.language)).gettext
    replaced = till.current(user)

    def done(body: Any) -> dict[str, Any]:
        if not replaced or not replaced["lines"]:  # none, or an empty one (simply dropped)
            return {}
        try:
            cancelled = till.receipt(user, replaced["uuid"])
        except DomainError:
            return {}
        if cancelled["status"] != "cancelled":
            return {}
        return {"info": gettext("Receipt No. %(number)s cancelled") % {"number": cancelled["number"]}}
    return _act(request, user, None, lambda: till.load_deferred(user, uuid.strip()), done)


@router.get("/ui/sale/last", response_class=HTMLResponse)
def last(request: Request, user: UiUser) -> Response:
    try:
        view = till_of(request).last_receipt(user)
        error = ""
    except DomainError as exc:
        view, error = None, message_of(exc, common.i18n.language_of(user.language))
    return render("_receipt_view.html", context(request, user, r=view, error=error, copy=True))


# --- catalogue browser and multi-price picker --------------------------------------------------------


@router.get("/ui/catalogue", response_class=HTMLResponse)
def catalogue_browser(request: Request, user: UiUser, q: PlainText = "", group: str = "") -> Response:
    """Groups and items: a group's children, or everything that matches the search (code, barcode, name).

    A search with a control character is refused (422, field ``q``), as the JSON API refuses it.
    """
    q = q[:128]
    group = group[:32]
    till = till_of(request)
    with reading(till.engine) as conn:
        rows = search_items(conn, q, None if q.strip() else group, limit=100)
        path = []
        code = group if not q.strip() else ""
        while code:
            found = conn.execute(_GROUP_ROW, {"code": code}).first()
            if found is None:
                break
            path.insert(0, found)
            code = found.parent_code or ""
    partial = request.headers.get("HX-Target") == "cat-results"
    return render("_catalogue_results.html" if partial else "_catalogue.html",
                  context(request, user, rows=rows, q=q, group=group, path=path, fmt=format_money))


@router.get("/ui/catalogue/prices", response_class=HTMLResponse)
def prices(request: Request, user: UiUser, code: str) -> Response:
    till = till_of(request)
    with reading(till.engine) as conn:
        row = item_by_code(conn, code[:32])
        options = [{**o, "price": format_money(o["price"])} for o in price_options(conn, row)]
    return render("_prices.html", context(request, user, options=options, code=row.code, name=row.name))


# A group's own row, to walk up its parents for the catalogue's breadcrumbs.
_GROUP_ROW = (
    select(catalogue_table.c.code, catalogue_table.c.name, catalogue_table.c.parent_code)
    .where(catalogue_table.c.code == bindparam("code"))
)


# --- reports from the sale screen ----------------------------------------------------------------


@router.get("/ui/x", response_class=HTMLResponse)
def x_report(request: Request, user: UiUser) -> Response:
    try:
        report, error = till_of(request).x_report(user), ""
    except DomainError as exc:
        report, error = None, message_of(exc, common.i18n.language_of(user.language))
    return render("_report.html", context(request, user, report=report, error=error, title_kind="x"))


@router.post("/ui/z", response_class=HTMLResponse)
def z_report(request: Request, user: UiUser, idem: FormStr = "") -> Response:
    till = till_of(request)
    report, error = None, ""
    try:
        scoped = common.idempotency_key(request, idem)
        if scoped:
            status, body, _ = till.once(user, scoped, lambda: printing.z_report(till, user), common.refusal)
            if status == 200:
                report = body
            else:
                error = message_of(body["error"], common.i18n.language_of(user.language))
        else:
            report = printing.z_report(till, user)
    except DomainError as exc:
        error = message_of(exc, common.i18n.language_of(user.language))
    return render("_report.html", context(request, user, report=report, error=error, title_kind="z"))


@router.post("/ui/x/print", response_class=HTMLResponse)
def x_print(request: Request, user: UiUser) -> Response:
    """Print the X report (a fiscal X on a registrar)."""
    try:
        answer, error = printing.x_report(till_of(request), user), ""
        report = answer["report"]
    except DomainError as exc:
        report, error = None, message_of(exc, common.i18n.language_of(user.language))
    return render("_report.html", context(request, user, report=report, error=error, title_kind="x", printed=not error))


@router.post("/ui/drawer")
def open_drawer(request: Request, user: UiUser) -> Response:
    """PgDn: open the cash drawer through the receipt printer; the answer is a line for the screen."""
    return _device_answer(user, lambda: printing.drawer(till_of(request), user), N_("Drawer opened"))


@router.post("/ui/copy")
def print_copy(request: Request, user: UiUser, uuid: FormStr = "") -> Response:
    """Print a copy of the last paid receipt (or of the one named)."""
    return _device_answer(user, lambda: printing.copy(till_of(request), user, uuid.strip() or None), N_("Copy printed"))


def _device_answer(user: User, action: Callable[[], Any], done: str) -> Response:
    language = common.i18n.language_of(user.language)
    try:
        action()
    except DomainError as exc:
        return FastJSONResponse({"ok": False, "message": message_of(exc, language)})
    return FastJSONResponse({"ok": True, "message": common.i18n.translations(language).gettext(done)})


@router.post("/ui/prefs")
def prefs(request: Request, user: UiUser, theme: FormStr = "", language: FormStr = "") -> Response:
    """The user's own theme and language (stored in their user record)."""
    changes: dict[str, str] = {}
    if theme in ("light", "dark"):
        changes["theme"] = theme
    if language in common.i18n.LANGUAGES:
        changes["language"] = language
    if changes:
        till_of(request).update_user(user, user.id, changes)
    response = Response(status_code=204, headers={"HX-Refresh": "true"})
    if "language" in changes:  # the login page speaks the last language used here
        response.set_cookie(common.LANG_COOKIE, changes["language"], max_age=365 * 86400, samesite="strict")
    return response

