"""Posting to an organization's Slack channel through its incoming webhook (seed 000: "#support-tickets")."""

import json
import logging
import urllib.error
import urllib.request

logger = logging.getLogger(__name__)


def slack_post(*, webhook_url: str, text: str, timeout: float = 10.0) -> bool:
    """One message; False (and a warning, without the URL, which is a secret) when Slack does not take it."""
    request = urllib.request.Request(  # noqa: S310 (the URL is the organization's own https webhook)
        webhook_url,
        data=json.dumps({"text": text}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return 200 <= response.status < 300
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        logger.warning("Slack webhook post failed: %s", exc.__class__.__name__)
        return False
