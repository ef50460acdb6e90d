"""Login and logout, the reports page, receipt search and view, and the return flow."""

from __future__ import annotations

import uuid as uuid_module
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from icecash.core.errors import DomainError, InvalidInput
from icecash.core.roles import Role

from .. import printing
from ..api import SESSION_COOKIE, current_user, till_of
from ..service import User
from . import common, i18n
from .common import Guest, context, message_of, page_user, render, to_login

router = APIRouter(include_in_schema=False)
UiUser = Annotated[User, Depends(current_user)]
FormStr = Annotated[str, Form()]


def _guest(request: Request) -> Guest:
    return Guest(i18n.language_of(request.query_params.get("lang") or request.cookies.get(common.LANG_COOKIE)))


@router.get("/", response_class=HTMLResponse)
def root(request: Request) -> Response:
    return RedirectResponse("/sale" if page_user(request) else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    if page_user(request) is not None:
        return RedirectResponse("/sale", status_code=303)
    guest = _guest(request)
    response = render("login.html", context(request, guest, error="", login=""))
    if "lang" in request.query_params:
        response.set_cookie(common.LANG_COOKIE, guest.language, max_age=365 * 86400, samesite="strict")
    return response


@router.post("/login", response_class=HTMLResponse)
def login(request: Request, login: FormStr = "", password: FormStr = "", code: FormStr = "") -> Response:
    """Login and password; or a user's code or card (scanned into the login field, no password)."""
    guest = _guest(request)
    till = till_of(request)
    login, code = login.strip()[:64], code.strip()[:64]
    try:
        if code or (login and not password):
            token, user = till.login_by_code(code or login, kind="browser")
        else:
            if not login:
                raise InvalidInput("empty", "Введите логин", "Enter your login", field="login")
            token, user = till.login(login, password[:256], kind="browser")
    except DomainError as exc:
        ctx = context(request, guest, error=message_of(exc, guest.language), login=login if password else "")
        return render("login.html", ctx, status_code=200)
    response = RedirectResponse("/sale", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    response.set_cookie(common.LANG_COOKIE, user.language, max_age=365 * 86400, samesite="strict")
    return response


@router.post("/logout")
def logout(request: Request, user: UiUser) -> Response:
    till_of(request).logout(request.cookies.get(SESSION_COOKIE, ""))
    response = Response(status_code=204, headers={"HX-Redirect": "/login"})
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- reports -------------------------------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request) -> Response:
    user = page_user(request)
    if user is None:
        return to_login()
    till = till_of(request)
    error = ""
    x = zs = None
    try:
        x = till.x_report(user)
        zs = till.z_reports(user)
    except DomainError as exc:
        error = message_of(exc, user.language)
    return render("reports.html", context(request, user, x=x, zs=zs or [], error=error, idem=str(uuid_module.uuid4()),
                                          shift=till.shift_status(user)))


@router.post("/ui/cash", response_class=HTMLResponse)
def cash_move(request: Request, user: UiUser, direction: FormStr = "in", amount: FormStr = "", comment: FormStr = "",
              idem: FormStr = "") -> Response:
    """Cash in (change for the day) or out (collection): on the registrar too when one is set."""
    till = till_of(request)
    error, result = "", None
    try:
        kopecks = common.parse_form_money(amount, "amount") or 0
        signed = kopecks if direction == "in" else -kopecks
        action = lambda: printing.cash_move(till, user, signed, comment.strip()[:256])  # noqa: E731
        scoped = common.idempotency_key(request, idem)
        if scoped:
            status, body, _ = till.once(user, scoped, action, common.refusal)
            if status != 200:
                raise _Refused(body["error"])
            result = body
        else:
            result = action()
    except DomainError as exc:
        error = message_of(exc, user.language)
    except _Refused as refused:
        error = message_of(refused.error, user.language)
    return render("_cash_result.html", context(request, user, result=result, error=error, direction=direction,
                                                amount=amount, idem=str(uuid_module.uuid4())))


@router.get("/reports/z/{z_uuid}", response_class=HTMLResponse)
def z_page(request: Request, z_uuid: str) -> Response:
    user = page_user(request)
    if user is None:
        return to_login()
    try:
        report, error = till_of(request).z_report_by_uuid(user, z_uuid[:64]), ""
    except DomainError as exc:
        report, error = None, message_of(exc, user.language)
    return render("z.html", context(request, user, report=report, error=error))


# --- receipts: search, view, return --------------------------------------------------------------


def _date(text: str | None, field: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("bad_date", f"Дата {text!r}: нужен формат ГГГГ-ММ-ДД", f"Date {text!r}: expected YYYY-MM-DD",
                           field=field) from None


PAYMENTS = ("cash", "card", "mixed")


@router.get("/receipts", response_class=HTMLResponse)
def receipts_page(request: Request) -> Response:
    user = page_user(request)
    if user is None:
        return to_login()
    q = request.query_params
    rows: list[dict[str, Any]] = []
    error = ""
    searched = bool(q)
    if searched or user.role >= Role.CASHIER:
        try:
            amount = common.parse_form_money(q.get("amount"), "amount", required=False)
            payment = q.get("payment", "") if q.get("payment", "") in PAYMENTS else ""
            card = (q.get("card") or "").strip()[:64]
            number = q.get("number", "").strip()
            if number and not number.isdigit():
                raise InvalidInput("bad_number", "Номер чека — целое число", "The receipt number is a whole number", field="number")
            rows = till_of(request).find_receipts(
                user, date_from=_date(q.get("date_from"), "date_from"), date_to=_date(q.get("date_to"), "date_to"),
                number=int(number) if number else None,
                kind=q.get("kind") if q.get("kind") in ("sale", "return") else None,
                status=q.get("status") if q.get("status") in ("paid", "cancelled") else None,
                payment=payment or None, card_number=card or None, total=amount, limit=200,
            )
        except DomainError as exc:
            error = message_of(exc, user.language)
    template = "_receipts_rows.html" if request.headers.get("HX-Request") else "receipts.html"
    return render(template, context(request, user, rows=rows, error=error, q=q))


@router.get("/receipts/{receipt_uuid}", response_class=HTMLResponse)
def receipt_page(request: Request, receipt_uuid: str) -> Response:
    user = page_user(request)
    if user is None:
        return to_login()
    try:
        view, error = till_of(request).receipt(user, receipt_uuid[:64]), ""
    except DomainError as exc:
        view, error = None, message_of(exc, user.language)
    if request.headers.get("HX-Request"):
        return render("_receipt_view.html", context(request, user, r=view, error=error, copy=False))
    return render("receipt.html", context(request, user, r=view, error=error))


@router.get("/ui/returns/find", response_class=HTMLResponse)
def return_find(request: Request, user: UiUser, number: str = "", day: str = "") -> Response:
    """Paid sales to return from, by number or by date (the return dialog's first step)."""
    rows: list[dict[str, Any]] = []
    error = ""
    number = number.strip()
    try:
        if number and not number.isdigit():
            raise InvalidInput("bad_number", "Номер чека — целое число", "The receipt number is a whole number", field="number")
        when = _date(day.strip(), "day")
        if number or when:
            rows = till_of(request).find_receipts(user, number=int(number) if number else None, date_from=when, date_to=when,
                                                  kind="sale", status="paid", limit=50)
    except DomainError as exc:
        error = message_of(exc, user.language)
    if number and len(rows) == 1:  # a receipt number finds one sale: straight to picking its lines
        return return_pick(request, user, rows[0]["uuid"])
    return render("_return_find.html", context(request, user, rows=rows, error=error, number=number, day=day,
                                                searched=bool(number or day)))


@router.get("/ui/returns/{receipt_uuid}", response_class=HTMLResponse)
def return_pick(request: Request, user: UiUser, receipt_uuid: str) -> Response:
    try:
        view, error = till_of(request).receipt(user, receipt_uuid[:64]), ""
        user.require(Role.CASHIER, "возврат", "returns")
    except DomainError as exc:
        view, error = None, message_of(exc, user.language)
    return render("_return_pick.html", context(request, user, r=view, error=error, idem=str(uuid_module.uuid4()),
                                                result=None))


@router.post("/ui/returns/{receipt_uuid}", response_class=HTMLResponse)
async def return_make(request: Request, user: UiUser, receipt_uuid: str) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    return await run_in_threadpool(_return_make, request, user, receipt_uuid[:64], dict(form))


def _return_make(request: Request, user: User, receipt_uuid: str, form: dict[str, Any]) -> Response:
    till = till_of(request)
    result = None
    error = ""
    view = None
    try:
        view = till.receipt(user, receipt_uuid)
        pairs = []
        for line in view["lines"]:
            raw = str(form.get(f"q{line['line_no']}", "")).strip()
            quantity = common.parse_form_quantity(raw, f"q{line['line_no']}", required=False)
            if quantity:
                pairs.append((line["line_no"], quantity))
        card = common.parse_form_money(str(form.get("card", "")), "card", required=False)
        scoped = common.idempotency_key(request, str(form.get("idem", "")))
        action = lambda: printing.make_return(till, user, receipt_uuid, pairs, card)  # noqa: E731 (printed as the API does)
        if scoped:
            status, body, _ = till.once(user, scoped, action, common.refusal)
            if status != 200:
                raise _Refused(body["error"])
            result = body
        else:
            result = action()
    except DomainError as exc:
        error = message_of(exc, user.language)
    except _Refused as refused:
        error = message_of(refused.error, user.language)
    return render("_return_pick.html", context(request, user, r=view, error=error, result=result,
                                                # a refused key would replay its refusal: a corrected form needs a new one
                                                idem=str(uuid_module.uuid4()) if error else str(form.get("idem", "")), form=form))


class _Refused(Exception):
    def __init__(self, error: dict[str, Any]):
        super().__init__(error.get("message_en"))
        self.error = error
