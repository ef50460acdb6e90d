"""The print service's use-cases: printers, admin password, client tokens, and jobs run under a printer's lock.

A job is a list of commands (see :mod:`icecash.printd.devices`) run in order on one printer while
that printer's lock is held: nothing from another client slips between a receipt's lines. The
first failing command stops the job; every command gets its own result (``ok``, ``failed`` or
``skipped``) and the job is journalled before it starts and when it ends, so a crash mid-job
leaves a trace (``ok`` = null) instead of nothing.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from icecash.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from icecash.security import (
    hash_password,
    new_token,
    same,
    token_digest,
    verify_password,
)
from icecash.store.db import make_engine, reading, sqlite_url, writing
from icecash.store.migrate import upgrade

from . import devices
from .errors import DeviceError
from .tables import jobs, printers, sessions, settings, tokens

DB_FILE = "printd.sqlite3"
MIGRATIONS = "icecash.printd.migrations"
SESSION_HOURS = 12
MAX_COMMANDS = 500
PRINTER_TYPES = ("shtrih", "atol", "escpos", "none")
ADMIN = "admin"


class Unauthenticated(DomainError):
    kind = "unauthenticated"


@dataclass(frozen=True)
class Client:
    """Who is calling: the admin (configuration and everything else) or a till by its token name."""

    name: str
    admin: bool
    csrf_token: str = ""

    def require_admin(self) -> None:
        if not self.admin:
            raise Forbidden("admin_only", "Это действие доступно только администратору сервиса печати",
                            "Only the print service's admin may do this", field="authorization")


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def open_service(data_dir: Path) -> PrintService:
    """The print service over ``data_dir``: the directory and its database are created or upgraded."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(sqlite_url(data_dir / DB_FILE))
    upgrade(MIGRATIONS, engine)
    return PrintService(engine, data_dir)


class PrintService:
    def __init__(self, engine: Engine, data_dir: Path | None = None, clock: Callable[[], datetime] = _now):
        self.engine = engine
        self.data_dir = data_dir
        self.clock = clock
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.discovered: list[dict[str, Any]] = []

    # --- admin password, sessions, tokens --------------------------------------------------------

    def _admin_digest(self) -> str | None:
        """The stored Argon2 digest of the admin password (None before one is set)."""
        with reading(self.engine) as conn:
            return conn.execute(select(settings.c.value).where(settings.c.name == "admin_password")).scalar()

    def has_admin_password(self) -> bool:
        return self._admin_digest() is not None

    def set_admin_password(self, password: str) -> None:
        if not isinstance(password, str) or not 6 <= len(password) <= 256:
            raise InvalidInput("bad_password", "Пароль администратора: от 6 до 256 символов",
                               "The admin password: 6 to 256 characters", field="password")
        digest = hash_password(password)
        with writing(self.engine) as conn:
            conn.execute(delete(settings).where(settings.c.name == "admin_password"))
            conn.execute(insert(settings).values(name="admin_password", value=digest))
            conn.execute(delete(sessions))  # a new password logs every admin session out

    def login(self, password: str) -> tuple[str, Client]:
        """An admin session token for the right password."""
        stored = self._admin_digest()
        if not verify_password(stored, password or ""):
            raise Unauthenticated("bad_password", "Неверный пароль администратора" if stored else
                                  "Пароль администратора не задан: icecash printd admin-password",
                                  "Wrong admin password" if stored else "No admin password yet: icecash printd admin-password",
                                  field="password")
        token, csrf = new_token(), new_token()
        now = self.clock()
        with writing(self.engine) as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(insert(sessions).values(digest=token_digest(token), csrf_token=csrf,
                                                 expires_at=now + timedelta(hours=SESSION_HOURS)))
        return token, Client(ADMIN, True, csrf)

    def logout(self, token: str) -> None:
        with writing(self.engine) as conn:
            conn.execute(delete(sessions).where(sessions.c.digest == token_digest(token)))

    def authenticate(self, token: str | None) -> Client:
        """The client behind a bearer token: an admin session or a till's client token."""
        if not token:
            raise Unauthenticated("unauthenticated", "Нужен токен клиента или вход администратора",
                                  "A client token or an admin login is needed", field="authorization")
        digest = token_digest(token)
        now = self.clock()
        with reading(self.engine) as conn:
            row = conn.execute(select(sessions).where(sessions.c.digest == digest)).first()
            if row is not None and row.expires_at > now:
                return Client(ADMIN, True, row.csrf_token)
            client = conn.execute(select(tokens.c.id, tokens.c.name, tokens.c.last_used_at)
                                  .where(tokens.c.digest == digest)).first()
        if client is None:
            raise Unauthenticated("unauthenticated", "Токен неизвестен, отозван или сессия истекла",
                                  "Unknown or revoked token, or the session has expired", field="authorization")
        if client.last_used_at is None or now - client.last_used_at > timedelta(minutes=1):
            with writing(self.engine) as conn:
                conn.execute(update(tokens).where(tokens.c.id == client.id).values(last_used_at=now))
        return Client(client.name, False)

    def check_password_or_token(self, secret: str) -> Client:
        """For the XML protocol: its <password> may be a client token or the admin password."""
        try:
            return self.authenticate(secret)
        except Unauthenticated:
            pass
        stored = self._admin_digest()
        if stored and verify_password(stored, secret):
            return Client(ADMIN, True)
        raise Unauthenticated("unauthenticated", "Неверный пароль или токен", "Wrong password or token", field="password")

    def create_token(self, name: str) -> str:
        """A new client token for a till: shown once, kept only as a digest."""
        _check_name(name, "name")
        token = new_token()
        with writing(self.engine) as conn:
            if conn.execute(select(tokens.c.id).where(tokens.c.name == name)).first() is not None:
                raise Conflict("token_exists", f"Токен «{name}» уже есть: отзовите его и создайте снова",
                               f"A token named {name!r} exists: revoke it and create it again", field="name")
            conn.execute(insert(tokens).values(name=name, digest=token_digest(token), created_at=self.clock()))
        return token

    def list_tokens(self) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            return [
                {"name": r.name, "created_at": r.created_at.isoformat(),
                 "last_used_at": r.last_used_at.isoformat() if r.last_used_at else None}
                for r in conn.execute(select(tokens).order_by(tokens.c.name))
            ]

    def revoke_token(self, name: str) -> None:
        with writing(self.engine) as conn:
            if not conn.execute(delete(tokens).where(tokens.c.name == name)).rowcount:
                raise NotFound("unknown_token", f"Токена «{name}» нет", f"No token named {name!r}", field="name")

    # --- printers --------------------------------------------------------------------------------

    def printers(self) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            return [_printer_view(r) for r in conn.execute(select(printers).order_by(printers.c.name))]

    def printer(self, name: str) -> dict[str, Any]:
        with reading(self.engine) as conn:
            row = conn.execute(select(printers).where(printers.c.name == name)).first()
        if row is None:
            raise _unknown_printer(name)
        return _printer_view(row)

    def save_printer(self, name: str, values: dict[str, Any], *, create: bool | None = None) -> dict[str, Any]:
        """Create (``create`` True), change (False) or either (None) a printer; every field checked first."""
        _check_name(name, "name")
        clean = _check_printer(values)
        with writing(self.engine) as conn:
            exists = conn.execute(select(printers.c.id).where(printers.c.name == name)).first() is not None
            if create is True and exists:
                raise Conflict("printer_exists", f"Принтер «{name}» уже есть", f"A printer named {name!r} exists", field="name")
            if create is False and not exists:
                raise _unknown_printer(name)
            if exists:
                conn.execute(update(printers).where(printers.c.name == name).values(**clean))
            else:
                if "type" not in clean:
                    raise InvalidInput("missing_field", "Укажите тип принтера", "Give the printer type", field="type")
                defaults = _defaults_for(clean["type"])
                conn.execute(insert(printers).values(name=name, created_at=self.clock(), **{**defaults, **clean}))
            return _printer_view(conn.execute(select(printers).where(printers.c.name == name)).one())

    def delete_printer(self, name: str) -> None:
        with writing(self.engine) as conn:
            if not conn.execute(delete(printers).where(printers.c.name == name)).rowcount:
                raise _unknown_printer(name)

    # --- jobs --------------------------------------------------------------------------------------

    def lock_of(self, name: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(name, threading.Lock())

    def run_job(self, client: Client, printer_name: str, commands: list[dict[str, Any]]) -> dict[str, Any]:
        """Run ``commands`` in order on one printer under its lock; stop at the first failure.

        Returns ``{"job", "printer", "ok", "results": [{op, status, result | error}...], "error"}``
        where ``error`` is the first failure (None when all went well).
        """
        if not commands:
            raise InvalidInput("empty_job", "Задание пусто: нет ни одной команды", "The job is empty: no commands", field="commands")
        if len(commands) > MAX_COMMANDS:
            raise InvalidInput("job_too_long", f"В задании не более {MAX_COMMANDS} команд",
                               f"At most {MAX_COMMANDS} commands per job", field="commands")
        printer = self.printer(printer_name)
        parsed = [devices.parse_command(command, f"commands[{i}]") for i, command in enumerate(commands)]
        for i, command in enumerate(parsed):
            devices.check_supported(printer["type"], command, f"commands[{i}]")
        if any(devices.is_config_command(c) for c in parsed):
            client.require_admin()
        with writing(self.engine) as conn:
            job_id = conn.execute(insert(jobs).values(
                printer=printer_name, client=client.name, created_at=self.clock(),
                commands=json.dumps(commands, ensure_ascii=False), results="[]",
            )).inserted_primary_key[0]
        results: list[dict[str, Any]] = []
        first_error: dict[str, Any] | None = None
        with self.lock_of(printer_name):
            device = None
            try:
                for command in parsed:
                    if first_error is not None:
                        results.append({"op": command["op"], "status": "skipped"})
                        continue
                    try:
                        if device is None:
                            device = devices.open_device(printer)
                        result = device.run(command)
                        results.append({"op": command["op"], "status": "ok", "result": result})
                    except DomainError as exc:
                        first_error = _error_view(exc)
                        results.append({"op": command["op"], "status": "failed", "error": first_error})
            except BaseException:
                with writing(self.engine) as conn:  # a bug, not a device refusal: journalled, then raised
                    conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                        finished_at=self.clock(), ok=False, results=json.dumps(results, ensure_ascii=False)))
                raise
            finally:
                if device is not None:
                    try:
                        device.close()
                    except DomainError:
                        pass  # the job's answer stands; a link that fails to close is reopened next time
        ok = first_error is None
        with writing(self.engine) as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                finished_at=self.clock(), ok=ok, results=json.dumps(results, ensure_ascii=False)))
        return {"job": job_id, "printer": printer_name, "ok": ok, "results": results, "error": first_error}

    def run_one(self, client: Client, printer_name: str, command: dict[str, Any]) -> dict[str, Any]:
        """One command as a job of one; a failure is raised as the device's error (fields named as in the command)."""
        try:
            job = self.run_job(client, printer_name, [command])
        except DomainError as exc:
            if exc.field and exc.field.startswith("commands[0]."):
                exc.field = exc.field.removeprefix("commands[0].")
            raise
        if not job["ok"]:
            raise _error_back(job["error"], job=job["job"])
        return {"job": job["job"], **(job["results"][0]["result"] or {})}

    def jobs(self, printer_name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        stmt = select(jobs).order_by(jobs.c.id.desc()).limit(min(max(limit, 1), 500))
        if printer_name:
            stmt = stmt.where(jobs.c.printer == printer_name)
        with reading(self.engine) as conn:
            return [
                {"job": r.id, "printer": r.printer, "client": r.client, "created_at": r.created_at.isoformat(),
                 "finished_at": r.finished_at.isoformat() if r.finished_at else None, "ok": r.ok,
                 "commands": json.loads(r.commands), "results": json.loads(r.results)}
                for r in conn.execute(stmt)
            ]


def _error_view(exc: DomainError) -> dict[str, Any]:
    view = exc.as_dict()
    view["kind"] = "device" if isinstance(exc, DeviceError) else exc.kind
    return view


def _error_back(error: dict[str, Any], **more: Any) -> DomainError:
    """The first failure of a job as an exception again, to answer a named endpoint."""
    details = {**(error.get("details") or {}), **more}
    if error.get("kind") == "device":
        return DeviceError(error["code"], error["message"], error["message_en"], error.get("field"), **details)
    exc = DomainError(error["code"], error["message"], error["message_en"], error.get("field"), **details)
    exc.kind = error.get("kind", "invalid")
    return exc


def _unknown_printer(name: str) -> NotFound:
    return NotFound("unknown_printer", f"Принтер «{name}» не найден", f"No printer named {name!r}", field="printer")


def _check_name(name: str, field: str) -> None:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", name):
        raise InvalidInput("bad_name", "Имя: 1–64 латинских букв, цифр и знаков _.-", "Name: 1–64 Latin letters, digits and _.-",
                           field=field)


def _defaults_for(kind: str) -> dict[str, Any]:
    return {
        "url": "", "codepage": "cp866", "codepage_table": 17, "width": 36 if kind in devices.FISCAL_TYPES else 48,
        "cashier_password": 1, "admin_password": 30, "timeout_ms": 3000, "preview": "", "comment": "",
    }


_INT_FIELDS = {
    "codepage_table": (0, 255), "width": (16, 80), "cashier_password": (0, 99_999_999),
    "admin_password": (0, 99_999_999), "timeout_ms": (100, 60_000),
}


def _check_printer(values: dict[str, Any]) -> dict[str, Any]:
    """A printer's fields, each checked by name; the connection URL is parsed as the transport would."""
    from .transports import DeviceError as _DE
    from .transports import parse_url

    clean: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        if key == "type":
            if value not in PRINTER_TYPES:
                raise InvalidInput("bad_type", f"Тип принтера: {', '.join(PRINTER_TYPES)}",
                                   f"Printer type: one of {', '.join(PRINTER_TYPES)}", field="type")
            clean[key] = value
        elif key == "url":
            text = str(value).strip()
            if text:
                try:
                    parse_url(text)
                except _DE as exc:
                    raise InvalidInput("bad_url", exc.message_ru, exc.message_en, field="url") from None
            clean[key] = text
        elif key == "codepage":
            try:
                "Ёё".encode(str(value))
            except (LookupError, UnicodeError):
                raise InvalidInput("bad_codepage", f"Кодировка {value!r} неизвестна или без кириллицы",
                                   f"Code page {value!r} is unknown or has no Cyrillic", field="codepage") from None
            clean[key] = str(value)
        elif key in _INT_FIELDS:
            lo, hi = _INT_FIELDS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise InvalidInput("bad_number", f"{key}: целое от {lo} до {hi}", f"{key}: a whole number from {lo} to {hi}",
                                   field=key)
            clean[key] = value
        elif key in ("preview", "comment"):
            clean[key] = str(value)[:512 if key == "preview" else 256]
        else:
            raise InvalidInput("unknown_field", f"Неизвестное поле {key!r}", f"Unknown field {key!r}", field=key)
    if clean.get("type") in ("shtrih", "atol", "escpos") and "url" in clean and not clean["url"]:
        raise InvalidInput("missing_url", "Укажите подключение принтера", "Give the printer's connection", field="url")
    return clean


def _printer_view(row: Any) -> dict[str, Any]:
    return {
        "name": row.name, "type": row.type, "url": row.url, "fiscal": row.type in devices.FISCAL_TYPES,
        "codepage": row.codepage, "codepage_table": row.codepage_table, "width": row.width,
        "cashier_password": row.cashier_password, "admin_password": row.admin_password,
        "timeout_ms": row.timeout_ms, "preview": row.preview, "comment": row.comment,
    }


def same_csrf(client: Client, token: str | None) -> bool:
    return bool(client.csrf_token) and token is not None and same(client.csrf_token, token)
