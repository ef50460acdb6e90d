"""Admin pages: users, settings by group with inline validation, catalogue import with progress, shift status,
and the service page (sync with the central server, in service.py)."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from icecash.core.errors import DomainError, Forbidden, InvalidInput
from icecash.core.pricefile import parse_price_file
from icecash.core.roles import Role
from icecash.store.db import reading

from ..api import current_user, till_of
from ..catalogue import catalogue_size
from ..service import User
from ..settings import GROUPS, SPEC_BY_NAME, SPECS, validate_changes
from . import service
from .common import context, message_of, page_user, render, to_login

router = APIRouter(include_in_schema=False)
UiUser = Annotated[User, Depends(current_user)]
FormStr = Annotated[str, Form()]
TABS = ("users", "settings", "catalogue", "shift", "service")
MAX_IMPORT_BYTES = 256 << 20
JOBS_KEPT = 20


def _admin_page(request: Request, tab: str, **values: Any) -> Response:
    user = page_user(request)
    if user is None:
        return to_login()
    if user.role < Role.ADMIN:
        return RedirectResponse("/sale", status_code=303)
    till = till_of(request)
    values.setdefault("shift", till.shift_status(user))
    return render("admin.html", context(request, user, nav="admin", tab=tab, tabs=TABS, **_tab_values(request, user, tab), **values))


def _tab_values(request: Request, user: User, tab: str) -> dict[str, Any]:
    till = till_of(request)
    if tab == "users":
        return {"users": till.list_users(user), "error": "", "saved": ""}
    if tab == "settings":
        return _settings_values(request, user, {}, {}, "")
    if tab == "catalogue":
        with reading(till.engine) as conn:
            return {"size": catalogue_size(conn), "job": None}
    if tab == "service":
        return service.service_values(request, user)
    return {"x": till.x_report(user)}


@router.get("/admin", response_class=HTMLResponse)
def admin_root(request: Request) -> Response:
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/{tab}", response_class=HTMLResponse)
def admin_tab(request: Request, tab: str) -> Response:
    if tab not in TABS:
        return RedirectResponse("/admin/users", status_code=303)
    return _admin_page(request, tab)


# --- users -----------------------------------------------------------------------------------------


def _users_fragment(request: Request, user: User, error: str = "", saved: str = "") -> Response:
    return render("_admin_users.html", context(request, user, users=till_of(request).list_users(user), error=error, saved=saved))


@router.post("/ui/admin/users", response_class=HTMLResponse)
def create_user(request: Request, user: UiUser, login: FormStr = "", password: FormStr = "", role: FormStr = "seller",
                name: FormStr = "", code: FormStr = "", theme: FormStr = "light", language: FormStr = "ru") -> Response:
    error = saved = ""
    try:
        if role not in ("seller", "cashier", "admin"):
            raise InvalidInput("bad_role", "Неизвестная роль", "Unknown role", field="role")
        till_of(request).create_user(
            user, login.strip(), password, Role[role.upper()], name.strip()[:128], code.strip()[:64] or None,
            theme if theme in ("light", "dark") else "light", language if language in ("ru", "en") else "ru",
        )
        saved = login.strip()
    except DomainError as exc:
        error = message_of(exc, user.language)
    return _users_fragment(request, user, error, saved)


@router.post("/ui/admin/users/{user_id}", response_class=HTMLResponse)
def update_user(request: Request, user: UiUser, user_id: int, role: FormStr = "", name: FormStr = "", password: FormStr = "",
                code: FormStr = "", theme: FormStr = "", language: FormStr = "", active: FormStr = "") -> Response:
    error = saved = ""
    changes: dict[str, Any] = {"name": name.strip()[:128], "code": code.strip()[:64] or None, "active": active == "1"}
    if role in ("seller", "cashier", "admin"):
        changes["role"] = Role[role.upper()]
    if theme in ("light", "dark"):
        changes["theme"] = theme
    if language in ("ru", "en"):
        changes["language"] = language
    if password:
        changes["password"] = password
    try:
        if user_id == user.id and (changes.get("role", Role.ADMIN) < Role.ADMIN or not changes["active"]):
            raise Forbidden("own_admin", "Нельзя снять с себя роль администратора или отключить себя",
                            "You cannot demote or deactivate yourself", field="role")
        till_of(request).update_user(user, user_id, changes)
        saved = str(user_id)
    except DomainError as exc:
        error = message_of(exc, user.language)
    return _users_fragment(request, user, error, saved)


# --- settings ----------------------------------------------------------------------------------------


def _settings_values(request: Request, user: User, typed: dict[str, str], errors: dict[str, str], saved: str) -> dict[str, Any]:
    values = {**till_of(request).settings(), **typed}
    groups = {group: [spec for spec in SPECS if spec.group == group and not spec.secret] for group in GROUPS}
    return {"groups": groups, "values": values, "errors": errors, "saved": saved}


@router.post("/ui/admin/settings/check", response_class=HTMLResponse)
async def check_setting(request: Request, user: UiUser) -> Response:
    """Inline validation of one setting while it is typed (nothing is stored)."""
    form = await request.form()
    name = str(form.get("name", ""))
    spec = SPEC_BY_NAME.get(name)
    if spec is None:
        return HTMLResponse("")
    value = str(form.get(name, ""))
    error = ""
    try:
        validate_changes({name: value})
    except DomainError as exc:
        error = message_of(exc, user.language)
    return render("_setting_field.html", context(request, user, spec=spec, value=value, error=error, checked=True))


@router.post("/ui/admin/settings", response_class=HTMLResponse)
async def save_settings(request: Request, user: UiUser) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save_settings, request, user, {k: str(v) for k, v in form.items() if k in SPEC_BY_NAME})


def _save_settings(request: Request, user: User, typed: dict[str, str]) -> Response:
    till = till_of(request)
    errors: dict[str, str] = {}
    for name, value in typed.items():  # every bad field at once, not only the first
        try:
            validate_changes({name: value})
        except DomainError as exc:
            errors[name] = message_of(exc, user.language)
    saved = ""
    if not errors:
        current = till.settings()
        changed = {name: value for name, value in typed.items() if current.get(name) != value}
        try:
            if changed:
                till.update_settings(user, changed)
            saved = "1"
            typed = {}
        except DomainError as exc:
            errors[exc.field or "form"] = message_of(exc, user.language)
    return render("_admin_settings.html", context(request, user, **_settings_values(request, user, typed, errors, saved)))


# --- catalogue import with progress ------------------------------------------------------------------


class ImportJob:
    """A price file import running in a thread; the page polls its progress."""

    def __init__(self) -> None:
        self.id = uuid.uuid4().hex
        self.done = 0
        self.total = 0
        self.stage = "parse"
        self.result: dict[str, Any] | None = None
        self.error: DomainError | None = None
        self.finished = False
        self.started = time.monotonic()

    def progress(self, done: int, total: int) -> None:
        self.stage, self.done, self.total = "load", done, total

    @property
    def percent(self) -> int:
        if self.finished and self.error is None:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0


_jobs: dict[str, ImportJob] = {}
_jobs_lock = threading.Lock()


def _run_import(till: Any, user: User, job: ImportJob, data: bytes, filename: str) -> None:
    try:
        price_file = parse_price_file(data, filename)
        job.result = till.import_price_file(user, price_file, job.progress)
    except DomainError as exc:
        job.error = exc
    except Exception as exc:  # noqa: BLE001 - shown to the admin, logged by the thread's caller
        job.error = InvalidInput("import_failed", f"Загрузка не удалась: {exc}", f"Import failed: {exc}", field="file")
    finally:
        job.finished = True


@router.post("/ui/admin/import", response_class=HTMLResponse)
async def start_import(request: Request, user: UiUser, file: UploadFile) -> Response:
    user.require(Role.ADMIN, "загрузка каталога", "importing the catalogue")
    data = await file.read(MAX_IMPORT_BYTES + 1)
    job = ImportJob()
    if not data:
        job.error, job.finished = InvalidInput("empty_file", "Файл пуст", "The file is empty", field="file"), True
    elif len(data) > MAX_IMPORT_BYTES:
        job.error, job.finished = InvalidInput("too_large", "Файл больше 256 МБ", "The file is over 256 MB", field="file"), True
    with _jobs_lock:
        if len(_jobs) >= JOBS_KEPT:
            for old in [key for key, j in _jobs.items() if j.finished][: len(_jobs) - JOBS_KEPT + 1]:
                del _jobs[old]
        _jobs[job.id] = job
    if not job.finished:
        threading.Thread(target=_run_import, args=(till_of(request), user, job, data, file.filename or ""), daemon=True,
                         name=f"import-{job.id[:8]}").start()
    return _job_fragment(request, user, job)


@router.get("/ui/admin/import/{job_id}", response_class=HTMLResponse)
def import_progress(request: Request, user: UiUser, job_id: str) -> Response:
    user.require(Role.ADMIN, "загрузка каталога", "importing the catalogue")
    job = _jobs.get(job_id)
    if job is None:
        return HTMLResponse("")
    return _job_fragment(request, user, job)


def _job_fragment(request: Request, user: User, job: ImportJob) -> Response:
    error = message_of(job.error, user.language) if job.error else ""
    with reading(till_of(request).engine) as conn:
        size = catalogue_size(conn)
    return render("_import_job.html", context(request, user, job=job, error=error, size=size))
