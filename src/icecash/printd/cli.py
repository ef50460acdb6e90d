"""``icecash printd`` (the print service and its configuration) and ``icecash sendfax`` (stdin to a printer)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

printd_app = typer.Typer(
    help="The print service (сервис печати): ESC/POS printers and fiscal registrars on port 10111. "
    "Run without a subcommand to serve it; the database under --data is created or upgraded on start.",
    invoke_without_command=True,
)
token_app = typer.Typer(help="Client tokens: one per till, shown once when made.", no_args_is_help=True)
printer_app = typer.Typer(help="Printers: add, change, list, delete.", no_args_is_help=True)
printd_app.add_typer(token_app, name="token")
printd_app.add_typer(printer_app, name="printer")

DataOption = typer.Option(Path("./var/printd"), "--data", "-d", envvar="ICECASH_PRINTD_DATA",
                          help="Data directory (the print service's database).")
SubData = typer.Option(None, "--data", "-d", help="Data directory (as `icecash printd --data`).")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"Ошибка / error: {message}", err=True)
    raise typer.Exit(code)


def _service(ctx: typer.Context | None, data: Path | None):
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from .service import open_service

    directory = data if data is not None or ctx is None else ctx.obj["data"]
    try:
        return open_service(directory)
    except (CommandError, OSError, SQLAlchemyError) as exc:
        _fail(f"--data {directory}: база сервиса печати не открывается / cannot open the print service database: {exc}")


def _domain(action):
    from icecash.core.errors import DomainError

    try:
        return action()
    except DomainError as exc:
        field = f" [{exc.field}]" if exc.field else ""
        _fail(f"{exc.message_ru}{field} / {exc.message_en}")


@printd_app.callback()
def printd(
    ctx: typer.Context,
    data: Path = DataOption,
    port: int = typer.Option(10111, "--port", "-p", envvar="ICECASH_PRINTD_PORT", help="TCP port."),
    host: str = typer.Option("127.0.0.1", "--host", envvar="ICECASH_PRINTD_HOST", help="Address to bind."),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
) -> None:
    """Serve the print service: JSON API under /api/v1, XML at /cmd, admin page at /, OpenAPI at /docs."""
    ctx.obj = {"data": data}
    if ctx.invoked_subcommand is not None:
        return
    from icecash.cli import _serve, _setup_logging

    from .app import create_app

    _setup_logging(log_level)
    service = _service(None, data)
    if not service.has_admin_password():
        typer.echo("Пароль администратора не задан: icecash printd admin-password\n"
                   "No admin password yet: icecash printd admin-password", err=True)
    typer.echo(f"IceCash print service: http://{host}:{port}/  data: {data.resolve()}", err=True)
    _serve(create_app(service), host, port, log_level)


@printd_app.command("admin-password")
def admin_password(
    ctx: typer.Context,
    password: str | None = typer.Option(None, "--password", help="Asked for when not given (better: not in shell history)."),
    data: Path | None = SubData,
) -> None:
    """Set the admin password (Argon2 hash kept); every admin session is logged out."""
    if password is None:
        password = typer.prompt("Пароль / password", hide_input=True, confirmation_prompt=True)
    _domain(lambda: _service(ctx, data).set_admin_password(password))
    typer.echo("Пароль администратора задан / admin password set")


@token_app.command("add")
def token_add(ctx: typer.Context, name: str = typer.Argument(..., help="A name for the till, e.g. till-1."),
              data: Path | None = SubData) -> None:
    """Make a client token for a till; printed once (the service keeps only its digest)."""
    token = _domain(lambda: _service(ctx, data).create_token(name))
    typer.echo(token)


@token_app.command("list")
def token_list(ctx: typer.Context, data: Path | None = SubData) -> None:
    """List client tokens (names and last use; never the tokens)."""
    for row in _service(ctx, data).list_tokens():
        typer.echo(f"{row['name']}\t{row['created_at']}\t{row['last_used_at'] or '-'}")


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, name: str, data: Path | None = SubData) -> None:
    """Revoke a client token."""
    _domain(lambda: _service(ctx, data).revoke_token(name))
    typer.echo(f"Токен {name} отозван / revoked")


@printer_app.command("set")
def printer_set(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Printer name (Latin letters, digits, _.-)."),
    type_: str | None = typer.Option(None, "--type", "-t", help="shtrih, atol, escpos or none."),
    url: str | None = typer.Option(None, "--url", help="serial:/dev/ttyUSB0?baudrate=115200, tcp://host:9100, usb://VID:PID, file:/dev/usb/lp0"),
    width: int | None = typer.Option(None, "--width", help="Characters per line."),
    codepage: str | None = typer.Option(None, "--codepage", help="ESC/POS text encoding (cp866)."),
    codepage_table: int | None = typer.Option(None, "--codepage-table", help="ESC t n of that encoding (17)."),
    cashier_password: int | None = typer.Option(None, "--cashier-password", help="Registrar operator password (1)."),
    admin_password: int | None = typer.Option(None, "--admin-password", help="Registrar admin password (30)."),
    timeout_ms: int | None = typer.Option(None, "--timeout-ms", help="Answer timeout (3000)."),
    preview: str | None = typer.Option(None, "--preview", help="PNG of an emulated printer's paper roll."),
    data: Path | None = SubData,
) -> None:
    """Create or change a printer."""
    values = {"type": type_, "url": url, "width": width, "codepage": codepage, "codepage_table": codepage_table,
              "cashier_password": cashier_password, "admin_password": admin_password, "timeout_ms": timeout_ms,
              "preview": preview}
    printer = _domain(lambda: _service(ctx, data).save_printer(name, values))
    typer.echo(f"{printer['name']}: {printer['type']} {printer['url']}")


@printer_app.command("list")
def printer_list(ctx: typer.Context, data: Path | None = SubData) -> None:
    """List printers."""
    for p in _service(ctx, data).printers():
        typer.echo(f"{p['name']}\t{p['type']}\t{p['url']}\twidth {p['width']}")


@printer_app.command("delete")
def printer_delete(ctx: typer.Context, name: str, data: Path | None = SubData) -> None:
    """Delete a printer."""
    _domain(lambda: _service(ctx, data).delete_printer(name))
    typer.echo(f"Принтер {name} удалён / deleted")


@printd_app.command("discover")
def discover(ctx: typer.Context, data: Path | None = SubData,
             adopt: bool = typer.Option(False, "--adopt", help="Add every registrar found as a printer.")) -> None:
    """Scan /dev/serial/by-id for Shtrih-M and ATOL registrars (probing each with its status command)."""
    from .discovery import adopt as adopt_one
    from .discovery import scan

    service = _service(ctx, data)
    found = scan(service)
    if not found:
        typer.echo("Регистраторы не найдены / no registrars found")
    for item in found:
        typer.echo(f"{item['device']}\t{item['type'] or '-'}\t{item.get('model') or item.get('error') or ''}")
        if adopt and item["type"] and not item.get("adopted"):
            printer = _domain(lambda item=item: adopt_one(service, item["device"], item["suggested_name"]))
            typer.echo(f"  → принтер / printer {printer['name']}")


@printd_app.command("openapi")
def openapi(output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout.")) -> None:
    """Print the print service's OpenAPI document."""
    import json

    from .app import create_app

    text = json.dumps(create_app(None).openapi(), ensure_ascii=False, indent=2) + "\n"
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


# --- sendfax ------------------------------------------------------------------------------------------

SENDFAX_STYLES = "bihfw+-*"


def sendfax_commands(text: str, styles: str, now: datetime | None = None) -> list[dict]:
    """The job for ``_sendFAX``'s styles: b bold, i inverse, h tall, w wide, f small font,
    + a timestamp header, - cut after, * beep before."""
    unknown = sorted(set(styles) - set(SENDFAX_STYLES))
    if unknown:
        raise ValueError(f"неизвестные стили / unknown styles {''.join(unknown)!r}; допустимы / allowed {SENDFAX_STYLES}")
    commands: list[dict] = []
    if "*" in styles:
        commands.append({"op": "beep"})
    if "+" in styles:
        stamp = (now or datetime.now()).strftime("%d.%m.%Y %H:%M:%S")
        commands.append({"op": "text", "text": stamp, "bold": True, "align": "center"})
    body = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ").rstrip("\n")
    body = "".join(c for c in body if c == "\n" or (ord(c) >= 32 and ord(c) != 127))
    commands.append({"op": "text", "text": body, "bold": "b" in styles, "inverse": "i" in styles, "tall": "h" in styles,
                     "wide": "w" in styles, "small": "f" in styles})
    if "-" in styles:
        commands.append({"op": "cut"})
    return commands


def sendfax(
    host: str = typer.Argument(..., help="Print service host."),
    port: int = typer.Argument(..., help="Print service port (10111)."),
    printer: str = typer.Argument(..., help="Printer name in the print service."),
    styles: str = typer.Argument("", help="b bold, i inverse, h tall, w wide, f small font, + timestamp header, - cut after, * beep before."),
    token: str | None = typer.Option(None, "--token", help="Client token. Env: ICECASH_PRINTD_TOKEN.", envvar="ICECASH_PRINTD_TOKEN"),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for the print service."),
) -> None:
    """Print standard input on a printer of the print service: ``echo text | icecash sendfax localhost 10111 NAME bw-``."""
    import httpx

    try:
        commands = sendfax_commands(sys.stdin.read(), styles)
    except ValueError as exc:
        _fail(str(exc))
    if not token:
        _fail("нужен токен клиента: --token или ICECASH_PRINTD_TOKEN / a client token is needed: --token or ICECASH_PRINTD_TOKEN")
    try:
        answer = httpx.post(f"http://{host}:{port}/api/v1/printers/{printer}/jobs", json={"commands": commands},
                            headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
    except httpx.HTTPError as exc:
        _fail(f"сервис печати {host}:{port} недоступен / the print service is unreachable: {exc}", 4)
    try:
        body = answer.json()
    except ValueError:
        _fail(f"HTTP {answer.status_code}: {answer.text[:200]}", 4)
    error = body.get("error") if isinstance(body, dict) else None
    if answer.status_code != 200 or error:
        error = error or {}
        _fail(f"[{error.get('code')}] {error.get('message')} / {error.get('message_en')}", 3 if answer.status_code == 502 else 2)
    typer.echo(f"Напечатано / printed: задание / job {body['job']}", err=True)


# --- the demo ---------------------------------------------------------------------------------------------

DEMO_ADMIN_PASSWORD = "printd-demo"  # the demo only: never a default outside it


def start_demo(data: Path, till: object | None = None, *, host: str = "127.0.0.1", port: int = 10111,
               logs: Path | None = None) -> list:
    """For ``icecash demo``: an emulated Shtrih-M ("shtrih") and ESC/POS printer ("escpos") on ptys, the print
    service on ``port`` over ``data``, and the demo till (a :class:`icecash.till.service.Till`) wired to the
    registrar. Returns the started processes (emulators, then printd): terminate them when the demo stops.

    Paper images of the ESC/POS printer land in ``data/escpos-roll`` (shown on the admin page); the admin
    password of the demo print service is ``printd-demo``. Each process logs to ``logs`` (default
    ``data/logs``) and dies with the demo (see icecash.supervise).
    """
    import subprocess

    from icecash.supervise import Child

    from .service import open_service

    data.mkdir(parents=True, exist_ok=True)
    processes: list = []
    logs = logs or data / "logs"

    def child(name: str, argv: list[str], **ready: Any) -> Child:
        started = Child(name, [sys.executable, "-m", "icecash.cli", *argv], logs / f"{name}.log", **ready).start()
        processes.append(started.process)
        return started.wait_ready(30)

    def emulator(name: str, *extra: str) -> str:
        """Start an emulator on a pty; its first output line is the pty's path."""
        log = logs / f"{name}.log"
        log.unlink(missing_ok=True)
        started = child(name, ["emulator", name, "--pty", "--state", str(data / f"{name}.json"), *extra],
                        ready_line=lambda line: line.startswith("/"))
        return started.tail(20000).splitlines()[0].strip()

    try:
        shtrih = emulator("shtrih", "--link", str(data / "shtrih.tty"))
        escpos = emulator("escpos", "--link", str(data / "escpos.tty"), "--out", str(data / "escpos-roll"))
        service = open_service(data / "printd")
        service.set_admin_password(DEMO_ADMIN_PASSWORD)
        if any(t["name"] == "demo-till" for t in service.list_tokens()):
            service.revoke_token("demo-till")
        token = service.create_token("demo-till")
        service.save_printer("shtrih", {"type": "shtrih", "url": f"serial:{shtrih}?baudrate=115200", "width": 36,
                                        "preview": str(data / "shtrih.json"), "comment": "эмулятор Штрих-М / emulated Shtrih-M"})
        service.save_printer("escpos", {"type": "escpos", "url": f"serial:{escpos}", "width": 48,
                                        "preview": str(data / "escpos-roll"), "comment": "эмулятор ESC/POS / emulated"})
        service.engine.dispose()
        child("printd", ["printd", "--data", str(data / "printd"), "--host", host, "--port", str(port),
                         "--log-level", "warning"], health_url=f"http://{host}:{port}/api/v1/health")
        if till is not None:
            till.update_settings(None, {"printer": "shtrih", "printd_host": host, "printd_port": port,  # type: ignore[attr-defined]
                                        "printd_token": token})
    except BaseException:
        for started in processes:
            started.terminate()
        for started in processes:  # reaped, not left as zombies behind the error
            try:
                started.wait(timeout=5)
            except subprocess.TimeoutExpired:
                started.kill()
                started.wait()
        raise
    return processes
