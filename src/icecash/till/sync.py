"""The till's sync agent: uploads receipts and Z reports, downloads prices, promotions and variables.

One background thread, never in the cashier's way: selling only touches the till's own
database, and the agent works from it.

- **Outbox.** A finished receipt (paid or cancelled) and a Z report wait with
  ``upload_state = 'pending'`` until the server acknowledges them; only then do they become
  ``'sent'``. The server is idempotent on the UUID, so a batch sent twice (a crash between the
  server's answer and our update, a timeout) is harmless. A backlog is sent in batches of
  :data:`BATCH` back to back, so three days offline drain in seconds, with progress in
  :meth:`SyncAgent.status`.
- **Cadence.** Each job has its interval (settings ``sync_*_s``; the original's cron: receipts
  1 min, Z 5, price 10, promotions 12, variables 14). A failure retries with exponential backoff
  and jitter; "sync now" runs every job at once, and the status says ``syncing`` until each
  of them has run (not "ok" from before the click).
- **Why it failed.** Each failure is classified into a small fixed vocabulary,
  :data:`ERROR_KINDS`, given in the status per job and for the sync as a whole (``error_kind``),
  so a screen never has to read the error's text.
- **Downloads are atomic.** A new price list (full, or the changes since our version) is applied
  in one transaction together with the version it brings: the till sells from the old list
  until the new one is wholly in. Promotions and variables are replaced the same way.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from datetime import date, datetime
from datetime import time as time_of_day
from typing import Any

import httpx
from sqlalchemy import Column, Date, Integer, String, Table, Text, delete, func, insert, select, update
from sqlalchemy.orm import aliased

from icecash import __version__
from icecash.core.pricefile import CatalogueRow, ExtraBarcodeRow, PriceFile, PriceHeader, StockMode
from icecash.core.vat import VatRate
from icecash.core.zreport import accounting_date
from icecash.store.db import reading, writing

from . import catalogue as cat
from .tables import extra_barcodes, metadata, receipt_lines, receipts, settings, shifts, users, z_lines, z_reports

log = logging.getLogger("icecash.till.sync")

# --- the agent's own tables (migration 0004) ---------------------------------------------------------

sync_state = Table(
    "sync_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

server_variables = Table(
    "server_variables",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

server_promotions = Table(
    "server_promotions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # the server's id
    Column("name", String(128), nullable=False),
    Column("date_from", Date, nullable=True),
    Column("date_to", Date, nullable=True),
    Column("time_from", String(8), nullable=False),
    Column("time_to", String(8), nullable=False),
    Column("weekdays", String(7), nullable=False),
    Column("places", Text, nullable=False),
    Column("if_text", Text, nullable=False),
    Column("then_text", Text, nullable=False),
)

server_goods_lists = Table(
    "server_goods_lists",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("code", String(32), primary_key=True),
)

JOBS = ("receipts", "z", "price", "promotions", "variables")
INTERVAL_SETTINGS = {name: f"sync_{name}_s" for name in JOBS}
BATCH = 500  # receipts per upload
TIMEOUT = httpx.Timeout(30.0, connect=5.0)
SECRET_KEY = "secret"

# What kind of failure a job's last error was (``error_kind`` in the status; None: no error).
ERROR_KINDS = {
    "offline": "the server cannot be reached (no connection, refused connection, unknown host)",
    "timeout": "the server was reached but answered too slowly",
    "auth": "the server refused the till's login (regid, shop, till number or secret)",
    "suspended": "the server suspended the firm (its accounting); the outbox waits until lifted",
    "refused": "the server looked at the data and refused it (a receipt, a Z report, a request)",
    "server": "the server failed (5xx) or answered something the till cannot use",
    "internal": "a fault on the till itself (a bug, the database busy): see the till's log",
}


class SyncError(Exception):
    """A failed exchange: what to show on the service page; ``status`` is the server's HTTP status,
    ``kind`` one of :data:`ERROR_KINDS` (by default from the status, see :func:`_kind_of_status`)."""

    def __init__(self, message: str, status: int | None = None, kind: str | None = None):
        super().__init__(message)
        self.status = status
        kind = kind or _kind_of_status(status)
        if kind not in ERROR_KINDS:
            raise ValueError(f"unknown sync error kind {kind!r}")
        self.kind = kind

    @property
    def refused(self) -> bool:
        """The server looked at the data and said no (retrying the same data will not help now): a
        refused batch of receipts is sent again one by one, the refused ones wait in the outbox."""
        return self.kind == "refused"


class Suspended(SyncError):
    """The server suspended the firm (its accounting's user-close): the till sells on, the outbox waits.

    Not a refusal of the data: nothing is marked, every job retries with backoff until lifted.
    """

    def __init__(self, message: str, details: dict[str, Any]):
        super().__init__(message, 403, "suspended")
        self.details = details


def _now() -> float:
    return time.monotonic()


class _Job:
    def __init__(self, name: str):
        self.name = name
        self.next_due = 0.0
        self.failures = 0
        self.last_run: str | None = None
        self.last_ok: str | None = None
        self.last_error: str | None = None
        self.error_kind: str | None = None  # one of ERROR_KINDS while last_error is set
        self.run_no = 0  # the agent's run counter when this job last ran: the latest failure wins


class SyncAgent:
    """The background sync of one till; ``run_job`` also works without the thread (tests, CLI)."""

    def __init__(self, till: Any, transport: httpx.BaseTransport | None = None, batch: int = BATCH,
                 timeout: httpx.Timeout = TIMEOUT):
        self.till = till
        self.batch = batch
        self.timeout = timeout
        self._transport = transport
        self._client: httpx.Client | None = None
        self._client_url = ""
        self._token: str | None = None
        self._jobs = {name: _Job(name) for name in JOBS}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # one job at a time (the thread, or "sync now" from a request)
        self._runs = 0
        self._requested: set[str] = set()  # jobs of a "sync now" that have not started yet
        self._running: str | None = None  # the job running now
        self._running_requested = False  # ... and whether a "sync now" asked for it
        self.progress: dict[str, Any] | None = None
        self.last_contact: str | None = None
        self.suspended: dict[str, Any] | None = None  # the server's "firm suspended" answer, until one succeeds

    # --- life cycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="icecash-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def sync_now(self) -> None:
        """Every job due at once, backoff forgotten (the admin's "sync now"); the status says
        ``syncing`` from now until each job has run."""
        self._requested = set(JOBS)
        for job in self._jobs.values():
            job.next_due = 0.0
            job.failures = 0
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                ready = self.configured()
            except Exception:  # noqa: BLE001 — e.g. the database busy for longer than its timeout: try again
                log.exception("sync: cannot read the settings")
                ready = False
            if not ready:
                self._wake.wait(5.0)
                continue
            now = _now()
            due = [job for job in self._jobs.values() if job.next_due <= now]
            for job in due:
                if self._stop.is_set():
                    return
                self.run_job(job.name)
            nearest = min(job.next_due for job in self._jobs.values())
            self._wake.wait(max(0.05, min(5.0, nearest - _now())))

    # --- configuration ---------------------------------------------------------------------------------

    def configured(self) -> bool:
        s = self.till.settings()
        return bool(s.get("server_url") and s.get("regid") and self.secret())

    def secret(self) -> str:
        with reading(self.till.engine) as conn:
            return conn.execute(select(sync_state.c.value).where(sync_state.c.name == SECRET_KEY)).scalar() or ""

    def set_secret(self, secret: str) -> None:
        with writing(self.till.engine) as conn:
            _put_state(conn, SECRET_KEY, secret)
        self._token = None
        self.sync_now()

    def interval(self, name: str) -> float:
        return float(self.till.settings().get(INTERVAL_SETTINGS[name], "60"))

    # --- one job -----------------------------------------------------------------------------------------

    def run_job(self, name: str) -> bool:
        """Run one job now; True when it succeeded. Schedules the next run either way."""
        job = self._jobs[name]
        with self._lock:
            self._runs += 1
            job.run_no = self._runs
            self._running, self._running_requested = name, name in self._requested
            self._requested.discard(name)
            job.last_run = _stamp()
            try:
                getattr(self, f"_job_{name}")()
            except Exception as exc:  # noqa: BLE001 — any failure is retried later; the thread must live on
                if not isinstance(exc, (SyncError, httpx.HTTPError, OSError)):
                    log.exception("sync %s: unexpected error", name)  # a bug or a locked database: logged whole
                job.failures += 1
                job.last_error = _describe(exc)
                job.error_kind = _kind_of(exc)
                interval = self.interval(name)
                cap = min(300.0, max(2 * interval, 10.0))
                delay = min(cap, min(5.0, interval) * 2 ** (job.failures - 1)) * random.uniform(0.5, 1.0)
                job.next_due = self._again_if_requested(name, _now() + delay)
                log.warning("sync %s failed (%d in a row, next in %.0f s): %s", name, job.failures, delay, job.last_error)
                return False
            finally:
                self.progress = None
                self._running, self._running_requested = None, False
            job.failures = 0
            job.last_error = job.error_kind = None
            job.last_ok = _stamp()
            job.next_due = self._again_if_requested(name, _now() + self.interval(name) * random.uniform(0.95, 1.05))
            return True

    def _again_if_requested(self, name: str, due: float) -> float:
        """``due``, or at once when a "sync now" came while the job ran (it may have missed what was asked for)."""
        return 0.0 if name in self._requested else due

    def sync_all(self) -> dict[str, bool]:
        """Every job once, in order (receipts first): for tests and the command line."""
        return {name: self.run_job(name) for name in JOBS}

    # --- HTTP ---------------------------------------------------------------------------------------------

    def _http(self) -> httpx.Client:
        url = self.till.settings()["server_url"].rstrip("/")
        if self._client is None or self._client_url != url:
            if self._client is not None:
                self._client.close()
            self._client = httpx.Client(base_url=url, timeout=self.timeout, transport=self._transport)
            self._client_url = url
            self._token = None
        return self._client

    def _login(self) -> None:
        s = self.till.settings()
        answer = self._http().post("/api/v1/exchange/auth", json={
            "regid": s["regid"], "idplace": int(s["idplace"]), "nkassa": int(s["nkassa"]), "secret": self.secret()})
        if answer.status_code != 200:
            self._check_suspended(answer)
            kind = _kind_of_status(answer.status_code)  # the login is the data refused here: "auth"
            raise SyncError(f"login refused: {_error_text(answer)}", answer.status_code, "auth" if kind == "refused" else kind)
        try:
            self._token = answer.json()["token"]
        except (ValueError, KeyError, TypeError):
            raise SyncError(f"login: not a token answer: {answer.text[:100]!r}", answer.status_code, "server") from None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call with our token; logs in first or again when the token is gone. 4xx/5xx → SyncError."""
        for attempt in (0, 1):
            if self._token is None:
                self._login()
            answer = self._http().request(method, path, headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
            if answer.status_code == 401 and attempt == 0:
                self._token = None
                continue
            if answer.status_code >= 400:
                self._check_suspended(answer)
                raise SyncError(f"{method} {path}: {answer.status_code} {_error_text(answer)}", answer.status_code)
            self._contacted()
            try:
                return answer.json()
            except ValueError:
                raise SyncError(f"{method} {path}: not a JSON answer: {answer.text[:100]!r}", answer.status_code,
                                "server") from None
        raise SyncError("login lost", 401, "auth")

    def _contacted(self) -> None:
        self.last_contact = _stamp()
        if self.suspended is not None:
            log.warning("the server serves this till again (suspension lifted)")
        self.suspended = None

    def _check_suspended(self, answer: httpx.Response) -> None:
        """A ``403 firm_suspended`` becomes :class:`Suspended`, remembered for the status page."""
        if answer.status_code != 403:
            return
        try:
            error = answer.json()["error"]
        except (ValueError, KeyError, TypeError):
            return
        if not isinstance(error, dict) or error.get("code") != "firm_suspended":
            return
        details = error.get("details") or {}
        if self.suspended is None:
            log.warning("the server suspended this firm: %s", error.get("message_en"))
        self.last_contact = _stamp()  # the server answered: it is reachable
        self.suspended = {"since": details.get("since"), "reason": details.get("reason", ""),
                          "message": error.get("message", ""), "message_en": error.get("message_en", "")}
        raise Suspended(f"firm suspended by the server: {error.get('message_en')}", self.suspended)

    # --- the jobs ------------------------------------------------------------------------------------------

    def _job_receipts(self) -> None:
        backlog = self.backlog()
        self._call("POST", "/api/v1/exchange/heartbeat", json={
            "version": __version__, "printer": self.till.settings().get("printer", "")[:128],
            "backlog": backlog["receipts"], "clock": datetime.now().astimezone().isoformat()})
        self.progress = {"job": "receipts", "sent": 0, "total": backlog["receipts"]}
        refused: set[str] = set()
        while not self._stop.is_set():
            batch = self._pending_receipts(refused)
            if not batch:
                break
            try:
                answer = self._call("POST", "/api/v1/exchange/receipts", json={"receipts": batch})
                acked = answer["accepted"]
            except SyncError as exc:
                if not exc.refused:
                    raise
                acked = self._one_by_one(batch, refused)  # find the refused one; send the rest
            self._mark_sent(receipts, acked)
            self.progress["sent"] += len(acked)
        if refused:
            raise SyncError(f"{len(refused)} receipt(s) refused by the server: {sorted(refused)[:3]}", kind="refused")

    def _one_by_one(self, batch: list[dict[str, Any]], refused: set[str]) -> list[str]:
        acked: list[str] = []
        for receipt in batch:
            try:
                acked += self._call("POST", "/api/v1/exchange/receipts", json={"receipts": [receipt]})["accepted"]
            except SyncError as exc:
                if not exc.refused:
                    raise
                refused.add(receipt["uuid"])
                log.error("receipt %s refused by the server: %s", receipt["uuid"], exc)
        return acked

    def _job_z(self) -> None:
        errors = []
        for report in self._pending_z():
            try:
                answer = self._call("POST", "/api/v1/exchange/z", json={"reports": [report]})
            except SyncError as exc:
                if not exc.refused:
                    raise
                errors.append(f"Z {report['number']}: {exc}")
                continue
            self._mark_sent(z_reports, answer["accepted"])
        if errors:
            raise SyncError("; ".join(errors), kind="refused")

    def _job_price(self) -> None:
        state = self.state()
        since = int(state.get("price_version", "0") or 0)
        known = state.get("price_list") or None
        params: dict[str, Any] = {"since": since}
        if known:
            params["list"] = known
        answer = self._call("GET", "/api/v1/exchange/price", params=params)
        if answer.get("list") is None or answer.get("unchanged"):
            return
        self.progress = {"job": "price", "sent": 0, "total": len(answer["rows"])}
        self.apply_price(answer)

    def _job_promotions(self) -> None:
        since = int(self.state().get("promotions_version", "-1") or -1)
        answer = self._call("GET", "/api/v1/exchange/promotions", params={"since": since})
        if answer.get("unchanged"):
            return
        with writing(self.till.engine) as conn:
            conn.execute(delete(server_promotions))
            conn.execute(delete(server_goods_lists))
            if answer["promotions"]:
                conn.execute(insert(server_promotions), [{
                    "id": p["id"], "name": p["name"], "date_from": _date(p["date_from"]), "date_to": _date(p["date_to"]),
                    "time_from": p["time_from"], "time_to": p["time_to"], "weekdays": p["weekdays"], "places": p["places"],
                    "if_text": p["if_text"], "then_text": p["then_text"]} for p in answer["promotions"]])
            rows = [{"name": name, "code": code} for name, codes in answer["goods_lists"].items() for code in set(codes)]
            if rows:
                conn.execute(insert(server_goods_lists), rows)
            _put_state(conn, "promotions_version", str(answer["version"]))
            self.till.promotions.invalidate()  # parsed again at the next receipt change (icecash.till.promotions)
        self.till.promotions.invalidate()  # and once committed: see TillPromotions.invalidate

    def _job_variables(self) -> None:
        since = int(self.state().get("variables_version", "-1") or -1)
        answer = self._call("GET", "/api/v1/exchange/variables", params={"since": since})
        if answer.get("unchanged"):
            return
        with writing(self.till.engine) as conn:
            conn.execute(delete(server_variables))
            if answer["variables"]:
                conn.execute(insert(server_variables), [{"name": k, "value": v} for k, v in answer["variables"].items()])
            _put_state(conn, "variables_version", str(answer["version"]))
            self.till.promotions.invalidate()
        self.till.promotions.invalidate()

    # --- the outbox ---------------------------------------------------------------------------------------

    def backlog(self) -> dict[str, int]:
        with reading(self.till.engine) as conn:
            r = conn.execute(select(func.count()).select_from(receipts).where(receipts.c.upload_state == "pending")).scalar_one()
            z = conn.execute(select(func.count()).select_from(z_reports).where(z_reports.c.upload_state == "pending")).scalar_one()
        return {"receipts": r, "z": z}

    def _pending_receipts(self, skip: set[str]) -> list[dict[str, Any]]:
        """The next batch of the outbox as the exchange takes it, each receipt with its trading day
        (the shop's ``begin_time`` rule, as for the Z), so the server's reports agree with the till's."""
        begin = time_of_day.fromisoformat(self.till.settings()["begin_time"])
        cashier, seller, original = aliased(users), aliased(users), aliased(receipts)
        stmt = (select(receipts, shifts.c.uuid.label("shift_uuid"), cashier.c.login.label("cashier_login"),
                       seller.c.login.label("seller_login"), original.c.uuid.label("return_of_uuid"))
                .outerjoin(shifts, shifts.c.id == receipts.c.shift_id)
                .outerjoin(cashier, cashier.c.id == receipts.c.cashier_id)
                .outerjoin(seller, seller.c.id == receipts.c.seller_id)
                .outerjoin(original, original.c.id == receipts.c.return_of_id)
                .where(receipts.c.upload_state == "pending", receipts.c.status.in_(("paid", "cancelled")))
                .order_by(receipts.c.id).limit(self.batch + len(skip)))
        with reading(self.till.engine) as conn:
            rows = [r for r in conn.execute(stmt) if r.uuid not in skip][: self.batch]
            if not rows:
                return []
            lines: dict[int, list[dict[str, Any]]] = {r.id: [] for r in rows}
            for ln in conn.execute(select(receipt_lines).where(receipt_lines.c.receipt_id.in_(list(lines)))
                                   .order_by(receipt_lines.c.receipt_id, receipt_lines.c.line_no)):
                lines[ln.receipt_id].append({
                    "line_no": ln.line_no, "code": ln.code, "name": ln.name, "barcode": _barcode(ln.snapshot),
                    "price": ln.price, "quantity": ln.quantity, "storno": bool(ln.storno), "amount": ln.amount,
                    "discount": ln.discount, "total": ln.total, "final_price": ln.final_price, "vat": ln.vat,
                    "vat_amount": ln.vat_amount, "marks": ln.marks})
        return [{
            "uuid": r.uuid, "kind": r.kind, "status": r.status, "number": r.number or 0, "idplace": r.idplace,
            "nkassa": r.nkassa, "shift_uuid": r.shift_uuid or "", "return_of": r.return_of_uuid,
            "created_at": r.created_at.isoformat(), "closed_at": (r.closed_at or r.created_at).isoformat(),
            "business_date": accounting_date(r.closed_at or r.created_at, begin).isoformat(),
            "cashier": r.cashier_login or "", "seller": r.seller_login or "", "card_number": r.card_number,
            "card_rate_bp": r.card_rate_bp, "amount": r.amount, "discount": r.discount, "total": r.total, "cash": r.cash,
            "card": r.card, "cash_given": r.cash_given, "change": r.change, "comment": r.comment, "lines": lines[r.id],
        } for r in rows]

    def _pending_z(self) -> list[dict[str, Any]]:
        with reading(self.till.engine) as conn:
            out = []
            for z in conn.execute(select(z_reports).where(z_reports.c.upload_state == "pending").order_by(z_reports.c.number)):
                report = {k: getattr(z, k) for k in (
                    "uuid", "number", "idplace", "nkassa", "sales_count", "returns_count", "cancels_count", "sales_total",
                    "returns_total", "cancels_total", "cash", "card", "sales_discount", "returns_discount", "cash_in",
                    "cash_out", "revenue")}
                report.update(opened_at=z.opened_at.isoformat(), closed_at=z.closed_at.isoformat(),
                              accounting_date=z.accounting_date.isoformat())
                report["lines"] = [{k: getattr(zl, k) for k in ("code", "name", "sold_quantity", "sold_total",
                                                               "returned_quantity", "returned_total")}
                                   for zl in conn.execute(select(z_lines).where(z_lines.c.z_id == z.id).order_by(z_lines.c.id))]
                out.append(report)
        return out

    def _mark_sent(self, table: Table, uuids: list[str]) -> None:
        with writing(self.till.engine) as conn:
            for start in range(0, len(uuids), 500):
                conn.execute(update(table).where(table.c.uuid.in_(uuids[start:start + 500]), table.c.upload_state == "pending")
                             .values(upload_state="sent"))

    # --- downloads applied atomically ------------------------------------------------------------------

    def apply_price(self, answer: dict[str, Any]) -> None:
        """The server's price answer into the catalogue, with its version, in one transaction.

        A row's ``vat`` and ``no_discount`` are null when no file pushed to the server gave them (an
        older server sends no ``no_discount``): the till then keeps the item's own, as for a local file.
        """
        rows, extras = [], []
        for n, r in enumerate(answer["rows"], 1):
            vat = VatRate(r["vat"]) if r.get("vat") else None
            no_discount = r.get("no_discount")
            rows.append(CatalogueRow(n, r["code"], r["barcode"], r["name"], r["is_item"], r["parent_code"], r["price"],
                                     r["min_price"], r["max_price"], r["max_discount_bp"], r["weighed"], r["department"],
                                     vat, r["alcohol"], r["litres_ml"], r["stock"], r["item_type"], r["scheme"],
                                     None if no_discount is None else bool(no_discount)))
            for barcode, name, price, coefficient in r["extras"]:
                extras.append(ExtraBarcodeRow(n, r["code"], barcode, name, price, coefficient))
        full = bool(answer["full"])
        if full and not any(row.is_item for row in rows):
            raise SyncError(f"price list {answer['list']!r} version {answer['version']} holds no item: catalogue kept",
                            kind="server")
        price_file = PriceFile(PriceHeader(replace_catalogue=full, stock_mode=StockMode.CLEAR), rows, extras, "json")
        stamp = f"{answer['list']}:{answer['version']}"
        with writing(self.till.engine) as conn:
            if not full:
                gone = list(answer["deleted"]) + [r.code for r in rows]
                for start in range(0, len(gone), 500):
                    chunk = gone[start:start + 500]
                    conn.execute(delete(extra_barcodes).where(extra_barcodes.c.item_code.in_(chunk)))
                for start in range(0, len(answer["deleted"]), 500):
                    conn.execute(delete(cat.catalogue).where(cat.catalogue.c.code.in_(answer["deleted"][start:start + 500])))
            if rows:
                cat.import_price_file(conn, price_file, self.till.settings()["default_vat"])
            _put_state(conn, "price_version", str(answer["version"]))
            _put_state(conn, "price_list", answer["list"])
            conn.execute(update(settings).where(settings.c.name == "pricenum").values(value=stamp))
        self.till._settings = None  # pricenum changed under the settings cache

    # --- what the service page shows -----------------------------------------------------------------------

    def state(self) -> dict[str, str]:
        with reading(self.till.engine) as conn:
            return {k: v for k, v in conn.execute(select(sync_state.c.name, sync_state.c.value)) if k != SECRET_KEY}

    def status(self) -> dict[str, Any]:
        """The agent as the service page, the sale screen's dot and ``GET /sync/status`` show it.

        ``state``: ``off`` (not set up), ``syncing`` (a backlog drains, a price list loads, or a
        "sync now" has jobs still to run), ``suspended``, ``error`` (a job's last run failed) or
        ``ok``. ``error_kind`` (one of :data:`ERROR_KINDS`, or None) is the kind of the latest
        failure among the jobs whose last run failed, ``error_job`` that job; each job has its own
        ``error_kind`` next to its ``last_error``.
        """
        now = _now()
        s = self.till.settings()
        configured = self.configured()
        alive = self._thread is not None and self._thread.is_alive()
        running, running_requested = self._running, self._running_requested
        requested = set(self._requested) if alive else set()  # a "sync now" waits for the thread: none, no wait
        jobs = {}
        for name, job in self._jobs.items():
            jobs[name] = {"interval_s": int(self.interval(name)), "last_run": job.last_run, "last_ok": job.last_ok,
                          "last_error": job.last_error, "error_kind": job.error_kind, "failures": job.failures,
                          "next_in_s": max(0, round(job.next_due - now)) if configured else None}
        # the jobs whose last run failed (kept through a "sync now", which forgets the failures' count
        # for the backoff, until each job has run again): they make the state "error" and its kind
        failed = [job for job in self._jobs.values() if job.last_error is not None]
        latest = max(failed, key=lambda job: job.run_no) if failed else None
        asked = running_requested or bool(requested)
        if not configured:
            state = "off"
        elif self.progress or asked:
            state = "syncing"
        elif self.suspended is not None:
            state = "suspended"
        else:
            state = "error" if failed else "ok"
        versions = self.state()
        return {
            "state": state, "server_url": s.get("server_url", ""), "regid": s.get("regid", ""),
            "running": alive, "running_job": running,
            "requested": [name for name in JOBS if name in requested or (name == running and running_requested)],
            "error_kind": latest.error_kind if latest else None, "error_job": latest.name if latest else None,
            "last_contact": self.last_contact, "backlog": self.backlog(), "progress": self.progress, "jobs": jobs,
            "suspended": self.suspended,
            "price_list": versions.get("price_list"), "price_version": int(versions.get("price_version", "0") or 0),
            "promotions_version": int(versions.get("promotions_version", "-1") or -1),
            "variables_version": int(versions.get("variables_version", "-1") or -1),
        }

    def variables(self) -> dict[str, str]:
        with reading(self.till.engine) as conn:
            return dict(conn.execute(select(server_variables.c.name, server_variables.c.value)).all())

    def goods_lists(self) -> dict[str, list[str]]:
        """The firm's goods lists as the server last sent them (for the promotions engine)."""
        out: dict[str, list[str]] = {}
        with reading(self.till.engine) as conn:
            for name, code in conn.execute(select(server_goods_lists.c.name, server_goods_lists.c.code)
                                           .order_by(server_goods_lists.c.name, server_goods_lists.c.code)):
                out.setdefault(name, []).append(code)
        return out

    def promotions(self) -> list[dict[str, Any]]:
        with reading(self.till.engine) as conn:
            return [dict(r._mapping) for r in conn.execute(select(server_promotions).order_by(server_promotions.c.id))]


# --- helpers ---------------------------------------------------------------------------------------------


def _put_state(conn: Any, name: str, value: str) -> None:
    if not conn.execute(update(sync_state).where(sync_state.c.name == name).values(value=value)).rowcount:
        conn.execute(insert(sync_state).values(name=name, value=value))


def _stamp() -> str:
    return datetime.now().astimezone().replace(microsecond=0).isoformat()


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _barcode(snapshot: str) -> str:
    try:
        return str(json.loads(snapshot).get("barcode", ""))[:64]
    except (ValueError, AttributeError):
        return ""


def _error_text(answer: httpx.Response) -> str:
    try:
        error = answer.json()["error"]
        return f"{error.get('code')} [{error.get('field')}]: {error.get('message_en')}"
    except (ValueError, KeyError, TypeError):
        return answer.text[:200]


def _kind_of_status(status: int | None) -> str:
    """The kind (:data:`ERROR_KINDS`) of an HTTP error answer, the one place statuses are sorted:
    401 auth, 408 timeout, 429 (busy), 5xx and anything not 4xx server, any other 4xx refused.

    413 (a batch too large for the server or a proxy before it) is refused, not retried as it is:
    the receipts are then sent one by one, so the batch drains and only a receipt too large alone
    waits in the outbox (see ``_job_receipts``), instead of the same batch failing forever.
    """
    if status == 401:
        return "auth"
    if status == 408:
        return "timeout"
    if status is None or status == 429 or not 400 <= status < 500:
        return "server"
    return "refused"


def _kind_of(exc: Exception) -> str:
    """The kind (:data:`ERROR_KINDS`) of a job's failure, from the exception, never from its text."""
    if isinstance(exc, SyncError):
        return exc.kind
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, (httpx.TransportError, OSError)):
        return "offline"
    if isinstance(exc, httpx.HTTPError):
        return "server"
    return "internal"


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.ConnectError):
        return f"server unreachable: {exc}"
    if isinstance(exc, httpx.TimeoutException):
        return f"server too slow: {type(exc).__name__}"
    return str(exc)[:500]
