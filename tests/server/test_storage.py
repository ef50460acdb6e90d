"""The server's storage and use-cases, on SQLite and on PostgreSQL (each test runs on both).

Receipts exactly once (idempotent on the UUID, a bad batch stores nothing), Z reports refused when
their lines miss the totals, price lists as snapshots and deltas with deletions, change counters,
tenancy (nobody sees another firm), back-office queries and reports.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

from icecash.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from icecash.core.pricefile import parse_price_file
from icecash.server import tables
from icecash.store.db import reading
from tests.server.conftest import actor, make_receipt, make_z, parsed
from tests.server.conftest import till_of as _till


def count(server, table) -> int:
    with reading(server.engine) as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_migrations_make_exactly_the_declared_schema(server):
    with server.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, tables.metadata) == []


def test_receipts_are_stored_once_whatever_the_replays(firms):
    till = _till(firms)
    batch = [parsed(make_receipt(number=n)) for n in range(1, 101)]
    first = firms.ingest_receipts(till, batch)
    assert (first["stored"], first["duplicates"]) == (100, 0)
    again = firms.ingest_receipts(till, batch)
    assert again["accepted"] == first["accepted"] and (again["stored"], again["duplicates"]) == (0, 100)
    mixed = batch[50:] + [parsed(make_receipt(number=101))]
    assert firms.ingest_receipts(till, mixed)["stored"] == 1
    assert count(firms, tables.receipts) == 101
    assert count(firms, tables.receipt_lines) == 202
    a = actor(firms, "alpha-admin", "alpha-pass")
    assert firms.totals(a, "alpha")["receipts_total"] == 101 * 2 * 8990


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"total": 1}, "receipts[7].total", "lines_mismatch"),
    ({"cash": 1}, "receipts[7].cash", "payment_mismatch"),
    ({"nkassa": 2}, "receipts[7].idplace", "foreign_receipt"),
])
def test_a_bad_receipt_refuses_the_whole_batch_and_stores_nothing(firms, change, field, code):
    till = _till(firms)
    batch = [parsed(make_receipt(number=n)) for n in range(10)]
    batch[7] = {**batch[7], **change}
    with pytest.raises(DomainError) as refused:
        firms.ingest_receipts(till, batch)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert count(firms, tables.receipts) == 0 and count(firms, tables.receipt_lines) == 0


def test_the_same_uuid_twice_in_a_batch_is_refused(firms):
    till = _till(firms)
    receipt = parsed(make_receipt())
    with pytest.raises(InvalidInput) as refused:
        firms.ingest_receipts(till, [receipt, receipt])
    assert refused.value.field == "receipts[1].uuid"
    assert count(firms, tables.receipts) == 0


def test_another_tills_uuid_is_refused_not_overwritten(firms):
    mine, other = _till(firms), _till(firms, "beta", 1, 1)
    receipt = parsed(make_receipt())
    firms.ingest_receipts(mine, [receipt])
    with pytest.raises(Conflict):
        firms.ingest_receipts(other, [{**receipt, "idplace": 1, "nkassa": 1}])
    a = actor(firms, "alpha-admin", "alpha-pass")
    assert firms.totals(a, "alpha")["receipts"] == 1
    assert firms.totals(actor(firms, "beta-admin", "beta-pass1"), "beta")["receipts"] == 0


def test_z_is_refused_when_lines_miss_the_totals(firms):
    till = _till(firms)
    bad = parsed_z(make_z(sold=1000))
    bad["lines"][0]["sold_total"] = 999
    with pytest.raises(InvalidInput) as refused:
        firms.ingest_z(till, [bad])
    assert (refused.value.code, refused.value.field) == ("z_mismatch", "reports[0].sales_total")
    good = parsed_z(make_z(sold=17980, returned=8990))
    assert firms.ingest_z(till, [good])["stored"] == 1
    assert firms.ingest_z(till, [good])["duplicates"] == 1
    assert count(firms, tables.z_reports) == 1 and count(firms, tables.z_lines) == 1


def parsed_z(z: dict) -> dict:
    from datetime import datetime

    return {**z, "opened_at": datetime.fromisoformat(z["opened_at"]), "closed_at": datetime.fromisoformat(z["closed_at"]),
            "accounting_date": date.fromisoformat(z["accounting_date"])}


SPR = ("#IceCash=2.0;type=price;sheme_record=clear;sheme_count=clear\r\n"
       "1;;Продукты;0;0;0;0;0;1;0;0;0;0;0;0;;0\r\n"
       "1001;4601234567893;Молоко;0;89.90;10;0;0;1;10;0;0;80.00;0;0;1;1\r\n"
       "1002;;Хлеб;0;54.90;5;0;0;1;20;0;0;0;0;0;1;1\r\n"
       "1003;;Сыр, кг;0;650.00;2.5;0;1;1;15;0;0;0;0;0;1;1\r\n"
       "#1002;4601234000026;Хлеб половинка;;30.00;0\r\n")


def test_price_list_snapshot_then_delta_with_deletions(firms):
    till = _till(firms)
    first = firms.push_price_list(None, "alpha", "main", parse_price_file(SPR.encode("cp1251"), "p.spr"))
    assert (first["version"], first["added"]) == (1, 4)
    full = firms.price_for_till(till, 0)
    assert full["full"] and {r["code"] for r in full["rows"]} == {"1", "1001", "1002", "1003"}
    bread = next(r for r in full["rows"] if r["code"] == "1002")
    assert bread["extras"] == [["4601234000026", "Хлеб половинка", 3000, 1000]]
    assert firms.price_for_till(till, 1, "main")["unchanged"]
    # milk gets dearer, cheese goes, bread and the group are unchanged
    second_file = SPR.replace("89.90", "94.90").replace("1003;;Сыр, кг;0;650.00;2.5;0;1;1;15;0;0;0;0;0;1;1\r\n", "")
    second = firms.push_price_list(None, "alpha", "main", parse_price_file(second_file.encode("cp1251"), "p.spr"))
    assert (second["version"], second["changed"], second["deleted"], second["added"]) == (2, 1, 1, 0)
    delta = firms.price_for_till(till, 1, "main")
    assert not delta["full"] and [r["code"] for r in delta["rows"]] == ["1001"] and delta["deleted"] == ["1003"]
    assert delta["rows"][0]["price"] == 9490
    assert firms.price_for_till(till, 1, "other")["full"]  # the till had another list: everything again
    same = firms.push_price_list(None, "alpha", "main", parse_price_file(second_file.encode("cp1251"), "p.spr"))
    assert same["version"] == 2  # nothing changed, no new version
    # another firm's till bound to its own "main" sees none of this
    assert firms.price_for_till(_till(firms, "beta", 1, 1), 0)["rows"] == []


def test_variables_and_promotions_travel_by_change_counter(firms):
    till, other = _till(firms), _till(firms, "beta", 1, 1)
    assert firms.variables_for_till(till, -1) == {"version": 0, "unchanged": False, "variables": {}}
    v = firms.set_variable(None, "alpha", "temperature", "-12")
    assert firms.set_variable(None, "alpha", "temperature", "-12") == v  # same value: no new version
    answer = firms.variables_for_till(till, 0)
    assert answer["variables"] == {"temperature": "-12"} and answer["version"] == v
    assert firms.variables_for_till(till, v)["unchanged"]
    assert firms.variables_for_till(other, -1)["variables"] == {}
    firms.save_promotion(None, "alpha", {"name": "Все точки", "then_text": "DO_SET_HEAD_DISCOUNT (DCF,0.10)"})
    firms.save_promotion(None, "alpha", {"name": "Точка 2", "places": "2", "weekdays": "0000011"})
    firms.save_promotion(None, "alpha", {"name": "Выключена", "active": False})
    firms.save_promotion(None, "alpha", {"name": "Прошла", "date_from": "2020-01-01", "date_to": "2020-01-31"})
    firms.set_goods_list(None, "alpha", "beer3", ["9001", "9002", "9001"])
    promos = firms.promotions_for_till(till, -1)
    assert [p["name"] for p in promos["promotions"]] == ["Все точки"]
    assert promos["goods_lists"] == {"beer3": ["9001", "9002"]}
    shop2 = _till(firms, "alpha", 2, 1)
    assert [p["name"] for p in firms.promotions_for_till(shop2, -1)["promotions"]] == ["Все точки", "Точка 2"]
    assert firms.promotions_for_till(till, promos["version"])["unchanged"]
    assert firms.promotions_for_till(other, -1)["promotions"] == []
    with pytest.raises(InvalidInput) as refused:
        firms.save_promotion(None, "alpha", {"name": "x", "weekdays": "1111"})
    assert refused.value.field == "weekdays"


def test_people_see_only_their_firm(firms):
    alpha, viewer, beta = (actor(firms, "alpha-admin", "alpha-pass"), actor(firms, "alpha-viewer", "alpha-view"),
                           actor(firms, "beta-admin", "beta-pass1"))
    operator = actor(firms, "operator", "operator-pass")
    assert [f.regid for f in firms.firms_for(operator)] == ["alpha", "beta"]
    assert [f.regid for f in firms.firms_for(alpha)] == ["alpha"]
    with pytest.raises(NotFound):
        firms.z_list(beta, "alpha")
    with pytest.raises(NotFound):
        firms.receipts_page(alpha, "beta")
    with pytest.raises(Forbidden):
        firms.set_variable(viewer, "alpha", "x", "1")
    with pytest.raises(NotFound):
        firms.set_variable(beta, "alpha", "x", "1")
    with pytest.raises(Forbidden):
        firms.create_firm(alpha, "gamma", "Гамма")
    assert len(firms.tills_of(viewer, "alpha")) == 3


def test_back_office_z_and_receipts(firms):
    till = _till(firms)
    z1, z2 = parsed_z(make_z(number=1)), parsed_z(make_z(number=2))
    firms.ingest_z(till, [z1, z2])
    a = actor(firms, "alpha-admin", "alpha-pass")
    assert len(firms.z_list(a, "alpha", date(2026, 11, 20), date(2026, 11, 20), exported=False)) == 2
    assert firms.mark_exported(a, "alpha", [z1["uuid"]]) == 1
    assert [z["uuid"] for z in firms.z_list(a, "alpha", exported=False)] == [z2["uuid"]]
    assert [z["uuid"] for z in firms.z_list(a, "alpha", exported=True)] == [z1["uuid"]]
    one = firms.z_one(a, "alpha", z1["uuid"])
    assert one["lines"][0]["sold_total"] == 17980 and one["nkassa"] == 1
    with pytest.raises(NotFound):
        firms.mark_exported(actor(firms, "beta-admin", "beta-pass1"), "beta", [z1["uuid"]])
    firms.ingest_receipts(till, [parsed(make_receipt(number=n)) for n in range(1, 251)])
    firms.ingest_receipts(_till(firms, "alpha", 2, 1), [parsed(make_receipt(2, 1, number=n)) for n in range(1, 6)])
    seen, after = [], 0
    while True:
        page = firms.receipts_page(a, "alpha", idplace=1, after=after, limit=100)
        seen += page["receipts"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert len(seen) == 250 and len({r["uuid"] for r in seen}) == 250 and all(len(r["lines"]) == 2 for r in seen)
    assert len(firms.receipts_page(a, "alpha", idplace=2, nkassa=1)["receipts"]) == 5


def test_reports_revenue_and_top_items(firms):
    till, till2 = _till(firms), _till(firms, "alpha", 2, 1)
    day = date(2026, 11, 20)
    sales = [parsed(make_receipt(number=n)) for n in range(1, 4)]
    ret = parsed(make_receipt(kind="return", lines=1, number=4))
    cancelled = parsed(make_receipt(status="cancelled", number=5))
    firms.ingest_receipts(till, [*sales, ret, cancelled])
    firms.ingest_receipts(till2, [parsed(make_receipt(2, 1, lines=1, price=10000))])
    a = actor(firms, "alpha-viewer", "alpha-view")
    by_day = firms.revenue(a, "alpha", day, day, "day")
    assert by_day == [{"date": "2026-11-20", "receipts": 5, "sales": 3 * 17980 + 10000, "returns": 8990,
                       "revenue": 3 * 17980 + 10000 - 8990, "cash": 3 * 17980 + 10000 - 8990, "card": 0}]
    by_shop = firms.revenue(a, "alpha", day, day, "shop")
    assert [(r["idplace"], r["revenue"]) for r in by_shop] == [(1, 3 * 17980 - 8990), (2, 10000)]
    by_till = firms.revenue(a, "alpha", day, day, "till")
    assert [(r["idplace"], r["nkassa"]) for r in by_till] == [(1, 1), (2, 1)]
    top = firms.top_items(a, "alpha", day, day)
    assert top[0] == {"code": "1001", "name": "Молоко 1", "quantity": 3000 - 1000 + 1000, "total": 3 * 8990 - 8990 + 10000}


def test_files_are_path_safe_and_size_limited(firms):
    a = actor(firms, "alpha-admin", "alpha-pass")
    assert firms.put_file(a, "alpha", "обработка 1C.epf", b"data")["size"] == 4
    assert firms.get_file(a, "alpha", "обработка 1C.epf")[0] == b"data"
    for bad in ("../etc/passwd", "a/b", ".hidden", "..", "x\\y", "", " lead", "a" * 200):
        with pytest.raises(InvalidInput) as refused:
            firms.put_file(a, "alpha", bad, b"x")
        assert refused.value.field == "name"
    with pytest.raises(InvalidInput) as refused:
        firms.put_file(a, "alpha", "big.bin", b"x" * (16 * 1024 * 1024 + 1))
    assert refused.value.code == "file_too_large"
    with pytest.raises(NotFound):
        firms.get_file(actor(firms, "beta-admin", "beta-pass1"), "beta", "обработка 1C.epf")
    assert [f["name"] for f in firms.list_files(a, "alpha")] == ["обработка 1C.epf"]
    firms.delete_file(a, "alpha", "обработка 1C.epf")
    assert firms.list_files(a, "alpha") == []


def test_till_credentials(firms):
    secret = firms._secrets[("alpha", 1, 1)]
    token, till, _ = firms.till_login("alpha", 1, 1, secret)
    assert firms.till_by_token(token) == till
    with pytest.raises(DomainError):
        firms.till_login("alpha", 1, 2, secret)  # another till's secret
    new = firms.reset_till_secret(None, "alpha", 1, 1)
    assert firms.till_by_token(token) is None  # old tokens end with the old secret
    with pytest.raises(DomainError):
        firms.till_login("alpha", 1, 1, secret)
    assert firms.till_login("alpha", 1, 1, new)[1] == till
    with reading(firms.engine) as conn:
        stored = conn.execute(select(tables.tills.c.secret_hash)).scalars().all()
    assert all(h.startswith("$argon2") and new not in h for h in stored)
    assert json.dumps(firms.heartbeat(till, "0.1", "printer", 5))


def test_promotions_are_checked_and_targeted_by_place_groups(firms):
    firms.set_place_group(None, "alpha", "south", [2])
    firms.set_goods_list(None, "alpha", "beer3", ["9001"])
    firms.save_promotion(None, "alpha", {"name": "Юг", "if_text": "IF_PLACE_IN GROUPS (south)",
                                         "then_text": "DO_SET_HEAD_DISCOUNT (DCF,0.05)"})
    firms.save_promotion(None, "alpha", {"name": "Не юг", "if_text": "IF_PLACE_IN NOT GROUPS (south)",
                                         "then_text": "DO_SET_HEAD_DISCOUNT (DCF,0.03)"})
    firms.save_promotion(None, "alpha", {"name": "Пиво", "then_text": "DO_POS_CODE_IN {b} GROUPS (beer3)\n"
                                         "DO_FILTERS_GROUP\nDO_GROUP_ADDPOS_PROPORCIONAL {b} (code=9001,gcount=3,count=1)",
                                         "if_text": "IF_GROUP_PROPERTY {b} (paramf2?>=?3)"})
    shop1, shop2 = _till(firms, "alpha", 1, 1), _till(firms, "alpha", 2, 1)
    assert [p["name"] for p in firms.promotions_for_till(shop1, -1)["promotions"]] == ["Не юг", "Пиво"]
    assert [p["name"] for p in firms.promotions_for_till(shop2, -1)["promotions"]] == ["Юг", "Пиво"]
    for bad, field in ((("IF_PLACE_IN GROUPS (north)", ""), "if"), (("", "DO_SET_HEAD_DISCOUNT (DCF"), "then"),
                       (("", "DO_POS_CODE_IN {x} GROUPS (wine)"), "then")):
        with pytest.raises(InvalidInput) as refused:
            firms.save_promotion(None, "alpha", {"name": "x", "if_text": bad[0], "then_text": bad[1]})
        assert refused.value.field == field, refused.value.as_dict()
    for remove in (lambda: firms.set_goods_list(None, "alpha", "beer3", None),
                   lambda: firms.set_place_group(None, "alpha", "south", None)):
        with pytest.raises(Conflict) as in_use:  # a promotion names it: the tills could not run that one
            remove()
        assert in_use.value.code == "in_use"
    firms.set_place_group(None, "alpha", "unused", [1])
    firms.set_place_group(None, "alpha", "unused", None)
    with pytest.raises(NotFound):
        firms.set_place_group(None, "alpha", "ghosts", [99])
    with pytest.raises(NotFound):
        firms.set_place_group(None, "beta", "south", [2])  # beta has no shop 2


def test_till_groups_bind_price_lists(firms):
    firms.set_till_group(None, "alpha", "shop1", [(1, 1), (1, 2)])
    assert firms.bind_till_group(None, "alpha", "shop1", "winter") == 2
    csv = "code;name;price\n1;Шапка;500.00\n".encode()
    firms.push_price_list(None, "alpha", "winter", parse_price_file(csv, "p.csv"))
    assert [r["code"] for r in firms.price_for_till(_till(firms, "alpha", 1, 2), 0)["rows"]] == ["1"]
    assert firms.price_for_till(_till(firms, "alpha", 2, 1), 0)["list"] is None  # still "main", never loaded
    with pytest.raises(NotFound):
        firms.set_till_group(None, "alpha", "bad", [(1, 9)])
    admin = actor(firms, "alpha-admin", "alpha-pass")
    assert firms.groups_of(admin, "alpha")["till_groups"] == {"shop1": [[1, 1], [1, 2]]}
    with pytest.raises(NotFound):
        firms.groups_of(actor(firms, "beta-admin", "beta-pass1"), "alpha")


def test_the_same_batch_delivered_twice_at_once_is_stored_once(firms):
    """A till that timed out and resent while the first delivery was still being written."""
    import threading

    till = _till(firms)
    batch = [parsed(make_receipt(number=n, lines=5)) for n in range(1, 201)]
    answers, errors = [], []
    start = threading.Barrier(3)

    def deliver() -> None:
        start.wait()
        try:
            answers.append(firms.ingest_receipts(till, batch))
        except Exception as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert sorted(a["stored"] for a in answers) == [0, 0, 200]
    assert all(a["accepted"] == [r["uuid"] for r in batch] for a in answers)
    assert count(firms, tables.receipts) == 200 and count(firms, tables.receipt_lines) == 1000
