"""The report generator (.fm forms) and runqueue (Maildir spool and SMTP listener), over real SMTP."""

from __future__ import annotations

import mailbox
import smtplib
from email.message import EmailMessage
from fractions import Fraction

import pytest
from aiosmtpd.controller import Controller

from icecash.billing.files import ConfigError
from icecash.billing.forms import charges_table, render_form
from icecash.billing.runqueue import SpoolHandler, process_maildir
from icecash.core.formula import Month

from .conftest import add_account, free_port


class Ctx:
    current = Month(2026, 11)

    def total(self):
        return 123456

    def count(self):
        return 2

    def statistic(self, first, last, item):
        return 900

    def payments(self, first, last):
        return 0


VARS = {"account": "shop1", "date": "2026-11-20", "month": "2026.11", "count": "2", "mail": "a@b.ru", "charges": "TABLE"}


def test_form_substitutions():
    form = ("To: boss@shop.ru, acc@shop.ru\nSubject: Остаток ${account}: ${total():%m}\n\n"
            "Balance ${total():%m}, third ${total()/3:%.3f}, count ${count()}, ${statistic(.,.)/7}\n"
            "Price $$5 and a lone $ sign; ${ account }\n${charges}\n")
    rendered = render_form(form, "warn.fm", Ctx(), VARS, ["default@shop.ru"])
    assert rendered.to == ["boss@shop.ru", "acc@shop.ru"] and rendered.subject == "Остаток shop1: 1234.56"
    assert rendered.body == ("Balance 1234.56, third 41152.000, count 2, 128.57\n"
                             "Price $5 and a lone $ sign; shop1\nTABLE\n")


def test_form_without_headers_goes_to_the_accounts_address():
    rendered = render_form("Just ${total():%d}\n", "daily.fm", Ctx(), VARS, ["owner@shop.ru"])
    assert rendered.to == ["owner@shop.ru"] and rendered.body == "Just 123456\n"
    with pytest.raises(ConfigError, match="no recipient"):
        render_form("Just text\n", "daily.fm", Ctx(), VARS, [])


@pytest.mark.parametrize(("form", "line", "words"), [
    ("Subject: x\n\nok\n${total() +}\n", 4, "column 12"),
    ("Subject: x\n\n${nope()}\n", 3, "unknown function"),
    ("Subject: ${total(}\n\nx\n", 1, "column"),
    ("Subject: x\n\n${total()\n}\n", 3, "unterminated"),
    ("Bcc: spy@x.ru\n\nx\n", 1, "not supported"),
    ("Subject: x\nnot a header\n\nx\n", 2, "expected a header"),
    ("Subject: x\n\n${total():%s}\n", 3, "unknown format"),
])
def test_form_errors_name_line_and_column(form, line, words):
    with pytest.raises(ConfigError) as caught:
        render_form(form, "f.fm", Ctx(), VARS, ["a@b.ru"])
    assert caught.value.line == line and words in caught.value.message_en


def test_headers_cannot_be_injected():
    ctx = Ctx()
    rendered = render_form("Subject: ${account}\n\nx\n", "f.fm", ctx, {**VARS, "account": "a\nBcc: spy@x.ru"}, ["a@b.ru"])
    assert "\n" not in rendered.subject


def test_charges_table_totals():
    rows = [{"item": "receipts", "quantity": 150000, "price": 5, "per": 1000, "cost": 750},
            {"item": "tills", "quantity": 2000, "price": 1000, "per": 1000, "cost": 2000}]
    table = charges_table(rows)
    assert "receipts" in table and "150.000" in table and table.rstrip().endswith("27.50")
    assert "no charges" in charges_table([])
    assert Fraction(1)  # keeps the import honest for readers: values are exact


def _spool(acc, sender: str, subject: str, body: str) -> None:
    box = mailbox.Maildir(acc.home.spool_dir, create=True)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "billing@example.ru"
    message["Subject"] = subject
    message.set_content(body)
    box.add(message)


def test_runqueue_commands_from_the_spool(acc, smtp):
    inbox, _ = smtp
    add_account(acc.home, "shop1", files={"misc.st": "misc.x 12.5\n"})
    acc.daily(nocheck=True)
    inbox.clear()
    _spool(acc, "Owner <shop1@shop.example.ru>", "hello", "help\nbalance\nservices\nprices\n")
    _spool(acc, "stranger@evil.example", "balance", "balance\n")
    _spool(acc, "shop1@shop.example.ru", "form", "form daily\nSubject: my report\n\nI have ${total():%m} left\n")
    _spool(acc, "shop1@shop.example.ru", "bad form", "form weekly\nSubject: x\n\n${total(}\n")
    _spool(acc, "shop1@shop.example.ru", "balance", "")  # the command in the subject
    counts = process_maildir(acc)
    assert counts == {"answered": 4, "refused": 1, "failed": 0}
    replies = {str(m["Subject"]): m.get_content() for m in inbox.to("shop1@shop.example.ru")}
    assert sorted(replies) == ["Re: bad form", "Re: balance", "Re: form", "Re: hello"]
    first = replies["Re: hello"]
    assert "form ИМЯ" in first and "Остаток / balance: -12.50" in first and "receipts" in first
    assert "misc.*" in first and "== standard ==" in first
    assert "form daily.fm stored" in replies["Re: form"]
    assert (acc.home.accounts_dir / "shop1" / "daily.fm").read_text() == "Subject: my report\n\nI have ${total():%m} left\n"
    assert "form not stored" in replies["Re: bad form"] and "column" in replies["Re: bad form"]
    assert not (acc.home.accounts_dir / "shop1" / "weekly.fm").exists()
    assert "Остаток / balance: -12.50" in replies["Re: balance"]
    assert "unknown sender 'stranger@evil.example' refused" in acc.home.failure_log.read_text()
    assert process_maildir(acc) == {"answered": 0, "refused": 0, "failed": 0}  # nothing twice
    # the daily run's step 6 now sends the form the user mailed in
    acc.clock.advance()
    acc.daily(nocheck=True)
    assert "my report" in inbox.subjects("shop1@shop.example.ru")


def test_runqueue_smtp_listener_refuses_unknown_senders(acc, smtp):
    inbox, _ = smtp
    add_account(acc.home, "shop1")
    port = free_port()
    controller = Controller(SpoolHandler(acc), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        message = EmailMessage()
        message["From"] = "shop1@shop.example.ru"
        message["To"] = "billing@example.ru"
        message["Subject"] = "balance"
        message.set_content("balance\n")
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.send_message(message)
        assert len(inbox.to("shop1@shop.example.ru")) == 1  # answered before the 250
        del message["From"]
        message["From"] = "stranger@evil.example"
        with smtplib.SMTP("127.0.0.1", port) as client, pytest.raises(smtplib.SMTPDataError) as caught:
            client.send_message(message)
        assert caught.value.smtp_code == 550
        del message["From"]
        message["From"] = "shop1@shop.example.ru"  # a forged From: with a stranger's envelope
        with smtplib.SMTP("127.0.0.1", port) as client, pytest.raises(smtplib.SMTPDataError):
            client.send_message(message, from_addr="stranger@evil.example")
    finally:
        controller.stop()
    assert len(list(mailbox.Maildir(acc.home.spool_dir))) == 1


def test_an_accounts_own_form_writes_only_to_its_addresses(acc, smtp):
    inbox, _ = smtp
    add_account(acc.home, "shop1", files={
        "daily.fm": "To: victim@elsewhere.example\nSubject: spam\n\nbuy now\n",
        "warn.cf": "criterion 1\n0 =warn.fm\n"})
    acc.daily()
    assert not inbox.to("victim@elsewhere.example")
    log = next(acc.home.backup_dir.glob("failures-*.log")).read_text()
    assert "report shop1: " in log and "not victim@elsewhere.example" in log
    assert inbox.subjects("shop1@shop.example.ru") == ["Остаток на счёте shop1 / balance of shop1"]  # forms/ may


def test_mailer_logs_in_with_the_configured_credentials():
    from aiosmtpd.smtp import AuthResult

    from icecash.billing.forms import Mailer
    from icecash.billing.home import MailSettings

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001
            received.append(session.authenticated)
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001
        return AuthResult(success=auth_data.login == b"billing" and auth_data.password == b"pa55")

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    try:
        good = Mailer(MailSettings(host="127.0.0.1", port=port, username="billing", password="pa55"))
        good.send(good.message(["a@b.ru"], "s", "body"))
        assert received == [True]
        # aiosmtpd stalls a failed login (against guessing): the mail is not sent either way
        bad = Mailer(MailSettings(host="127.0.0.1", port=port, username="billing", password="wrong", timeout=1))
        with pytest.raises((smtplib.SMTPException, OSError)):
            bad.send(bad.message(["a@b.ru"], "s", "body"))
        assert received == [True]
    finally:
        controller.stop()
