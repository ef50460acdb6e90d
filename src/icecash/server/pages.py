"""Admin and report pages (the original IceSite): server-rendered Jinja2, usable without JavaScript.

A session cookie (HttpOnly, SameSite=Strict) from the login form; every form that changes
something carries the session's CSRF token. The service checks every firm access, so a firm's
admin or viewer reaches only their firm whatever URL they type; a viewer's forms are not shown and
would be refused. htmx (vendored under /static) only refreshes the tills' online state.
"""

from __future__ import annotations

import csv
import functools
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from icecash.core.errors import DomainError, InvalidInput
from icecash.core.money import format_money, format_quantity, parse_money, parse_quantity, parse_rate
from icecash.core.promo import PromoSyntaxError
from icecash.core.pricefile import parse_price_file
from icecash.security import same

from .backoffice import SESSION_COOKIE
from .exchange import client_of, server_of
from .promotions import simulate
from .service import Actor, SESSION_HOURS

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC_HTMX = Path(__file__).resolve().parent.parent / "static" / "htmx.min.js"
ROLE_LABELS = {"operator": "оператор", "admin": "администратор фирмы", "viewer": "наблюдатель"}

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
                  lstrip_blocks=True)
env.globals.update(money=lambda v: format_money(int(v or 0)), qty=lambda v: format_quantity(int(v or 0)),
                   role_label=lambda r: ROLE_LABELS.get(r, r))


class LoginRequired(Exception):
    """No session: the page answers with a redirect to the login form."""


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("htmx", STATIC_HTMX.exists())
    response = HTMLResponse(env.get_template(template).render(**context), status_code=status)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cache-Control"] = "no-store"
    return response


def html_errors(handler):  # noqa: ANN001, ANN201
    """A refusal of the service becomes an error page naming what was wrong (not JSON, not a trace)."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except DomainError as exc:
            request = kwargs.get("request")
            actor = _maybe_actor(request) if request is not None else None
            status = {"not_found": 404, "forbidden": 403, "conflict": 409}.get(exc.kind, 400)
            return render("error.html", status=status, actor=actor, title="Отказ / refused",
                          text=f"{exc.message_ru}" + (f" (поле {exc.field})" if exc.field else ""), text_en=exc.message_en)

    return wrapper


def _maybe_actor(request: Request) -> Actor | None:
    token = request.cookies.get(SESSION_COOKIE, "")
    return server_of(request).authenticate(token) if token else None


def _actor(request: Request) -> Actor:
    actor = _maybe_actor(request)
    if actor is None:
        raise LoginRequired()
    return actor


def _csrf(actor: Actor, token: str) -> None:
    if not token or not same(token, actor.csrf_token):
        raise InvalidInput("csrf", "Форма устарела или пришла с чужого сайта: откройте страницу заново",
                           "The form is stale or came from another site: reload the page", field="csrf_token")


def _firm(request: Request, actor: Actor, regid: str) -> Any:
    return server_of(request).firm(actor, regid)


def _can_write(actor: Actor) -> bool:
    return actor.role in ("operator", "admin")


def _back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _csv(filename: str, header: list[str], rows: list[list[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe_cell(v) for v in row])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _safe_cell(value: Any) -> Any:
    """No spreadsheet formulas from data (CSV injection): a leading = + - @ gets a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _opt_date(text: str, field: str) -> date | None:
    """A form's date: empty is none (a browser sends every field of a GET form, empty or not)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("invalid_field", f"{field}: нужна дата ГГГГ-ММ-ДД", f"{field}: expected a date YYYY-MM-DD",
                           field=field) from None


def _opt_int(text: str, field: str, hi: int = 999_999_999) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or int(text) > hi:
        raise InvalidInput("invalid_field", f"{field}: нужно целое число до {hi}", f"{field}: expected a whole number up to {hi}",
                           field=field)
    return int(text)


def _period(date_from: date | None, date_to: date | None, days: int = 7) -> tuple[date, date]:
    today = date.today()
    return date_from or today - timedelta(days=days - 1), date_to or today


# --- login -------------------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return render("login.html")


@router.post("/login")
def login(request: Request, login: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)]) -> Any:
    try:
        token, actor = server_of(request).login(login, password, client_of(request))
    except DomainError as exc:
        return render("login.html", status=401 if exc.kind == "unauthenticated" else 429, error=exc.message_ru)
    response = _back("/")
    response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_HOURS * 3600, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
@html_errors
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    server_of(request).logout(request.cookies.get(SESSION_COOKIE, ""))
    response = _back("/login")
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- firms, shops, tills ----------------------------------------------------------------------------------


@router.get("/")
@html_errors
def home(request: Request) -> Any:
    actor = _actor(request)
    server = server_of(request)
    found = server.firms_for(actor)
    if not actor.is_operator and len(found) == 1:
        return _back(f"/firms/{found[0].regid}")
    rows = []
    for firm in found:
        tills = server.tills_of(actor, firm.regid)
        rows.append({"regid": firm.regid, "name": firm.name, "shops": len(server.shops_of(actor, firm.regid)),
                     "tills": len(tills), "online": sum(t["online"] for t in tills)})
    return render("firms.html", actor=actor, firms=rows)


@router.post("/firms")
@html_errors
def create_firm(request: Request, regid: Annotated[str, Form(max_length=64)], name: Annotated[str, Form(max_length=256)] = "",
                csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    server_of(request).create_firm(actor, regid, name)
    return _back(f"/firms/{regid}")


@router.get("/firms/{regid}")
@html_errors
def firm_page(request: Request, regid: str, secret: str = "") -> Any:
    actor = _actor(request)
    server = server_of(request)
    firm = _firm(request, actor, regid)
    return render("firm.html", actor=actor, firm=firm, tills=server.tills_of(actor, regid), shops=server.shops_of(actor, regid),
                  totals=server.totals(actor, regid), can_write=_can_write(actor), groups=server.groups_of(actor, regid))


@router.get("/firms/{regid}/tills")
@html_errors
def tills_fragment(request: Request, regid: str) -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    return render("tills.html", firm=firm, tills=server_of(request).tills_of(actor, regid))


@router.post("/firms/{regid}/shops")
@html_errors
def create_shop(request: Request, regid: str, idplace: Annotated[int, Form(ge=1, le=999_999_999)],
                name: Annotated[str, Form(max_length=256)] = "", csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    server_of(request).create_shop(actor, regid, idplace, name)
    return _back(f"/firms/{regid}")


@router.post("/firms/{regid}/tills")
@html_errors
def create_till(request: Request, regid: str, idplace: Annotated[int, Form(ge=1, le=999_999_999)],
                nkassa: Annotated[int, Form(ge=1, le=999_999)], price_list: Annotated[str, Form(max_length=64)] = "",
                name: Annotated[str, Form(max_length=128)] = "", csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    server = server_of(request)
    secret = server.create_till(actor, regid, idplace, nkassa, name, price_list or None)
    firm = _firm(request, actor, regid)
    return render("firm.html", actor=actor, firm=firm, tills=server.tills_of(actor, regid), shops=server.shops_of(actor, regid),
                  totals=server.totals(actor, regid), can_write=True, secret=secret, groups=server.groups_of(actor, regid),
                  message=f"Касса {nkassa} точки {idplace} создана / till created")


@router.post("/firms/{regid}/place-groups")
@html_errors
def set_place_group(request: Request, regid: str, name: Annotated[str, Form(max_length=64)],
                    members: Annotated[str, Form(max_length=100_000)] = "", csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    parts = [p.strip() for p in members.replace(";", ",").split(",") if p.strip()]
    server_of(request).set_place_group(actor, regid, name, [_int(p, "members") for p in parts] or None)
    return _back(f"/firms/{regid}")


@router.post("/firms/{regid}/till-groups")
@html_errors
def set_till_group(request: Request, regid: str, name: Annotated[str, Form(max_length=64)],
                   members: Annotated[str, Form(max_length=100_000)] = "", price_list: Annotated[str, Form(max_length=64)] = "",
                   csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    pairs = []
    for part in (p.strip() for p in members.replace(";", ",").split(",") if p.strip()):
        idplace, _, nkassa = part.partition("/")
        pairs.append((_int(idplace.strip(), "members"), _int(nkassa.strip(), "members")))
    server = server_of(request)
    server.set_till_group(actor, regid, name, pairs or None)
    if pairs and price_list.strip():
        server.bind_till_group(actor, regid, name, price_list.strip())
    return _back(f"/firms/{regid}")


# --- price lists, variables, promotions ------------------------------------------------------------------


@router.get("/firms/{regid}/prices")
@html_errors
def prices(request: Request, regid: str) -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    return render("prices.html", actor=actor, firm=firm, lists=server_of(request).price_lists_of(actor, regid),
                  can_write=_can_write(actor))


@router.post("/firms/{regid}/prices")
@html_errors
def upload_price(request: Request, regid: str, name: Annotated[str, Form(max_length=64)], file: Annotated[UploadFile, File()],
                 csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    content = file.file.read()
    if not content.strip():
        raise InvalidInput("empty_file", "Файл прайса пуст", "The price file is empty", field="file")
    result = server_of(request).push_price_list(actor, regid, name, parse_price_file(content, file.filename or "price.spr"))
    firm = _firm(request, actor, regid)
    return render("prices.html", actor=actor, firm=firm, lists=server_of(request).price_lists_of(actor, regid), can_write=True,
                  message=f"Прайс {name}, версия {result['version']}: добавлено {result['added']}, изменено "
                          f"{result['changed']}, удалено {result['deleted']}")


@router.get("/firms/{regid}/prices/{name}")
@html_errors
def price_items(request: Request, regid: str, name: str, q: Annotated[str, Query(max_length=100)] = "") -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    rows = server_of(request).price_items_of(actor, regid, name, q.strip(), 200)
    return render("price_items.html", actor=actor, firm=firm, name=name, rows=rows, q=q, limit=200)


@router.get("/firms/{regid}/variables")
@html_errors
def variables_page(request: Request, regid: str) -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    return render("variables.html", actor=actor, firm=firm, variables=server_of(request).list_variables(actor, regid),
                  can_write=_can_write(actor))


@router.post("/firms/{regid}/variables")
@html_errors
def set_variable(request: Request, regid: str, name: Annotated[str, Form(max_length=64)],
                 value: Annotated[str, Form(max_length=4096)] = "", csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    server_of(request).set_variable(actor, regid, name, value)
    return _back(f"/firms/{regid}/variables")


@router.post("/firms/{regid}/variables/delete")
@html_errors
def delete_variable(request: Request, regid: str, name: Annotated[str, Form(max_length=64)],
                    csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    server_of(request).set_variable(actor, regid, name, None)
    return _back(f"/firms/{regid}/variables")


@router.get("/firms/{regid}/promotions")
@html_errors
def promotions_page(request: Request, regid: str) -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    server = server_of(request)
    return render("promotions.html", actor=actor, firm=firm, promotions=server.list_promotions(actor, regid),
                  goods_lists=server.list_goods_lists(actor, regid), can_write=_can_write(actor))


@router.get("/firms/{regid}/promotions/{promotion}")
@html_errors
def promotion_page(request: Request, regid: str, promotion: str) -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    if promotion == "new":
        found: dict[str, Any] = {"id": None, "active": True}
    else:
        found = next((p for p in server_of(request).list_promotions(actor, regid) if str(p["id"]) == promotion), None)
        if found is None:
            return render("error.html", status=404, actor=actor, title="Нет такой акции", text="Акция не найдена",
                          text_en="No such promotion")
    return render("promotion.html", actor=actor, firm=firm, p=found, can_write=_can_write(actor))


@router.post("/firms/{regid}/promotions/{promotion}")
@html_errors
def save_promotion(request: Request, regid: str, promotion: str, name: Annotated[str, Form(max_length=128)],
                   date_from: Annotated[str, Form(max_length=10)] = "", date_to: Annotated[str, Form(max_length=10)] = "",
                   time_from: Annotated[str, Form(max_length=8)] = "00:00:00",
                   time_to: Annotated[str, Form(max_length=8)] = "23:59:59",
                   weekdays: Annotated[str, Form(max_length=7)] = "1111111", active: Annotated[str, Form()] = "",
                   places: Annotated[str, Form(max_length=2000)] = "", if_text: Annotated[str, Form(max_length=20000)] = "",
                   then_text: Annotated[str, Form(max_length=20000)] = "", csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    promotion_id = None if promotion == "new" else _int(promotion, "id")
    data = {"name": name, "date_from": date_from, "date_to": date_to, "time_from": time_from, "time_to": time_to,
            "weekdays": weekdays, "active": bool(active), "places": places, "if_text": if_text.replace("\r\n", "\n"),
            "then_text": then_text.replace("\r\n", "\n")}
    try:
        server_of(request).save_promotion(actor, regid, data, promotion_id)
    except PromoSyntaxError as exc:  # the form again, as typed, with the line and column at fault
        return render("promotion.html", status=422, actor=actor, firm=_firm(request, actor, regid),
                      p={**data, "id": promotion_id}, can_write=True, error=f"{exc.message_ru} / {exc.message_en}")
    return _back(f"/firms/{regid}/promotions")


@router.post("/firms/{regid}/promotions/{promotion}/delete")
@html_errors
def delete_promotion(request: Request, regid: str, promotion: str, csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    server_of(request).delete_promotion(actor, regid, _int(promotion, "id"))
    return _back(f"/firms/{regid}/promotions")


@router.post("/firms/{regid}/goods-lists")
@html_errors
def set_goods_list(request: Request, regid: str, name: Annotated[str, Form(max_length=64)],
                   codes: Annotated[str, Form(max_length=1_000_000)] = "", csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _csrf(actor, csrf_token)
    parsed = [c.strip() for c in codes.replace(";", ",").split(",") if c.strip()]
    server_of(request).set_goods_list(actor, regid, name, parsed or None)
    return _back(f"/firms/{regid}/promotions")


SAMPLE_LINES = "1101 1\n1002 1"


@router.get("/firms/{regid}/simulator")
@html_errors
def simulator_page(request: Request, regid: str, promotion: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> Any:
    """The promotions simulator: a sample receipt, the firm's promotions (and a draft), the result with its reasons."""
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    server = server_of(request)
    draft: dict[str, Any] = {}
    if promotion is not None:
        draft = next((p for p in server.list_promotions(actor, regid) if p["id"] == promotion), {})
    return render("simulator.html", actor=actor, firm=firm, f={"lines": SAMPLE_LINES, "saved": "1", **_draft_fields(draft)},
                  lists=server.price_lists_of(actor, regid))


@router.post("/firms/{regid}/simulator")
@html_errors
def simulator_run(request: Request, regid: str, lines: Annotated[str, Form(max_length=50_000)] = "",
                  price_list: Annotated[str, Form(max_length=64)] = "", idplace: Annotated[str, Form(max_length=9)] = "",
                  nkassa: Annotated[str, Form(max_length=6)] = "1", moment: Annotated[str, Form(max_length=19)] = "",
                  card: Annotated[str, Form(max_length=64)] = "", card_rate: Annotated[str, Form(max_length=8)] = "",
                  variables: Annotated[str, Form(max_length=50_000)] = "", saved: Annotated[str, Form()] = "",
                  draft_id: Annotated[str, Form(max_length=10)] = "", name: Annotated[str, Form(max_length=128)] = "",
                  date_from: Annotated[str, Form(max_length=10)] = "", date_to: Annotated[str, Form(max_length=10)] = "",
                  time_from: Annotated[str, Form(max_length=8)] = "", time_to: Annotated[str, Form(max_length=8)] = "",
                  weekdays: Annotated[str, Form(max_length=7)] = "", places: Annotated[str, Form(max_length=2000)] = "",
                  if_text: Annotated[str, Form(max_length=20000)] = "", then_text: Annotated[str, Form(max_length=20000)] = "",
                  csrf_token: Annotated[str, Form()] = "") -> Any:
    """Run the simulator (reads only: nothing is saved, the CSRF token is still required as for any form)."""
    actor = _actor(request)
    _csrf(actor, csrf_token)
    firm = _firm(request, actor, regid)
    server = server_of(request)
    form = {"lines": lines, "price_list": price_list, "idplace": idplace, "nkassa": nkassa, "moment": moment, "card": card,
            "card_rate": card_rate, "variables": variables, "saved": saved, "draft_id": draft_id, "name": name,
            "date_from": date_from, "date_to": date_to, "time_from": time_from, "time_to": time_to, "weekdays": weekdays,
            "places": places, "if_text": if_text, "then_text": then_text}
    context = {"actor": actor, "firm": firm, "f": form, "lists": server.price_lists_of(actor, regid)}
    try:
        sample = _sample_of(form)
        if not saved:
            sample["promotion_ids"] = []
        result = simulate(server, actor, regid, sample)
    except PromoSyntaxError as exc:
        return render("simulator.html", status=422, error=f"Черновик: {exc.message_ru} / draft: {exc.message_en}", **context)
    except DomainError as exc:
        return render("simulator.html", status=400, error=f"{exc.message_ru} / {exc.message_en}", **context)
    return render("simulator.html", result=result, **context)


def _draft_fields(p: dict[str, Any]) -> dict[str, Any]:
    return {"draft_id": str(p.get("id") or ""), "name": p.get("name", ""), "date_from": p.get("date_from") or "",
            "date_to": p.get("date_to") or "", "time_from": p.get("time_from") or "", "time_to": p.get("time_to") or "",
            "weekdays": p.get("weekdays") or "", "places": p.get("places") or "", "if_text": p.get("if_text", ""),
            "then_text": p.get("then_text", "")}


def _sample_of(form: dict[str, str]) -> dict[str, Any]:
    """The simulator form as a sample for ``promotions.simulate``: lines "code quantity [price]", variables "name=value"."""
    sample: dict[str, Any] = {"lines": [], "price_list": form["price_list"] or None, "card": form["card"].strip()}
    for n, raw in enumerate(form["lines"].replace("\r\n", "\n").split("\n"), start=1):
        words = raw.replace(";", " ").split()
        if not words or words[0].startswith("#"):
            continue
        if len(words) > 3:
            raise InvalidInput("invalid_field", f"Строка {n} чека: «код количество [цена]»", f"Receipt line {n}: 'code quantity [price]'",
                               field="lines")
        try:
            quantity = parse_quantity(words[1]) if len(words) > 1 else 1000
            price = parse_money(words[2]) if len(words) > 2 else None
        except ValueError:
            raise InvalidInput("invalid_field", f"Строка {n} чека: количество или цена не число", f"Receipt line {n}: the quantity or "
                               "price is not a number", field="lines") from None
        if quantity <= 0 or (price is not None and price < 0):
            raise InvalidInput("invalid_field", f"Строка {n} чека: количество должно быть больше нуля",
                               f"Receipt line {n}: the quantity must be above zero", field="lines")
        sample["lines"].append({"code": words[0], "quantity": quantity, "price": price})
    sample["variables"] = {}
    for n, raw in enumerate(form["variables"].replace("\r\n", "\n").split("\n"), start=1):
        if raw.strip():
            name, sep, value = raw.partition("=")
            if not sep or not name.strip():
                raise InvalidInput("invalid_field", f"Переменная в строке {n}: «имя=значение»", f"Variable on line {n}: 'name=value'",
                                   field="variables")
            sample["variables"][name.strip()] = value.strip()
    for key, hi in (("idplace", 999_999_999), ("nkassa", 999_999)):
        text = form[key].strip()
        if text:
            if not text.isdigit() or not 0 < int(text) <= hi:
                raise InvalidInput("invalid_field", f"{key}: нужно число", f"{key}: expected a number", field=key)
            sample[key] = int(text)
    if form["card_rate"].strip():
        try:
            sample["card_rate_bp"] = parse_rate(form["card_rate"])
        except ValueError:
            raise InvalidInput("invalid_field", "Скидка карты: нужно число процентов", "Card rate: expected percent",
                               field="card_rate") from None
        if not 0 <= sample["card_rate_bp"] <= 10_000:
            raise InvalidInput("invalid_field", "Скидка карты: 0–100 %", "Card rate: 0–100 %", field="card_rate")
    if form["moment"].strip():
        try:
            sample["moment"] = datetime.fromisoformat(form["moment"].strip()).replace(tzinfo=None, microsecond=0)
        except ValueError:
            raise InvalidInput("invalid_field", "Время чека: ГГГГ-ММ-ДДTЧЧ:ММ", "Receipt time: YYYY-MM-DDTHH:MM", field="moment") from None
    if form["if_text"].strip() or form["then_text"].strip():
        sample["draft"] = {"id": form["draft_id"] or None, "name": form["name"], "date_from": form["date_from"],
                           "date_to": form["date_to"], "time_from": form["time_from"], "time_to": form["time_to"],
                           "weekdays": form["weekdays"], "places": form["places"], "active": True,
                           "if_text": form["if_text"].replace("\r\n", "\n"), "then_text": form["then_text"].replace("\r\n", "\n")}
    return sample


def _int(text: str, field: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise InvalidInput("invalid_field", f"{field}: нужно число", f"{field}: expected a number", field=field)
    return int(text)


# --- reports ---------------------------------------------------------------------------------------------


@router.get("/firms/{regid}/reports/revenue")
@html_errors
def revenue(request: Request, regid: str, date_from: Annotated[str, Query(max_length=10)] = "",
            date_to: Annotated[str, Query(max_length=10)] = "", by: str = "day", format: str = "") -> Any:  # noqa: A002
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    start, end = _period(_opt_date(date_from, "date_from"), _opt_date(date_to, "date_to"))
    rows = server_of(request).revenue(actor, regid, start, end, by)
    keys = {"day": ["date"], "shop": ["idplace", "name"], "till": ["idplace", "nkassa"]}[by]
    if format == "csv":
        header = [*keys, "receipts", "sales", "returns", "revenue", "cash", "card"]
        return _csv(f"revenue-{regid}-{start}-{end}-{by}.csv", header,
                    [[*(r[k] for k in keys), r["receipts"], *(format_money(r[k]) for k in header[len(keys) + 1:])]
                     for r in rows])
    columns = {"date": "День", "idplace": "Точка", "name": "Название", "nkassa": "Касса"}
    return render("revenue.html", actor=actor, firm=firm, rows=rows, keys=keys, columns=[columns[k] for k in keys],
                  date_from=start.isoformat(), date_to=end.isoformat(), by=by)


@router.get("/firms/{regid}/reports/top")
@html_errors
def top(request: Request, regid: str, date_from: Annotated[str, Query(max_length=10)] = "",
        date_to: Annotated[str, Query(max_length=10)] = "", format: str = "") -> Any:  # noqa: A002
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    start, end = _period(_opt_date(date_from, "date_from"), _opt_date(date_to, "date_to"))
    rows = server_of(request).top_items(actor, regid, start, end, 100)
    if format == "csv":
        return _csv(f"top-{regid}-{start}-{end}.csv", ["code", "name", "quantity", "total"],
                    [[r["code"], r["name"], format_quantity(r["quantity"]), format_money(r["total"])] for r in rows])
    return render("top.html", actor=actor, firm=firm, rows=rows, date_from=start.isoformat(), date_to=end.isoformat())


@router.get("/firms/{regid}/receipts")
@html_errors
def receipts_page(request: Request, regid: str, date_from: Annotated[str, Query(max_length=10)] = "",
                  date_to: Annotated[str, Query(max_length=10)] = "", idplace: Annotated[str, Query(max_length=10)] = "",
                  nkassa: Annotated[str, Query(max_length=10)] = "", number: Annotated[str, Query(max_length=10)] = "",
                  code: Annotated[str, Query(max_length=32)] = "", after: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    date_from, date_to = _opt_date(date_from, "date_from"), _opt_date(date_to, "date_to")
    idplace, nkassa = _opt_int(idplace, "idplace"), _opt_int(nkassa, "nkassa", 999_999)
    number = _opt_int(number, "number", 2**31 - 1)
    page = server_of(request).receipts_page(actor, regid, date_from=date_from, date_to=date_to, idplace=idplace,
                                            nkassa=nkassa, number=number, code=code.strip() or None, after=after, limit=100,
                                            with_lines=False)
    filters = {"date_from": date_from, "date_to": date_to, "idplace": idplace, "nkassa": nkassa, "number": number,
               "code": code}
    next_query = urlencode({**{k: v for k, v in filters.items() if v not in (None, "")}, "after": page["next_after"] or 0})
    return render("receipts.html", actor=actor, firm=firm, receipts=page["receipts"], f=filters,
                  next_after=page["next_after"], next_query=next_query)


@router.get("/firms/{regid}/receipts/{receipt_uuid}")
@html_errors
def receipt_page(request: Request, regid: str, receipt_uuid: str) -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    return render("receipt.html", actor=actor, firm=firm, r=server_of(request).receipt_one(actor, regid, receipt_uuid[:36]))


@router.get("/firms/{regid}/z")
@html_errors
def z_page(request: Request, regid: str, date_from: Annotated[str, Query(max_length=10)] = "",
           date_to: Annotated[str, Query(max_length=10)] = "", exported: str = "", format: str = "") -> Any:  # noqa: A002
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    date_from, date_to = _opt_date(date_from, "date_from"), _opt_date(date_to, "date_to")
    state = {"true": True, "false": False}.get(exported)
    zs = server_of(request).z_list(actor, regid, date_from, date_to, state, 2000)
    if format == "csv":
        header = ["accounting_date", "idplace", "nkassa", "number", "sales_count", "returns_count", "cancels_count",
                  "sales_total", "returns_total", "revenue", "cash", "card", "exported_at", "uuid"]
        money = {"sales_total", "returns_total", "revenue", "cash", "card"}
        return _csv(f"z-{regid}.csv", header, [[format_money(z[k]) if k in money else z[k] for k in header] for z in zs])
    return render("zlist.html", actor=actor, firm=firm, zs=zs, date_from=date_from, date_to=date_to, exported=exported)


@router.get("/firms/{regid}/z/{z_uuid}")
@html_errors
def z_one(request: Request, regid: str, z_uuid: str) -> Any:
    actor = _actor(request)
    firm = _firm(request, actor, regid)
    return render("z.html", actor=actor, firm=firm, z=server_of(request).z_one(actor, regid, z_uuid[:36]))


async def to_login(request: Request, _exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)
