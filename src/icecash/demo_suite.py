"""`icecash demo`: every service on embedded defaults, wired together, with demo data.

The till runs in the demo's own process (so killing the demo is a till's power cut, as the
durability tests want); the central server, the print service and the device emulators run as
children that die with it (see supervise.py). Every port can be moved, and 0 leaves a service out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .supervise import Child, stop_all


class DemoSuite:
    """Seeds and starts the demo's services in order; `stop()` undoes whatever did start."""

    def __init__(self, data: Path, *, host: str, till_port: int, server_port: int, printd_port: int,
                 mail_port: int | None = None, billing_daily: str = "00:30"):
        self.data = data
        self.mail_port = mail_port  # the mail catcher's SMTP port: None = 2525 if free, else any free port
        self.billing_daily = billing_daily
        self.host = host
        self.till_port = till_port
        self.server_port = server_port
        self.printd_port = printd_port
        self.children: list[Child] = []
        self.printd_processes: list[Any] = []
        self.billing_home: Path | None = None

    def start(self, open_till: Callable[[], Any], items: int) -> Any:
        """Seed the till, then the print service and the central server; returns the till service."""
        from .till.demo import seed_demo

        till = open_till()
        seed_demo(till, items)
        if self.printd_port:
            from .printd.cli import start_demo as start_printd

            self.printd_processes = start_printd(self.data / "printd", till, host=self.host, port=self.printd_port,
                                                 logs=self.data / "logs")
        else:
            till.update_settings(None, {"printer": ""})
        if self.server_port:
            self._start_server(till)
        else:
            till.update_settings(None, {"server_url": ""})
        return till

    def _start_server(self, till: Any) -> None:
        from .server.app import open_server
        from .server.demo import seed_demo_server

        from .server.billing import set_billing_token

        server_data = self.data / "server"
        billing_home = self.data / "billing"
        server = open_server(server_data, billing_home=billing_home)
        url = f"http://{self.host}:{self.server_port}"
        seed_demo_server(server, till, url)
        token = set_billing_token(server.engine)  # a fresh one each start, written into billing.toml below
        server.engine.dispose()
        self._start_mail_catcher()
        self.billing_home = _init_billing(billing_home, server_data, url, self.mail_port or 2525, token)
        child = Child(
            "server",
            [sys.executable, "-m", "icecash.cli", "server", "--data", str(server_data), "--host", self.host,
             "--port", str(self.server_port), "--log-level", "warning", "--billing-home", str(billing_home),
             "--billing-maildir", str(self.data / "mail"), "--billing-daily", self.billing_daily or "off"],
            self.data / "logs" / "server.log", health_url=f"{url}/api/v1/health",
        )
        self.children.append(child.start())
        child.wait_ready(60)

    def _start_mail_catcher(self) -> None:
        """A real SMTP server (aiosmtpd) keeping the accounting's mail in DATA/mail, read at /billing/mail."""
        from .billing.demo import READY_LINE

        if self.mail_port is None:
            self.mail_port = 2525 if _port_free(self.host, 2525) else _free_port(self.host)
        child = Child(
            "mail",
            [sys.executable, "-m", "icecash.billing.demo", "--maildir", str(self.data / "mail"), "--host", self.host,
             "--port", str(self.mail_port)],
            self.data / "logs" / "mail.log", ready_line=lambda line: READY_LINE in line and f":{self.mail_port}," in line,
        )
        self.children.append(child.start())
        child.wait_ready(30)

    def till_app(self, till: Any) -> Any:
        from .till.app import create_app

        return create_app(till)

    def print_summary(self, out: Console) -> None:
        from .till.demo import DEMO_USERS

        host = self.host
        table = Table(title="IceCash demo", show_lines=False, title_justify="left")
        table.add_column("служба / service")
        table.add_column("адрес / URL", overflow="fold")
        table.add_column("вход / login (login / password)")
        table.add_row("касса / till", f"http://{host}:{self.till_port}/",
                      ", ".join(f"{login}/{password} ({role.name.lower()})" for login, password, role, _n, _c in DEMO_USERS))
        if self.server_port:
            from .server.demo import DEMO_PEOPLE

            table.add_row("центральный сервер / central server", f"http://{host}:{self.server_port}/",
                          ", ".join(f"{login}/{password} ({role})" for login, password, role, _f in DEMO_PEOPLE))
        if self.printd_port:
            from .printd.cli import DEMO_ADMIN_PASSWORD

            table.add_row("сервис печати / print service", f"http://{host}:{self.printd_port}/",
                          f"admin/{DEMO_ADMIN_PASSWORD}; эмуляторы Штрих-М и ESC/POS / emulated Shtrih-M and ESC/POS")
        if self.billing_home:
            table.add_row("учёт / accounting", f"http://{host}:{self.server_port}/billing",
                          f"operator: «run daily» на странице / on the page, или / or "
                          f"icecash billing --home {self.billing_home} daily")
            table.add_row("почта учёта / accounting mail", f"http://{host}:{self.server_port}/billing/mail",
                          f"SMTP {host}:{self.mail_port} → {self.data / 'mail'} (Maildir)")
        out.print(table)
        out.print(f"Данные / data: {self.data.resolve()}   Журналы / logs: {(self.data / 'logs').resolve()}   "
                  "Остановить / stop: Ctrl+C\n")

    def stop(self) -> None:
        stop_all(self.children)
        for process in reversed(self.printd_processes):
            if process.poll() is None:
                process.terminate()
        for process in self.printd_processes:
            try:
                process.wait(10)
            except Exception:  # noqa: BLE001 — a child that will not stop is killed
                process.kill()


def _init_billing(home: Path, server_data: Path, server_url: str, smtp_port: int = 2525, token: str = "") -> Path:
    """The accounting home of the demo: one account per demo firm, rating the server's usage."""
    from .billing.demo import init_demo_billing

    return init_demo_billing(home, server_data, server_url=server_url, smtp_port=smtp_port, token=token)


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
