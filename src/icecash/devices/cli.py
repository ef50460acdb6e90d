"""``icecash emulator shtrih|atol|escpos``: a device emulator on a pty or a TCP port.

Every subcommand takes the same serving options (--pty, --tcp, --control, --state, --link);
the device module (``icecash.devices.<name>``) is imported only when its subcommand runs and
must expose ``make_emulator(state_path, **options)``. Device options the user did not give are
not passed, so each ``make_emulator`` keeps its own defaults.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Optional

import typer

emulator_app = typer.Typer(
    help="Device emulators (Shtrih-M, ATOL, ESC/POS) over a real pseudo-terminal or TCP, with a control "
    "port for fault injection (paper out, cover open, power loss). See docs/printing/emulators.md.",
    no_args_is_help=True,
)

PtyOption = typer.Option(False, "--pty", help="Open a pseudo-terminal; the FIRST stdout line is its path.")
TcpOption = typer.Option(None, "--tcp", help="Listen on HOST:PORT (port 0: a free port; printed as 'tcp HOST:PORT').")
ControlOption = typer.Option(
    None, "--control", help="Control port HOST:PORT: one command per line (ping, help, state, paper-out, "
    "paper-in, cover-open, cover-close, power-loss, power-on, shutdown …), one reply line each.")
StateOption = typer.Option(None, "--state", help="JSON file holding the device memory; written atomically "
                           "after every change and read back on start, so a restart keeps fiscal state.")
LinkOption = typer.Option(None, "--link", help="With --pty: also create this symlink to the pty path "
                          "(stable across restarts).")
SetOption = typer.Option(None, "--set", "-o", help="Extra device option KEY=VALUE (repeatable).")


def _run(name: str, pty: bool, tcp: Optional[str], control: Optional[str], state: Optional[Path],
         link: Optional[Path], extra: Optional[list[str]], **options: Any) -> None:
    if not pty and not tcp:
        typer.echo("Ошибка / error: укажите --pty или --tcp HOST:PORT / give --pty or --tcp HOST:PORT", err=True)
        raise typer.Exit(2)
    given = {k: v for k, v in options.items() if v is not None}
    for item in extra or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            typer.echo(f"Ошибка / error: --set ждёт KEY=VALUE / --set expects KEY=VALUE, got {item!r}", err=True)
            raise typer.Exit(2)
        given[key.strip().replace("-", "_")] = value
    from icecash.devices.base import serve

    module = importlib.import_module(f"icecash.devices.{name}")
    try:
        emulator = module.make_emulator(state, **given)
    except (ValueError, TypeError) as exc:
        typer.echo(f"Ошибка / error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        serve(emulator, pty=pty, tcp=tcp, control=control, link=link, out=sys.stdout)
    except (ValueError, OSError) as exc:
        typer.echo(f"Ошибка / error: {exc}", err=True)
        raise typer.Exit(2) from None


@emulator_app.command("shtrih")
def shtrih(
    pty: bool = PtyOption, tcp: Optional[str] = TcpOption, control: Optional[str] = ControlOption,
    state: Optional[Path] = StateOption, link: Optional[Path] = LinkOption,
    model: Optional[str] = typer.Option(None, "--model", help="Model name reported by command FC "
                                        "(default ШТРИХ-М-01Ф)."),
    serial: Optional[str] = typer.Option(None, "--serial", help="Factory number of the emulated registrar."),
    inn: Optional[str] = typer.Option(None, "--inn", help="Owner's INN (12 digits) stored in the emulated device."),
    width: Optional[int] = typer.Option(None, "--width", help="Characters per line of the receipt (36)."),
    extra: Optional[list[str]] = SetOption,
) -> None:
    """Shtrih-M fiscal registrar (protocol v1.12 with FN commands): fiscal memory kept in --state."""
    _run("shtrih", pty, tcp, control, state, link, extra, model=model, serial=serial, inn=inn, width=width)


@emulator_app.command("atol")
def atol(
    pty: bool = PtyOption, tcp: Optional[str] = TcpOption, control: Optional[str] = ControlOption,
    state: Optional[Path] = StateOption, link: Optional[Path] = LinkOption,
    model: Optional[str] = typer.Option(None, "--model", help="Model reported by the device-type command."),
    serial: Optional[str] = typer.Option(None, "--serial", help="Factory number of the emulated registrar."),
    width: Optional[int] = typer.Option(None, "--width", help="Characters per line of the receipt."),
    extra: Optional[list[str]] = SetOption,
) -> None:
    """ATOL fiscal registrar (legacy protocol v2): fiscal memory kept in --state."""
    _run("atol", pty, tcp, control, state, link, extra, model=model, serial=serial, width=width)


@emulator_app.command("escpos")
def escpos(
    pty: bool = PtyOption, tcp: Optional[str] = TcpOption, control: Optional[str] = ControlOption,
    state: Optional[Path] = StateOption, link: Optional[Path] = LinkOption,
    width: Optional[int] = typer.Option(None, "--width", help="Characters per line (font A)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Directory for the rendered paper roll "
                                       "(text and PNG)."),
    extra: Optional[list[str]] = SetOption,
) -> None:
    """ESC/POS receipt printer: renders what it receives to text and a PNG image of the paper roll."""
    _run("escpos", pty, tcp, control, state, link, extra, width=width, out=out)
