"""The one way tests start a pytest-httpserver: on 127.0.0.1 (never every interface), a free port, quiet logs."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from pytest_httpserver import HTTPServer


@contextmanager
def loopback_server() -> Iterator[HTTPServer]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request would drown the test output
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()
