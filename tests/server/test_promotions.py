"""Promotions on the central server: a broken one is refused with its line and column (service, API,
admin form), ``IF_PLACE_IN`` targets what a till gets, and the simulator runs a sample receipt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from icecash.core.pricefile import CatalogueRow, PriceFile, PriceHeader, StockMode
from icecash.core.promo import PromoSyntaxError
from icecash.server.app import create_app, open_server
from tests.helpers import ok
from tests.server.conftest import two_firms
from tests.server.test_api import person

ITEMS = [
    CatalogueRow(0, "12", "", "Бакалея", False, None),
    CatalogueRow(0, "20", "", "Напитки", False, None),
    CatalogueRow(0, "50", "", "Мороженое", False, None),
    CatalogueRow(0, "1002", "", "Хлеб", True, "12", 5000, max_discount_bp=1000),
    CatalogueRow(0, "1101", "", "Кофе зерновой", True, "12", 95000, max_discount_bp=1000),
    CatalogueRow(0, "2001", "", "Пиво безалкогольное 0,5", True, "20", 12000, max_discount_bp=1000, litres_ml=500),
    CatalogueRow(0, "9001", "", "Пиво безалкогольное 0,5 (подарок)", True, "20", 12000, max_discount_bp=10000),
    CatalogueRow(0, "5001", "", "Пломбир", True, "50", 8000, max_discount_bp=5000),
]
TEN = {"name": "10% от 1000 ₽", "if_text": "IF_HEAD_PROPERTY (summa?>=?1000)", "then_text": "DO_SET_HEAD_DISCOUNT (DCF,0.10)"}
THREE_FOR_TWO = {"name": "3 за 2 на пиво", "if_text": "IF_GROUP_PROPERTY {b} (paramf2?>=?3)",
                 "then_text": "DO_POS_CODE_IN {b} GROUPS (beer3)\nDO_FILTERS_GROUP\n"
                              "DO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=3,count=1) [discount=100]"}
HEAT = {"name": "Жара", "if_text": "IF_HEAD_PROPERTY (sets.temperature?>=?25)",
        "then_text": "DO_POS_CODE_IN {ice} GROUPS (icecream)\nDO_GROUP_DISCOUNT {ice} (HOT,sets.temperature)"}
TYPO = {"name": "Опечатка", "if_text": "IF_HEAD_PROPERTY (summa?>=?1000)",
        "then_text": "DO_POS_CODE_IN {a} (*)\nDO_GROUP_DISCONT {a} (A,10)"}


# --- the service, on SQLite and PostgreSQL -----------------------------------------------------------------


def test_a_broken_promotion_is_refused_with_line_and_column(server):
    two_firms(server)
    with pytest.raises(PromoSyntaxError) as refusal:
        server.save_promotion(None, "alpha", TYPO)
    error = refusal.value
    assert (error.field, error.line, error.column) == ("then", 2, 1)
    assert error.message_ru == "then, строка 2, позиция 1: неизвестная команда «DO_GROUP_DISCONT»; может быть, DO_GROUP_DISCOUNT?"
    with pytest.raises(PromoSyntaxError) as refusal:  # an unknown goods list, known once it exists
        server.save_promotion(None, "alpha", THREE_FOR_TWO)
    assert (refusal.value.field, refusal.value.line) == ("then", 1)
    admin = _admin(server)
    assert server.list_promotions(admin, "alpha") == []  # nothing stored
    server.set_goods_list(None, "alpha", "beer3", ["2001"])
    promotion_id = server.save_promotion(None, "alpha", THREE_FOR_TWO)
    with pytest.raises(PromoSyntaxError):  # a change that breaks it is refused too, the saved text stays
        server.save_promotion(None, "alpha", {**THREE_FOR_TWO, "if_text": "IF_HEAD_PROPERTY (sum?>=?1000)"}, promotion_id)
    assert [p["if_text"] for p in server.list_promotions(admin, "alpha")] == [THREE_FOR_TWO["if_text"]]


def test_place_targeting_on_sync(server):
    secrets = two_firms(server)
    server.set_place_group(None, "alpha", "north", [1])
    server.save_promotion(None, "alpha", {**TEN, "name": "Всем"})
    server.save_promotion(None, "alpha", {**TEN, "name": "Север", "if_text": "IF_PLACE_IN GROUPS (north)\n" + TEN["if_text"]})
    server.save_promotion(None, "alpha", {**TEN, "name": "Не в 1", "if_text": "IF_PLACE_IN NOT (1)"})
    server.save_promotion(None, "alpha", {**TEN, "name": "Точка 2 и север", "if_text": "IF_PLACE_IN (2)\nIF_PLACE_IN GROUPS (north)"})
    with pytest.raises(PromoSyntaxError):
        server.save_promotion(None, "alpha", {**TEN, "name": "Юг", "if_text": "IF_PLACE_IN GROUPS (south)"})

    def names(idplace: int, nkassa: int) -> list[str]:
        till = server.till_login("alpha", idplace, nkassa, secrets[("alpha", idplace, nkassa)])[1]
        return [p["name"] for p in server.promotions_for_till(till, -1)["promotions"]]

    assert names(1, 1) == names(1, 2) == ["Всем", "Север"]
    assert names(2, 1) == ["Всем", "Не в 1"]  # every IF_PLACE_IN line must hold: not "Точка 2 и север"


# --- the API and the admin pages (SQLite) -----------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path):
    server = open_server(tmp_path / "server")
    secrets = two_firms(server)
    server.push_price_list(None, "alpha", "main", PriceFile(PriceHeader(True, StockMode.CLEAR), ITEMS, [], "test"))
    server.set_goods_list(None, "alpha", "beer3", ["2001"])
    server.set_goods_list(None, "alpha", "icecream", ["5001"])
    server.set_variable(None, "alpha", "temperature", "27")
    with TestClient(create_app(server), raise_server_exceptions=False) as client:
        yield server, secrets, client


def _admin(server):
    return server.authenticate(server.login("alpha-admin", "alpha-pass")[0])


def test_the_api_refuses_a_broken_promotion_with_422(site):
    _, _, client = site
    admin = person(client, "alpha-admin", "alpha-pass")
    answer = client.post("/api/v1/firms/alpha/promotions", json=TYPO, headers=admin)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert (error["code"], error["field"], error["details"]) == ("unknown_command", "then", {"line": 2, "column": 1})
    assert error["message"].startswith("then, строка 2, позиция 1: неизвестная команда «DO_GROUP_DISCONT»")
    assert error["message_en"].startswith("then, line 2, column 1: unknown command 'DO_GROUP_DISCONT'")
    assert client.get("/api/v1/firms/alpha/promotions", headers=admin).json() == []
    created = client.post("/api/v1/firms/alpha/promotions", json=TEN, headers=admin)
    assert created.status_code == 201, created.text
    changed = client.put(f"/api/v1/firms/alpha/promotions/{created.json()['id']}", headers=admin,
                         json={**TEN, "if_text": "IF_HEAD_PROPERTY (summa?>=?много)"})
    assert changed.status_code == 422 and changed.json()["error"]["details"] == {"line": 1, "column": 28}


def test_the_admin_form_shows_the_error_and_keeps_the_text(site):
    server, _, client = site
    csrf = _log_in(client)
    form = {"name": "Опечатка", "if_text": TYPO["if_text"], "then_text": TYPO["then_text"], "active": "1", "csrf_token": csrf}
    answer = client.post("/firms/alpha/promotions/new", data=form, follow_redirects=False)
    assert answer.status_code == 422
    assert "then, строка 2, позиция 1: неизвестная команда «DO_GROUP_DISCONT»" in answer.text
    assert "DO_GROUP_DISCONT {a} (A,10)</textarea>" in answer.text  # what was typed is still there
    assert server.list_promotions(_admin(server), "alpha") == []
    form["then_text"] = "DO_POS_CODE_IN {a} (*)\r\nDO_GROUP_DISCOUNT {a} (A,10)"
    assert client.post("/firms/alpha/promotions/new", data=form, follow_redirects=False).status_code == 303
    assert [p["name"] for p in server.list_promotions(_admin(server), "alpha")] == ["Опечатка"]


def _log_in(client) -> str:
    answer = client.post("/login", data={"login": "alpha-admin", "password": "alpha-pass"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    page = client.get("/firms/alpha/simulator")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_simulator_api_runs_the_firms_promotions(site):
    server, _, client = site
    admin = person(client, "alpha-admin", "alpha-pass")
    for promotion in (TEN, THREE_FOR_TWO, HEAT):
        ok(client.post("/api/v1/firms/alpha/promotions", json=promotion, headers=admin), 201)
    sample = {"lines": [{"code": "2001", "quantity": 3000}, {"code": "5001", "quantity": 2000}, {"code": "1002"}]}
    result = ok(client.post("/api/v1/firms/alpha/promotions/simulate", json=sample, headers=admin))
    assert [(ln["code"], ln["added"], ln["discount"], ln["total"]) for ln in result["lines"]] == [
        ("2001", False, 0, 36000), ("5001", False, 4320, 11680), ("1002", False, 0, 5000), ("9001", True, 12000, 0)]
    assert (result["amount"], result["discount"], result["total"]) == (69000, 16320, 52680)
    assert result["lines"][1]["promotions"][0]["reason_ru"] == "Акция «Жара»: скидка 27% (HOT)"
    assert result["lines"][3]["promotions"][0]["name"] == "3 за 2 на пиво"
    assert [a["name"] for a in result["applied"]] == ["3 за 2 на пиво", "Жара"] and result["problems"] == []
    # the sample's own variables over the firm's; a missing one is a problem, not a failure
    cold = ok(client.post("/api/v1/firms/alpha/promotions/simulate", headers=admin,
                          json={**sample, "variables": {"temperature": "10"}}))
    assert cold["lines"][1]["discount"] == 0
    server.set_variable(None, "alpha", "temperature", None)
    missing = ok(client.post("/api/v1/firms/alpha/promotions/simulate", json=sample, headers=admin))
    assert missing["problems"] == [{"id": missing["problems"][0]["id"], "name": "Жара",
                                    "message": "Акция «Жара» пропущена: переменная sets.temperature не задана",
                                    "message_en": "Promotion 'Жара' skipped: variable sets.temperature is not set"}]
    assert missing["total"] == 69000 - 12000


def test_simulator_api_with_a_draft_and_places(site):
    server, _, client = site
    server.set_place_group(None, "alpha", "north", [1])
    admin = person(client, "alpha-admin", "alpha-pass")
    saved = ok(client.post("/api/v1/firms/alpha/promotions", json=TEN, headers=admin), 201)["id"]
    lines = [{"code": "1101"}, {"code": "1002"}]
    draft = {"name": "Север 20%", "if_text": "IF_PLACE_IN GROUPS (north)", "then_text": "DO_SET_HEAD_DISCOUNT (N,10)"}
    north = ok(client.post("/api/v1/firms/alpha/promotions/simulate", headers=admin,
                           json={"lines": lines, "idplace": 1, "promotion_ids": [], "draft": draft}))
    assert north["discount"] == 10000 and north["lines"][0]["promotions"][0]["name"] == "Север 20%"
    south = ok(client.post("/api/v1/firms/alpha/promotions/simulate", headers=admin,
                           json={"lines": lines, "idplace": 2, "promotion_ids": [], "draft": draft}))
    assert south["discount"] == 0 and south["applied"] == []
    # a draft standing in for the saved promotion: the saved text is not used
    stand_in = ok(client.post("/api/v1/firms/alpha/promotions/simulate", headers=admin, json={
        "lines": lines, "draft": {**TEN, "id": saved, "if_text": "IF_HEAD_PROPERTY (summa?>=?2000)"}}))
    assert stand_in["discount"] == 0 and stand_in["considered"] == 1
    broken = client.post("/api/v1/firms/alpha/promotions/simulate", headers=admin, json={"lines": lines, "draft": TYPO})
    assert broken.status_code == 422 and broken.json()["error"]["details"] == {"line": 2, "column": 1}
    unknown = client.post("/api/v1/firms/alpha/promotions/simulate", headers=admin, json={"lines": [{"code": "404"}]})
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "lines[0].code"
    beta = person(client, "beta-admin", "beta-pass1")
    assert client.post("/api/v1/firms/alpha/promotions/simulate", headers=beta, json={"lines": lines}).status_code == 404
    viewer = person(client, "alpha-viewer", "alpha-view")  # the simulator only reads: a viewer may use it
    assert ok(client.post("/api/v1/firms/alpha/promotions/simulate", headers=viewer, json={"lines": lines}))["total"] == 90000


def test_simulator_page(site):
    server, _, client = site
    server.save_promotion(None, "alpha", THREE_FOR_TWO)
    csrf = _log_in(client)
    assert "/firms/alpha/simulator" in client.get("/firms/alpha/promotions").text
    form = {"lines": "2001 3\n1002 1", "saved": "1", "csrf_token": csrf, "if_text": HEAT["if_text"], "then_text": HEAT["then_text"],
            "name": "Жара (черновик)", "variables": "temperature=30"}
    page = client.post("/firms/alpha/simulator", data={**form, "lines": "2001 3\n5001 2\n1002 1"})
    assert page.status_code == 200, page.text
    text = page.text
    assert "Акция «3 за 2 на пиво»: добавлено 1.000 × «Пиво безалкогольное 0,5 (подарок)»" in text
    assert "Акция «Жара (черновик)»: скидка 30% (HOT)" in text and "48.00" in text  # 30 % of 160.00
    assert "(добавлено акцией / added)" in text and 'class="no-problems"' in text
    assert server.list_promotions(_admin(server), "alpha")[0]["name"] == "3 за 2 на пиво"  # nothing saved
    broken = client.post("/firms/alpha/simulator", data={**form, "then_text": TYPO["then_text"]})
    assert broken.status_code == 422 and "then, строка 2, позиция 1" in broken.text
    assert "DO_GROUP_DISCONT {a} (A,10)</textarea>" in broken.text
    bad = client.post("/firms/alpha/simulator", data={**form, "lines": "2001 три"})
    assert bad.status_code == 400 and "Строка 1 чека" in bad.text
    no_csrf = client.post("/firms/alpha/simulator", data={**form, "csrf_token": ""})
    assert no_csrf.status_code == 400 and "Форма устарела" in no_csrf.text
    assert client.get("/firms/alpha/simulator?promotion=1").status_code == 200
