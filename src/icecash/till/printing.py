"""The till's side of printing: every paid receipt goes through the print service (``icecash printd``).

* A registrar printer fiscalises the receipt; an ESC/POS printer prints it non-fiscally; with no
  printer set (setting ``printer`` empty) nothing is printed and the API says so.
* Paying with a printer runs in three steps. (1) The registrar's last fiscal document number is
  read and a ``print_state`` row is committed: the receipt is now read-only. (2) The receipt is
  printed. (3) The receipt is marked paid and the row ``done``, in one transaction. A failure in
  (2) leaves the receipt unpaid and read-only with the device's error; a crash anywhere leaves
  the row behind.
* Before a receipt whose print is unfinished is paid again (and before any other fiscal
  operation), the till *reconciles* it with the registrar: a receipt left open on the device is
  cancelled (it was never fiscalised); else a last document number above the one read in (1)
  means the receipt *was* fiscalised (the answer was lost) and it is marked paid without printing
  again. So a receipt is fiscalised exactly once and never lost.
* A receipt whose print failed may be *released* (made editable again) by its owner, or by an
  admin whoever owns it, only once the registrar confirms it does not hold it; the check and
  the release happen under the same print lock, so no payment can print it in between.
* X and Z reports, cash in and out, the drawer and receipt copies go to the device as well; a Z or
  a cash move is stored only when the device did it (one transaction around both).
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import (
    BigInteger,
    bindparam,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from icecash.core.errors import Conflict, DomainError, Forbidden, NotFound
from icecash.core.money import div_half_up, format_money
from icecash.core.receipt import settle
from icecash.core.roles import Role
from icecash.core.zreport import ReceiptStatus
from icecash.store.db import Prepared, reading, writing

from . import catalogue as cat
from .tables import metadata, receipts, users

# The till's own record of each receipt's print (migration 0010_print_state).
print_state = Table(
    "print_state",
    metadata,
    Column("receipt_id", Integer, ForeignKey("receipts.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(12), nullable=False),  # printing · failed · done
    Column("printer", String(64), nullable=False),
    Column("fiscal", Boolean, nullable=False),
    Column("doc_before", Integer, nullable=True),  # registrar's last document before the attempt; None: nothing pending
    Column("doc_number", Integer, nullable=True),  # the fiscal document that holds the receipt
    Column("cash", BigInteger, nullable=False),  # the payment being made: cash handed over
    Column("card", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_ru", Text, nullable=True),
    Column("error_en", Text, nullable=True),
    Column("updated_at", DateTime, nullable=False),
)

PRINTING, FAILED, DONE = "printing", "failed", "done"
TIMEOUT = 60.0  # seconds for one call to the print service (a long receipt at 9600 baud)
_lock = threading.Lock()  # one print at a time from this till: reconcile and print never interleave


class PrinterError(Conflict):
    """The print service or the device refused or failed; ``details.device`` holds its own error."""

    def __init__(self, device: dict[str, Any], **details: Any):
        code = device.get("code", "printer_error")
        super().__init__(
            "printer_error",
            f"Принтер: {device.get('message') or code}",
            f"Printer: {device.get('message_en') or code}",
            field="printer",
            device={"code": code, "message": device.get("message", ""), "message_en": device.get("message_en", "")},
            **details,
        )


# --- the print service client --------------------------------------------------------------------------


class PrintdClient:
    """A small JSON client of the print service for one printer."""

    def __init__(self, host: str, port: int, token: str, printer: str, timeout: float = TIMEOUT):
        self.base = f"http://{host}:{port}/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.printer = printer
        self.timeout = timeout

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        url = f"{self.base}/printers/{self.printer}{path}"
        try:
            answer = httpx.request(method, url, json=body, headers=self.headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise PrinterError({"code": "printd_unreachable",
                                "message": f"Сервис печати недоступен ({self.base}): {exc}",
                                "message_en": f"The print service is unreachable ({self.base}): {exc}"}) from None
        try:
            data = answer.json()
        except ValueError:
            data = None
        if answer.status_code == 200 and isinstance(data, dict):
            return data
        error = data.get("error") if isinstance(data, dict) else None
        if not isinstance(error, dict):
            error = {"code": "printd_error", "message": f"Сервис печати ответил HTTP {answer.status_code}",
                     "message_en": f"The print service answered HTTP {answer.status_code}"}
        raise PrinterError(error, status=answer.status_code)

    def for_printer(self, printer: str) -> PrintdClient:
        other = PrintdClient("", 0, "", printer, self.timeout)
        other.base, other.headers = self.base, dict(self.headers)
        return other

    def info(self) -> dict[str, Any]:
        return self.call("GET", "")

    def status(self) -> dict[str, Any]:
        return self.call("GET", "/status")

    def op(self, name: str, body: Any = None) -> dict[str, Any]:
        return self.call("POST", f"/{name}", body if body is not None else None)


def client_for(till: Any) -> PrintdClient | None:
    """The print service client for this till's printer, or None when no printer is set."""
    s = till.settings()
    printer = s.get("printer", "").strip()
    if not printer:
        return None
    return PrintdClient(s.get("printd_host") or "localhost", int(s.get("printd_port") or 10111),
                        s.get("printd_token", ""), printer)


# --- read-only while printing -------------------------------------------------------------------------


# Built once: it runs on every change of an open receipt, the selling path (bench/till_sale.py).
_UNFINISHED_PRINT = Prepared(
    select(print_state.c.state, print_state.c.error_ru, print_state.c.error_en)
    .where(print_state.c.receipt_id == bindparam("receipt_id"))
)


def refuse_if_printing(conn: Any, receipt_id: int) -> None:
    """Refuse a change to a receipt whose print is unfinished (it may be on the registrar already)."""
    row = _UNFINISHED_PRINT.first(conn, {"receipt_id": receipt_id})
    if row is not None and row.state != DONE:
        raise Conflict(
            "receipt_printing",
            "Чек только для чтения: печать не завершена" + (f" ({row.error_ru})" if row.error_ru else "")
            + ". Устраните неисправность и повторите оплату, или освободите чек",
            "The receipt is read-only: its print is unfinished" + (f" ({row.error_en})" if row.error_en else "")
            + ". Fix the fault and pay again, or release the receipt",
            field="receipt",
        )


# --- the receipt document --------------------------------------------------------------------------------


def receipt_document(conn: Any, till: Any, receipt: Any, user: Any, cash: int, card: int,
                     number: int | None, title: str = "") -> dict[str, Any]:
    """The structured receipt the print service takes (kopecks, thousandths) for a till receipt."""
    s = till.settings()
    from .promotions import LINES_WITH_PROMOTIONS, reasons_view, receipt_reasons

    lines = []
    why: list[str] = []  # the promotions behind the discounts, printed under the lines (issue 6: say why)
    for line in conn.execute(LINES_WITH_PROMOTIONS, {"receipt_id": receipt.id}):
        if line.storno:
            continue
        why += [f"{len(lines) + 1}. {reason['reason_ru']}" for reason in reasons_view(line.promo_reasons)]
        item = cat.snapshot_from_json(line.snapshot)
        price = line.price
        if div_half_up(price * line.quantity, 1000) < line.total:  # a return's fixed total above price × qty by rounding
            price = -(-line.total * 1000 // line.quantity)
        lines.append({"name": line.name, "price": price, "quantity": line.quantity, "total": line.total,
                      "vat": line.vat, "department": max(1, min(16, item.department or 1)), "code": line.code})
    header = [text for text in (s.get("orgname", ""), s.get("placename", "")) if text]
    if s.get("inn"):
        header.append(f"ИНН {s['inn']}")
    header += [text for text in s.get("texthead", "").split("\n") if text.strip()]
    why += [reason["reason_ru"] for reason in reasons_view(receipt_reasons(conn, receipt.id))]
    footer = ["Акции:", *why[:20]] if why else []
    if len(why) > 20:
        footer.append(f"… и ещё {len(why) - 20}")
    footer += [text for text in s.get("textfoot", "").split("\n") if text.strip()]
    doc: dict[str, Any] = {
        "kind": receipt.kind, "lines": lines, "cash": cash, "card": card,
        "cashier": {"name": (getattr(user, "name", "") or getattr(user, "login", ""))[:64]},
        "header": header[:50], "footer": footer[:50], "uuid": receipt.uuid, "title": title,
    }
    if number is not None and s.get("print_number", "1") == "1":
        doc["number"] = number
    return doc


# --- paying --------------------------------------------------------------------------------------------


def _current(conn: Any, user: Any) -> Any:
    return conn.execute(select(receipts).where(receipts.c.owner_id == user.id,
                                               receipts.c.status == ReceiptStatus.OPEN.value)
                        .order_by(receipts.c.id).limit(1)).first()


def _state(conn: Any, receipt_id: int) -> Any:
    return conn.execute(select(print_state).where(print_state.c.receipt_id == receipt_id)).first()


def _set_state(till: Any, receipt_id: int, **values: Any) -> None:
    """Change an unfinished print's row (a print already done is never reopened)."""
    with writing(till.engine) as conn:
        conn.execute(update(print_state).where(print_state.c.receipt_id == receipt_id, print_state.c.state != DONE)
                     .values(updated_at=till.clock(), **values))


def _last_document(status: dict[str, Any]) -> int:
    value = status.get("last_document")
    if not isinstance(value, int):
        raise PrinterError({"code": "no_document_number", "message": "Регистратор не сообщил номер последнего документа",
                            "message_en": "The registrar did not report its last document number"})
    return value


def _reconcile_row(client: PrintdClient, till: Any, row: Any) -> str:
    """Settle an unfinished print with the device: 'fiscalised', 'not_fiscalised' or 'nothing' (non-fiscal)."""
    if not row.fiscal or row.doc_before is None:
        return "nothing"
    if row.printer != client.printer:  # the setting changed since: ask the registrar that printed it
        client = client.for_printer(row.printer)
    status = client.op("recover")  # continues printing after paper out, cancels a receipt left open
    cancelled = bool(status.get("cancelled_receipt"))
    last = _last_document(status)
    if not cancelled and last > row.doc_before:
        _set_state(till, row.receipt_id, state=PRINTING, doc_number=last, error_code=None, error_ru=None, error_en=None)
        return "fiscalised"
    _set_state(till, row.receipt_id, doc_before=None)
    return "not_fiscalised"


def print_before_pay(till: Any, user: Any, cash: int, card: int, expected_version: int | None) -> dict[str, Any] | None:
    """Steps (1) and (2) of a payment with a printer; None when there is no printer or no current receipt
    (then the plain payment runs and answers as without printing). What :func:`finish_paid` needs otherwise."""
    user.require(Role.CASHIER, "приём оплаты", "taking payment")
    client = client_for(till)
    if client is None:
        return None
    with _lock:
        with reading(till.engine) as conn:
            receipt = _current(conn, user)
            if receipt is None:
                return None
            row = _state(conn, receipt.id)
        if row is not None and row.state != DONE:
            outcome = _reconcile_row(client, till, row)
            if outcome == "fiscalised":  # the device has it: finish with the payment it was printed with
                return {"receipt_id": receipt.id, "cash": row.cash, "card": row.card, "doc_number": _state_doc(till, receipt.id),
                        "fiscal": True, "reconciled": True, "printer": client.printer}
        if expected_version is not None and expected_version != receipt.version:
            raise Conflict("receipt_changed", "Чек изменился после показа суммы: проверьте и оплатите снова",
                           "The receipt changed since its total was shown: check it and pay again", field="expected_version")
        settle(receipt.total, cash, card)  # the payment's own refusals come before any printing
        info = client.info()
        fiscal = bool(info.get("fiscal"))
        doc_before = _last_document(client.status()) if fiscal else None
        with writing(till.engine) as conn:
            receipt = _current(conn, user)
            number = receipt.number or _next_number(conn)
            conn.execute(update(receipts).where(receipts.c.id == receipt.id).values(number=number))
            values = {"state": PRINTING, "printer": client.printer, "fiscal": fiscal, "doc_before": doc_before,
                      "doc_number": None, "cash": cash, "card": card, "error_code": None, "error_ru": None,
                      "error_en": None, "updated_at": till.clock()}
            if _state(conn, receipt.id) is None:
                conn.execute(insert(print_state).values(receipt_id=receipt.id, attempts=1, **values))
            else:
                conn.execute(update(print_state).where(print_state.c.receipt_id == receipt.id)
                             .values(attempts=print_state.c.attempts + 1, **values))
            document = receipt_document(conn, till, receipt, user, cash, card, number)
        try:
            printed = client.op("receipt", {"receipt": document})
        except PrinterError as exc:
            device = exc.details.get("device", {})
            _set_state(till, receipt.id, state=FAILED, error_code=device.get("code"), error_ru=device.get("message"),
                       error_en=device.get("message_en"))
            raise
        doc_number = printed.get("document") if fiscal else None
        _set_state(till, receipt.id, doc_number=doc_number if isinstance(doc_number, int) else None)
        return {"receipt_id": receipt.id, "cash": cash, "card": card, "doc_number": doc_number, "fiscal": fiscal,
                "reconciled": False, "printer": client.printer}


def _state_doc(till: Any, receipt_id: int) -> int | None:
    with reading(till.engine) as conn:
        row = _state(conn, receipt_id)
        return row.doc_number if row is not None else None


def _next_number(conn: Any) -> int:
    from sqlalchemy import func

    return (conn.execute(select(func.max(receipts.c.number))).scalar_one() or 0) + 1


def finish_paid(till: Any, user: Any, printed: dict[str, Any]) -> dict[str, Any]:
    """Step (3): the receipt is paid and its print done, in one transaction (run inside the API's ``once``)."""
    from .service import _PAY_RECEIPT, _receipt_by_id

    with writing(till.engine) as conn:
        receipt = _receipt_by_id(conn, printed["receipt_id"])
        if receipt.status != ReceiptStatus.OPEN.value:
            raise Conflict("not_open", "Чек уже закрыт", "The receipt is already closed", field="receipt")
        payment = settle(receipt.total, printed["cash"], printed["card"])
        shift = till._shift_for_money(conn)
        _PAY_RECEIPT.execute(conn, {
            "receipt_id": receipt.id, "new_number": receipt.number or _next_number(conn), "new_shift_id": shift.id,
            "new_closed_at": till.clock(), "new_cashier_id": user.id, "new_cash": payment.cash, "new_card": payment.card,
            "new_cash_given": payment.cash_given, "new_change": payment.change,
        })
        conn.execute(update(print_state).where(print_state.c.receipt_id == receipt.id).values(
            state=DONE, doc_number=printed.get("doc_number"), error_code=None, error_ru=None, error_en=None,
            updated_at=till.clock()))
        view = till._view(conn, _receipt_by_id(conn, receipt.id))
    view["print"] = {"printed": True, "printer": printed["printer"], "fiscal": printed["fiscal"],
                     "document": printed.get("doc_number"), "reconciled": printed["reconciled"]}
    return view


def no_printer_note(view: dict[str, Any]) -> dict[str, Any]:
    view["print"] = {"printed": False, "printer": None, "reason": "no_printer",
                     "message": "Принтер не задан: чек не напечатан", "message_en": "No printer set: nothing printed"}
    return view


# --- reconciling, releasing, the state for the screen -----------------------------------------------------


def pending(till: Any) -> list[dict[str, Any]]:
    """Receipts whose print is unfinished, with their error and owner (who may release it, with an admin)."""
    with reading(till.engine) as conn:
        rows = conn.execute(select(print_state, receipts.c.uuid, receipts.c.owner_id, receipts.c.total, receipts.c.kind,
                                   receipts.c.number, users.c.login.label("owner_login"), users.c.name.label("owner_name"))
                            .join(receipts, receipts.c.id == print_state.c.receipt_id)
                            .outerjoin(users, users.c.id == receipts.c.owner_id)
                            .where(print_state.c.state != DONE).order_by(print_state.c.receipt_id)).all()
    return [{"uuid": r.uuid, "state": r.state, "printer": r.printer, "fiscal": r.fiscal, "kind": r.kind,
             "number": r.number, "total": format_money(r.total), "cash": format_money(r.cash), "card": format_money(r.card),
             "attempts": r.attempts, "owner_id": r.owner_id, "owner_login": r.owner_login, "owner_name": r.owner_name,
             "uncertain": r.fiscal and r.doc_before is not None,
             "error": None if r.error_code is None else {"code": r.error_code, "message": r.error_ru, "message_en": r.error_en},
             "updated_at": r.updated_at.isoformat()} for r in rows]


def status(till: Any, user: Any) -> dict[str, Any]:
    """What the cashier's screen shows: the printer, its state, and receipts waiting on it."""
    user.require(Role.CASHIER, "состояние принтера", "the printer state")
    client = client_for(till)
    view: dict[str, Any] = {"printer": client.printer if client else None, "pending": pending(till)}
    if client is None:
        view["message"] = "Принтер не задан: чеки не печатаются"
        view["message_en"] = "No printer set: receipts are not printed"
        return view
    try:
        view["info"] = client.info()
        view["device"] = client.status()
        view["error"] = None
    except PrinterError as exc:
        view["device"] = None
        view["error"] = exc.as_dict()
    return view


def reconcile(till: Any, user: Any) -> dict[str, Any]:
    """Settle every unfinished print with the device (call when the device is back): receipts the
    registrar holds are marked paid; the others stay unpaid and may be paid again or released."""
    user.require(Role.CASHIER, "сверка с регистратором", "reconciling with the registrar")
    client = client_for(till)
    if client is None:
        return {"paid": [], "unpaid": [p["uuid"] for p in pending(till)]}
    paid, unpaid = [], []
    with _lock:
        with reading(till.engine) as conn:
            rows = conn.execute(select(print_state, receipts.c.uuid).join(receipts, receipts.c.id == print_state.c.receipt_id)
                                .where(print_state.c.state != DONE)).all()
        for row in rows:
            outcome = _reconcile_row(client, till, row)
            if outcome == "fiscalised":
                owner = _owner(till, row.receipt_id)
                finish_paid(till, owner or user, {"receipt_id": row.receipt_id, "cash": row.cash, "card": row.card,
                                                  "doc_number": _state_doc(till, row.receipt_id), "fiscal": True,
                                                  "reconciled": True, "printer": client.printer})
                paid.append(row.uuid)
            else:
                unpaid.append(row.uuid)
    return {"paid": paid, "unpaid": unpaid}


def _owner(till: Any, receipt_id: int) -> Any:
    from .service import User

    with reading(till.engine) as conn:
        row = conn.execute(select(users).join(receipts, receipts.c.owner_id == users.c.id)
                           .where(receipts.c.id == receipt_id)).first()
    if row is None:
        return None
    return User(id=row.id, login=row.login, name=row.name, role=Role(row.role), theme=row.theme, language=row.language)


def release(till: Any, user: Any, receipt_uuid: str | None = None) -> dict[str, Any]:
    """Make a receipt editable again after a failed print, once the registrar confirms that it does
    not hold it (reconciled); refused while that is uncertain, and when it does hold it.

    Without ``receipt_uuid``: the user's own current receipt (cashier and up). With it: a cashier
    may release only a receipt they own; an admin any user's (the cashier gone, the till blocked).
    The receipt stays its owner's, open and unpaid: nothing was fiscalised, no money taken.
    """
    from .service import _receipt_by_uuid

    user.require(Role.CASHIER, "освобождение чека", "releasing a receipt")
    field = "receipt" if receipt_uuid is None else "uuid"
    with reading(till.engine) as conn:
        receipt = _current(conn, user) if receipt_uuid is None else _receipt_by_uuid(conn, receipt_uuid)
    if receipt is not None and receipt.owner_id != user.id and user.role < Role.ADMIN:
        raise Forbidden("forbidden", "Чек другого пользователя освобождает только администратор",
                        "Only an admin may release another user's receipt", field="uuid")
    with _lock:  # no payment prints this receipt between the registrar's answer and the release
        with reading(till.engine) as conn:
            row = _state(conn, receipt.id) if receipt is not None else None
        if row is None or row.state == DONE:
            raise _not_printing(receipt_uuid)
        if row.fiscal and row.doc_before is not None:
            client = client_for(till)
            if client is None:
                raise Conflict("printer_unset", "Принтер не задан: сверка невозможна", "No printer set: cannot reconcile",
                               field="printer")
            if _reconcile_row(client, till, row) == "fiscalised":
                raise Conflict("already_fiscalised",
                               "Регистратор уже напечатал этот чек: повторите оплату или сверьте кассу с регистратором — "
                               "чек будет отмечен оплаченным, второй раз он не печатается",
                               "The registrar has printed this receipt already: pay again or reconcile with the "
                               "registrar, and it is marked paid without printing it twice", field=field)
        with writing(till.engine) as conn:
            gone = conn.execute(delete(print_state).where(print_state.c.receipt_id == receipt.id,
                                                          print_state.c.state != DONE)).rowcount
            if not gone:  # its payment finished meanwhile
                raise _not_printing(receipt_uuid)
            conn.execute(update(receipts).where(receipts.c.id == receipt.id, receipts.c.status == ReceiptStatus.OPEN.value)
                         .values(number=None))
            return till._view(conn, conn.execute(select(receipts).where(receipts.c.id == receipt.id)).one())


def _not_printing(receipt_uuid: str | None) -> Conflict:
    if receipt_uuid is None:
        return Conflict("not_printing", "Текущий чек не ждёт печати", "The current receipt is not waiting for a print",
                        field="receipt")
    return Conflict("not_printing", "Этот чек не ждёт печати", "This receipt is not waiting for a print", field="uuid")


# --- other device operations ---------------------------------------------------------------------------


def _fiscal_client(till: Any) -> tuple[PrintdClient | None, bool]:
    client = client_for(till)
    if client is None:
        return None, False
    return client, bool(client.info().get("fiscal"))


def _reconcile_first(till: Any, client: PrintdClient) -> None:
    """A fiscal operation never runs while a receipt's fate on the registrar is unknown."""
    with reading(till.engine) as conn:
        rows = conn.execute(select(print_state).where(print_state.c.state != DONE, print_state.c.fiscal.is_(True),
                                                      print_state.c.doc_before.is_not(None))).all()
    for row in rows:
        if _reconcile_row(client, till, row) == "fiscalised":
            owner = _owner(till, row.receipt_id)
            finish_paid(till, owner, {"receipt_id": row.receipt_id, "cash": row.cash, "card": row.card,
                                      "doc_number": _state_doc(till, row.receipt_id), "fiscal": True,
                                      "reconciled": True, "printer": client.printer})


def x_report(till: Any, user: Any) -> dict[str, Any]:
    """The till's X report, printed: a fiscal X on a registrar, the till's totals as text elsewhere."""
    view = till.x_report(user)
    client = client_for(till)
    if client is None:
        return {"report": view, "print": no_printer_note({})["print"]}
    with _lock:
        fiscal = bool(client.info().get("fiscal"))
        if fiscal:
            _reconcile_first(till, client)
            result = client.op("x-report")
        else:
            result = client.call("POST", "/jobs", {"commands": [{"op": "text", "text": _totals_text("X-ОТЧЁТ", view)},
                                                                {"op": "cut"}]})
    return {"report": view, "print": {"printed": True, "printer": client.printer, "fiscal": fiscal, "result": result}}


def _totals_text(title: str, view: dict[str, Any]) -> str:
    lines = [title, datetime.now().strftime("%d.%m.%Y %H:%M")]
    for key, label in (("sales_count", "Продаж"), ("sales_total", "Сумма продаж"), ("returns_count", "Возвратов"),
                       ("returns_total", "Сумма возвратов"), ("cash", "Наличными"), ("card", "Картой"),
                       ("cash_in", "Внесено"), ("cash_out", "Выплачено"), ("cash_in_drawer", "В кассе")):
        if key in view:
            lines.append(f"{label}: {view[key]}")
    return "\n".join(lines)


def z_report(till: Any, user: Any) -> dict[str, Any]:
    """Close the shift on the device and in the till together: stored only when the device did it."""
    client = client_for(till)
    if client is None:
        return till.z_report(user)
    with _lock:
        fiscal = bool(client.info().get("fiscal"))
        if fiscal:
            _reconcile_first(till, client)
        with writing(till.engine):
            view = till.z_report(user)  # its refusals (empty shift, role) come before the device is touched
            if fiscal:
                result = client.op("z-report")
            else:
                result = client.call("POST", "/jobs", {"commands": [{"op": "text", "text": _totals_text(f"Z-ОТЧЁТ № {view.get('number')}", view)},
                                                                    {"op": "cut"}]})
    view["print"] = {"printed": True, "printer": client.printer, "fiscal": fiscal, "result": result}
    return view


def cash_move(till: Any, user: Any, amount: int, comment: str = "") -> dict[str, Any]:
    """Cash in (+) or out (−) on the registrar and in the till together; a drawer pulse on ESC/POS."""
    client = client_for(till)
    if client is None:
        return till.cash_move(user, amount, comment)
    with _lock:
        fiscal = bool(client.info().get("fiscal"))
        if fiscal:
            _reconcile_first(till, client)
        with writing(till.engine):
            view = till.cash_move(user, amount, comment)
            if fiscal:
                result = client.op("cash-in" if amount > 0 else "cash-out", {"amount": abs(amount)})
            else:
                result = client.op("drawer")
    view["print"] = {"printed": True, "printer": client.printer, "fiscal": fiscal, "result": result}
    return view


def drawer(till: Any, user: Any) -> dict[str, Any]:
    user.require(Role.CASHIER, "открытие ящика", "opening the drawer")
    client = client_for(till)
    if client is None:
        raise Conflict("printer_unset", "Принтер не задан", "No printer set", field="printer")
    return {"print": {"printed": True, "printer": client.printer, "result": client.op("drawer")}}


def copy(till: Any, user: Any, receipt_uuid: str | None = None) -> dict[str, Any]:
    """A non-fiscal copy of a paid receipt (the last one by default), titled «КОПИЯ»."""
    user.require(Role.CASHIER, "копия чека", "a receipt copy")
    client = client_for(till)
    if client is None:
        raise Conflict("printer_unset", "Принтер не задан", "No printer set", field="printer")
    view = till.last_receipt(user) if receipt_uuid is None else till.receipt(user, receipt_uuid)
    if view["status"] != ReceiptStatus.PAID.value:
        raise Conflict("not_paid", "Копию можно напечатать только с оплаченного чека", "Only a paid receipt has a copy", field="uuid")
    with reading(till.engine) as conn:
        row = conn.execute(select(receipts).where(receipts.c.uuid == view["uuid"])).one()
        document = receipt_document(conn, till, row, user, row.cash_given, row.card, row.number, title="КОПИЯ ЧЕКА")
    result = client.op("copy", document)
    return {"receipt": view["uuid"], "print": {"printed": True, "printer": client.printer, "result": result}}


def forget_receipt(receipt_id: int) -> Any:
    """The statement that drops a receipt's print state (a receipt deleted before it was ever printed)."""
    return delete(print_state).where(print_state.c.receipt_id == receipt_id)


__all__ = [
    "DomainError",
    "NotFound",
    "PrintdClient",
    "PrinterError",
    "cash_move",
    "copy",
    "drawer",
    "finish_paid",
    "print_before_pay",
    "print_state",
    "reconcile",
    "refuse_if_printing",
    "release",
    "status",
    "x_report",
    "z_report",
]


def make_return(till: Any, user: Any, receipt_uuid: str, lines: list[tuple[int, int]], card: int | None) -> dict[str, Any]:
    """A return, fiscalised on a registrar (printed on ESC/POS) in the same transaction that stores it:
    a device refusal stores nothing. (A crash after the device answered and before the commit would
    lose the till's copy of a fiscalised return; the registrar's journal then holds it.)"""
    client = client_for(till)
    if client is None:
        return no_printer_note(till.make_return(user, receipt_uuid, lines, card))
    with _lock:
        fiscal = bool(client.info().get("fiscal"))
        if fiscal:
            _reconcile_first(till, client)
        with writing(till.engine) as conn:
            view = till.make_return(user, receipt_uuid, lines, card)  # its refusals come before the device is touched
            row = conn.execute(select(receipts).where(receipts.c.uuid == view["uuid"])).one()
            document = receipt_document(conn, till, row, user, row.cash_given or row.cash, row.card, row.number)
            printed = client.op("receipt", {"receipt": document})
            conn.execute(insert(print_state).values(
                receipt_id=row.id, state=DONE, printer=client.printer, fiscal=fiscal, doc_before=None,
                doc_number=printed.get("document") if fiscal else None, cash=row.cash_given or row.cash, card=row.card,
                attempts=1, updated_at=till.clock()))
    view["print"] = {"printed": True, "printer": client.printer, "fiscal": fiscal,
                     "document": printed.get("document") if fiscal else None, "reconciled": False}
    return view
