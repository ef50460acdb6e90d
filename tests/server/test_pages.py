"""Admin and report pages: login, roles (operator, firm admin, firm viewer), CSRF, escaping, CSV export."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from icecash.server.app import create_app, open_server
from tests.server.conftest import make_receipt, make_z, parsed, two_firms


@pytest.fixture
def site(tmp_path: Path):
    server = open_server(tmp_path / "server")
    secrets = two_firms(server)
    server._test_secrets = secrets
    _, till, _ = server.till_login("alpha", 1, 1, secrets[("alpha", 1, 1)])
    server.ingest_receipts(till, [parsed(make_receipt(number=n, name="<script>alert(1)</script>")) for n in range(1, 4)])
    from tests.server.test_storage import parsed_z

    server.ingest_z(till, [parsed_z(make_z())])
    _, beta_till, _ = server.till_login("beta", 1, 1, secrets[("beta", 1, 1)])
    server.ingest_receipts(beta_till, [parsed(make_receipt(name="Бета-товар"))])
    yield server, lambda: TestClient(create_app(server), raise_server_exceptions=False)


def log_in(client: TestClient, login: str, password: str) -> str:
    answer = client.post("/login", data={"login": login, "password": password}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/firms/alpha" if login.startswith("alpha") else "/")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_pages_need_a_login(site):
    _, make = site
    client = make()
    for path in ("/", "/firms/alpha", "/firms/alpha/receipts", "/firms/alpha/z"):
        answer = client.get(path, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert client.post("/login", data={"login": "operator", "password": "wrong-pass"}).status_code == 401


def test_operator_sees_every_firm(site):
    _, make = site
    client = make()
    log_in(client, "operator", "operator-pass")
    home = client.get("/")
    assert "alpha" in home.text and "beta" in home.text
    assert "Бета-товар" in client.get("/firms/beta/reports/top", params={"date_from": "2026-11-01", "date_to": "2026-11-30"}).text


def test_a_firm_admin_sees_only_their_firm(site):
    _, make = site
    client = make()
    log_in(client, "alpha-admin", "alpha-pass")
    assert client.get("/", follow_redirects=False).headers["location"] == "/firms/alpha"
    for path in ("/firms/beta", "/firms/beta/receipts", "/firms/beta/z", "/firms/beta/variables",
                 "/firms/beta/reports/revenue"):
        answer = client.get(path)
        assert answer.status_code == 404 and "Бета-товар" not in answer.text, path
    page = client.get("/firms/alpha/receipts")
    assert page.status_code == 200 and page.text.count("/firms/alpha/receipts/") == 3


def test_a_viewer_reads_but_cannot_change(site):
    server, make = site
    client = make()
    csrf = log_in(client, "alpha-viewer", "alpha-view")
    assert 'action="/firms/alpha/variables"' not in client.get("/firms/alpha/variables").text  # no form shown
    answer = client.post("/firms/alpha/variables", data={"name": "t", "value": "1", "csrf_token": csrf})
    assert answer.status_code == 403
    viewer = server.authenticate(server.login("alpha-viewer", "alpha-view")[0])
    assert server.list_variables(viewer, "alpha") == []


def test_changes_need_the_session_csrf_token(site):
    server, make = site
    client = make()
    csrf = log_in(client, "alpha-admin", "alpha-pass")
    assert client.post("/firms/alpha/variables", data={"name": "t", "value": "1"}).status_code == 400
    assert client.post("/firms/alpha/variables", data={"name": "t", "value": "1", "csrf_token": "x" + csrf}).status_code == 400
    ok = client.post("/firms/alpha/variables", data={"name": "t", "value": "1", "csrf_token": csrf}, follow_redirects=False)
    assert ok.status_code == 303
    admin = server.authenticate(server.login("alpha-admin", "alpha-pass")[0])
    assert [v["value"] for v in server.list_variables(admin, "alpha")] == ["1"]


def test_data_is_escaped_and_csv_is_safe(site):
    server, make = site
    client = make()
    log_in(client, "alpha-admin", "alpha-pass")
    uuid = server.receipts_page(server.authenticate(server.login("alpha-admin", "alpha-pass")[0]), "alpha")["receipts"][0]["uuid"]
    page = client.get(f"/firms/alpha/receipts/{uuid}")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    from datetime import datetime

    _, till, _ = server.till_login("alpha", 2, 1, server._test_secrets[("alpha", 2, 1)])
    server.ingest_receipts(till, [parsed(make_receipt(2, 1, lines=1, name="=SUM(A1)", closed_at=datetime(2026, 11, 21, 10)))])
    top = client.get("/firms/alpha/reports/top", params={"date_from": "2026-11-21", "date_to": "2026-11-21",
                                                         "format": "csv"})
    assert top.headers["content-type"].startswith("text/csv") and "attachment" in top.headers["content-disposition"]
    lines = top.text.lstrip("\ufeff").splitlines()
    assert lines == ["code;name;quantity;total", "1001;'=SUM(A1) 1;1.000;89.90"]  # no formula reaches a spreadsheet
    revenue = client.get("/firms/alpha/reports/revenue", params={"date_from": "2026-11-20", "date_to": "2026-11-20",
                                                                 "by": "shop", "format": "csv"}).text.lstrip("\ufeff")
    assert revenue.splitlines()[1].split(";")[-3] == "539.40"  # revenue of shop 1: 3 receipts × 179.80


def test_admin_creates_a_till_and_sees_its_secret_once(site):
    server, make = site
    client = make()
    csrf = log_in(client, "alpha-admin", "alpha-pass")
    answer = client.post("/firms/alpha/tills", data={"idplace": "2", "nkassa": "5", "price_list": "main", "csrf_token": csrf})
    secret = re.search(r"shown once\): <code>([^<]+)</code>", answer.text).group(1)
    assert server.till_login("alpha", 2, 5, secret)[1].nkassa == 5
    assert secret not in client.get("/firms/alpha").text
    tills = client.get("/firms/alpha/tills").text
    assert tills.count("<tr>") == 5  # header + 4 tills of alpha, none of beta's


def test_groups_from_the_firm_page(site):
    server, make = site
    client = make()
    csrf = log_in(client, "alpha-admin", "alpha-pass")
    assert client.post("/firms/alpha/place-groups", data={"name": "south", "members": "2", "csrf_token": csrf},
                       follow_redirects=False).status_code == 303
    answer = client.post("/firms/alpha/till-groups", data={"name": "front", "members": "1/1, 1/2", "price_list": "winter",
                                                           "csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303
    page = client.get("/firms/alpha").text
    assert "south" in page and "1/1 1/2" in page
    assert client.post("/firms/alpha/till-groups", data={"name": "x", "members": "9/9", "csrf_token": csrf}).status_code == 404
    admin = server.authenticate(server.login("alpha-admin", "alpha-pass")[0])
    assert {t["nkassa"]: t["price_list"] for t in server.tills_of(admin, "alpha") if t["idplace"] == 1} == {1: "winter", 2: "winter"}
