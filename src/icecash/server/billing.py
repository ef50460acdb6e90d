"""The accounting (``icecash billing``) inside the central server.

- **Suspend / resume.** ``POST /api/v1/billing/firms/{regid}/suspend`` and ``/resume``, called by
  the accounting's ``user-close`` / ``user-open`` with ``Authorization: Bearer <billing token>``
  (made by ``icecash server billing-token``; the server keeps only its digest). Both are
  idempotent. A suspended firm's tills are refused by the exchange with ``403 firm_suspended``
  and the reason (see ``Server.till_by_token``); they keep selling offline and their outbox waits.
- **Accounts.** Every firm gets ``accounts/<regid>/`` in the accounting home when it is created
  (and, for firms made before the home existed, when the server starts or a daily run begins).
  The home is ``--billing-home`` / ``ICECASH_BILLING_HOME``, default ``DATA/billing``; the server
  uses it only once ``icecash billing init`` has made it (it has ``services.cf``).
- **Admin pages.** ``/billing`` (operator): every firm's balance and state, "run daily", the
  last run; ``/firms/{regid}/billing``: balance, statement, payments, warnings sent (the firm's own
  people see theirs, only the operator records payments); ``/billing/mail`` (operator): the mails
  in a Maildir (``--billing-maildir``, the demo's mail catcher).
- **Schedule.** ``--billing-daily HH:MM`` runs the daily in the server process every day at that
  local time (off by default); the accounting's lock stops two runs at once.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import mailbox
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.security import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from icecash.core.errors import Conflict, DomainError, InvalidInput, NotFound
from icecash.core.money import parse_money
from icecash.security import new_token, same, token_digest
from icecash.store.db import reading, writing
from icecash.web import bearer_token, documented_by, include_routes

from .exchange import client_of, server_of
from .pages import _actor, _back, _csrf, _firm, html_errors, render
from .service import Actor, Server, Unauthenticated, utcnow
from .tables import firms, service_tokens

log = logging.getLogger("icecash.server.billing")

TOKEN_NAME = "billing"
_KEY = re.compile(r"[A-Za-z0-9._,:=\-]{1,200}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_MAIL = re.compile(r"[^\s@<>,;\"']+@[^\s@<>,;\"']+")


class NotConfigured(DomainError):
    kind = "not_found"


# --- the accounting's token -------------------------------------------------------------------------


def set_billing_token(engine: Engine) -> str:
    """A new token for the accounting's suspend/resume calls (the old one stops working); shown once."""
    token = new_token()
    with writing(engine) as conn:
        values = {"token_hash": token_digest(token), "created_at": utcnow()}
        if not conn.execute(update(service_tokens).where(service_tokens.c.name == TOKEN_NAME).values(**values)).rowcount:
            conn.execute(insert(service_tokens).values(name=TOKEN_NAME, **values))
    return token


def billing_token_ok(engine: Engine, token: str) -> bool:
    with reading(engine) as conn:
        stored = conn.execute(select(service_tokens.c.token_hash).where(service_tokens.c.name == TOKEN_NAME)).scalar()
    return bool(stored and token and same(stored, token_digest(token)))


def write_central_token(billing_home: Path, token: str) -> Path:
    """Put ``token`` into ``[central] token`` of the home's billing.toml (the rest of the file is kept)."""
    from icecash.billing.files import write_atomic

    path = billing_home / "billing.toml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    head, found, rest = text.partition("[central]")
    if not found:
        text = text.rstrip("\n") + f'\n\n[central]\ntoken = "{token}"\n'
    else:
        section, nxt, after = rest.partition("\n[")
        line = f'token = "{token}"'
        if re.search(r"(?m)^token\s*=.*$", section):
            section = re.sub(r"(?m)^token\s*=.*$", line, section, count=1)
        else:
            section = "\n" + line + section
        text = head + found + section + nxt + after
    write_atomic(path, text, 0o640)
    return path


# --- suspension -------------------------------------------------------------------------------------


def suspension(server: Server, regid: str) -> dict[str, Any]:
    with reading(server.engine) as conn:
        row = conn.execute(select(firms.c.regid, firms.c.suspended_at, firms.c.suspended_reason)
                           .where(firms.c.regid == regid)).first()
    if row is None:
        raise NotFound("unknown_firm", f"Фирма {regid} не найдена", f"No firm {regid}", field="regid")
    return {"regid": row.regid, "suspended": row.suspended_at is not None,
            "since": row.suspended_at.isoformat() + "Z" if row.suspended_at else None, "reason": row.suspended_reason}


def suspend_firm(server: Server, regid: str, reason: str) -> dict[str, Any]:
    """Suspend a firm (idempotent: a suspended firm keeps its first date; the reason is updated)."""
    with writing(server.engine) as conn:
        row = conn.execute(select(firms.c.id, firms.c.suspended_at).where(firms.c.regid == regid)).first()
        if row is None:
            raise NotFound("unknown_firm", f"Фирма {regid} не найдена", f"No firm {regid}", field="regid")
        conn.execute(update(firms).where(firms.c.id == row.id).values(
            suspended_at=row.suspended_at or server.clock(), suspended_reason=reason[:512]))
    if row.suspended_at is None:
        log.warning("firm %s suspended by the accounting: %s", regid, reason)
    return suspension(server, regid)


def resume_firm(server: Server, regid: str) -> dict[str, Any]:
    with writing(server.engine) as conn:
        row = conn.execute(select(firms.c.id, firms.c.suspended_at).where(firms.c.regid == regid)).first()
        if row is None:
            raise NotFound("unknown_firm", f"Фирма {regid} не найдена", f"No firm {regid}", field="regid")
        conn.execute(update(firms).where(firms.c.id == row.id).values(suspended_at=None, suspended_reason=""))
    if row.suspended_at is not None:
        log.warning("firm %s resumed by the accounting", regid)
    return suspension(server, regid)


# --- the accounting as the server runs it ----------------------------------------------------------


@dataclass
class RunState:
    """The last daily run started by the server (button or schedule)."""

    started: str | None = None
    finished: str | None = None
    by: str = ""
    steps: list[str] = field(default_factory=list)
    failures: int = 0
    warned: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def running(self) -> bool:
        return self.started is not None and self.finished is None


class Billing:
    """The accounting home the server works with, its daily runs, its schedule and its mail box."""

    def __init__(self, server: Server, home: Path, maildir: Path | None = None, daily_at: time | None = None):
        from icecash.billing.home import Home

        self.server = server
        self.home = Home(Path(home))
        self.maildir = Path(maildir) if maildir else None
        self.daily_at = daily_at
        self.last = RunState()
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None
        self.now: Callable[[], datetime] = datetime.now  # the schedule's local clock (tests move it)

    # setup
    def ready(self) -> bool:
        return (self.home.path / "services.cf").exists()

    def require_ready(self) -> None:
        if not self.ready():
            raise NotConfigured("billing_not_configured",
                                f"Учёт не настроен: создайте его командой icecash billing init --home {self.home.path}",
                                f"The accounting is not set up: run icecash billing init --home {self.home.path}",
                                field="billing_home")

    def create_account(self, regid: str) -> None:
        """The firm's account directory (hook of ``Server.create_firm``); quiet when the home is not set up."""
        if not self.ready():
            return
        try:
            self.home.create_account(regid)
        except (DomainError, OSError) as exc:
            log.error("account for firm %s not created in %s: %s", regid, self.home.path, exc)

    def ensure_accounts(self) -> None:
        if not self.ready():
            return
        with reading(self.server.engine) as conn:
            regids = conn.execute(select(firms.c.regid)).scalars().all()
        have = set(self.home.accounts())
        for regid in regids:
            if regid not in have:
                self.create_account(regid)

    def accounting(self, clock: Any = None) -> Any:
        """A fresh ``Accounting`` (billing.toml read again) over the home's database and the server's."""
        from icecash.billing.engine import Accounting
        from icecash.billing.home import now
        from icecash.billing.store import open_engine

        self.require_ready()
        settings = self.home.settings()
        with self._engine_lock:
            if self._engine is None:
                self._engine = open_engine(self.home.db_url(None, settings))
        return Accounting(self.home, self._engine, settings, clock=clock or now, server_engine=self.server.engine)

    # daily runs
    def start_daily(self, by: str) -> bool:
        """Start a daily run in the background; False when one started here is still going."""
        self.require_ready()
        with self._engine_lock:  # two presses at once start one run
            if self._thread is not None and self._thread.is_alive():
                return False
            state = RunState(started=_stamp(), by=by)
            thread = threading.Thread(target=self._run_daily, args=(state,), name="icecash-billing-daily", daemon=True)
            thread.start()
            self._thread, self.last = thread, state  # published once started: wait() may join it
        return True

    def wait(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run_daily(self, state: RunState) -> None:
        try:
            self.ensure_accounts()
            report = self.accounting().daily(progress=state.steps.append)
            state.failures = report.failures
            state.warned = dict(report.warned)
        except DomainError as exc:
            state.error = f"{exc.message_ru} / {exc.message_en}"
        except Exception as exc:  # noqa: BLE001 - shown on the page and logged, never kills the server
            log.exception("daily run failed")
            state.error = f"{type(exc).__name__}: {exc}"
        finally:
            state.finished = _stamp()
            log.info("billing daily (%s): %d failure(s) %s", state.by, state.failures, state.error)

    # schedule
    def start_schedule(self) -> None:
        if self.daily_at is None or self._scheduler is not None:
            return
        self._stop.clear()
        self._scheduler = threading.Thread(target=self._schedule_loop, name="icecash-billing-schedule", daemon=True)
        self._scheduler.start()

    def stop_schedule(self) -> None:
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.join(5)
        self._scheduler = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def next_run(self, after: datetime | None = None) -> datetime | None:
        if self.daily_at is None:
            return None
        after = after or self.now()
        due = datetime.combine(after.date(), self.daily_at)
        return due if due > after else due + timedelta(days=1)

    def _schedule_loop(self) -> None:
        while not self._stop.is_set():
            due = self.next_run()
            assert due is not None
            if self._stop.wait(max(0.0, min(60.0, (due - self.now()).total_seconds()))):
                return
            if self.now() < due:
                continue
            if not self.ready():
                log.warning("billing schedule: %s is not an accounting home; skipped", self.home.path)
            elif not self.start_daily("schedule"):
                log.warning("billing schedule: a run is still going; skipped")
            self._stop.wait(61)  # past the minute: one run a day

    # the mail box
    def mails(self) -> list[dict[str, Any]]:
        box = self._box()
        out = []
        for key in box.keys():
            try:
                raw = box.get_bytes(key)
            except (KeyError, OSError):
                continue
            message = email.message_from_bytes(raw, policy=email.policy.default)
            out.append({"key": key, "from": str(message["From"] or ""), "to": str(message["To"] or ""),
                        "subject": str(message["Subject"] or ""), "date": _mail_date(message), "size": len(raw)})
        out.sort(key=lambda m: (m["date"] or datetime.min, m["key"]), reverse=True)
        return out

    def mail(self, key: str) -> dict[str, Any]:
        if not _KEY.fullmatch(key):
            raise NotFound("no_mail", "Письмо не найдено", "No such mail", field="key")
        box = self._box()
        try:
            raw = box.get_bytes(key)
        except KeyError:
            raise NotFound("no_mail", "Письмо не найдено", "No such mail", field="key") from None
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        try:
            text = body.get_content() if body is not None else ""
        except (LookupError, ValueError):
            text = raw.decode("utf-8", "replace")
        headers = [(name, str(value)) for name, value in message.items()]
        return {"key": key, "subject": str(message["Subject"] or ""), "headers": headers, "text": text}

    def _box(self) -> mailbox.Maildir:
        if self.maildir is None:
            raise NotConfigured("no_maildir", "Почтовый ящик не задан (--billing-maildir)",
                                "No mail box configured (--billing-maildir)", field="billing_maildir")
        return mailbox.Maildir(self.maildir, create=True)


def attach_billing(server: Server, home: Path, maildir: Path | None = None, daily_at: time | None = None) -> Billing:
    """Give the server its accounting: ``server.billing``, and an account for every new firm."""
    billing = Billing(server, home, maildir, daily_at)
    server.billing = billing  # type: ignore[attr-defined]
    server.firm_created.append(billing.create_account)
    return billing


def parse_daily_at(text: str | None) -> time | None:
    """``HH:MM`` (local time) or empty/``off``: when the server runs the daily itself."""
    text = (text or "").strip()
    if not text or text.lower() in ("off", "no", "none"):
        return None
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise InvalidInput("invalid_field", f"Время ежедневного запуска {text!r}: нужно ЧЧ:ММ",
                           f"Daily run time {text!r}: expected HH:MM", field="billing_daily")
    return time(int(match.group(1)), int(match.group(2)))


def billing_of(request: Request) -> Billing:
    billing = getattr(server_of(request), "billing", None)
    if billing is None:
        raise NotConfigured("billing_not_configured", "Учёт на этом сервере не подключён",
                            "The accounting is not attached to this server", field="billing_home")
    return billing


def install(app: Any) -> None:
    """Routers, and the schedule started and stopped with the app."""
    include_routes(app, api, admin)

    def _start() -> None:
        billing = getattr(app.state.server, "billing", None)
        if billing is not None:
            try:
                billing.ensure_accounts()
            except OSError as exc:
                log.error("accounts not created in %s: %s", billing.home.path, exc)
            billing.start_schedule()

    def _stop() -> None:
        billing = getattr(app.state.server, "billing", None)
        if billing is not None:
            billing.stop_schedule()

    app.router.on_startup.append(_start)
    app.router.on_shutdown.append(_stop)


# --- API for the accounting: suspend / resume --------------------------------------------------------

api = APIRouter(prefix="/api/v1/billing", tags=["billing"])
_bearer = HTTPBearer(auto_error=False, description="The accounting's token from `icecash server billing-token`")


@documented_by(_bearer)
async def accounting_caller(request: Request) -> None:
    token = bearer_token(request)
    server = server_of(request)
    key = f"billing-ip:{client_of(request)}"
    server.limiter.check(key)
    if not token or not await run_in_threadpool(billing_token_ok, server.engine, token):
        server.limiter.failed(key)
        raise Unauthenticated("unauthenticated", "Нужен токен учёта (icecash server billing-token)",
                              "The accounting's token is required (icecash server billing-token)", field="authorization")


class SuspendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=512, pattern=r"^[^\x00-\x1f\x7f]*$")
    balance: int = Field(0, strict=True, ge=-(10**15), le=10**15)
    count: int = Field(0, strict=True, ge=-(10**9), le=10**9)


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=512, pattern=r"^[^\x00-\x1f\x7f]*$")
    balance: int = Field(0, strict=True, ge=-(10**15), le=10**15)


@api.post("/firms/{regid}/suspend", summary="user-close: suspend a firm (its tills are refused by the exchange); "
          "idempotent", dependencies=[Depends(accounting_caller)])
def suspend(regid: str, body: SuspendIn, request: Request) -> dict[str, Any]:
    reason = body.reason or "Приостановлено учётом / suspended by the accounting"
    return suspend_firm(server_of(request), regid, reason)


@api.post("/firms/{regid}/resume", summary="user-open: lift a firm's suspension; idempotent",
          dependencies=[Depends(accounting_caller)])
def resume(regid: str, body: ResumeIn, request: Request) -> dict[str, Any]:
    return resume_firm(server_of(request), regid)


@api.get("/firms/{regid}", summary="A firm's suspension state", dependencies=[Depends(accounting_caller)])
def state(regid: str, request: Request) -> dict[str, Any]:
    return suspension(server_of(request), regid)


# --- admin pages ----------------------------------------------------------------------------------

admin = APIRouter(include_in_schema=False)


def _stamp() -> str:
    return datetime.now().astimezone().replace(microsecond=0).isoformat(sep=" ")


def _mail_date(message: Any) -> datetime | None:
    try:
        found = email.utils.parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        return None
    return found.replace(tzinfo=None) if found else None


def _month(text: str) -> Any:
    from icecash.core.formula import Month

    match = _MONTH.fullmatch((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InvalidInput("invalid_field", "Месяц: нужно ГГГГ-ММ", "Month: expected YYYY-MM", field="month")
    return Month(int(match.group(1)), int(match.group(2)))


def _operator(request: Request) -> Actor:
    actor = _actor(request)
    actor.require_operator()
    return actor


@admin.get("/billing")
@html_errors
def billing_page(request: Request, started: str = "") -> Any:
    actor = _operator(request)
    billing = billing_of(request)
    rows = []
    if billing.ready():
        acc = billing.accounting()
        figures = acc.book.figures()
        for firm in server_of(request).firms_for(actor):
            directory = billing.home.account_dir(firm.regid)
            count = (directory / ".count").read_text().strip() if (directory / ".count").exists() else "0"
            rows.append({"regid": firm.regid, "name": firm.name, "balance": figures.total(firm.regid),
                         "account": directory.is_dir(), "count": count, "closed": (directory / ".closed").exists(),
                         "suspended_at": firm.suspended_at, "reason": firm.suspended_reason})
    return render("billing.html", actor=actor, billing=billing, rows=rows, last=billing.last,
                  message="Ежедневный запуск начат / daily run started" if started else "",
                  next_run=billing.next_run(), maildir=billing.maildir)


@admin.post("/billing/daily")
@html_errors
def run_daily(request: Request, csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _operator(request)
    _csrf(actor, csrf_token)
    if not billing_of(request).start_daily(actor.login):
        raise Conflict("billing_running", "Ежедневный запуск уже идёт", "A daily run is already going")
    return _back("/billing?started=1")


@admin.get("/billing/mail")
@html_errors
def mail_list(request: Request) -> Any:
    actor = _operator(request)
    billing = billing_of(request)
    return render("billing_mail.html", actor=actor, mails=billing.mails(), maildir=billing.maildir)


@admin.get("/billing/mail/{key}")
@html_errors
def mail_one(request: Request, key: str) -> Any:
    actor = _operator(request)
    return render("billing_mail_one.html", actor=actor, mail=billing_of(request).mail(key))


def _firm_view(request: Request, actor: Actor, regid: str, month: str = "", message: str = "") -> Any:
    firm = _firm(request, actor, regid)  # another firm's people get "no such firm"
    billing = billing_of(request)
    billing.require_ready()
    directory = billing.home.account_dir(regid)
    if not directory.is_dir():
        billing.create_account(regid)
    acc = billing.accounting()
    chosen = _month(month) if month else acc.accounting_month()
    return render("billing_firm.html", actor=actor, firm=firm, balance=acc.book.balance(regid),
                  statement=acc.statement(regid, chosen), month=f"{chosen.year:04d}-{chosen.month:02d}",
                  payments=acc.book.payment_rows(regid), notices=acc.book.notice_rows(regid),
                  closed=(directory / ".closed").exists(), mail=list(billing.home.user_config(regid).mail),
                  message=message, can_pay=actor.is_operator)


@admin.get("/firms/{regid}/billing")
@html_errors
def firm_billing(request: Request, regid: str, month: Annotated[str, Query(max_length=7)] = "") -> Any:
    return _firm_view(request, _actor(request), regid, month)


@admin.post("/firms/{regid}/billing/pay")
@html_errors
def pay(request: Request, regid: str, amount: Annotated[str, Form(max_length=32)],
        comment: Annotated[str, Form(max_length=256)] = "", csrf_token: Annotated[str, Form()] = "") -> Any:
    actor = _actor(request)
    _firm(request, actor, regid)
    actor.require_operator()  # payments are the operator's books, not the firm's
    _csrf(actor, csrf_token)
    text = amount.strip().replace(" ", "")
    sign = -1 if text.startswith("-") else 1
    try:
        kopecks = sign * parse_money(text.lstrip("-"))
    except ValueError as exc:
        raise InvalidInput("invalid_field", f"Сумма {amount!r}: нужны рубли с копейками, например 1500.00 ({exc})",
                           f"Amount {amount!r}: expected rubles, e.g. 1500.00 ({exc})", field="amount") from None
    if "\n" in comment or "\r" in comment:
        raise InvalidInput("invalid_field", "Комментарий: одна строка", "Comment: one line", field="comment")
    billing_of(request).accounting().pay(regid, kopecks, comment.strip())
    return _firm_view(request, actor, regid, message=f"Платёж {amount} ₽ записан / payment recorded")


@admin.post("/firms/{regid}/billing/mail")
@html_errors
def set_mail(request: Request, regid: str, addresses: Annotated[str, Form(max_length=2000)] = "",
             csrf_token: Annotated[str, Form()] = "") -> Any:
    """The operator sets where the firm's accounting mail goes (``mail`` lines of its user.cf)."""
    from icecash.billing.files import parse_user, read_text, write_atomic

    actor = _actor(request)
    _firm(request, actor, regid)
    actor.require_operator()
    _csrf(actor, csrf_token)
    wanted = [a for a in re.split(r"[\s,;]+", addresses) if a]
    for address in wanted:
        if not _MAIL.fullmatch(address):
            raise InvalidInput("invalid_field", f"Адрес {address!r}: нужно имя@домен",
                               f"Address {address!r}: expected name@domain", field="addresses")
    billing = billing_of(request)
    billing.require_ready()
    path = billing.home.account_dir(regid) / "user.cf"
    if not path.parent.is_dir():
        billing.create_account(regid)
    old = read_text(path) if path.exists() else "prices standard\n"
    kept = [line for line in old.splitlines() if not re.match(r"\s*mail(\s|$)", line)]
    text = "\n".join(kept + [f"mail {a}" for a in wanted]) + "\n"
    parse_user(text, path)  # refuse before writing
    write_atomic(path, text)
    return _firm_view(request, actor, regid, message="Адреса сохранены / addresses saved")


__all__ = ["Billing", "attach_billing", "billing_token_ok", "install", "parse_daily_at", "resume_firm",
           "set_billing_token", "suspend_firm", "suspension", "write_central_token"]
