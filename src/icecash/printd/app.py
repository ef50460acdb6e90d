"""The print service's FastAPI app: the JSON API, the original XML ``/cmd`` protocol and the admin page."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from icecash import __version__
from icecash.web import BodyLimit, include_routes, install_error_handlers, install_security_docs

from . import api, cmdxml
from .errors import DeviceError
from .service import PrintService, open_service  # noqa: F401  (open_service: the CLI's entry)

log = logging.getLogger("icecash.printd")
DEVICE_STATUS = 502  # the device (upstream of this service) refused or failed


def create_app(service: PrintService | None) -> FastAPI:
    app = FastAPI(
        title="IceCash print service",
        version=__version__,
        description=(
            "The print service (сервис печати) of IceCash: ESC/POS printers and fiscal registrars "
            "(Shtrih-M, ATOL) behind one API.\n\n"
            "Money is integer kopecks, quantities integer thousandths. A device failure answers 502 with "
            "`{\"error\": {code, field, message, message_en}}`; jobs answer every command's result."
        ),
    )
    app.state.printd = service
    install_error_handlers(app)
    install_security_docs(app)

    @app.exception_handler(DeviceError)
    async def _device(_request: Request, exc: DeviceError) -> JSONResponse:
        return JSONResponse({"error": exc.as_dict()}, status_code=DEVICE_STATUS)

    include_routes(app, api.router, cmdxml.router)
    install_pages(app)
    app.add_middleware(BodyLimit)
    return app


def install_pages(app: FastAPI) -> None:
    """The admin web page (see :mod:`icecash.printd.pages`-like routes below, kept here)."""
    from .ui import router as ui_router

    include_routes(app, ui_router)
