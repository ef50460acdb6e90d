"""Administration through the API: settings (validated all-or-nothing), users and their sessions,
the catalogue import and discount cards."""

from __future__ import annotations

import argon2
import pytest
from sqlalchemy import select

import icecash.security as security
from icecash.core.barcodes import make_ean13
from icecash.store.db import reading
from icecash.till.tables import users
from tests.conftest import login
from tests.helpers import API, MILK, ok, refused



def settings_of(client, headers) -> dict[str, str]:
    groups = ok(client.get(f"{API}/settings", headers=headers))
    return {s["name"]: s["value"] for group in groups.values() for s in group}


# --- settings ------------------------------------------------------------------------------------


def test_settings_are_grouped_with_labels_and_defaults(client, cashier):
    groups = ok(client.get(f"{API}/settings", headers=cashier))
    assert list(groups) == ["server", "client", "shop", "device"]
    inn = next(s for s in groups["shop"] if s["name"] == "inn")
    assert inn == {"name": "inn", "value": "7707083893", "default": "", "label": "ИНН", "label_en": "INN (taxpayer number)"}
    prefix = next(s for s in groups["client"] if s["name"] == "scale_prefix")
    assert (prefix["value"], prefix["default"]) == ("21", "21")


def test_a_secret_setting_is_shown_to_admins_only(client, admin, cashier):
    ok(client.patch(f"{API}/settings", json={"printd_token": "s3cret-token"}, headers=admin))
    assert settings_of(client, admin)["printd_token"] == "s3cret-token"
    assert settings_of(client, cashier)["printd_token"] == "********"
    token = next(s for s in ok(client.get(f"{API}/settings", headers=cashier))["server"] if s["name"] == "printd_token")
    assert token["sensitive"] is True
    ok(client.patch(f"{API}/settings", json={"printd_token": ""}, headers=admin))
    assert settings_of(client, cashier)["printd_token"] == ""


def test_valid_settings_are_stored_and_normalised(client, admin):
    answer = ok(client.patch(f"{API}/settings", json={
        "inn": " 500100732259 ", "kpp": "770701001", "nkassa": 7, "autocut": False, "begin_time": "05:00",
        "discount_prefix": "222; 223;222", "orgname": "ООО «Ромашка»",
    }, headers=admin))
    expected = {"inn": "500100732259", "kpp": "770701001", "nkassa": "7", "autocut": "0", "begin_time": "05:00:00",
                "discount_prefix": "222;223", "orgname": "ООО «Ромашка»"}
    assert {k: answer[k] for k in expected} == expected
    assert {k: settings_of(client, admin)[k] for k in expected} == expected
    # an empty INN is allowed (not every till is set up yet)
    assert ok(client.patch(f"{API}/settings", json={"inn": ""}, headers=admin))["inn"] == ""


@pytest.mark.parametrize(("changes", "field"), [
    ({"orgname": "Новое имя", "inn": "7707083894"}, "inn"),  # bad check digit
    ({"inn": "7707083894", "orgname": "Новое имя"}, "inn"),  # the bad one first
    ({"orgname": "Новое имя", "inn": "77070838931"}, "inn"),  # 11 digits
    ({"orgname": "Новое имя", "nkassa": "0"}, "nkassa"),
    ({"orgname": "Новое имя", "server_url": "ftp://x"}, "server_url"),
    ({"orgname": "Новое имя", "texthead": "a\x00b"}, "texthead"),
    ({"orgname": "Новое имя", "default_vat": "13"}, "default_vat"),
])
def test_one_bad_setting_stores_nothing(client, admin, changes, field):
    before = settings_of(client, admin)
    response = client.patch(f"{API}/settings", json=changes, headers=admin)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["field"] == field
    assert settings_of(client, admin) == before
    assert before["orgname"] == "ООО «Демо-Маркет»" and before["inn"] == "7707083893"


def test_unknown_setting_is_refused_and_nothing_stored(client, admin):
    before = settings_of(client, admin)
    refused(client.patch(f"{API}/settings", json={"orgname": "X", "password_of_god": "1"}, headers=admin),
            400, "unknown_setting", "password_of_god")
    assert settings_of(client, admin) == before


def test_a_valid_inn_after_a_refused_one(client, admin):
    refused(client.patch(f"{API}/settings", json={"inn": "7707083894"}, headers=admin), 400, "bad_setting", "inn")
    assert ok(client.patch(f"{API}/settings", json={"inn": "7707083893"}, headers=admin))["inn"] == "7707083893"


def test_changed_settings_take_effect_at_once(client, admin, cashier):
    weighed = make_ean13("210100300250")  # 250 g of cheese with the default scale prefix 21
    view = ok(client.post(f"{API}/receipt/scan", json={"barcode": weighed}, headers=cashier))
    assert (view["lines"][0]["quantity"], view["nkassa"]) == ("0.250", 1)
    ok(client.post(f"{API}/receipt/cancel", headers=cashier))
    ok(client.patch(f"{API}/settings", json={"scale_prefix": "22", "nkassa": "3"}, headers=admin))
    # with prefix 22 the same code is a plain (unknown) barcode; 22… is the scale now
    refused(client.post(f"{API}/receipt/scan", json={"barcode": weighed}, headers=cashier), 404, "unknown_barcode", "barcode")
    view = ok(client.post(f"{API}/receipt/scan", json={"barcode": make_ean13("220100300500")}, headers=cashier))
    # 650.00 × 0.500 = 325.00, on till number 3
    assert (view["lines"][0]["quantity"], view["total"], view["nkassa"]) == ("0.500", "325.00", 3)


# --- users ---------------------------------------------------------------------------------------


def test_admin_creates_and_lists_users(client, admin):
    created = ok(client.post(f"{API}/users", json={
        "login": "maria", "password": "s3cret!", "role": "cashier", "name": "Мария", "code": "1110000000048",
        "theme": "dark", "language": "en",
    }, headers=admin), 201)
    assert created["login"] == "maria" and isinstance(created["id"], int)
    listed = {u["login"]: u for u in ok(client.get(f"{API}/users", headers=admin))}
    assert listed["maria"] == {"id": created["id"], "login": "maria", "name": "Мария", "role": "cashier",
                               "code": "1110000000048", "theme": "dark", "language": "en", "active": True}
    assert all("password" not in key for u in listed.values() for key in u)
    # the new cashier works: logs in by password and by card, and may take money
    maria = login(client, "maria", "s3cret!")
    assert ok(client.get(f"{API}/auth/me", headers=maria))["role_level"] == 50
    by_card = ok(client.post(f"{API}/auth/login-code", json={"code": "1110000000048"}))
    assert by_card["user"]["login"] == "maria"
    ok(client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=maria))
    assert ok(client.post(f"{API}/receipt/pay", json={"cash": "90"}, headers=maria))["change"] == "0.10"
    # a login without a name is named by its login
    ok(client.post(f"{API}/users", json={"login": "ivan", "password": "pass", "role": "seller"}, headers=admin), 201)
    assert {u["login"]: u["name"] for u in ok(client.get(f"{API}/users", headers=admin))}["ivan"] == "ivan"


def test_admin_patches_users_and_role_changes_apply_at_once(client, admin):
    user_id = ok(client.post(f"{API}/users", json={"login": "petr", "password": "petr1", "role": "seller"}, headers=admin), 201)["id"]
    petr = login(client, "petr", "petr1")
    refused(client.get(f"{API}/reports/x", headers=petr), 403, "forbidden", "role")
    ok(client.patch(f"{API}/users/{user_id}", json={"role": "cashier", "name": "Пётр", "code": "1110000000055"}, headers=admin))
    me = ok(client.get(f"{API}/auth/me", headers=petr))  # the same session, the new role
    assert (me["role"], me["name"]) == ("cashier", "Пётр")
    ok(client.get(f"{API}/reports/x", headers=petr))
    # the code can be cleared with null
    ok(client.patch(f"{API}/users/{user_id}", json={"code": None}, headers=admin))
    assert {u["login"]: u["code"] for u in ok(client.get(f"{API}/users", headers=admin))}["petr"] is None
    refused(client.post(f"{API}/auth/login-code", json={"code": "1110000000055"}), 400, "bad_credentials", "code")
    # deactivated: the session ends and the login is refused
    ok(client.patch(f"{API}/users/{user_id}", json={"active": False}, headers=admin))
    refused(client.get(f"{API}/auth/me", headers=petr), 401, "unauthenticated", "authorization")
    refused(client.post(f"{API}/auth/login", json={"login": "petr", "password": "petr1"}), 400, "bad_credentials", "password")
    ok(client.patch(f"{API}/users/{user_id}", json={"active": True}, headers=admin))
    assert login(client, "petr", "petr1")


def test_own_password_and_theme_but_not_role(client, seller, cashier):
    me = ok(client.get(f"{API}/auth/me", headers=seller))
    other = login(client, "seller")  # a second session of the same user
    ok(client.patch(f"{API}/users/{me['id']}", json={"theme": "dark", "language": "en"}, headers=seller))
    after = ok(client.get(f"{API}/auth/me", headers=seller))  # the theme doesn't end sessions
    assert (after["theme"], after["language"]) == ("dark", "en")
    refused(client.patch(f"{API}/users/{me['id']}", json={"role": "admin"}, headers=seller), 403, "forbidden", "role")
    refused(client.patch(f"{API}/users/{me['id']}", json={"role": "seller", "theme": "light"}, headers=seller),
            403, "forbidden", "role")
    refused(client.patch(f"{API}/users/{me['id']}", json={"active": False}, headers=seller), 403, "forbidden", "role")
    assert ok(client.get(f"{API}/auth/me", headers=seller))["role"] == "seller"
    # nor anyone else's password
    cashier_id = ok(client.get(f"{API}/auth/me", headers=cashier))["id"]
    refused(client.patch(f"{API}/users/{cashier_id}", json={"password": "owned"}, headers=seller), 403, "forbidden", "role")
    assert ok(client.get(f"{API}/auth/me", headers=cashier))["login"] == "kassir"
    # a short password is refused; a good one ends every old session
    refused(client.patch(f"{API}/users/{me['id']}", json={"password": "abc"}, headers=seller), 400, "bad_password", "password")
    ok(client.patch(f"{API}/users/{me['id']}", json={"password": "n3w-pass"}, headers=seller))
    refused(client.get(f"{API}/auth/me", headers=seller), 401, "unauthenticated", "authorization")
    refused(client.get(f"{API}/auth/me", headers=other), 401, "unauthenticated", "authorization")
    refused(client.post(f"{API}/auth/login", json={"login": "seller", "password": "seller"}), 400, "bad_credentials", "password")
    fresh = login(client, "seller", "n3w-pass")
    assert ok(client.get(f"{API}/auth/me", headers=fresh))["theme"] == "dark"


def test_passwords_are_stored_as_argon2id_hashes(till, client, admin):
    """users.password_hash holds an Argon2id hash of the password, never the password: for the demo's
    users, a user an admin creates, and a password changed later; the till's real hasher is Argon2id
    at a real cost (the tests swap in a cheap one, so its own import-time hash is read)."""
    user_id = ok(client.post(f"{API}/users", json={"login": "hashed", "password": "first-Pa55", "role": "seller"},
                             headers=admin), 201)["id"]

    def stored() -> dict[str, str]:
        with reading(till.engine) as conn:
            return dict(conn.execute(select(users.c.login, users.c.password_hash)).all())

    hashes = stored()
    assert {"admin", "kassir", "seller", "hashed"} <= set(hashes)
    assert all(h.startswith("$argon2id$") for h in hashes.values()), hashes
    assert "first-Pa55" not in hashes["hashed"]
    assert argon2.PasswordHasher().verify(hashes["hashed"], "first-Pa55")
    ok(client.patch(f"{API}/users/{user_id}", json={"password": "second-Pa55"}, headers=admin))
    changed = stored()["hashed"]
    assert changed.startswith("$argon2id$") and changed != hashes["hashed"]
    assert argon2.PasswordHasher().verify(changed, "second-Pa55")
    with pytest.raises(argon2.exceptions.VerifyMismatchError):
        argon2.PasswordHasher().verify(changed, "first-Pa55")
    real = argon2.extract_parameters(security._DUMMY_HASH)  # made by the till's own hasher at import
    assert real.type is argon2.Type.ID and real.memory_cost >= 19 * 1024 and real.time_cost >= 2


def test_admin_resets_a_password_and_ends_its_sessions(client, admin, cashier):
    cashier_id = ok(client.get(f"{API}/auth/me", headers=cashier))["id"]
    ok(client.patch(f"{API}/users/{cashier_id}", json={"password": "reset-1"}, headers=admin))
    refused(client.get(f"{API}/receipt", headers=cashier), 401, "unauthenticated", "authorization")
    ok(client.get(f"{API}/auth/me", headers=admin))  # the admin's own session is untouched
    assert login(client, "kassir", "reset-1")


def test_cookie_session_ends_with_a_password_change(client):
    answer = ok(client.post(f"{API}/auth/login", json={"login": "kassir", "password": "kassir"}))
    csrf, user_id = answer["csrf_token"], answer["user"]["id"]
    ok(client.patch(f"{API}/users/{user_id}", json={"password": "kassir-2"}, headers={"X-CSRF-Token": csrf}))
    refused(client.get(f"{API}/auth/me"), 401, "unauthenticated", "authorization")


# --- catalogue and cards -------------------------------------------------------------------------


def test_price_file_import_updates_the_catalogue(client, admin, cashier):
    csv = "code;name;price;barcode;group;min_price\n9500;Сок яблочный 1 л;120.50;4600000095004;20;100\n1001;Молоко 3,2% 1 л;95.00;4601234567893;10;80\n"
    result = ok(client.post(f"{API}/catalogue/import", params={"filename": "update.csv"}, content=csv.encode(),
                            headers={**admin, "content-type": "text/csv"}))
    assert (result["items"], result["replaced"]) == (2, 0)
    assert ok(client.get(f"{API}/catalogue", headers=cashier)) == {"items": 201, "groups": 11}  # 200 + 1 new
    juice = ok(client.get(f"{API}/catalogue/items/9500", headers=cashier))
    assert (juice["name"], juice["price"], juice["min_price"], juice["price_options"]) == ("Сок яблочный 1 л", "120.50", "100.00", [])
    view = ok(client.post(f"{API}/receipt/scan", json={"barcode": "4600000095004"}, headers=cashier))
    assert view["total"] == "120.50"
    view = ok(client.post(f"{API}/receipt/scan", json={"barcode": MILK}, headers=cashier))
    assert view["total"] == "215.50"  # 120.50 + the new milk price 95.00


def test_price_file_import_is_all_or_nothing(client, admin, cashier):
    csv = "code;name;price;group\n9600;Хороший товар;10.00;10\n9601;Плохой товар;12,3.4;10\n"
    error = refused(client.post(f"{API}/catalogue/import", params={"filename": "bad.csv"}, content=csv.encode(),
                                headers={**admin, "content-type": "text/csv"}), 400, "bad_price_file", "price")
    assert "3" in error["message_en"]  # line 3
    refused(client.get(f"{API}/catalogue/items/9600", headers=cashier), 404, "unknown_code", "code")
    assert ok(client.get(f"{API}/catalogue", headers=cashier))["items"] == 200


def test_price_file_import_as_a_form_upload(client, admin, cashier):
    files = {"file": ("form.csv", "code;name;price;group\n9700;Загружено формой;7.00;10\n".encode(), "text/csv")}
    result = ok(client.post(f"{API}/catalogue/import", files=files, headers=admin))
    assert result["items"] == 1
    assert ok(client.get(f"{API}/catalogue/items/9700", headers=cashier))["price"] == "7.00"
    refused(client.post(f"{API}/catalogue/import", files={"other": ("x.csv", b"x", "text/csv")}, headers=admin),
            400, "no_file", "file")


def test_discount_cards_created_and_replaced(client, admin, cashier):
    assert ok(client.post(f"{API}/discount-cards", json={"number": "2220000000042", "percent": "12.5", "name": "VIP"},
                          headers=admin)) == {"number": "2220000000042"}
    ok(client.post(f"{API}/receipt/scan", json={"barcode": "4601234567893"}, headers=cashier))
    ok(client.patch(f"{API}/receipt/lines/1", json={"quantity": "2"}, headers=cashier))
    view = ok(client.post(f"{API}/receipt/scan", json={"barcode": "2220000000042"}, headers=cashier))
    # 17980 × 12.5 % = 2247.5 → 2248; 17980 − 2248 = 15732 < floor 2 × 80.00 = 16000: cut to 1980 off
    assert (view["card_percent"], view["total"], view["discount"]) == ("12.50", "160.00", "19.80")
    # the same number again replaces the card
    ok(client.post(f"{API}/discount-cards", json={"number": "2220000000042", "percent": "1"}, headers=admin))
    view = ok(client.put(f"{API}/receipt/card", json={"number": "2220000000042"}, headers=cashier))
    # 1 % of 17980 = 179.8 → 180 off
    assert (view["card_percent"], view["total"]) == ("1.00", "178.00")


def test_a_closed_card_is_listed_and_refused(client, admin, cashier):
    ok(client.post(f"{API}/discount-cards", json={"number": "2220000000059", "percent": "7", "closed": True}, headers=admin))
    cards = {c["number"]: c for c in ok(client.get(f"{API}/discount-cards", headers=cashier))}
    assert (cards["2220000000059"]["closed"], cards["2220000000059"]["percent"]) == (True, "7.00")
    assert cards["2220000000011"]["closed"] is False
    refused(client.put(f"{API}/receipt/card", json={"number": "2220000000059"}, headers=cashier), 409, "card_closed", "card")
