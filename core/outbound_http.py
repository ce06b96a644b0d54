"""Outbound HTTP to addresses our users type in (Slack webhooks of the inbox, churn and playbooks; playbook
webhooks), made safe to call.

A CSM can type any URL; without care that is a server-side request forgery hole (http://169.254.169.254/ reads the
cloud's metadata, http://10.0.0.5/ reaches the internal network). So:
  - only http and https, and only ports a web service uses (80, 443, or 1024 and above);
  - the host is resolved once, every address it resolves to must be public (not loopback, private, link-local,
    reserved, multicast or unspecified), and the connection goes to that checked address, so a DNS answer that
    changes between the check and the connection (rebinding) cannot slip a private address in;
  - redirects are never followed (http.client does not), so a public URL cannot bounce us to a private one: a 3xx
    is simply the recorded answer;
  - a timeout on connect and read, and only the first few KB of the answer are read and kept.
`OUTBOUND_HTTP_ALLOW_PRIVATE` (settings, false by default) lifts the address check for the tests' 127.0.0.1 fakes.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

EXCERPT_BYTES = 2000


class OutboundRefusedError(Exception):
    """The target may not be called (scheme, port or address); the message says why, for the step's error."""


@dataclass(frozen=True)
class OutboundResponse:
    host: str
    status: int | None
    excerpt: str
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _address_refused(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def outbound_target_check(url: str) -> tuple[str, int, str, str]:
    """(scheme, port, host, address to connect to) for a URL we may call; raises OutboundRefusedError otherwise."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundRefusedError("Only http and https addresses can be called.")
    host = parts.hostname
    if not host:
        raise OutboundRefusedError("The address has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundRefusedError("The address has an invalid port.") from exc
    allow_private = settings.OUTBOUND_HTTP_ALLOW_PRIVATE
    if port not in (80, 443) and port < 1024 and not allow_private:
        raise OutboundRefusedError(f"Port {port} may not be called.")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundRefusedError(f"The host {host} could not be resolved.") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise OutboundRefusedError(f"The host {host} could not be resolved.")
    if not allow_private:
        refused = [address for address in addresses if _address_refused(address)]
        if refused:
            raise OutboundRefusedError(
                f"{host} resolves to a private or reserved address ({refused[0]}); it is not called."
            )
    return parts.scheme, port, host, addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address but verifies the certificate (and sends SNI) for the host name."""

    def __init__(self, host, port, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def outbound_post(*, url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0) -> OutboundResponse:
    """POSTs once. A refused target raises OutboundRefusedError before anything is sent; a network failure comes back
    as a response with `error` set (no status), so the caller records it either way."""
    scheme, port, host, address = outbound_target_check(url)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection_class = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(host, port, address, timeout)
    started = time.monotonic()
    try:
        connection.request("POST", path, body=body, headers={"User-Agent": "cs-platform", **headers})
        response = connection.getresponse()
        excerpt = response.read(EXCERPT_BYTES).decode("utf-8", errors="replace")
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        duration = round((time.monotonic() - started) * 1000)
        return OutboundResponse(host=host, status=None, excerpt="", duration_ms=duration, error=_describe(exc))
    finally:
        connection.close()
    return OutboundResponse(
        host=host, status=status, excerpt=excerpt, duration_ms=round((time.monotonic() - started) * 1000)
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "The call timed out."
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.__class__.__name__}."
    if isinstance(exc, ConnectionRefusedError):
        return "The connection was refused."
    return f"The call failed: {exc.__class__.__name__}."
