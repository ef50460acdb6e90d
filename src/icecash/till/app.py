"""The till service: builds the FastAPI app over a data directory, creating or upgrading its database."""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI

from icecash import __version__
from icecash.store.db import make_engine, sqlite_url
from icecash.store.migrate import upgrade
from icecash.web import BodyLimit, include_routes, install_error_handlers, install_security_docs

from . import api, sync  # noqa: F401  (sync: its tables join the till's metadata)
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
    if till is not None:  # the sync agent: idle until server_url, regid and the secret are set
        from .sync import SyncAgent

        app.state.sync = SyncAgent(till)
        app.router.on_startup.append(app.state.sync.start)
        app.router.on_shutdown.append(app.state.sync.stop)
    install_error_handlers(app)
    install_security_docs(app)
    include_routes(app, api.router)

    from .ui import install as install_ui

    install_ui(app)  # the cashier's screen at /, its fragments under /ui, static files under /static
    app.add_middleware(BodyLimit, overrides={"/api/v1/catalogue/import": IMPORT_BODY_LIMIT})
    return app
