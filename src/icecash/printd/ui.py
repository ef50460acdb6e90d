"""The print service's admin web page (Jinja2 + htmx): printers, status, test print, registrar header
editor, a print program builder, discovery, client tokens, the job journal and a live paper preview.

Login with the admin password sets the session cookie; every change sends the session's CSRF token
(``X-CSRF-Token``, put on every htmx request by the page). All work goes through the same service
calls as the JSON API, so the page can do nothing the API would refuse.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from icecash.core.errors import DomainError

from . import devices
from .api import SESSION_COOKIE, client_of, preview_file, service_of
from .service import Client

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(files("icecash.printd") / "templates"))
STATIC = Path(str(files("icecash"))) / "static"

PROGRAM_SAMPLES = {
    "text": {"op": "text", "text": "Привет, мир", "bold": True, "align": "center"},
    "barcode": {"op": "barcode", "data": "4601234567893"},
    "qr": {"op": "qr", "data": "https://example.org"},
    "feed": {"op": "feed", "lines": 2},
    "cut": {"op": "cut"},
    "drawer": {"op": "drawer"},
    "beep": {"op": "beep"},
    "status": {"op": "status"},
    "x_report": {"op": "x_report"},
    "receipt": {"op": "receipt", "receipt": {"kind": "sale", "lines": [
        {"name": "Молоко 3,2%", "price": 8990, "quantity": 1000, "vat": "10"}], "cash": 10000,
        "cashier": {"name": "Иванова"}}},
}


def _admin(request: Request) -> Client | None:
    try:
        client = client_of(request)
    except DomainError:
        return None
    return client if client.admin else None


def _error_html(exc: DomainError) -> str:
    from markupsafe import escape

    return (f'<div class="err"><b>{escape(exc.code)}</b>: {escape(exc.message_ru)}<br>'
            f'<small>{escape(exc.message_en)}</small></div>')


async def _call(request: Request, action: Any) -> tuple[Any, str | None]:
    """Run a service action in a worker thread; its refusal as an HTML error block."""
    try:
        return await run_in_threadpool(action), None
    except DomainError as exc:
        return None, _error_html(exc)


def _done(error: str | None) -> HTMLResponse:
    """An admin action's answer to htmx: back to the index page, or its error block (400)."""
    return HTMLResponse(error or "", status_code=400 if error else 200, headers=None if error else {"HX-Redirect": "/"})


def _fragment(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context)


@router.get("/static/htmx.min.js")
def htmx() -> Response:
    path = STATIC / "htmx.min.js"
    if not path.is_file():
        return Response("/* htmx is not vendored */", media_type="application/javascript")
    return FileResponse(path, media_type="application/javascript")


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    client = await run_in_threadpool(_admin, request)
    if client is None:
        service = service_of(request)
        has_password = await run_in_threadpool(service.has_admin_password)
        return _fragment(request, "login.html", has_password=has_password, error=None)
    service = service_of(request)
    printers = await run_in_threadpool(service.printers)
    tokens = await run_in_threadpool(service.list_tokens)
    jobs = await run_in_threadpool(service.jobs, None, 20)
    return _fragment(request, "index.html", printers=printers, tokens=tokens, jobs=jobs, csrf=client.csrf_token,
                     discovered=service.discovered, samples=PROGRAM_SAMPLES, ops=devices.OPS)


@router.post("/login", response_class=HTMLResponse)
async def login_form(request: Request, password: str = Form("")) -> Response:
    service = service_of(request)
    try:
        token, _client = await run_in_threadpool(service.login, password)
    except DomainError as exc:
        has_password = await run_in_threadpool(service.has_admin_password)
        return templates.TemplateResponse(request, "login.html", {"has_password": has_password, "error": exc}, status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", max_age=12 * 3600)
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    client = await run_in_threadpool(client_of, request)
    if client.admin:
        await run_in_threadpool(service_of(request).logout, request.cookies.get(SESSION_COOKIE, ""))
    response = Response(status_code=204, headers={"HX-Redirect": "/"})
    response.delete_cookie(SESSION_COOKIE)
    return response


async def _require_admin(request: Request) -> Client:
    client = await run_in_threadpool(client_of, request)  # checks CSRF for changes
    client.require_admin()
    return client


@router.post("/ui/printers", response_class=HTMLResponse)
async def save_printer(request: Request, name: str = Form(...), type: str = Form(...), url: str = Form(""),
                       width: str = Form(""), codepage: str = Form(""), codepage_table: str = Form(""),
                       cashier_password: str = Form(""), admin_password: str = Form(""),
                       preview: str = Form("")) -> Response:
    try:
        await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    values: dict[str, Any] = {"type": type, "url": url, "preview": preview}
    if codepage:
        values["codepage"] = codepage
    for key, raw in (("width", width), ("codepage_table", codepage_table), ("cashier_password", cashier_password),
                     ("admin_password", admin_password)):
        if raw.strip():
            values[key] = int(raw) if raw.strip().isdigit() else raw
    _saved, error = await _call(request, lambda: service_of(request).save_printer(name.strip(), values))
    if error:
        return HTMLResponse(error, status_code=400)
    return HTMLResponse("", headers={"HX-Redirect": "/"})


@router.post("/ui/printers/{name}/delete", response_class=HTMLResponse)
async def delete_printer(request: Request, name: str) -> Response:
    try:
        await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    _r, error = await _call(request, lambda: service_of(request).delete_printer(name))
    return _done(error)


async def _job(request: Request, name: str, commands: list[dict[str, Any]]) -> HTMLResponse:
    try:
        client = await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    job, error = await _call(request, lambda: service_of(request).run_job(client, name, commands))
    if error:
        return HTMLResponse(error, status_code=400)
    return _fragment(request, "job.html", job=job, printer=name)


@router.get("/ui/printers/{name}/status", response_class=HTMLResponse)
async def status(request: Request, name: str) -> Response:
    return await _job(request, name, [{"op": "status"}])


@router.post("/ui/printers/{name}/test", response_class=HTMLResponse)
async def test_print(request: Request, name: str) -> Response:
    printer, error = await _call(request, lambda: service_of(request).printer(name))
    if error:
        return HTMLResponse(error, status_code=404)
    commands = [
        {"op": "text", "text": "IceCash: пробная печать", "bold": True, "align": "center"},
        {"op": "text", "text": f"Принтер {name} ({printer['type']}), ширина {printer['width']}\nАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ\n0123456789 №%"},
    ]
    if printer["type"] in ("escpos", "none"):
        commands.append({"op": "cut"})
    return await _job(request, name, commands)


@router.get("/ui/printers/{name}/header", response_class=HTMLResponse)
async def header(request: Request, name: str) -> Response:
    try:
        client = await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    result, error = await _call(request, lambda: service_of(request).run_one(client, name, {"op": "header"}))
    if error:
        return HTMLResponse(error, status_code=502)
    return _fragment(request, "header.html", printer=name, lines=result.get("lines", []), saved=False)


@router.post("/ui/printers/{name}/header", response_class=HTMLResponse)
async def header_save(request: Request, name: str, lines: str = Form("")) -> Response:
    try:
        client = await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    wanted = lines.replace("\r\n", "\n").split("\n")
    result, error = await _call(
        request, lambda: service_of(request).run_one(client, name, {"op": "set_header", "lines": wanted}))
    if error:
        return HTMLResponse(error, status_code=502)
    return _fragment(request, "header.html", printer=name, lines=result.get("lines", wanted), saved=True)


@router.post("/ui/program", response_class=HTMLResponse)
async def program(request: Request, printer: str = Form(...), program: str = Form("")) -> Response:
    """The print program builder: one JSON command per line (or a JSON list), run as one job."""
    from markupsafe import escape

    text = program.strip()
    try:
        commands = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        return HTMLResponse(f'<div class="err">Программа — не JSON / not JSON: {escape(str(exc))}</div>', status_code=400)
    return await _job(request, printer, commands)


@router.get("/ui/printers/{name}/preview", response_class=HTMLResponse)
async def preview(request: Request, name: str) -> Response:
    try:
        await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    printer, error = await _call(request, lambda: service_of(request).printer(name))
    if error:
        return HTMLResponse(error, status_code=404)
    path = preview_file(printer["preview"])
    stamp = int(path.stat().st_mtime_ns) if path else 0
    return _fragment(request, "preview.html", printer=name, has_image=path is not None, stamp=stamp)


@router.post("/ui/discovery", response_class=HTMLResponse)
async def discovery(request: Request) -> Response:
    from .discovery import scan

    try:
        await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    service = service_of(request)
    found = await run_in_threadpool(scan, service)
    service.discovered = found
    return _fragment(request, "discovery.html", discovered=found)


@router.post("/ui/discovery/adopt", response_class=HTMLResponse)
async def adopt(request: Request, device: str = Form(...), name: str = Form(...)) -> Response:
    from .discovery import adopt as adopt_one

    try:
        await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    _r, error = await _call(request, lambda: adopt_one(service_of(request), device, name))
    return _done(error)


@router.post("/ui/tokens", response_class=HTMLResponse)
async def token_create(request: Request, name: str = Form(...)) -> Response:
    from markupsafe import escape

    try:
        await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    token, error = await _call(request, lambda: service_of(request).create_token(name.strip()))
    if error:
        return HTMLResponse(error, status_code=400)
    return HTMLResponse(f'<div class="ok">Токен «{escape(name)}» (показан один раз / shown once):<br><code>{escape(token)}</code></div>')


@router.post("/ui/tokens/{name}/revoke", response_class=HTMLResponse)
async def token_revoke(request: Request, name: str) -> Response:
    try:
        await _require_admin(request)
    except DomainError as exc:
        return HTMLResponse(_error_html(exc), status_code=403)
    _r, error = await _call(request, lambda: service_of(request).revoke_token(name))
    return _done(error)
