"""The report generator: ``.fm`` forms rendered into mail, and the SMTP sender.

A form is an RFC-822 header block (``To:``, ``Cc:``, ``Reply-To:``, ``Subject:``), a blank line
and the body. In both, ``${formula}`` or ``${formula:%.2f}`` (``%d``, ``%.Nf``, ``%m`` = kopecks
as rubles) is replaced by the formula's value for the account, ``${account}``, ``${date}``,
``${month}``, ``${count}`` and ``${mail}`` by those facts, ``${charges}`` by the itemised table of
the month's charges, and ``$$`` is a literal ``$``. Without a ``To:`` header the mail goes to the
account's ``mail`` addresses from ``user.cf``.
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from icecash.billing.files import ConfigError
from icecash.billing.home import MailSettings
from icecash.core.formula import FormulaContext, FormulaError, format_value, parse
from icecash.core.money import format_money, format_quantity

HEADERS = ("to", "cc", "reply-to", "subject")
_HEADER_RE = re.compile(r"([A-Za-z][A-Za-z-]*):\s*(.*)")


@dataclass
class Rendered:
    to: list[str]
    cc: list[str]
    reply_to: str | None
    subject: str
    body: str


def charges_table(rows: list[dict]) -> str:
    """The month's charges as a fixed-width table (Russian / English heading), with the total."""
    head = f"{'Позиция / item':<28} {'Кол-во / qty':>14} {'Цена / price':>13} {'За / per':>10} {'Сумма / cost':>13}"
    lines = [head, "-" * len(head)]
    total = 0
    for row in rows:
        total += row["cost"]
        lines.append(f"{row['item']:<28} {format_quantity(row['quantity']):>14} {format_money(row['price']):>13} "
                     f"{format_quantity(row['per']):>10} {format_money(row['cost']):>13}")
    if not rows:
        lines.append("(начислений нет / no charges)")
    lines.append("-" * len(head))
    lines.append(f"{'Итого / total':<28} {'':>14} {'':>13} {'':>10} {format_money(total):>13}")
    return "\n".join(lines)


def substitute(text: str, first_line: int, path: str, context: FormulaContext, variables: dict[str, str]) -> str:
    """``text`` with every ``${…}`` replaced and ``$$`` made ``$``; errors name the line and column."""
    out: list[str] = []
    i = 0
    line = first_line
    line_start = 0
    while True:
        j = text.find("$", i)
        if j < 0:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:j])
        line += text.count("\n", i, j)
        nl = text.rfind("\n", 0, j)
        line_start = nl + 1
        if text.startswith("$$", j):
            out.append("$")
            i = j + 2
            continue
        if not text.startswith("${", j):
            out.append("$")
            i = j + 1
            continue
        end = text.find("}", j + 2)
        newline = text.find("\n", j + 2)
        column = j - line_start + 1
        if end < 0 or (0 <= newline < end):
            raise ConfigError(path, line, f"столбец {column}: незакрытая подстановка '${{'",
                              f"column {column}: unterminated '${{'")
        inner = text[j + 2:end]
        expression, spec = inner, None
        split = inner.rfind(":%")
        if split >= 0:
            expression, spec = inner[:split], inner[split + 1:]
        key = expression.strip()
        if key in variables and spec is None:
            out.append(variables[key])
        else:
            try:
                value = parse(expression).evaluate(context)
                out.append(format_value(value, spec))
            except FormulaError as exc:
                col = column + 1 + exc.position  # the formula starts 2 columns after the $
                raise ConfigError(path, line, f"столбец {col}: {exc.message_ru}", f"column {col}: {exc.message_en}") from None
            except ValueError as exc:
                raise ConfigError(path, line, f"столбец {column}: {exc}", f"column {column}: {exc}") from None
        i = end + 1


def render_form(text: str, path: Path | str, context: FormulaContext, variables: dict[str, str],
                default_to: list[str]) -> Rendered:
    """Render a form; raises :class:`ConfigError` (file, line, column) for anything wrong in it."""
    path = str(path)
    lines = text.splitlines()
    headers: dict[str, str] = {}
    body_start = 0
    if lines and _HEADER_RE.fullmatch(lines[0].strip()) and not lines[0].startswith((" ", "\t")):
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                body_start = number
                break
            match = _HEADER_RE.fullmatch(raw.strip())
            if not match:
                raise ConfigError(path, number, "ожидался заголовок 'Имя: значение' или пустая строка перед текстом",
                                  "expected a header 'Name: value' or a blank line before the body")
            name = match[1].lower()
            if name not in HEADERS:
                raise ConfigError(path, number, f"заголовок {match[1]!r} не поддерживается (есть To, Cc, Reply-To, Subject)",
                                  f"header {match[1]!r} not supported (To, Cc, Reply-To, Subject)")
            value = substitute(match[2], number, path, context, variables)
            headers[name] = " ".join(value.split())  # no line breaks can reach a header
        else:
            body_start = len(lines)
    body = substitute("\n".join(lines[body_start:]), body_start + 1, path, context, variables)
    to = [a.strip() for a in headers.get("to", "").split(",") if a.strip()] or list(default_to)
    cc = [a.strip() for a in headers.get("cc", "").split(",") if a.strip()]
    if not to:
        raise ConfigError(path, None, "некому отправить: нет заголовка To: и адреса mail в user.cf",
                          "no recipient: no To: header and no mail address in user.cf")
    return Rendered(to, cc, headers.get("reply-to"), headers.get("subject", "IceCash"), body.rstrip() + "\n")


class Mailer:
    """Sends mail over SMTP with the settings of ``billing.toml`` / ``ICECASH_SMTP_*``."""

    def __init__(self, settings: MailSettings):
        self.settings = settings

    def message(self, to: list[str], subject: str, body: str, cc: list[str] | None = None,
                reply_to: str | None = None) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.sender
        message["To"] = ", ".join(to)
        if cc:
            message["Cc"] = ", ".join(cc)
        if reply_to:
            message["Reply-To"] = reply_to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain="icecash.billing")
        message.set_content(body)
        return message

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.host, s.port, timeout=s.timeout) as smtp:
            if s.starttls:
                smtp.starttls()
            if s.username:
                smtp.login(s.username, s.password)
            smtp.send_message(message)

    def send_rendered(self, rendered: Rendered) -> None:
        self.send(self.message(rendered.to, rendered.subject, rendered.body, rendered.cc, rendered.reply_to))
