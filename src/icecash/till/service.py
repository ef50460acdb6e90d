"""The till's use-cases: receipts from first line to payment, returns, cash moves, X and Z.

Every use-case runs in one database transaction: it either happens whole or not at all, and a
receipt is on disk from its first line. Role checks happen here too, so no entry point (HTTP,
CLI, a future UI) can skip them.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update

from icecash.core.barcodes import ScanKind, ScanRules, classify_scan
from icecash.core.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
import re

from icecash.core.money import MAX_MONEY, format_money, format_quantity, line_amount
from icecash.core.receipt import (
    ItemSnapshot,
    LineInput,
    ReceiptKind,
    calculate,
    refund,
    return_total,
    settle,
    validate_card_rate,
    validate_manual_discount,
    validate_price,
    validate_quantity,
    validate_return_quantity,
    validate_scale_label,
)
from icecash.core.roles import Role
from icecash.core.vat import VatRate, vat_included
from icecash.core.zreport import (
    ReceiptStatus,
    ReceiptSummary,
    ShiftAge,
    ShiftTotals,
    SummaryLine,
    accounting_date,
    compute_shift_totals,
    shift_age,
)
from icecash.security import hash_password, new_token, token_digest, verify_password
from icecash.store.db import Prepared, Record, reading, writing

from . import catalogue as cat
from .printing import refuse_if_printing
from .promotions import LINES_WITH_PROMOTIONS, TillPromotions, reasons_view, refuse_if_added
from .settings import DEFAULTS, SPEC_BY_NAME, validate_changes
from .tables import (
    cash_moves,
    discount_cards,
    idempotency_keys,
    receipt_lines,
    receipts,
    sessions,
    settings,
    shifts,
    users,
    z_lines,
    z_reports,
)

SESSION_LIFETIME_HOURS = 12
SESSION_CACHE_SIZE = 1024  # live sessions kept in memory; all dropped when full
MAX_LINES = 500


@dataclass(frozen=True)
class User:
    id: int
    login: str
    name: str
    role: Role
    theme: str
    language: str
    csrf_token: str = ""
    session_kind: str = "api"

    def require(self, role: Role, action_ru: str, action_en: str) -> None:
        if self.role < role:
            raise Forbidden(
                "forbidden",
                f"Недостаточно прав: {action_ru} доступно с роли «{role.label_ru}»",
                f"Not allowed: {action_en} needs the {role.name.lower()} role",
                field="role",
            )


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _user_of(row: Any, session_row: Any = None) -> User:
    return User(
        id=row.id,
        login=row.login,
        name=row.name,
        role=Role(row.role),
        theme=row.theme,
        language=row.language,
        csrf_token=session_row.csrf_token if session_row is not None else "",
        session_kind=session_row.kind if session_row is not None else "api",
    )


class Till:
    """The till's application layer over its database."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = _now):
        self.engine = engine
        self.clock = clock
        self._settings: dict[str, str] | None = None
        self._settings_lock = threading.Lock()
        # Live sessions already checked against the database: token digest -> (user, expires_at).
        # Logout and every change to a user (password, role, deactivation...) drop that user's
        # entries at once; expiry is checked on every use. See authenticate().
        self._sessions: dict[str, tuple[User, datetime]] = {}
        self._sessions_lock = threading.Lock()
        self._sessions_generation = 0
        self.promotions = TillPromotions()  # the set the sync agent downloaded (icecash.till.promotions)

    # --- settings --------------------------------------------------------------------------------

    def ensure_settings(self) -> None:
        """Write every declared setting that is missing (first start, or a new version's new ones)."""
        with writing(self.engine) as conn:
            present = set(conn.execute(select(settings.c.name)).scalars())
            missing = [
                {"name": spec.name, "group": spec.group, "value": spec.default}
                for spec in SPEC_BY_NAME.values()
                if spec.name not in present
            ]
            if missing:
                conn.execute(insert(settings), missing)
        self._settings = None

    def settings(self) -> dict[str, str]:
        cached = self._settings
        if cached is None:
            with self._settings_lock, reading(self.engine) as conn:
                stored = {name: value for name, value in conn.execute(select(settings.c.name, settings.c.value))}
                cached = {**DEFAULTS, **stored}
                self._settings = cached
        return cached

    def update_settings(self, user: User | None, changes: dict[str, Any]) -> dict[str, str]:
        """All changes valid or none stored; ``user`` None only from the operator's command line."""
        if user is not None:
            user.require(Role.ADMIN, "изменение настроек", "changing settings")
        clean = validate_changes(changes)
        with writing(self.engine) as conn:
            for name, value in clean.items():
                spec = SPEC_BY_NAME[name]
                updated = conn.execute(update(settings).where(settings.c.name == name).values(value=value))
                if not updated.rowcount:
                    conn.execute(insert(settings).values(name=name, group=spec.group, value=value))
        self._settings = None
        return self.settings()

    def scan_rules(self) -> ScanRules:
        s = self.settings()
        return ScanRules.from_settings(
            scale=s["scale_prefix"], user=s["user_prefix"], discount=s["discount_prefix"], bonus=s["bonus_prefix"]
        )

    # --- users and sessions ----------------------------------------------------------------------

    def create_user(self, actor: User | None, login: str, password: str, role: Role, name: str = "",
                    code: str | None = None, theme: str = "light", language: str = "ru") -> int:
        """A new user; ``actor`` None only from the command line, which the operator runs."""
        if actor is not None:
            actor.require(Role.ADMIN, "управление пользователями", "managing users")
        _check_login(login)
        _check_password(password)
        with writing(self.engine) as conn:
            if conn.execute(select(users.c.id).where(users.c.login == login)).first():
                raise Conflict("login_taken", f"Логин {login!r} уже занят", f"Login {login!r} is taken", field="login")
            if code and conn.execute(select(users.c.id).where(users.c.code == code)).first():
                raise Conflict("code_taken", "Код пользователя уже занят", "User code is taken", field="code")
            return conn.execute(
                insert(users).values(
                    login=login, password_hash=hash_password(password), role=int(role), name=name or login,
                    code=code or None, theme=theme, language=language, active=True, created_at=self.clock(),
                )
            ).inserted_primary_key[0]

    def update_user(self, actor: User, user_id: int, changes: dict[str, Any]) -> None:
        """Admins change anyone; everyone may change their own password, theme and language."""
        own = set(changes) <= {"password", "theme", "language"} and user_id == actor.id
        if not own:
            actor.require(Role.ADMIN, "управление пользователями", "managing users")
        values: dict[str, Any] = {}
        if "password" in changes:
            _check_password(changes["password"])
            values["password_hash"] = hash_password(changes["password"])
        if "role" in changes:
            values["role"] = int(changes["role"])
        for name in ("name", "theme", "language", "active"):
            if name in changes:
                values[name] = changes[name]
        if "code" in changes:
            values["code"] = changes["code"] or None
        with writing(self.engine) as conn:
            if not conn.execute(select(users.c.id).where(users.c.id == user_id)).first():
                raise NotFound("unknown_user", "Пользователь не найден", "No such user", field="user_id")
            if values.get("code") and conn.execute(
                select(users.c.id).where(users.c.code == values["code"], users.c.id != user_id)
            ).first():
                raise Conflict("code_taken", "Код пользователя уже занят", "User code is taken", field="code")
            if values:
                conn.execute(update(users).where(users.c.id == user_id).values(**values))
            if "password" in changes or changes.get("active") is False:
                conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            self._forget_sessions(user_id=user_id)
        self._forget_sessions(user_id=user_id)  # again once committed: see _forget_sessions

    def has_users(self) -> bool:
        with reading(self.engine) as conn:
            return conn.execute(select(users.c.id).limit(1)).first() is not None

    def list_users(self, actor: User) -> list[Any]:
        actor.require(Role.ADMIN, "управление пользователями", "managing users")
        with reading(self.engine) as conn:
            return conn.execute(select(users).order_by(users.c.login)).all()

    def login(self, login: str, password: str, kind: str = "api") -> tuple[str, User]:
        """A new session token for the right password; the same refusal for any wrong pair."""
        with reading(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.login == login, users.c.active.is_(True))).first()
        if not verify_password(row.password_hash if row else None, password):
            raise InvalidInput("bad_credentials", "Неверный логин или пароль", "Wrong login or password", field="password")
        return self._open_session(row, kind)

    def login_by_code(self, code: str, kind: str = "browser") -> tuple[str, User]:
        with reading(self.engine) as conn:
            row = conn.execute(select(users).where(users.c.code == code, users.c.active.is_(True))).first()
        if row is None:
            raise InvalidInput("bad_credentials", "Карта пользователя не найдена", "Unknown user card", field="code")
        return self._open_session(row, kind)

    def _open_session(self, row: Any, kind: str) -> tuple[str, User]:
        token = new_token()
        csrf = new_token()
        now = self.clock()
        with writing(self.engine) as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(
                insert(sessions).values(
                    token_hash=token_digest(token), user_id=row.id, kind=kind, csrf_token=csrf, created_at=now,
                    expires_at=now + _hours(SESSION_LIFETIME_HOURS),
                )
            )
        return token, _user_of(row, _Session(csrf, kind))

    def authenticate(self, token: str) -> User | None:
        """The user of a live session, or None; from the session cache when it holds the token."""
        digest = token_digest(token)
        user = self._cached_session(digest)
        if user is not None:
            return user
        generation = self._sessions_generation  # read before the snapshot: see _forget_sessions
        with reading(self.engine) as conn:
            found = conn.execute(_SESSION_USER, {"token_hash": digest}).first()
        if found is None or found.expires_at < self.clock():
            return None
        user = _user_of(found, found)
        with self._sessions_lock:
            if generation == self._sessions_generation:
                if len(self._sessions) >= SESSION_CACHE_SIZE:
                    self._sessions.clear()
                self._sessions[digest] = (user, found.expires_at)
        return user

    def cached_session(self, token: str) -> User | None:
        """The user of a live session the cache holds, without the database; None: ask authenticate()."""
        return self._cached_session(token_digest(token))

    def _cached_session(self, digest: str) -> User | None:
        cached = self._sessions.get(digest)
        if cached is None or cached[1] < self.clock():  # expired: as the database would answer
            return None
        return cached[0]

    def _forget_sessions(self, *, user_id: int | None = None, digest: str | None = None) -> None:
        """Drop cached sessions (of a user, or one token) so the next request asks the database.

        Called inside the transaction that ends them and again after its commit. The generation
        bump keeps a look-up that read the database before the commit from caching what it saw.
        """
        with self._sessions_lock:
            self._sessions_generation += 1
            if digest is not None:
                self._sessions.pop(digest, None)
            if user_id is not None:
                for key in [key for key, (user, _) in self._sessions.items() if user.id == user_id]:
                    del self._sessions[key]

    def logout(self, token: str) -> None:
        digest = token_digest(token)
        with writing(self.engine) as conn:
            conn.execute(delete(sessions).where(sessions.c.token_hash == digest))
            self._forget_sessions(digest=digest)
        self._forget_sessions(digest=digest)  # again once committed: see _forget_sessions

    # --- catalogue ---------------------------------------------------------------------------------

    def import_price_file(self, user: User | None, price_file: Any, progress: cat.Progress | None = None) -> dict[str, int]:
        if user is not None:
            user.require(Role.ADMIN, "загрузка каталога", "importing the catalogue")
        with writing(self.engine) as conn:
            return cat.import_price_file(conn, price_file, self.settings()["default_vat"], progress)

    def add_discount_card(self, user: User | None, number: str, rate_bp: int, name: str = "", text: str = "",
                          closed: bool = False) -> None:
        """Create or replace a card; a closed card stays on file and is refused at the till."""
        if user is not None:
            user.require(Role.ADMIN, "управление картами", "managing cards")
        validate_card_rate(rate_bp)
        with writing(self.engine) as conn:
            conn.execute(delete(discount_cards).where(discount_cards.c.number == number))
            conn.execute(insert(discount_cards).values(number=number, rate_bp=rate_bp, name=name, text=text, closed=closed))

    def discount_cards(self, user: User) -> list[Any]:
        user.require(Role.CASHIER, "просмотр карт", "viewing cards")
        with reading(self.engine) as conn:
            return conn.execute(select(discount_cards).order_by(discount_cards.c.number)).all()

    # --- the current receipt ---------------------------------------------------------------------

    def current(self, user: User) -> dict[str, Any] | None:
        with reading(self.engine) as conn:
            row = _current_row(conn, user)
            return self._view(conn, row) if row is not None else None

    def open(self, user: User) -> dict[str, Any]:
        with writing(self.engine) as conn:
            return self._view(conn, self._current_or_new(conn, user))

    def scan(self, user: User, text: str, quantity: int | None = None) -> dict[str, Any]:
        """What the scanner read: a scale barcode, a card, or an item barcode."""
        scan = classify_scan(text, self.scan_rules())
        if scan.kind is ScanKind.DISCOUNT_CARD:
            return self.set_card(user, scan.text)
        if scan.kind is ScanKind.BONUS_CARD:
            raise Conflict(
                "no_bonus_service",
                "Бонусная карта: бонусный сервис не настроен",
                "Bonus card: no bonus service configured",
                field="barcode",
            )
        if scan.kind is ScanKind.USER_CARD:
            raise InvalidInput(
                "user_card", "Это карта пользователя: используйте её на экране входа",
                "This is a user card: use it on the login screen", field="barcode",
            )
        if scan.kind is ScanKind.SCALE:
            try:
                return self.add_line(user, code=scan.item_code, quantity=scan.quantity, scanned=scan.text)
            except DomainError as exc:
                if exc.field in ("code", "quantity"):  # the cashier scanned a label, not typed a code
                    exc.field = "barcode"
                raise
        return self.add_line(user, barcode=scan.text, quantity=quantity)

    def add_line(self, user: User, *, code: str | None = None, barcode: str | None = None,
                 quantity: int | None = None, price: int | None = None, price_option: str | None = None,
                 scanned: str | None = None) -> dict[str, Any]:
        if (code is None) == (barcode is None):
            raise InvalidInput("code_or_barcode", "Укажите код или штрихкод товара", "Give an item code or a barcode", field="code")
        with writing(self.engine) as conn:
            receipt, new_receipt = self._current_or_new_in_shift(conn, user)
            if barcode is not None:
                if scanned is None:
                    classify_scan(barcode, ScanRules((), (), (), ()))  # check digit and length
                row, extra = cat.item_by_barcode(conn, barcode)
                # an extra barcode sells its pack (price, limits, name); the item's own, a chosen price
                item = cat.snapshot_of(row, extra) if extra is not None else self._chosen_item(conn, row, price_option, quantity)
            else:
                row = cat.item_by_code(conn, code)
                item = self._chosen_item(conn, row, price_option, quantity, scale_label=scanned is not None)
            qty = quantity if quantity is not None else 1000
            validate_quantity(item, qty)
            base_price = unit_price = item.price
            price_changed = False
            if price is not None:
                validate_price(item, price)
                unit_price, price_changed = price, price != base_price
            if unit_price <= 0:
                raise InvalidInput(
                    "price_required", f"У «{item.name}» нет цены: введите цену", f"'{item.name}' has no price: enter one",
                    field="price",
                )
            _refuse_absurd_amount(receipt.amount, line_amount(unit_price, qty), "quantity" if quantity is not None else "price")
            lines = [] if new_receipt else _LINES_OF_RECEIPT.all(conn, {"receipt_id": receipt.id})  # by line_no
            if len(lines) >= MAX_LINES:
                raise Conflict("too_many_lines", f"В чеке не более {MAX_LINES} строк", f"At most {MAX_LINES} lines per receipt", field="lines")
            line_no = max((ln.line_no for ln in lines if not ln.promo_added), default=0) + 1  # promotions' lines follow
            snapshot = cat.snapshot_to_json(item)
            new_line = {
                "receipt_id": receipt.id, "line_no": line_no, "code": item.code, "name": item.name,
                "snapshot": snapshot, "price": unit_price, "quantity": qty, "price_changed": price_changed,
                "vat": item.vat.value,
            }
            return self._recalculated(conn, receipt, selected=line_no, lines=lines, new_line=new_line)

    def _chosen_item(self, conn: Connection, row: Any, option: str | None, quantity: int | None,
                     scale_label: bool = False) -> ItemSnapshot:
        """What a line of ``row`` sells: the item, or for a multi-price item the chosen option (its pack).

        Without an option a multi-price item is refused with its options, its ``item_code`` and the
        ``quantity`` asked for (a scale label's weight), to be sent back with the pick.
        """
        base = cat.snapshot_of(row)
        if scale_label:  # a scale label sells weighed goods only, even at 1.000 kg
            validate_scale_label(base)
        choices = cat.price_choices(conn, row, base)
        if not choices:
            return base
        if option is None:
            raise Conflict(
                "choose_price", f"У «{row.name}» несколько цен: выберите одну", f"'{row.name}' has several prices: pick one",
                field="price_option", options=[{**o, "price": format_money(o["price"])} for o, _ in choices],
                item_code=row.code, quantity=format_quantity(quantity) if quantity is not None else None,
            )
        for candidate, item in choices:
            if candidate["option"] == str(option):
                return item
        raise InvalidInput("bad_price_option", f"Нет варианта цены {option!r}", f"No price option {option!r}", field="price_option")

    def change_line(self, user: User, line_no: int, *, quantity: int | None = None, price: int | None = None,
                    discount_bp: int | None = None) -> dict[str, Any]:
        with writing(self.engine) as conn:
            receipt = self._current_for_change(conn, user)
            line = _line(conn, receipt.id, line_no)
            refuse_if_added(conn, line)
            if line.storno:
                raise Conflict("line_cancelled", "Строка сторнирована", "The line is cancelled (storno)", field="line_no")
            item = cat.snapshot_from_json(line.snapshot)
            values: dict[str, Any] = {}
            if quantity is not None or price is not None or discount_bp is not None:
                self._refuse_if_shift_expired(conn)
            if quantity is not None:
                validate_quantity(item, quantity)
                values.update(quantity=quantity, quantity_changed=True)
            if price is not None:
                validate_price(item, price)
                values.update(price=price, price_changed=price != item.price)
            if discount_bp is not None:
                probe = LineInput(item, values.get("quantity", line.quantity), values.get("price", line.price))
                values["manual_discount_bp"] = validate_manual_discount(probe, discount_bp, field_name="discount_percent")
            elif values and line.manual_discount_bp:
                probe = LineInput(item, values.get("quantity", line.quantity), values.get("price", line.price))
                validate_manual_discount(probe, line.manual_discount_bp, field_name="price" if price is not None else "quantity")
            if values:
                new_amount = line_amount(values.get("price", line.price), values.get("quantity", line.quantity))
                _refuse_absurd_amount(receipt.amount - line.amount, new_amount, "price" if price is not None else "quantity")
                conn.execute(update(receipt_lines).where(receipt_lines.c.id == line.id).values(**values))
            return self._recalculated(conn, receipt, selected=line_no)

    def storno(self, user: User, line_no: int) -> dict[str, Any]:
        with writing(self.engine) as conn:
            receipt = self._current_for_change(conn, user)
            line = _line(conn, receipt.id, line_no)
            refuse_if_added(conn, line)
            if not line.storno:
                conn.execute(update(receipt_lines).where(receipt_lines.c.id == line.id).values(storno=True))
            return self._recalculated(conn, receipt, selected=line_no)

    def select_line(self, user: User, line_no: int) -> dict[str, Any]:
        with writing(self.engine) as conn:
            receipt = self._current_for_change(conn, user)
            _line(conn, receipt.id, line_no)
            conn.execute(update(receipts).where(receipts.c.id == receipt.id).values(selected_line=line_no))
            return self._view(conn, _receipt_by_id(conn, receipt.id))

    def set_card(self, user: User, number: str) -> dict[str, Any]:
        with writing(self.engine) as conn:
            card = conn.execute(select(discount_cards).where(discount_cards.c.number == number)).first()
            if card is None:
                raise NotFound("unknown_card", f"Дисконтная карта {number} не найдена", f"Discount card {number} not found", field="card")
            if card.closed:
                raise Conflict("card_closed", f"Дисконтная карта {number} закрыта", f"Discount card {number} is closed", field="card")
            self._refuse_if_shift_expired(conn)
            receipt = self._current_or_new(conn, user)
            refuse_if_printing(conn, receipt.id)
            conn.execute(
                update(receipts).where(receipts.c.id == receipt.id).values(card_number=number, card_rate_bp=card.rate_bp)
            )
            return self._recalculated(conn, _receipt_by_id(conn, receipt.id))

    def clear_card(self, user: User) -> dict[str, Any]:
        with writing(self.engine) as conn:
            receipt = self._current_for_change(conn, user)
            conn.execute(update(receipts).where(receipts.c.id == receipt.id).values(card_number=None, card_rate_bp=0))
            return self._recalculated(conn, _receipt_by_id(conn, receipt.id))

    def defer(self, user: User) -> dict[str, Any]:
        with writing(self.engine) as conn:
            receipt = self._current_for_change(conn, user)
            if not _live_line_count(conn, receipt.id):
                raise Conflict("empty_receipt", "Чек пуст: откладывать нечего", "The receipt is empty: nothing to defer", field="lines")
            conn.execute(
                update(receipts).where(receipts.c.id == receipt.id)
                .values(status=ReceiptStatus.DEFERRED.value, version=receipts.c.version + 1)
            )
            return self._view(conn, _receipt_by_id(conn, receipt.id))

    def deferred(self, user: User) -> list[dict[str, Any]]:
        """Deferred receipts: a seller sees their own, a cashier and up see all."""
        with reading(self.engine) as conn:
            stmt = select(receipts).where(receipts.c.status == ReceiptStatus.DEFERRED.value)
            if user.role < Role.CASHIER:
                stmt = stmt.where(receipts.c.seller_id == user.id)
            rows = conn.execute(stmt.order_by(receipts.c.created_at)).all()
            return [self._view(conn, row, with_lines=False) for row in rows]

    def load_deferred(self, user: User, receipt_uuid: str) -> dict[str, Any]:
        with writing(self.engine) as conn:
            row = _receipt_by_uuid(conn, receipt_uuid)
            if row.status != ReceiptStatus.DEFERRED.value:
                raise Conflict("not_deferred", "Этот чек не отложен", "This receipt is not deferred", field="uuid")
            if user.role < Role.CASHIER and row.seller_id != user.id:
                raise Forbidden("forbidden", "Продавец может загрузить только свой чек", "A seller may load only their own receipt", field="uuid")
            current = _current_row(conn, user)
            if current is not None:
                if _live_line_count(conn, current.id):
                    raise Conflict(
                        "receipt_in_progress", "Сначала закончите или отложите текущий чек",
                        "Finish or defer the current receipt first", field="uuid",
                    )
                # Only storno lines (or none) left: cancelled as by cancel(), so the storno stays on record.
                refuse_if_printing(conn, current.id)
                self._cancel_or_drop(conn, user, current)
            conn.execute(
                update(receipts).where(receipts.c.id == row.id)
                .values(status=ReceiptStatus.OPEN.value, owner_id=user.id, version=receipts.c.version + 1)
            )
            return self._view(conn, _receipt_by_id(conn, row.id))

    def cancel(self, user: User) -> dict[str, Any] | None:
        """Cancel the current receipt: kept as a cancelled receipt and counted in the Z."""
        with writing(self.engine) as conn:
            receipt = self._current_for_change(conn, user)
            if not self._cancel_or_drop(conn, user, receipt):
                return None
            return self._view(conn, _receipt_by_id(conn, receipt.id))

    def _cancel_or_drop(self, conn: Connection, user: User, receipt: Any) -> bool:
        """Close ``receipt`` as cancelled by ``user`` (True), or delete it when it has no line at all (False).

        A line cancelled by storno still counts: a scanned-then-stornoed sale must leave its trace
        (a numbered cancelled receipt, uploaded and counted in the Z).
        """
        if not conn.execute(select(func.count()).where(receipt_lines.c.receipt_id == receipt.id)).scalar_one():
            conn.execute(delete(receipts).where(receipts.c.id == receipt.id))
            return False
        shift = self._shift_for_money(conn)
        conn.execute(
            update(receipts).where(receipts.c.id == receipt.id).values(
                status=ReceiptStatus.CANCELLED.value, number=_next_number(conn), shift_id=shift.id, closed_at=self.clock(),
                cashier_id=user.id, upload_state="pending", version=receipts.c.version + 1,
            )
        )
        return True

    def pay(self, user: User, cash: int = 0, card: int = 0, expected_version: int | None = None) -> dict[str, Any]:
        user.require(Role.CASHIER, "приём оплаты", "taking payment")
        with writing(self.engine) as conn:
            receipt = _current_row(conn, user)
            if receipt is None:
                raise Conflict("empty_receipt", "Чек пуст: нечего оплачивать", "The receipt is empty: nothing to pay", field="lines")
            refuse_if_printing(conn, receipt.id)
            if expected_version is not None and expected_version != receipt.version:
                raise Conflict(
                    "receipt_changed", "Чек изменился после показа суммы: проверьте и оплатите снова",
                    "The receipt changed since its total was shown: check it and pay again", field="expected_version",
                )
            self._refuse_if_shift_expired(conn)
            payment = settle(receipt.total, cash, card)
            shift = self._shift_for_money(conn)
            _PAY_RECEIPT.execute(conn, {
                "receipt_id": receipt.id, "new_number": _next_number(conn), "new_shift_id": shift.id,
                "new_closed_at": self.clock(), "new_cashier_id": user.id, "new_cash": payment.cash, "new_card": payment.card,
                "new_cash_given": payment.cash_given, "new_change": payment.change,
            })
            return self._view(conn, _receipt_by_id(conn, receipt.id))

    # --- finished receipts -------------------------------------------------------------------------

    def receipt(self, user: User, receipt_uuid: str) -> dict[str, Any]:
        with reading(self.engine) as conn:
            row = _receipt_by_uuid(conn, receipt_uuid)
            if user.role < Role.CASHIER and row.seller_id != user.id:
                raise Forbidden("forbidden", "Продавец видит только свои чеки", "A seller sees only their own receipts", field="uuid")
            return self._view(conn, row)

    def find_receipts(self, user: User, *, date_from: date | None = None, date_to: date | None = None,
                      number: int | None = None, kind: str | None = None, status: str | None = None,
                      limit: int = 50, offset: int = 0, payment: str | None = None, card_number: str | None = None,
                      total: int | None = None) -> list[dict[str, Any]]:
        """Finished receipts, newest first; ``payment`` is 'cash', 'card' or 'mixed', ``total`` in kopecks."""
        user.require(Role.CASHIER, "просмотр чеков", "browsing receipts")
        stmt = select(receipts).where(receipts.c.status.in_([ReceiptStatus.PAID.value, ReceiptStatus.CANCELLED.value]))
        if date_from:
            stmt = stmt.where(receipts.c.closed_at >= datetime.combine(date_from, time.min))
        if date_to:
            stmt = stmt.where(receipts.c.closed_at <= datetime.combine(date_to, time.max))
        if number is not None:
            stmt = stmt.where(receipts.c.number == number)
        if kind:
            stmt = stmt.where(receipts.c.kind == ReceiptKind(kind).value)
        if status:
            stmt = stmt.where(receipts.c.status == ReceiptStatus(status).value)
        if payment == "cash":
            stmt = stmt.where(receipts.c.cash != 0, receipts.c.card == 0)
        elif payment == "card":
            stmt = stmt.where(receipts.c.card != 0, receipts.c.cash == 0)
        elif payment == "mixed":
            stmt = stmt.where(receipts.c.cash != 0, receipts.c.card != 0)
        if card_number:
            stmt = stmt.where(receipts.c.card_number == card_number)
        if total is not None:
            stmt = stmt.where(receipts.c.total == total)
        stmt = stmt.order_by(receipts.c.id.desc()).limit(min(limit, 200)).offset(offset)
        with reading(self.engine) as conn:
            return [self._view(conn, row, with_lines=False) for row in conn.execute(stmt).all()]

    def last_receipt(self, user: User) -> dict[str, Any]:
        """The last finished receipt of this till, for a copy."""
        user.require(Role.CASHIER, "копия чека", "a receipt copy")
        with reading(self.engine) as conn:
            row = conn.execute(
                select(receipts).where(receipts.c.status == ReceiptStatus.PAID.value).order_by(receipts.c.id.desc()).limit(1)
            ).first()
            if row is None:
                raise NotFound("no_receipts", "Ещё нет ни одного чека", "There is no receipt yet", field="receipt")
            return self._view(conn, row)

    def make_return(self, user: User, receipt_uuid: str, lines: list[tuple[int, int]], card: int | None = None) -> dict[str, Any]:
        """Return ``(line_no, quantity)`` pairs of a paid sale; refunded to card up to what it paid by card."""
        user.require(Role.CASHIER, "возврат", "returns")
        if not lines:
            raise InvalidInput("empty_return", "Выберите строки для возврата", "Pick the lines to return", field="lines")
        with writing(self.engine) as conn:
            sale = _receipt_by_uuid(conn, receipt_uuid)
            if sale.kind != ReceiptKind.SALE.value or sale.status != ReceiptStatus.PAID.value:
                raise Conflict("not_returnable", "Вернуть можно только оплаченный чек продажи",
                               "Only a paid sale can be returned", field="uuid")
            self._refuse_if_shift_expired(conn)
            seen: set[int] = set()
            planned = []
            for index, (line_no, quantity) in enumerate(lines):
                field = f"lines[{index}]"
                if line_no in seen:
                    raise InvalidInput("duplicate_line", f"Строка {line_no} указана дважды", f"Line {line_no} is given twice", field=field)
                seen.add(line_no)
                sold = _line(conn, sale.id, line_no, field=f"{field}.line_no")
                if sold.storno:
                    raise InvalidInput("line_cancelled", f"Строка {line_no} была сторнирована",
                                       f"Line {line_no} was cancelled", field=f"{field}.line_no")
                item = cat.snapshot_from_json(sold.snapshot)
                returned = conn.execute(
                    select(func.coalesce(func.sum(receipt_lines.c.quantity), 0))
                    .join(receipts, receipts.c.id == receipt_lines.c.receipt_id)
                    .where(receipt_lines.c.return_of_line_id == sold.id, receipts.c.status == ReceiptStatus.PAID.value)
                ).scalar_one()
                validate_return_quantity(item, sold.quantity, returned, quantity, field_name=f"{field}.quantity")
                planned.append((
                    sold, quantity,
                    return_total(sold.total, sold.quantity, returned, quantity),
                    return_total(sold.discount, sold.quantity, returned, quantity),
                ))
            total = sum(p[2] for p in planned)
            card_refunded = conn.execute(
                select(func.coalesce(func.sum(receipts.c.card), 0))
                .where(receipts.c.return_of_id == sale.id, receipts.c.status == ReceiptStatus.PAID.value)
            ).scalar_one()
            card_left = sale.card - card_refunded
            refund_card = min(card if card is not None else card_left, total)
            if card is not None and card > card_left:
                raise InvalidInput("card_exceeds_paid", "На карту нельзя вернуть больше, чем было оплачено картой",
                                   "Cannot refund to card more than was paid by card", field="card")
            payment = refund(total, refund_card)
            shift = self._shift_for_money(conn)
            drawer = self._totals(conn, shift).cash_in_drawer
            if payment.cash > drawer:
                raise Conflict(
                    "not_enough_cash",
                    f"Для возврата наличными нужно {format_money(payment.cash)}, в кассе {format_money(drawer)}: верните на карту или внесите наличные",
                    f"A cash refund of {format_money(payment.cash)} needs more than the {format_money(drawer)} in the drawer: refund to card or cash in first",
                    field="card",
                )
            now = self.clock()
            s = self.settings()
            return_id = conn.execute(
                insert(receipts).values(
                    uuid=str(uuid.uuid4()), kind=ReceiptKind.RETURN.value, status=ReceiptStatus.PAID.value,
                    number=_next_number(conn), owner_id=user.id, seller_id=user.id, cashier_id=user.id,
                    shift_id=shift.id, return_of_id=sale.id, idplace=int(s["idplace"]), nkassa=int(s["nkassa"]),
                    created_at=now, closed_at=now, cash=payment.cash, card=payment.card, cash_given=payment.cash_given,
                    change=0, upload_state="pending",
                )
            ).inserted_primary_key[0]
            for line_no, (sold, quantity, line_total, line_discount) in enumerate(planned, start=1):
                conn.execute(
                    insert(receipt_lines).values(
                        receipt_id=return_id, line_no=line_no, code=sold.code, name=sold.name, snapshot=sold.snapshot,
                        price=sold.final_price, quantity=quantity, fixed_total=line_total, fixed_discount=line_discount,
                        return_of_line_id=sold.id,
                        vat=sold.vat,
                    )
                )
            return self._recalculated(conn, _receipt_by_id(conn, return_id))

    # --- cash, shift, reports ----------------------------------------------------------------------

    def cash_move(self, user: User, amount: int, comment: str = "") -> dict[str, Any]:
        """Cash in (positive) or out (negative); out never more than the drawer holds."""
        user.require(Role.CASHIER, "внесение и выплата", "cash in and out")
        if amount == 0 or abs(amount) > MAX_MONEY:
            raise InvalidInput("bad_amount", "Сумма должна быть ненулевой и разумной", "The amount must be non-zero and sane", field="amount")
        with writing(self.engine) as conn:
            self._refuse_if_shift_expired(conn)
            shift = self._shift_for_money(conn)
            if amount < 0:
                drawer = self._totals(conn, shift).cash_in_drawer
                if -amount > drawer:
                    raise Conflict("not_enough_cash", f"В кассе только {format_money(drawer)}",
                                   f"The drawer holds only {format_money(drawer)}", field="amount")
            conn.execute(
                insert(cash_moves).values(uuid=str(uuid.uuid4()), shift_id=shift.id, user_id=user.id, amount=amount,
                                          comment=comment, created_at=self.clock())
            )
            return _totals_view(self._totals(conn, shift), shift, self.clock())

    def shift_status(self, user: User) -> dict[str, Any]:
        with reading(self.engine) as conn:
            shift = _open_shift(conn)
            if shift is None:
                return {"open": False, "age": None, "state": ShiftAge.FRESH.value}
            age = self.clock() - shift.opened_at
            return {
                "open": True, "uuid": shift.uuid, "opened_at": shift.opened_at.isoformat(),
                "hours": round(age.total_seconds() / 3600, 2), "state": shift_age(shift.opened_at, self.clock()).value,
            }

    def x_report(self, user: User) -> dict[str, Any]:
        user.require(Role.CASHIER, "X-отчёт", "the X report")
        with reading(self.engine) as conn:
            shift = _open_shift(conn)
            if shift is None:
                return _totals_view(compute_shift_totals([]), None, self.clock())
            return _totals_view(self._totals(conn, shift), shift, self.clock())

    def z_report(self, user: User) -> dict[str, Any]:
        """Close the shift: store its totals and lines; refused when there is nothing to close."""
        user.require(Role.CASHIER, "Z-отчёт", "the Z report")
        with writing(self.engine) as conn:
            shift = _open_shift(conn)
            totals = self._totals(conn, shift) if shift is not None else None
            if shift is None or totals.is_empty:
                raise Conflict("nothing_to_close", "Смена пуста: Z-отчёт не нужен", "The shift is empty: nothing to close", field="shift")
            now = self.clock()
            s = self.settings()
            number = (conn.execute(select(func.max(z_reports.c.number))).scalar_one() or 0) + 1
            z_id = conn.execute(
                insert(z_reports).values(
                    uuid=str(uuid.uuid4()), number=number, shift_id=shift.id, user_id=user.id,
                    idplace=int(s["idplace"]), nkassa=int(s["nkassa"]), opened_at=shift.opened_at, closed_at=now,
                    accounting_date=accounting_date(now, time.fromisoformat(s["begin_time"])),
                    sales_count=totals.sales_count, returns_count=totals.returns_count, cancels_count=totals.cancels_count,
                    sales_total=totals.sales_total, returns_total=totals.returns_total, cancels_total=totals.cancels_total,
                    cash=totals.cash, card=totals.card, sales_discount=totals.sales_discount,
                    returns_discount=totals.returns_discount, cash_in=totals.cash_in, cash_out=totals.cash_out,
                    revenue=totals.revenue, upload_state="pending",
                )
            ).inserted_primary_key[0]
            if totals.lines:
                conn.execute(insert(z_lines), [
                    {"z_id": z_id, "code": zl.code, "name": zl.name, "sold_quantity": zl.sold_quantity,
                     "sold_total": zl.sold_total, "returned_quantity": zl.returned_quantity, "returned_total": zl.returned_total}
                    for zl in totals.lines
                ])
            conn.execute(update(shifts).where(shifts.c.id == shift.id).values(closed_at=now))
            return _z_view(conn, conn.execute(select(z_reports).where(z_reports.c.id == z_id)).one())

    def z_reports(self, user: User, date_from: date | None = None, date_to: date | None = None) -> list[dict[str, Any]]:
        user.require(Role.CASHIER, "Z-отчёты", "Z reports")
        stmt = select(z_reports)
        if date_from:
            stmt = stmt.where(z_reports.c.accounting_date >= date_from)
        if date_to:
            stmt = stmt.where(z_reports.c.accounting_date <= date_to)
        with reading(self.engine) as conn:
            return [_z_view(conn, row, with_lines=False) for row in conn.execute(stmt.order_by(z_reports.c.number.desc()).limit(500))]

    def z_report_by_uuid(self, user: User, z_uuid: str) -> dict[str, Any]:
        user.require(Role.CASHIER, "Z-отчёты", "Z reports")
        with reading(self.engine) as conn:
            row = conn.execute(select(z_reports).where(z_reports.c.uuid == z_uuid)).first()
            if row is None:
                raise NotFound("unknown_z", "Z-отчёт не найден", "No such Z report", field="uuid")
            return _z_view(conn, row)

    # --- idempotency -------------------------------------------------------------------------------

    def once(self, user: User, key: str, action: Callable[[], Any],
             refusal: Callable[[DomainError], tuple[int, Any]]) -> tuple[int, Any, bool]:
        """Run ``action`` at most once per (user, key): ``(status, body, replayed)``.

        The action and the record of its answer commit in one transaction, so a crash can
        never leave a done action without its record (a retry would repeat it) or the reverse.
        A refusal is remembered too: the same key gets the same answer.
        """
        now = self.clock()
        with writing(self.engine) as conn:
            row = conn.execute(
                select(idempotency_keys.c.status_code, idempotency_keys.c.response)
                .where(idempotency_keys.c.user_id == user.id, idempotency_keys.c.key == key)
            ).first()
            if row is not None:
                return row.status_code, json.loads(row.response), True
            try:
                with conn.begin_nested():
                    status, body = 200, action()
            except DomainError as exc:
                status, body = refusal(exc)
            conn.execute(delete(idempotency_keys).where(idempotency_keys.c.created_at < now - _hours(24)))
            conn.execute(
                insert(idempotency_keys).values(
                    user_id=user.id, key=key, status_code=status, created_at=now,
                    response=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                )
            )
            return status, body, False

    # --- internals -----------------------------------------------------------------------------------

    def _current_or_new(self, conn: Connection, user: User) -> Any:
        row = _current_row(conn, user)
        return row if row is not None else self._new_receipt(conn, user)

    def _current_or_new_in_shift(self, conn: Connection, user: User) -> tuple[Any, bool]:
        """The current receipt, or a new one (then True); refused once the open shift is over 24 hours old.

        One query when there is a current receipt: its row comes with the open shift's start.
        """
        row = _CURRENT_ROW_AND_SHIFT.first(conn, {"owner_id": user.id})
        if row is None:
            self._refuse_if_shift_expired(conn)
            return self._new_receipt(conn, user), True
        self._refuse_shift_opened_at(row.shift_opened_at)
        refuse_if_printing(conn, row.id)
        return row, False

    def _new_receipt(self, conn: Connection, user: User) -> Any:
        """A new open receipt of ``user``: its row as inserted (the values given, the rest defaults)."""
        s = self.settings()
        values = {
            "uuid": str(uuid.uuid4()), "kind": ReceiptKind.SALE.value, "status": ReceiptStatus.OPEN.value,
            "owner_id": user.id, "seller_id": user.id, "idplace": int(s["idplace"]), "nkassa": int(s["nkassa"]),
            "created_at": self.clock(), "upload_state": "local",
        }
        receipt_id = _INSERT_RECEIPT.execute(conn, values)
        return Record({**_NEW_RECEIPT_DEFAULTS, **values, "id": receipt_id})

    def _current_for_change(self, conn: Connection, user: User) -> Any:
        row = _current_row(conn, user)
        if row is None:
            raise Conflict("no_receipt", "Нет открытого чека", "There is no open receipt", field="receipt")
        refuse_if_printing(conn, row.id)
        return row

    def _refuse_if_shift_expired(self, conn: Connection) -> None:
        shift = _open_shift(conn)
        self._refuse_shift_opened_at(shift.opened_at if shift is not None else None)

    def _refuse_shift_opened_at(self, opened_at: datetime | None) -> None:
        """Refuse when the open shift (opened at ``opened_at``; None: no shift) is over 24 hours old."""
        if opened_at is not None and shift_age(opened_at, self.clock()) is ShiftAge.EXPIRED:
            raise Conflict(
                "shift_expired", "Смена длится более 24 часов: снимите Z-отчёт", "The shift is over 24 hours old: take the Z report",
                field="shift",
            )

    def _shift_for_money(self, conn: Connection) -> Any:
        shift = _open_shift(conn)
        if shift is None:
            conn.execute(insert(shifts).values(uuid=str(uuid.uuid4()), opened_at=self.clock()))
            shift = _open_shift(conn)
        return shift

    def _totals(self, conn: Connection, shift: Any) -> ShiftTotals:
        rows = conn.execute(
            select(receipts).where(
                receipts.c.shift_id == shift.id,
                receipts.c.status.in_([ReceiptStatus.PAID.value, ReceiptStatus.CANCELLED.value]),
            )
        ).all()
        lines_by_receipt: dict[int, list[SummaryLine]] = {}
        if rows:
            for line in conn.execute(
                select(receipt_lines.c.receipt_id, receipt_lines.c.code, receipt_lines.c.name, receipt_lines.c.quantity,
                       receipt_lines.c.total, receipt_lines.c.discount)
                .join(receipts, receipts.c.id == receipt_lines.c.receipt_id)
                .where(receipts.c.shift_id == shift.id, receipts.c.status == ReceiptStatus.PAID.value,
                       receipt_lines.c.storno.is_(False))
            ):
                lines_by_receipt.setdefault(line.receipt_id, []).append(
                    SummaryLine(line.code, line.name, line.quantity, line.total, line.discount)
                )
        summaries = [
            ReceiptSummary(
                kind=ReceiptKind(row.kind), status=ReceiptStatus(row.status), total=row.total, cash=row.cash,
                card=row.card, discount=row.discount, lines=tuple(lines_by_receipt.get(row.id, ())),
            )
            for row in rows
        ]
        moves = list(conn.execute(select(cash_moves.c.amount).where(cash_moves.c.shift_id == shift.id)).scalars())
        return compute_shift_totals(summaries, moves)

    def _recalculated(self, conn: Connection, receipt: Any, selected: int | None = None,
                      lines: list[Any] | None = None, new_line: dict[str, Any] | None = None) -> dict[str, Any]:
        """Recompute every line by the core and store what changed; returns the fresh view.

        ``lines``: the receipt's lines by line_no, when the caller has just read them in this
        transaction. ``new_line``: the values of a line to add after them (a new line is all
        defaults but these), inserted with its computed results in one statement.
        """
        if lines is None:
            lines = _LINES_OF_RECEIPT.all(conn, {"receipt_id": receipt.id})
        old_added = [line for line in lines if line.promo_added]  # promotion-added lines: never an input
        if old_added:
            lines = [line for line in lines if not line.promo_added]
        new = [Record({**_NEW_LINE_DEFAULTS, **new_line, "promo_added": None, "promo_reasons": None})] if new_line is not None else []
        inputs = [
            LineInput(
                item=cat.snapshot_from_json(line.snapshot), quantity=line.quantity, price=line.price,
                storno=bool(line.storno), manual_discount_bp=line.manual_discount_bp,
                price_changed=bool(line.price_changed), quantity_changed=bool(line.quantity_changed),
                fixed_total=line.fixed_total, fixed_discount=line.fixed_discount,
            )
            for line in (*lines, *new)
        ]
        promo = self.promotions.calculate(conn, receipt, inputs, self.clock())  # None: no promotion applies
        calc = promo.calculation if promo is not None else calculate(inputs, receipt.card_rate_bp)
        changed: list[dict[str, Any]] = []
        fresh_lines: list[Any] = []
        for line, result in zip(lines, calc.lines):
            if _line_results(line) != _line_results(result):
                fresh = _result_values(result)
                changed.append({"line_id": line.id, **{f"new_{k}": v for k, v in fresh.items()}})
                line = Record({**line._mapping, **fresh})
            fresh_lines.append(line)
        if changed:
            _UPDATE_LINE_RESULT.executemany(conn, changed)
        if new:
            if old_added:  # the new line takes the number of the first added line: they are renumbered after it
                conn.execute(delete(receipt_lines).where(receipt_lines.c.id.in_([line.id for line in old_added])))
                old_added = []
            fresh = _result_values(calc.lines[len(lines)])
            fresh["id"] = _INSERT_LINE.execute(conn, {**new_line, **fresh})
            new[0].__dict__.update(fresh)
            fresh_lines.append(new[0])
        added_lines, promotions = self.promotions.store(conn, receipt.id, fresh_lines, old_added, promo, Record)
        fresh_lines += added_lines
        totals = {"receipt_id": receipt.id, "new_amount": calc.amount, "new_discount": calc.discount, "new_total": calc.total}
        if selected is not None:
            _UPDATE_TOTALS_AND_SELECTED.execute(conn, {**totals, "new_selected_line": selected})
        else:
            _UPDATE_TOTALS.execute(conn, totals)
        # The row as just updated, without reading it back: every caller passes the receipt as it
        # stands in this transaction, and only the columns above have changed.
        fresh = {**receipt._mapping, "amount": calc.amount, "discount": calc.discount, "total": calc.total,
                 "version": receipt.version + 1}
        if selected is not None:
            fresh["selected_line"] = selected
        return self._view(conn, Record(fresh), calc=calc, lines=fresh_lines, promotions=promotions or "")

    def _view(self, conn: Connection, row: Any, with_lines: bool = True, calc: Any = None,
              lines: list[Any] | None = None, promotions: str | None = None) -> dict[str, Any]:
        """The JSON view of a receipt; ``lines``, when the caller has them fresh, saves reading them again.

        ``promotions``: the receipt's stored promotion reasons when the caller has them ("" for none).
        """
        view: dict[str, Any] = {
            "uuid": row.uuid, "kind": row.kind, "status": row.status, "number": row.number,
            "created_at": row.created_at.isoformat(), "closed_at": row.closed_at.isoformat() if row.closed_at else None,
            "seller_id": row.seller_id, "cashier_id": row.cashier_id,
            "idplace": row.idplace, "nkassa": row.nkassa,
            "card_number": row.card_number, "card_percent": _rate(row.card_rate_bp),
            "amount": format_money(row.amount), "discount": format_money(row.discount), "total": format_money(row.total),
            "cash": format_money(row.cash), "card": format_money(row.card),
            "cash_given": format_money(row.cash_given), "change": format_money(row.change),
            "selected_line": row.selected_line, "version": row.version, "upload_state": row.upload_state,
            "return_of": None,
        }
        if row.return_of_id:
            view["return_of"] = conn.execute(select(receipts.c.uuid).where(receipts.c.id == row.return_of_id)).scalar_one()
        if with_lines:
            if lines is None:
                lines = _LINES_OF_RECEIPT.all(conn, {"receipt_id": row.id})
            view["lines"] = [_line_view(line) for line in lines]
            view["promotions"] = reasons_view(promotions if promotions is not None else self.promotions.receipt_reasons(conn, row.id))
            per_rate: dict[str, list[int]] = {}
            for line in lines:
                if not line.storno:
                    per_rate.setdefault(line.vat, []).append(line.total)
            view["vat"] = [
                {"rate": rate, "total": format_money(sum(t)), "vat": format_money(vat_included(sum(t), VatRate(rate)))}
                for rate, t in sorted(per_rate.items())
            ]
        return view


class _Session:
    def __init__(self, csrf_token: str, kind: str):
        self.csrf_token = csrf_token
        self.kind = kind


def _hours(n: int) -> timedelta:
    return timedelta(hours=n)


def _rate(bp: int) -> str:
    return f"{bp // 100}.{bp % 100:02d}"


def _check_login(login: str) -> None:
    if not isinstance(login, str) or not re.fullmatch(r"[A-Za-z0-9_.\-@]{1,64}", login):
        raise InvalidInput("bad_login", "Логин: 1–64 латинских букв, цифр и знаков _.-@",
                           "Login: 1–64 Latin letters, digits and _.-@", field="login")


def _check_password(password: str) -> None:
    if not isinstance(password, str) or not 4 <= len(password) <= 256:
        raise InvalidInput("bad_password", "Пароль: от 4 до 256 символов", "Password: 4 to 256 characters", field="password")


# The statements of the selling path, built once and run as Prepared statements: SQLAlchemy's
# building, cache-keying and executing a statement on every call cost more than running it
# (see bench/till_sale.py).
_SESSION_USER = (
    select(users, sessions.c.csrf_token, sessions.c.kind, sessions.c.expires_at)
    .join(sessions, sessions.c.user_id == users.c.id)
    .where(sessions.c.token_hash == bindparam("token_hash"), users.c.active.is_(True))
)
_CURRENT_ROW = Prepared(
    select(receipts).where(receipts.c.owner_id == bindparam("owner_id"), receipts.c.status == ReceiptStatus.OPEN.value)
    .order_by(receipts.c.id).limit(1)
)
_OPEN_SHIFT_OPENED_AT = (
    select(shifts.c.opened_at).where(shifts.c.closed_at.is_(None)).order_by(shifts.c.id.desc()).limit(1).scalar_subquery()
)
_CURRENT_ROW_AND_SHIFT = Prepared(
    select(receipts, _OPEN_SHIFT_OPENED_AT.label("shift_opened_at"))
    .where(receipts.c.owner_id == bindparam("owner_id"), receipts.c.status == ReceiptStatus.OPEN.value)
    .order_by(receipts.c.id).limit(1)
)
_RECEIPT_BY_ID = Prepared(select(receipts).where(receipts.c.id == bindparam("receipt_id")))
_LINES_OF_RECEIPT = Prepared(LINES_WITH_PROMOTIONS)  # the lines by line_no, with promo_added and promo_reasons
_INSERT_LINE = Prepared(insert(receipt_lines))
_INSERT_RECEIPT = Prepared(insert(receipts))


def _defaults(table: Any) -> dict[str, Any]:
    """A new row of ``table``, but for the values it is inserted with: each column's default (or None)."""
    return {column.name: column.default.arg if column.default is not None else None for column in table.columns}


_NEW_LINE_DEFAULTS = _defaults(receipt_lines)
_NEW_RECEIPT_DEFAULTS = _defaults(receipts)
_LINE_RESULT_COLUMNS = ("amount", "discount_bp", "discount", "total", "final_price", "vat_amount", "marks")
_line_results = attrgetter(*_LINE_RESULT_COLUMNS)  # of a line row or a LineResult: a tuple
_UPDATE_LINE_RESULT = Prepared(
    update(receipt_lines).where(receipt_lines.c.id == bindparam("line_id"))
    .values({name: bindparam(f"new_{name}") for name in _LINE_RESULT_COLUMNS})
)
_SET_TOTALS = (
    update(receipts).where(receipts.c.id == bindparam("receipt_id"))
    .values(amount=bindparam("new_amount"), discount=bindparam("new_discount"), total=bindparam("new_total"),
            version=receipts.c.version + 1)
)
_UPDATE_TOTALS = Prepared(_SET_TOTALS)
_UPDATE_TOTALS_AND_SELECTED = Prepared(_SET_TOTALS.values(selected_line=bindparam("new_selected_line")))
_PAY_RECEIPT = Prepared(
    update(receipts).where(receipts.c.id == bindparam("receipt_id"))
    .values(status=ReceiptStatus.PAID.value, upload_state="pending", version=receipts.c.version + 1,
            **{name: bindparam(f"new_{name}")
               for name in ("number", "shift_id", "closed_at", "cashier_id", "cash", "card", "cash_given", "change")})
)
_OPEN_SHIFT = Prepared(select(shifts).where(shifts.c.closed_at.is_(None)).order_by(shifts.c.id.desc()).limit(1))
_LAST_NUMBER = Prepared(select(func.max(receipts.c.number)))


def _result_values(result: Any) -> dict[str, Any]:
    """The stored columns of a line that the core computes, from its LineResult."""
    return dict(zip(_LINE_RESULT_COLUMNS, _line_results(result)))


def _current_row(conn: Connection, user: User) -> Any:
    return _CURRENT_ROW.first(conn, {"owner_id": user.id})


def _receipt_by_id(conn: Connection, receipt_id: int) -> Any:
    row = _RECEIPT_BY_ID.first(conn, {"receipt_id": receipt_id})
    if row is None:
        raise LookupError(f"receipt {receipt_id} is gone")
    return row


def _receipt_by_uuid(conn: Connection, receipt_uuid: str) -> Any:
    row = conn.execute(select(receipts).where(receipts.c.uuid == str(receipt_uuid))).first()
    if row is None:
        raise NotFound("unknown_receipt", "Чек не найден", "No such receipt", field="uuid")
    return row


def _line(conn: Connection, receipt_id: int, line_no: int, field: str = "line_no") -> Any:
    row = conn.execute(
        select(receipt_lines).where(receipt_lines.c.receipt_id == receipt_id, receipt_lines.c.line_no == line_no)
    ).first()
    if row is None:
        raise NotFound("unknown_line", f"В чеке нет строки {line_no}", f"The receipt has no line {line_no}", field=field)
    return row


def _live_line_count(conn: Connection, receipt_id: int) -> int:
    return conn.execute(
        select(func.count()).where(receipt_lines.c.receipt_id == receipt_id, receipt_lines.c.storno.is_(False))
    ).scalar_one()


def _refuse_absurd_amount(others: int, amount: int, field: str) -> None:
    """A line, and the receipt with it, never above MAX_MONEY (what a registrar and a payment can hold)."""
    if amount > MAX_MONEY or others + amount > MAX_MONEY:
        raise InvalidInput("amount_too_large", f"Сумма чека превысит {format_money(MAX_MONEY)}",
                           f"The receipt would exceed {format_money(MAX_MONEY)}", field=field)


def _next_number(conn: Connection) -> int:
    return (_LAST_NUMBER.scalar(conn) or 0) + 1


def _open_shift(conn: Connection) -> Any:
    return _OPEN_SHIFT.first(conn)


_LINE_VIEW_FIELDS = ("line_no", "code", "name", "price", "quantity", "amount", "discount_bp", "manual_discount_bp", "discount",
                     "total", "final_price", "vat", "vat_amount", "storno", "marks", "promo_added", "promo_reasons")  # fmt: skip
_line_state = attrgetter(*_LINE_VIEW_FIELDS)


def _line_view(line: Any) -> dict[str, Any]:
    """A line's JSON view. Every scan answers with the whole receipt, and its other lines have not
    changed: their views come from a cache keyed by everything they show. Views are never
    changed once built (they are only serialized and rendered)."""
    return _line_view_of(_line_state(line))


@lru_cache(maxsize=4096)
def _line_view_of(state: tuple) -> dict[str, Any]:
    (line_no, code, name, price, quantity, amount, discount_bp, manual_discount_bp, discount, total, final_price, vat,
     vat_amount, storno, marks, promo_added, promo_reasons) = state  # fmt: skip
    return {
        "line_no": line_no, "code": code, "name": name,
        "price": format_money(price), "quantity": format_quantity(quantity),
        "amount": format_money(amount), "discount_percent": _rate(discount_bp),
        "manual_discount_percent": _rate(manual_discount_bp),
        "discount": format_money(discount), "total": format_money(total),
        "final_price": format_money(final_price), "vat": vat, "vat_amount": format_money(vat_amount),
        "storno": bool(storno), "marks": marks,
        "promo_added": bool(promo_added), "promotions": reasons_view(promo_reasons),
    }


def _totals_view(totals: ShiftTotals, shift: Any, now: datetime) -> dict[str, Any]:
    return {
        "shift_opened_at": shift.opened_at.isoformat() if shift is not None else None,
        "generated_at": now.isoformat(),
        "sales_count": totals.sales_count, "returns_count": totals.returns_count, "cancels_count": totals.cancels_count,
        "sales_total": format_money(totals.sales_total), "returns_total": format_money(totals.returns_total),
        "cancels_total": format_money(totals.cancels_total), "cash": format_money(totals.cash),
        "card": format_money(totals.card), "discount": format_money(totals.discount),
        "cash_in": format_money(totals.cash_in), "cash_out": format_money(totals.cash_out),
        "cash_in_drawer": format_money(totals.cash_in_drawer), "revenue": format_money(totals.revenue),
        "lines": [_z_line_view(zl) for zl in totals.lines],
    }


def _z_view(conn: Connection, row: Any, with_lines: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "uuid": row.uuid, "number": row.number, "idplace": row.idplace, "nkassa": row.nkassa,
        "opened_at": row.opened_at.isoformat(), "closed_at": row.closed_at.isoformat(),
        "accounting_date": row.accounting_date.isoformat(),
        "sales_count": row.sales_count, "returns_count": row.returns_count, "cancels_count": row.cancels_count,
        "sales_total": format_money(row.sales_total), "returns_total": format_money(row.returns_total),
        "cancels_total": format_money(row.cancels_total), "cash": format_money(row.cash), "card": format_money(row.card),
        "discount": format_money(row.sales_discount - row.returns_discount),
        "cash_in": format_money(row.cash_in), "cash_out": format_money(row.cash_out),
        "revenue": format_money(row.revenue), "upload_state": row.upload_state,
    }
    if with_lines:
        view["lines"] = [
            _z_line_view(zl) for zl in conn.execute(select(z_lines).where(z_lines.c.z_id == row.id).order_by(z_lines.c.id))
        ]
    return view


def _z_line_view(zl: Any) -> dict[str, Any]:
    return {
        "code": zl.code, "name": zl.name, "sold_quantity": format_quantity(zl.sold_quantity),
        "sold_total": format_money(zl.sold_total), "returned_quantity": format_quantity(zl.returned_quantity),
        "returned_total": format_money(zl.returned_total),
    }
