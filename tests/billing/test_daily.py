"""daily: escalation by warn.cf and .count, programs, lock, re-runs, failure log, backups."""

from __future__ import annotations

import os
import sqlite3
import tarfile
from pathlib import Path

import pytest

from icecash.billing.engine import Accounting
from icecash.billing.programs import ProgramError, run_program
from icecash.core.errors import Conflict
from icecash.core.formula import Month

from .conftest import SERVICE_USER, add_account, give_to_service_user

NOV = Month(2026, 11)

RECORDER = """#!/bin/sh
# records how it was called
{{ echo "args=$*"; echo "ACCOUNT=$ACCOUNT"; echo "HOME=$HOME"; echo "COUNT=$COUNT"; echo "TOTAL=$TOTAL"; \
echo "uid=$(id -u)"; echo "SECRET=${{SECRET:-unset}}"; echo "PWD=$(pwd)"; }} >> "$HOME/{name}.calls"
"""


def charge(acc: Accounting, account: str, kopecks: int) -> None:
    """Usage worth ``kopecks`` this month: misc.* costs 1.00 ₽ a unit in the example price list."""
    path = acc.home.accounts_dir / account / "misc.st"
    path.write_text(f"misc.charge {kopecks // 100}.{kopecks % 100:02d}\n")


def install(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def calls(directory: Path, name: str) -> list[dict[str, str]]:
    path = directory / f"{name}.calls"
    if not path.exists():
        return []
    blocks, current = [], {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        if key == "args" and current:
            blocks.append(current)
            current = {}
        current[key] = value
    if current:
        blocks.append(current)
    return blocks


def test_escalation_follows_count_and_warn_cf(acc, smtp, clock, monkeypatch):
    inbox, _ = smtp
    monkeypatch.setenv("SECRET", "must-not-leak")
    install(acc.home.bin_dir / "user-close", RECORDER.format(name="close"))
    install(acc.home.bin_dir / "user-open", RECORDER.format(name="open"))
    directory = add_account(acc.home, "shop1")
    charge(acc, "shop1", 60000)  # total -600.00: below 500.00
    address = "shop1@shop.example.ru"

    report = acc.daily()
    assert report.warned == {"shop1": "warn.fm"}
    assert (directory / ".count").read_text() == "1\n"
    assert inbox.subjects(address) == ["Остаток на счёте shop1 / balance of shop1"]
    assert "-600.00" in inbox.to(address)[0].get_content()
    acc.daily()  # the same day again: nothing twice
    assert (directory / ".count").read_text() == "1\n" and len(inbox.to(address)) == 1

    (directory / ".count").write_text("10\n")
    clock.advance()
    assert acc.daily().warned == {"shop1": "warn-close1.fm"}
    assert (directory / ".count").read_text() == "11\n"

    clock.advance()
    assert acc.daily().warned == {"shop1": "warn-close.fm"}
    assert (directory / ".count").read_text() == "12\n"
    [call] = calls(directory, "close")
    assert call["args"] == "shop1" and call["ACCOUNT"] == "shop1" and call["HOME"] == str(directory)
    assert call["COUNT"] == "11" and call["TOTAL"] == "-60000" and call["SECRET"] == "unset"
    assert call["PWD"] == str(directory)
    if os.geteuid() == 0:
        assert call["uid"] == str(__import__("pwd").getpwnam(SERVICE_USER).pw_uid)

    clock.advance()
    acc.daily()  # past its line, the program runs every day (it must be idempotent)
    assert len(calls(directory, "close")) == 2 and (directory / ".count").read_text() == "13\n"

    acc.book.add_payment("shop1", 200000, clock().date())  # balance +1400.00
    clock.advance()
    assert acc.daily().warned == {}
    assert (directory / ".count").read_text() == "0\n"  # a positive count resets
    subjects = inbox.subjects(address)
    assert subjects.count("Обслуживание приостановлено / service suspended") == 2
    notices = acc.book.notice_rows("shop1")
    assert [(n["count"], n["form"]) for n in notices] == [(0, "warn.fm"), (10, "warn-close1.fm"),
                                                          (11, "warn-close.fm"), (12, "warn-close.fm")]


def test_trust_credit_delays_warnings(acc, smtp, clock):
    inbox, _ = smtp
    directory = add_account(acc.home, "shop1")
    (directory / ".count").write_text("-2\n")
    charge(acc, "shop1", 60000)
    for expected_count in ("-1", "0"):
        assert acc.daily().warned == {}
        assert (directory / ".count").read_text().strip() == expected_count
        clock.advance()
    assert acc.daily().warned == {"shop1": "warn.fm"}
    assert len(inbox.to("shop1@shop.example.ru")) == 1
    acc.book.add_payment("shop1", 10**6, clock().date())
    (directory / ".count").write_text("-3\n")
    clock.advance()
    acc.daily()
    assert (directory / ".count").read_text() == "-3\n"  # criterion false: a trust credit stays


def test_personal_warn_cf_and_nocheck(acc, smtp, clock):
    inbox, _ = smtp
    add_account(acc.home, "vip", files={"warn.cf": "# never warn this one\ncriterion 0\n"})
    add_account(acc.home, "shop1")
    charge(acc, "vip", 10**7)
    charge(acc, "shop1", 10**7)
    assert acc.daily(nocheck=True).warned == {}
    clock.advance()
    assert acc.daily().warned == {"shop1": "warn.fm"}
    assert not inbox.to("vip@shop.example.ru")


def test_broken_criterion_and_form_go_to_the_failure_log(acc, smtp, clock):
    inbox, _ = smtp
    add_account(acc.home, "bad", files={"warn.cf": "criterion total() < \n"})
    add_account(acc.home, "divzero", files={"warn.cf": "criterion total() / (count() - count()) < 1\n"})
    badform = add_account(acc.home, "badform", files={"warn.fm": "Subject: x\n\n${total( }\n"})
    add_account(acc.home, "good")
    for name in ("bad", "divzero", "badform", "good"):
        charge(acc, name, 10**6)
    report = acc.daily()
    assert report.warned == {"good": "warn.fm"}
    archived = sorted(acc.home.backup_dir.glob("failures-*.log"))
    log = archived[0].read_text()
    assert "check bad: " in log and "warn.cf:1" in log and "column 20" in log
    assert "check divzero: formula, position 9: division by zero" in log
    assert "check badform: " in log and "warn.fm:3" in log
    assert (badform / ".count").read_text() == "0\n"  # not warned: not counted
    admin = inbox.to("admin@example.ru")
    assert len(admin) == 1 and "division by zero" in admin[0].get_content()
    assert not acc.home.failure_log.exists()


def test_personal_daily_programs_time_limit_and_failures(acc, smtp, clock):
    acc.settings.program_timeout = 1
    ok = add_account(acc.home, "ok")
    install(ok / "daily", RECORDER.format(name="daily"))
    slow = add_account(acc.home, "slow")
    install(slow / "daily", "#!/bin/sh\nsleep 30\n")
    failing = add_account(acc.home, "failing")
    install(failing / "daily", "#!/bin/sh\necho broken pipe dream >&2\nexit 3\n")
    give_to_service_user(acc.home.path)
    acc.daily(nocheck=True)
    [call] = calls(ok, "daily")
    assert call["args"] == "ok" and call["ACCOUNT"] == "ok" and call["SECRET"] == "unset"
    log = next(acc.home.backup_dir.glob("failures-*.log")).read_text()
    assert "personal daily slow: " in log and "time limit of 1 s" in log
    assert "personal daily failing: " in log and "exit status 3: broken pipe dream" in log
    acc.daily(nocheck=True)  # the same day: the succeeded one is not run again, the failed ones are
    assert len(calls(ok, "daily")) == 1


def test_programs_never_run_as_root(home_dir: Path):
    tmp_path = home_dir.parent
    script = tmp_path / "whoami"
    install(script, "#!/bin/sh\nid -u\n")
    if os.geteuid() == 0:
        with pytest.raises(ProgramError, match="does not exist: refusing"):
            run_program(script, [], cwd=tmp_path, env={}, timeout=5, user="no-such-user-icecash")
        with pytest.raises(ProgramError, match="is root"):
            run_program(script, [], cwd=tmp_path, env={}, timeout=5, user="root")
        result = run_program(script, [], cwd=tmp_path, env={}, timeout=5, user=SERVICE_USER)
        assert result.output.strip() != "0"
    else:
        result = run_program(script, [], cwd=tmp_path, env={}, timeout=5, user="whoever")
        assert result.output.strip() == str(os.geteuid())


def test_a_lock_stops_two_runs(acc):
    with acc.lock(), pytest.raises(Conflict, match="another run"):
        acc.daily()
    acc.daily(nocheck=True)


def test_failure_log_without_smtp_stays_for_the_next_day(acc, smtp, clock):
    inbox, port = smtp
    add_account(acc.home, "x", files={"warn.cf": "criterion nope()\n"})
    acc.settings.mail.port = 1  # nothing listens there
    acc.daily()
    assert "check x" in acc.home.failure_log.read_text() and "not mailed" in acc.home.failure_log.read_text()
    acc.settings.mail.port = port
    clock.advance()
    acc.daily()
    assert not acc.home.failure_log.exists()
    assert len(inbox.to("admin@example.ru")) == 1


def test_backups_are_made_once_a_day_and_rotated(acc, clock):
    acc.settings.backup_keep = 2
    add_account(acc.home, "shop1", files={"receipts.st": "receipts 7\n"})
    for _ in range(3):
        acc.daily(nocheck=True)
        acc.daily(nocheck=True)
        clock.advance()
    homes = sorted(p.name for p in acc.home.backup_dir.glob("home-*.tar.gz"))
    dbs = sorted(p.name for p in acc.home.backup_dir.glob("db-*"))
    assert homes == ["home-2026-11-21.tar.gz", "home-2026-11-22.tar.gz"]
    assert dbs == ["db-2026-11-21.sqlite3", "db-2026-11-22.sqlite3"]
    with tarfile.open(acc.home.backup_dir / homes[-1]) as tar:
        names = tar.getnames()
    assert "accounts/shop1/receipts.st" in names and "services.cf" in names
    assert not any(n.startswith(("backup", "billing.sqlite3")) for n in names)
    with sqlite3.connect(acc.home.backup_dir / dbs[-1]) as conn:
        assert conn.execute("SELECT cost FROM statistic WHERE account='shop1'").fetchone() == (35,)
