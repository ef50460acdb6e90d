"""A real HTTP server that fails slowly: every request waits ``delay`` seconds, then gets ``503``.

For the sync agent's tests (tests/till/test_sync.py) and the service page's browser tests
(tests/e2e/test_service_page.py): with it, a "sync now" takes seconds to fail, long enough to be
seen in progress.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FailingServer:
    """The running server: ``url``, and ``delay`` (seconds before each 503), changeable while it runs."""

    def __init__(self, delay: float):
        self.delay = delay
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                time.sleep(owner.delay)
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"error": {"code": "down", "message_en": "maintenance"}}')

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args):  # quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"


@contextmanager
def failing_server(delay: float = 0.0) -> Iterator[FailingServer]:
    server = FailingServer(delay)
    threading.Thread(target=server.httpd.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
