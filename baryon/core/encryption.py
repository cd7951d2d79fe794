"""Envelope encryption: AES-256-GCM data keys wrapped by a key-encryption key (KEK).

Each encrypted artifact has its own random 256-bit *data key*; the artifact is
sealed with it by AES-256-GCM (NIST SP 800-38D) and only the data key, *wrapped*
(itself encrypted) by a key-encryption key, is kept beside it. Rotating the KEK then
re-wraps a few dozen bytes per artifact and never rewrites the artifacts; deleting a
wrapped key makes its artifact unreadable for good (crypto-shredding). This is the
envelope scheme of cloud KMSs (e.g. AWS KMS "envelope encryption", Google Cloud
KMS "envelope encryption"), so a KMS can stand in for the key file.

Formats
-------
Sealed artifact: ``MAGIC`` (8 bytes, ``b"BRYENC1\\n"``) + 12-byte random nonce +
AES-GCM ciphertext and 16-byte tag of the plaintext, with ``MAGIC`` as associated
data. Wrapped key (file provider): 12-byte nonce + AES-GCM of the 32-byte data key
under the KEK, with the KEK's id as associated data (60 bytes).

Key providers
-------------
:class:`KeyProvider` is the interface (``wrap``, ``unwrap``, rotation); a KMS
implements it by calling its own wrap/unwrap (encrypt/decrypt) API.
:class:`FileKeyProvider` keeps a key ring in a 0600 file (``$BARYON_HOME/kek``,
written through :mod:`baryon.core.keyfile`): one ``KEK_ID HEX`` line per key, the
first one current. An absent file or key is :class:`EncryptionKeyMissing`.
"""

from __future__ import annotations

import os
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from baryon.core.errors import EncryptionKeyMissing, IntegrityError
from baryon.core.keyfile import read_secret_file, write_secret_file

__all__ = [
    "MAGIC",
    "FileKeyProvider",
    "KeyProvider",
    "WrappedKey",
    "is_sealed",
    "new_data_key",
    "open_sealed",
    "seal",
]

#: First bytes of every sealed artifact.
MAGIC = b"BRYENC1\n"
_NONCE = 12
_KEY_BYTES = 32


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted by a key-encryption key.

    Attributes
    ----------
    kek_id : str
        Which KEK wrapped it (at most 40 characters).
    wrapped : bytes
        The provider's ciphertext of the data key.
    """

    kek_id: str
    wrapped: bytes


def new_data_key() -> bytes:
    """Return a fresh random 256-bit AES key (32 bytes)."""
    return AESGCM.generate_key(bit_length=256)


def is_sealed(data: bytes) -> bool:
    """Whether ``data`` starts like a sealed artifact."""
    return data[: len(MAGIC)] == MAGIC


def seal(plaintext: bytes, data_key: bytes) -> bytes:
    """Encrypt ``plaintext`` with AES-256-GCM under ``data_key`` (format in the module doc).

    Parameters
    ----------
    plaintext : bytes
    data_key : bytes
        32 bytes (:func:`new_data_key`); never reuse one for two artifacts.

    Returns
    -------
    bytes
        ``len(plaintext) + 36`` bytes.
    """
    nonce = os.urandom(_NONCE)
    return MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, MAGIC)


def open_sealed(blob: bytes, data_key: bytes) -> bytes:
    """Decrypt a sealed artifact made by :func:`seal`.

    Raises
    ------
    IntegrityError
        ``decryption_failed``: not a sealed artifact, the wrong key, or bytes changed.
    """
    if not is_sealed(blob) or len(blob) < len(MAGIC) + _NONCE + 16:
        raise IntegrityError("not an encrypted artifact", code="decryption_failed")
    nonce = blob[len(MAGIC) : len(MAGIC) + _NONCE]
    try:
        return AESGCM(data_key).decrypt(nonce, blob[len(MAGIC) + _NONCE :], MAGIC)
    except InvalidTag:
        raise IntegrityError(
            "an encrypted artifact does not decrypt with its key (changed or wrong key)",
            code="decryption_failed",
        ) from None


class KeyProvider(ABC):
    """Wraps and unwraps data keys with key-encryption keys (a file, a KMS, ...).

    Rotation is two-phase so that a crash between the phases loses nothing:
    :meth:`begin_rotation` makes a new current KEK while the old ones still unwrap,
    the caller re-wraps every data key, then :meth:`finish_rotation` retires the rest.
    """

    @abstractmethod
    def wrap(self, data_key: bytes) -> WrappedKey:
        """Wrap ``data_key`` with the current KEK.

        Raises
        ------
        EncryptionKeyMissing
            No current KEK (``encryption_key_missing``).
        """

    @abstractmethod
    def unwrap(self, key: WrappedKey) -> bytes:
        """Return the data key ``key`` wraps.

        Raises
        ------
        EncryptionKeyMissing
            The KEK ``key.kek_id`` is not available (``encryption_key_missing``).
        IntegrityError
            ``decryption_failed``: the wrapped key does not open with that KEK.
        """

    @abstractmethod
    def exists(self) -> bool:
        """Whether a current KEK is available."""

    @abstractmethod
    def create(self) -> str:
        """Make the first KEK (when :meth:`exists` is false) and return its id."""

    @abstractmethod
    def begin_rotation(self) -> str:
        """Make a new current KEK, keeping the old ones for unwrapping; return its id."""

    @abstractmethod
    def finish_rotation(self) -> list[str]:
        """Retire every KEK but the current one; return the retired ids."""


class FileKeyProvider(KeyProvider):
    """Key-encryption keys in a 0600 key-ring file (format in the module docstring).

    Parameters
    ----------
    path : Path
        The key-ring file (``Settings.resolved_kek_file``).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _ring(self) -> list[tuple[str, bytes]]:
        if not self.path.exists():
            raise EncryptionKeyMissing(
                f"the key-encryption key file {self.path} is missing: restore it from a "
                "backup (or set BARYON_KEK_FILE to where it is)",
                details={"path": str(self.path)},
            )
        ring = []
        for line in read_secret_file(self.path).splitlines():
            kek_id, _, hex_key = line.strip().partition(" ")
            try:
                key = bytes.fromhex(hex_key)
            except ValueError:
                key = b""
            if not kek_id or len(key) != _KEY_BYTES:
                raise IntegrityError(
                    f"the key-encryption key file {self.path} is not a key ring "
                    "(lines of 'KEK_ID HEX' with 32-byte keys)",
                    code="kek_file_invalid",
                )
            ring.append((kek_id, key))
        if not ring:
            raise EncryptionKeyMissing(f"the key-encryption key file {self.path} is empty")
        return ring

    def _write(self, ring: list[tuple[str, bytes]], *, replace: bool = True) -> bool:
        text = "\n".join(f"{kek_id} {key.hex()}" for kek_id, key in ring)
        return write_secret_file(self.path, text, replace=replace)

    def wrap(self, data_key: bytes) -> WrappedKey:
        kek_id, kek = self._ring()[0]
        nonce = os.urandom(_NONCE)
        return WrappedKey(kek_id, nonce + AESGCM(kek).encrypt(nonce, data_key, kek_id.encode()))

    def unwrap(self, key: WrappedKey) -> bytes:
        keks = dict(self._ring())
        if key.kek_id not in keks:
            raise EncryptionKeyMissing(
                f"the key-encryption key {key.kek_id} is not in {self.path}: restore the "
                "file from a backup",
                details={"kek_id": key.kek_id},
            )
        nonce, body = key.wrapped[:_NONCE], key.wrapped[_NONCE:]
        try:
            return AESGCM(keks[key.kek_id]).decrypt(nonce, body, key.kek_id.encode())
        except InvalidTag:
            raise IntegrityError(
                f"a data key does not unwrap with key-encryption key {key.kek_id}",
                code="decryption_failed",
            ) from None

    def exists(self) -> bool:
        return self.path.exists()

    def create(self) -> str:
        kek_id = _new_kek_id()
        if not self._write([(kek_id, new_data_key())], replace=False):
            return self._ring()[0][0]  # another process made it first: that one wins
        return kek_id

    def begin_rotation(self) -> str:
        ring = self._ring()
        kek_id = _new_kek_id()
        self._write([(kek_id, new_data_key()), *ring])
        return kek_id

    def finish_rotation(self) -> list[str]:
        ring = self._ring()
        self._write(ring[:1])
        return [kek_id for kek_id, _ in ring[1:]]


def _new_kek_id() -> str:
    return "kek_" + secrets.token_hex(8)
