"""Sources' credentials: encrypted at rest, or referenced from the settings; never shown.

A credential given to a source is sealed by :func:`baryon.core.secrets.seal_secret`
(AES-256-GCM under the workspace's secrets key,
:attr:`~baryon.core.config.Settings.secrets_key_file`) with the source's organization
id as the context, so a sealed value copied onto another organization's source does
not open. Alternatively a source names an entry of
:attr:`~baryon.core.config.Settings.source_secrets` (``secret_ref``) and stores nothing
secret at all.

Codes: ``secret_unreadable`` (a sealed value that does not open under this key),
``unknown_secret_ref`` (422).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baryon.core.errors import InvalidInput

if TYPE_CHECKING:
    from baryon.core.config import Settings

__all__ = ["resolve_secret_ref"]


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
