"""Secrets an organization gives us (API tokens, webhook secrets) are stored sealed, never in clear text.

Fernet (AES-128-CBC with HMAC-SHA256) keyed by SECRETS_KEY, or derived from SECRET_KEY when that is not set;
rotating the key means re-entering the secrets, which the settings pages allow at any time.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    material = settings.SECRETS_KEY or settings.SECRET_KEY
    key = base64.urlsafe_b64encode(hashlib.sha256(f"cs-platform-secrets:{material}".encode()).digest())
    return Fernet(key)


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode() if secret else ""


def unseal(sealed: str) -> str:
    """The clear secret, or "" when nothing is stored or it was sealed with another key (ask for it again)."""
    if not sealed:
        return ""
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken:
        return ""


def hint(secret: str) -> str:
    """What a settings page may show of a stored secret: its last four characters."""
    return f"…{secret[-4:]}" if len(secret) >= 8 else "set"


def secret_change(stored: str, given: str | None) -> tuple[str, list[str] | None]:
    """The sealed value to keep and the audit before/after, which says what happened and never what the secret is.

    None keeps the stored secret, "" clears it, anything else replaces it.
    """
    if given is None:
        return stored, None
    if given == "":
        return "", (["set", "cleared"] if stored else None)
    return seal(given), ["set" if stored else "not set", "replaced" if stored else "set"]


def sealed_hint(sealed: str) -> str:
    """What a settings page says of a stored secret: its last characters, or that it must be entered again."""
    if not sealed:
        return ""
    secret = unseal(sealed)
    return hint(secret) if secret else "stored under an older key: enter it again"
