"""``icecash server``: serve the central server, and set up its operator, firms, shops and tills."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

server_app = typer.Typer(
    help="The central server (центральный сервер): tills' exchange, back office (1C), admin and report pages, "
    "port 10100. Run without a subcommand to serve it; the database is created or upgraded on start.",
    invoke_without_command=True,
)
firm_app = typer.Typer(help="Firms (фирмы): one per regid.", no_args_is_help=True)
user_app = typer.Typer(help="People: the operator, and each firm's admins and viewers.", no_args_is_help=True)
shop_app = typer.Typer(help="Shops (торговые точки) of a firm, by idplace.", no_args_is_help=True)
till_app = typer.Typer(help="Tills (кассы) of a shop, by nkassa, each with its own secret.", no_args_is_help=True)
price_app = typer.Typer(help="Price lists: load a .spr/.zip/.csv file into a firm's named list.", no_args_is_help=True)
server_app.add_typer(firm_app, name="firm")
server_app.add_typer(user_app, name="user")
server_app.add_typer(shop_app, name="shop")
server_app.add_typer(till_app, name="till")
server_app.add_typer(price_app, name="price")

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

DataOption = typer.Option(Path("./var/server"), "--data", "-d", envvar="ICECASH_SERVER_DATA",
                          help="Data directory (the SQLite database unless --db).")
DbOption = typer.Option(None, "--db", envvar="ICECASH_SERVER_DB", show_default=False,
                        help="Database URL instead of SQLite, e.g. postgresql+psycopg://user@host/db.")


def _fail(message: str) -> None:
    console.print(f"[bold red]Ошибка / error:[/] {escape(message)}")
    raise typer.Exit(2)


def _open(ctx: typer.Context):  # noqa: ANN202
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from icecash.server.app import open_server

    data, db = ctx.obj["data"], ctx.obj["db"]
    try:
        return open_server(data, db, billing_home=ctx.obj.get("billing_home"),
                           billing_maildir=ctx.obj.get("billing_maildir"), billing_daily=ctx.obj.get("billing_daily"))
    except CommandError as exc:
        _fail(f"схема базы не обновляется / cannot upgrade the server database: {exc}")
    except (OSError, SQLAlchemyError) as exc:
        reason = getattr(exc, "strerror", None) or str(getattr(exc, "orig", None) or exc)
        _fail(f"база сервера не открывается / cannot open the server database: {reason}")


def _run(action):  # noqa: ANN001, ANN202
    from icecash.core.errors import DomainError

    try:
        return action()
    except DomainError as exc:
        field = f" [{exc.field}]" if exc.field else ""
        console.print(f"[bold red]Ошибка{escape(field)}:[/] {escape(exc.message_ru)}\n[red]Error{escape(field)}:[/] "
                      f"{escape(exc.message_en)}")
        raise typer.Exit(2) from None


@server_app.callback()
def server(
    ctx: typer.Context,
    data: Path = DataOption,
    db: Optional[str] = DbOption,
    port: int = typer.Option(10100, "--port", "-p", envvar="ICECASH_SERVER_PORT", help="TCP port."),
    host: str = typer.Option("127.0.0.1", "--host", envvar="ICECASH_SERVER_HOST", help="Address to bind."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    billing_home: Optional[Path] = typer.Option(
        None, "--billing-home", envvar="ICECASH_BILLING_HOME", show_default=False,
        help="The accounting's home (icecash billing init); each new firm gets an account there. "
        "Default: DATA/billing."),
    billing_daily: Optional[str] = typer.Option(
        None, "--billing-daily", envvar="ICECASH_BILLING_DAILY", show_default=False,
        help="Run the accounting's daily in the server every day at HH:MM local time (default: off; "
        "or use the systemd timer of docs/billing)."),
    billing_maildir: Optional[Path] = typer.Option(
        None, "--billing-maildir", envvar="ICECASH_BILLING_MAILDIR", show_default=False,
        help="A Maildir the operator reads at /billing/mail (the demo's mail catcher)."),
) -> None:
    """Serve the central server: admin pages at /, exchange at /api/v1/exchange, OpenAPI at /docs."""
    from icecash.server.billing import parse_daily_at

    _run(lambda: parse_daily_at(billing_daily))
    ctx.obj = {"data": data, "db": db, "billing_home": billing_home, "billing_daily": billing_daily,
               "billing_maildir": billing_maildir}
    if ctx.invoked_subcommand is not None:
        return
    from icecash import __version__
    from icecash.cli import _serve, _setup_logging
    from icecash.server.app import create_app

    _setup_logging(log_level)
    service = _open(ctx)
    console.print(f"IceCash server {__version__}: http://{host}:{port}/  data: {data.resolve()}")
    _serve(create_app(service), host, port, log_level)


def _password(password: Optional[str]) -> str:
    return password if password is not None else typer.prompt("Пароль / password", hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    login: str = typer.Argument(..., help="Login: Latin letters, digits, _.-@"),
    role: str = typer.Option("admin", "--role", "-r", help="operator (sees every firm), admin or viewer (of --firm)."),
    firm: Optional[str] = typer.Option(None, "--firm", "-f", help="The firm's regid (not for the operator)."),
    name: str = typer.Option("", "--name", help="Name shown on the pages."),
    password: Optional[str] = typer.Option(None, "--password", help="Asked for when not given (better: not in shell history)."),
) -> None:
    """Create a person: the operator, or a firm's admin or viewer."""
    service = _open(ctx)
    _run(lambda: service.create_user(None, login, _password(password), role, firm, name))
    out.print(f"Создан / created: {login} ({role}{', ' + firm if firm else ''})")


@firm_app.command("add")
def firm_add(ctx: typer.Context, regid: str = typer.Argument(..., help="The firm's id (regid): Latin letters, digits, _.-"),
             name: str = typer.Option("", "--name", help="The firm's name.")) -> None:
    """Create a firm."""
    service = _open(ctx)
    _run(lambda: service.create_firm(None, regid, name))
    out.print(f"Фирма создана / firm created: {regid}")


@firm_app.command("list")
def firm_list(ctx: typer.Context) -> None:
    """List the firms."""
    from sqlalchemy import select

    from icecash.server.tables import firms
    from icecash.store.db import reading

    service = _open(ctx)
    with reading(service.engine) as conn:
        for row in conn.execute(select(firms).order_by(firms.c.regid)):
            out.print(f"{row.regid}\t{escape(row.name)}")


@shop_app.command("add")
def shop_add(ctx: typer.Context, regid: str = typer.Argument(..., help="The firm's regid."),
             idplace: int = typer.Argument(..., help="The shop's number (idplace)."),
             name: str = typer.Option("", "--name", help="Shop name or address.")) -> None:
    """Create a shop of a firm."""
    service = _open(ctx)
    _run(lambda: service.create_shop(None, regid, idplace, name))
    out.print(f"Точка создана / shop created: {regid} / {idplace}")


@till_app.command("add")
def till_add(ctx: typer.Context, regid: str = typer.Argument(..., help="The firm's regid."),
             idplace: int = typer.Argument(..., help="The shop's idplace."),
             nkassa: int = typer.Argument(..., help="The till's number in the shop (nkassa)."),
             name: str = typer.Option("", "--name", help="A name for the till."),
             price_list: Optional[str] = typer.Option(None, "--price-list", help="Bind the till to this named price list.")) -> None:
    """Register a till and print its secret ONCE (the server keeps only a hash)."""
    service = _open(ctx)
    secret = _run(lambda: service.create_till(None, regid, idplace, nkassa, name, price_list))
    _print_secret(regid, idplace, nkassa, secret)


@till_app.command("reset-secret")
def till_reset(ctx: typer.Context, regid: str = typer.Argument(...), idplace: int = typer.Argument(...),
               nkassa: int = typer.Argument(...)) -> None:
    """Give a till a new secret (the old one stops working at once) and print it once."""
    service = _open(ctx)
    secret = _run(lambda: service.reset_till_secret(None, regid, idplace, nkassa))
    _print_secret(regid, idplace, nkassa, secret)


@till_app.command("bind")
def till_bind(ctx: typer.Context, regid: str = typer.Argument(...), idplace: int = typer.Argument(...),
              nkassa: int = typer.Argument(...), price_list: str = typer.Argument(..., help="Price list name.")) -> None:
    """Bind a till to a named price list (created empty if new)."""
    service = _open(ctx)
    _run(lambda: service.bind_price_list(None, regid, idplace, nkassa, price_list))
    out.print(f"Касса {nkassa} → прайс {price_list} / till bound")


def _print_secret(regid: str, idplace: int, nkassa: int, secret: str) -> None:
    out.print(f"Секрет кассы (показан один раз) / till secret (shown once):\n{secret}")
    link = json.dumps({"server_url": "http://SERVER:10100", "regid": regid, "idplace": idplace, "nkassa": nkassa,
                       "secret": secret}, ensure_ascii=False)
    out.print(f"На кассе / on the till (admin): PUT /api/v1/sync/link {escape(link)}", highlight=False)


@price_app.command("push")
def price_push(ctx: typer.Context, regid: str = typer.Argument(...), name: str = typer.Argument(..., help="Price list name."),
               file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help=".spr, zipped .spr or .csv")) -> None:
    """Load a price file into a firm's named price list: tills bound to it get the changes."""
    from icecash.core.pricefile import parse_price_file

    service = _open(ctx)
    with console.status("Загрузка / loading…"):
        result = _run(lambda: service.push_price_list(None, regid, name, parse_price_file(file.read_bytes(), file.name)))
    out.print(f"Прайс {name} версия {result['version']}: +{result['added']} ~{result['changed']} -{result['deleted']}")


@server_app.command("billing-token")
def billing_token(ctx: typer.Context, write_to: Optional[Path] = typer.Option(
        None, "--write-to", help="Also write it into [central] token of this accounting home's billing.toml.")) -> None:
    """Make a new token for the accounting's suspend/resume calls (the old one stops working); print it once."""
    from icecash.server.billing import set_billing_token, write_central_token

    service = _open(ctx)
    token = set_billing_token(service.engine)
    if write_to is not None:
        try:
            path = write_central_token(write_to, token)
        except OSError as exc:
            _fail(f"{write_to}: {exc}")
        out.print(f"Токен учёта записан / accounting token written: {path}")
    else:
        out.print(f"Токен учёта (показан один раз) / accounting token (shown once):\n{token}\n"
                  "В billing.toml: [central] token = \"…\" или / or ICECASH_BILLING_TOKEN", highlight=False)


@server_app.command("openapi")
def openapi(output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")) -> None:
    """Print the server's OpenAPI document (exchange and back-office API reference)."""
    from icecash.server.app import create_app

    text = json.dumps(create_app(None).openapi(), ensure_ascii=False, indent=2) + "\n"  # type: ignore[arg-type]
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
