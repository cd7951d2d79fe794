"""Sources' credentials: encrypted at rest, or referenced from the settings; never shown.

A credential given to a source is sealed with AES-256-GCM (``cryptography``) under the
workspace's secrets key (:attr:`~baryon.core.config.Settings.secrets_key_file`, created
on first use with mode 0600). The source's organization id is the associated data, so
a sealed value copied onto another organization's source does not open. Alternatively
a source names an entry of :attr:`~baryon.core.config.Settings.source_secrets`
(``secret_ref``) and stores nothing secret at all.

Codes: ``secret_unreadable`` (a sealed value that does not open under this key),
``unknown_secret_ref`` (422).
"""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

from baryon.core.errors import InvalidInput
from baryon.core.keyfile import ensure_random_key

if TYPE_CHECKING:
    from baryon.core.config import Settings

__all__ = ["open_secret", "resolve_secret_ref", "seal_secret"]

_NONCE_BYTES = 12


def _aead(settings: Settings):  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(ensure_random_key(settings.resolved_secrets_key_file)[:32])


def seal_secret(settings: Settings, secret: str, *, org_id: str) -> str:
    """Encrypt ``secret`` for organization ``org_id``; return ``v1:`` + base64 text."""
    nonce = os.urandom(_NONCE_BYTES)
    sealed = _aead(settings).encrypt(nonce, secret.encode(), org_id.encode())
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_secret(settings: Settings, sealed: str, *, org_id: str) -> str:
    """Decrypt a value of :func:`seal_secret`.

    Raises
    ------
    InvalidInput
        ``secret_unreadable``: wrong key, organization or a damaged value.
    """
    from cryptography.exceptions import InvalidTag

    try:
        raw = base64.urlsafe_b64decode(sealed.removeprefix("v1:"))
        plain = _aead(settings).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], org_id.encode())
        return plain.decode()
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "a source's stored credential does not open under this workspace's secrets key "
            "(was secrets.key replaced?); remove the source and add it again",
            code="secret_unreadable",
        ) from None


def resolve_secret_ref(settings: Settings, ref: str) -> str:
    """Return the named entry of ``settings.source_secrets``.

    Raises
    ------
    InvalidInput
        ``unknown_secret_ref``.
    """
    value = settings.source_secrets.get(ref)
    if value is None:
        raise InvalidInput(
            f"no secret named {ref!r} in BARYON_SOURCE_SECRETS", code="unknown_secret_ref"
        )
    return value
