"""``icecash billing …``: the accounting server's commands (amstat's daily, monthly, convertstat …)."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

billing_app = typer.Typer(
    help="The accounting server (amstat): rates each firm's usage by price lists, checks balances with "
    "warn.cf formulas, warns and suspends. Home directory: --home or ICECASH_BILLING_HOME "
    "(default: DATA/billing). Database: --db URL, [billing] db in billing.toml, or billing.sqlite3 in the home.",
    no_args_is_help=True,
)


class _State:
    home: Path
    db: str | None
    server_db: str | None


state = _State()


@billing_app.callback()
def _options(
    home: Path | None = typer.Option(None, "--home", envvar="ICECASH_BILLING_HOME", show_default=False,
                                     help="Accounting home directory [default: DATA/billing, DATA being $ICECASH_DATA or ./var]."),
    db: str | None = typer.Option(None, "--db", help="SQLAlchemy database URL (default: billing.sqlite3 in the home)."),
    server_db: str | None = typer.Option(None, "--server-db", help="The central server's database URL, read by the "
                                            "built-in collectors (default: [central] db, else the --db database)."),
) -> None:
    data = Path(os.environ.get("ICECASH_DATA", "./var"))
    state.home = home or data / "billing"
    state.db = db
    state.server_db = server_db


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]Ошибка / error:[/] {escape(message)}")
    raise typer.Exit(code)


def _clock(on: str | None):
    from icecash.billing.home import now

    if not on:
        return now
    try:
        day = date.fromisoformat(on)
    except ValueError:
        _fail(f"--date {on!r}: нужна дата ГГГГ-ММ-ДД / expected YYYY-MM-DD")
    return lambda: datetime.combine(day, now().timetz())


def _open(on: str | None = None, need_home: bool = True):
    """The Accounting of the chosen home, or a clear error."""
    from icecash.billing.engine import Accounting
    from icecash.billing.home import Home
    from icecash.billing.store import open_engine
    from icecash.core.errors import DomainError
    from icecash.store.db import make_engine

    home = Home(state.home)
    if need_home and not home.exists():
        _fail(f"{home.path}: не домашний каталог учёта (нет services.cf и accounts/); создайте его: "
              f"icecash billing init --home {home.path} / not an accounting home; create it with `icecash billing init`")
    try:
        settings = home.settings()
        engine = open_engine(home.db_url(state.db, settings))
    except DomainError as exc:
        _fail(exc.message_ru + " / " + exc.message_en)
    server_url = state.server_db or settings.central_db
    server_engine = make_engine(server_url) if server_url else None
    return Accounting(home, engine, settings, clock=_clock(on), server_engine=server_engine)


def _target_month(current, year: int | None, month: int | None):
    """The month -Y/-M name, each defaulting to the ``current`` (accounting) month's."""
    from icecash.core.formula import Month

    try:
        return Month(year or current.year, month or current.month)
    except ValueError as exc:
        _fail(f"-Y/-M: {exc}")


def _domain(exc) -> None:
    _fail(f"{exc.message_ru} / {exc.message_en}")


@billing_app.command("init")
def init_cmd(
    account: str = typer.Option("demo", "--account", help="An example account directory to create ('' for none)."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing files with the examples."),
) -> None:
    """Create a commented example home: billing.toml, services.cf, warn.cf, prices/, forms/, bin/, accounts/."""
    from icecash.billing.example import init_home

    written = init_home(state.home, account or None, force)
    acc = _open()
    acc.engine.dispose()
    for path in written:
        out.print(f"  {path}")
    out.print(f"Домашний каталог учёта готов / accounting home ready: {state.home} ({len(written)} files written)")


@billing_app.command("convertstat")
def convertstat_cmd(
    user: str | None = typer.Option(None, "-u", "--user", help="Only this account."),
    all_: bool = typer.Option(False, "-a", "--all", help="Every account (the default when -u is not given)."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the priced rows to FILE instead of the database."),
    input_: Path | None = typer.Option(None, "-i", "--input", help="Read statistics from FILE instead of the .st files (needs -u)."),
    year: int | None = typer.Option(None, "-Y", "--year", help="Year of the month to convert (default: the accounting month)."),
    month: int | None = typer.Option(None, "-M", "--month", help="Month 1..12 (default: the accounting month)."),
) -> None:
    """Rate .st statistics by each account's price lists into the SQL table `statistic` (idempotent).

    A closed month (before .month) is rated from its archive backup/YYYY.MM/<account>/.
    """
    from icecash.billing.convert import convertstat
    from icecash.core.errors import DomainError
    from icecash.core.money import format_money

    if user and all_:
        _fail("-u и -a взаимоисключающие / -u and -a exclude each other")
    if input_ and not user:
        _fail("-i требует -u / -i needs -u ACCOUNT")
    if input_ and not input_.is_file():
        _fail(f"-i {input_}: файл не найден / file not found")
    acc = _open()
    try:
        current = acc.accounting_month()
        target = _target_month(current, year, month)
        if user:
            acc.home.require_account(user)
        accounts = [user] if user else acc.home.accounts()
        if target > current:
            _fail(f"{target}: месяц ещё не начат (учётный месяц {current}) / not started yet (accounting month {current})")
        with acc.lock(), Progress(TextColumn("convertstat"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                  console=console, transient=True) as bar:
            task = bar.add_task("", total=len(accounts))
            result = convertstat(acc.home, acc.book, target, accounts, acc.failures, input_file=input_,
                                 output=output, progress=lambda n: bar.advance(task, n), closed=target < current)
    except DomainError as exc:
        _domain(exc)
    out.print(f"{target}: {result.accounts} accounts, {result.rows} rows, {format_money(result.cost)} ₽"
              + (f" → {output}" if output else ""))
    if result.failed or acc.failures.count:
        console.print(f"[yellow]{acc.failures.count} failure(s) written to {acc.home.failure_log}[/]")
        raise typer.Exit(1)


@billing_app.command("daily")
def daily_cmd(
    mode: str | None = typer.Argument(None, help="`nocheck`: skip the balance checks (step 5)."),
    on: str | None = typer.Option(None, "--date", help="Run as of this day YYYY-MM-DD (default: today)."),
) -> None:
    """The daily run: the nine steps of the amstat manual (see docs/billing/README.md); safe to repeat."""
    from icecash.core.errors import DomainError

    if mode not in (None, "nocheck"):
        _fail(f"{mode!r}: допустим только аргумент nocheck / the only argument is `nocheck`")
    acc = _open(on)
    names = ["personal", "runqueue", "services", "convert", "check", "reports", "monthly", "failures", "backup"]
    try:
        with Progress(TextColumn("daily {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("", total=len(names))
            report = acc.daily(nocheck=mode == "nocheck",
                               progress=lambda step: bar.update(task, description=step, completed=names.index(step)))
    except DomainError as exc:
        _domain(exc)
    out.print(f"daily {report.day} (month {report.month}): warned {len(report.warned)}, reports {len(report.reports)}, "
              f"monthly: {report.monthly}, failures: {report.failures}")


@billing_app.command("monthly")
def monthly_cmd(on: str | None = typer.Option(None, "--date", help="Run as of this day YYYY-MM-DD.")) -> None:
    """Close the accounting month if the calendar has left it (daily runs this itself)."""
    from icecash.core.errors import DomainError

    acc = _open(on)
    try:
        report = acc.monthly()
    except DomainError as exc:
        _domain(exc)
    if report.action == "closed":
        out.print(f"closed {report.closed}, opened {report.opened}")
    else:
        out.print(f"monthly: {report.action}" + (f" ({report.opened})" if report.opened else ""))


@billing_app.command("runqueue")
def runqueue_cmd(
    listen: str | None = typer.Option(None, "--listen", help="Serve SMTP on HOST:PORT and process each mail at once."),
) -> None:
    """Answer users' mail (help, balance, services, prices, form NAME) from HOME/spool or an SMTP listener."""
    from icecash.billing.runqueue import SpoolHandler, process_maildir
    from icecash.core.errors import DomainError

    acc = _open()
    if not listen:
        try:
            with acc.lock():
                counts = process_maildir(acc)
        except DomainError as exc:
            _domain(exc)
        out.print(f"runqueue: {counts['answered']} answered, {counts['refused']} refused, {counts['failed']} failed")
        return
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        _fail(f"--listen {listen!r}: нужно HOST:PORT / expected HOST:PORT")
    import time

    from aiosmtpd.controller import Controller

    controller = Controller(SpoolHandler(acc), hostname=host or "127.0.0.1", port=int(port))
    controller.start()
    out.print(f"runqueue: SMTP on {host or '127.0.0.1'}:{port}, spool {acc.home.spool_dir} (Ctrl+C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@billing_app.command("pay")
def pay_cmd(
    account: str = typer.Argument(..., help="The account (firm regid)."),
    amount: str = typer.Argument(..., help="Rubles, e.g. 1500 or 1500.50; negative for a refund or correction."),
    comment: str = typer.Option("", "--comment", help="A note kept with the payment."),
    on: str | None = typer.Option(None, "--date", help="Payment date YYYY-MM-DD (default: today)."),
) -> None:
    """Record a payment; a suspended firm whose balance is now sufficient is lifted (user-open)."""
    from icecash.core.errors import DomainError
    from icecash.core.money import format_money, parse_money

    try:
        kopecks = parse_money(amount)
    except ValueError as exc:
        _fail(f"сумма / amount: {exc}")
    acc = _open(on)
    try:
        payment = acc.pay(account, kopecks, comment)
    except DomainError as exc:
        _domain(exc)
    out.print(f"payment #{payment}: {account} {format_money(kopecks)} ₽; balance {format_money(acc.book.balance(account))} ₽")


@billing_app.command("statement")
def statement_cmd(
    account: str = typer.Argument(..., help="The account."),
    year: int | None = typer.Option(None, "-Y", "--year", help="Year (default: the accounting month's)."),
    month: int | None = typer.Option(None, "-M", "--month", help="Month 1..12."),
) -> None:
    """An account's month: opening balance, charges by item, payments, closing balance."""
    from icecash.core.errors import DomainError

    acc = _open()
    try:
        current = acc.accounting_month()
        target = _target_month(current, year, month)
        out.print(acc.statement(account, target), end="", markup=False, highlight=False)
    except DomainError as exc:
        _domain(exc)


@billing_app.command("eval")
def eval_cmd(
    account: str = typer.Argument(..., help="The account whose figures the formula sees."),
    formula: str = typer.Argument(..., help="A formula, e.g. 'total() < max(50000, statistic(-.2,.)/3)'."),
) -> None:
    """Evaluate a formula for an account (to try a warn.cf criterion before using it)."""
    from icecash.core.errors import DomainError
    from icecash.core.formula import format_value, parse

    acc = _open()
    try:
        acc.home.require_account(account)
        value = parse(formula).evaluate(acc.context(account))
    except DomainError as exc:
        _domain(exc)
    out.print(format_value(value), markup=False, highlight=False)
