"""The in-process session cache: a checked session is not looked up again, but whatever ends or
changes a session takes effect on the very next request.

Each test first makes a request so the token is in the cache (asserted), then ends or changes the
session, and checks the next request sees it.
"""

from __future__ import annotations

from datetime import timedelta

import icecash.till.service as service
from tests.conftest import login
from tests.helpers import API, ok, refused


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def cached(till, headers: dict[str, str], client) -> str:
    """Use the session once so the till caches it; returns its token."""
    ok(client.get(f"{API}/auth/me", headers=headers))
    token = token_of(headers)
    assert till.cached_session(token) is not None
    return token


def test_logout_ends_the_cached_session_at_once(till, client):
    first, second = login(client, "kassir"), login(client, "kassir")  # two sessions of one user
    token = cached(till, first, client)
    other = cached(till, second, client)
    ok(client.post(f"{API}/auth/logout", headers=first))
    assert till.cached_session(token) is None
    refused(client.get(f"{API}/receipt", headers=first), 401, "unauthenticated", "authorization")
    assert till.cached_session(other) is not None  # only that session ended
    ok(client.get(f"{API}/auth/me", headers=second))


def test_own_password_change_ends_every_cached_session_of_the_user(till, client):
    first, second = login(client, "seller"), login(client, "seller")
    tokens = [cached(till, first, client), cached(till, second, client)]
    user_id = ok(client.get(f"{API}/auth/me", headers=first))["id"]
    ok(client.patch(f"{API}/users/{user_id}", json={"password": "n3w-pass"}, headers=first))
    assert [till.cached_session(token) for token in tokens] == [None, None]
    refused(client.get(f"{API}/auth/me", headers=first), 401, "unauthenticated", "authorization")
    refused(client.get(f"{API}/auth/me", headers=second), 401, "unauthenticated", "authorization")


def test_admin_password_reset_ends_the_cached_session(till, client, admin):
    cashier = login(client, "kassir")
    token = cached(till, cashier, client)
    admin_token = cached(till, admin, client)
    user_id = ok(client.get(f"{API}/auth/me", headers=cashier))["id"]
    ok(client.patch(f"{API}/users/{user_id}", json={"password": "reset-1"}, headers=admin))
    assert till.cached_session(token) is None
    refused(client.post(f"{API}/receipt/scan", json={"barcode": "4601234567893"}, headers=cashier),
            401, "unauthenticated", "authorization")
    assert till.cached_session(admin_token) is not None  # the admin's own session stays
    ok(client.get(f"{API}/auth/me", headers=admin))


def test_deactivation_ends_the_cached_session_at_once(till, client, admin):
    cashier = login(client, "kassir")
    token = cached(till, cashier, client)
    user_id = ok(client.get(f"{API}/auth/me", headers=cashier))["id"]
    ok(client.patch(f"{API}/users/{user_id}", json={"active": False}, headers=admin))
    assert till.cached_session(token) is None
    refused(client.get(f"{API}/auth/me", headers=cashier), 401, "unauthenticated", "authorization")


def test_a_role_change_applies_to_the_cached_session_at_once(till, client, admin):
    cashier = login(client, "kassir")
    cached(till, cashier, client)
    ok(client.get(f"{API}/reports/x", headers=cashier))
    user_id = ok(client.get(f"{API}/auth/me", headers=cashier))["id"]
    ok(client.patch(f"{API}/users/{user_id}", json={"role": "seller", "name": "Ира"}, headers=admin))
    refused(client.get(f"{API}/reports/x", headers=cashier), 403, "forbidden", "role")
    me = ok(client.get(f"{API}/auth/me", headers=cashier))  # the same session, as the user now is
    assert (me["role"], me["name"]) == ("seller", "Ира")


def test_expiry_is_honoured_for_a_cached_session(till, client):
    cashier = login(client, "kassir")
    token = cached(till, cashier, client)
    start = till.clock()
    till.clock = lambda: start + timedelta(hours=service.SESSION_LIFETIME_HOURS, minutes=1)
    assert till.cached_session(token) is None
    refused(client.get(f"{API}/auth/me", headers=cashier), 401, "unauthenticated", "authorization")


def test_a_look_up_racing_an_invalidation_does_not_cache_what_it_read(till, client, admin, monkeypatch):
    """A session read from the database just before a concurrent logout/change committed is not cached.

    Simulated: the invalidation lands between the database read and the store into the cache.
    """
    cashier = login(client, "kassir")
    token = token_of(cashier)
    user_of = service._user_of

    def read_then_invalidated(row, session_row=None):
        till._forget_sessions(user_id=row.id)  # what update_user/logout do around their commit
        return user_of(row, session_row)

    monkeypatch.setattr(service, "_user_of", read_then_invalidated)
    assert till.authenticate(token) is not None  # this request was valid when it read the session
    assert till.cached_session(token) is None  # but it must not be remembered
    monkeypatch.setattr(service, "_user_of", user_of)
    assert till.authenticate(token) is not None
    assert till.cached_session(token) is not None


def test_an_unknown_token_is_not_cached(till, client):
    refused(client.get(f"{API}/auth/me", headers={"Authorization": "Bearer nope"}), 401, "unauthenticated", "authorization")
    assert till.cached_session("nope") is None
    assert till._sessions == {}
