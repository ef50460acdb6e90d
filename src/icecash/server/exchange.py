"""The exchange API for tills (``/api/v1/exchange``): what the till's sync agent calls.

A till logs in with its firm (``regid``), shop (``idplace``), number (``nkassa``) and its own
secret, and gets a bearer token for 24 hours. Money travels as integer kopecks and quantities as
integer thousandths: the exchange is between machines, and integers are exact.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from icecash import __version__
from icecash.core.money import MAX_MONEY, MAX_QUANTITY
from icecash.web import FastJSONResponse, bearer_token, documented_by, extend_openapi

from .service import Server, TillId, Unauthenticated

router = APIRouter(prefix="/api/v1/exchange", tags=["exchange"])

MAX_BATCH = 1000
# Texts refuse control characters by pattern (checked in pydantic's core: a batch of 500 lines
# would spend most of its validation time in a Python validator per field).
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


def _text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=NO_CONTROL)]


Kopecks = Annotated[int, Field(strict=True, ge=0, le=MAX_MONEY)]
Thousandths = Annotated[int, Field(strict=True, ge=0, le=MAX_QUANTITY)]
Count = Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]
Uuid = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")]
Short = _text(64)
Name = _text(256)
Code = _text(32, 1)
VatCode = _text(8)
Marks = _text(16)
ShiftId = _text(36)
VersionText = _text(32)
PrinterName = _text(128)
Secret = _text(256, 1)


class Wire(BaseModel):
    """A message from a till: unknown fields refused by name; texts without control characters.

    Times are the till's wall clock: a zone, if sent, is dropped by the service (what the receipt
    printed is what counts), except the heartbeat's ``clock``, which measures the till's skew.
    """

    model_config = ConfigDict(extra="forbid", str_max_length=4096)


class AuthIn(Wire):
    regid: Short
    idplace: Annotated[int, Field(strict=True, ge=1, le=999_999_999)]
    nkassa: Annotated[int, Field(strict=True, ge=1, le=999_999)]
    secret: Secret


class HeartbeatIn(Wire):
    version: VersionText = ""
    printer: PrinterName = ""
    backlog: Count = 0
    clock: datetime | None = None


class LineIn(Wire):
    line_no: Annotated[int, Field(strict=True, ge=1, le=100_000)]
    code: Code
    name: Name
    barcode: Short = ""
    price: Kopecks
    quantity: Thousandths
    storno: bool = False
    amount: Kopecks
    discount: Kopecks
    total: Kopecks
    final_price: Kopecks
    vat: VatCode
    vat_amount: Kopecks
    marks: Marks = ""


class ReceiptIn(Wire):
    uuid: Uuid
    kind: Literal["sale", "return"]
    status: Literal["paid", "cancelled"]
    number: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]
    idplace: Annotated[int, Field(strict=True, ge=1, le=999_999_999)]
    nkassa: Annotated[int, Field(strict=True, ge=1, le=999_999)]
    shift_uuid: ShiftId = ""
    return_of: Uuid | None = None
    created_at: datetime
    closed_at: datetime
    # the till's trading day (its begin_time rule); a till that does not send it gets the default rule
    business_date: date | None = None
    cashier: Short = ""
    seller: Short = ""
    card_number: Short | None = None
    card_rate_bp: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 0
    amount: Kopecks
    discount: Kopecks
    total: Kopecks
    cash: Kopecks
    card: Kopecks
    cash_given: Kopecks = 0
    change: Kopecks = 0
    comment: Name = ""
    lines: Annotated[list[LineIn], Field(max_length=1000)]


class ReceiptBatch(Wire):
    receipts: Annotated[list[ReceiptIn], Field(min_length=1, max_length=MAX_BATCH)]


class ZLineIn(Wire):
    code: Code
    name: Name
    sold_quantity: Thousandths
    sold_total: Kopecks
    returned_quantity: Thousandths
    returned_total: Kopecks


class ZIn(Wire):
    uuid: Uuid
    number: Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
    idplace: Annotated[int, Field(strict=True, ge=1, le=999_999_999)]
    nkassa: Annotated[int, Field(strict=True, ge=1, le=999_999)]
    opened_at: datetime
    closed_at: datetime
    accounting_date: date
    sales_count: Count
    returns_count: Count
    cancels_count: Count
    sales_total: Kopecks
    returns_total: Kopecks
    cancels_total: Kopecks
    cash: Annotated[int, Field(strict=True, ge=-MAX_MONEY, le=MAX_MONEY)]
    card: Annotated[int, Field(strict=True, ge=-MAX_MONEY, le=MAX_MONEY)]
    sales_discount: Kopecks
    returns_discount: Kopecks
    cash_in: Kopecks
    cash_out: Kopecks
    revenue: Annotated[int, Field(strict=True, ge=-MAX_MONEY, le=MAX_MONEY)]
    lines: Annotated[list[ZLineIn], Field(max_length=100_000)]


class ZBatch(Wire):
    reports: Annotated[list[ZIn], Field(min_length=1, max_length=100)]


def server_of(request: Request) -> Server:
    return request.app.state.server


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/v1/exchange/auth")


@documented_by(_bearer)
async def current_till(request: Request) -> TillId:
    token = bearer_token(request)
    till = await run_in_threadpool(server_of(request).till_by_token, token) if token else None
    if till is None:
        raise Unauthenticated("unauthenticated", "Касса не вошла: нужен токен из /exchange/auth",
                              "The till is not logged in: get a token from /exchange/auth", field="authorization")
    return till


CurrentTill = Annotated[TillId, Depends(current_till)]


@router.post("/auth", summary="A till logs in with regid, idplace, nkassa and its secret; returns a bearer token")
def auth(body: AuthIn, request: Request) -> dict[str, Any]:
    token, till, expires = server_of(request).till_login(body.regid, body.idplace, body.nkassa, body.secret,
                                                         client_of(request))
    return {"token": token, "expires_at": expires.isoformat() + "Z", "regid": till.regid, "idplace": till.idplace,
            "nkassa": till.nkassa, "server_version": __version__}


@router.post("/heartbeat", summary="The till's state: version, printer, backlog, clock; answers the change counters")
def heartbeat(body: HeartbeatIn, request: Request, till: CurrentTill) -> dict[str, Any]:
    return server_of(request).heartbeat(till, body.version, body.printer, body.backlog, body.clock)


@router.post("/receipts", summary="Upload finished receipts (idempotent on uuid; a bad batch is refused whole)",
             openapi_extra={"x-body-model": "ReceiptBatch"})
async def upload_receipts(request: Request, till: CurrentTill) -> Any:
    # The hot path: the body goes straight to pydantic's JSON validator (one pass in Rust) instead of
    # json.loads and then validation; the schema is the same ReceiptBatch (see document_bodies).
    raw = await request.body()
    try:
        body = ReceiptBatch.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    # plain dicts of the validated values (a model_dump would serialise each of 600 objects again)
    batch = [{**r.__dict__, "lines": [line.__dict__ for line in r.lines]} for r in body.receipts]
    return FastJSONResponse(await run_in_threadpool(server_of(request).ingest_receipts, till, batch))


def document_bodies(app: Any) -> None:
    """Put the request bodies read by hand (``x-body-model``) into the OpenAPI document."""

    def add_bodies(schema: dict[str, Any]) -> None:
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        models = {"ReceiptBatch": ReceiptBatch}
        for operations in schema["paths"].values():
            for operation in operations.values():
                name = operation.pop("x-body-model", None)
                if name is None:
                    continue
                model_schema = models[name].model_json_schema(ref_template="#/components/schemas/{model}")
                for def_name, definition in model_schema.pop("$defs", {}).items():
                    components.setdefault(def_name, definition)
                components[name] = model_schema
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}

    extend_openapi(app, add_bodies)


@router.post("/z", summary="Upload Z reports (refused when the lines do not sum to the totals)")
def upload_z(body: ZBatch, request: Request, till: CurrentTill) -> dict[str, Any]:
    return server_of(request).ingest_z(till, [z.model_dump() for z in body.reports])


@router.get("/price", summary="The till's price list: full, or the changes since a version")
def price(request: Request, till: CurrentTill,
          since: Annotated[int, Query(ge=0, le=2**62)] = 0,
          list_name: Annotated[str | None, Query(alias="list", max_length=64)] = None) -> Any:
    return FastJSONResponse(server_of(request).price_for_till(till, since, list_name))


@router.get("/promotions", summary="Active promotions for the till's shop and goods lists, if the counter changed")
def get_promotions(request: Request, till: CurrentTill, since: Annotated[int, Query(ge=-1, le=2**62)] = -1) -> dict[str, Any]:
    return server_of(request).promotions_for_till(till, since)


@router.get("/variables", summary="The firm's replicated variables, if the counter changed")
def get_variables(request: Request, till: CurrentTill, since: Annotated[int, Query(ge=-1, le=2**62)] = -1) -> dict[str, Any]:
    return server_of(request).variables_for_till(till, since)
