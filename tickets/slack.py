"""Posting to an organization's Slack channel through its incoming webhook (seed 000: "#support-tickets").

The webhook address is typed in by an admin, so it goes through core.outbound_http like every address our users type
(playbooks' Slack and webhook steps too): no loopback or private targets, no redirects, a timeout.
"""

import json
import logging

from core.outbound_http import OutboundRefusedError, outbound_post

logger = logging.getLogger(__name__)


def slack_message_body(text: str) -> bytes:
    """An incoming webhook's message: plain text (Slack renders its own mrkdwn in it)."""
    return json.dumps({"text": text}).encode()


def slack_post(*, webhook_url: str, text: str, timeout: float = 10.0) -> bool:
    """One message; False (and a warning, without the URL, which is a secret) when Slack does not take it."""
    try:
        response = outbound_post(
            url=webhook_url, body=slack_message_body(text), headers={"Content-Type": "application/json"},
            timeout=timeout,
        )  # fmt: skip
    except OutboundRefusedError as exc:
        logger.warning("Slack webhook refused: %s", exc)
        return False
    if not response.ok:
        logger.warning("Slack webhook post failed: %s", response.error or f"HTTP {response.status}")
    return response.ok
