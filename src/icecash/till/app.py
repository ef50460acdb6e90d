"""The till service: builds the FastAPI app over a data directory, creating or upgrading its database."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from icecash import __version__
from icecash.store.db import make_engine, sqlite_url
from icecash.store.migrate import upgrade
from icecash.web import BodyLimit, install_error_handlers

from . import api
from .service import Till

log = logging.getLogger("icecash.till")

DB_FILE = "till.sqlite3"
MIGRATIONS = "icecash.till.migrations"
IMPORT_BODY_LIMIT = 256 << 20  # a zipped or plain price file of a large chain


def open_till(data_dir: Path) -> Till:
    """The till over ``data_dir``: the directory and database are created or upgraded as needed."""
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(sqlite_url(data_dir / DB_FILE))
    upgrade(MIGRATIONS, engine)
    till = Till(engine)
    till.ensure_settings()
    return till


LANDING = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>IceCash — касса</title>
<style>body{font:18px/1.5 system-ui,sans-serif;max-width:44em;margin:3em auto;padding:0 1em;color:#123}
a{color:#0a58ca}code{background:#eef;padding:0 .3em}</style></head><body>
<h1>IceCash — касса</h1>
<p>Касса работает. Экран кассира появится в следующей версии; сейчас доступен JSON API.</p>
<p>The till is running. The cashier's screen comes next; the JSON API is available now.</p>
<ul><li><a href="/docs">API (OpenAPI, Swagger UI)</a></li><li><a href="/openapi.json">openapi.json</a></li>
<li><a href="/api/v1/health">/api/v1/health</a></li></ul></body></html>"""


def create_app(till: Till) -> FastAPI:
    app = FastAPI(
        title="IceCash till",
        version=__version__,
        description=(
            "The till (касса) of IceCash: receipts, returns, deferred receipts, cash moves, X and Z reports.\n\n"
            "Money is given and returned as decimal strings of rubles (`\"89.90\"`), quantities as decimal "
            "strings of units or kilograms (`\"0.250\"`). Errors are `{\"error\": {code, field, message, message_en}}`."
        ),
    )
    app.state.till = till
    install_error_handlers(app)
    app.include_router(api.router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def landing() -> str:
        return LANDING

    app.add_middleware(BodyLimit, overrides={"/api/v1/catalogue/import": IMPORT_BODY_LIMIT})
    return app
