"""The till's JSON API (``/api/v1``): thin handlers over :class:`icecash.till.service.Till`.

Clients authenticate with ``Authorization: Bearer <token>`` from ``POST /api/v1/auth/login``,
or with the session cookie that the same call sets for the browser; a cookie-authenticated
request that changes anything must carry the session's ``X-CSRF-Token``.

Every POST that changes a receipt accepts an ``Idempotency-Key`` header: the same key from the
same user gets the first answer again instead of a second line or a second payment.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Annotated, Any, Callable, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from icecash import __version__
from icecash.core.errors import DomainError, InvalidInput, NotFound
from icecash.core.money import format_money, format_quantity, format_rate
from icecash.core.pricefile import parse_price_file
from icecash.core.roles import Role
from icecash.store.db import reading
from icecash.web import (
    STATUS_BY_KIND,
    FastJSONResponse,
    Money,
    Percent,
    Quantity,
    check_csrf,
    documented_by,
    request_token,
    run_quick,
)

from . import printing
from .catalogue import catalogue_size, item_by_code, price_options, search_items
from .service import Till, User
from .settings import SPECS
from .sync import ERROR_KINDS

SESSION_COOKIE = "icecash_session"
SECRET_MASK = "********"  # a secret setting's value as a cashier sees it

router = APIRouter(prefix="/api/v1")


def no_control_characters(value: str) -> str:
    """Refuse a text with control characters (C0 or DEL): no keyboard or scanner types them, and a
    NUL would cut a database pattern short (a search for "\0zzzz" would match everything)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("control characters are not allowed")
    return value


# A text query parameter: refused by name (422 invalid_field) when it holds a control character.
# Its Query(...) goes inside Annotated: as a default value, FastAPI would drop the validator.
PlainText = Annotated[str, AfterValidator(no_control_characters)]


class Strict(BaseModel):
    """A request body: unknown fields and control characters are refused by name."""

    model_config = ConfigDict(extra="forbid", str_max_length=4096)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return no_control_characters(value) if isinstance(value, str) else value


# --- auth ------------------------------------------------------------------------------------------


class Unauthenticated(DomainError):
    kind = "unauthenticated"


def till_of(request: Request) -> Till:
    return request.app.state.till


_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/v1/auth/login")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                       description="The browser session; changes also need the X-CSRF-Token header")


@documented_by(_bearer, _cookie)
async def current_user(request: Request) -> User:
    """The user behind the bearer token or the session cookie (then with a CSRF check).

    The header and cookie are read here; ``documented_by`` lists their two schemes in OpenAPI
    (Swagger's Authorize button) without FastAPI solving them on every request.

    Async so that a session the till's cache holds costs no trip to a worker thread; any other
    token is looked up in the database in one.
    """
    till = till_of(request)
    token, from_cookie = request_token(request, SESSION_COOKIE)
    user = None
    if token:
        user = till.cached_session(token) or await run_in_threadpool(till.authenticate, token)
    if user is None:
        raise Unauthenticated("unauthenticated", "Нужно войти в систему", "Log in first", field="authorization")
    check_csrf(request, from_cookie, user.csrf_token)
    return user


CurrentUser = Annotated[User, Depends(current_user)]



def once(request: Request, user: User, key: str | None, action: Callable[[], Any]) -> Any:
    """Run ``action`` once per (user, Idempotency-Key); a repeat gets the stored answer.

    The answer is a ready JSONResponse either way: the views are plain JSON already, and FastAPI
    would otherwise validate them against ``Any`` in another thread hop and encode them again.
    """
    if not key:
        return FastJSONResponse(action())
    if len(key) > 128:
        raise InvalidInput("bad_idempotency_key", "Idempotency-Key длиннее 128 символов", "Idempotency-Key over 128 characters",
                           field="Idempotency-Key")
    till = till_of(request)
    # A key answers only for the action it was first used with: the same key on /receipt/pay after
    # /receipt/scan must not replay the scan's 200 as if the payment had been made.
    key = hashlib.sha256(f"{request.method} {request.url.path}\n{key}".encode()).hexdigest()
    status, body, replayed = till.once(
        user, key, action, lambda exc: (STATUS_BY_KIND.get(exc.kind, 400), {"error": exc.as_dict()})
    )
    return FastJSONResponse(body, status_code=status, headers={"Idempotent-Replay": "true"} if replayed else None)


IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description="repeat-safe key for this action")]
# Bounded so a huge number is a 422 naming the parameter, not an SQLite overflow (500).
LineNo = Annotated[int, Path(ge=1, le=100_000)]
DB_INT_MAX = 2**31 - 1


class LoginIn(Strict):
    login: str = Field(max_length=64)
    password: str = Field(max_length=256)


class CodeLoginIn(Strict):
    code: str = Field(min_length=1, max_length=64)


def _user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "login": user.login, "name": user.name, "role": user.role.name.lower(),
            "role_level": int(user.role), "theme": user.theme, "language": user.language}


def _session_answer(request: Request, response: Response, token: str, user: User) -> dict[str, Any]:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return {"token": token, "csrf_token": user.csrf_token, "user": _user_json(user)}


@router.post("/auth/login", tags=["auth"], summary="Log in with login and password; returns a bearer token")
def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    token, user = till_of(request).login(body.login, body.password)
    return _session_answer(request, response, token, user)


@router.post("/auth/login-code", tags=["auth"], summary="Log in with a user card or code")
def login_code(body: CodeLoginIn, request: Request, response: Response) -> dict[str, Any]:
    token, user = till_of(request).login_by_code(body.code)
    return _session_answer(request, response, token, user)


@router.post("/auth/logout", tags=["auth"], summary="End this session")
def logout(request: Request, response: Response, user: CurrentUser) -> dict[str, Any]:
    till_of(request).logout(request_token(request, SESSION_COOKIE)[0])
    response.delete_cookie(SESSION_COOKIE)
    return {"ok": True}


@router.get("/auth/me", tags=["auth"], summary="Who is logged in")
def me(user: CurrentUser) -> dict[str, Any]:
    return {**_user_json(user), "csrf_token": user.csrf_token}


# --- the current receipt ---------------------------------------------------------------------------


class ScanIn(Strict):
    barcode: str = Field(max_length=256, description="what the scanner read: item barcode, scale barcode or card")
    quantity: Quantity | None = None


class AddLineIn(Strict):
    code: str | None = Field(default=None, max_length=32, description="catalogue code")
    barcode: str | None = Field(default=None, max_length=256)
    quantity: Quantity | None = Field(default=None, description="defaults to 1")
    price: Money | None = Field(default=None, description="a price within the item's min/max")
    price_option: str | None = Field(default=None, max_length=32, description="for multi-price items: 'base' or an option id")


class ChangeLineIn(Strict):
    quantity: Quantity | None = None
    price: Money | None = None
    discount_percent: Percent | None = None


class CardIn(Strict):
    number: str = Field(min_length=1, max_length=64)


class PayIn(Strict):
    cash: Money = Field(default=0, description="cash handed over (change is computed)")
    card: Money = Field(default=0, description="amount charged to the card")
    expected_version: int | None = Field(default=None, description="the receipt version the cashier saw")


# The receipt's everyday actions are short SQLite transactions: they run on the event loop
# (run_quick), and answer with ready JSON (quick) rather than through FastAPI's serializer.


def quick(action: Callable[[], Any]) -> Any:
    return run_quick(lambda: FastJSONResponse(action()))


@router.get("/receipt", tags=["receipt"], summary="The current receipt (404 when there is none)")
async def get_receipt(request: Request, user: CurrentUser) -> dict[str, Any]:
    def current() -> dict[str, Any]:
        view = till_of(request).current(user)
        if view is None:
            raise NotFound("no_receipt", "Нет открытого чека", "There is no open receipt", field="receipt")
        return view

    return await quick(current)


@router.post("/receipt", tags=["receipt"], summary="Open a receipt (returns the current one if open)")
async def open_receipt(request: Request, user: CurrentUser) -> dict[str, Any]:
    return await quick(lambda: till_of(request).open(user))


@router.post("/receipt/scan", tags=["receipt"], summary="A scan: item, scale barcode or discount card")
async def scan(body: ScanIn, request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    return await run_quick(lambda: once(request, user, key, lambda: till_of(request).scan(user, body.barcode, body.quantity)))


@router.post("/receipt/lines", tags=["receipt"], summary="Add a line by code or barcode")
async def add_line(body: AddLineIn, request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    return await run_quick(lambda: once(request, user, key, lambda: till_of(request).add_line(
        user, code=body.code, barcode=body.barcode, quantity=body.quantity, price=body.price, price_option=body.price_option,
    )))


@router.patch("/receipt/lines/{line_no}", tags=["receipt"], summary="Change quantity, price or manual discount")
async def change_line(line_no: LineNo, body: ChangeLineIn, request: Request, user: CurrentUser) -> dict[str, Any]:
    return await quick(lambda: till_of(request).change_line(
        user, line_no, quantity=body.quantity, price=body.price, discount_bp=body.discount_percent
    ))


@router.post("/receipt/lines/{line_no}/storno", tags=["receipt"], summary="Cancel one line (storno)")
async def storno(line_no: LineNo, request: Request, user: CurrentUser) -> dict[str, Any]:
    return await quick(lambda: till_of(request).storno(user, line_no))


@router.post("/receipt/lines/{line_no}/select", tags=["receipt"], summary="Move the selection to a line")
async def select_line(line_no: LineNo, request: Request, user: CurrentUser) -> dict[str, Any]:
    return await quick(lambda: till_of(request).select_line(user, line_no))


@router.put("/receipt/card", tags=["receipt"], summary="Apply a discount card to the whole receipt")
async def set_card(body: CardIn, request: Request, user: CurrentUser) -> dict[str, Any]:
    return await quick(lambda: till_of(request).set_card(user, body.number))


@router.delete("/receipt/card", tags=["receipt"], summary="Remove the discount card")
async def clear_card(request: Request, user: CurrentUser) -> dict[str, Any]:
    return await quick(lambda: till_of(request).clear_card(user))


@router.post("/receipt/defer", tags=["receipt"], summary="Put the receipt aside for later (any role)")
async def defer(request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    return await run_quick(lambda: once(request, user, key, lambda: till_of(request).defer(user)))


@router.post("/receipt/cancel", tags=["receipt"], summary="Cancel the receipt (kept and counted in the Z)")
async def cancel(request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    return await run_quick(lambda: once(request, user, key, lambda: till_of(request).cancel(user) or {"cancelled": None}))


@router.post("/receipt/pay", tags=["receipt"], summary="Pay by cash, card or both (cashier and up)")
def pay(body: PayIn, request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    till = till_of(request)
    if printing.client_for(till) is None:  # no printer set: paid, and the answer says nothing was printed
        return once(request, user, key, lambda: printing.no_printer_note(till.pay(user, body.cash, body.card, body.expected_version)))
    # Printed first, outside the idempotency record: a failed print is not remembered as the answer.
    printed = printing.print_before_pay(till, user, body.cash, body.card, body.expected_version)
    if printed is None:
        return once(request, user, key, lambda: till.pay(user, body.cash, body.card, body.expected_version))
    return once(request, user, key, lambda: printing.finish_paid(till, user, printed))


# --- finished and deferred receipts --------------------------------------------------------------


class ReturnLineIn(Strict):
    line_no: int = Field(ge=1, le=100_000)
    quantity: Quantity


class ReturnIn(Strict):
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=500)
    card: Money | None = Field(default=None, description="refund to card; default: as the sale was paid")


@router.get("/receipts/deferred", tags=["receipts"], summary="Deferred receipts (a seller sees their own)")
def deferred(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    return till_of(request).deferred(user)


@router.post("/receipts/{receipt_uuid}/load", tags=["receipts"], summary="Load a deferred receipt as the current one")
def load(receipt_uuid: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    return till_of(request).load_deferred(user, receipt_uuid)


@router.get("/receipts", tags=["receipts"], summary="Search finished receipts")
def find_receipts(
    request: Request, user: CurrentUser,
    date_from: date | None = None, date_to: date | None = None, number: int | None = Query(default=None, ge=1, le=DB_INT_MAX),
    kind: Literal["sale", "return"] | None = None, status: Literal["paid", "cancelled"] | None = None,
    limit: int = Query(default=50, ge=1, le=200), offset: int = Query(default=0, ge=0, le=DB_INT_MAX),
) -> list[dict[str, Any]]:
    return till_of(request).find_receipts(
        user, date_from=date_from, date_to=date_to, number=number, kind=kind, status=status, limit=limit, offset=offset
    )


@router.get("/receipts/last", tags=["receipts"], summary="The last paid receipt (for a copy)")
def last_receipt(request: Request, user: CurrentUser) -> dict[str, Any]:
    return till_of(request).last_receipt(user)


@router.get("/receipts/{receipt_uuid}", tags=["receipts"], summary="One receipt with its lines")
def get_one(receipt_uuid: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    return till_of(request).receipt(user, receipt_uuid)


@router.post("/receipts/{receipt_uuid}/return", tags=["receipts"], summary="Return lines of a paid sale (cashier and up)")
def make_return(receipt_uuid: str, body: ReturnIn, request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    pairs = [(line.line_no, line.quantity) for line in body.lines]
    return once(request, user, key, lambda: printing.make_return(till_of(request), user, receipt_uuid, pairs, body.card))


# --- cash, shift, reports ------------------------------------------------------------------------


class CashIn(Strict):
    amount: Money = Field(gt=0, description="above zero: the endpoint says the direction")
    comment: str = Field(default="", max_length=256)


@router.post("/cash/in", tags=["cash"], summary="Put cash into the drawer")
def cash_in(body: CashIn, request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    return once(request, user, key, lambda: printing.cash_move(till_of(request), user, abs(body.amount), body.comment))


@router.post("/cash/out", tags=["cash"], summary="Take cash out of the drawer")
def cash_out(body: CashIn, request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    return once(request, user, key, lambda: printing.cash_move(till_of(request), user, -abs(body.amount), body.comment))


@router.get("/shift", tags=["reports"], summary="Shift state: open since, hours, warn at 23 h, expired at 24 h")
def shift(request: Request, user: CurrentUser) -> dict[str, Any]:
    return till_of(request).shift_status(user)


@router.get("/reports/x", tags=["reports"], summary="X report: the open shift so far")
def x_report(request: Request, user: CurrentUser) -> dict[str, Any]:
    return till_of(request).x_report(user)


@router.post("/reports/z", tags=["reports"], summary="Z report: close the shift")
def z_report(request: Request, user: CurrentUser, key: IdemKey = None) -> Any:
    return once(request, user, key, lambda: printing.z_report(till_of(request), user))


# --- printing: the print service as the till sees it ---------------------------------------------------


@router.get("/printing", tags=["printing"], summary="The printer, its device state and receipts waiting on it (cashier and up)")
def printing_status(request: Request, user: CurrentUser) -> dict[str, Any]:
    return printing.status(till_of(request), user)


@router.post("/printing/reconcile", tags=["printing"],
             summary="Settle unfinished prints with the registrar: receipts it holds are marked paid (cashier and up)")
def printing_reconcile(request: Request, user: CurrentUser) -> dict[str, Any]:
    return printing.reconcile(till_of(request), user)


@router.post("/printing/release", tags=["printing"],
             summary="Make the current receipt editable again after a failed print the registrar does not hold")
def printing_release(request: Request, user: CurrentUser) -> dict[str, Any]:
    return printing.release(till_of(request), user)


@router.post("/receipts/{receipt_uuid}/release", tags=["printing"],
             summary="Release a receipt stuck in printing: its owner (cashier and up), or an admin for any user's",
             description=(
                 "The receipt (from `pending` of `GET /printing`) becomes editable again, still its owner's, open and "
                 "unpaid, once the registrar confirms it does not hold it: `409 already_fiscalised` if it does (then "
                 "`POST /printing/reconcile` marks it paid), `409 not_printing` if it waits for no print, "
                 "`403 forbidden` (field `uuid`) for a cashier releasing another user's receipt, `404 unknown_receipt`."))
def printing_release_one(receipt_uuid: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    return printing.release(till_of(request), user, receipt_uuid)


@router.post("/printing/x-report", tags=["printing"], summary="Print the X report (fiscal X on a registrar)")
def printing_x(request: Request, user: CurrentUser) -> dict[str, Any]:
    return printing.x_report(till_of(request), user)


@router.post("/printing/drawer", tags=["printing"], summary="Open the cash drawer (cashier and up)")
def printing_drawer(request: Request, user: CurrentUser) -> dict[str, Any]:
    return printing.drawer(till_of(request), user)


@router.post("/printing/copy", tags=["printing"], summary="Print a copy of the last paid receipt (cashier and up)")
def printing_copy_last(request: Request, user: CurrentUser) -> dict[str, Any]:
    return printing.copy(till_of(request), user)


@router.post("/receipts/{receipt_uuid}/copy", tags=["printing"], summary="Print a copy of a paid receipt (cashier and up)")
def printing_copy(receipt_uuid: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    return printing.copy(till_of(request), user, receipt_uuid)


@router.get("/reports/z", tags=["reports"], summary="Z reports by accounting date")
def z_list(request: Request, user: CurrentUser, date_from: date | None = None, date_to: date | None = None) -> list[dict[str, Any]]:
    return till_of(request).z_reports(user, date_from, date_to)


@router.get("/reports/z/{z_uuid}", tags=["reports"], summary="One Z report with its lines per item")
def z_one(z_uuid: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    return till_of(request).z_report_by_uuid(user, z_uuid)


# --- catalogue -------------------------------------------------------------------------------------


def _item_json(row: Any) -> dict[str, Any]:
    return {
        "code": row.code, "parent": row.parent_code, "is_item": bool(row.is_item), "name": row.name,
        "barcode": row.barcode, "price": format_money(row.price), "min_price": format_money(row.min_price),
        "max_price": format_money(row.max_price), "max_discount_percent": format_rate(row.max_discount_bp),
        "weighed": bool(row.weighed), "department": row.department, "vat": row.vat, "alcohol": bool(row.alcohol),
        "litres": format_quantity(row.litres_ml), "stock": format_quantity(row.stock),
        "no_discount": bool(row.no_discount),
    }


@router.get("/catalogue", tags=["catalogue"], summary="How many items and groups the till holds")
def catalogue_info(request: Request, user: CurrentUser) -> dict[str, Any]:
    with reading(till_of(request).engine) as conn:
        return catalogue_size(conn)


@router.get("/catalogue/items", tags=["catalogue"], summary="Search items and groups by code, barcode or name")
def catalogue_items(
    request: Request, user: CurrentUser, q: Annotated[PlainText, Query(max_length=128)] = "",
    group: str | None = Query(default=None, max_length=32, description="'' for the root, a group code for its children"),
    limit: int = Query(default=50, ge=1, le=200), offset: int = Query(default=0, ge=0, le=DB_INT_MAX),
) -> list[dict[str, Any]]:
    with reading(till_of(request).engine) as conn:
        return [_item_json(row) for row in search_items(conn, q, group, limit, offset)]


@router.get("/catalogue/items/{code}", tags=["catalogue"], summary="One item with its price options")
def catalogue_item(code: str, request: Request, user: CurrentUser) -> dict[str, Any]:
    with reading(till_of(request).engine) as conn:
        row = item_by_code(conn, code)
        options = [{**o, "price": format_money(o["price"])} for o in price_options(conn, row)]
        return {**_item_json(row), "price_options": options}


@router.post(
    "/catalogue/import", tags=["catalogue"],
    summary="Import a price file (.spr, zipped .spr or CSV) as the request body; all or nothing",
)
async def catalogue_import(request: Request, filename: str = Query(default="price.spr", max_length=256)) -> Any:
    user = await current_user(request)
    user.require(Role.ADMIN, "загрузка каталога", "importing the catalogue")
    content_type = request.headers.get("content-type", "")
    named = "filename" in request.query_params  # else the content tells .spr (zip, #IceCash, 17 fields) from CSV
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("no_file", "Нет файла в поле file", "No file in the 'file' field", field="file")
        data = await upload.read()
        filename, named = upload.filename or filename, named or bool(upload.filename)
    else:
        data = await request.body()
    if not data:
        raise InvalidInput("empty_file", "Файл пуст", "The file is empty", field="file")
    price_file = await run_in_threadpool(parse_price_file, data, filename if named else "")
    return await run_in_threadpool(till_of(request).import_price_file, user, price_file)


class DiscountCardIn(Strict):
    number: str = Field(min_length=1, max_length=64)
    percent: Percent
    name: str = Field(default="", max_length=128)
    text: str = Field(default="", max_length=256)
    closed: bool = Field(default=False, description="a closed card is refused at the till")


@router.post("/discount-cards", tags=["catalogue"], summary="Create, replace or close a discount card (admin)")
def add_card(body: DiscountCardIn, request: Request, user: CurrentUser) -> dict[str, Any]:
    till_of(request).add_discount_card(user, body.number, body.percent, body.name, body.text, body.closed)
    return {"number": body.number}


@router.get("/discount-cards", tags=["catalogue"], summary="Discount cards, open and closed (cashier and up)")
def list_cards(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    return [
        {"number": row.number, "percent": format_rate(row.rate_bp), "name": row.name, "text": row.text,
         "closed": bool(row.closed)}
        for row in till_of(request).discount_cards(user)
    ]


# --- settings and users ----------------------------------------------------------------------------


@router.get("/settings", tags=["admin"], summary="All settings by group, with labels and defaults")
def get_settings(request: Request, user: CurrentUser) -> dict[str, Any]:
    """A secret (the print service's client token) is shown to admins only: a cashier sees
    ``SECRET_MASK`` when it is set, "" when not."""
    user.require(Role.CASHIER, "просмотр настроек", "viewing settings")
    values = till_of(request).settings()
    groups: dict[str, list[dict[str, Any]]] = {}
    for spec in SPECS:
        value = values.get(spec.name, spec.default)
        entry = {"name": spec.name, "value": value, "default": spec.default, "label": spec.label_ru, "label_en": spec.label_en}
        if spec.secret:
            entry["sensitive"] = True
            if user.role < Role.ADMIN and value:
                entry["value"] = SECRET_MASK
        groups.setdefault(spec.group, []).append(entry)
    return groups


@router.patch("/settings", tags=["admin"], summary="Change settings: all valid or none stored (admin)")
def patch_settings(body: dict[str, str | int | bool | None], request: Request, user: CurrentUser) -> dict[str, Any]:
    return till_of(request).update_settings(user, body)


class UserIn(Strict):
    login: str = Field(max_length=64)
    password: str = Field(max_length=256)
    role: Literal["seller", "cashier", "admin"]
    name: str = Field(default="", max_length=128)
    code: str | None = Field(default=None, max_length=64)
    theme: Literal["light", "dark"] = "light"
    language: Literal["ru", "en"] = "ru"


class UserPatch(Strict):
    password: str | None = Field(default=None, max_length=256)
    role: Literal["seller", "cashier", "admin"] | None = None
    name: str | None = Field(default=None, max_length=128)
    code: str | None = Field(default=None, max_length=64)
    theme: Literal["light", "dark"] | None = None
    language: Literal["ru", "en"] | None = None
    active: bool | None = None


@router.get("/users", tags=["admin"], summary="Users (admin)")
def list_users(request: Request, user: CurrentUser) -> list[dict[str, Any]]:
    return [
        {"id": row.id, "login": row.login, "name": row.name, "role": Role(row.role).name.lower(), "code": row.code,
         "theme": row.theme, "language": row.language, "active": bool(row.active)}
        for row in till_of(request).list_users(user)
    ]


@router.post("/users", tags=["admin"], summary="Create a user (admin)", status_code=201)
def create_user(body: UserIn, request: Request, user: CurrentUser) -> dict[str, Any]:
    user_id = till_of(request).create_user(
        user, body.login, body.password, Role[body.role.upper()], body.name, body.code, body.theme, body.language
    )
    return {"id": user_id, "login": body.login}


@router.patch("/users/{user_id}", tags=["admin"], summary="Change a user (admin; anyone their own password/theme)")
def patch_user(user_id: Annotated[int, Path(ge=1, le=DB_INT_MAX)], body: UserPatch, request: Request, user: CurrentUser) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name != "code":  # only the code may be cleared; the rest are NOT NULL
            raise InvalidInput("null_field", f"Поле {name} не может быть пустым (null)", f"Field {name} may not be null",
                               field=name)
    if "role" in changes and changes["role"] is not None:
        changes["role"] = Role[changes["role"].upper()]
    till_of(request).update_user(user, user_id, changes)
    return {"id": user_id}


# --- sync with the central server (icecash.till.sync) ----------------------------------------------------


class SecretIn(Strict):
    secret: str = Field(min_length=8, max_length=256)


def _sync_of(request: Request) -> Any:
    return request.app.state.sync


def _sync_status_description() -> str:
    kinds = "\n".join(f"- `{kind}`: {meaning}" for kind, meaning in ERROR_KINDS.items())
    return (
        "`state`: `off` (not set up), `syncing` (a backlog drains, a price list loads, or the jobs of a "
        "\"sync now\" are still to run: `requested` lists them, `running_job` is the job running now), "
        "`suspended`, `error` or `ok`.\n\n"
        "`error_kind` is the kind of the latest failure among the jobs whose last run failed (`error_job` names the job; "
        "`null` when no job's last run failed); each job in `jobs` has its own `error_kind` next to its `last_error` text. "
        f"The kinds:\n\n{kinds}"
    )


@router.get("/sync/status", tags=["sync"], summary="Sync with the central server: state, backlog, progress, errors",
            description=_sync_status_description())
def sync_status(request: Request, user: CurrentUser) -> dict[str, Any]:
    return _sync_of(request).status()


@router.post("/sync/now", tags=["sync"], summary="Sync now: every exchange job at once (admin)",
             description="Answers the status: `state` is `syncing` (with the jobs in `requested`) until each job has run.")
def sync_now(request: Request, user: CurrentUser) -> dict[str, Any]:
    user.require(Role.ADMIN, "синхронизация", "syncing")
    agent = _sync_of(request)
    agent.sync_now()
    return agent.status()


@router.put("/sync/secret", tags=["sync"], summary="Set this till's secret from the central server (admin)")
def sync_secret(body: SecretIn, request: Request, user: CurrentUser) -> dict[str, Any]:
    user.require(Role.ADMIN, "настройка обмена", "setting up the exchange")
    _sync_of(request).set_secret(body.secret)
    return {"ok": True}


@router.get("/health", tags=["service"], summary="Liveness: no login needed")
def health() -> dict[str, Any]:
    return {"status": "ok", "service": "till", "version": __version__}
