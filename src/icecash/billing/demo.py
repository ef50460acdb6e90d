"""The accounting home of `icecash demo`: an account per demo firm, rating the demo server's usage;
and the demo's mail catcher (``python -m icecash.billing.demo --maildir DIR --port P``), a real SMTP
server that keeps every message it accepts in a Maildir, for the server admin's /billing/mail page."""

from __future__ import annotations

import argparse
import mailbox
import re
import signal
import sys
import threading
from pathlib import Path

from icecash.billing.example import BILLING_TOML, init_home
from icecash.billing.files import write_atomic
from icecash.billing.home import Home


def demo_billing_toml(server_db_url: str, server_url: str, smtp_port: int) -> str:
    """The example settings pointed at the demo's central server and its mail catcher."""
    text = BILLING_TOML
    text = re.sub(r'(?m)^(\[central\][^\[]*?)^db = ""', lambda m: f'{m.group(1)}db = "{server_db_url}"', text)
    text = re.sub(r'(?m)^url = "[^"]*"', f'url = "{server_url}"', text)
    text = re.sub(r'(?m)^port = 25$', f"port = {smtp_port}", text)
    text = re.sub(r'(?m)^user = "icecash"', 'user = "nobody"', text)
    return text


def init_demo_billing(home: Path, server_data: Path, firms: tuple[str, ...] = ("romashka", "vasilkov"),
                      server_url: str = "http://127.0.0.1:10100", smtp_port: int = 2525, token: str = "") -> Path:
    """Create (or keep) the demo home: example files, an account per firm, settings for the demo
    (``token``: the server's accounting token for user-close/user-open, see ``icecash server billing-token``)."""
    from icecash.server.app import database_url

    init_home(home, example_account=None)
    text = demo_billing_toml(database_url(server_data), server_url, smtp_port)
    if token:
        text = re.sub(r'(?m)^token = ""', f'token = "{token}"', text, count=1)
    write_atomic(home / "billing.toml", text, 0o640)
    accounts = Home(home)
    for regid in firms:
        accounts.create_account(regid, mail=[f"{regid}@demo.icecash.local"])
    return home


# --- the demo's mail catcher --------------------------------------------------------------------------

READY_LINE = "mail catcher listening"


class MaildirCatcher:
    """aiosmtpd handler: every accepted message goes whole into a Maildir (new/), with its envelope."""

    def __init__(self, path: Path):
        self.box = mailbox.Maildir(path, create=True)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201 - aiosmtpd's hook
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "replace")
        head = (f"X-Envelope-From: {envelope.mail_from}\r\n"
                f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n").encode("utf-8", "replace")
        with self.lock:
            self.box.add(head + raw)
        return "250 OK: caught"


def serve_catcher(maildir: Path, host: str, port: int) -> None:
    """Run the catcher until SIGTERM/SIGINT."""
    from aiosmtpd.controller import Controller

    controller = Controller(MaildirCatcher(maildir), hostname=host, port=port)
    controller.start()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"{READY_LINE} on {host}:{port}, Maildir {maildir}", flush=True)
    try:
        stop.wait()
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m icecash.billing.demo",
                                     description="The demo's mail catcher: SMTP in, Maildir out.")
    parser.add_argument("--maildir", type=Path, required=True, help="Maildir to keep the mail in (created).")
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=2525, help="SMTP port.")
    args = parser.parse_args(argv)
    serve_catcher(args.maildir, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
