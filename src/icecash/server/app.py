"""The central server service: the FastAPI app over a data directory (SQLite) or a database URL."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from icecash import __version__
from icecash.store.db import make_engine, sqlite_url
from icecash.store.migrate import upgrade
from icecash.web import BodyLimit, error_body, include_routes, install_error_handlers, install_security_docs

from . import backoffice, billing, exchange, pages
from .service import RateLimited, Server

log = logging.getLogger("icecash.server")

DB_FILE = "server.sqlite3"
MIGRATIONS = "icecash.server.migrations"
EXCHANGE_BODY_LIMIT = 32 << 20  # a batch of 1,000 receipts of many lines
FILE_BODY_LIMIT = 17 << 20  # files are refused by the service over 16 MiB, with a clear error
STATIC = Path(__file__).resolve().parent.parent / "static"


def database_url(data_dir: Path, db_url: str | None = None) -> str:
    return db_url or sqlite_url(data_dir / DB_FILE)


def open_server(data_dir: Path, db_url: str | None = None, *, billing_home: Path | None = None,
                billing_maildir: Path | None = None, billing_daily: str | None = None) -> Server:
    """The server over ``db_url`` (default: SQLite under ``data_dir``), created or upgraded as needed,
    with its accounting home (default ``data_dir/billing``; see server/billing.py)."""
    from .billing import attach_billing, parse_daily_at

    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url(data_dir, db_url))
    upgrade(MIGRATIONS, engine)
    server = Server(engine)
    attach_billing(server, billing_home or data_dir / "billing", billing_maildir, parse_daily_at(billing_daily))
    return server


def create_app(server: Server) -> FastAPI:
    app = FastAPI(
        title="IceCash central server",
        version=__version__,
        description=(
            "The central server of IceCash: the tills' exchange (`/api/v1/exchange`), the back office and feeders "
            "(`/api/v1/firms/{regid}/…`), the admin and report pages (`/`).\n\n"
            "On the exchange, money is integer kopecks and quantities integer thousandths. Errors are "
            "`{\"error\": {code, field, message, message_en}}`."
        ),
    )
    app.state.server = server
    install_error_handlers(app)
    install_security_docs(app)

    @app.exception_handler(RateLimited)
    async def _rate_limited(_request: Request, exc: RateLimited) -> JSONResponse:
        retry = str(exc.details.get("retry_after", 60))
        body = error_body(exc.code, exc.message_ru, exc.message_en, exc.field, retry_after=int(retry))
        return JSONResponse(body, status_code=429, headers={"Retry-After": retry})

    include_routes(app, exchange.router)
    exchange.document_bodies(app)
    include_routes(app, backoffice.router, pages.router)
    billing.install(app)
    app.add_exception_handler(pages.LoginRequired, pages.to_login)
    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, overrides={"/api/v1/exchange/": EXCHANGE_BODY_LIMIT,
                                             "/api/v1/firms/": backoffice.PRICE_BODY_LIMIT,
                                             "/firms/": backoffice.PRICE_BODY_LIMIT})
    return app
