"""The print service's JSON API (``/api/v1``): printers, jobs, receipts, fiscal operations, tokens.

Clients authenticate with ``Authorization: Bearer <token>``: a till's client token (made by the
admin) or an admin session token from ``POST /api/v1/auth/login``. The admin web page uses the
same session in a cookie; a cookie-authenticated change must carry ``X-CSRF-Token``.

Money is integer kopecks and quantities integer thousandths. A device failure answers 502 with
``{"error": {code, field, message, message_en, details}}`` — Russian and English, never swallowed.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.security import APIKeyCookie, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from icecash import __version__
from icecash.core.errors import Forbidden, NotFound
from icecash.web import CSRF_HEADER, SAFE_METHODS, FastJSONResponse, documented_by, request_token

from . import devices
from .service import Client, PrintService, same_csrf

SESSION_COOKIE = "printd_session"

router = APIRouter(prefix="/api/v1")


def service_of(request: Request) -> PrintService:
    return request.app.state.printd


_bearer = HTTPBearer(auto_error=False, description="A client token, or an admin session from POST /api/v1/auth/login")
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The admin page's session (changes need X-CSRF-Token)")


def client_of(request: Request, token: str | None = None) -> Client:
    service = service_of(request)
    from_cookie = False
    if not token:
        token, from_cookie = request_token(request, SESSION_COOKIE)
    client = service.authenticate(token)
    if from_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or request.query_params.get("csrf")
        if not same_csrf(client, sent):
            raise Forbidden("csrf", "Запрос отклонён: нет CSRF-токена сессии", "Refused: missing CSRF token", field=CSRF_HEADER)
    return client


@documented_by(_bearer, _cookie)
async def current_client(request: Request) -> Client:
    return await run_in_threadpool(client_of, request)


async def admin_client(client: Client = Depends(current_client)) -> Client:
    client.require_admin()
    return client


AnyClient = Annotated[Client, Depends(current_client)]
AdminClient = Annotated[Client, Depends(admin_client)]
PrinterName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=8192)


class LoginIn(Strict):
    password: str = Field(max_length=256)


class PrinterIn(Strict):
    type: Literal["shtrih", "atol", "escpos", "none"] | None = None
    url: str | None = Field(None, max_length=512, description="serial:/dev/ttyUSB0?baudrate=115200 · tcp://host:9100 · usb://VID:PID · file:/dev/usb/lp0")
    codepage: str | None = Field(None, max_length=16, description="ESC/POS text encoding, e.g. cp866")
    codepage_table: int | None = Field(None, description="ESC t n for that encoding (17 = cp866 on most printers)")
    width: int | None = Field(None, description="Characters per line (Shtrih-M 30/36/42/48)")
    cashier_password: int | None = None
    admin_password: int | None = None
    timeout_ms: int | None = None
    preview: str | None = Field(None, max_length=512, description="PNG of an emulated printer's paper roll")
    comment: str | None = Field(None, max_length=256)


class JobIn(Strict):
    commands: list[dict[str, Any]] = Field(description="Commands run in order; see docs/printing/service.md")


class LineIn(Strict):
    name: str = Field(max_length=256)
    price: int = Field(description="kopecks per unit")
    quantity: int = Field(1000, description="thousandths")
    total: int | None = Field(None, description="kopecks after discount (default price × quantity)")
    vat: str = Field("none", description="none, 0, 5, 7, 10, 20, 22")
    department: int = 1
    code: str = ""


class CashierIn(Strict):
    name: str = ""
    inn: str = ""


class ReceiptIn(Strict):
    kind: Literal["sale", "return"] = "sale"
    lines: list[LineIn]
    cash: int = Field(0, description="kopecks handed over in cash (change is given from it)")
    card: int = Field(0, description="kopecks paid by card")
    cashier: CashierIn | None = None
    header: list[str] = []
    footer: list[str] = []
    qr: str | None = None
    number: int | None = Field(None, description="the till's receipt number")
    uuid: str | None = Field(None, description="the till's receipt id")
    title: str = ""


class ReceiptPrintIn(Strict):
    receipt: ReceiptIn
    fiscal: bool | None = Field(None, description="None: fiscal on a registrar, non-fiscal elsewhere; false: never fiscal")


class AmountIn(Strict):
    amount: int = Field(description="kopecks")


class TextIn(Strict):
    text: str
    align: Literal["left", "center", "right"] = "left"
    bold: bool = False
    inverse: bool = False
    tall: bool = False
    wide: bool = False
    small: bool = False


class HeaderIn(Strict):
    lines: list[str]


class TokenIn(Strict):
    name: str = Field(max_length=64)


class AdoptIn(Strict):
    device: str = Field(max_length=512, description="the discovered device path")
    name: str = Field(max_length=64)


def _receipt_dict(model: ReceiptIn) -> dict[str, Any]:
    data = model.model_dump(exclude_none=True)
    for line in data["lines"]:
        if line.get("total") is None:
            line.pop("total", None)
    return data


# --- auth --------------------------------------------------------------------------------------------


@router.post("/auth/login", tags=["auth"], summary="Admin login with the admin password: a session token")
def login(request: Request, body: LoginIn, response: Response) -> dict[str, Any]:
    token, client = service_of(request).login(body.password)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
    return {"token": token, "csrf_token": client.csrf_token}


@router.post("/auth/logout", tags=["auth"], summary="End the admin session")
def logout(request: Request, response: Response, _client: AdminClient) -> dict[str, Any]:
    service_of(request).logout(request_token(request, SESSION_COOKIE)[0])
    response.delete_cookie(SESSION_COOKIE)
    return {"ok": True}


@router.get("/auth/me", tags=["auth"], summary="Who is calling: admin or a client token's name")
def me(client: AnyClient) -> dict[str, Any]:
    return {"name": client.name, "admin": client.admin}


# --- tokens --------------------------------------------------------------------------------------------


@router.get("/tokens", tags=["tokens"], summary="Client tokens (admin)")
def tokens_list(request: Request, _client: AdminClient) -> list[dict[str, Any]]:
    return service_of(request).list_tokens()


@router.post("/tokens", tags=["tokens"], summary="Create a client token for a till (admin): shown once", status_code=201)
def tokens_create(request: Request, body: TokenIn, _client: AdminClient) -> dict[str, Any]:
    return {"name": body.name, "token": service_of(request).create_token(body.name)}


@router.delete("/tokens/{name}", tags=["tokens"], summary="Revoke a client token (admin)")
def tokens_revoke(request: Request, name: PrinterName, _client: AdminClient) -> dict[str, Any]:
    service_of(request).revoke_token(name)
    return {"ok": True}


# --- printers ------------------------------------------------------------------------------------------


def _visible(printer: dict[str, Any], client: Client) -> dict[str, Any]:
    if client.admin:
        return printer
    return {k: v for k, v in printer.items() if k not in ("cashier_password", "admin_password")}


@router.get("/printers", tags=["printers"], summary="All printers")
def printers_list(request: Request, client: AnyClient) -> list[dict[str, Any]]:
    return [_visible(p, client) for p in service_of(request).printers()]


@router.get("/printers/{name}", tags=["printers"], summary="One printer")
def printer_get(request: Request, name: PrinterName, client: AnyClient) -> dict[str, Any]:
    return _visible(service_of(request).printer(name), client)


@router.put("/printers/{name}", tags=["printers"], summary="Create or change a printer (admin)")
def printer_put(request: Request, name: PrinterName, body: PrinterIn, _client: AdminClient) -> dict[str, Any]:
    return service_of(request).save_printer(name, body.model_dump(exclude_none=True))


@router.delete("/printers/{name}", tags=["printers"], summary="Delete a printer (admin)")
def printer_delete(request: Request, name: PrinterName, _client: AdminClient) -> dict[str, Any]:
    service_of(request).delete_printer(name)
    return {"ok": True}


@router.get("/printers/{name}/preview.png", tags=["printers"], summary="The paper roll of an emulated printer (PNG)",
            response_class=Response, responses={200: {"content": {"image/png": {}}}})
def printer_preview(request: Request, name: PrinterName, _client: AnyClient) -> Response:
    printer = service_of(request).printer(name)
    path = preview_file(printer["preview"])
    if path is None:
        raise NotFound("no_preview", "У этого принтера нет изображения ленты (только у эмулятора)",
                       "This printer has no paper image (emulators only)", field="preview")
    return Response(preview_png(path), media_type="image/png", headers={"Cache-Control": "no-store"})


def preview_file(preview: str) -> Any:
    """The file behind a printer's ``preview``: a PNG, a directory (an ESC/POS emulator's ``--out``: its
    newest cut receipt, else its whole roll) or a Shtrih-M emulator's ``--state`` JSON (its paper tape);
    None when there is nothing yet."""
    from pathlib import Path as FsPath

    if not preview:
        return None
    path = FsPath(preview)
    if path.is_dir():
        pieces = sorted(path.glob("receipt-*.png"))
        path = pieces[-1] if pieces else path / "paper.png"
    # only an image or an emulator's state: a preview must never serve any other file the service can read
    return path if path.is_file() and path.suffix.lower() in (".png", ".json") else None


TAPE_LINES = 80  # the end of a registrar's tape shown as its preview


def preview_png(path: Any) -> bytes:
    """PNG bytes of a preview file; a registrar emulator's tape (JSON state) is drawn as text lines."""
    if path.suffix.lower() != ".json":
        return path.read_bytes()
    import io
    import json

    from PIL import Image, ImageDraw, ImageFont

    try:
        tape = [str(line) for line in json.loads(path.read_text(encoding="utf-8")).get("tape", [])][-TAPE_LINES:]
    except (OSError, ValueError, AttributeError):
        tape = []
    try:
        font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf", 16)
    except OSError:
        font = ImageFont.load_default()
    width = max([len(line) for line in tape] + [36])
    image = Image.new("L", (width * 10 + 32, max(1, len(tape)) * 20 + 32), 255)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(tape):
        draw.text((16, 16 + i * 20), line, font=font, fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- jobs ------------------------------------------------------------------------------------------------


@router.post("/printers/{name}/jobs", tags=["jobs"], summary="Run a list of commands in order; stops at the first failure",
             responses={502: {"description": "a command failed: every command's result, the first error"}})
def job_run(request: Request, name: PrinterName, body: JobIn, client: AnyClient) -> FastJSONResponse:
    job = service_of(request).run_job(client, name, body.commands)
    return FastJSONResponse(job, status_code=200 if job["ok"] else 502)


@router.get("/jobs", tags=["jobs"], summary="The job journal, newest first (admin)")
def jobs_list(request: Request, _client: AdminClient, printer: str | None = Query(None, max_length=64),
              limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    return service_of(request).jobs(printer, limit)


# --- named operations: each a job of one command -----------------------------------------------------------


def _one(request: Request, client: Client, name: str, command: dict[str, Any]) -> dict[str, Any]:
    return service_of(request).run_one(client, name, command)


@router.get("/printers/{name}/status", tags=["device"], summary="Device status (last fiscal document, shift, receipt, paper)")
def status(request: Request, name: PrinterName, client: AnyClient) -> dict[str, Any]:
    return _one(request, client, name, {"op": "status"})


@router.post("/printers/{name}/receipt", tags=["device"],
             summary="Print a receipt: fiscal on a registrar, non-fiscal on an ESC/POS printer")
def receipt(request: Request, name: PrinterName, body: ReceiptPrintIn, client: AnyClient) -> dict[str, Any]:
    command: dict[str, Any] = {"op": "receipt", "receipt": _receipt_dict(body.receipt)}
    if body.fiscal is not None:
        command["fiscal"] = body.fiscal
    return _one(request, client, name, command)


@router.post("/printers/{name}/copy", tags=["device"], summary="Print a non-fiscal copy of a receipt")
def copy(request: Request, name: PrinterName, body: ReceiptIn, client: AnyClient) -> dict[str, Any]:
    return _one(request, client, name, {"op": "copy", "receipt": _receipt_dict(body)})


@router.post("/printers/{name}/text", tags=["device"], summary="Print text lines with styles")
def text(request: Request, name: PrinterName, body: TextIn, client: AnyClient) -> dict[str, Any]:
    return _one(request, client, name, {"op": "text", **body.model_dump()})


def _simple(op: str, summary: str) -> None:
    path = "/printers/{name}/" + op.replace("_", "-")

    def endpoint(request: Request, name: PrinterName, client: AnyClient) -> dict[str, Any]:
        return _one(request, client, name, {"op": op})

    endpoint.__name__ = f"op_{op}"
    router.add_api_route(path, endpoint, methods=["POST"], tags=["device"], summary=summary)


for _op, _summary in (
    ("open_shift", "Open the fiscal shift"),
    ("x_report", "X report (registrar)"),
    ("z_report", "Z report: close the fiscal shift (registrar)"),
    ("cancel_receipt", "Cancel a receipt left open on the registrar"),
    ("continue_print", "Continue printing after paper out (registrar)"),
    ("recover", "After paper out or power loss: continue printing, cancel an open receipt; the status after"),
    ("drawer", "Open the cash drawer"),
    ("cut", "Cut the paper"),
    ("beep", "Beep"),
):
    _simple(_op, _summary)


@router.post("/printers/{name}/cash-in", tags=["device"], summary="Cash in (registrar), kopecks")
def cash_in(request: Request, name: PrinterName, body: AmountIn, client: AnyClient) -> dict[str, Any]:
    return _one(request, client, name, {"op": "cash_in", "amount": body.amount})


@router.post("/printers/{name}/cash-out", tags=["device"], summary="Cash out (registrar), kopecks")
def cash_out(request: Request, name: PrinterName, body: AmountIn, client: AnyClient) -> dict[str, Any]:
    return _one(request, client, name, {"op": "cash_out", "amount": body.amount})


@router.get("/printers/{name}/header", tags=["device"], summary="The registrar's receipt header lines (table 4)")
def header(request: Request, name: PrinterName, client: AnyClient) -> dict[str, Any]:
    return _one(request, client, name, {"op": "header"})


@router.put("/printers/{name}/header", tags=["device"], summary="Write the registrar's receipt header lines (admin)")
def header_set(request: Request, name: PrinterName, body: HeaderIn, client: AdminClient) -> dict[str, Any]:
    return _one(request, client, name, {"op": "set_header", "lines": body.lines})


# --- discovery --------------------------------------------------------------------------------------------


@router.get("/discovery", tags=["discovery"], summary="Serial fiscal registrars found by the last scan (admin)")
def discovery_list(request: Request, _client: AdminClient) -> list[dict[str, Any]]:
    return service_of(request).discovered


@router.post("/discovery/scan", tags=["discovery"], summary="Scan /dev/serial/by-id and probe each port (admin)")
def discovery_scan(request: Request, _client: AdminClient) -> list[dict[str, Any]]:
    from .discovery import scan

    service = service_of(request)
    service.discovered = scan(service)
    return service.discovered


@router.post("/discovery/adopt", tags=["discovery"], summary="Add a discovered registrar as a printer (admin)", status_code=201)
def discovery_adopt(request: Request, body: AdoptIn, _client: AdminClient) -> dict[str, Any]:
    from .discovery import adopt

    return adopt(service_of(request), body.device, body.name)


@router.get("/commands", tags=["jobs"], summary="The command names a job may use")
def commands(_client: AnyClient) -> dict[str, Any]:
    return {"ops": list(devices.OPS), "fiscal_only": sorted(devices.FISCAL_OPS), "admin_only": sorted(devices.CONFIG_OPS)}


@router.get("/health", tags=["service"], summary="Liveness: no login needed")
def health() -> dict[str, Any]:
    return {"ok": True, "service": "printd", "version": __version__}
