"""A price file's stock mode (``sheme_count``: clear, keep, add) works on the server's list as on a till's catalogue.

The server sends its tills absolute stock (a till applies the server's rows with ``clear``), so the
mode has to be applied where the list is kept: ``keep`` leaves an item's stock as the list holds
it, ``add`` adds the file's (a delivery), and an item new to the list takes the file's stock.
On SQLite, PostgreSQL and MariaDB; then end to end, a real server process and a till, compared
with the same files loaded straight into a till.
"""

from __future__ import annotations

import pytest

from icecash.core.pricefile import parse_price_file
from tests.server.conftest import fed_and_alone, till_of


def spr(stock_mode: str, rows: dict[str, str], replace: bool = False) -> bytes:
    """A .spr file of items ``code: stock`` (group 1 first), with ``sheme_count=stock_mode``."""
    head = f"#IceCash=2.0;type=price;sheme_record={'clear' if replace else 'update'};sheme_count={stock_mode}\r\n"
    group = "1;;Продукты;0;0;0;0;0;1;0;0;0;0;0;0;;0\r\n"
    items = "".join(f"{code};;Товар {code};0;10.00;{stock};0;0;1;0;0;0;0;0;0;1;1\r\n" for code, stock in rows.items())
    return (head + group + items).encode("cp1251")


# the same files, in this order, for the server and for a till loading them itself
FILES = [
    spr("clear", {"1001": "10", "1002": "5", "1003": "2.5"}, replace=True),
    spr("add", {"1001": "3", "1004": "7"}),  # a delivery: milk 10 + 3, item 1004 new with 7
    spr("keep", {"1001": "99", "1002": "1", "1005": "4"}),  # prices only: stock as held; 1005 new with 4
    spr("add", {"1001": "1", "1002": "0.5", "1004": "1"}, replace=True),  # 1003 and 1005 go; the rest add
    spr("add", {"1003": "6", "1004": "0"}),  # 1003 comes back: a deleted item has no stock to add to
]
AFTER = {"1001": 14_000, "1002": 5_500, "1003": 6_000, "1004": 8_000}


def _stock(answer: dict) -> dict[str, int]:
    return {r["code"]: r["stock"] for r in answer["rows"] if r["is_item"]}


def test_stock_modes_on_the_servers_list(firms):
    till = till_of(firms)
    versions = [firms.push_price_list(None, "alpha", "main", parse_price_file(f, "p.spr"))["version"] for f in FILES[:3]]
    assert _stock(firms.price_for_till(till, 0)) == {"1001": 13_000, "1002": 5_000, "1003": 2_500, "1004": 7_000,
                                                     "1005": 4_000}
    # the keep file changed no item the list held: only the new one travels to the tills
    assert versions == [1, 2, 3]
    assert [r["code"] for r in firms.price_for_till(till, 2, "main")["rows"]] == ["1005"]
    for f in FILES[3:]:
        firms.push_price_list(None, "alpha", "main", parse_price_file(f, "p.spr"))
    assert _stock(firms.price_for_till(till, 0)) == AFTER


def test_a_keep_file_with_only_other_stock_is_no_change(firms):
    firms.push_price_list(None, "alpha", "main", parse_price_file(FILES[0], "p.spr"))
    same = firms.push_price_list(None, "alpha", "main", parse_price_file(spr("keep", {"1001": "0"}), "p.spr"))
    assert (same["version"], same["changed"]) == (1, 0)
    added = firms.push_price_list(None, "alpha", "main", parse_price_file(spr("add", {"1001": "0"}), "p.spr"))
    assert (added["version"], added["changed"]) == (1, 0)


# --- end to end ----------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_till_gets_the_stock_a_till_loading_the_files_itself_would_have(tmp_path):
    with fed_and_alone(tmp_path) as both:
        for f in FILES:
            both.load(f, "p.spr")  # a delta after each file, as the till would get it
        fed, alone = both.items(both.fed, AFTER), both.items(both.alone, AFTER)
        for code, stock in AFTER.items():
            assert fed[code]["stock"] == alone[code]["stock"] == stock, code
