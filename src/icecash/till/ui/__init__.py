"""The cashier's web UI of the till: server-rendered Jinja2 pages with htmx and a little plain JS.

``install(app)`` mounts the pages, the UI's fragment routes (``/ui/...``) and the static files.
The pages call the till's use-cases (:class:`icecash.till.service.Till`) directly and answer
with HTML; browser sessions are the JSON API's (cookie + ``X-CSRF-Token``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from icecash.web import include_routes

SHARED_STATIC = Path(__file__).resolve().parent.parent.parent / "static"
TILL_STATIC = Path(__file__).resolve().parent.parent / "static"


def install(app: FastAPI) -> None:
    from . import admin, pages, sale, service

    app.mount("/static/shared", StaticFiles(directory=SHARED_STATIC), name="static-shared")
    app.mount("/static/till", StaticFiles(directory=TILL_STATIC), name="static-till")
    include_routes(app, pages.router, sale.router, admin.router, service.router)
