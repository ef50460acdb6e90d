"""The accounting runs: ``daily``, ``monthly``, balance checks, payments and statements.

``daily [nocheck]`` performs the nine steps of the amstat manual in this order:

1. ``personal`` – each account's own ``daily`` program (per account, once a day);
2. ``runqueue`` – incoming mail is processed, so a form a user mailed in is in place today
   (the manual's step 2 mails ``daily.fm`` reports too; we send them once, at step 6, after
   the day's charges are converted, so they show today's figures);
3. ``services`` – each service's daily script from ``services.cf`` (``@name``: built-in
   collector of the central server's data), measuring yesterday;
4. ``convert`` – ``convertstat`` of every account for the accounting month (``.month``);
5. ``check`` – unless ``nocheck``: the balance criterion of ``warn.cf`` and the escalation;
6. ``reports`` – ``daily.fm`` of each account that has one, through the report generator;
7. ``monthly`` – closes the month when the calendar has passed ``.month``;
8. ``failures`` – the day's failure log mailed to the admin and moved into ``backup/``;
9. ``backup`` – the home directory and the database archived into ``backup/``, rotated.

Each step (per account where it is per account) is written to the journal table when it has
succeeded, and a re-run of the same day skips what is done: no double charges, warnings or
mails. A failure of one account or one script goes to the failure log and the run goes on.
A lock file stops two runs at once. The clock is injected, so tests run a month in seconds.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import smtplib
import sqlite3
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from icecash.billing.collectors import BUILTIN, Collector, CollectorUnavailable
from icecash.billing.convert import convertstat
from icecash.billing.files import (
    BUILTIN_PREFIX,
    ConfigError,
    decide,
    read_count,
    read_month,
    read_text,
    replace_day_block,
    write_atomic,
    write_count,
    write_month,
)
from icecash.billing.forms import Mailer, Rendered, charges_table, render_form
from icecash.billing.home import FailureLog, Home, Settings, now
from icecash.billing.programs import ProgramError, run_program
from icecash.billing.store import Book, Figures
from icecash.core.errors import Conflict, DomainError
from icecash.core.formula import Month
from icecash.core.money import format_money, format_quantity

BUILTIN_PROGRAMS = {"user-close": "close", "user-open": "open"}  # see icecash.billing.central
CLOSED_MARKER = ".closed"  # written by user-close in the account's directory, removed by user-open


class AccountContext:
    """The formula context of one account over a :class:`Figures` snapshot."""

    def __init__(self, figures: Figures, account: str, current: Month, count: int = 0):
        self.figures = figures
        self.account = account
        self.current = current
        self._count = count

    def total(self) -> int:
        return self.figures.total(self.account)

    def statistic(self, first: Month, last: Month, item: str | None) -> int:
        return self.figures.statistic(self.account, first, last, item)

    def payments(self, first: Month, last: Month) -> int:
        return self.figures.payments(self.account, first, last)

    def count(self) -> int:
        return self._count


@dataclass
class DailyReport:
    day: date
    month: Month
    steps: list[str] = field(default_factory=list)
    warned: dict[str, str] = field(default_factory=dict)  # account -> form
    reports: list[str] = field(default_factory=list)
    failures: int = 0
    monthly: str = ""


@dataclass
class MonthlyReport:
    action: str  # started · nothing · closed
    closed: Month | None = None
    opened: Month | None = None


class Accounting:
    """One accounting home with its database, settings, mailer and clock."""

    def __init__(self, home: Home, engine: Engine, settings: Settings | None = None, *,
                 clock: Callable[[], datetime] = now, mailer: Mailer | None = None,
                 collectors: dict[str, Collector] | None = None, server_engine: Engine | None = None):
        self.home = home
        self.engine = engine
        self.book = Book(engine)
        self.settings = settings or home.settings()
        self.clock = clock
        self.mailer = mailer or Mailer(self.settings.mail)
        self.collectors = {**BUILTIN, **(collectors or {})}
        self.server_engine = server_engine or engine
        self.failures = FailureLog(home.failure_log, clock)
        self._month: Month | None = None  # the accounting month, fixed for the length of a step

    # --- basics ---------------------------------------------------------------------------------

    def today(self) -> date:
        return self.clock().date()

    def accounting_month(self) -> Month:
        """``.month``, or the calendar month before the first ``monthly`` has written it."""
        recorded = read_month(self.home.month_file)
        if recorded is not None:
            return recorded
        today = self.today()
        return Month(today.year, today.month)

    @contextmanager
    def lock(self) -> Iterator[None]:
        self.home.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.home.lock_file, "a+")  # noqa: SIM115 - held open for the whole run
        try:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Conflict("billing_locked", f"другой запуск уже идёт ({self.home.lock_file})",
                               f"another run is in progress ({self.home.lock_file})") from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"{os.getpid()}\n")
            handle.flush()
            yield
        finally:
            handle.close()

    def context(self, account: str, figures: Figures | None = None, count: int | None = None) -> AccountContext:
        figures = figures if figures is not None else self.book.figures([account])
        if count is None:
            count_file = self.home.account_dir(account) / ".count"
            count = read_count(count_file) if count_file.exists() else 0
        return AccountContext(figures, account, self.accounting_month(), count)

    def _program_env(self, account: str, **extra) -> dict[str, str]:
        return {"ACCOUNT": account, "HOME": str(self.home.account_dir(account)),
                "ICECASH_BILLING_HOME": str(self.home.path), **{k: str(v) for k, v in extra.items()}}

    def _run(self, name: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        local = self.home.bin_dir / name
        if name in BUILTIN_PROGRAMS and not (local.is_file() and os.access(local, os.X_OK)):
            from icecash.billing.central import run_builtin

            try:
                run_builtin(BUILTIN_PROGRAMS[name], args[0], Path(env["HOME"]), self.settings,
                            int(env.get("TOTAL", 0)), int(env.get("COUNT", 0)))
            except (RuntimeError, DomainError, OSError) as exc:
                raise ProgramError(f"{name}: {getattr(exc, 'message_en', None) or exc}") from None
            return
        program = self.home.find_program(name)
        if program is None:
            raise ProgramError(f"program {name!r} not found in {self.home.bin_dir} or PATH")
        run_program(program, args, cwd=cwd, env=env, timeout=self.settings.program_timeout,
                    user=self.settings.user, extra_path=self.home.bin_dir)

    # --- forms and mail -------------------------------------------------------------------------

    def render(self, account: str, form: str, context: AccountContext, month: Month | None = None) -> Rendered:
        path = self.home.find_form(account, form)
        if path is None:
            raise ConfigError(self.home.forms_dir / form, None, f"форма {form!r} не найдена ни у счёта, ни в forms/",
                              f"form {form!r} found neither in the account's directory nor in forms/")
        month = month or context.current
        config = self.home.user_config(account)
        variables = {
            "account": account, "date": self.today().isoformat(), "month": str(month), "count": str(context.count()),
            "mail": ", ".join(config.mail), "charges": charges_table(self.book.month_rows(account, month)),
        }
        rendered = render_form(read_text(path), path, context, variables, list(config.mail))
        if path.parent != self.home.forms_dir:
            # A user's own form (maybe mailed in by runqueue) may only write to the user's addresses.
            allowed = {a.lower() for a in config.mail}
            strangers = [a for a in rendered.to + rendered.cc if a.lower() not in allowed]
            if strangers:
                raise ConfigError(path, None, f"форма счёта может писать только на адреса mail из user.cf, "
                                  f"а не {', '.join(strangers)}", f"an account's form may only address the mail "
                                  f"addresses of its user.cf, not {', '.join(strangers)}")
        return rendered

    def send(self, rendered: Rendered) -> None:
        try:
            self.mailer.send_rendered(rendered)
        except (OSError, smtplib.SMTPException) as exc:
            raise ProgramError(f"mail to {', '.join(rendered.to)} not sent: {exc}") from None

    # --- daily ----------------------------------------------------------------------------------

    def daily(self, nocheck: bool = False, progress: Callable[[str], None] | None = None) -> DailyReport:
        """The nine steps (see the module docstring); safe to run again the same day."""
        with self.lock():
            day = self.today()
            report = DailyReport(day, self.accounting_month())
            period = day.isoformat()
            steps: list[tuple[str, Callable[[], None]]] = [
                ("personal", lambda: self._step_personal(period)),
                ("runqueue", lambda: self._step_runqueue()),
                ("services", lambda: self._step_services(period, day - timedelta(days=1))),
                ("convert", lambda: self._step_convert()),
                ("check", lambda: None if nocheck else self._step_check(period, report)),
                ("reports", lambda: self._step_reports(period, report)),
                ("monthly", lambda: setattr(report, "monthly", self._monthly().action)),
                ("failures", lambda: self._step_failures(period)),
                ("backup", lambda: self._step_backup(period)),
            ]
            for name, step in steps:
                if progress:
                    progress(name)
                failures_before = self.failures.count
                try:
                    step()
                except DomainError as exc:
                    self.failures.write(f"daily {name}", exc.message_en)
                except (ProgramError, OSError) as exc:
                    self.failures.write(f"daily {name}", str(exc))
                except Exception as exc:  # noqa: BLE001 - one step's fault must not stop the others (backup)
                    self.failures.write(f"daily {name}", f"unexpected {type(exc).__name__}: {exc}")
                report.steps.append(name)
                report.failures += self.failures.count - failures_before
            return report

    def _step_personal(self, period: str) -> None:
        done = self.book.done_accounts("daily", period, "personal")
        for account in self.home.accounts():
            directory = self.home.account_dir(account)
            program = directory / "daily"
            if account in done or not program.is_file():
                continue
            try:
                if not os.access(program, os.X_OK):
                    raise ProgramError(f"{program} is not executable")
                run_program(program, [account], cwd=directory, env=self._program_env(account),
                            timeout=self.settings.program_timeout, user=self.settings.user,
                            extra_path=self.home.bin_dir)
            except ProgramError as exc:
                self.failures.write(f"personal daily {account}", str(exc))
                continue
            self.book.mark("daily", period, "personal", account)

    def _step_runqueue(self) -> None:
        from icecash.billing.runqueue import process_maildir

        process_maildir(self)

    def _step_services(self, period: str, measured: date) -> None:
        done = self.book.done_accounts("daily", period, "services")
        for service in self.home.services():
            if service.daily is None or service.name in done:
                continue
            try:
                if service.daily.startswith(BUILTIN_PREFIX):
                    self._collect(service.daily[1:], service.st_files[0], measured)
                else:
                    self._run(service.daily, [measured.isoformat()], self.home.path,
                              {"SERVICE": service.name, "DAY": measured.isoformat(),
                               "ICECASH_BILLING_HOME": str(self.home.path), "ACCOUNTS": str(self.home.accounts_dir)})
            except (ProgramError, CollectorUnavailable, ConfigError) as exc:
                self.failures.write(f"service {service.name}", getattr(exc, "message_en", str(exc)))
                continue
            self.book.mark("daily", period, "services", service.name)

    def _collect(self, name: str, st_file: str, measured: date) -> None:
        collector = self.collectors.get(name)
        if collector is None:
            raise ProgramError(f"no built-in collector {name!r} (known: {', '.join(sorted(self.collectors))})")
        with self.server_engine.connect() as conn:
            lines = list(collector(measured, conn))
        by_account: dict[str, list[str]] = {}
        for line in lines:
            by_account.setdefault(line.account, []).append(f"{line.item} {format_quantity(line.quantity)}")
        known = set(self.home.accounts())
        for account in sorted(set(by_account) - known):
            self.failures.write(f"collector {name}", f"usage for {account!r}, which has no account directory; not written")
        for account in sorted(known):
            path = self.home.account_dir(account) / st_file
            old = path.read_text(encoding="utf-8") if path.exists() else ""
            new = replace_day_block(old, measured.isoformat(), by_account.get(account, []))
            if new != old:
                write_atomic(path, new)

    def _step_convert(self) -> None:
        convertstat(self.home, self.book, self.accounting_month(), self.home.accounts(), self.failures)

    def _step_check(self, period: str, report: DailyReport) -> None:
        done = self.book.done_accounts("daily", period, "check")
        figures = self.book.figures()
        self._month = self.accounting_month()
        try:
            for account in self.home.accounts():
                if account in done:
                    continue
                try:
                    form = self.check_account(account, figures, period)
                except (DomainError, ProgramError, OSError) as exc:
                    self.failures.write(f"check {account}", getattr(exc, "message_en", str(exc)))
                    continue
                if form:
                    report.warned[account] = form
        finally:
            self._month = None

    def check_account(self, account: str, figures: Figures, period: str) -> str | None:
        """The balance check of one account (warn.cf and .count); the form sent, if any.

        Criterion false: ``.count`` becomes min(count, 0) and a closed account is reopened.
        True: the line with the largest N ≤ count is used (its form mailed, its program run
        with the account as $1 and ACCOUNT, HOME, COUNT, TOTAL in the environment), the warning
        is recorded, then ``.count`` = count + 1. With a trust credit (negative count) and no
        line at or below it, only the count moves.
        """
        warn = self.home.warn_config(account)
        if warn is None or warn.criterion is None:
            return None
        directory = self.home.account_dir(account)
        count_file = directory / ".count"
        count = read_count(count_file) if count_file.exists() else 0
        context = AccountContext(figures, account, self._month or self.accounting_month(), count)
        insufficient = warn.criterion.is_true(context)
        total = context.total()
        if not insufficient:
            # Idempotent by itself (a re-run finds the same), so no journal write: a day's check of
            # thousands of accounts in good standing costs no disk writes at all.
            decision = decide(warn, count, False)
            if decision.new_count is not None:
                write_count(count_file, decision.new_count)
            if (directory / CLOSED_MARKER).exists():
                self.reopen(account, total)
            return None
        count = read_count(count_file)  # created when missing, as the manual says
        decision = decide(warn, count, True)
        level = decision.level
        form = ""
        if level is not None:
            rendered = self.render(account, level.form, context)
            self.send(rendered)
            form = level.form
            if level.program:
                self._run(level.program, [account], directory,
                          self._program_env(account, COUNT=count, TOTAL=total))
            self.book.add_notice(account, self.today(), count, level.threshold, level.form, level.program, total, period)
        else:
            self.book.mark("daily", period, "check", account, note="trust credit")
        write_count(count_file, decision.new_count)
        return form or None

    def reopen(self, account: str, total: int) -> None:
        """Run ``user-open`` for an account that ``user-close`` closed."""
        directory = self.home.account_dir(account)
        self._run("user-open", [account], directory, self._program_env(account, COUNT=0, TOTAL=total))

    def _step_reports(self, period: str, report: DailyReport) -> None:
        done = self.book.done_accounts("daily", period, "reports")
        figures = self.book.figures()
        for account in self.home.accounts():
            if account in done or not (self.home.account_dir(account) / "daily.fm").is_file():
                continue
            try:
                self.send(self.render(account, "daily.fm", self.context(account, figures)))
            except (DomainError, ProgramError, OSError) as exc:
                self.failures.write(f"report {account}", getattr(exc, "message_en", str(exc)))
                continue
            self.book.mark("daily", period, "reports", account)
            report.reports.append(account)

    def _step_failures(self, period: str) -> None:
        log = self.home.failure_log
        if not log.exists() or not log.read_text(encoding="utf-8").strip():
            return
        text = log.read_text(encoding="utf-8")
        message = self.mailer.message([self.settings.mail.admin],
                                      f"IceCash billing: сбои за {period} / failures of {period}", text)
        try:
            self.mailer.send(message)
        except Exception as exc:  # noqa: BLE001 - the log stays for tomorrow's run
            self.failures.write("daily failures", f"failure log not mailed to {self.settings.mail.admin}: {exc}")
            return
        self.home.backup_dir.mkdir(exist_ok=True)
        target = _free_name(self.home.backup_dir / f"failures-{period}.log")
        os.replace(log, target)

    def _step_backup(self, period: str) -> None:
        if self.book.done("daily", period, "backup"):
            return
        backup = self.home.backup_dir
        backup.mkdir(exist_ok=True)
        archive = backup / f"home-{period}.tar.gz"
        partial = archive.with_name(archive.name + ".part")
        skip = {self.home.backup_dir.name, "billing.sqlite3", "billing.sqlite3-wal", "billing.sqlite3-shm", ".lock"}
        with tarfile.open(partial, "w:gz") as tar:
            for entry in sorted(self.home.path.iterdir()):
                if entry.name not in skip:
                    tar.add(entry, arcname=entry.name)
        os.replace(partial, archive)
        self.backup_database(backup / f"db-{period}")
        self.book.mark("daily", period, "backup")
        _rotate(backup, "home-", ".tar.gz", self.settings.backup_keep)
        _rotate(backup, "db-", "", self.settings.backup_keep)

    def backup_database(self, stem: Path) -> Path:
        """SQLite: an online backup (consistent while others write); PostgreSQL: ``pg_dump``."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite":
            target = stem.with_suffix(".sqlite3")
            partial = target.with_name(target.name + ".part")
            partial.unlink(missing_ok=True)
            source = sqlite3.connect(url.database)
            try:
                dest = sqlite3.connect(partial)
                try:
                    source.backup(dest)
                finally:
                    dest.close()
            finally:
                source.close()
            os.replace(partial, target)
            return target
        if url.get_backend_name() == "postgresql":
            target = stem.with_suffix(".sql")
            partial = target.with_name(target.name + ".part")
            env = {**os.environ}
            if url.password:
                env["PGPASSWORD"] = url.password
            command = ["pg_dump", "--no-owner", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                       "-U", url.username or "postgres", "-f", str(partial), url.database or ""]
            result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600, check=False)
            if result.returncode != 0:
                raise ProgramError(f"pg_dump failed: {result.stderr.strip()[-400:]}")
            os.replace(partial, target)
            return target
        raise ProgramError(f"no database backup for {url.get_backend_name()}: back it up with the engine's own tools")

    # --- monthly --------------------------------------------------------------------------------

    def monthly(self) -> MonthlyReport:
        with self.lock():
            return self._monthly()

    def _monthly(self) -> MonthlyReport:
        """Close the accounting month when the calendar has left it; re-runnable after a crash.

        Steps, each journaled: final convertstat of the closing month; each service's monthly
        script; the ``.st`` files moved into ``backup/YYYY.MM/<account>/``; ``monthly.fm`` of
        each account that has one; and, last, the new month written to ``.month``.
        """
        today = self.today()
        current = Month(today.year, today.month)
        recorded = read_month(self.home.month_file)
        if recorded is None:
            write_month(self.home.month_file, current)
            return MonthlyReport("started", opened=current)
        if recorded >= current:
            return MonthlyReport("nothing")
        closing = recorded
        period = str(closing)
        accounts = self.home.accounts()
        if not self.book.done("monthly", period, "convert"):
            convertstat(self.home, self.book, closing, accounts, self.failures)
            self.book.mark("monthly", period, "convert")
        done = self.book.done_accounts("monthly", period, "scripts")
        for service in self.home.services():
            if service.monthly is None or service.name in done:
                continue
            try:
                self._run(service.monthly, [period], self.home.path,
                          {"SERVICE": service.name, "MONTH": period, "ICECASH_BILLING_HOME": str(self.home.path),
                           "ACCOUNTS": str(self.home.accounts_dir)})
            except ProgramError as exc:
                self.failures.write(f"monthly {service.name}", str(exc))
                continue
            self.book.mark("monthly", period, "scripts", service.name)
        archive_root = self.home.backup_dir / period
        done = self.book.done_accounts("monthly", period, "archive")
        for account in accounts:
            if account in done:
                continue
            files = self.home.st_files(account)
            if files:
                target = archive_root / account
                target.mkdir(parents=True, exist_ok=True)
                for path in files:
                    os.replace(path, _free_name(target / path.name))
            self.book.mark("monthly", period, "archive", account)
        done = self.book.done_accounts("monthly", period, "forms")
        figures = self.book.figures()
        for account in accounts:
            if account in done or not (self.home.account_dir(account) / "monthly.fm").is_file():
                continue
            try:
                context = AccountContext(figures, account, closing, 0)
                self.send(self.render(account, "monthly.fm", context, closing))
            except (DomainError, ProgramError, OSError) as exc:
                self.failures.write(f"monthly form {account}", getattr(exc, "message_en", str(exc)))
                continue
            self.book.mark("monthly", period, "forms", account)
        write_month(self.home.month_file, current)
        return MonthlyReport("closed", closed=closing, opened=current)

    # --- payments and statements ----------------------------------------------------------------

    def pay(self, account: str, amount: int, comment: str = "", on: date | None = None) -> int:
        """Record a payment; a closed account whose criterion is now false is reopened at once."""
        self.home.require_account(account)
        if amount == 0:
            from icecash.core.errors import InvalidInput

            raise InvalidInput("zero_payment", "сумма платежа не может быть нулевой", "a payment cannot be zero",
                               field="amount")
        payment_id = self.book.add_payment(account, amount, on or self.today(), comment)
        directory = self.home.account_dir(account)
        if (directory / CLOSED_MARKER).exists():
            try:
                warn = self.home.warn_config(account)
                context = self.context(account)
                if warn is not None and warn.criterion is not None and not warn.criterion.is_true(context):
                    write_count(directory / ".count", min(read_count(directory / ".count"), 0))
                    self.reopen(account, context.total())
            except (DomainError, ProgramError, OSError) as exc:
                self.failures.write(f"pay {account}", f"payment recorded, but reopening failed: "
                                    f"{getattr(exc, 'message_en', str(exc))}")
        return payment_id

    def statement(self, account: str, month: Month | None = None) -> str:
        """The account's month: opening balance, charges by item, payments, closing balance."""
        self.home.require_account(account)
        month = month or self.accounting_month()
        figures = self.book.figures([account])
        before = month.shift(-1)
        far = Month(1, 1)
        opening = figures.payments(account, far, before) - figures.statistic(account, far, before, None)
        rows = self.book.month_rows(account, month)
        paid = self.book.payment_rows(account, month)
        lines = [f"Счёт / account: {account}", f"Месяц / month: {month}",
                 f"Входящий остаток / opening balance: {format_money(opening)}", "", charges_table(rows), "",
                 "Платежи / payments:"]
        for row in paid:
            comment = f"  {row['comment']}" if row["comment"] else ""
            lines.append(f"  {row['paid_on'].isoformat()}  {format_money(row['amount']):>13}{comment}")
        if not paid:
            lines.append("  (нет / none)")
        closing = opening + sum(r["amount"] for r in paid) - sum(r["cost"] for r in rows)
        lines += ["", f"Исходящий остаток / closing balance: {format_money(closing)}",
                  f"Остаток на сегодня / balance today: {format_money(figures.total(account))}"]
        return "\n".join(lines) + "\n"


def _free_name(path: Path) -> Path:
    """``path``, or ``path`` with -1, -2 … before its suffixes when it exists."""
    if not path.exists():
        return path
    name = path.name
    stem, dot, rest = name.partition(".")
    n = 1
    while True:
        candidate = path.with_name(f"{stem}-{n}{dot}{rest}")
        if not candidate.exists():
            return candidate
        n += 1


def _rotate(directory: Path, prefix: str, suffix: str, keep: int) -> None:
    found = sorted(p for p in directory.iterdir()
                   if p.name.startswith(prefix) and p.name.endswith(suffix) and not p.name.endswith(".part"))
    for old in found[:-keep] if len(found) > keep else []:
        if old.is_dir():
            shutil.rmtree(old)
        else:
            old.unlink()


__all__ = ["AccountContext", "Accounting", "DailyReport", "MonthlyReport"]
