"""What every IceCash HTTP service shares: JSON errors that name the field, body limits, input types.

Bad input never gets a stack trace: domain refusals become 4xx with ``{"error": {...}}``,
schema errors name the field that was wrong, and anything unexpected is logged and answered
with a plain 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase
from pydantic import BeforeValidator, WithJsonSchema
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from icecash.core.errors import DomainError, Forbidden
from icecash.core.money import MAX_MONEY, parse_money, parse_quantity, parse_rate
from icecash.security import same
from icecash.store.db import WriterBusy, without_waiting

log = logging.getLogger("icecash.web")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

STATUS_BY_KIND = {"invalid": 400, "not_found": 404, "forbidden": 403, "conflict": 409, "unauthenticated": 401}
DEFAULT_BODY_LIMIT = 1 << 20  # 1 MiB of JSON is far more than any receipt


class FastJSONResponse(JSONResponse):
    """A JSONResponse whose body orjson makes: the same compact UTF-8 JSON, several times faster.

    For the views the use-cases build (dicts and lists of str, int, bool and None); anything
    orjson refuses goes through the standard encoder, as with a plain JSONResponse.
    """

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:  # orjson.JSONEncodeError: e.g. an int over 64 bits, a non-str key
            return super().render(content)


def include_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Put the routers' routes straight into the app's route list, in order.

    ``include_router`` in recent FastAPI wraps each router in a lazily re-checked matcher that
    costs every request ~0.2 ms on a till's small CPU (bench/till_sale.py); our routers carry
    their prefix, tags and schema flag on each route already, so nothing is lost. Routers with
    dependencies or include-time options must use ``include_router``.
    """
    for router in routers:
        if router.dependencies or router.on_startup or router.on_shutdown:
            raise ValueError(f"router {router.prefix or '/'} needs include_router: it carries dependencies or events")
        app.router.routes.extend(router.routes)


async def run_quick(action: Callable[[], T]) -> T:
    """Run a short use-case (a scan, a line change: one small SQLite transaction) on the event loop.

    Handing it to a worker thread and back cost more than the use-case itself (~0.5 ms of a
    till's CPU; bench/till_sale.py). It must not stall the loop waiting for another writer,
    though: when one holds the database (a price import, a Z report) the use-case backs off
    before doing anything and reruns in a worker thread, where it may wait. Never for anything
    that talks to a device or the network.
    """
    with without_waiting():
        try:
            return action()
        except WriterBusy:
            pass
    return await run_in_threadpool(action)


CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token(request: Request) -> str:
    """The token of an ``Authorization: Bearer …`` header ('' without one)."""
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def request_token(request: Request, cookie: str) -> tuple[str, bool]:
    """The bearer token, else the session cookie's; and whether it came from the cookie.

    A change made with a cookie must also carry the CSRF header (see :func:`check_csrf`).
    """
    token = bearer_token(request)
    if token:
        return token, False
    token = request.cookies.get(cookie, "")
    return token, bool(token)


def check_csrf(request: Request, from_cookie: bool, expected: str) -> None:
    """Refuse a cookie-authenticated change whose CSRF header is missing or wrong."""
    if from_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not same(sent, expected):
            raise Forbidden("csrf", "Запрос отклонён: нет CSRF-токена сессии", "Refused: missing CSRF token", field=CSRF_HEADER)


def error_body(code: str, message_ru: str, message_en: str, field: str | None = None, **details: Any) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "field": field, "message": message_ru, "message_en": message_en}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(status: int, code: str, message_ru: str, message_en: str, field: str | None = None, **details: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message_ru, message_en, field, **details), status_code=status)


def _field_of(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    out = ""
    for part in parts:
        if out and (part in _UNION_TAGS or "[" in part):
            continue  # pydantic names the union member tried ("inn.str"); the field is what the client knows
        out += f"[{part}]" if part.isdigit() else (f".{part}" if out else part)
    return out or "body"


_UNION_TAGS = frozenset({"str", "int", "bool", "float", "none", "dict", "list"})


_DOCUMENTED_SECURITY: dict[Callable[..., Any], tuple[SecurityBase, ...]] = {}


def documented_by(*schemes: SecurityBase) -> Callable[[F], F]:
    """Declare the OpenAPI security schemes an auth dependency reads by itself (header, cookie).

    As sub-dependencies FastAPI would solve them on every request (~0.1 ms of a till's CPU) only
    to describe them; :func:`install_security_docs` writes them into the schema instead, just
    as FastAPI would have (Swagger's Authorize button included).
    """

    def mark(dependency: F) -> F:
        _DOCUMENTED_SECURITY[dependency] = schemes
        return dependency

    return mark


def extend_openapi(app: FastAPI, change: Callable[[dict[str, Any]], None]) -> None:
    """Let ``change`` complete the app's generated OpenAPI document, once, when it is first asked for."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        change(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_security_docs(app: FastAPI) -> None:
    """Give each operation behind a :func:`documented_by` dependency its ``security`` in OpenAPI."""

    def add_security(schema: dict[str, Any]) -> None:
        schemes: dict[str, Any] = {}
        for route in app.routes:
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            used = _security_of(route.dependant)
            if not used:
                continue
            for scheme in used:
                schemes[scheme.scheme_name] = scheme.model.model_dump(mode="json", by_alias=True, exclude_none=True)
            for method in route.methods:
                operation = schema["paths"].get(route.path_format, {}).get(method.lower())
                if operation is not None:
                    _put_security(operation, [{scheme.scheme_name: []} for scheme in used])
        if schemes:
            schema.setdefault("components", {}).setdefault("securitySchemes", {}).update(schemes)

    extend_openapi(app, add_security)


def _put_security(operation: dict[str, Any], security: list[dict[str, list[str]]]) -> None:
    """Put ``security`` after the operation's names and before its parameters, in one fixed place."""
    items = list(operation.items())
    at = next((i for i, (key, _) in enumerate(items) if key not in ("tags", "summary", "description", "operationId", "deprecated")),
              len(items))
    items.insert(at, ("security", security))
    operation.clear()
    operation.update(items)


def _security_of(dependant: Any) -> tuple[SecurityBase, ...]:
    found: list[SecurityBase] = []
    for sub in dependant.dependencies:
        for scheme in (*_DOCUMENTED_SECURITY.get(sub.call, ()), *_security_of(sub)):
            if scheme not in found:
                found.append(scheme)
    return tuple(found)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"error": exc.as_dict()}, status_code=STATUS_BY_KIND.get(exc.kind, 400))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request", "type": "invalid"}
        if first.get("type") == "json_invalid":
            return error_response(400, "malformed_json", "Тело запроса — не корректный JSON",
                                  "The request body is not valid JSON", field="body")
        field = _field_of(tuple(first.get("loc", ())))
        message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        more = [
            {"field": _field_of(tuple(e.get("loc", ()))), "message": str(e.get("msg", "")).removeprefix("Value error, ")}
            for e in errors[1:10]
        ]
        details = {"more": more} if more else {}
        return error_response(422, "invalid_field", f"Поле {field}: {message}", f"Field {field}: {message}", field=field, **details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            return error_response(404, "not_found", "Нет такого адреса", "No such address", field="path")
        if exc.status_code == 405:
            return error_response(405, "method_not_allowed", "Метод не поддерживается", "Method not allowed", field="method")
        if exc.status_code == 401:
            return error_response(401, "unauthenticated", "Нужно войти в систему", "Log in first", field="authorization")
        if isinstance(exc.__cause__, _BodyTooLarge):  # a chunked body over the limit, caught while FastAPI read it
            return error_response(413, "body_too_large", "Тело запроса слишком велико", "Request body too large", field="body")
        if exc.status_code == 400 and exc.__cause__ is not None:  # FastAPI could not parse the body (e.g. nested too deep)
            return error_response(400, "malformed_json", "Тело запроса — не корректный JSON",
                                  "The request body is not valid JSON", field="body")
        return error_response(exc.status_code, "http_error", str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "Внутренняя ошибка: подробности в журнале сервиса",
                              "Internal error: see the service log")


class BodyLimit:
    """Refuses bodies over a limit with 413 before they are read into memory."""

    def __init__(self, app: ASGIApp, default: int = DEFAULT_BODY_LIMIT, overrides: dict[str, int] | None = None):
        self.app = app
        self.default = default
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await _too_large(limit, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(limit: int, send: Send) -> None:
    response = error_response(413, "body_too_large", f"Тело запроса больше {limit} байт", f"Request body over {limit} bytes", field="body")
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


# --- input types: money, quantity and percent arrive as text or numbers, never become floats ---


def _to_text(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError("expected a number, got true/false")
    if isinstance(value, (int, str, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # 0.1 + 0.2 stays visibly wrong and is refused for its decimals
    raise ValueError("expected a number or a decimal string")


def _money(value: Any) -> int:
    kopecks = parse_money(_to_text(value))
    if abs(kopecks) > MAX_MONEY:
        raise ValueError("amount is too large")
    return kopecks


def _quantity(value: Any) -> int:
    return parse_quantity(_to_text(value))


def _rate(value: Any) -> int:
    return parse_rate(_to_text(value))


Money = Annotated[
    int, BeforeValidator(_money),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+([.,]\d{1,2})?$", "examples": ["89.90"],
                    "description": "rubles, at most 2 decimals (a JSON number is accepted too)"}),
]
Quantity = Annotated[
    int, BeforeValidator(_quantity),
    WithJsonSchema({"type": "string", "pattern": r"^\d+([.,]\d{1,3})?$", "examples": ["1", "0.250"],
                    "description": "units or kilograms, at most 3 decimals"}),
]
Percent = Annotated[
    int, BeforeValidator(_rate),
    WithJsonSchema({"type": "string", "pattern": r"^\d+([.,]\d{1,2})?$", "examples": ["5", "12.5"],
                    "description": "percent, at most 2 decimals"}),
]
