"""The server's part of ``icecash demo``: two firms with a week of sales, the demo till attached and syncing."""

from __future__ import annotations

from pathlib import Path

import httpx

from icecash.server.demo import start_demo_server
from icecash.store.db import reading
from icecash.till.app import open_till
from icecash.till.catalogue import item_by_code, price_options
from icecash.till.demo import seed_demo
from icecash.till.sync import SyncAgent
from tests.conftest import free_port
from tests.helpers import MILK, WATER, WATER_PROMO, WATER_SIX


def test_demo_server_attaches_the_demo_till(tmp_path: Path):
    till = open_till(tmp_path / "till")
    seed_demo(till, items=200)
    port = free_port()
    demo = start_demo_server(tmp_path / "server", till, port=port)
    try:
        assert httpx.get(f"{demo.url}/api/v1/health").json()["service"] == "server"
        server = demo.server
        operator = server.authenticate(server.login("operator", "operator")[0])
        assert [f.regid for f in server.firms_for(operator)] == ["romashka", "vasilkov"]
        before = server.totals(operator, "romashka")["receipts"]
        assert before > 100  # a week of history for the reports
        user = till.login("kassir", "kassir")[1]
        till.scan(user, MILK)
        sale = till.pay(user, cash=100000)
        agent = SyncAgent(till)
        assert all(agent.sync_all().values())
        admin = server.authenticate(server.login("romashka", "romashka")[0])
        assert server.receipt_one(admin, "romashka", sale["uuid"])["total"] == 8990
        online = {(t["idplace"], t["nkassa"]): t["online"] for t in server.tills_of(admin, "romashka")}
        assert online == {(1, 1): True, (1, 2): False, (2, 1): False}
        assert agent.variables() == {"temperature": "-5"} and len(agent.promotions()) == 1
        # the till loaded the server's list whole: its multi-price items came with it
        with reading(till.engine) as conn:
            options = price_options(conn, item_by_code(conn, "1005"))
        assert [(o["name"], o["price"], o["barcode"]) for o in options] == [
            ("Вода питьевая 1,5 л", 4500, WATER),
            ("Вода питьевая 1,5 л, упаковка 6 шт", 27000, WATER_SIX),
            ("Вода питьевая 1,5 л, акция", 3900, WATER_PROMO),
        ]
        assert till.scan(user, WATER_SIX)["total"] == "270.00"
        assert agent.goods_lists() == {}
    finally:
        demo.stop()
    again = start_demo_server(tmp_path / "server", till, port=port)  # a second start: same data, fresh secret
    try:
        assert SyncAgent(till).run_job("receipts")
        assert again.server.totals(operator, "romashka")["receipts"] == before + 1
    finally:
        again.stop()
