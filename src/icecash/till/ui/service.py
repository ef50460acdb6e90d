"""The till's service page (sync with the central server, receipts stuck in printing) and the sale
screen's small sync indicator.

The sync card and the dot read :meth:`icecash.till.sync.SyncAgent.status`, the same view
``GET /api/v1/sync/status`` answers. The admin's card refreshes itself every few seconds (htmx);
the sale screen's dot is polled slowly by the page's script and never takes the focus.

The printing card lists every user's receipt whose print is unfinished (:func:`icecash.till.printing.pending`)
and lets the admin release one (asked once more on the card) or reconcile them all with the
registrar, as ``POST /api/v1/receipts/{uuid}/release`` and ``POST /api/v1/printing/reconcile`` do.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from icecash.core.errors import DomainError
from icecash.core.roles import Role

from .. import printing
from ..api import current_user, till_of
from ..service import User
from .common import N_, context, message_of, render

router = APIRouter(include_in_schema=False)
UiUser = Annotated[User, Depends(current_user)]

JOB_NAMES = {"receipts": N_("Receipts"), "z": N_("Z reports"), "price": N_("Price list"),
             "promotions": N_("Promotions"), "variables": N_("Server variables")}
# What a job's failure was, by its kind (the same keys as icecash.till.sync.ERROR_KINDS), under its row.
ERROR_TEXTS = {"offline": N_("The server cannot be reached."), "timeout": N_("The server answers too slowly."),
               "auth": N_("The server refused the till's login."), "suspended": N_("Suspended by the server"),
               "refused": N_("The server refused the data."), "server": N_("The server answered with an error."),
               "internal": N_("A fault on the till itself: see the till's log.")}
REFRESH_S = 3  # the admin's card
SYNCING_REFRESH_S = 1  # ... while a sync runs: its end is shown as soon as it comes
OFFLINE_KINDS = ("offline", "timeout")  # errors shown as "no connection" rather than "server error"
INDICATOR_S = 15  # the sale screen's dot (also refreshed after each payment)


def agent_of(request: Request) -> Any:
    """The till's sync agent (None in an app built without one)."""
    return getattr(request.app.state, "sync", None)


def sync_view(request: Request) -> dict[str, Any] | None:
    """The agent's status, with what the screens add: ``shown`` (the state a person reads) and the worst error."""
    agent = agent_of(request)
    if agent is None:
        return None
    status = agent.status()
    kind = status["error_kind"]  # the latest failure's kind (icecash.till.sync.ERROR_KINDS), never read from its text
    shown = status["state"]
    if shown == "error" and kind in OFFLINE_KINDS:
        shown = "offline"
    status["shown"] = shown
    status["error"] = status["jobs"][status["error_job"]]["last_error"] if status["error_job"] else ""
    status["slow"] = kind == "timeout"
    status["pending"] = status["backlog"]["receipts"] + status["backlog"]["z"]
    progress = status.get("progress")
    if progress and progress.get("total"):
        status["percent"] = min(100, int(progress["sent"] * 100 / progress["total"]))
    else:
        status["percent"] = None
    return status


def _sync_values(request: Request) -> dict[str, Any]:
    sync = sync_view(request)
    return {"sync": sync, "job_names": JOB_NAMES, "error_texts": ERROR_TEXTS,
            "refresh_s": SYNCING_REFRESH_S if sync and sync["shown"] == "syncing" else REFRESH_S}


def _sync_context(request: Request, user: User, **values: Any) -> dict[str, Any]:
    return context(request, user, **_sync_values(request), **values)


def service_values(request: Request, user: User) -> dict[str, Any]:
    """What the admin page's "service" tab shows (see admin.py)."""
    return {**_sync_values(request), "note": "", "error": "", **_printing_values(request)}


@router.get("/ui/admin/sync", response_class=HTMLResponse)
def sync_card(request: Request, user: UiUser) -> Response:
    """The service page's sync card, refreshed by itself every few seconds."""
    user.require(Role.ADMIN, "состояние обмена", "the sync state")
    return render("_sync.html", _sync_context(request, user, note="", error=""))


@router.post("/ui/admin/sync/now", response_class=HTMLResponse)
def sync_now(request: Request, user: UiUser) -> Response:
    """"Sync now": every job due at once (as ``POST /api/v1/sync/now``, admin only)."""
    user.require(Role.ADMIN, "синхронизация", "syncing")
    gettext = context(request, user)["_"]
    agent = agent_of(request)
    if agent is None:
        return render("_sync.html", _sync_context(request, user, note="", error=gettext("This till has no sync agent")))
    agent.sync_now()  # the jobs run in the agent's thread; its status says "syncing" until each has run
    return render("_sync.html", _sync_context(request, user, note=gettext("Sync started: every job runs now"), error=""))


@router.get("/ui/sync/indicator", response_class=HTMLResponse)
def indicator(request: Request, user: UiUser) -> Response:
    """The sale screen's sync dot (any role: it tells, it does nothing)."""
    return render("_sync_indicator.html", _sync_context(request, user))


# --- receipts stuck in printing (printing.py): the admin releases any user's ---------------------------


def _printing_values(request: Request, confirm: str = "", note: str = "", error: str = "") -> dict[str, Any]:
    return {"pending": printing.pending(till_of(request)), "confirm": confirm, "print_note": note, "print_error": error}


def _printing_card(request: Request, user: User, **values: Any) -> Response:
    return render("_print_pending.html", context(request, user, **_printing_values(request, **values)))


@router.get("/ui/admin/printing", response_class=HTMLResponse)
def printing_card(request: Request, user: UiUser, confirm: str = "") -> Response:
    """The card of receipts stuck in printing; ``confirm``: the receipt whose release is asked about."""
    user.require(Role.ADMIN, "чеки, ждущие печати", "receipts waiting for the printer")
    return _printing_card(request, user, confirm=confirm[:64])


@router.post("/ui/admin/printing/release", response_class=HTMLResponse)
def printing_release(request: Request, user: UiUser, uuid: Annotated[str, Form()] = "") -> Response:
    """Release one receipt, whoever owns it (admin only here; the registrar is asked first)."""
    user.require(Role.ADMIN, "освобождение чужого чека", "releasing another user's receipt")
    gettext = context(request, user)["_"]
    try:
        printing.release(till_of(request), user, uuid.strip())
    except DomainError as exc:
        return _printing_card(request, user, error=message_of(exc, user.language))
    return _printing_card(request, user, note=gettext("Receipt released: its cashier can change it, pay it again or cancel it"))


@router.post("/ui/admin/printing/reconcile", response_class=HTMLResponse)
def printing_reconcile(request: Request, user: UiUser) -> Response:
    """Settle every unfinished print with the registrar: the receipts it holds are marked paid."""
    user.require(Role.ADMIN, "сверка с регистратором", "reconciling with the registrar")
    gettext = context(request, user)["_"]
    try:
        settled = printing.reconcile(till_of(request), user)
    except DomainError as exc:
        return _printing_card(request, user, error=message_of(exc, user.language))
    note = gettext("Reconciled with the registrar: %(paid)s marked paid, %(unpaid)s still unpaid") % {
        "paid": len(settled["paid"]), "unpaid": len(settled["unpaid"])}
    return _printing_card(request, user, note=note)
