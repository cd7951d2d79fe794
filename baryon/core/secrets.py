"""Small secrets stored in the database, sealed: one format for every feature.

Sources' credentials (:mod:`baryon.connectors.sources`) and alert webhooks' signing
secrets (:mod:`baryon.solutions.sentiment.delivery`) are sealed here with AES-256-GCM
(NIST SP 800-38D, ``cryptography``) under the workspace's secrets key
(:attr:`~baryon.core.config.Settings.secrets_key_file`, 32 random bytes, created on
first use with mode 0600). Each caller passes a **context** — the owner the value
belongs to (an organization id, a channel id) — as the associated data, so a sealed
value copied onto another owner does not open.

Format: ``v1:`` + URL-safe base64 of ``nonce (12 bytes) || ciphertext || tag (16 bytes)``.

Codes: ``secret_unreadable`` (422: a sealed value that does not open under this key
and context).
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

from baryon.core.errors import InvalidInput
from baryon.core.keyfile import ensure_random_key

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from baryon.core.config import Settings

__all__ = ["SEALED_PREFIX", "open_secret", "seal_secret"]

#: The prefix of a value of :func:`seal_secret` (the format's version).
SEALED_PREFIX = "v1:"
_NONCE_BYTES = 12


def _aead(settings: Settings) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(ensure_random_key(settings.resolved_secrets_key_file)[:32])


def seal_secret(settings: Settings, secret: str, *, context: str) -> str:
    """Encrypt ``secret`` bound to ``context`` (its owner's id).

    Returns
    -------
    str
        ``v1:`` + URL-safe base64 text (see the module docstring).
    """
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(settings).encrypt(nonce, secret.encode(), context.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_secret(settings: Settings, sealed: str, *, context: str) -> str:
    """Decrypt a value of :func:`seal_secret` made with the same ``context``.

    Raises
    ------
    InvalidInput
        ``secret_unreadable``: another key (was ``secrets.key`` replaced?), another
        context, an unknown format or a damaged value.
    """
    from cryptography.exceptions import InvalidTag

    unreadable = InvalidInput(
        "a stored secret does not open under this workspace's secrets key (was "
        "secrets.key replaced?); remove what holds it and add it again",
        code="secret_unreadable",
    )
    if not sealed.startswith(SEALED_PREFIX):
        raise unreadable
    try:
        raw = base64.urlsafe_b64decode(sealed.removeprefix(SEALED_PREFIX))
        plain = _aead(settings).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], context.encode())
        return plain.decode()
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise unreadable from None
