"""The home directory's files: formats of the manual, errors naming file and line, atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icecash.billing.example import init_home
from icecash.billing.files import (
    ConfigError,
    merge_warn,
    parse_price_list,
    parse_services,
    parse_st,
    parse_user,
    parse_warn,
    read_count,
    read_month,
    replace_day_block,
    write_count,
    write_month,
)
from icecash.billing.home import Home, Settings
from icecash.core.formula import Month

MANUAL_SERVICES = """\
#имя    daily script            monthly script          .st files
#
mail    daily-mail              no                      mail.st
time    daily-time              no                      time.st
misc    no                      no                      misc.st
"""

MANUAL_WARN = """\
# Примеры критериев:
#
# Если остаток с учетом расходов в текущем месяце меньше 50 тысяч
criterion       total() < 50000

# Если остаток на счету меньше 50000 или меньше среднего расхода за
# последние три месяца
###criterion    total() < max(50000,statistic(-.2,.)/3)

# Проверок делать не надо - обычно такой критерий бывает полезен лишь в
# персоналном файле
###criterion    0

# Обычное предупреждение
#
0               =warn.fm

# "Завтра Вы будете закрыты"
#
10              =warn-close1.fm

# Высылаем уведомление о закрытии и закрываем
#
11              =warn-close.fm          user-close
"""


def test_services_cf_of_the_manual():
    services = parse_services(MANUAL_SERVICES)
    assert [(s.name, s.daily, s.monthly, s.st_files) for s in services] == [
        ("mail", "daily-mail", None, ("mail.st",)), ("time", "daily-time", None, ("time.st",)),
        ("misc", None, None, ("misc.st",)),
    ]


def test_services_monthly_script_may_be_omitted_and_several_st_files():
    services = parse_services("news\tdaily-news  news.st  news2.st\nweb @web monthly-web web.st\n")
    assert services[0].monthly is None and services[0].st_files == ("news.st", "news2.st")
    assert services[1].daily == "@web" and services[1].monthly == "monthly-web"


@pytest.mark.parametrize(("text", "line", "words"), [
    ("mail daily-mail\n", 1, "expected: name"),
    ("# c\n\nmail daily no\n", 3, "names no .st file"),
    ("mail d no ../x.st\n", 1, "without a path"),
    ("mail d no a.st\nmail e no b.st\n", 2, "defined twice"),
    ("почта d no a.st\n", 1, "Latin letters"),
])
def test_services_errors_name_the_line(text, line, words):
    with pytest.raises(ConfigError) as caught:
        parse_services(text, "services.cf")
    assert caught.value.line == line and words in caught.value.message_en
    assert f"services.cf:{line}" in caught.value.message_ru


def test_warn_cf_of_the_manual():
    warn = parse_warn(MANUAL_WARN)
    assert warn.criterion.source == "total() < 50000" and warn.criterion_line == 4
    assert [(lv.threshold, lv.form, lv.program) for lv in warn.levels] == [
        (0, "warn.fm", None), (10, "warn-close1.fm", None), (11, "warn-close.fm", "user-close")]


@pytest.mark.parametrize(("count", "form"), [
    (-3, None), (-1, None), (0, "warn.fm"), (1, "warn.fm"), (9, "warn.fm"), (10, "warn-close1.fm"),
    (11, "warn-close.fm"), (12, "warn-close.fm"), (500, "warn-close.fm"),
])
def test_level_is_the_largest_n_not_above_the_count(count, form):
    level = parse_warn(MANUAL_WARN).level_for(count)
    assert (level.form if level else None) == form


@pytest.mark.parametrize(("text", "line", "words"), [
    ("0 =warn.fm\n", 1, "criterion"),
    ("criterion\n", 1, "criterion <formula>"),
    ("# x\ncriterion total() < \n", 2, "column 20"),
    ("criterion 1\n0 warn.fm\n", 2, "expected: <N> =<form.fm>"),
    ("criterion 1\nx =warn.fm\n", 2, "expected: <N>"),
    ("criterion 1\n0 =warn.fm\n0 =other.fm\n", 3, "given twice"),
    ("criterion foo()\n", 1, "unknown function"),
    ("criterion 1\n0 =../x.fm\n", 2, "bad form name"),
])
def test_warn_errors_name_the_line(text, line, words):
    with pytest.raises(ConfigError) as caught:
        parse_warn(text, "warn.cf")
    assert caught.value.line == line and words in caught.value.message_en


def test_personal_warn_is_read_first_then_the_servers():
    server = parse_warn(MANUAL_WARN, "server")
    personal_off = parse_warn("criterion 0\n", "personal")
    merged = merge_warn(personal_off, server)
    assert merged.criterion.source == "0" and len(merged.levels) == 3  # levels from the server
    own_levels = parse_warn("criterion total() < 100\n0 =mine.fm\n")
    assert [lv.form for lv in merge_warn(own_levels, server).levels] == ["mine.fm"]
    assert merge_warn(None, server) is server or merge_warn(None, server).criterion.source == "total() < 50000"
    assert merge_warn(parse_warn("# only comments\n"), server).criterion.source == "total() < 50000"
    assert merge_warn(None, None) is None


def test_price_list_and_cost_rounding():
    prices = parse_price_list("# x\nreceipts 0.05 1 чек\nmb 0.10 1024\nmail.* 1.00 1\nmail.in* 0.50 1\n", "std")
    assert prices.find("receipts").price == 5 and prices.find("receipts").description == "чек"
    assert prices.find("mail.out").item == "mail.*"
    assert prices.find("mail.inbox").item == "mail.in*"  # the longer wildcard wins
    assert prices.find("other") is None
    mb = prices.find("mb")
    assert mb.cost(1536 * 1000) == 15  # 1536/1024 × 10 = 15
    assert mb.cost(512 * 1000) == 5
    assert mb.cost(51 * 1000) == 0  # 0.498 → 0
    assert mb.cost(52 * 1000) == 1  # 0.508 → 1, half-up once


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a 1\n", 1, "expected: item price per"),
    ("a x 1\n", 1, "price 'x'"),
    ("a 1.005 1\n", 1, "more than 2 decimal places"),
    ("a 1 0\n", 1, "above zero"),
    ("a 1 1\na 2 1\n", 2, "given twice"),
    ("a*b 1 1\n", 1, "only at the end"),
    ("\n\na -1 1\n", 3, "negative"),
])
def test_price_list_errors(text, line, words):
    with pytest.raises(ConfigError) as caught:
        parse_price_list(text, "std")
    assert caught.value.line == line and words in caught.value.message_en
    assert "prices/std" in caught.value.message_en


def test_user_cf():
    config = parse_user("# c\nprices  special standard\nmail a@b.ru\nprices extra\n")
    assert config.prices == ("special", "standard", "extra") and config.mail == ("a@b.ru",)
    for text, line in (("prices\n", 1), ("mail nobody\n", 1), ("x 1\nquota 5\n", 1), ("mail a@b.ru c@d.ru\n", 1)):
        with pytest.raises(ConfigError) as caught:
            parse_user(text, "user.cf")
        assert caught.value.line == line


def test_st_sums_repeated_items():
    usage = parse_st("# comment\nmail 3\n\nmail 2.5\nweb 1\n  web   0.001 \n", "x.st")
    assert usage == {"mail": 5500, "web": 1001}
    for text, line in (("mail\n", 1), ("a 1\nb x\n", 2), ("a 1 2\n", 1), ("a 0.0001\n", 1)):
        with pytest.raises(ConfigError) as caught:
            parse_st(text, "x.st")
        assert caught.value.line == line


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c.d"]), st.integers(0, 10**9)), max_size=30))
def test_st_totals_are_sums(lines):
    text = "".join(f"{item} {qty}\n" for item, qty in lines)
    expected: dict[str, int] = {}
    for item, qty in lines:
        expected[item] = expected.get(item, 0) + qty * 1000
    assert parse_st(text, "x.st") == expected


def test_day_blocks_replace_not_duplicate():
    text = replace_day_block("", "2026-11-01", ["receipts 10"])
    text = replace_day_block(text, "2026-11-02", ["receipts 5"])
    again = replace_day_block(text, "2026-11-01", ["receipts 12"])
    assert parse_st(again, "x") == {"receipts": 17000}
    assert replace_day_block(again, "2026-11-01", ["receipts 12"]) == again
    assert parse_st(replace_day_block("receipts 1\n", "2026-11-03", []), "x") == {"receipts": 1000}


def test_count_and_month_files(tmp_path: Path):
    count = tmp_path / ".count"
    assert read_count(count) == 0 and count.read_text() == "0\n"  # created when missing
    write_count(count, -5)
    assert read_count(count) == -5  # a trust credit
    count.write_text("many\n")
    with pytest.raises(ConfigError):
        read_count(count)
    month = tmp_path / ".month"
    assert read_month(month) is None
    write_month(month, Month(2026, 3))
    assert month.read_text() == "2026.03\n" and read_month(month) == Month(2026, 3)
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # atomic writes leave nothing behind


def test_init_creates_the_layout_of_the_manual(tmp_path: Path):
    written = init_home(tmp_path, "demo")
    for name in ("billing.toml", "services.cf", "warn.cf", "prices/standard", "forms/warn.fm",
                 "forms/warn-close1.fm", "forms/warn-close.fm", "bin/README",
                 "accounts/demo/user.cf", "accounts/demo/daily.fm", "accounts/demo/.count"):
        assert (tmp_path / name).is_file(), name
    for name in ("backup", "spool/new", "forms"):
        assert (tmp_path / name).is_dir()
    home = Home(tmp_path)
    assert [s.name for s in home.services()] == ["receipts", "tills", "storage", "prices", "misc"]
    assert home.warn_config("demo").level_for(11).program == "user-close"
    assert home.user_config("demo").prices == ("standard",)
    assert home.price_list("standard").find("misc.anything").price == 100

    assert len(written) == 13
    (tmp_path / "warn.cf").write_text("criterion 0\n")
    assert init_home(tmp_path, "demo") == []  # nothing overwritten without --force
    assert (tmp_path / "warn.cf").read_text() == "criterion 0\n"


def test_settings_from_toml_and_environment(tmp_path: Path):
    init_home(tmp_path, None)
    settings = Settings.load(tmp_path / "billing.toml", {"ICECASH_SMTP_HOST": "mx.example", "ICECASH_SMTP_PORT": "2525"})
    assert settings.mail.host == "mx.example" and settings.mail.port == 2525 and settings.user == "icecash"
    (tmp_path / "billing.toml").write_text("[mail\n")
    with pytest.raises(ConfigError):
        Settings.load(tmp_path / "billing.toml", {})


def test_create_account_as_the_central_server_does(tmp_path: Path):
    init_home(tmp_path, None)
    home = Home(tmp_path)
    path = home.create_account("firm-7", ["owner@firm7.ru"])
    assert home.accounts() == ["firm-7"] and home.user_config("firm-7").mail == ("owner@firm7.ru",)
    (path / "user.cf").write_text("prices special standard\nmail x@y.ru\n")
    home.create_account("firm-7", ["owner@firm7.ru"])
    assert home.user_config("firm-7").prices == ("special", "standard")  # an edited user.cf is kept
    with pytest.raises(ConfigError):
        home.create_account("firm-8", ["not an address"])
    from icecash.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        home.create_account("../evil", [])
    (tmp_path / "accounts" / "bad name").mkdir()
    assert home.accounts() == ["firm-7"]  # directories that are not account names are ignored


@given(st.lists(st.integers(-20, 40), min_size=1, max_size=6, unique=True), st.integers(-30, 60),
       st.lists(st.booleans(), min_size=1, max_size=40))
def test_escalation_rule_against_a_model(thresholds, start, days):
    """Day after day: the count moves as the reference says and the line is the largest N ≤ count."""
    from icecash.billing.files import decide

    text = "criterion 1\n" + "".join(f"{n} =f{i}.fm\n" for i, n in enumerate(thresholds))
    config = parse_warn(text)
    count = start
    for insufficient in days:
        decision = decide(config, count, insufficient)
        if insufficient:
            eligible = [n for n in thresholds if n <= count]
            expected = f"f{thresholds.index(max(eligible))}.fm" if eligible else None
            assert (decision.level.form if decision.level else None) == expected
            assert decision.new_count == count + 1 and not decision.reopen
            count += 1
        else:
            assert decision.level is None and decision.reopen
            assert (decision.new_count is None) == (count <= 0)  # only a positive count is written
            count = count if decision.new_count is None else decision.new_count
            assert count <= 0
