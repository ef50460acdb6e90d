"""The back-office (1C) and feeder API (``/api/v1/firms/{regid}/…``) for people and their programs.

A firm's admin (or the operator) logs in at ``POST /api/v1/auth/login`` and sends the bearer
token; viewers may read. Z reports as JSON or in the original XML shape, receipts with keyset
paging, price lists (``.spr``/CSV file or JSON), replicated variables, promotions, files.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from icecash.core.errors import InvalidInput
from icecash.core.money import MAX_QUANTITY
from icecash.core.promo import PromoSyntaxError
from icecash.core.pricefile import CatalogueRow, ExtraBarcodeRow, PriceFile, PriceHeader, StockMode, parse_price_file
from icecash.core.vat import parse_vat
from icecash.web import FastJSONResponse, _field_of, check_csrf, documented_by, request_token

from .exchange import Kopecks, Thousandths, client_of, server_of
from .promotions import simulate, syntax_error_response
from .service import Actor, Unauthenticated
from .xml import z_to_xml

router = APIRouter(prefix="/api/v1")
SESSION_COOKIE = "icecash_server_session"
PRICE_BODY_LIMIT = 256 << 20

_bearer = HTTPBearer(auto_error=False, description="The token from POST /api/v1/auth/login")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The admin pages' session")


@documented_by(_bearer, _cookie)
async def current_actor(request: Request) -> Actor:
    """The person behind the bearer token or the session cookie (a change by cookie needs the CSRF header)."""
    token, from_cookie = request_token(request, SESSION_COOKIE)
    actor = await run_in_threadpool(server_of(request).authenticate, token) if token else None
    if actor is None:
        raise Unauthenticated("unauthenticated", "Нужно войти в систему", "Log in first", field="authorization")
    check_csrf(request, from_cookie, actor.csrf_token)
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]
Regid = Annotated[str, Path(max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=20_000)


class LoginIn(Strict):
    login: str = Field(max_length=64)
    password: str = Field(max_length=256)


@router.post("/auth/login", tags=["auth"], summary="A person logs in; returns a bearer token")
def login(body: LoginIn, request: Request, response: Response) -> dict[str, Any]:
    token, actor = server_of(request).login(body.login, body.password, client_of(request))
    return {"token": token, "csrf_token": actor.csrf_token,
            "user": {"login": actor.login, "name": actor.name, "role": actor.role}}


@router.post("/auth/logout", tags=["auth"], summary="End this session")
def logout(request: Request, actor: CurrentActor) -> dict[str, Any]:
    server_of(request).logout(request_token(request, SESSION_COOKIE)[0])
    return {"ok": True}


@router.get("/health", tags=["service"], summary="Liveness: no login needed")
def health() -> dict[str, Any]:
    from icecash import __version__

    return {"status": "ok", "service": "server", "version": __version__}


# --- Z reports ---------------------------------------------------------------------------------------


@router.get("/firms/{regid}/z", tags=["back office"], summary="Z reports by accounting date and export state")
def z_list(regid: Regid, request: Request, actor: CurrentActor, date_from: date | None = None, date_to: date | None = None,
           exported: bool | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[dict[str, Any]]:
    return server_of(request).z_list(actor, regid, date_from, date_to, exported, limit)


@router.get("/firms/{regid}/z/{z_uuid}", tags=["back office"], summary="One Z report with its lines (JSON)")
def z_one(regid: Regid, z_uuid: Annotated[str, Path(max_length=36)], request: Request, actor: CurrentActor) -> dict[str, Any]:
    return server_of(request).z_one(actor, regid, z_uuid)


@router.get("/firms/{regid}/z/{z_uuid}/xml", tags=["back office"], summary="One Z report in the original XML shape")
def z_xml(regid: Regid, z_uuid: Annotated[str, Path(max_length=36)], request: Request, actor: CurrentActor) -> Response:
    return Response(z_to_xml(server_of(request).z_one(actor, regid, z_uuid)), media_type="application/xml; charset=utf-8")


class ExportedIn(Strict):
    uuids: Annotated[list[Annotated[str, Field(max_length=36)]], Field(min_length=1, max_length=1000)]
    exported: bool = True


@router.post("/firms/{regid}/z/exported", tags=["back office"], summary="Mark Z reports exported (or not)")
def z_exported(regid: Regid, body: ExportedIn, request: Request, actor: CurrentActor) -> dict[str, Any]:
    return {"marked": server_of(request).mark_exported(actor, regid, body.uuids, body.exported)}


# --- receipts ----------------------------------------------------------------------------------------


@router.get("/firms/{regid}/receipts", tags=["back office"], summary="Receipts by date, shop and till, paged by id")
def receipts(regid: Regid, request: Request, actor: CurrentActor, date_from: date | None = None, date_to: date | None = None,
             idplace: Annotated[int | None, Query(ge=1, le=999_999_999)] = None,
             nkassa: Annotated[int | None, Query(ge=1, le=999_999)] = None,
             after: Annotated[int, Query(ge=0, le=2**62)] = 0, limit: Annotated[int, Query(ge=1, le=1000)] = 100,
             lines: bool = True) -> Any:
    return FastJSONResponse(server_of(request).receipts_page(
        actor, regid, date_from=date_from, date_to=date_to, idplace=idplace, nkassa=nkassa, after=after, limit=limit,
        with_lines=lines))


@router.get("/firms/{regid}/receipts/{receipt_uuid}", tags=["back office"], summary="One receipt with its lines")
def receipt_one(regid: Regid, receipt_uuid: Annotated[str, Path(max_length=36)], request: Request,
                actor: CurrentActor) -> dict[str, Any]:
    return server_of(request).receipt_one(actor, regid, receipt_uuid)


# --- price lists ---------------------------------------------------------------------------------------


class PriceRowIn(Strict):
    code: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_\-]+$")
    name: str = Field(min_length=1, max_length=256)
    is_item: bool = True
    parent_code: str | None = Field(default=None, max_length=32)
    barcode: str = Field(default="", max_length=64)
    price: Kopecks = 0
    min_price: Kopecks = 0
    max_price: Kopecks = 0
    max_discount_bp: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 0
    weighed: bool = False
    department: Annotated[int, Field(strict=True, ge=0, le=2_147_483_647)] = 0
    vat: str | None = Field(default=None, max_length=8,
                            description="VAT rate; null or left out: an item the list holds keeps its rate, "
                                        "a new one gets each till's default")
    alcohol: bool = False
    litres_ml: Annotated[int, Field(strict=True, ge=0, le=2_147_483_647)] = 0
    stock: Thousandths = 0
    no_discount: bool | None = Field(default=None,
                                     description="no card, manual or promotion discount on this item; null or left "
                                                 "out: an item keeps its mark, a new one has none")
    extras: Annotated[list[tuple[str, str, Kopecks, Thousandths]], Field(max_length=100)] = []


class PriceListIn(Strict):
    replace: bool = True
    # what each row's stock does to the stock the list holds: overwrite, leave alone, add (a delivery)
    stock_mode: StockMode = StockMode.CLEAR
    rows: Annotated[list[PriceRowIn], Field(max_length=500_000)]


@router.put("/firms/{regid}/price-lists/{name}", tags=["back office"],
            summary="Push a price list: a .spr/.zip/.csv file body, or JSON {replace, stock_mode, rows}")
async def push_price(regid: Regid, name: Annotated[str, Path(max_length=64)], request: Request,
                     actor: CurrentActor) -> dict[str, Any]:
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        try:
            parsed = PriceListIn.model_validate_json(body)
        except ValueError as exc:
            first = exc.errors()[0] if hasattr(exc, "errors") else {"loc": ("body",), "msg": str(exc)}
            loc = _field_of(tuple(first.get("loc", ())))
            raise InvalidInput("invalid_field", f"Поле {loc}: {first.get('msg')}", f"Field {loc}: {first.get('msg')}",
                               field=loc or "body") from None
        price_file = _price_file_of(parsed)
    else:
        if not body.strip():
            raise InvalidInput("empty_file", "Файл прайса пуст", "The price file is empty", field="file")
        filename = request.query_params.get("filename", "price.spr")
        price_file = await run_in_threadpool(parse_price_file, body, filename)
    return await run_in_threadpool(server_of(request).push_price_list, actor, regid, name, price_file)


def _price_file_of(parsed: PriceListIn) -> PriceFile:
    rows, extras = [], []
    for i, r in enumerate(parsed.rows):
        vat = parse_vat(r.vat, field=f"rows[{i}].vat") if r.vat else None
        rows.append(CatalogueRow(i + 1, r.code, r.barcode, r.name, r.is_item, r.parent_code, r.price, r.min_price,
                                 r.max_price, r.max_discount_bp, r.weighed, r.department, vat, r.alcohol, r.litres_ml,
                                 r.stock, no_discount=r.no_discount))
        for barcode, ename, eprice, coefficient in r.extras:
            extras.append(ExtraBarcodeRow(i + 1, r.code, barcode, ename, eprice, coefficient))
    return PriceFile(PriceHeader(parsed.replace, parsed.stock_mode), rows, extras, "json")


@router.get("/firms/{regid}/price-lists", tags=["back office"], summary="The firm's price lists and their versions")
def price_lists(regid: Regid, request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    return server_of(request).price_lists_of(actor, regid)


# --- variables, promotions, goods lists -------------------------------------------------------------------


class VariableIn(Strict):
    value: str = Field(max_length=4096)


@router.put("/firms/{regid}/variables/{name}", tags=["feeders"], summary="Set a replicated variable (admin or feeder)")
def put_variable(regid: Regid, name: Annotated[str, Path(max_length=64)], body: VariableIn, request: Request,
                 actor: CurrentActor) -> dict[str, Any]:
    return {"version": server_of(request).set_variable(actor, regid, name, body.value)}


@router.delete("/firms/{regid}/variables/{name}", tags=["feeders"], summary="Delete a replicated variable")
def delete_variable(regid: Regid, name: Annotated[str, Path(max_length=64)], request: Request,
                    actor: CurrentActor) -> dict[str, Any]:
    return {"version": server_of(request).set_variable(actor, regid, name, None)}


@router.get("/firms/{regid}/variables", tags=["feeders"], summary="The firm's replicated variables")
def get_variables(regid: Regid, request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    return server_of(request).list_variables(actor, regid)


class PromotionIn(Strict):
    name: str = Field(max_length=128)
    date_from: date | None = None
    date_to: date | None = None
    time_from: str = Field(default="00:00:00", max_length=8)
    time_to: str = Field(default="23:59:59", max_length=8)
    weekdays: str = Field(default="1111111", max_length=7)
    active: bool = True
    places: str = Field(default="", max_length=2000)
    if_text: str = Field(default="", max_length=20_000)
    then_text: str = Field(default="", max_length=20_000)


@router.get("/firms/{regid}/promotions", tags=["back office"], summary="The firm's promotions")
def list_promotions(regid: Regid, request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    return server_of(request).list_promotions(actor, regid)


@router.post("/firms/{regid}/promotions", tags=["back office"], summary="Create a promotion", status_code=201)
def create_promotion(regid: Regid, body: PromotionIn, request: Request, actor: CurrentActor) -> dict[str, Any]:
    try:
        return {"id": server_of(request).save_promotion(actor, regid, body.model_dump())}
    except PromoSyntaxError as error:  # 422 with details.line and details.column
        return syntax_error_response(error)  # type: ignore[return-value]


@router.put("/firms/{regid}/promotions/{promotion_id}", tags=["back office"], summary="Change a promotion")
def change_promotion(regid: Regid, promotion_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: PromotionIn,
                     request: Request, actor: CurrentActor) -> dict[str, Any]:
    try:
        return {"id": server_of(request).save_promotion(actor, regid, body.model_dump(), promotion_id)}
    except PromoSyntaxError as error:
        return syntax_error_response(error)  # type: ignore[return-value]


class SampleLineIn(Strict):
    code: str = Field(min_length=1, max_length=32)
    quantity: Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)] = 1000
    price: Kopecks | None = None
    storno: bool = False


class DraftIn(PromotionIn):
    name: str = Field(default="", max_length=128)
    id: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None


class SimulateIn(Strict):
    lines: Annotated[list[SampleLineIn], Field(min_length=1, max_length=500)]
    price_list: str | None = Field(default=None, max_length=64)
    idplace: Annotated[int, Field(ge=1, le=999_999_999)] | None = None
    nkassa: Annotated[int, Field(ge=1, le=999_999)] = 1
    moment: datetime | None = None
    card: str = Field(default="", max_length=64)
    card_rate_bp: Annotated[int, Field(strict=True, ge=0, le=10_000)] = 0
    bonus_card: str = Field(default="", max_length=64)
    variables: Annotated[dict[str, Annotated[str, Field(max_length=4096)]], Field(max_length=200)] = {}
    promotion_ids: Annotated[list[int], Field(max_length=10_000)] | None = None
    draft: DraftIn | None = None


@router.post("/firms/{regid}/promotions/simulate", tags=["back office"],
             summary="Run the firm's promotions (and an unsaved draft) on a sample receipt: calculation, reasons, problems")
def simulate_promotions(regid: Regid, body: SimulateIn, request: Request, actor: CurrentActor) -> dict[str, Any]:
    sample = body.model_dump()
    if sample["moment"] is not None:
        sample["moment"] = sample["moment"].replace(tzinfo=None)  # the shop's wall clock
    try:
        return simulate(server_of(request), actor, regid, sample)
    except PromoSyntaxError as error:  # the draft does not parse
        return syntax_error_response(error)  # type: ignore[return-value]


@router.delete("/firms/{regid}/promotions/{promotion_id}", tags=["back office"], summary="Delete a promotion")
def delete_promotion(regid: Regid, promotion_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request,
                     actor: CurrentActor) -> dict[str, Any]:
    server_of(request).delete_promotion(actor, regid, promotion_id)
    return {"deleted": promotion_id}


class GoodsListIn(Strict):
    codes: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=100_000)]


@router.put("/firms/{regid}/goods-lists/{name}", tags=["back office"], summary="Set a goods list for promotions")
def put_goods_list(regid: Regid, name: Annotated[str, Path(max_length=64)], body: GoodsListIn, request: Request,
                   actor: CurrentActor) -> dict[str, Any]:
    server_of(request).set_goods_list(actor, regid, name, body.codes)
    return {"name": name, "codes": len(set(body.codes))}


# --- files -------------------------------------------------------------------------------------------------


@router.get("/firms/{regid}/files", tags=["files"], summary="The firm's stored files")
def list_files(regid: Regid, request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    return server_of(request).list_files(actor, regid)


@router.put("/firms/{regid}/files/{name}", tags=["files"], summary="Store a file (the body; up to 16 MiB)")
async def put_file(regid: Regid, name: Annotated[str, Path(max_length=200)], request: Request,
                   actor: CurrentActor) -> dict[str, Any]:
    content = await request.body()
    return await run_in_threadpool(server_of(request).put_file, actor, regid, name, content)


@router.get("/firms/{regid}/files/{name}", tags=["files"], summary="Download a file")
def get_file(regid: Regid, name: Annotated[str, Path(max_length=200)], request: Request, actor: CurrentActor) -> Response:
    content, digest = server_of(request).get_file(actor, regid, name)
    return Response(content, media_type="application/octet-stream",
                    headers={"ETag": f'"{digest}"', "X-Content-Type-Options": "nosniff",
                             "Content-Disposition": "attachment"})


@router.delete("/firms/{regid}/files/{name}", tags=["files"], summary="Delete a file")
def delete_file(regid: Regid, name: Annotated[str, Path(max_length=200)], request: Request,
                actor: CurrentActor) -> dict[str, Any]:
    server_of(request).delete_file(actor, regid, name)
    return {"deleted": name}


# --- place groups and till groups ----------------------------------------------------------------------------


class PlaceGroupIn(Strict):
    idplaces: Annotated[list[Annotated[int, Field(strict=True, ge=1, le=999_999_999)]], Field(max_length=100_000)]


class TillGroupIn(Strict):
    members: Annotated[list[tuple[Annotated[int, Field(strict=True, ge=1, le=999_999_999)],
                                  Annotated[int, Field(strict=True, ge=1, le=999_999)]]], Field(max_length=100_000)]


class BindIn(Strict):
    price_list: str = Field(min_length=1, max_length=64)


@router.get("/firms/{regid}/groups", tags=["back office"], summary="Place groups and till groups")
def groups(regid: Regid, request: Request, actor: CurrentActor) -> dict[str, Any]:
    return server_of(request).groups_of(actor, regid)


@router.put("/firms/{regid}/place-groups/{name}", tags=["back office"],
            summary="Set a place group (shops by idplace; IF_PLACE_IN GROUPS targets it)")
def put_place_group(regid: Regid, name: Annotated[str, Path(max_length=64)], body: PlaceGroupIn, request: Request,
                    actor: CurrentActor) -> dict[str, Any]:
    server_of(request).set_place_group(actor, regid, name, body.idplaces)
    return {"name": name, "idplaces": sorted(set(body.idplaces))}


@router.delete("/firms/{regid}/place-groups/{name}", tags=["back office"], summary="Delete a place group")
def delete_place_group(regid: Regid, name: Annotated[str, Path(max_length=64)], request: Request,
                       actor: CurrentActor) -> dict[str, Any]:
    server_of(request).set_place_group(actor, regid, name, None)
    return {"deleted": name}


@router.put("/firms/{regid}/till-groups/{name}", tags=["back office"], summary="Set a till group ([idplace, nkassa] pairs)")
def put_till_group(regid: Regid, name: Annotated[str, Path(max_length=64)], body: TillGroupIn, request: Request,
                   actor: CurrentActor) -> dict[str, Any]:
    server_of(request).set_till_group(actor, regid, name, body.members)
    return {"name": name, "members": len(set(body.members))}


@router.delete("/firms/{regid}/till-groups/{name}", tags=["back office"], summary="Delete a till group")
def delete_till_group(regid: Regid, name: Annotated[str, Path(max_length=64)], request: Request,
                      actor: CurrentActor) -> dict[str, Any]:
    server_of(request).set_till_group(actor, regid, name, None)
    return {"deleted": name}


@router.post("/firms/{regid}/till-groups/{name}/price-list", tags=["back office"],
             summary="Bind every till of a till group to a named price list")
def bind_till_group(regid: Regid, name: Annotated[str, Path(max_length=64)], body: BindIn, request: Request,
                    actor: CurrentActor) -> dict[str, Any]:
    return {"bound": server_of(request).bind_till_group(actor, regid, name, body.price_list)}
