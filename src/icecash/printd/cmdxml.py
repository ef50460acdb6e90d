"""The original DTPrint XML protocol, kept for existing scripts: ``POST /cmd``.

Request (parsed with defusedxml: no entities, no external references)::

    <dtprint>
      <password>TOKEN-OR-ADMIN-PASSWORD</password>      (or Authorization: Bearer, or ?password=)
      <printer>NAME</printer>
      <cmdlist>
        <cmd><command>_opencheck</command><param><list><p><n>type</n><v>sale</v></p></list></param></cmd>
        …
      </cmdlist>
    </dtprint>

Reply::

    <return><result>N</result><data type="array"><item op="…" status="ok|failed|skipped">…</item>…</data>
    <error code="…"><ru>…</ru><en>…</en></error></return>

``result``: 0 ok, 1 parse error (or a bad command), 2 not authenticated, 3 printer not found,
4 no connection to the device, 5 the device refused. Unlike the original, the command list
stops at the first failure, and every command's own result is answered, not only the last.

A receipt keeps the original's command-by-command form (``_opencheck``, ``_registerpos``…,
``_closecheck``) but is sent to the device as one receipt, so a receipt is never left half-open
by a script that died half-way. Money is in rubles (``89.90``), quantities in units (``1.5``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from fastapi import APIRouter, Request
from fastapi.responses import Response

from icecash.core.errors import DomainError, InvalidInput, NotFound
from icecash.core.money import line_amount, parse_money, parse_quantity
from icecash.web import bearer_token

from .service import Unauthenticated

router = APIRouter()
MAX_XML = 1 << 20

OK, PARSE_ERROR, AUTH_ERROR, NO_PRINTER, CONNECT_ERROR, DEVICE_ERROR = 0, 1, 2, 3, 4, 5

_SIMPLE = {
    "prn_devstatus": "status", "status": "status", "beep": "beep", "_beep": "beep",
    "_opensmena": "open_shift", "_reportx": "x_report", "_reportz": "z_report", "_openbox": "drawer",
    "_cancelcheck": "cancel_receipt", "_continue": "continue_print", "_recover": "recover",
    "_gettext": "header",
}
_TEXT_FLAGS = {"bold": "bold", "inverse": "inverse", "tall": "tall", "height": "tall", "wide": "wide",
               "width": "wide", "small": "small", "font": "small"}


class XmlError(InvalidInput):
    pass


def _bad(ru: str, en: str, field: str = "xml") -> XmlError:
    return XmlError("bad_xml", ru, en, field=field)


def _params(cmd: Any, index: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in cmd.findall("./param/list/p"):
        name = (p.findtext("n") or "").strip().lower()
        if not name:
            raise _bad("Параметр без имени <n>", "A parameter without a name <n>", f"cmdlist[{index}]")
        out[name] = p.findtext("v") or ""
    return out


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on", "да")


def _money(text: str, field: str) -> int:
    try:
        return parse_money(text.strip() or "0")
    except DomainError as exc:
        raise _bad(exc.message_ru, exc.message_en, field) from None


def _qty(text: str, field: str) -> int:
    try:
        return parse_quantity(text.strip() or "1")
    except DomainError as exc:
        raise _bad(exc.message_ru, exc.message_en, field) from None


def _line_total(line: dict[str, Any]) -> int:
    """A translated line's total: after its discount, else price × quantity."""
    return line.get("total", line_amount(line["price"], line["quantity"]))


def _int(text: str, field: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise _bad(f"{field}: нужно целое число", f"{field}: a whole number expected", field) from None


def _tax(text: str) -> str:
    """The original's tax: a rate (``20``, ``10``, ``0``) or empty/``none``/``-``."""
    raw = text.strip().lower()
    return "none" if raw in ("", "none", "-", "no") else raw


def translate(commands: list[tuple[str, dict[str, str]]]) -> list[dict[str, Any]]:
    """The original's commands as ours; a receipt from _opencheck to _closecheck becomes one command."""
    out: list[dict[str, Any]] = []
    receipt: dict[str, Any] | None = None
    for i, (name, p) in enumerate(commands):
        field = f"cmdlist[{i}]"
        lname = name.lower()
        if receipt is not None and lname not in ("_registerpos", "_return", "_discount", "_closecheck", "_cancelcheck"):
            raise _bad(f"{name}: внутри открытого чека можно только _registerpos, _return, _discount, _closecheck, _cancelcheck",
                       f"{name}: inside an open receipt only _registerpos, _return, _discount, _closecheck, _cancelcheck", field)
        if lname == "_opencheck":
            kind = (p.get("type") or "sale").strip().lower()
            if kind not in ("sale", "retsale", "return"):
                raise _bad("type: sale или retsale", "type: sale or retsale", f"{field}.type")
            receipt = {"kind": "sale" if kind == "sale" else "return", "lines": [], "cashier": {}}
            if p.get("cashier"):
                receipt["cashier"]["name"] = p["cashier"]
            if p.get("inn"):
                receipt["cashier"]["inn"] = p["inn"]
        elif lname in ("_registerpos", "_return"):
            if receipt is None:
                raise _bad(f"{name}: сначала _opencheck", f"{name}: _opencheck first", field)
            if lname == "_return":
                receipt["kind"] = "return"
            price = _money(p.get("price", ""), f"{field}.price")
            qty = _qty(p.get("qty", p.get("count", "1")), f"{field}.qty")
            line = {"name": p.get("title", p.get("name", "")), "price": price, "quantity": qty,
                    "vat": _tax(p.get("tax", "")), "department": _int(p.get("section", "1") or "1", f"{field}.section")}
            discount = _money(p.get("discount", "0"), f"{field}.discount")
            if discount:
                line["total"] = line_amount(price, qty) - discount
            receipt["lines"].append(line)
        elif lname == "_discount":
            if receipt is None or not receipt["lines"]:
                raise _bad("_discount: нет строки, к которой применить скидку", "_discount: no line to apply it to", field)
            last = receipt["lines"][-1]
            amount = _money(p.get("sum", p.get("discount", "0")), f"{field}.sum")
            last["total"] = _line_total(last) - amount
        elif lname == "_closecheck":
            if receipt is None:
                raise _bad("_closecheck: чек не открыт", "_closecheck: no receipt is open", field)
            receipt["cash"] = _money(p.get("cash", "0"), f"{field}.cash")
            receipt["card"] = _money(p.get("card", "0"), f"{field}.card")
            if not receipt["cash"] and not receipt["card"]:  # the original closed "without sum" as cash in full
                receipt["cash"] = sum(_line_total(line) for line in receipt["lines"])
            out.append({"op": "receipt", "receipt": receipt})
            receipt = None
        elif lname == "_cancelcheck":
            if receipt is not None:
                receipt = None  # nothing was sent yet: the receipt is simply dropped
            else:
                out.append({"op": "cancel_receipt"})
        elif lname in _SIMPLE:
            out.append({"op": _SIMPLE[lname]})
        elif lname in ("_incash", "_outcash"):
            out.append({"op": "cash_in" if lname == "_incash" else "cash_out",
                        "amount": _money(p.get("sum", p.get("amount", "")), f"{field}.sum")})
        elif lname == "_cut":
            out.append({"op": "cut", "partial": _flag(p.get("partial"))})
        elif lname == "_roll":
            out.append({"op": "feed", "lines": _int(p.get("count", p.get("lines", "1")) or "1", f"{field}.count")})
        elif lname in ("_text", "prn_lines", "_prn_lines", "_printtext"):
            command: dict[str, Any] = {"op": "text", "text": p.get("text", "")}
            for key, flag in _TEXT_FLAGS.items():
                if key in p:
                    command[flag] = _flag(p[key])
            if p.get("align"):
                command["align"] = p["align"].strip().lower()
            out.append(command)
        elif lname == "_barcode":
            out.append({"op": "barcode", "data": p.get("code", p.get("text", "")).strip(),
                        "kind": (p.get("type") or "ean13").strip().lower()})
        elif lname == "_qr":
            out.append({"op": "qr", "data": p.get("text", p.get("code", ""))})
        elif lname == "_raw":
            out.append({"op": "raw", "hex": p.get("hex", p.get("data", "")).strip()})
        elif lname in ("_readtable", "_writetable"):
            command = {"op": "read_table" if lname == "_readtable" else "write_table",
                       "table": _int(p.get("table", ""), f"{field}.table"), "row": _int(p.get("row", "1"), f"{field}.row"),
                       "field": _int(p.get("field", "1"), f"{field}.field")}
            if lname == "_writetable":
                value = p.get("value", "")
                command["value"] = int(value) if value.strip().lstrip("-").isdigit() else value
            out.append(command)
        elif lname == "_settext":
            out.append({"op": "set_header", "lines": p.get("text", "").split("\n")})
        elif lname == "_setdatetime":
            out.append({"op": "set_datetime", **({"at": p["datetime"]} if p.get("datetime") else {})})
        else:
            raise XmlError("unknown_command", f"Неизвестная команда {name!r}", f"Unknown command {name!r}", field=f"{field}.command")
    if receipt is not None:
        raise _bad("Чек открыт, но не закрыт: нет _closecheck", "A receipt is opened but never closed: no _closecheck", "cmdlist")
    return out


def parse_request(body: bytes) -> tuple[str | None, str, list[dict[str, Any]]]:
    """(password, printer, our commands) from a request document."""
    try:
        root = SafeET.fromstring(body)
    except (ET.ParseError, DefusedXmlException, ValueError) as exc:
        raise _bad(f"XML не разобран: {exc}", f"The XML does not parse: {exc}") from None
    if root.tag != "dtprint":
        raise _bad("Корневой элемент должен быть <dtprint>", "The root element must be <dtprint>")
    printer = (root.findtext("printer") or "").strip()
    if not printer:
        raise _bad("Не указан <printer>", "No <printer> given", "printer")
    password = root.findtext("password")
    raw = []
    for i, cmd in enumerate(root.findall("./cmdlist/cmd")):
        name = (cmd.findtext("command") or "").strip()
        if not name:
            raise _bad("Команда без имени <command>", "A command without a name <command>", f"cmdlist[{i}]")
        raw.append((name, _params(cmd, i)))
    if not raw:
        raise _bad("Пустой <cmdlist>", "An empty <cmdlist>", "cmdlist")
    return password, printer, translate(raw)


def _value(parent: ET.Element, key: str, value: Any) -> None:
    el = ET.SubElement(parent, "v" if key == "" else "p")
    if key:
        ET.SubElement(el, "n").text = key
        el = ET.SubElement(el, "v")
    if isinstance(value, dict):
        el.set("type", "hash")
        for k, v in value.items():
            _value(el, str(k), v)
    elif isinstance(value, (list, tuple)):
        el.set("type", "array")
        for v in value:
            _value(el, "", v)
    else:
        el.text = "" if value is None else ("1" if value is True else "0" if value is False else str(value))


def reply(result: int, items: list[dict[str, Any]] | None = None, error: dict[str, Any] | None = None) -> bytes:
    """The reply document, built with ElementTree (every value escaped)."""
    root = ET.Element("return")
    ET.SubElement(root, "result").text = str(result)
    data = ET.SubElement(root, "data", type="array")
    for item in items or []:
        el = ET.SubElement(data, "item", op=item["op"], status=item["status"])
        if item.get("result"):
            el.set("type", "hash")
            for k, v in item["result"].items():
                _value(el, str(k), v)
    if error is not None:
        err = ET.SubElement(root, "error", code=str(error["code"]))
        if error.get("field"):
            err.set("field", str(error["field"]))
        ET.SubElement(err, "ru").text = error["message"]
        ET.SubElement(err, "en").text = error["message_en"]
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _xml(content: bytes, status: int = 200) -> Response:
    return Response(content, status_code=status, media_type="application/xml; charset=utf-8")


def handle(service: Any, body: bytes, header_token: str | None, query_password: str | None) -> tuple[int, bytes]:
    """(HTTP status, reply) for a request body; the job runs under the printer's lock as any other."""
    try:
        password, printer, commands = parse_request(body)
    except DomainError as exc:
        return 400, reply(PARSE_ERROR, error=exc.as_dict())
    secret = header_token or query_password or password
    try:
        client = service.check_password_or_token(secret or "")
    except Unauthenticated as exc:
        return 401, reply(AUTH_ERROR, error=exc.as_dict())
    try:
        job = service.run_job(client, printer, commands)
    except NotFound as exc:
        return 404, reply(NO_PRINTER, error=exc.as_dict())
    except DomainError as exc:
        return (403 if exc.kind == "forbidden" else 400), reply(PARSE_ERROR, error=exc.as_dict())
    if job["ok"]:
        return 200, reply(OK, job["results"])
    error = job["error"]
    connect = error.get("code") in LINK_CODES
    return 502, reply(CONNECT_ERROR if connect else DEVICE_ERROR, job["results"], error)


# The codes of a link that failed (no answer, cannot open): TransportError's and the drivers' wrappers of it.
LINK_CODES = {"device_disconnected", "device_io_failed", "device_not_found", "device_open_failed", "device_timeout",
              "device_no_endpoint", "transport_closed", "no_connection", "escpos_link", "escpos_no_status",
              "shtrih_no_link", "atol_no_link", "atol_link", "atol_no_answer"}


@router.post("/cmd", tags=["xml"], summary="The original DTPrint XML protocol (see docs/printing/service.md)",
             response_class=Response, responses={200: {"content": {"application/xml": {}}}})
async def cmd(request: Request) -> Response:
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    if len(body) > MAX_XML:
        return _xml(reply(PARSE_ERROR, error={"code": "body_too_large", "message": "Документ слишком велик",
                                              "message_en": "The document is too large", "field": "body"}), 413)
    content_type = request.headers.get("content-type", "")
    form_password = None
    if content_type.startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qs

        form = parse_qs(body.decode("utf-8", "replace"))
        form_password = (form.get("password") or [None])[0]
        body = ((form.get("xml") or form.get("cmd") or [""])[0]).encode()
    token = bearer_token(request) or None
    status, content = await run_in_threadpool(
        handle, request.app.state.printd, body, token, request.query_params.get("password") or form_password)
    return _xml(content, status)
