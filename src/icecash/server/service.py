"""The central server's use-cases: tenancy, till exchange, catalogue, variables, promotions, back office.

Every use-case runs in one database transaction and checks, here and not in the web layer, that
the caller may touch the firm it names: a till only ever sees its own firm, a firm's admin or
viewer only their firm, the operator everything.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from icecash.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from icecash.core.pricefile import CatalogueRow, PriceFile, merge_held
from icecash.core.zreport import accounting_date
from icecash.security import hash_password, new_token, token_digest, verify_password
from icecash.store.db import reading, writing

from .tables import (
    files,
    firms,
    goods_lists,
    place_groups,
    price_items,
    price_lists,
    promotions,
    receipt_lines,
    receipts,
    sessions,
    shops,
    till_groups,
    till_tokens,
    tills,
    users,
    variables,
    z_lines,
    z_reports,
)

ROLES = ("operator", "admin", "viewer")
SESSION_HOURS = 12
TILL_TOKEN_HOURS = 24
MAX_FAILURES = 5  # wrong credentials allowed per key within FAILURE_WINDOW before refusing
FAILURE_WINDOW = 60.0
MAX_FILE_SIZE = 16 << 20
MAX_FILES_PER_FIRM = 1000
ONLINE_SECONDS = 300  # a till heard from within 5 minutes is shown online
RACE_ATTEMPTS = 8  # deliveries of one batch racing each other: the losers look again this many times

_REGID = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_LOGIN = re.compile(r"[A-Za-z0-9_.@\-]{1,64}")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,63}")
_LIST_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")
_FILE_NAME = re.compile(r"[A-Za-z0-9А-Яа-яЁё_\-][A-Za-z0-9А-Яа-яЁё_.\- ]{0,127}")


def utcnow() -> datetime:
    """The server's clock: naive UTC, second precision."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


class Unauthenticated(DomainError):
    kind = "unauthenticated"


class RateLimited(DomainError):
    kind = "rate_limited"


class FirmSuspended(DomainError):
    """The accounting suspended the firm (user-close): its tills are refused until user-open lifts it."""

    kind = "forbidden"


def firm_suspended(regid: str, since: datetime | None, reason: str) -> FirmSuspended:
    when = since.isoformat(sep=" ") + " UTC" if since else ""
    return FirmSuspended("firm_suspended", f"Обслуживание фирмы {regid} приостановлено с {when}: {reason}. "
                         "Касса продолжает продавать, чеки ждут отправки",
                         f"Service of firm {regid} is suspended since {when}: {reason}. The till keeps selling; "
                         "receipts wait to be sent", field="regid", since=when, reason=reason)


@dataclass(frozen=True)
class Actor:
    """A person on the admin pages or the back-office API."""

    id: int
    login: str
    name: str
    role: str  # operator · admin · viewer
    firm_id: int | None
    csrf_token: str = ""

    @property
    def is_operator(self) -> bool:
        return self.role == "operator"

    def require_firm(self, firm_id: int, write: bool = False) -> None:
        """Refuse anything outside the actor's firm, and any change by a viewer."""
        if not self.is_operator and self.firm_id != firm_id:
            raise NotFound("unknown_firm", "Фирма не найдена", "No such firm", field="regid")
        if write and self.role == "viewer":
            raise Forbidden("forbidden", "Недостаточно прав: наблюдатель только смотрит",
                            "Not allowed: a viewer can only look", field="role")

    def require_operator(self) -> None:
        if not self.is_operator:
            raise Forbidden("forbidden", "Доступно только оператору", "Only the operator may do this", field="role")


@dataclass(frozen=True)
class TillId:
    """An authenticated till: everything it sends and reads is scoped by these ids."""

    id: int
    firm_id: int
    shop_id: int
    idplace: int
    nkassa: int
    regid: str


class FailureLimiter:
    """Counts wrong credentials per key (client address, login); too many in a minute are refused."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW):
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                stamps = self._failures.get(key)
                while stamps and stamps[0] < now - self.window:
                    stamps.popleft()
                if stamps and len(stamps) >= self.limit:
                    retry = int(stamps[0] + self.window - now) + 1
                    raise RateLimited("too_many_attempts",
                                      f"Слишком много неверных попыток входа: повторите через {retry} с",
                                      f"Too many wrong attempts: try again in {retry} s", field="credentials",
                                      retry_after=retry)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def _bad(field: str, ru: str, en: str, code: str = "invalid_field") -> InvalidInput:
    return InvalidInput(code, ru, en, field=field)


def _check(pattern: re.Pattern[str], value: str, field: str, what_ru: str, what_en: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise _bad(field, f"{what_ru}: недопустимое значение {value!r}", f"{what_en}: not allowed: {value!r}")
    return value


# Price rows: the columns a till needs, in one order for the wire and for change detection.
PRICE_FIELDS = ("parent_code", "is_item", "name", "barcode", "price", "min_price", "max_price", "max_discount_bp",
                "weighed", "department", "vat", "alcohol", "litres_ml", "stock", "item_type", "scheme", "no_discount",
                "extras")


def price_row_values(row: CatalogueRow, extras: list[list[Any]]) -> dict[str, Any]:
    return {
        "parent_code": row.parent_code, "is_item": row.is_item, "name": row.name, "barcode": row.barcode,
        "price": row.price, "min_price": row.min_price, "max_price": row.max_price,
        "max_discount_bp": row.max_discount_bp, "weighed": row.weighed, "department": row.department,
        "vat": row.vat.value if row.vat is not None else None, "alcohol": row.alcohol, "litres_ml": row.litres_ml,
        "stock": row.stock, "item_type": row.type, "scheme": row.scheme, "no_discount": row.no_discount,
        "extras": json.dumps(extras, ensure_ascii=False, separators=(",", ":")),
    }


class Server:
    """The central server's application layer over its database."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow):
        self.engine = engine
        self.clock = clock
        self.limiter = FailureLimiter()
        self.firm_created: list[Callable[[str], None]] = []  # called with the regid after a firm is committed

    # --- tenancy -------------------------------------------------------------------------------------

    def create_firm(self, actor: Actor | None, regid: str, name: str) -> int:
        if actor is not None:
            actor.require_operator()
        _check(_REGID, regid, "regid", "Идентификатор фирмы", "Firm id")
        name = _text(name or regid, "name", 256)
        with writing(self.engine) as conn:
            if conn.execute(select(firms.c.id).where(firms.c.regid == regid)).first():
                raise Conflict("firm_exists", f"Фирма {regid} уже есть", f"Firm {regid} already exists", field="regid")
            firm_id = conn.execute(insert(firms).values(regid=regid, name=name, active=True, variables_version=0,
                                                        promotions_version=0, created_at=self.clock())).inserted_primary_key[0]
        for hook in self.firm_created:
            hook(regid)
        return firm_id

    def create_user(self, actor: Actor | None, login: str, password: str, role: str, regid: str | None = None,
                    name: str = "") -> int:
        """A person: the operator (no firm), or a firm's admin or viewer. ``actor`` None: the command line."""
        _check(_LOGIN, login, "login", "Логин", "Login")
        if role not in ROLES:
            raise _bad("role", f"Роль {role!r}: нужно operator, admin или viewer",
                       f"Role {role!r}: expected operator, admin or viewer")
        if len(password) < 8 or len(password) > 256:
            raise _bad("password", "Пароль: от 8 до 256 символов", "Password: 8 to 256 characters")
        if (role == "operator") != (regid is None):
            raise _bad("regid", "Оператор не принадлежит фирме, а админ и наблюдатель — принадлежат",
                       "The operator has no firm; an admin or viewer needs one")
        with writing(self.engine) as conn:
            firm_id = None
            if regid is not None:
                firm_id = self._firm_id(conn, regid)
            if actor is not None:
                if role == "operator":
                    actor.require_operator()
                else:
                    actor.require_firm(firm_id, write=True)
            if conn.execute(select(users.c.id).where(users.c.login == login)).first():
                raise Conflict("login_taken", f"Логин {login} занят", f"Login {login} is taken", field="login")
            return conn.execute(insert(users).values(
                login=login, password_hash=hash_password(password), role=role, firm_id=firm_id,
                name=_text(name, "name", 128), active=True, created_at=self.clock(),
            )).inserted_primary_key[0]

    def create_shop(self, actor: Actor | None, regid: str, idplace: int, name: str = "") -> int:
        _positive(idplace, "idplace", 999_999_999)
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            if conn.execute(select(shops.c.id).where(shops.c.firm_id == firm_id, shops.c.idplace == idplace)).first():
                raise Conflict("shop_exists", f"Точка {idplace} уже есть", f"Shop {idplace} already exists", field="idplace")
            return conn.execute(insert(shops).values(firm_id=firm_id, idplace=idplace,
                                                     name=_text(name, "name", 256))).inserted_primary_key[0]

    def create_till(self, actor: Actor | None, regid: str, idplace: int, nkassa: int, name: str = "",
                    price_list: str | None = None) -> str:
        """Register a till; returns its secret, shown once (only a hash is kept)."""
        _positive(nkassa, "nkassa", 999_999)
        secret = secrets.token_urlsafe(24)
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            shop_id = self._shop_id(conn, firm_id, idplace)
            if conn.execute(select(tills.c.id).where(tills.c.shop_id == shop_id, tills.c.nkassa == nkassa)).first():
                raise Conflict("till_exists", f"Касса {nkassa} в точке {idplace} уже есть",
                               f"Till {nkassa} in shop {idplace} already exists", field="nkassa")
            list_id = self._price_list_id(conn, firm_id, price_list, create=True) if price_list else None
            conn.execute(insert(tills).values(
                firm_id=firm_id, shop_id=shop_id, nkassa=nkassa, name=_text(name, "name", 128),
                secret_hash=hash_password(secret), price_list_id=list_id, active=True, created_at=self.clock(),
                version="", printer="", backlog=0, clock_skew_s=0, price_version=0,
            ))
        return secret

    def reset_till_secret(self, actor: Actor | None, regid: str, idplace: int, nkassa: int) -> str:
        secret = secrets.token_urlsafe(24)
        with writing(self.engine) as conn:
            till = self._till_row(conn, actor, regid, idplace, nkassa, write=True)
            conn.execute(update(tills).where(tills.c.id == till.id).values(secret_hash=hash_password(secret)))
            conn.execute(delete(till_tokens).where(till_tokens.c.till_id == till.id))
        return secret

    def bind_price_list(self, actor: Actor | None, regid: str, idplace: int, nkassa: int, price_list: str | None) -> None:
        with writing(self.engine) as conn:
            till = self._till_row(conn, actor, regid, idplace, nkassa, write=True)
            list_id = self._price_list_id(conn, till.firm_id, price_list, create=True) if price_list else None
            conn.execute(update(tills).where(tills.c.id == till.id).values(price_list_id=list_id))

    # --- people: sessions -------------------------------------------------------------------------------

    def login(self, login: str, password: str, client: str = "") -> tuple[str, Actor]:
        keys = (f"ip:{client}", f"user:{login}")
        self.limiter.check(*keys)
        with reading(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.login == login, users.c.active.is_(True))).first()
        if not verify_password(row.password_hash if row else None, password):
            self.limiter.failed(*keys)
            raise Unauthenticated("bad_credentials", "Неверный логин или пароль", "Wrong login or password", field="password")
        self.limiter.succeeded(f"user:{login}")
        token, csrf = new_token(), new_token()
        now = self.clock()
        with writing(self.engine) as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(insert(sessions).values(token_hash=token_digest(token), user_id=row.id, csrf_token=csrf,
                                                 created_at=now, expires_at=now + timedelta(hours=SESSION_HOURS)))
        return token, _actor(row, csrf)

    def authenticate(self, token: str) -> Actor | None:
        with reading(self.engine) as conn:
            found = conn.execute(
                select(users, sessions.c.csrf_token).join(sessions, sessions.c.user_id == users.c.id)
                .where(sessions.c.token_hash == token_digest(token), sessions.c.expires_at > self.clock(),
                       users.c.active.is_(True))
            ).first()
        return _actor(found, found.csrf_token) if found else None

    def logout(self, token: str) -> None:
        with writing(self.engine) as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == token_digest(token)))

    # --- tills: authentication and heartbeat ------------------------------------------------------------

    def till_login(self, regid: str, idplace: int, nkassa: int, secret: str, client: str = "") -> tuple[str, TillId, datetime]:
        keys = (f"ip:{client}", f"till:{regid}/{idplace}/{nkassa}")
        self.limiter.check(*keys)
        with reading(self.engine) as conn:
            row = conn.execute(
                select(tills.c.id, tills.c.secret_hash, tills.c.firm_id, tills.c.shop_id, tills.c.nkassa,
                       shops.c.idplace, firms.c.regid, firms.c.suspended_at, firms.c.suspended_reason)
                .join(shops, shops.c.id == tills.c.shop_id).join(firms, firms.c.id == tills.c.firm_id)
                .where(firms.c.regid == regid, shops.c.idplace == idplace, tills.c.nkassa == nkassa,
                       tills.c.active.is_(True), firms.c.active.is_(True))
            ).first()
        if not verify_password(row.secret_hash if row else None, secret):
            self.limiter.failed(*keys)
            raise Unauthenticated("bad_credentials", "Неверная касса или секрет кассы", "Unknown till or wrong till secret",
                                  field="secret")
        self.limiter.succeeded(keys[1])
        if row.suspended_at is not None:
            raise firm_suspended(row.regid, row.suspended_at, row.suspended_reason)
        token = new_token()
        now = self.clock()
        expires = now + timedelta(hours=TILL_TOKEN_HOURS)
        with writing(self.engine) as conn:
            conn.execute(delete(till_tokens).where(till_tokens.c.expires_at < now))
            conn.execute(insert(till_tokens).values(token_hash=token_digest(token), till_id=row.id, expires_at=expires))
            conn.execute(update(tills).where(tills.c.id == row.id).values(last_contact=now))
        return token, TillId(row.id, row.firm_id, row.shop_id, row.idplace, row.nkassa, row.regid), expires

    def till_by_token(self, token: str) -> TillId | None:
        with reading(self.engine) as conn:
            row = conn.execute(
                select(tills.c.id, tills.c.firm_id, tills.c.shop_id, tills.c.nkassa, shops.c.idplace, firms.c.regid,
                       firms.c.suspended_at, firms.c.suspended_reason)
                .join(till_tokens, till_tokens.c.till_id == tills.c.id)
                .join(shops, shops.c.id == tills.c.shop_id).join(firms, firms.c.id == tills.c.firm_id)
                .where(till_tokens.c.token_hash == token_digest(token), till_tokens.c.expires_at > self.clock(),
                       tills.c.active.is_(True), firms.c.active.is_(True))
            ).first()
        if row is not None and row.suspended_at is not None:
            raise firm_suspended(row.regid, row.suspended_at, row.suspended_reason)
        return TillId(row.id, row.firm_id, row.shop_id, row.idplace, row.nkassa, row.regid) if row else None

    def heartbeat(self, till: TillId, version: str = "", printer: str = "", backlog: int = 0,
                  clock: datetime | None = None) -> dict[str, Any]:
        now = self.clock()
        skew = 0
        if clock is not None:
            till_utc = clock.astimezone(UTC).replace(tzinfo=None) if clock.tzinfo else clock
            skew = int((till_utc - now).total_seconds())
            skew = max(-10**9, min(10**9, skew))
        with writing(self.engine) as conn:
            conn.execute(update(tills).where(tills.c.id == till.id).values(
                last_contact=now, version=version[:32], printer=printer[:128], backlog=max(0, min(backlog, 2**31 - 1)),
                clock_skew_s=skew))
            firm = conn.execute(select(firms.c.variables_version, firms.c.promotions_version)
                                .where(firms.c.id == till.firm_id)).one()
            till_row = conn.execute(select(tills.c.price_list_id).where(tills.c.id == till.id)).one()
            price_version = 0
            if till_row.price_list_id is not None:
                price_version = conn.execute(select(price_lists.c.version)
                                             .where(price_lists.c.id == till_row.price_list_id)).scalar_one()
        return {"server_time": now.isoformat() + "Z", "clock_skew_s": skew, "price_version": price_version,
                "variables_version": firm.variables_version, "promotions_version": firm.promotions_version}

    # --- tills: receipts and Z reports ------------------------------------------------------------------

    def ingest_receipts(self, till: TillId, batch: list[dict[str, Any]]) -> dict[str, Any]:
        """Store a batch of finished receipts: all new ones or none; already stored ones are acknowledged.

        Idempotent on the receipt UUID: a replayed batch changes nothing and gets the same
        acknowledgement. A receipt that fails a check refuses the whole batch, naming it.
        """
        seen: set[str] = set()
        for i, receipt in enumerate(batch):
            _check_receipt(till, receipt, i)
            if receipt["uuid"] in seen:
                raise _bad(f"receipts[{i}].uuid", "Чек повторяется в пакете", "The receipt appears twice in the batch",
                           code="duplicate_in_batch")
            seen.add(receipt["uuid"])
        for attempt in range(RACE_ATTEMPTS):
            try:
                return self._store_receipts(till, batch)
            except Exception as exc:
                # two deliveries of the same batch raced (PostgreSQL, MariaDB: read committed / deadlock):
                # the loser's transaction is rolled back whole; looking again finds the winner's receipts
                if attempt == RACE_ATTEMPTS - 1 or not _retryable(exc, self.engine.dialect.dbapi):
                    raise
                time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # let the winner commit first
        raise AssertionError("unreachable")

    def _store_receipts(self, till: TillId, batch: list[dict[str, Any]]) -> dict[str, Any]:
        now = self.clock()
        uuids = [r["uuid"] for r in batch]
        with writing(self.engine) as conn:
            existing: dict[str, int] = {}
            if conn.dialect.name == "postgresql":  # one array parameter: no plan for 100 placeholders each time
                existing.update(conn.exec_driver_sql(
                    "SELECT uuid, till_id FROM receipts WHERE uuid = ANY(%(uuids)s)", {"uuids": uuids}).all())
            else:
                locking = conn.dialect.name != "sqlite"  # MariaDB's repeatable read: see the latest commit
                for start in range(0, len(uuids), 500):
                    chunk = uuids[start:start + 500]
                    query = select(receipts.c.uuid, receipts.c.till_id).where(receipts.c.uuid.in_(chunk))
                    existing.update(conn.execute(query.with_for_update(read=True) if locking else query).all())
            for i, receipt in enumerate(batch):
                owner = existing.get(receipt["uuid"])
                if owner is not None and owner != till.id:
                    raise Conflict("foreign_receipt", "Чек с этим UUID прислала другая касса",
                                   "A receipt with this UUID came from another till", field=f"receipts[{i}].uuid")
            new = [r for r in batch if r["uuid"] not in existing]
            if new:
                rows, lines = [], []
                for n, r in enumerate(new):
                    closed = _wall(r["closed_at"])
                    rows.append((n, r["uuid"], till.firm_id, till.shop_id, till.id, r["kind"], r["status"], r["number"],
                                 r.get("shift_uuid") or "", r.get("return_of"), _wall(r["created_at"]), closed,
                                 _business_date(r, closed), now, r.get("cashier", ""), r.get("seller", ""), r.get("card_number"),
                                 r.get("card_rate_bp", 0), r["amount"], r["discount"], r["total"], r["cash"], r["card"],
                                 r.get("cash_given", 0), r.get("change", 0), r.get("comment", "")))
                    lines += [(n, ln["line_no"], ln["code"], ln["name"], ln.get("barcode", ""), ln["price"],
                               ln["quantity"], ln["storno"], ln["amount"], ln["discount"], ln["total"], ln["final_price"],
                               ln["vat"], ln["vat_amount"], ln.get("marks", "")) for ln in r["lines"]]
                ids = _allocate_ids(conn, receipts, len(new))
                if ids is None:  # an engine with no known way to reserve keys: one insert per receipt
                    ids = [conn.execute(insert(receipts).values(dict(zip(_RECEIPT_COLUMNS[1:], row[1:]))))
                           .inserted_primary_key[0] for row in rows]
                else:
                    _bulk_insert(conn, receipts, _RECEIPT_COLUMNS, [(ids[row[0]], *row[1:]) for row in rows])
                _bulk_insert(conn, receipt_lines, _LINE_COLUMNS, [(ids[line[0]], *line[1:]) for line in lines])
            conn.execute(update(tills).where(tills.c.id == till.id).values(last_contact=now))
        return {"accepted": uuids, "stored": len(new), "duplicates": len(batch) - len(new)}

    def ingest_z(self, till: TillId, reports: list[dict[str, Any]]) -> dict[str, Any]:
        """Store Z reports, refusing the whole call (naming the report) when one's lines miss its totals."""
        for i, z in enumerate(reports):
            _check_z(till, z, i)
        now = self.clock()
        stored = 0
        with writing(self.engine) as conn:
            for i, z in enumerate(reports):
                owner = conn.execute(select(z_reports.c.till_id).where(z_reports.c.uuid == z["uuid"])).first()
                if owner is not None:
                    if owner.till_id != till.id:
                        raise Conflict("foreign_z", "Z-отчёт с этим UUID прислала другая касса",
                                       "A Z report with this UUID came from another till", field=f"reports[{i}].uuid")
                    continue
                values = {k: _wall(z[k]) if isinstance(z[k], datetime) else z[k] for k in _Z_FIELDS}
                z_id = conn.execute(insert(z_reports).values(
                    uuid=z["uuid"], firm_id=till.firm_id, shop_id=till.shop_id, till_id=till.id, received_at=now,
                    exported_at=None, **values)).inserted_primary_key[0]
                if z["lines"]:
                    conn.execute(insert(z_lines), [{"z_id": z_id, **{k: zl[k] for k in _ZLINE_FIELDS}} for zl in z["lines"]])
                stored += 1
            conn.execute(update(tills).where(tills.c.id == till.id).values(last_contact=now))
        return {"accepted": [z["uuid"] for z in reports], "stored": stored, "duplicates": len(reports) - stored}

    # --- tills: what they download ----------------------------------------------------------------------

    def price_for_till(self, till: TillId, since: int = 0, known_list: str | None = None) -> dict[str, Any]:
        """The till's price list: everything, or only what changed after ``since`` (with deletions)."""
        with reading(self.engine) as conn:
            row = conn.execute(
                select(price_lists).join(tills, tills.c.price_list_id == price_lists.c.id).where(tills.c.id == till.id)
            ).first()
            if row is None or row.version == 0:  # no list, or one never loaded: the till keeps what it has
                return {"list": None, "version": 0, "full": True, "unchanged": True, "rows": [], "deleted": []}
            full = since <= 0 or since > row.version or known_list != row.name
            if not full and since == row.version:
                result = {"list": row.name, "version": row.version, "full": False, "unchanged": True, "rows": [], "deleted": []}
            else:
                stmt = select(price_items).where(price_items.c.price_list_id == row.id)
                if full:
                    stmt = stmt.where(price_items.c.deleted.is_(False))
                else:
                    stmt = stmt.where(price_items.c.version > since)
                rows, deleted = [], []
                for item in conn.execute(stmt.order_by(price_items.c.id)):
                    if item.deleted:
                        deleted.append(item.code)
                    else:
                        rows.append(_price_row_view(item))
                result = {"list": row.name, "version": row.version, "full": full, "unchanged": False,
                          "rows": rows, "deleted": deleted}
        if known_list == row.name and 0 < since <= row.version:
            with writing(self.engine) as conn:  # what the till confirms having
                conn.execute(update(tills).where(tills.c.id == till.id).values(price_version=since))
        return result

    def variables_for_till(self, till: TillId, since: int = -1) -> dict[str, Any]:
        with reading(self.engine) as conn:
            version = conn.execute(select(firms.c.variables_version).where(firms.c.id == till.firm_id)).scalar_one()
            if since == version:
                return {"version": version, "unchanged": True, "variables": {}}
            found = dict(conn.execute(select(variables.c.name, variables.c.value)
                                      .where(variables.c.firm_id == till.firm_id)).all())
        return {"version": version, "unchanged": False, "variables": found}

    def promotions_for_till(self, till: TillId, since: int = -1) -> dict[str, Any]:
        today = self.clock().date()
        with reading(self.engine) as conn:
            version = conn.execute(select(firms.c.promotions_version).where(firms.c.id == till.firm_id)).scalar_one()
            if since == version:
                return {"version": version, "unchanged": True, "promotions": [], "goods_lists": {}}
            rows = conn.execute(select(promotions).where(
                promotions.c.firm_id == till.firm_id, promotions.c.active.is_(True),
                (promotions.c.date_to.is_(None)) | (promotions.c.date_to >= today),
            ).order_by(promotions.c.id)).all()
            lists = {name: json.loads(codes) for name, codes in conn.execute(
                select(goods_lists.c.name, goods_lists.c.codes).where(goods_lists.c.firm_id == till.firm_id))}
            groups = self._place_groups(conn, till.firm_id)
        chosen = [_promotion_view(p) for p in rows if _targets(p.places, till.idplace) and _place_in_text(p, till.idplace, groups)]
        return {"version": version, "unchanged": False, "promotions": chosen, "goods_lists": lists}

    # --- catalogue, variables, promotions: the firm side --------------------------------------------------

    def push_price_list(self, actor: Actor | None, regid: str, name: str, price_file: PriceFile) -> dict[str, Any]:
        """Load a price list (replace or upsert, as its header says); unchanged rows keep their version.

        The header's stock mode works on the list's stored stock as a till's own import works on its
        catalogue (``clear`` overwrites, ``keep`` leaves an item's stock alone, ``add`` adds a delivery;
        an item new to the list takes the file's stock): the tills then get the resulting stock.
        A VAT rate or "no discount" mark the file leaves unknown (a ``.spr`` has neither) is kept as the
        list holds it (:func:`~icecash.core.pricefile.merge_held`); an item new to the list stores None,
        and a till keeps its own value or takes its default, as its own import does.
        """
        _check(_LIST_NAME, name, "name", "Имя прайса", "Price list name")
        if price_file.header.replace_catalogue and not any(row.is_item for row in price_file.rows):
            raise InvalidInput("empty_replacement", "Прайс заменяет список, но в нём нет ни одного товара: ничего не изменено",
                               "The price file replaces the list but holds no item: nothing changed", field="file")
        by_code: dict[str, list[list[Any]]] = {}
        for extra in price_file.extra_barcodes:
            by_code.setdefault(extra.item_code, []).append([extra.barcode, extra.name, extra.price, extra.coefficient])
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            list_id = self._price_list_id(conn, firm_id, name, create=True)
            version = conn.execute(select(price_lists.c.version).where(price_lists.c.id == list_id)).scalar_one() + 1
            held = {r.code: r for r in conn.execute(
                select(price_items.c.id, price_items.c.code, price_items.c.deleted,
                       *[price_items.c[f] for f in PRICE_FIELDS]).where(price_items.c.price_list_id == list_id))}
            replace = price_file.header.replace_catalogue
            inserts, updates = [], []
            in_file: set[str] = set()
            for row in price_file.rows:
                in_file.add(row.code)
                old = held.get(row.code)
                extras = by_code.get(row.code)
                if extras is None:
                    extras = [] if replace or old is None else json.loads(old.extras)
                values = price_row_values(row, extras)
                if old is not None and not old.deleted:
                    merge_held(values, row, old, price_file.header.stock_mode)
                if old is None:
                    inserts.append({"price_list_id": list_id, "code": row.code, "deleted": False, "version": version, **values})
                elif old.deleted or any(getattr(old, f) != values[f] for f in PRICE_FIELDS):
                    updates.append({"item_id": old.id, "deleted": False, "version": version, **values})
            for code, extras in by_code.items():  # upsert: extra barcodes for items already on the server
                if code not in in_file:
                    old = held.get(code)
                    if old is None or old.deleted:
                        raise InvalidInput("unknown_item", f"Товар {code} не найден для доп. штрихкода",
                                           f"Item {code} of an extra barcode is not in the list", field="id")
                    updates.append({"item_id": old.id, "deleted": False, "version": version,
                                    **{f: getattr(old, f) for f in PRICE_FIELDS},
                                    "extras": json.dumps(extras, ensure_ascii=False, separators=(",", ":"))})
            gone = [old.id for code, old in held.items() if replace and code not in in_file and not old.deleted]
            if inserts:
                conn.execute(insert(price_items), inserts)
            if updates:
                conn.execute(update(price_items).where(price_items.c.id == bindparam("item_id"))
                             .values({k: bindparam(k) for k in ("deleted", "version", *PRICE_FIELDS)}), updates)
            for start in range(0, len(gone), 500):
                conn.execute(update(price_items).where(price_items.c.id.in_(gone[start:start + 500]))
                             .values(deleted=True, version=version))
            changed = len(inserts) + len(updates) + len(gone)
            if changed:
                conn.execute(update(price_lists).where(price_lists.c.id == list_id)
                             .values(version=version, updated_at=self.clock()))
            else:
                version -= 1
        return {"list": name, "version": version, "added": len(inserts), "changed": len(updates), "deleted": len(gone)}

    def set_variable(self, actor: Actor | None, regid: str, name: str, value: str | None) -> int:
        """Set (or with ``None`` delete) a replicated variable; returns the firm's new variables version."""
        _check(_VAR_NAME, name, "name", "Имя переменной", "Variable name")
        if value is not None:
            value = _text(str(value), "value", 4096)
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            current = conn.execute(select(variables.c.value).where(variables.c.firm_id == firm_id,
                                                                   variables.c.name == name)).first()
            if value is None:
                if current is None:
                    raise NotFound("unknown_variable", f"Переменной {name} нет", f"No variable {name}", field="name")
                conn.execute(delete(variables).where(variables.c.firm_id == firm_id, variables.c.name == name))
            elif current is None:
                conn.execute(insert(variables).values(firm_id=firm_id, name=name, value=value, updated_at=self.clock()))
            elif current.value != value:
                conn.execute(update(variables).where(variables.c.firm_id == firm_id, variables.c.name == name)
                             .values(value=value, updated_at=self.clock()))
            else:
                return conn.execute(select(firms.c.variables_version).where(firms.c.id == firm_id)).scalar_one()
            return self._bump(conn, firm_id, "variables_version")

    def list_variables(self, actor: Actor, regid: str) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            return [{"name": r.name, "value": r.value, "updated_at": r.updated_at.isoformat()} for r in conn.execute(
                select(variables).where(variables.c.firm_id == firm_id).order_by(variables.c.name))]

    def save_promotion(self, actor: Actor | None, regid: str, data: dict[str, Any], promotion_id: int | None = None) -> int:
        """Create or change a promotion (stored as text: the engine that evaluates it lives on the till)."""
        values = _promotion_values(data)
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            _check_promotion_text(values, conn, firm_id)
            values["updated_at"] = self.clock()
            if promotion_id is None:
                promotion_id = conn.execute(insert(promotions).values(firm_id=firm_id, **values)).inserted_primary_key[0]
            else:
                done = conn.execute(update(promotions).where(promotions.c.id == promotion_id,
                                                             promotions.c.firm_id == firm_id).values(**values))
                if not done.rowcount:
                    raise NotFound("unknown_promotion", "Акция не найдена", "No such promotion", field="id")
            self._bump(conn, firm_id, "promotions_version")
            return promotion_id

    def delete_promotion(self, actor: Actor | None, regid: str, promotion_id: int) -> None:
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            done = conn.execute(delete(promotions).where(promotions.c.id == promotion_id, promotions.c.firm_id == firm_id))
            if not done.rowcount:
                raise NotFound("unknown_promotion", "Акция не найдена", "No such promotion", field="id")
            self._bump(conn, firm_id, "promotions_version")

    def list_promotions(self, actor: Actor, regid: str) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            return [_promotion_view(p) for p in conn.execute(
                select(promotions).where(promotions.c.firm_id == firm_id).order_by(promotions.c.id))]

    def set_goods_list(self, actor: Actor | None, regid: str, name: str, codes: list[str] | None) -> None:
        _check(_LIST_NAME, name, "name", "Имя списка товаров", "Goods list name")
        if codes is not None:
            for i, code in enumerate(codes):
                if not isinstance(code, str) or not re.fullmatch(r"[0-9A-Za-z_\-]{1,32}", code):
                    raise _bad(f"codes[{i}]", f"Код товара {code!r} недопустим", f"Item code {code!r} is not allowed")
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            if codes is None:
                _refuse_if_used(conn, firm_id, goods_list=name)
            conn.execute(delete(goods_lists).where(goods_lists.c.firm_id == firm_id, goods_lists.c.name == name))
            if codes is not None:
                conn.execute(insert(goods_lists).values(firm_id=firm_id, name=name, codes=json.dumps(sorted(set(codes)))))
            self._bump(conn, firm_id, "promotions_version")

    def list_goods_lists(self, actor: Actor, regid: str) -> dict[str, list[str]]:
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            return {n: json.loads(c) for n, c in conn.execute(
                select(goods_lists.c.name, goods_lists.c.codes).where(goods_lists.c.firm_id == firm_id)
                .order_by(goods_lists.c.name))}

    # --- place groups and till groups ---------------------------------------------------------------------

    def set_place_group(self, actor: Actor | None, regid: str, name: str, idplaces: list[int] | None) -> None:
        """A named set of shops (``IF_PLACE_IN GROUPS (name)`` targets it); ``None`` deletes it."""
        _check(_LIST_NAME, name, "name", "Имя группы точек", "Place group name")
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            members: list[int] = []
            for i, idplace in enumerate(idplaces or []):
                if not isinstance(idplace, int) or conn.execute(select(shops.c.id).where(
                        shops.c.firm_id == firm_id, shops.c.idplace == idplace)).first() is None:
                    raise NotFound("unknown_shop", f"Точки {idplace!r} нет", f"No shop {idplace!r}", field=f"idplaces[{i}]")
                members.append(idplace)
            if idplaces is None:
                _refuse_if_used(conn, firm_id, place_group=name)
            conn.execute(delete(place_groups).where(place_groups.c.firm_id == firm_id, place_groups.c.name == name))
            if idplaces is not None:
                conn.execute(insert(place_groups).values(firm_id=firm_id, name=name, idplaces=json.dumps(sorted(set(members)))))
            self._bump(conn, firm_id, "promotions_version")  # what each till gets may change

    def set_till_group(self, actor: Actor | None, regid: str, name: str, members: list[tuple[int, int]] | None) -> None:
        """A named set of tills, ``[(idplace, nkassa), …]``; ``None`` deletes it."""
        _check(_LIST_NAME, name, "name", "Имя группы касс", "Till group name")
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            for i, (idplace, nkassa) in enumerate(members or []):
                found = conn.execute(select(tills.c.id).join(shops, shops.c.id == tills.c.shop_id).where(
                    tills.c.firm_id == firm_id, shops.c.idplace == idplace, tills.c.nkassa == nkassa)).first()
                if found is None:
                    raise NotFound("unknown_till", f"Кассы {idplace}/{nkassa} нет", f"No till {idplace}/{nkassa}",
                                   field=f"members[{i}]")
            conn.execute(delete(till_groups).where(till_groups.c.firm_id == firm_id, till_groups.c.name == name))
            if members is not None:
                clean = sorted({(int(a), int(b)) for a, b in members})
                conn.execute(insert(till_groups).values(firm_id=firm_id, name=name, members=json.dumps(clean)))

    def groups_of(self, actor: Actor, regid: str) -> dict[str, dict[str, list[Any]]]:
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            return {
                "place_groups": self._place_groups(conn, firm_id),
                "till_groups": {n: json.loads(m) for n, m in conn.execute(
                    select(till_groups.c.name, till_groups.c.members).where(till_groups.c.firm_id == firm_id)
                    .order_by(till_groups.c.name))},
            }

    def bind_till_group(self, actor: Actor | None, regid: str, group: str, price_list: str) -> int:
        """Bind every till of a till group to a named price list; how many were bound."""
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            if actor is not None:
                actor.require_firm(firm_id, write=True)
            members = conn.execute(select(till_groups.c.members).where(till_groups.c.firm_id == firm_id,
                                                                       till_groups.c.name == group)).scalar()
            if members is None:
                raise NotFound("unknown_group", f"Группы касс {group} нет", f"No till group {group}", field="group")
            list_id = self._price_list_id(conn, firm_id, price_list, create=True)
            bound = 0
            for idplace, nkassa in json.loads(members):
                shop_id = self._shop_id(conn, firm_id, idplace)
                bound += conn.execute(update(tills).where(tills.c.shop_id == shop_id, tills.c.nkassa == nkassa)
                                      .values(price_list_id=list_id)).rowcount
            return bound

    def _place_groups(self, conn: Connection, firm_id: int) -> dict[str, list[int]]:
        return {n: json.loads(m) for n, m in conn.execute(
            select(place_groups.c.name, place_groups.c.idplaces).where(place_groups.c.firm_id == firm_id)
            .order_by(place_groups.c.name))}

    # --- back office (1C) ---------------------------------------------------------------------------------

    def z_list(self, actor: Actor, regid: str, date_from: date | None = None, date_to: date | None = None,
               exported: bool | None = None, limit: int = 500) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            stmt = _z_select().where(z_reports.c.firm_id == firm_id)
            if date_from:
                stmt = stmt.where(z_reports.c.accounting_date >= date_from)
            if date_to:
                stmt = stmt.where(z_reports.c.accounting_date <= date_to)
            if exported is not None:
                stmt = stmt.where(z_reports.c.exported_at.is_not(None) if exported else z_reports.c.exported_at.is_(None))
            rows = conn.execute(stmt.order_by(z_reports.c.accounting_date, z_reports.c.id).limit(limit)).all()
            return [_z_view(r) for r in rows]

    def z_one(self, actor: Actor, regid: str, z_uuid: str) -> dict[str, Any]:
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            row = conn.execute(_z_select().where(z_reports.c.firm_id == firm_id, z_reports.c.uuid == z_uuid)).first()
            if row is None:
                raise NotFound("unknown_z", "Z-отчёт не найден", "No such Z report", field="uuid")
            view = _z_view(row)
            view["lines"] = [{k: zl[k] for k in ("code", "name", *_ZLINE_FIELDS[2:])} for zl in conn.execute(
                select(z_lines).where(z_lines.c.z_id == row.id).order_by(z_lines.c.id)).mappings()]
            return view

    def mark_exported(self, actor: Actor, regid: str, z_uuids: list[str], exported: bool = True) -> int:
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id, write=True)
            found = set(conn.execute(select(z_reports.c.uuid).where(z_reports.c.firm_id == firm_id,
                                                                    z_reports.c.uuid.in_(z_uuids))).scalars())
            missing = [u for u in z_uuids if u not in found]
            if missing:
                raise NotFound("unknown_z", f"Z-отчёт {missing[0]} не найден", f"No Z report {missing[0]}", field="uuids")
            return conn.execute(update(z_reports).where(z_reports.c.firm_id == firm_id, z_reports.c.uuid.in_(z_uuids))
                                .values(exported_at=self.clock() if exported else None)).rowcount

    def receipts_page(self, actor: Actor, regid: str, *, date_from: date | None = None, date_to: date | None = None,
                      idplace: int | None = None, nkassa: int | None = None, after: int = 0, limit: int = 100,
                      with_lines: bool = True, code: str | None = None, number: int | None = None) -> dict[str, Any]:
        """Receipts in id order after ``after`` (keyset paging: stable while new ones arrive)."""
        limit = max(1, min(limit, 1000))
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            stmt = (select(receipts, shops.c.idplace, tills.c.nkassa)
                    .join(shops, shops.c.id == receipts.c.shop_id).join(tills, tills.c.id == receipts.c.till_id)
                    .where(receipts.c.firm_id == firm_id, receipts.c.id > after))
            if date_from:
                stmt = stmt.where(receipts.c.business_date >= date_from)
                # ids grow with arrival: no receipt of date_from or later has an id below the first such one,
                # so the id-ordered scan may start there instead of at the firm's very first receipt
                # (min of id + 0: an expression, so the planner walks the date index, not every id from the first)
                first = conn.execute(select(func.min(receipts.c.id + 0)).where(
                    receipts.c.firm_id == firm_id, receipts.c.business_date >= date_from)).scalar()
                if first is not None and first - 1 > after:
                    stmt = stmt.where(receipts.c.id >= first)
            if date_to:
                stmt = stmt.where(receipts.c.business_date <= date_to)
            if idplace is not None:
                stmt = stmt.where(shops.c.idplace == idplace)
            if nkassa is not None:
                stmt = stmt.where(tills.c.nkassa == nkassa)
            if number is not None:
                stmt = stmt.where(receipts.c.number == number)
            if code:
                stmt = stmt.where(receipts.c.id.in_(select(receipt_lines.c.receipt_id).where(receipt_lines.c.code == code)))
            rows = conn.execute(stmt.order_by(receipts.c.id).limit(limit)).all()
            views = [_receipt_view(r) for r in rows]
            if with_lines and rows:
                by_id = {r.id: v for r, v in zip(rows, views)}
                for v in views:
                    v["lines"] = []
                for ln in conn.execute(select(receipt_lines).where(receipt_lines.c.receipt_id.in_(list(by_id)))
                                       .order_by(receipt_lines.c.receipt_id, receipt_lines.c.line_no)):
                    by_id[ln.receipt_id]["lines"].append(_line_view(ln))
        return {"receipts": views, "next_after": rows[-1].id if len(rows) == limit else None}

    def receipt_one(self, actor: Actor, regid: str, receipt_uuid: str) -> dict[str, Any]:
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            row = conn.execute(select(receipts, shops.c.idplace, tills.c.nkassa)
                               .join(shops, shops.c.id == receipts.c.shop_id).join(tills, tills.c.id == receipts.c.till_id)
                               .where(receipts.c.firm_id == firm_id, receipts.c.uuid == receipt_uuid)).first()
            if row is None:
                raise NotFound("unknown_receipt", "Чек не найден", "No such receipt", field="uuid")
            view = _receipt_view(row)
            view["lines"] = [_line_view(ln) for ln in conn.execute(
                select(receipt_lines).where(receipt_lines.c.receipt_id == row.id).order_by(receipt_lines.c.line_no))]
            return view

    # --- files --------------------------------------------------------------------------------------------

    def put_file(self, actor: Actor, regid: str, name: str, content: bytes) -> dict[str, Any]:
        name = _file_name(name)
        if len(content) > MAX_FILE_SIZE:
            raise InvalidInput("file_too_large", f"Файл больше {MAX_FILE_SIZE} байт", f"File over {MAX_FILE_SIZE} bytes",
                               field="file")
        digest = hashlib.sha256(content).hexdigest()
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id, write=True)
            conn.execute(delete(files).where(files.c.firm_id == firm_id, files.c.name == name))
            count = conn.execute(select(func.count()).select_from(files).where(files.c.firm_id == firm_id)).scalar_one()
            if count >= MAX_FILES_PER_FIRM:
                raise Conflict("too_many_files", f"У фирмы уже {count} файлов", f"The firm already has {count} files",
                               field="file")
            conn.execute(insert(files).values(firm_id=firm_id, name=name, size=len(content), sha256=digest,
                                              content=content, uploaded_at=self.clock()))
        return {"name": name, "size": len(content), "sha256": digest}

    def get_file(self, actor: Actor, regid: str, name: str) -> tuple[bytes, str]:
        name = _file_name(name)
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            row = conn.execute(select(files.c.content, files.c.sha256).where(files.c.firm_id == firm_id,
                                                                             files.c.name == name)).first()
        if row is None:
            raise NotFound("unknown_file", f"Файла {name} нет", f"No file {name}", field="name")
        return row.content, row.sha256

    def list_files(self, actor: Actor, regid: str) -> list[dict[str, Any]]:
        with reading(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id)
            return [{"name": r.name, "size": r.size, "sha256": r.sha256, "uploaded_at": r.uploaded_at.isoformat()}
                    for r in conn.execute(select(files.c.name, files.c.size, files.c.sha256, files.c.uploaded_at)
                                          .where(files.c.firm_id == firm_id).order_by(files.c.name))]

    def delete_file(self, actor: Actor, regid: str, name: str) -> None:
        name = _file_name(name)
        with writing(self.engine) as conn:
            firm_id = self._firm_id(conn, regid)
            actor.require_firm(firm_id, write=True)
            if not conn.execute(delete(files).where(files.c.firm_id == firm_id, files.c.name == name)).rowcount:
                raise NotFound("unknown_file", f"Файла {name} нет", f"No file {name}", field="name")

    # --- reading for the admin pages and reports ----------------------------------------------------------

    def firms_for(self, actor: Actor) -> list[Any]:
        stmt = select(firms).order_by(firms.c.regid)
        if not actor.is_operator:
            stmt = stmt.where(firms.c.id == actor.firm_id)
        with reading(self.engine) as conn:
            return conn.execute(stmt).all()

    def firm(self, actor: Actor, regid: str) -> Any:
        with reading(self.engine) as conn:
            row = conn.execute(select(firms).where(firms.c.regid == regid)).first()
        if row is None:
            raise NotFound("unknown_firm", "Фирма не найдена", "No such firm", field="regid")
        actor.require_firm(row.id)
        return row

    def shops_of(self, actor: Actor, regid: str) -> list[Any]:
        firm = self.firm(actor, regid)
        with reading(self.engine) as conn:
            return conn.execute(select(shops).where(shops.c.firm_id == firm.id).order_by(shops.c.idplace)).all()

    def tills_of(self, actor: Actor, regid: str) -> list[dict[str, Any]]:
        firm = self.firm(actor, regid)
        now = self.clock()
        with reading(self.engine) as conn:
            rows = conn.execute(
                select(tills, shops.c.idplace, shops.c.name.label("shop_name"), price_lists.c.name.label("price_list"),
                       price_lists.c.version.label("list_version"))
                .join(shops, shops.c.id == tills.c.shop_id)
                .outerjoin(price_lists, price_lists.c.id == tills.c.price_list_id)
                .where(tills.c.firm_id == firm.id).order_by(shops.c.idplace, tills.c.nkassa)).all()
        return [{
            "idplace": r.idplace, "shop_name": r.shop_name, "nkassa": r.nkassa, "name": r.name,
            "online": r.last_contact is not None and (now - r.last_contact).total_seconds() <= ONLINE_SECONDS,
            "last_contact": r.last_contact.isoformat() + "Z" if r.last_contact else None, "version": r.version,
            "printer": r.printer, "backlog": r.backlog, "clock_skew_s": r.clock_skew_s, "price_list": r.price_list,
            "price_version": r.price_version, "list_version": r.list_version, "active": bool(r.active),
        } for r in rows]

    def price_lists_of(self, actor: Actor, regid: str) -> list[dict[str, Any]]:
        firm = self.firm(actor, regid)
        with reading(self.engine) as conn:
            counts = dict(conn.execute(
                select(price_items.c.price_list_id, func.count()).join(price_lists, price_lists.c.id == price_items.c.price_list_id)
                .where(price_lists.c.firm_id == firm.id, price_items.c.deleted.is_(False))
                .group_by(price_items.c.price_list_id)).all())
            return [{"name": r.name, "version": r.version, "updated_at": r.updated_at.isoformat(), "rows": counts.get(r.id, 0)}
                    for r in conn.execute(select(price_lists).where(price_lists.c.firm_id == firm.id)
                                          .order_by(price_lists.c.name))]

    def price_items_of(self, actor: Actor, regid: str, name: str, query: str = "", limit: int = 200) -> list[dict[str, Any]]:
        firm = self.firm(actor, regid)
        with reading(self.engine) as conn:
            list_id = self._price_list_id(conn, firm.id, name)
            stmt = select(price_items).where(price_items.c.price_list_id == list_id, price_items.c.deleted.is_(False))
            if query:
                like = f"%{query.replace('%', '').replace('_', '')}%"
                stmt = stmt.where(price_items.c.name.like(like) | (price_items.c.code == query) | (price_items.c.barcode == query))
            return [{"code": r.code, **_price_row_view(r)} for r in conn.execute(stmt.order_by(price_items.c.id).limit(limit))]

    def revenue(self, actor: Actor, regid: str, date_from: date, date_to: date, by: str = "day") -> list[dict[str, Any]]:
        """Sales, returns and revenue of paid receipts, per day, shop or till."""
        firm = self.firm(actor, regid)
        key = {"day": [receipts.c.business_date], "shop": [shops.c.idplace, shops.c.name],
               "till": [shops.c.idplace, tills.c.nkassa]}.get(by)
        if key is None:
            raise _bad("by", "Группировка: day, shop или till", "Group by: day, shop or till")
        sale = receipts.c.kind == "sale"
        stmt = (select(*key, func.count().label("receipts"),
                       func.sum(_case(sale, receipts.c.total)).label("sales"),
                       func.sum(_case(~sale, receipts.c.total)).label("returns"),
                       func.sum(_case(sale, receipts.c.cash, -receipts.c.cash)).label("cash"),
                       func.sum(_case(sale, receipts.c.card, -receipts.c.card)).label("card"))
                .select_from(receipts).join(shops, shops.c.id == receipts.c.shop_id).join(tills, tills.c.id == receipts.c.till_id)
                .where(receipts.c.firm_id == firm.id, receipts.c.status == "paid",
                       receipts.c.business_date >= date_from, receipts.c.business_date <= date_to)
                .group_by(*key).order_by(*key))
        with reading(self.engine) as conn:
            out = []
            for r in conn.execute(stmt):
                m = r._mapping
                row = {("date" if c.name == "business_date" else c.name): (m[c.name].isoformat() if isinstance(m[c.name], date) else m[c.name])
                       for c in key}
                sales, returns = int(m["sales"] or 0), int(m["returns"] or 0)
                row.update(receipts=int(m["receipts"]), sales=sales, returns=returns, revenue=sales - returns,
                           cash=int(m["cash"] or 0), card=int(m["card"] or 0))
                out.append(row)
            return out

    def top_items(self, actor: Actor, regid: str, date_from: date, date_to: date, limit: int = 50) -> list[dict[str, Any]]:
        firm = self.firm(actor, regid)
        sign = _case(receipts.c.kind == "sale", 1, -1)
        stmt = (select(receipt_lines.c.code, func.max(receipt_lines.c.name).label("name"),
                       func.sum(receipt_lines.c.quantity * sign).label("quantity"),
                       func.sum(receipt_lines.c.total * sign).label("total"))
                .join(receipts, receipts.c.id == receipt_lines.c.receipt_id)
                .where(receipts.c.firm_id == firm.id, receipts.c.status == "paid", receipt_lines.c.storno.is_(False),
                       receipts.c.business_date >= date_from, receipts.c.business_date <= date_to)
                .group_by(receipt_lines.c.code).order_by(func.sum(receipt_lines.c.total * sign).desc()).limit(limit))
        with reading(self.engine) as conn:
            return [{"code": r.code, "name": r.name, "quantity": int(r.quantity or 0), "total": int(r.total or 0)}
                    for r in conn.execute(stmt)]

    def totals(self, actor: Actor, regid: str) -> dict[str, int]:
        """Counts and money of everything stored for a firm (tests and the firm page)."""
        firm = self.firm(actor, regid)
        with reading(self.engine) as conn:
            r = conn.execute(select(func.count(), func.coalesce(func.sum(receipts.c.total), 0))
                             .where(receipts.c.firm_id == firm.id)).one()
            z = conn.execute(select(func.count(), func.coalesce(func.sum(z_reports.c.revenue), 0))
                             .where(z_reports.c.firm_id == firm.id)).one()
        return {"receipts": int(r[0]), "receipts_total": int(r[1]), "z_reports": int(z[0]), "z_revenue": int(z[1])}

    # --- internals ----------------------------------------------------------------------------------------

    def _bump(self, conn: Connection, firm_id: int, column: str) -> int:
        conn.execute(update(firms).where(firms.c.id == firm_id).values({column: firms.c[column] + 1}))
        return conn.execute(select(firms.c[column]).where(firms.c.id == firm_id)).scalar_one()

    def _firm_id(self, conn: Connection, regid: str) -> int:
        found = conn.execute(select(firms.c.id).where(firms.c.regid == regid)).scalar()
        if found is None:
            raise NotFound("unknown_firm", f"Фирма {regid!r} не найдена", f"No firm {regid!r}", field="regid")
        return found

    def _shop_id(self, conn: Connection, firm_id: int, idplace: int) -> int:
        found = conn.execute(select(shops.c.id).where(shops.c.firm_id == firm_id, shops.c.idplace == idplace)).scalar()
        if found is None:
            raise NotFound("unknown_shop", f"Точка {idplace} не найдена", f"No shop {idplace}", field="idplace")
        return found

    def _price_list_id(self, conn: Connection, firm_id: int, name: str, create: bool = False) -> int:
        found = conn.execute(select(price_lists.c.id).where(price_lists.c.firm_id == firm_id,
                                                            price_lists.c.name == name)).scalar()
        if found is None:
            if not create:
                raise NotFound("unknown_price_list", f"Прайса {name} нет", f"No price list {name}", field="name")
            _check(_LIST_NAME, name, "price_list", "Имя прайса", "Price list name")
            found = conn.execute(insert(price_lists).values(firm_id=firm_id, name=name, version=0,
                                                            updated_at=self.clock())).inserted_primary_key[0]
        return found

    def _till_row(self, conn: Connection, actor: Actor | None, regid: str, idplace: int, nkassa: int,
                  write: bool = False) -> Any:
        firm_id = self._firm_id(conn, regid)
        if actor is not None:
            actor.require_firm(firm_id, write=write)
        shop_id = self._shop_id(conn, firm_id, idplace)
        row = conn.execute(select(tills).where(tills.c.shop_id == shop_id, tills.c.nkassa == nkassa)).first()
        if row is None:
            raise NotFound("unknown_till", f"Кассы {nkassa} нет", f"No till {nkassa}", field="nkassa")
        return row


# --- bulk writing -------------------------------------------------------------------------------------------

_RECEIPT_COLUMNS = ("id", "uuid", "firm_id", "shop_id", "till_id", "kind", "status", "number", "shift_uuid", "return_of",
                    "created_at", "closed_at", "business_date", "received_at", "cashier", "seller", "card_number",
                    "card_rate_bp", "amount", "discount", "total", "cash", "card", "cash_given", "change", "comment")
_LINE_COLUMNS = ("receipt_id", "line_no", "code", "name", "barcode", "price", "quantity", "storno", "amount", "discount",
                 "total", "final_price", "vat", "vat_amount", "marks")


def _allocate_ids(conn: Connection, table: Any, count: int) -> list[int] | None:
    """``count`` new primary keys for ``table``, known before the insert (so lines can point to them).

    SQLite: the write transaction (BEGIN IMMEDIATE) holds the only writer's lock, so max(id) + 1…
    is ours. PostgreSQL: taken from the table's sequence, safe with concurrent writers.
    """
    if conn.dialect.name == "postgresql":
        sequence = f"{table.name}_id_seq"
        return list(conn.exec_driver_sql(
            f"SELECT nextval('{sequence}') FROM generate_series(1, {int(count)})").scalars())
    if conn.dialect.name == "sqlite":
        top = conn.execute(select(func.max(table.c.id))).scalar() or 0
        return list(range(top + 1, top + 1 + count))
    return None


def _bulk_insert(conn: Connection, table: Any, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Many rows straight to the driver's executemany: SQLAlchemy's per-row parameter work costs
    more than the insert itself at 500 lines a batch (see bench/server_ingest.py)."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        timed = [i for i, v in enumerate(rows[0]) if isinstance(v, date)]
        if timed:  # SQLAlchemy's text forms of times, so that its queries compare alike
            changed = []
            for row in rows:
                values = list(row)
                for i in timed:
                    values[i] = _sqlite_time(values[i])
                changed.append(tuple(values))
            rows = changed
    elif conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        # COPY: several times the rate of row-by-row INSERTs, in the same transaction
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    elif conn.dialect.name == "postgresql":
        marks = ", ".join(["%s"] * len(columns))
    else:
        conn.execute(insert(table), [dict(zip(columns, row)) for row in rows])
        return
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', rows)


def _sqlite_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return f"{value.isoformat(' ', 'microseconds')}"
    if isinstance(value, date):
        return value.isoformat()
    return value


def _retryable(exc: Exception, dbapi: Any) -> bool:
    """A unique-key clash or a deadlock between two writers: the whole transaction may simply run again."""
    if isinstance(exc, IntegrityError) or isinstance(exc, dbapi.IntegrityError):  # COPY raises the driver's own
        return True
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) in ("40001", "40P01"):  # PostgreSQL: serialization failure, deadlock
        return True
    args = getattr(orig, "args", ())
    return bool(args) and args[0] in (1213, 1205)  # MariaDB/MySQL: deadlock, lock wait timeout


def _wall(value: datetime) -> datetime:
    """The till's wall clock as it printed it: any zone dropped."""
    return value.replace(tzinfo=None) if value.tzinfo is not None else value


def _business_date(receipt: dict[str, Any], closed: datetime) -> date:
    """The trading day a receipt belongs to: the till's own (its ``begin_time`` rule), or, from a till
    that does not send it, the same rule with the default ``begin_time`` (06:00)."""
    return receipt.get("business_date") or accounting_date(closed)


def _check_trading_day(day: date | None, closed_at: datetime, field: str) -> None:
    """A trading day is the closing date or, closed before the day began, the day before: nothing else."""
    if day is None:
        return
    closed = _wall(closed_at).date()
    if day not in (closed, closed - timedelta(days=1)):
        raise _bad(field, f"Торговый день {day.isoformat()} не подходит к дате закрытия {closed.isoformat()}: "
                          "нужен день закрытия или предыдущий",
                   f"Trading day {day.isoformat()} does not fit the closing date {closed.isoformat()}: "
                   "expected the closing date or the day before", code="bad_trading_day")


# --- checks and views -------------------------------------------------------------------------------------


def _case(cond: Any, then: Any, otherwise: Any = 0) -> Any:
    from sqlalchemy import case

    return case((cond, then), else_=otherwise)


def _text(value: str, field: str, max_len: int) -> str:
    if not isinstance(value, str) or len(value) > max_len or any(ord(c) < 32 and c not in "\n\t\r" for c in value):
        raise _bad(field, f"{field}: текст длиннее {max_len} символов или с управляющими символами",
                   f"{field}: text longer than {max_len} characters or with control characters")
    return value


def _positive(value: int, field: str, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= hi:
        raise _bad(field, f"{field}: нужно целое число от 1 до {hi}", f"{field}: expected a whole number from 1 to {hi}")


def _file_name(name: str) -> str:
    """A file name with no path in it: letters, digits, ``_.- `` and spaces; no leading dot."""
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name) or ".." in name or name.strip() != name:
        raise _bad("name", f"Имя файла {name!r} недопустимо (без путей, до 128 символов)",
                   f"File name {name!r} is not allowed (no paths, up to 128 characters)", code="bad_file_name")
    return name


def _check_receipt(till: TillId, r: dict[str, Any], i: int) -> None:
    where = f"receipts[{i}]"
    if r["idplace"] != till.idplace or r["nkassa"] != till.nkassa:
        raise Forbidden("foreign_receipt", "Чек другой точки или кассы: касса шлёт только свои чеки",
                        "A receipt of another shop or till: a till sends only its own", field=f"{where}.idplace")
    lines_total = sum(ln["total"] for ln in r["lines"])
    if lines_total != r["total"]:
        raise _bad(f"{where}.total", f"Сумма строк {lines_total} коп. не равна итогу чека {r['total']} коп.",
                   f"Lines sum to {lines_total} kopecks, not the receipt total {r['total']}", code="lines_mismatch")
    if r["status"] == "paid" and r["cash"] + r["card"] != r["total"]:
        raise _bad(f"{where}.cash", "Наличные и карта не дают итог чека", "Cash and card do not add up to the total",
                   code="payment_mismatch")
    if r["status"] == "cancelled" and (r["cash"] or r["card"]):
        raise _bad(f"{where}.cash", "В отменённом чеке нет оплаты", "A cancelled receipt has no payment",
                   code="payment_mismatch")
    numbers = [ln["line_no"] for ln in r["lines"]]
    if len(set(numbers)) != len(numbers):
        raise _bad(f"{where}.lines", "Номера строк повторяются", "Line numbers repeat", code="duplicate_line")
    _check_trading_day(r.get("business_date"), r["closed_at"], f"{where}.business_date")


_Z_FIELDS = ("number", "opened_at", "closed_at", "accounting_date", "sales_count", "returns_count", "cancels_count",
             "sales_total", "returns_total", "cancels_total", "cash", "card", "sales_discount", "returns_discount",
             "cash_in", "cash_out", "revenue")
_ZLINE_FIELDS = ("code", "name", "sold_quantity", "sold_total", "returned_quantity", "returned_total")


def _check_z(till: TillId, z: dict[str, Any], i: int) -> None:
    where = f"reports[{i}]"
    if z["idplace"] != till.idplace or z["nkassa"] != till.nkassa:
        raise Forbidden("foreign_z", "Z-отчёт другой точки или кассы", "A Z report of another shop or till",
                        field=f"{where}.idplace")
    sold = sum(zl["sold_total"] for zl in z["lines"])
    returned = sum(zl["returned_total"] for zl in z["lines"])
    if sold != z["sales_total"]:
        raise _bad(f"{where}.sales_total", f"Строки Z-отчёта дают продажи {sold} коп., а в итоге {z['sales_total']} коп.",
                   f"The Z lines sum to sales of {sold} kopecks, its total says {z['sales_total']}", code="z_mismatch")
    if returned != z["returns_total"]:
        raise _bad(f"{where}.returns_total",
                   f"Строки Z-отчёта дают возвраты {returned} коп., а в итоге {z['returns_total']} коп.",
                   f"The Z lines sum to returns of {returned} kopecks, its total says {z['returns_total']}", code="z_mismatch")
    if z["revenue"] != z["sales_total"] - z["returns_total"]:
        raise _bad(f"{where}.revenue", "Выручка не равна продажам минус возвраты", "Revenue is not sales less returns",
                   code="z_mismatch")
    _check_trading_day(z["accounting_date"], z["closed_at"], f"{where}.accounting_date")


def _check_promotion_text(values: dict[str, Any], conn: Connection, firm_id: int) -> None:
    """Refuse a promotion the till could not run, naming the text, line and column (the promotions
    engine's own parser, with the firm's goods lists and place groups as the known names)."""
    from icecash.core.promo import parse_promotion

    lists = set(conn.execute(select(goods_lists.c.name).where(goods_lists.c.firm_id == firm_id)).scalars())
    groups = set(conn.execute(select(place_groups.c.name).where(place_groups.c.firm_id == firm_id)).scalars())
    parse_promotion(0, values["name"], values["if_text"], values["then_text"], date_from=values["date_from"],
                    date_to=values["date_to"], time_from=values["time_from"], time_to=values["time_to"],
                    weekdays=values["weekdays"], goods_lists=lists, place_groups=groups)


def _refuse_if_used(conn: Connection, firm_id: int, goods_list: str | None = None, place_group: str | None = None) -> None:
    """A goods list or place group that a saved promotion names cannot go: the till could not run it."""
    from icecash.core.promo import PromoSyntaxError, parse_promotion

    lists = set(conn.execute(select(goods_lists.c.name).where(goods_lists.c.firm_id == firm_id)).scalars()) - {goods_list}
    groups = set(conn.execute(select(place_groups.c.name).where(place_groups.c.firm_id == firm_id)).scalars()) - {place_group}
    for p in conn.execute(select(promotions).where(promotions.c.firm_id == firm_id).order_by(promotions.c.id)):
        try:
            parse_promotion(p.id, p.name, p.if_text, p.then_text, goods_lists=lists, place_groups=groups)
        except PromoSyntaxError as exc:
            if exc.code in ("unknown_goods_list", "unknown_place_group"):
                what_ru, it, what_en = (("список товаров", "его", "goods list") if goods_list
                                        else ("группу точек", "её", "place group"))
                raise Conflict("in_use", f"Нельзя удалить {what_ru} «{goods_list or place_group}»: {it} называет акция «{p.name}»",
                               f"Cannot delete the {what_en} {goods_list or place_group!r}: promotion {p.name!r} names it",
                               field="name", promotion_id=p.id) from None


def _place_in_text(p: Any, idplace: int, groups: dict[str, list[int]]) -> bool:
    """``IF_PLACE_IN`` in the promotion's text: evaluated here, so a till gets only its own promotions."""
    if "IF_PLACE_IN" not in (p.if_text or ""):
        return True
    from icecash.core.promo import PromoSyntaxError, parse_promotion, targets_place

    try:
        parsed = parse_promotion(p.id, p.name, p.if_text, p.then_text)
    except PromoSyntaxError:
        return True  # saved before the check existed: the till reports it, the server does not hide it
    return targets_place(parsed, str(idplace), {name: [str(i) for i in members] for name, members in groups.items()})


def _targets(places: str, idplace: int) -> bool:
    wanted = [p.strip() for p in (places or "").split(",") if p.strip()]
    return not wanted or str(idplace) in wanted


def _promotion_values(data: dict[str, Any]) -> dict[str, Any]:
    name = _text(str(data.get("name", "")).strip(), "name", 128)
    if not name:
        raise _bad("name", "Нужно название акции", "A promotion needs a name")
    out: dict[str, Any] = {"name": name}
    for key in ("date_from", "date_to"):
        value = data.get(key)
        if value in (None, ""):
            out[key] = None
        elif isinstance(value, date):
            out[key] = value
        else:
            try:
                out[key] = date.fromisoformat(str(value))
            except ValueError:
                raise _bad(key, f"{key}: нужна дата ГГГГ-ММ-ДД", f"{key}: expected a date YYYY-MM-DD") from None
    if out["date_from"] and out["date_to"] and out["date_from"] > out["date_to"]:
        raise _bad("date_to", "Дата окончания раньше начала", "The end date is before the start")
    for key, default in (("time_from", "00:00:00"), ("time_to", "23:59:59")):
        value = str(data.get(key) or default).strip()
        try:
            from datetime import time as _time

            out[key] = _time.fromisoformat(value).isoformat()
        except ValueError:
            raise _bad(key, f"{key}: нужно время ЧЧ:ММ[:СС]", f"{key}: expected a time HH:MM[:SS]") from None
    weekdays = str(data.get("weekdays") or "1111111")
    if not re.fullmatch(r"[01]{7}", weekdays):
        raise _bad("weekdays", "Дни недели: 7 знаков 0/1, с понедельника", "Weekdays: 7 characters 0/1, Monday first")
    out["weekdays"] = weekdays
    out["active"] = bool(data.get("active", True))
    places = str(data.get("places") or "").replace(" ", "")
    if places and not re.fullmatch(r"\d{1,9}(,\d{1,9})*", places):
        raise _bad("places", "Точки: номера через запятую (пусто — все)", "Places: numbers separated by commas (empty: all)")
    out["places"] = places
    out["if_text"] = _text(str(data.get("if_text") or ""), "if_text", 20_000)
    out["then_text"] = _text(str(data.get("then_text") or ""), "then_text", 20_000)
    return out


def _promotion_view(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "date_from": p.date_from.isoformat() if p.date_from else None,
            "date_to": p.date_to.isoformat() if p.date_to else None, "time_from": p.time_from, "time_to": p.time_to,
            "weekdays": p.weekdays, "active": bool(p.active), "places": p.places, "if_text": p.if_text,
            "then_text": p.then_text}


def _maybe_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _as_is(value: Any) -> Any:
    return value


# How a stored price item's field goes on the wire (flags stored as integers by some databases); others as stored.
_PRICE_FIELD_VIEW: dict[str, Callable[[Any], Any]] = {
    "is_item": bool, "weighed": bool, "alcohol": bool, "no_discount": _maybe_bool, "extras": json.loads,
}


def _price_row_view(item: Any) -> dict[str, Any]:
    return {"code": item.code, **{f: _PRICE_FIELD_VIEW.get(f, _as_is)(getattr(item, f)) for f in PRICE_FIELDS}}


def _actor(row: Any, csrf: str) -> Actor:
    return Actor(row.id, row.login, row.name, row.role, row.firm_id, csrf)


def _z_select() -> Any:
    return (select(z_reports, shops.c.idplace, tills.c.nkassa)
            .join(shops, shops.c.id == z_reports.c.shop_id).join(tills, tills.c.id == z_reports.c.till_id))


def _z_view(r: Any) -> dict[str, Any]:
    view = {"uuid": r.uuid, "idplace": r.idplace, "nkassa": r.nkassa}
    for key in _Z_FIELDS:
        value = getattr(r, key)
        view[key] = value.isoformat() if isinstance(value, (date, datetime)) else value
    view["received_at"] = r.received_at.isoformat() + "Z"
    view["exported_at"] = r.exported_at.isoformat() + "Z" if r.exported_at else None
    return view


def _receipt_view(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "uuid": r.uuid, "idplace": r.idplace, "nkassa": r.nkassa, "kind": r.kind, "status": r.status,
        "number": r.number, "shift_uuid": r.shift_uuid, "return_of": r.return_of, "created_at": r.created_at.isoformat(),
        "closed_at": r.closed_at.isoformat(), "business_date": r.business_date.isoformat(),
        "received_at": r.received_at.isoformat() + "Z", "cashier": r.cashier, "seller": r.seller,
        "card_number": r.card_number, "card_rate_bp": r.card_rate_bp, "amount": r.amount, "discount": r.discount,
        "total": r.total, "cash": r.cash, "card": r.card, "cash_given": r.cash_given, "change": r.change,
        "comment": r.comment,
    }


def _line_view(ln: Any) -> dict[str, Any]:
    return {k: (bool(getattr(ln, k)) if k == "storno" else getattr(ln, k)) for k in (
        "line_no", "code", "name", "barcode", "price", "quantity", "storno", "amount", "discount", "total", "final_price",
        "vat", "vat_amount", "marks")}


__all__ = ["Actor", "FailureLimiter", "RateLimited", "Server", "TillId", "Unauthenticated", "utcnow", "and_"]
