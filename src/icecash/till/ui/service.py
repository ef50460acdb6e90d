"""The till's service page (sync with the central server) and the sale screen's small sync indicator.

Both read :meth:`icecash.till.sync.SyncAgent.status`, the same view ``GET /api/v1/sync/status``
answers. The admin's card refreshes itself every few seconds (htmx); the sale screen's dot is
polled slowly by the page's script and never takes the focus.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from icecash.core.roles import Role

from ..api import current_user
from ..service import User
from .common import N_, context, render

router = APIRouter(include_in_schema=False)
UiUser = Annotated[User, Depends(current_user)]

JOB_NAMES = {"receipts": N_("Receipts"), "z": N_("Z reports"), "price": N_("Price list"),
             "promotions": N_("Promotions"), "variables": N_("Server variables")}
REFRESH_S = 3  # the admin's card
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
    errors = [job["last_error"] for job in status["jobs"].values() if job.get("last_error")]
    shown = status["state"]
    if shown == "error" and any(e.startswith(("server unreachable", "server too slow")) for e in errors):
        shown = "offline"
    status["shown"] = shown
    status["error"] = errors[0] if errors else ""
    status["slow"] = any(e.startswith("server too slow") for e in errors)
    status["pending"] = status["backlog"]["receipts"] + status["backlog"]["z"]
    progress = status.get("progress")
    if progress and progress.get("total"):
        status["percent"] = min(100, int(progress["sent"] * 100 / progress["total"]))
    else:
        status["percent"] = None
    return status


def _sync_context(request: Request, user: User, **values: Any) -> dict[str, Any]:
    return context(request, user, sync=sync_view(request), job_names=JOB_NAMES, refresh_s=REFRESH_S, **values)


def service_values(request: Request, user: User) -> dict[str, Any]:
    """What the admin page's "service" tab shows (see admin.py)."""
    return {"sync": sync_view(request), "job_names": JOB_NAMES, "refresh_s": REFRESH_S, "note": "", "error": ""}


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
    agent.sync_now()
    ctx = _sync_context(request, user, note=gettext("Sync started: every job runs now"), error="")
    if ctx["sync"]["shown"] != "off":  # the jobs run in the agent's thread now; the card's next refresh shows how they went
        ctx["sync"]["shown"] = "syncing"
    return render("_sync.html", ctx)


@router.get("/ui/sync/indicator", response_class=HTMLResponse)
def indicator(request: Request, user: UiUser) -> Response:
    """The sale screen's sync dot (any role: it tells, it does nothing)."""
    return render("_sync_indicator.html", _sync_context(request, user))
