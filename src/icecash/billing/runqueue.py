"""``runqueue``: users' mail to the accounting server, from a Maildir spool or an SMTP listener.

A message is accepted only from an address some account's ``user.cf`` names with ``mail``;
anything else is refused (the listener answers 550; a spooled one goes to the failure log).
Each line of the body is a command (the ``Subject:`` too, when the body has none):

- ``help`` — the ``help.fm`` form; ``balance`` — the ``balance.fm`` form (the account's figures
  and the itemised charges); both through the report generator, so the operator words them;
- ``services`` — the services of ``services.cf``; ``prices`` — the account's price lists;
- ``form NAME`` — the rest of the message becomes the account's ``NAME.fm`` (after a trial
  render, so a broken form is refused with the line and column at fault).

One reply per message goes back to the sender. Processed messages move to the Maildir's ``cur``.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING

from icecash.billing.files import (
    FORM_NAME_RE,
    ConfigError,
    format_price_list,
    write_atomic,
)
from icecash.billing.forms import render_form
from icecash.core.errors import Conflict, DomainError

if TYPE_CHECKING:
    from icecash.billing.engine import Accounting

COMMANDS = ("help", "balance", "services", "prices", "form")
MAX_MESSAGE = 256 * 1024

BUILTIN_HELP = """Команды (по одной в строке) / commands (one per line):
  help            эта справка / this help
  balance         остаток и начисления / balance and charges
  services        виды сервиса / services
  prices          ваши прайс-листы / your price lists
  form ИМЯ        остальная часть письма становится формой ИМЯ.fm / the rest becomes form NAME.fm
"""


def sender_accounts(acc: Accounting) -> dict[str, str]:
    """Lower-cased mail address → account, from every account's ``user.cf``."""
    known: dict[str, str] = {}
    for account in acc.home.accounts():
        try:
            config = acc.home.user_config(account)
        except DomainError:
            continue
        for address in config.mail:
            known.setdefault(address.lower(), account)
    return known


def _read(raw: bytes) -> tuple[EmailMessage, str]:
    """A message (at most ``MAX_MESSAGE`` bytes of it) and its lower-cased ``From`` address."""
    message = email.message_from_bytes(raw[:MAX_MESSAGE], policy=email.policy.default)
    return message, parseaddr(str(message.get("From", "")))[1].lower()


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",)) if message.is_multipart() else message
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        return part.get_payload(decode=True).decode("utf-8", "replace")


def _render_named(acc: Accounting, account: str, name: str, fallback: str) -> str:
    """The body of form ``name`` for the account (its own first, then the server's), or ``fallback``."""
    path = acc.home.find_form(account, name)
    if path is None:
        return fallback
    return acc.render(account, name, acc.context(account)).body


def answer(acc: Accounting, account: str, message: EmailMessage) -> str:
    """The reply's body for one message of a known account."""
    body = _body(message)
    lines = body.splitlines()
    if not any(line.strip() for line in lines):
        lines = [str(message.get("Subject", ""))]
    parts: list[str] = []
    for index, raw in enumerate(lines):
        words = raw.split()
        if not words or words[0].startswith("#") or raw.startswith(">"):
            continue
        command = words[0].lower()
        if command == "help":
            parts.append(_render_named(acc, account, "help.fm", BUILTIN_HELP))
        elif command == "balance":
            from icecash.core.money import format_money

            context = acc.context(account)
            fallback = f"Остаток / balance: {format_money(context.total())}\n"
            parts.append(_render_named(acc, account, "balance.fm", fallback))
        elif command == "services":
            services = acc.home.services()
            parts.append("Виды сервиса / services:\n" + "".join(
                f"  {s.name:<12} {' '.join(s.st_files)}\n" for s in services))
        elif command == "prices":
            config = acc.home.user_config(account)
            text = []
            for name in config.prices:
                text.append(f"== {name} ==\n{format_price_list(acc.home.price_list(name))}")
            parts.append("".join(text) or "Прайс-листы не назначены / no price lists\n")
        elif command == "form":
            parts.append(_store_form(acc, account, words[1] if len(words) > 1 else "", "\n".join(lines[index + 1:])))
            break
        else:
            parts.append(f"Неизвестная команда / unknown command: {words[0]!r}\n{BUILTIN_HELP}")
            break
    return "\n".join(p.rstrip() + "\n" for p in parts) or BUILTIN_HELP


def _store_form(acc: Accounting, account: str, name: str, text: str) -> str:
    name = name.removesuffix(".fm")
    if not FORM_NAME_RE.fullmatch(name or "-"):
        return "form: нужно имя (латиница, цифры, _ . -) / a name is needed (letters, digits, _ . -)\n"
    target = acc.home.account_dir(account) / f"{name}.fm"
    try:
        render_form(text, target.name, acc.context(account), {k: "" for k in
                    ("account", "date", "month", "count", "mail", "charges")}, ["check@localhost"])
    except ConfigError as exc:
        return f"Форма не сохранена / form not stored: {exc.message_ru}\n{exc.message_en}\n"
    write_atomic(target, text.rstrip() + "\n")
    return f"Форма {name}.fm сохранена / form {name}.fm stored\n"


def handle(acc: Accounting, raw: bytes, envelope_from: str | None = None,
           known: dict[str, str] | None = None) -> tuple[str, str | None]:
    """Process one message: ("refused", None) for an unknown sender, else ("answered", account).

    ``known``: :func:`sender_accounts`, when the caller has it already (one queue run reads it once).
    """
    message, address = _read(raw)
    account = (sender_accounts(acc) if known is None else known).get(address)
    if account is None or (envelope_from and envelope_from.lower() != address):
        acc.failures.write("runqueue", f"mail from unknown sender {address or envelope_from!r} refused")
        return "refused", None
    reply_body = answer(acc, account, message)
    subject = str(message.get("Subject", "")).strip()
    reply = acc.mailer.message([address], f"Re: {subject}" if subject else "IceCash billing", reply_body)
    if message.get("Message-ID"):
        reply["In-Reply-To"] = message["Message-ID"]
    acc.mailer.send(reply)
    return "answered", account


def process_maildir(acc: Accounting) -> dict[str, int]:
    """Every new message of ``HOME/spool`` (a Maildir) processed and moved to ``cur``."""
    counts = {"answered": 0, "refused": 0, "failed": 0}
    if not (acc.home.spool_dir / "new").is_dir():
        return counts
    box = mailbox.Maildir(acc.home.spool_dir, factory=None, create=False)
    known: dict[str, str] | None = None  # the senders, read once a run (at the first new message)
    for key in sorted(box.iterkeys()):
        msg = box.get_message(key)
        if msg.get_subdir() != "new":
            continue
        raw = box.get_bytes(key)
        try:
            if known is None:
                known = sender_accounts(acc)
            outcome, _ = handle(acc, raw, known=known)
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the queue
            acc.failures.write("runqueue", f"message {key}: {getattr(exc, 'message_en', None) or exc}")
            outcome = "failed"
            if isinstance(exc, OSError):  # SMTP down: leave it in new/ for the next run
                counts[outcome] += 1
                continue
        counts[outcome] += 1
        msg.set_subdir("cur")
        msg.add_flag("S" if outcome == "answered" else "T")
        box[key] = msg
    return counts


class SpoolHandler:
    """aiosmtpd handler: refuses unknown senders at DATA, spools the rest and processes the queue."""

    def __init__(self, acc: Accounting):
        self.acc = acc

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        _message, address = _read(raw)
        if address not in sender_accounts(self.acc) or (envelope.mail_from or "").lower() != address:
            self.acc.failures.write("runqueue", f"SMTP mail from unknown sender {envelope.mail_from!r} refused")
            return "550 5.7.1 unknown sender / неизвестный отправитель"
        self.acc.home.spool_dir.mkdir(parents=True, exist_ok=True)
        box = mailbox.Maildir(self.acc.home.spool_dir, factory=None, create=True)
        box.add(raw)
        try:
            with self.acc.lock():
                process_maildir(self.acc)
        except Conflict:
            pass  # a daily run holds the lock: its step 2 processes the spool
        return "250 OK queued"
