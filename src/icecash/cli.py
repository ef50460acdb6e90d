"""``icecash``: one command for every IceCash service, with a --help that explains each."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from icecash import __version__
from icecash.core.errors import DomainError
from icecash.core.roles import Role

# soft_wrap: messages stay on one line however narrow the terminal, so they can be grepped and quoted
console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

app = typer.Typer(
    name="icecash",
    help="IceCash: an open-source point-of-sale suite for Russian shops. Each subcommand runs one service or tool.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
till_app = typer.Typer(
    help="The till (касса): cashier API on port 10110. Run without a subcommand to serve it; "
    "the database under --data is created or upgraded on start.",
    invoke_without_command=True,
)
price_app = typer.Typer(help="The till's catalogue: import price files (.spr, zipped .spr, CSV).", no_args_is_help=True)
user_app = typer.Typer(help="The till's users: create the first admin and other users.", no_args_is_help=True)
till_app.add_typer(price_app, name="price")
till_app.add_typer(user_app, name="user")
app.add_typer(till_app, name="till")

DataOption = typer.Option(
    Path("./var"), "--data", "-d", envvar="ICECASH_DATA",
    help="Data directory (the till database).", show_default=True,
)
# The same option after a subcommand (`icecash till price import FILE --data DIR`); it wins over `till --data`.
SubDataOption = typer.Option(
    None, "--data", "-d", help="Data directory of the till (as `icecash till --data`). Env: ICECASH_DATA.",
    show_default=False,
)


def _fail(message: str, code: int = 2) -> None:
    console.print(f"[bold red]Ошибка / error:[/] {escape(message)}")
    raise typer.Exit(code)


def _domain_fail(exc: DomainError) -> None:
    field = escape(f" [{exc.field}]") if exc.field else ""
    details = getattr(exc, "errors", None)
    console.print(f"[bold red]Ошибка{field}:[/] {escape(exc.message_ru)}\n[red]Error{field}:[/] {escape(exc.message_en)}")
    for error in (details or [])[1:20]:
        console.print(
            escape(f"  строка/line {error.line_no}, {error.field}: {error.message_ru} / {error.message_en}"),
            highlight=False,
        )
    raise typer.Exit(2)


def _open_till(ctx: typer.Context | None, data: Optional[Path]):  # noqa: ANN202
    """The till over ``--data`` (the subcommand's, else ``till``'s); a clear message, not a traceback, on failure."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from icecash.till.app import open_till

    directory = data if data is not None or ctx is None else ctx.obj["data"]
    try:
        return open_till(directory)
    except CommandError as exc:  # e.g. a database from a newer IceCash: its revision is unknown here
        _fail(f"--data {directory}: схема базы не обновляется / cannot upgrade the till database: {exc}")
    except (OSError, SQLAlchemyError) as exc:
        reason = getattr(exc, "strerror", None) or str(getattr(exc, "orig", None) or exc)
        _fail(f"--data {directory}: база кассы не открывается / cannot open the till database: {reason}")


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every request at INFO: the sync agent's and the demo's own calls would drown the log
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _serve(application, host: str, port: int, log_level: str) -> None:
    import gc

    import uvicorn
    import uvicorn.lifespan.on  # noqa: F401  (what uvicorn loads on start, imported before the freeze below)
    import uvicorn.loops.auto  # noqa: F401
    import uvicorn.protocols.http.auto  # noqa: F401

    # Everything made so far lives as long as the process (the app, its routes and schemas, the
    # tables, the modules): out of the cycle collector's reach, so that a full collection no
    # longer walks it all (~50 ms with the demo's imports) in the middle of some cashier's scan.
    gc.collect()
    gc.freeze()
    uvicorn.run(application, host=host, port=port, log_level=log_level.lower(), access_log=log_level.lower() == "debug")


@app.callback()
def _main(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
    config: Optional[Path] = typer.Option(
        None, "--config", "-c", envvar="ICECASH_CONFIG", show_default=False,
        help="Settings file (TOML; a table per command, e.g. [till] port = 10110). Without it ./icecash.toml "
        "is read when present. A flag wins over its ICECASH_* variable, which wins over the file.",
    ),
) -> None:
    if version:
        out.print(f"icecash {__version__}")
        raise typer.Exit()
    from icecash.config import ConfigError, find_config, load_default_map

    path = find_config(config)
    if path is not None:
        try:
            ctx.default_map = load_default_map(path, ctx.command)
        except ConfigError as exc:
            _fail(str(exc))


@till_app.callback()
def till(
    ctx: typer.Context,
    data: Path = DataOption,
    port: int = typer.Option(10110, "--port", "-p", envvar="ICECASH_TILL_PORT", help="TCP port."),
    host: str = typer.Option("127.0.0.1", "--host", envvar="ICECASH_TILL_HOST", help="Address to bind."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
) -> None:
    """Serve the till: JSON API under /api/v1, OpenAPI at /docs."""
    ctx.obj = {"data": data}
    if ctx.invoked_subcommand is not None:
        return
    _setup_logging(log_level)
    from icecash.till.app import create_app

    till_service = _open_till(None, data)
    if not till_service.has_users():
        console.print(
            "[yellow]Нет ни одного пользователя. Создайте администратора:[/] icecash till user add admin --role admin\n"
            "[yellow]No users yet. Create an admin:[/] icecash till user add admin --role admin"
        )
    console.print(f"IceCash till {__version__}: http://{host}:{port}/  data: {data.resolve()}")
    _serve(create_app(till_service), host, port, log_level)


@price_app.command("import")
def price_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A .spr (plain or zipped) or .csv price file.", exists=True, dir_okay=False, readable=True),
    data: Optional[Path] = SubDataOption,
) -> None:
    """Import a price file into the till's catalogue: all lines or, if any is bad, none.

    A bad file is refused whole, with the line number and field of each problem; the catalogue stays as it was.
    """
    from icecash.core.pricefile import parse_price_file

    till_service = _open_till(ctx, data)
    try:
        content = file.read_bytes()
    except OSError as exc:
        _fail(f"{file}: {exc.strerror}")
    if not content.strip():
        _fail(f"{file}: файл пуст / the file is empty")
    try:
        with console.status(f"Чтение / reading {escape(file.name)}…"):
            price_file = parse_price_file(content, file.name)
        with Progress(
            TextColumn("[bold]Загрузка / import"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            task = progress.add_task("import", total=len(price_file.rows) + len(price_file.extra_barcodes))
            result = till_service.import_price_file(None, price_file, lambda done, total: progress.update(task, completed=done, total=total))
    except DomainError as exc:
        _domain_fail(exc)
    for warning in result["warnings"]:
        console.print(
            f"[yellow]строка/line {warning['line']}, {escape(str(warning['field']))}:[/] {escape(warning['message'])}",
            soft_wrap=True,
        )
    if result["warnings_count"] > len(result["warnings"]):
        console.print(f"[yellow]… всего предупреждений / warnings in all: {result['warnings_count']}[/]")
    out.print(
        f"Загружено: {result['items']} товаров, {result['groups']} групп, {result['extra_barcodes']} доп. штрихкодов"
        f"{' (каталог заменён)' if result['replaced'] else ''}\n"
        f"Imported: {result['items']} items, {result['groups']} groups, {result['extra_barcodes']} extra barcodes"
    )


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    login: str = typer.Argument(..., help="Login: Latin letters, digits, _.-@"),
    role: str = typer.Option("cashier", "--role", "-r", help="seller, cashier or admin."),
    name: str = typer.Option("", "--name", help="Name shown on screen and receipts."),
    password: Optional[str] = typer.Option(None, "--password", help="Asked for when not given (better: not in shell history)."),
    data: Optional[Path] = SubDataOption,
) -> None:
    """Create a till user."""
    try:
        parsed_role = Role.parse(role)
    except (KeyError, ValueError):
        _fail(f"--role: {role!r} — нужно seller, cashier или admin / expected seller, cashier or admin")
    if password is None:
        password = typer.prompt("Пароль / password", hide_input=True, confirmation_prompt=True)
    try:
        user_id = _open_till(ctx, data).create_user(None, login, password, parsed_role, name)
    except DomainError as exc:
        _domain_fail(exc)
    out.print(f"Пользователь {login} ({parsed_role.label_ru}) создан, id {user_id} / user created")


@till_app.command("openapi")
def till_openapi(output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")) -> None:
    """Print the till's OpenAPI document (the API reference)."""
    text = json.dumps(till_openapi_document(), ensure_ascii=False, indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def till_openapi_document() -> dict:
    from icecash.till.app import create_app

    return create_app(None).openapi()  # type: ignore[arg-type]


@app.command()
def demo(
    data: Path = typer.Option(Path("./var/demo"), "--data", "-d", help="Demo data directory (never ICECASH_DATA: a demo must not seed a real till)."),
    port: int = typer.Option(10110, "--port", "-p", help="Till port."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (every service of the demo)."),
    items: int = typer.Option(1200, "--items", help="Catalogue size of a new demo."),
    server_port: int = typer.Option(10100, "--server-port", help="Central server port; 0: no central server."),
    printd_port: int = typer.Option(10111, "--printd-port", help="Print service port (with an emulated Shtrih-M and ESC/POS printer); 0: no printing."),
) -> None:
    """The whole suite on embedded defaults: the till, the central server with two demo firms, the print
    service with emulated devices, and the accounting home, with demo data and demo users.

    Every service but the till runs as a child process that dies with the demo; logs are under DATA/logs.
    """
    _setup_logging("info")
    from icecash.demo_suite import DemoSuite

    suite = DemoSuite(data, host=host, till_port=port, server_port=server_port, printd_port=printd_port)
    try:
        with console.status("Демо: данные и службы / demo: data and services…"):
            till_service = suite.start(lambda: _open_till(None, data), items)
    except Exception as exc:  # noqa: BLE001 — one clear line, then stop whatever did start
        suite.stop()
        _fail(f"демо не запустилось / the demo did not start: {exc}")
    suite.print_summary(out)
    try:
        _serve(suite.till_app(till_service), host, port, "info")
    finally:
        suite.stop()


# --- Other services' command groups: each lives in its own package and registers one line here. ---
# (keep one line per service; the demo above is the lead's to wire up)
from icecash.server.cli import server_app; app.add_typer(server_app, name="server")  # noqa: E402,E702
from icecash.devices.cli import emulator_app; app.add_typer(emulator_app, name="emulator")  # noqa: E402,E702
from icecash.printd.cli import printd_app; app.add_typer(printd_app, name="printd")  # noqa: E402,E702
from icecash.printd.cli import sendfax; app.command("sendfax")(sendfax)  # noqa: E402,E702
from icecash.billing.cli import billing_app; app.add_typer(billing_app, name="billing")  # noqa: E402,E702


def main() -> None:
    app()


if __name__ == "__main__":
    main()
