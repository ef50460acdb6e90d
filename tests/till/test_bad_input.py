"""Bad input on every endpoint: a 4xx with ``{"error": {code, field, message, message_en}}`` naming
the field, never a 500; injection strings are stored and shown verbatim, never executed.

The refusal table runs against one till per module (refusals change nothing, which the last
table test checks); tests that need a fresh till use the ``client`` fixture.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

import icecash.security as security
from icecash.core.barcodes import make_ean13
from icecash.till.app import create_app, open_till
from icecash.till.demo import seed_demo
from tests.conftest import login
from tests.helpers import API, BREAD, FAST_HASHER, MILK, scale

SQL = "Robert'); DROP TABLE users;--"
HTML = "<script>alert('x')</script>"


def assert_error(response, status: int, code: str | None, field_name: str | None) -> dict:
    assert response.status_code < 500, response.text
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert {"code", "field", "message", "message_en"} <= set(error), error
    assert error["message"] and error["message_en"]
    if code is not None:
        assert error["code"] == code, error
    assert error["field"] == field_name, error
    return error


@dataclass
class Env:
    client: TestClient
    heads: dict[str, dict[str, str]]
    sale: str  # a paid sale: line 1 two milk, line 2 bread
    values: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(security, "_hasher", FAST_HASHER)
        service = open_till(tmp_path_factory.mktemp("bad-input") / "till")
        seed_demo(service, items=200)
        with TestClient(create_app(service), raise_server_exceptions=False) as client:
            heads = {role: login(client, user) for role, user in
                     (("seller", "seller"), ("cashier", "kassir"), ("admin", "admin"))}
            client.cookies.clear()  # bearer only: the cookie session has its own tests
            cashier = heads["cashier"]
            client.post(f"{API}/receipt/lines", json={"code": "1001", "quantity": "2"}, headers=cashier)
            client.post(f"{API}/receipt/scan", json={"barcode": BREAD}, headers=cashier)
            sale = client.post(f"{API}/receipt/pay", json={"cash": "300"}, headers=cashier).json()
            assert sale["total"] == "234.70"  # 2 × 89.90 + 54.90
            # the cashier's current receipt: one milk
            assert client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=cashier).status_code == 200
            yield Env(client, heads, sale["uuid"])


@dataclass(frozen=True)
class Bad:
    name: str
    method: str
    path: str
    status: int
    code: str | None
    field: str | None
    body: object = None  # JSON body
    raw: bytes | None = None  # or raw bytes sent as application/json
    role: str = "cashier"
    headers: tuple[tuple[str, str], ...] = ()
    params: tuple[tuple[str, str], ...] = ()

    def send(self, env: Env):
        headers = {**env.heads[self.role], **dict(self.headers)} if self.role else dict(self.headers)
        kwargs: dict = {"headers": headers, "params": dict(self.params)}
        if self.raw is not None:
            kwargs["content"] = self.raw
            headers.setdefault("content-type", "application/json")
        elif self.body is not None:
            kwargs["json"] = self.body
        return env.client.request(self.method, API + self.path.format(sale=env.sale), **kwargs)


FLOAT_SUM = 0.1 + 0.2  # 0.30000000000000004: a float sum that must never become money
INVALID = "invalid_field"  # schema refusals (422)

CASES = [
    # scans: unknown, wrong check digit, cards, scale barcodes
    Bad("unknown barcode", "POST", "/receipt/scan", 404, "unknown_barcode", "barcode", {"barcode": make_ean13("460999999999")}),
    Bad("wrong check digit", "POST", "/receipt/scan", 400, "bad_check_digit", "barcode", {"barcode": "4601234567890"}),
    Bad("wrong check digit ean8", "POST", "/receipt/scan", 400, "bad_check_digit", "barcode", {"barcode": "46012341"}),
    Bad("wrong check digit via lines", "POST", "/receipt/lines", 400, "bad_check_digit", "barcode", {"barcode": "4601234567894"}),
    Bad("empty barcode", "POST", "/receipt/scan", 400, "empty_barcode", "barcode", {"barcode": "   "}),
    Bad("control characters", "POST", "/receipt/scan", 422, "invalid_field", "barcode", {"barcode": "46012\x0734567893"}),
    Bad("control characters in a name", "POST", "/users", 422, "invalid_field", "name",
        {"login": "ctl", "password": "secret", "role": "seller", "name": "Иван\x00"}),
    Bad("barcode too long", "POST", "/receipt/scan", 400, "bad_barcode", "barcode", {"barcode": "A" * 65}),
    Bad("barcode over schema limit", "POST", "/receipt/scan", 422, INVALID, "barcode", {"barcode": "1" * 257}),
    Bad("barcode as number", "POST", "/receipt/scan", 422, INVALID, "barcode", {"barcode": 4601234567893}),
    Bad("barcode null", "POST", "/receipt/scan", 422, INVALID, "barcode", {"barcode": None}),
    Bad("barcode missing", "POST", "/receipt/scan", 422, INVALID, "barcode", {}),
    Bad("user card scanned", "POST", "/receipt/scan", 400, "user_card", "barcode", {"barcode": "1110000000024"}),
    Bad("bonus card scanned", "POST", "/receipt/scan", 409, "no_bonus_service", "barcode", {"barcode": "7770000000001"}),
    Bad("unknown discount card", "POST", "/receipt/scan", 404, "unknown_card", "card", {"barcode": "2229999999999"}),
    Bad("scale zero weight", "POST", "/receipt/scan", 400, "bad_scale_barcode", "barcode", {"barcode": scale("1003", 0)}),
    Bad("scale bad check digit", "POST", "/receipt/scan", 400, "bad_check_digit", "barcode", {"barcode": "2101003002501"}),
    Bad("scale unknown item", "POST", "/receipt/scan", 404, "unknown_code", "barcode", {"barcode": scale("9999", 100)}),
    Bad("scale piece good", "POST", "/receipt/scan", 400, "scale_piece_good", "barcode", {"barcode": scale("1001", 250)}),
    Bad("scale piece good whole kg", "POST", "/receipt/scan", 400, "scale_piece_good", "barcode", {"barcode": scale("1001", 1000)}),
    Bad("scale multi-price piece good", "POST", "/receipt/scan", 400, "scale_piece_good", "barcode", {"barcode": scale("1005", 2000)}),
    # quantities
    Bad("negative quantity", "POST", "/receipt/scan", 400, "bad_quantity", "quantity", {"barcode": MILK, "quantity": "-1"}),
    Bad("zero quantity", "POST", "/receipt/lines", 400, "bad_quantity", "quantity", {"code": "1001", "quantity": "0"}),
    Bad("absurd quantity", "POST", "/receipt/lines", 400, "bad_quantity", "quantity", {"code": "1003", "quantity": "100000"}),
    Bad("huge quantity", "POST", "/receipt/lines", 422, INVALID, "quantity", {"code": "1001", "quantity": "1e30"}),
    Bad("fraction of a piece", "POST", "/receipt/lines", 400, "fractional_quantity", "quantity", {"code": "1001", "quantity": "0.5"}),
    Bad("four decimals", "POST", "/receipt/lines", 422, INVALID, "quantity", {"code": "1003", "quantity": "0.0001"}),
    Bad("float sum quantity", "POST", "/receipt/lines", 422, INVALID, "quantity", {"code": "1003", "quantity": FLOAT_SUM}),
    Bad("text quantity", "POST", "/receipt/lines", 422, INVALID, "quantity", {"code": "1001", "quantity": "two"}),
    Bad("boolean quantity", "POST", "/receipt/lines", 422, INVALID, "quantity", {"code": "1001", "quantity": True}),
    Bad("NaN quantity", "POST", "/receipt/lines", 422, INVALID, "quantity", {"code": "1001", "quantity": "NaN"}),
    # codes and prices
    Bad("neither code nor barcode", "POST", "/receipt/lines", 400, "code_or_barcode", "code", {"quantity": "1"}),
    Bad("both code and barcode", "POST", "/receipt/lines", 400, "code_or_barcode", "code", {"code": "1001", "barcode": MILK}),
    Bad("unknown code", "POST", "/receipt/lines", 404, "unknown_code", "code", {"code": "999999"}),
    Bad("group code", "POST", "/receipt/lines", 400, "group_not_sellable", "code", {"code": "1"}),
    Bad("sql in code", "POST", "/receipt/lines", 404, "unknown_code", "code", {"code": "1' OR '1'='1"}),
    Bad("code too long", "POST", "/receipt/lines", 422, INVALID, "code", {"code": "1" * 33}),
    Bad("negative price", "POST", "/receipt/lines", 400, "bad_price", "price", {"code": "1001", "price": "-89.90"}),
    Bad("zero price", "POST", "/receipt/lines", 400, "bad_price", "price", {"code": "1001", "price": "0"}),
    Bad("absurd price", "POST", "/receipt/lines", 422, INVALID, "price", {"code": "1002", "price": "1e12"}),
    Bad("float sum price", "POST", "/receipt/lines", 422, INVALID, "price", {"code": "1002", "price": FLOAT_SUM}),
    Bad("three decimal price", "POST", "/receipt/lines", 422, INVALID, "price", {"code": "1001", "price": "89.901"}),
    Bad("infinite price", "POST", "/receipt/lines", 422, INVALID, "price", {"code": "1001", "price": "Infinity"}),
    Bad("absurd line amount", "POST", "/receipt/lines", 400, "amount_too_large", "quantity",
        {"code": "1004", "quantity": "99999", "price": "99999999.99"}),
    Bad("price above max", "POST", "/receipt/lines", 400, "price_above_max", "price", {"code": "1001", "price": "500"}),
    Bad("unknown field", "POST", "/receipt/lines", 422, INVALID, "discount", {"code": "1001", "discount": "50"}),
    Bad("unknown price option", "POST", "/receipt/lines", 400, "bad_price_option", "price_option", {"code": "1005", "price_option": "x"}),
    # changing a line
    Bad("patch negative quantity", "PATCH", "/receipt/lines/1", 400, "bad_quantity", "quantity", {"quantity": "-2"}),
    Bad("patch fraction of a piece", "PATCH", "/receipt/lines/1", 400, "fractional_quantity", "quantity", {"quantity": "1.5"}),
    Bad("patch negative discount", "PATCH", "/receipt/lines/1", 400, "bad_discount", "discount_percent", {"discount_percent": "-5"}),
    Bad("patch discount over 100", "PATCH", "/receipt/lines/1", 400, "bad_discount", "discount_percent", {"discount_percent": "101"}),
    Bad("patch discount over item max", "PATCH", "/receipt/lines/1", 400, "discount_above_max", "discount_percent", {"discount_percent": "15"}),
    Bad("patch float price", "PATCH", "/receipt/lines/1", 422, INVALID, "price", {"price": FLOAT_SUM}),
    Bad("patch unknown field", "PATCH", "/receipt/lines/1", 422, INVALID, "storno", {"storno": True}),
    Bad("patch unknown line", "PATCH", "/receipt/lines/2", 404, "unknown_line", "line_no", {"quantity": "1"}),
    Bad("patch line not a number", "PATCH", "/receipt/lines/abc", 422, INVALID, "line_no", {"quantity": "1"}),
    Bad("patch line zero", "PATCH", "/receipt/lines/0", 422, INVALID, "line_no", {"quantity": "1"}),
    Bad("patch line huge", "PATCH", "/receipt/lines/99999999999999999999999", 422, INVALID, "line_no", {"quantity": "1"}),
    Bad("storno unknown line", "POST", "/receipt/lines/9/storno", 404, "unknown_line", "line_no"),
    Bad("storno line huge", "POST", "/receipt/lines/99999999999999999999999/storno", 422, INVALID, "line_no"),
    Bad("select line negative", "POST", "/receipt/lines/-1/select", 422, INVALID, "line_no"),
    Bad("card number empty", "PUT", "/receipt/card", 422, INVALID, "number", {"number": ""}),
    Bad("card unknown", "PUT", "/receipt/card", 404, "unknown_card", "card", {"number": "' OR 1=1 --"}),
    # payment
    Bad("seller pays", "POST", "/receipt/pay", 403, "forbidden", "role", {"cash": "100"}, role="seller"),
    Bad("too little cash", "POST", "/receipt/pay", 400, "insufficient_payment", "cash", {"cash": "89.89"}),
    Bad("float sum cash", "POST", "/receipt/pay", 422, INVALID, "cash", {"cash": FLOAT_SUM}),
    Bad("text cash", "POST", "/receipt/pay", 422, INVALID, "cash", {"cash": "сто"}),
    Bad("absurd cash", "POST", "/receipt/pay", 422, INVALID, "cash", {"cash": "100000000000"}),
    Bad("negative card", "POST", "/receipt/pay", 400, "bad_amount", "card", {"card": "-1", "cash": "100"}),
    Bad("card over total", "POST", "/receipt/pay", 400, "card_exceeds_total", "card", {"card": "89.91"}),
    Bad("pay unknown field", "POST", "/receipt/pay", 422, INVALID, "tip", {"cash": "100", "tip": "5"}),
    Bad("stale version", "POST", "/receipt/pay", 409, "receipt_changed", "expected_version", {"cash": "100", "expected_version": 0}),
    Bad("version not a number", "POST", "/receipt/pay", 422, INVALID, "expected_version", {"cash": "100", "expected_version": "v1"}),
    Bad("key too long", "POST", "/receipt/pay", 400, "bad_idempotency_key", "Idempotency-Key", {"cash": "100"},
        headers=(("Idempotency-Key", "k" * 129),)),
    Bad("admin pays nothing", "POST", "/receipt/pay", 409, "empty_receipt", "lines", {"cash": "1"}, role="admin"),
    Bad("defer nothing", "POST", "/receipt/defer", 409, "no_receipt", "receipt", role="admin"),
    # returns
    Bad("return no lines", "POST", "/receipts/{sale}/return", 422, INVALID, "lines", {"lines": []}),
    Bad("return negative", "POST", "/receipts/{sale}/return", 400, "bad_quantity", "lines[0].quantity",
        {"lines": [{"line_no": 1, "quantity": "-1"}]}),
    Bad("return more than sold", "POST", "/receipts/{sale}/return", 400, "return_exceeds_sold", "lines[0].quantity",
        {"lines": [{"line_no": 1, "quantity": "3"}]}),
    Bad("return fraction of a piece", "POST", "/receipts/{sale}/return", 400, "fractional_quantity", "lines[1].quantity",
        {"lines": [{"line_no": 1, "quantity": "1"}, {"line_no": 2, "quantity": "0.5"}]}),
    Bad("return line zero", "POST", "/receipts/{sale}/return", 422, INVALID, "lines[0].line_no",
        {"lines": [{"line_no": 0, "quantity": "1"}]}),
    Bad("return float quantity", "POST", "/receipts/{sale}/return", 422, INVALID, "lines[0].quantity",
        {"lines": [{"line_no": 1, "quantity": FLOAT_SUM}]}),
    Bad("return negative card", "POST", "/receipts/{sale}/return", 400, "bad_amount", "card",
        {"lines": [{"line_no": 1, "quantity": "1"}], "card": "-1"}),
    Bad("return card never paid", "POST", "/receipts/{sale}/return", 400, "card_exceeds_paid", "card",
        {"lines": [{"line_no": 1, "quantity": "1"}], "card": "10"}),
    Bad("return unknown receipt", "POST", "/receipts/nope/return", 404, "unknown_receipt", "uuid",
        {"lines": [{"line_no": 1, "quantity": "1"}]}),
    Bad("seller returns", "POST", "/receipts/{sale}/return", 403, "forbidden", "role",
        {"lines": [{"line_no": 1, "quantity": "1"}]}, role="seller"),
    Bad("load a paid receipt", "POST", "/receipts/{sale}/load", 409, "not_deferred", "uuid"),
    Bad("load unknown receipt", "POST", "/receipts/' OR 1=1 --/load", 404, "unknown_receipt", "uuid"),
    Bad("seller sees others' receipt", "GET", "/receipts/{sale}", 403, "forbidden", "uuid", role="seller"),
    # releasing a receipt stuck in printing
    Bad("release unknown receipt", "POST", "/receipts/' OR 1=1 --/release", 404, "unknown_receipt", "uuid", role="admin"),
    Bad("release a paid receipt", "POST", "/receipts/{sale}/release", 409, "not_printing", "uuid", role="admin"),
    Bad("release own paid receipt", "POST", "/receipts/{sale}/release", 409, "not_printing", "uuid"),
    Bad("seller releases", "POST", "/receipts/{sale}/release", 403, "forbidden", "role", role="seller"),
    # receipt search
    Bad("number zero", "GET", "/receipts", 422, INVALID, "number", params=(("number", "0"),)),
    Bad("number huge", "GET", "/receipts", 422, INVALID, "number", params=(("number", "9" * 30),)),
    Bad("offset huge", "GET", "/receipts", 422, INVALID, "offset", params=(("offset", "9" * 30),)),
    Bad("bad kind", "GET", "/receipts", 422, INVALID, "kind", params=(("kind", "refund"),)),
    Bad("bad date", "GET", "/receipts", 422, INVALID, "date_from", params=(("date_from", "2026-13-01"),)),
    Bad("limit too big", "GET", "/receipts", 422, INVALID, "limit", params=(("limit", "100000"),)),
    # cash and reports
    Bad("cash in zero", "POST", "/cash/in", 422, INVALID, "amount", {"amount": "0"}),
    Bad("cash in negative", "POST", "/cash/in", 422, INVALID, "amount", {"amount": "-100"}),
    Bad("cash out negative", "POST", "/cash/out", 422, INVALID, "amount", {"amount": "-100"}),
    Bad("cash out float", "POST", "/cash/out", 422, INVALID, "amount", {"amount": FLOAT_SUM}),
    Bad("cash out more than drawer", "POST", "/cash/out", 409, "not_enough_cash", "amount", {"amount": "10000"}),
    Bad("cash comment too long", "POST", "/cash/in", 422, INVALID, "comment", {"amount": "1", "comment": "x" * 257}),
    Bad("seller cash in", "POST", "/cash/in", 403, "forbidden", "role", {"amount": "1"}, role="seller"),
    Bad("seller X", "GET", "/reports/x", 403, "forbidden", "role", role="seller"),
    Bad("seller Z", "POST", "/reports/z", 403, "forbidden", "role", role="seller"),
    Bad("unknown Z", "GET", "/reports/z/<script>", 404, "unknown_z", "uuid"),
    Bad("Z list bad date", "GET", "/reports/z", 422, INVALID, "date_to", params=(("date_to", "yesterday"),)),
    # catalogue
    Bad("search too long", "GET", "/catalogue/items", 422, INVALID, "q", params=(("q", "x" * 129),)),
    Bad("search with NUL", "GET", "/catalogue/items", 422, INVALID, "q", params=(("q", "\x00zzzz"),)),
    Bad("search with escape", "GET", "/catalogue/items", 422, INVALID, "q", params=(("q", "мол\x1b[2J"),)),
    Bad("search with DEL", "GET", "/catalogue/items", 422, INVALID, "q", params=(("q", "zzzz\x7f"),)),
    Bad("search limit zero", "GET", "/catalogue/items", 422, INVALID, "limit", params=(("limit", "0"),)),
    Bad("search offset huge", "GET", "/catalogue/items", 422, INVALID, "offset", params=(("offset", "9" * 30),)),
    Bad("unknown item", "GET", "/catalogue/items/<script>", 404, "unknown_code", "code"),
    Bad("import empty", "POST", "/catalogue/import", 400, "empty_file", "file", raw=b"", role="admin",
        headers=(("content-type", "text/csv"),)),
    Bad("import garbage", "POST", "/catalogue/import", 400, "bad_price_file", "header", raw=b"\x00\x01 not a price file",
        role="admin", headers=(("content-type", "text/csv"),), params=(("filename", "x.csv"),)),
    Bad("cashier imports", "POST", "/catalogue/import", 403, "forbidden", "role", raw=b"code;name;price\n"),
    Bad("card over 100 %", "POST", "/discount-cards", 400, "bad_discount", "percent", {"number": "2220000000035", "percent": "150"},
        role="admin"),
    Bad("card negative", "POST", "/discount-cards", 400, "bad_discount", "percent", {"number": "2220000000035", "percent": "-1"},
        role="admin"),
    Bad("card no number", "POST", "/discount-cards", 422, INVALID, "number", {"number": "", "percent": "5"}, role="admin"),
    Bad("cashier adds card", "POST", "/discount-cards", 403, "forbidden", "role", {"number": "2220000000035", "percent": "5"}),
    # settings
    Bad("unknown setting", "PATCH", "/settings", 400, "unknown_setting", "no_such_setting", {"no_such_setting": "1"}, role="admin"),
    Bad("bad INN", "PATCH", "/settings", 400, "bad_setting", "inn", {"inn": "7707083894"}, role="admin"),
    Bad("bad port", "PATCH", "/settings", 400, "bad_setting", "printd_port", {"printd_port": "70000"}, role="admin"),
    Bad("bad time", "PATCH", "/settings", 400, "bad_setting", "begin_time", {"begin_time": "25:00"}, role="admin"),
    Bad("bad prefix", "PATCH", "/settings", 400, "bad_prefix", "scale_prefix", {"scale_prefix": "2a"}, role="admin"),
    Bad("setting as an object", "PATCH", "/settings", 422, INVALID, "inn", {"inn": {"$ne": ""}}, role="admin"),
    Bad("setting as a list", "PATCH", "/settings", 422, INVALID, "orgname", {"orgname": ["a"]}, role="admin"),
    Bad("setting as a fraction", "PATCH", "/settings", 422, INVALID, "nkassa", {"nkassa": 1.5}, role="admin"),
    Bad("settings not an object", "PATCH", "/settings", 422, INVALID, "body", [1, 2], role="admin"),
    Bad("cashier patches settings", "PATCH", "/settings", 403, "forbidden", "role", {"orgname": "x"}),
    Bad("seller reads settings", "GET", "/settings", 403, "forbidden", "role", role="seller"),
    # users
    Bad("bad login", "POST", "/users", 400, "bad_login", "login", {"login": SQL, "password": "secret", "role": "seller"}, role="admin"),
    Bad("short password", "POST", "/users", 400, "bad_password", "password", {"login": "newbie", "password": "abc", "role": "seller"},
        role="admin"),
    Bad("unknown role", "POST", "/users", 422, INVALID, "role", {"login": "newbie", "password": "secret", "role": "root"}, role="admin"),
    Bad("login taken", "POST", "/users", 409, "login_taken", "login", {"login": "kassir", "password": "secret", "role": "seller"},
        role="admin"),
    Bad("user code taken", "POST", "/users", 409, "code_taken", "code",
        {"login": "newbie", "password": "secret", "role": "seller", "code": "1110000000017"}, role="admin"),
    Bad("unknown user", "PATCH", "/users/999", 404, "unknown_user", "user_id", {"name": "x"}, role="admin"),
    Bad("user id huge", "PATCH", "/users/99999999999999999999999", 422, INVALID, "user_id", {"name": "x"}, role="admin"),
    Bad("null theme", "PATCH", "/users/2", 400, "null_field", "theme", {"theme": None}, role="admin"),
    Bad("null role", "PATCH", "/users/2", 400, "null_field", "role", {"role": None}, role="admin"),
    Bad("null name", "PATCH", "/users/2", 400, "null_field", "name", {"name": None}, role="admin"),
    Bad("code of another user", "PATCH", "/users/2", 409, "code_taken", "code", {"code": "1110000000017"}, role="admin"),
    Bad("bad theme", "PATCH", "/users/2", 422, INVALID, "theme", {"theme": "neon"}, role="admin"),
    Bad("own role", "PATCH", "/users/2", 403, "forbidden", "role", {"role": "admin"}),
    Bad("someone else's password", "PATCH", "/users/1", 403, "forbidden", "role", {"password": "hacked"}),
    Bad("cashier lists users", "GET", "/users", 403, "forbidden", "role"),
    # auth
    Bad("wrong password", "POST", "/auth/login", 400, "bad_credentials", "password", {"login": "kassir", "password": "nope"}, role=""),
    Bad("login missing password", "POST", "/auth/login", 422, INVALID, "password", {"login": "kassir"}, role=""),
    Bad("login unknown field", "POST", "/auth/login", 422, INVALID, "remember", {"login": "kassir", "password": "kassir", "remember": 1},
        role=""),
    Bad("unknown user card", "POST", "/auth/login-code", 400, "bad_credentials", "code", {"code": "1119999999999"}, role=""),
    Bad("no token", "GET", "/receipt", 401, "unauthenticated", "authorization", role=""),
    Bad("bad token", "GET", "/receipt", 401, "unauthenticated", "authorization", role="", headers=(("Authorization", "Bearer ' OR 1=1 --"),)),
    # the body itself
    Bad("malformed JSON", "POST", "/receipt/scan", 400, "malformed_json", "body", raw=b'{"barcode": "4601234567893",'),
    Bad("not UTF-8", "POST", "/receipt/scan", 400, "malformed_json", "body", raw=b'{"barcode": "\xff\xfe"}'),
    Bad("body is a list", "POST", "/receipt/scan", 422, INVALID, "body", [MILK]),
    Bad("body is a string", "POST", "/receipt/lines", 422, INVALID, "body", "1001"),
    Bad("no body", "POST", "/receipt/scan", 422, INVALID, "body"),
    Bad("nested too deep", "POST", "/receipt/scan", 400, "malformed_json", "body", raw=b"[" * 100_000 + b"]" * 100_000),
    Bad("over 1 MiB", "POST", "/receipt/scan", 413, "body_too_large", "body",
        raw=json.dumps({"barcode": "1" * (1 << 20)}).encode()),
    Bad("over 1 MiB settings", "PATCH", "/settings", 413, "body_too_large", "body",
        raw=json.dumps({"orgname": "x" * (1 << 20)}).encode(), role="admin"),
    Bad("no such address", "GET", "/nowhere", 404, "not_found", "path"),
    Bad("wrong method", "DELETE", "/receipt/pay", 405, "method_not_allowed", "method"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_refused_with_a_named_field(env, case):
    assert_error(case.send(env), case.status, case.code, case.field)


def test_refusals_changed_nothing(env):
    cashier = env.heads["cashier"]
    current = env.client.get(f"{API}/receipt", headers=cashier).json()
    assert [(ln["code"], ln["quantity"]) for ln in current["lines"]] == [("1001", "1.000")]
    assert current["total"] == "89.90"
    x = env.client.get(f"{API}/reports/x", headers=cashier).json()
    assert (x["sales_count"], x["returns_count"], x["cash_in"], x["cash_out"], x["cash"]) == (1, 0, "0.00", "0.00", "234.70")
    settings = env.client.get(f"{API}/settings", headers=cashier).json()
    shop = {s["name"]: s["value"] for s in settings["shop"]}
    assert shop["inn"] == "7707083893" and shop["orgname"] == "ООО «Демо-Маркет»"
    users = env.client.get(f"{API}/users", headers=env.heads["admin"]).json()
    assert sorted(u["login"] for u in users) == ["admin", "kassir", "seller"]
    assert {u["login"]: u["theme"] for u in users}["kassir"] == "light"


def test_chunked_body_over_the_limit_is_413(env):
    body = json.dumps({"barcode": "1" * (1 << 20)}).encode()

    def chunks():
        for start in range(0, len(body), 65536):
            yield body[start:start + 65536]

    response = env.client.post(f"{API}/receipt/scan", content=chunks(),
                               headers={**env.heads["cashier"], "content-type": "application/json"})
    assert_error(response, 413, "body_too_large", "body")


def test_the_body_limit_is_exactly_one_mebibyte(env):
    def body_of(size: int) -> bytes:
        head, tail = b'{"barcode": "', b'"}'
        return head + b"1" * (size - len(head) - len(tail)) + tail

    headers = {**env.heads["cashier"], "content-type": "application/json"}
    at_limit = env.client.post(f"{API}/receipt/scan", content=body_of(1 << 20), headers=headers)
    assert_error(at_limit, 422, INVALID, "barcode")  # read and refused by the schema, not by size
    over = env.client.post(f"{API}/receipt/scan", content=body_of((1 << 20) + 1), headers=headers)
    assert_error(over, 413, "body_too_large", "body")


def test_z_with_nothing_to_close(client, cashier):
    assert_error(client.post(f"{API}/reports/z", headers=cashier), 409, "nothing_to_close", "shift")
    # an open receipt is not something to close either
    client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=cashier)
    assert_error(client.post(f"{API}/reports/z", headers=cashier), 409, "nothing_to_close", "shift")


def test_a_receipt_never_exceeds_the_money_limit(client, cashier):
    # vodka has no maximum price: 1 000 000.00 is allowed for one bottle
    first = client.post(f"{API}/receipt/lines", json={"code": "1004", "price": "1000000"}, headers=cashier)
    assert first.status_code == 200 and first.json()["total"] == "1000000.00"
    # 100 bottles would be 100 000 000.00 > 99 999 999.99
    assert_error(client.patch(f"{API}/receipt/lines/1", json={"quantity": "100"}, headers=cashier),
                 400, "amount_too_large", "quantity")
    assert_error(client.patch(f"{API}/receipt/lines/1", json={"quantity": "2", "price": "50000000"}, headers=cashier),
                 400, "amount_too_large", "price")
    ok = client.patch(f"{API}/receipt/lines/1", json={"quantity": "99"}, headers=cashier)
    assert ok.status_code == 200 and ok.json()["total"] == "99000000.00"
    # one more line of 999 999.99 fits exactly; a kopeck more does not
    assert_error(client.post(f"{API}/receipt/lines", json={"code": "1004", "price": "1000000"}, headers=cashier),
                 400, "amount_too_large", "price")
    last = client.post(f"{API}/receipt/lines", json={"code": "1004", "price": "999999.99"}, headers=cashier)
    assert last.status_code == 200 and last.json()["total"] == "99999999.99"
    paid = client.post(f"{API}/receipt/pay", json={"card": "99999999.99"}, headers=cashier)
    assert paid.status_code == 200 and paid.json()["card"] == "99999999.99"


def test_pay_an_empty_receipt(client, cashier):
    assert_error(client.post(f"{API}/receipt/pay", json={"cash": "0"}, headers=cashier), 409, "empty_receipt", "lines")
    client.post(f"{API}/receipt", headers=cashier)
    assert_error(client.post(f"{API}/receipt/pay", json={}, headers=cashier), 409, "empty_receipt", "lines")


# --- injection: stored and shown verbatim, never executed --------------------------------------


def test_sql_and_html_in_user_names_come_back_verbatim(client, admin):
    for login_name, name in (("bobby", SQL), ("xss", HTML), ("pct", "100% _real_ \\ name")):
        created = client.post(f"{API}/users", json={"login": login_name, "password": "secret", "role": "seller", "name": name},
                              headers=admin)
        assert created.status_code == 201, created.text
    listed = client.get(f"{API}/users", headers=admin)
    assert listed.headers["content-type"].startswith("application/json")
    names = {u["login"]: u["name"] for u in listed.json()}
    assert names["bobby"] == SQL and names["xss"] == HTML and names["pct"] == "100% _real_ \\ name"
    assert len(names) == 6  # the users table is still there, with everyone in it
    assert client.post(f"{API}/auth/login", json={"login": "kassir", "password": "kassir"}).status_code == 200
    # the user logs in and sees their own name verbatim
    bobby = login(client, "bobby", "secret")
    assert client.get(f"{API}/auth/me", headers=bobby).json()["name"] == SQL


def test_injection_in_the_login_is_just_a_wrong_login(client):
    response = client.post(f"{API}/auth/login", json={"login": "admin' --", "password": "' OR '1'='1"})
    assert_error(response, 400, "bad_credentials", "password")


def test_catalogue_search_takes_wildcards_literally(client, admin, cashier):
    csv = (
        "code;name;price;group\n"
        "9001;Скидка 50%_тест;10.00;10\n"
        f"9002;\"{SQL}\";12.00;10\n"
        f"9003;{HTML};13.00;10\n"
        "9004;Under_score;14.00;10\n"
    ).encode()
    imported = client.post(f"{API}/catalogue/import", params={"filename": "x.csv"}, content=csv,
                           headers={**admin, "content-type": "text/csv"})
    assert imported.status_code == 200, imported.text
    assert imported.json()["items"] == 4

    def names(q: str) -> list[str]:
        response = client.get(f"{API}/catalogue/items", params={"q": q, "limit": 200}, headers=cashier)
        assert response.status_code == 200, response.text
        return sorted(item["name"] for item in response.json())

    # "%" finds only names with a literal % (milk "3,2%" and the new item), not all 200+
    assert names("%") == ["Молоко 3,2% 1 л", "Скидка 50%_тест"]
    assert names("_") == ["Under_score", "Скидка 50%_тест"]
    assert names("%_") == ["Скидка 50%_тест"]
    assert names("' OR 1=1 --") == []
    assert names("DROP TABLE") == [SQL]
    assert names("<script>") == [HTML]
    assert names("\\") == []
    # the catalogue is intact and the names sell verbatim
    assert client.get(f"{API}/catalogue", headers=cashier).json()["items"] == 204
    view = client.post(f"{API}/receipt/lines", json={"code": "9002"}, headers=cashier).json()
    assert view["lines"][0]["name"] == SQL


def test_catalogue_search_refuses_control_characters_on_the_screen_too(env):
    """A NUL cut the search pattern short and matched every item; the screen's search refuses it as the API does."""
    cashier = env.heads["cashier"]
    assert env.client.get(f"{API}/catalogue/items", params={"q": "zzzz"}, headers=cashier).json() == []
    for q in ("\x00zzzz", "zzzz\x00", "\x07"):
        assert_error(env.client.get("/ui/catalogue", params={"q": q}, headers=cashier), 422, INVALID, "q")
    found = env.client.get("/ui/catalogue", params={"q": "Бородинский"}, headers=cashier)
    assert found.status_code == 200 and "1002" in found.text and "1001" not in found.text


def test_injection_in_settings_and_cards_is_stored_verbatim(client, admin, cashier):
    text = "'; DELETE FROM settings; -- <b>ООО</b>"
    response = client.patch(f"{API}/settings", json={"orgname": text, "texthead": HTML}, headers=admin)
    assert response.status_code == 200, response.text
    shop = {s["name"]: s["value"] for s in client.get(f"{API}/settings", headers=cashier).json()["shop"]}
    assert shop["orgname"] == text and shop["texthead"] == HTML and shop["inn"] == "7707083893"
    card = client.post(f"{API}/discount-cards", json={"number": "2220000000035", "percent": "7", "name": SQL}, headers=admin)
    assert card.status_code == 200, card.text
    view = client.put(f"{API}/receipt/card", json={"number": "2220000000035"}, headers=cashier).json()
    assert view["card_percent"] == "7.00"
