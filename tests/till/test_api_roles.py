"""Roles on every endpoint of the till API, checked on the server: seller(10) < cashier(50) < admin(100).

One table lists every endpoint of ``icecash.till.api`` with the lowest role allowed and how to
prepare a call that succeeds; each endpoint is then called as each role (allowed: the success
status; below it: 403 naming ``role``), without credentials (401), and with the browser's cookie
session (a change needs the session's ``X-CSRF-Token``: 403 without it, success with it).
The table runs on one till per module; every call prepares its own state.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import icecash.security as security
from icecash.till import api
from icecash.till.app import create_app, open_till
from icecash.till.demo import seed_demo
from icecash.web import CSRF_HEADER
from tests.conftest import login
from tests.helpers import API, FAST_HASHER, MILK

LEVEL = {"seller": 10, "cashier": 50, "admin": 100}
LOGINS = {"seller": "seller", "cashier": "kassir", "admin": "admin"}
_counter = itertools.count(1)


@dataclass
class Env:
    app: Any
    client: TestClient
    heads: dict[str, dict[str, str]]
    ids: dict[str, int]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", FAST_HASHER)
        service = open_till(tmp_path_factory.mktemp("roles") / "till")
        seed_demo(service, items=200)
        service.create_user(None, "helper", "helper", api.Role.CASHIER, "Помощник")
        app = create_app(service)
        with TestClient(app, raise_server_exceptions=False) as client:
            heads = {role: login(client, user) for role, user in LOGINS.items()}
            heads["helper"] = login(client, "helper")
            ids = {role: client.get(f"{API}/auth/me", headers=h).json()["id"] for role, h in heads.items()}
            client.cookies.clear()
            yield Env(app, client, heads, ids)


@dataclass
class Call:
    path: str
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def _post(env: Env, who: str, path: str, **kwargs) -> Any:
    return env.client.post(API + path, headers=env.heads[who], **kwargs)


def _fresh(env: Env, who: str) -> None:
    """No current receipt for ``who`` (cancelled if it had lines)."""
    _post(env, who, "/receipt/cancel")


def _with_line(env: Env, who: str) -> dict:
    _fresh(env, who)
    response = _post(env, who, "/receipt/scan", json={"barcode": MILK})
    assert response.status_code == 200, response.text
    return response.json()


def _helper_sale(env: Env) -> str:
    _with_line(env, "helper")
    response = _post(env, "helper", "/receipt/pay", json={"cash": "100"})
    assert response.status_code == 200, response.text
    return response.json()["uuid"]


def _helper_cash_in(env: Env, amount: str = "10") -> None:
    assert _post(env, "helper", "/cash/in", json={"amount": amount}).status_code == 200


def _helper_z(env: Env) -> str:
    _helper_cash_in(env)
    response = _post(env, "helper", "/reports/z")
    assert response.status_code == 200, response.text
    return response.json()["uuid"]


def _deferred_of(env: Env, who: str) -> Call:
    _with_line(env, who)
    uuid = _post(env, who, "/receipt/defer").json()["uuid"]
    return Call(f"/receipts/{uuid}/load")


def _fresh_token(env: Env, who: str) -> Call:
    token = env.client.post(f"{API}/auth/login", json={"login": LOGINS[who], "password": LOGINS[who]}).json()["token"]
    env.client.cookies.clear()
    return Call("/auth/logout", headers={"Authorization": f"Bearer {token}"})


PRICE_CSV = "code;name;price;group\n9100;Тестовый товар;10.00;10\n".encode()


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    route: str  # the path as declared in api.py
    min_role: str
    prepare: Callable[[Env, str], Call]
    status: int = 200
    check: Callable[[Any], bool] = lambda body: True


ENDPOINTS = [
    Endpoint("logout", "POST", "/auth/logout", "seller", _fresh_token, check=lambda b: b == {"ok": True}),
    Endpoint("me", "GET", "/auth/me", "seller", lambda e, r: Call("/auth/me"), check=lambda b: "csrf_token" in b),
    Endpoint("receipt", "GET", "/receipt", "seller",
             lambda e, r: (_post(e, r, "/receipt"), Call("/receipt"))[1], check=lambda b: b["status"] == "open"),
    Endpoint("open", "POST", "/receipt", "seller", lambda e, r: Call("/receipt"), check=lambda b: b["status"] == "open"),
    Endpoint("scan", "POST", "/receipt/scan", "seller", lambda e, r: Call("/receipt/scan", {"barcode": MILK}),
             check=lambda b: b["lines"][-1]["code"] == "1001"),
    Endpoint("add line", "POST", "/receipt/lines", "seller", lambda e, r: Call("/receipt/lines", {"code": "1002"}),
             check=lambda b: b["lines"][-1]["code"] == "1002"),
    Endpoint("change line", "PATCH", "/receipt/lines/{line_no}", "seller",
             lambda e, r: (_with_line(e, r), Call("/receipt/lines/1", {"quantity": "2"}))[1],
             check=lambda b: b["total"] == "179.80"),
    Endpoint("storno", "POST", "/receipt/lines/{line_no}/storno", "seller",
             lambda e, r: (_with_line(e, r), Call("/receipt/lines/1/storno"))[1], check=lambda b: b["lines"][0]["storno"]),
    Endpoint("select", "POST", "/receipt/lines/{line_no}/select", "seller",
             lambda e, r: (_with_line(e, r), Call("/receipt/lines/1/select"))[1], check=lambda b: b["selected_line"] == 1),
    Endpoint("set card", "PUT", "/receipt/card", "seller", lambda e, r: Call("/receipt/card", {"number": "2220000000011"}),
             check=lambda b: b["card_percent"] == "5.00"),
    Endpoint("clear card", "DELETE", "/receipt/card", "seller",
             lambda e, r: (_with_line(e, r), Call("/receipt/card"))[1], check=lambda b: b["card_number"] is None),
    Endpoint("defer", "POST", "/receipt/defer", "seller",
             lambda e, r: (_with_line(e, r), Call("/receipt/defer"))[1], check=lambda b: b["status"] == "deferred"),
    Endpoint("cancel", "POST", "/receipt/cancel", "seller",
             lambda e, r: (_with_line(e, r), Call("/receipt/cancel"))[1], check=lambda b: b["status"] == "cancelled"),
    Endpoint("pay", "POST", "/receipt/pay", "cashier",
             lambda e, r: (_with_line(e, r), Call("/receipt/pay", {"cash": "100"}))[1],
             check=lambda b: (b["status"], b["change"]) == ("paid", "10.10")),
    Endpoint("deferred", "GET", "/receipts/deferred", "seller", lambda e, r: Call("/receipts/deferred"),
             check=lambda b: isinstance(b, list)),
    Endpoint("load", "POST", "/receipts/{receipt_uuid}/load", "seller", _deferred_of, check=lambda b: b["status"] == "open"),
    Endpoint("find receipts", "GET", "/receipts", "cashier", lambda e, r: Call("/receipts", params={"kind": "sale"}),
             check=lambda b: isinstance(b, list)),
    Endpoint("last receipt", "GET", "/receipts/last", "cashier",
             lambda e, r: (_helper_sale(e), Call("/receipts/last"))[1], check=lambda b: b["status"] == "paid"),
    Endpoint("one receipt", "GET", "/receipts/{receipt_uuid}", "seller",
             lambda e, r: Call(f"/receipts/{_with_line(e, r)['uuid']}"), check=lambda b: b["total"] == "89.90"),
    Endpoint("return", "POST", "/receipts/{receipt_uuid}/return", "cashier",
             lambda e, r: Call(f"/receipts/{_helper_sale(e)}/return", {"lines": [{"line_no": 1, "quantity": "1"}]}),
             check=lambda b: (b["kind"], b["total"]) == ("return", "89.90")),
    Endpoint("cash in", "POST", "/cash/in", "cashier", lambda e, r: Call("/cash/in", {"amount": "10"})),
    Endpoint("cash out", "POST", "/cash/out", "cashier",
             lambda e, r: (_helper_cash_in(e), Call("/cash/out", {"amount": "1"}))[1]),
    Endpoint("shift", "GET", "/shift", "seller", lambda e, r: Call("/shift"), check=lambda b: "open" in b),
    Endpoint("X", "GET", "/reports/x", "cashier", lambda e, r: Call("/reports/x"), check=lambda b: "revenue" in b),
    Endpoint("Z", "POST", "/reports/z", "cashier", lambda e, r: (_helper_cash_in(e), Call("/reports/z"))[1],
             check=lambda b: b["cash_in"] != "0.00"),
    Endpoint("Z list", "GET", "/reports/z", "cashier", lambda e, r: Call("/reports/z"), check=lambda b: isinstance(b, list)),
    Endpoint("Z one", "GET", "/reports/z/{z_uuid}", "cashier", lambda e, r: Call(f"/reports/z/{_helper_z(e)}"),
             check=lambda b: "lines" in b),
    Endpoint("catalogue", "GET", "/catalogue", "seller", lambda e, r: Call("/catalogue"), check=lambda b: b["items"] >= 200 and b["groups"] == 11),
    Endpoint("items", "GET", "/catalogue/items", "seller", lambda e, r: Call("/catalogue/items", params={"q": "молоко"}),
             check=lambda b: "1001" in [i["code"] for i in b]),
    Endpoint("item", "GET", "/catalogue/items/{code}", "seller", lambda e, r: Call("/catalogue/items/1005"),
             check=lambda b: [o["option"] for o in b["price_options"]] == ["base", "1", "2"]),
    Endpoint("import", "POST", "/catalogue/import", "admin",
             lambda e, r: Call("/catalogue/import", content=PRICE_CSV, headers={"content-type": "text/csv"},
                               params={"filename": "price.csv"}),
             check=lambda b: (b["items"], b["replaced"]) == (1, 0)),
    Endpoint("discount card", "POST", "/discount-cards", "admin",
             lambda e, r: Call("/discount-cards", {"number": "2220000000035", "percent": "3"})),
    Endpoint("discount cards", "GET", "/discount-cards", "cashier", lambda e, r: Call("/discount-cards"),
             check=lambda b: "2220000000011" in [c["number"] for c in b]),
    Endpoint("settings", "GET", "/settings", "cashier", lambda e, r: Call("/settings"),
             check=lambda b: set(b) == {"server", "client", "shop", "device"}),
    Endpoint("patch settings", "PATCH", "/settings", "admin", lambda e, r: Call("/settings", {"textfoot": "Спасибо!"}),
             check=lambda b: b["textfoot"] == "Спасибо!"),
    Endpoint("users", "GET", "/users", "admin", lambda e, r: Call("/users"), check=lambda b: len(b) >= 4),
    Endpoint("create user", "POST", "/users", "admin",
             lambda e, r: Call("/users", {"login": f"user{next(_counter)}", "password": "secret", "role": "seller"}),
             status=201),
    Endpoint("patch user", "PATCH", "/users/{user_id}", "admin",
             lambda e, r: Call(f"/users/{e.ids['helper']}", {"name": "Помощник кассира"})),
    Endpoint("patch own theme", "PATCH", "/users/{user_id}", "seller",
             lambda e, r: Call(f"/users/{e.ids[r]}", {"theme": "dark", "language": "en"})),
    Endpoint("patch own role", "PATCH", "/users/{user_id}", "admin", lambda e, r: Call(f"/users/{e.ids[r]}", {"role": r})),
    # printing (no printer set on this till: what the endpoints answer then)
    Endpoint("printing", "GET", "/printing", "cashier", lambda e, r: Call("/printing"),
             check=lambda b: b["printer"] is None and isinstance(b["pending"], list)),
    Endpoint("reconcile", "POST", "/printing/reconcile", "cashier", lambda e, r: Call("/printing/reconcile"),
             check=lambda b: b == {"paid": [], "unpaid": []}),
    Endpoint("release", "POST", "/printing/release", "cashier", lambda e, r: (_with_line(e, r), Call("/printing/release"))[1],
             status=409, check=lambda b: b["error"]["code"] == "not_printing"),
    Endpoint("release one", "POST", "/receipts/{receipt_uuid}/release", "cashier",
             lambda e, r: Call(f"/receipts/{_with_line(e, r)['uuid']}/release"),
             status=409, check=lambda b: (b["error"]["code"], b["error"]["field"]) == ("not_printing", "uuid")),
    Endpoint("print X", "POST", "/printing/x-report", "cashier", lambda e, r: Call("/printing/x-report"),
             check=lambda b: b["print"]["printed"] is False and "revenue" in b["report"]),
    Endpoint("drawer", "POST", "/printing/drawer", "cashier", lambda e, r: Call("/printing/drawer"),
             status=409, check=lambda b: b["error"]["code"] == "printer_unset"),
    Endpoint("copy last", "POST", "/printing/copy", "cashier", lambda e, r: Call("/printing/copy"),
             status=409, check=lambda b: b["error"]["code"] == "printer_unset"),
    Endpoint("copy", "POST", "/receipts/{receipt_uuid}/copy", "cashier",
             lambda e, r: Call(f"/receipts/{_helper_sale(e)}/copy"),
             status=409, check=lambda b: b["error"]["code"] == "printer_unset"),
    Endpoint("sync status", "GET", "/sync/status", "seller", lambda e, r: Call("/sync/status"),
             check=lambda b: b["state"] == "off" and set(b["backlog"]) == {"receipts", "z"}),
    Endpoint("sync now", "POST", "/sync/now", "admin", lambda e, r: Call("/sync/now"), check=lambda b: "jobs" in b),
    Endpoint("sync secret", "PUT", "/sync/secret", "admin", lambda e, r: Call("/sync/secret", {"secret": "s" * 24}),
             check=lambda b: b == {"ok": True}),
]
OPEN_ROUTES = {("POST", "/auth/login"), ("POST", "/auth/login-code"), ("GET", "/health")}


def _send(env: Env, endpoint: Endpoint, call: Call, headers: dict[str, str], client: TestClient | None = None):
    return (client or env.client).request(
        endpoint.method, API + call.path, json=call.json, content=call.content, params=call.params,
        headers={**headers, **call.headers},
    )


def test_the_table_covers_every_endpoint():
    declared = {
        (method, route.path.removeprefix(API))
        for route in api.router.routes if isinstance(route, APIRoute)
        for method in route.methods
    }
    tabled = {(e.method, e.route) for e in ENDPOINTS}
    assert declared == tabled | OPEN_ROUTES


ROLE_CASES = [(e, role) for e in ENDPOINTS for role in LEVEL]


@pytest.mark.parametrize(("endpoint", "role"), ROLE_CASES, ids=[f"{e.name}-{r}" for e, r in ROLE_CASES])
def test_each_endpoint_as_each_role(env, endpoint, role):
    call = endpoint.prepare(env, role)
    headers = {} if "Authorization" in call.headers else env.heads[role]
    response = _send(env, endpoint, call, headers)
    assert response.status_code < 500, response.text
    if LEVEL[role] >= LEVEL[endpoint.min_role]:
        assert response.status_code == endpoint.status, response.text
        assert endpoint.check(response.json()), response.text
    else:
        assert response.status_code == 403, response.text
        error = response.json()["error"]
        assert (error["code"], error["field"]) == ("forbidden", "role"), error
        assert error["message"] and error["message_en"]


def test_refused_roles_change_nothing(env):
    seller = env.heads["seller"]
    _with_line(env, "seller")
    assert _post(env, "seller", "/receipt/pay", json={"cash": "100"}).status_code == 403
    assert env.client.get(f"{API}/receipt", headers=seller).json()["status"] == "open"
    before = env.client.get(f"{API}/settings", headers=env.heads["cashier"]).json()
    assert env.client.patch(f"{API}/settings", json={"orgname": "Взлом"}, headers=env.heads["cashier"]).status_code == 403
    assert env.client.get(f"{API}/settings", headers=env.heads["cashier"]).json() == before
    assert _post(env, "seller", "/users", json={"login": "intruder", "password": "secret", "role": "admin"}).status_code == 403
    logins = [u["login"] for u in env.client.get(f"{API}/users", headers=env.heads["admin"]).json()]
    assert "intruder" not in logins
    # a seller can't make themselves admin, and stays a seller
    assert env.client.patch(f"{API}/users/{env.ids['seller']}", json={"role": "admin"}, headers=seller).status_code == 403
    assert env.client.get(f"{API}/auth/me", headers=seller).json()["role"] == "seller"


def _placeholder(route: str) -> str:
    return (route.replace("{line_no}", "1").replace("{receipt_uuid}", "00000000-0000-0000-0000-000000000000")
            .replace("{z_uuid}", "00000000-0000-0000-0000-000000000000").replace("{code}", "1001")
            .replace("{user_id}", "1"))


UNIQUE_ROUTES = sorted({(e.method, e.route) for e in ENDPOINTS})


@pytest.mark.parametrize(("method", "route"), UNIQUE_ROUTES, ids=[f"{m} {r}" for m, r in UNIQUE_ROUTES])
@pytest.mark.parametrize("auth", ["none", "bad bearer", "bad cookie"])
def test_unauthenticated_is_401(env, method, route, auth):
    env.client.cookies.clear()
    headers = {"Authorization": "Bearer not-a-token"} if auth == "bad bearer" else {}
    if auth == "bad cookie":
        headers["Cookie"] = f"{api.SESSION_COOKIE}=not-a-token"
    response = env.client.request(method, API + _placeholder(route), headers=headers, json={})
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("unauthenticated", "authorization")


def test_health_and_login_need_no_session(env):
    env.client.cookies.clear()
    assert env.client.get(f"{API}/health").json()["status"] == "ok"
    answer = env.client.post(f"{API}/auth/login-code", json={"code": "1110000000024"})
    assert answer.status_code == 200 and answer.json()["user"]["login"] == "kassir"
    env.client.cookies.clear()


# --- the browser's cookie session and its CSRF token ---------------------------------------------


@pytest.fixture(scope="module")
def browser(env) -> tuple[TestClient, str]:
    """An admin logged in with the session cookie only (no bearer), and the CSRF token of that session."""
    client = TestClient(env.app, raise_server_exceptions=False)
    answer = client.post(f"{API}/auth/login", json={"login": "admin", "password": "admin"})
    assert answer.status_code == 200 and api.SESSION_COOKIE in client.cookies
    return client, answer.json()["csrf_token"]


CHANGES = [e for e in ENDPOINTS if e.method != "GET" and e.name != "logout"]
READS = [e for e in ENDPOINTS if e.method == "GET"]


@pytest.mark.parametrize("endpoint", CHANGES, ids=[e.name for e in CHANGES])
def test_cookie_change_needs_the_csrf_token(env, browser, endpoint):
    client, csrf = browser
    call = endpoint.prepare(env, "admin")
    for headers in ({}, {CSRF_HEADER: "forged"}):
        refused = _send(env, endpoint, call, headers, client)
        assert refused.status_code == 403, refused.text
        assert (refused.json()["error"]["code"], refused.json()["error"]["field"]) == ("csrf", CSRF_HEADER)
    accepted = _send(env, endpoint, call, {CSRF_HEADER: csrf}, client)
    assert accepted.status_code == endpoint.status, accepted.text
    assert endpoint.check(accepted.json()), accepted.text


@pytest.mark.parametrize("endpoint", READS, ids=[e.name for e in READS])
def test_cookie_reads_need_no_csrf_token(env, browser, endpoint):
    client, _ = browser
    call = endpoint.prepare(env, "admin")
    response = _send(env, endpoint, call, {}, client)
    assert response.status_code == endpoint.status, response.text
    assert endpoint.check(response.json()), response.text


def test_csrf_token_of_another_session_is_refused(env, browser):
    client, _ = browser
    other = env.client.post(f"{API}/auth/login", json={"login": "admin", "password": "admin"}).json()["csrf_token"]
    env.client.cookies.clear()
    response = client.post(f"{API}/receipt", headers={CSRF_HEADER: other})
    assert response.status_code == 403 and response.json()["error"]["code"] == "csrf"


def test_cookie_logout_ends_the_session(env):
    client = TestClient(env.app, raise_server_exceptions=False)
    csrf = client.post(f"{API}/auth/login", json={"login": "seller", "password": "seller"}).json()["csrf_token"]
    assert client.post(f"{API}/auth/logout").status_code == 403  # a change: needs the token too
    assert client.get(f"{API}/auth/me").status_code == 200
    assert client.post(f"{API}/auth/logout", headers={CSRF_HEADER: csrf}).status_code == 200
    assert client.get(f"{API}/auth/me").status_code == 401


def test_bearer_logout_ends_only_that_session(env):
    first = login(env.client, "seller")
    second = login(env.client, "seller")
    env.client.cookies.clear()
    assert env.client.post(f"{API}/auth/logout", headers=first).status_code == 200
    assert env.client.get(f"{API}/auth/me", headers=first).status_code == 401
    assert env.client.get(f"{API}/auth/me", headers=second).status_code == 200
