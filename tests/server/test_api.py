"""The server's HTTP APIs in-process (on SQLite and on PostgreSQL): the tills' exchange and the back office, with their refusals.

Security: a till only writes and reads its own firm's data, a firm's admin cannot see another firm,
a viewer cannot change anything, wrong credentials are rate-limited (429 with Retry-After), a
malformed batch is refused whole naming the field, and the XML of a Z escapes what it holds.
"""

from __future__ import annotations

from datetime import datetime

import defusedxml.ElementTree as SafeET
import pytest

from tests.helpers import refused
from tests.server.conftest import EX, make_receipt, make_z, till_headers

def person(client, login, password) -> dict[str, str]:
    answer = client.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_upload_is_idempotent_over_http(env):
    server, secrets, client = env
    heads = till_headers(client, secrets)
    batch = {"receipts": [make_receipt(number=n) for n in range(1, 101)]}
    first = client.post(f"{EX}/receipts", json=batch, headers=heads).json()
    second = client.post(f"{EX}/receipts", json=batch, headers=heads).json()
    assert (first["stored"], second["stored"], second["duplicates"]) == (100, 0, 100)
    assert first["accepted"] == second["accepted"]
    admin = person(client, "alpha-admin", "alpha-pass")
    assert len(client.get("/api/v1/firms/alpha/receipts", params={"limit": 1000}, headers=admin).json()["receipts"]) == 100


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda r: r["lines"][0].update(price="89.90"), "receipts[3].lines[0].price"),
    (lambda r: r["lines"][1].update(quantity=-1000), "receipts[3].lines[1].quantity"),
    (lambda r: r.update(uuid="not-a-uuid"), "receipts[3].uuid"),
    (lambda r: r.update(kind="gift"), "receipts[3].kind"),
    (lambda r: r.update(extra="field"), "receipts[3].extra"),
    (lambda r: r["lines"][0].update(name="bad\x00name"), "receipts[3].lines[0].name"),
    (lambda r: r.pop("total"), "receipts[3].total"),
])
def test_malformed_batch_is_refused_whole_naming_the_field(env, mutate, field):
    server, secrets, client = env
    heads = till_headers(client, secrets)
    batch = [make_receipt(number=n) for n in range(6)]
    mutate(batch[3])
    answer = client.post(f"{EX}/receipts", json={"receipts": batch}, headers=heads)
    refused(answer, 422, "invalid_field", field)
    admin = person(client, "alpha-admin", "alpha-pass")
    assert client.get("/api/v1/firms/alpha/receipts", headers=admin).json()["receipts"] == []


def test_not_json_and_empty_batches(env):
    server, secrets, client = env
    heads = till_headers(client, secrets)
    refused(client.post(f"{EX}/receipts", content=b"{nope", headers={**heads, "content-type": "application/json"}),
            400, "malformed_json", "body")
    refused(client.post(f"{EX}/receipts", json={"receipts": []}, headers=heads), 422, "invalid_field", "receipts")


def test_a_till_cannot_write_or_read_another_firms_data(env):
    server, secrets, client = env
    beta = till_headers(client, secrets, "beta", 1, 1)
    alpha = till_headers(client, secrets, "alpha", 1, 1)
    # beta's till claims to be alpha's shop 1 till 1: refused, nothing stored
    refused(client.post(f"{EX}/receipts", json={"receipts": [make_receipt(1, 2)]}, headers=beta),
            403, "foreign_receipt", "receipts[0].idplace")
    receipt = make_receipt(1, 1)
    assert client.post(f"{EX}/receipts", json={"receipts": [receipt]}, headers=alpha).status_code == 200
    # replaying alpha's receipt UUID from beta's till neither overwrites nor acknowledges it
    refused(client.post(f"{EX}/receipts", json={"receipts": [receipt]}, headers=beta), 409, "foreign_receipt",
            "receipts[0].uuid")
    server.set_variable(None, "alpha", "secret_of_alpha", "42")
    assert client.get(f"{EX}/variables", headers=beta).json()["variables"] == {}
    assert client.get(f"{EX}/variables", headers=alpha).json()["variables"] == {"secret_of_alpha": "42"}
    # a till token is no person's token, and the other way round
    refused(client.get("/api/v1/firms/alpha/z", headers=alpha), 401, "unauthenticated", "authorization")
    admin = person(client, "alpha-admin", "alpha-pass")
    refused(client.get(f"{EX}/variables", headers=admin), 401, "unauthenticated", "authorization")


def test_wrong_credentials_are_rate_limited(env):
    server, secrets, client = env
    wrong = {"regid": "alpha", "idplace": 1, "nkassa": 1, "secret": "guess"}
    for _ in range(5):
        refused(client.post(f"{EX}/auth", json=wrong), 401, "bad_credentials", "secret")
    answer = client.post(f"{EX}/auth", json={**wrong, "secret": secrets[("alpha", 1, 1)]})
    refused(answer, 429, "too_many_attempts", "credentials")  # even the right secret waits now
    assert int(answer.headers["Retry-After"]) > 0
    for _ in range(5):
        client.post("/api/v1/auth/login", json={"login": "beta-admin", "password": "nope"})
    refused(client.post("/api/v1/auth/login", json={"login": "beta-admin", "password": "beta-pass1"}),
            429, "too_many_attempts", "credentials")


def test_people_see_only_their_firm_over_http(env):
    server, secrets, client = env
    alpha, viewer = person(client, "alpha-admin", "alpha-pass"), person(client, "alpha-viewer", "alpha-view")
    beta = person(client, "beta-admin", "beta-pass1")
    refused(client.get("/api/v1/firms/alpha/z", headers=beta), 404, "unknown_firm", "regid")
    refused(client.get("/api/v1/firms/alpha/receipts", headers=beta), 404, "unknown_firm", "regid")
    refused(client.put("/api/v1/firms/alpha/variables/t", json={"value": "1"}, headers=viewer), 403, "forbidden", "role")
    assert client.put("/api/v1/firms/alpha/variables/t", json={"value": "1"}, headers=alpha).json() == {"version": 1}
    assert client.get("/api/v1/firms/alpha/variables", headers=viewer).json()[0]["value"] == "1"
    refused(client.put("/api/v1/firms/alpha/files/..%5Cx", content=b"x", headers=alpha), 400, "bad_file_name", "name")
    assert client.put("/api/v1/firms/alpha/files/..%2F..%2Fx", content=b"x", headers=alpha).status_code == 404
    assert client.get("/api/v1/firms/alpha/files", headers=alpha).json() == []


def test_z_json_xml_and_export_state(env):
    server, secrets, client = env
    heads = till_headers(client, secrets)
    bad = make_z(sold=1000)
    bad["lines"][0]["sold_total"] = 900
    refused(client.post(f"{EX}/z", json={"reports": [bad]}, headers=heads), 400, "z_mismatch", "reports[0].sales_total")
    z = make_z(sold=17980, returned=8990)
    assert client.post(f"{EX}/z", json={"reports": [z]}, headers=heads).json()["stored"] == 1
    admin = person(client, "alpha-admin", "alpha-pass")
    listed = client.get("/api/v1/firms/alpha/z", params={"date_from": "2026-11-20", "date_to": "2026-11-20",
                                                         "exported": "false"}, headers=admin).json()
    assert [r["uuid"] for r in listed] == [z["uuid"]]
    one = client.get(f"/api/v1/firms/alpha/z/{z['uuid']}", headers=admin).json()
    assert one["revenue"] == 8990 and one["lines"][0]["name"] == "Молоко <3,2%> & «сливки»"
    xml = client.get(f"/api/v1/firms/alpha/z/{z['uuid']}/xml", headers=admin)
    assert xml.headers["content-type"].startswith("application/xml")
    assert b"&lt;3,2%&gt; &amp;" in xml.content
    root = SafeET.fromstring(xml.content)
    assert root.tag == "zet" and root.find("head/revenue").text == "89.90"
    assert root.find("body/line/name").text == "Молоко <3,2%> & «сливки»"
    assert root.find("body/line/sold_quantity").text == "2.000"
    assert client.post("/api/v1/firms/alpha/z/exported", json={"uuids": [z["uuid"]]}, headers=admin).json() == {"marked": 1}
    assert client.get("/api/v1/firms/alpha/z", params={"exported": "false"}, headers=admin).json() == []


def test_price_push_by_file_and_json_reaches_only_bound_tills(env):
    server, secrets, client = env
    admin = person(client, "alpha-admin", "alpha-pass")
    csv = "code;name;price;group\n9100;Тестовый товар;10.00;\n".encode()
    pushed = client.put("/api/v1/firms/alpha/price-lists/main", content=csv, params={"filename": "p.csv"},
                        headers={**admin, "content-type": "text/csv"}).json()
    assert (pushed["version"], pushed["added"]) == (1, 1)
    body = {"replace": False, "rows": [{"code": "9101", "name": "Ещё товар", "price": 12345, "vat": "20",
                                        "extras": [["4600000000017", "упаковка", 0, 6000]]}]}
    assert client.put("/api/v1/firms/alpha/price-lists/main", json=body, headers=admin).json()["version"] == 2
    bad = {"rows": [{"code": "1", "name": "x", "price": "12.30"}]}
    refused(client.put("/api/v1/firms/alpha/price-lists/main", json=bad, headers=admin), 400, "invalid_field",
            "rows[0].price")
    heads = till_headers(client, secrets)
    full = client.get(f"{EX}/price", headers=heads).json()
    assert {r["code"] for r in full["rows"]} == {"9100", "9101"} and full["version"] == 2
    delta = client.get(f"{EX}/price", params={"since": 1, "list": "main"}, headers=heads).json()
    assert [r["code"] for r in delta["rows"]] == ["9101"] and delta["rows"][0]["extras"][0][3] == 6000
    beta = till_headers(client, secrets, "beta", 1, 1)
    assert client.get(f"{EX}/price", headers=beta).json()["rows"] == []


def test_heartbeat_records_the_tills_state(env):
    server, secrets, client = env
    heads = till_headers(client, secrets)
    answer = client.post(f"{EX}/heartbeat", json={"version": "0.1.0", "printer": "ATOL 30F", "backlog": 17,
                                                  "clock": "2030-01-01T00:00:00+03:00"}, headers=heads).json()
    assert answer["clock_skew_s"] > 3600  # the till's clock is years ahead: shown, not trusted
    admin = person(client, "alpha-admin", "alpha-pass")
    server_actor = server.authenticate(admin["Authorization"][7:])
    till = next(t for t in server.tills_of(server_actor, "alpha") if (t["idplace"], t["nkassa"]) == (1, 1))
    assert (till["online"], till["printer"], till["backlog"], till["version"]) == (True, "ATOL 30F", 17, "0.1.0")
    other = next(t for t in server.tills_of(server_actor, "alpha") if (t["idplace"], t["nkassa"]) == (1, 2))
    assert other["online"] is False


def test_times_with_a_zone_keep_the_tills_wall_clock(env):
    server, secrets, client = env
    heads = till_headers(client, secrets)
    receipt = make_receipt()
    receipt["closed_at"] = "2026-11-20T23:30:00+03:00"
    z = make_z()
    z["closed_at"] = "2026-11-20T23:45:00+03:00"
    assert client.post(f"{EX}/receipts", json={"receipts": [receipt]}, headers=heads).status_code == 200
    assert client.post(f"{EX}/z", json={"reports": [z]}, headers=heads).status_code == 200
    admin = person(client, "alpha-admin", "alpha-pass")
    stored = client.get(f"/api/v1/firms/alpha/receipts/{receipt['uuid']}", headers=admin).json()
    assert (stored["closed_at"], stored["business_date"]) == ("2026-11-20T23:30:00", "2026-11-20")
    assert client.get(f"/api/v1/firms/alpha/z/{z['uuid']}", headers=admin).json()["closed_at"] == "2026-11-20T23:45:00"


def test_the_tills_trading_day_over_http(env):
    """A till sends each receipt's trading day; an older till sends none (the default rule); a day that
    cannot be is refused naming it, and nothing of the batch is stored."""
    server, secrets, client = env
    heads = till_headers(client, secrets)
    night = make_receipt(closed_at=datetime(2026, 11, 21, 4, 30), number=1)
    old = make_receipt(closed_at=datetime(2026, 11, 21, 4, 30), number=2)
    night["business_date"] = "2026-11-21"  # this shop's day starts at 04:00
    bad = make_receipt(number=3)
    bad["business_date"] = "2026-11-18"
    refused(client.post(f"{EX}/receipts", json={"receipts": [night, old, bad]}, headers=heads), 400, "bad_trading_day",
            "receipts[2].business_date")
    refused(client.post(f"{EX}/receipts", json={"receipts": [{**bad, "business_date": "18.11.2026"}]}, headers=heads),
            422, "invalid_field", "receipts[0].business_date")
    assert client.post(f"{EX}/receipts", json={"receipts": [night, old]}, headers=heads).status_code == 200
    admin = person(client, "alpha-admin", "alpha-pass")
    stored = client.get("/api/v1/firms/alpha/receipts", params={"lines": "false"}, headers=admin).json()["receipts"]
    assert {r["number"]: r["business_date"] for r in stored} == {1: "2026-11-21", 2: "2026-11-20"}
    one_day = client.get("/api/v1/firms/alpha/receipts", params={"date_from": "2026-11-21", "date_to": "2026-11-21"},
                         headers=admin).json()["receipts"]
    assert [r["number"] for r in one_day] == [1]


def test_json_price_list_with_a_stock_mode(env):
    server, secrets, client = env
    admin = person(client, "alpha-admin", "alpha-pass")
    url = "/api/v1/firms/alpha/price-lists/main"
    assert client.put(url, json={"rows": [{"code": "1", "name": "Вода", "stock": 10_000}]}, headers=admin).status_code == 200
    delivery = {"replace": False, "stock_mode": "add", "rows": [{"code": "1", "name": "Вода", "stock": 2_500}]}
    assert client.put(url, json=delivery, headers=admin).json()["changed"] == 1
    refused(client.put(url, json={**delivery, "stock_mode": "more"}, headers=admin), 400, "invalid_field", "stock_mode")
    full = client.get(f"{EX}/price", headers=till_headers(client, secrets)).json()
    assert [(r["code"], r["stock"]) for r in full["rows"]] == [("1", 12_500)]
