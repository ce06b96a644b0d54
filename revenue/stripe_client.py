"""One StripeClient per organization, built from its Connection: its restricted key, and its API address when an
override is set (tests point it at localstripe or the stand-in on 127.0.0.1).

The SDK's own network retries are off: Celery tasks retry with exponential backoff and jitter (revenue.tasks), and
actions carry their own idempotency keys (revenue.services), so a retry is always ours and always visible.
"""

from typing import Any

import stripe

from integrations.models import Connection
from integrations.services import connection_api_key

# What a retry may fix: the network, Stripe's rate limit, or Stripe's own 5xx (stripe.APIError).
TRANSIENT_STRIPE_ERRORS: tuple[type[Exception], ...] = (
    stripe.APIConnectionError,
    stripe.RateLimitError,
    stripe.APIError,
)


class StripeNotConfigured(Exception):  # noqa: N818 - a state of the connection
    pass


def stripe_client_for(connection: Connection) -> stripe.StripeClient:
    api_key = connection_api_key(connection)
    if not api_key:
        raise StripeNotConfigured("The organization's Stripe connection has no API key.")
    base_addresses: dict[str, str] = {}
    if connection.api_base_url:
        base_addresses["api"] = connection.api_base_url.rstrip("/")
    return stripe.StripeClient(api_key, base_addresses=base_addresses or None, max_network_retries=0)


def as_dict(obj: Any) -> dict[str, Any]:
    """SDK objects and webhook payloads alike become plain dicts, which is all the apply functions read."""
    if obj is None:
        return {}
    if isinstance(obj, stripe.StripeObject):
        return obj.to_dict(for_json=True)
    return dict(obj)
