"""localstripe (a stateful fake Stripe server) as a subprocess on 127.0.0.1, for tests that talk real HTTP.

localstripe's own CLI binds `::` (every interface) and pickles its whole store to /tmp/localstripe.pickle after
every write, a file any other run on this machine shares. So we start it through `main()` below instead: it binds
127.0.0.1 on a port the kernel picks, prints that port, and keeps the store in memory only.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

LOCALSTRIPE_API_KEY = "sk_test_localstripe_helper"  # localstripe accepts any key that starts with sk_


@dataclass(frozen=True)
class LocalStripe:
    url: str
    api_key: str = LOCALSTRIPE_API_KEY

    def configure_webhook(self, *, name: str, url: str, secret: str, events: list[str] | None = None) -> None:
        """localstripe's own endpoint (not Stripe's API): POST /_config/webhooks/<name> with url and secret."""
        fields: list[tuple[str, str]] = [("url", url), ("secret", secret)]
        fields += [("events[]", event_type) for event_type in events or []]
        requests.post(f"{self.url}/_config/webhooks/{name}", data=fields, timeout=5).raise_for_status()

    def flush(self) -> None:
        """Forget every object (DELETE /_config/data), so each test starts from an empty Stripe account."""
        requests.delete(f"{self.url}/_config/data", timeout=5).raise_for_status()


@contextmanager
def localstripe_server(startup_timeout: float = 15.0) -> Iterator[LocalStripe]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.stripe_local"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    try:
        port_line = process.stdout.readline().strip()
        if not port_line.isdigit():
            raise RuntimeError(f"localstripe did not start (said {port_line!r})")
        server = LocalStripe(url=f"http://127.0.0.1:{port_line}")
        _wait_until_answering(server, startup_timeout)
        yield server
    finally:
        process.kill()
        process.wait(timeout=5)


def _wait_until_answering(server: LocalStripe, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(
                f"{server.url}/v1/customers", params={"limit": 1}, auth=(server.api_key, ""), timeout=1
            ).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def main() -> None:
    import logging

    from aiohttp import web
    from localstripe import resources, server

    # In memory only: no shared pickle under /tmp, nothing loaded from a previous run.
    resources.Store.dump_to_disk = lambda self: None

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sys.stdout.write(f"{sock.getsockname()[1]}\n")
    sys.stdout.flush()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(server.app, sock=sock, print=None, access_log=None, handle_signals=True)


if __name__ == "__main__":
    main()
