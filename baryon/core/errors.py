"""Baryon's error hierarchy.

Every error Baryon raises on purpose is a :class:`BaryonError` with a stable,
machine-readable ``code``. The code is part of the public contract: the CLI
prints it, the HTTP API returns it in ``application/problem+json`` bodies, and
users script against it. Messages may change; codes do not.

Hierarchy::

    BaryonError                      code "baryon_error"     HTTP 500
    ├── InvalidInput(ValueError)     code "invalid_input"    HTTP 422
    │   ├── InvalidHome              code "invalid_home"
    │   ├── InvalidFile              code "invalid_file"
    │   ├── UnsupportedMediaType     code "unsupported_media_type" HTTP 415
    │   └── ValidationFailed         code "failed_validation"
    ├── NotFound(LookupError)        code "not_found"        HTTP 404
    ├── Gone                         code "gone"             HTTP 410
    ├── Conflict                     code "conflict"         HTTP 409
    ├── Unauthorized                 code "unauthorized"     HTTP 401
    ├── Forbidden                    code "forbidden"        HTTP 403
    ├── RateLimited                  code "rate_limited"     HTTP 429
    ├── QuotaExceeded                code "quota_exceeded"   HTTP 429
    ├── PayloadTooLarge              code "payload_too_large" HTTP 413
    ├── ModelNotReady                code "model_not_ready"  HTTP 503
    ├── IntegrityError               code "integrity_error"  HTTP 500
    ├── EncryptionKeyMissing         code "encryption_key_missing" HTTP 503
    ├── DatabaseError                code "database_error"   HTTP 503
    │   ├── DatabaseCorrupt          code "database_corrupt"
    │   └── SchemaTooNew             code "schema_too_new"
    └── MissingDependency(ImportError) code "missing_dependency"

Subclasses may override ``code`` per instance (``InvalidInput("...", code="empty_file")``)
so that fine-grained codes stay in the family that decides the HTTP status.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "BaryonError",
    "Conflict",
    "DatabaseCorrupt",
    "DatabaseError",
    "EncryptionKeyMissing",
    "Forbidden",
    "Gone",
    "IntegrityError",
    "InvalidFile",
    "InvalidHome",
    "InvalidInput",
    "MissingDependency",
    "ModelNotReady",
    "NotFound",
    "PayloadTooLarge",
    "QuotaExceeded",
    "RateLimited",
    "SchemaTooNew",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "http_status_for",
]


class BaryonError(Exception):
    """Base class of every error Baryon raises on purpose.

    Parameters
    ----------
    message : str
        A one-line, human-readable explanation (shown to users as is).
    code : str, optional
        Override of the class's stable code, e.g. ``"empty_file"``.
    details : dict, optional
        JSON-serialisable extra facts (line numbers, versions, ...).
    """

    code: ClassVar[str] = "baryon_error"
    http_status: ClassVar[int] = 500

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            # Instance attribute shadows the ClassVar on purpose: fine-grained code.
            self.code = code  # type: ignore[misc]
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"code", "message", "details"}`` for JSON output."""
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(BaryonError, ValueError):
    """The caller gave input Baryon cannot use (bad value, bad file, bad option)."""

    code = "invalid_input"
    http_status = 422


class InvalidHome(InvalidInput):
    """The workspace home is not a writable directory."""

    code = "invalid_home"


class InvalidFile(InvalidInput):
    """A file handed to Baryon cannot be read as what it claims to be."""

    code = "invalid_file"


class UnsupportedMediaType(InvalidInput):
    """A request body is not in a media type the route reads (an upload not sent as
    ``multipart/form-data``)."""

    code = "unsupported_media_type"
    http_status = 415


class ValidationFailed(InvalidInput):
    """A dataset failed pre-training validation (too few rows, single class, ...)."""

    code = "failed_validation"


class NotFound(BaryonError, LookupError):
    """The named object does not exist (or belongs to another organization)."""

    code = "not_found"
    http_status = 404


class Gone(BaryonError):
    """The object existed and was removed on purpose (an erased dataset version)."""

    code = "gone"
    http_status = 410


class Conflict(BaryonError):
    """The request conflicts with the current state (name taken, gate refused, ...)."""

    code = "conflict"
    http_status = 409


class Unauthorized(BaryonError):
    """No valid credential was presented."""

    code = "unauthorized"
    http_status = 401


class Forbidden(BaryonError):
    """The credential is valid but its role lacks the permission."""

    code = "forbidden"
    http_status = 403


class RateLimited(BaryonError):
    """Too many requests in the current window; ``details['retry_after']`` in seconds."""

    code = "rate_limited"
    http_status = 429


class QuotaExceeded(BaryonError):
    """The organization used its plan's quota for the billing period."""

    code = "quota_exceeded"
    http_status = 429


class PayloadTooLarge(BaryonError):
    """A request body, batch or text exceeds a configured cap."""

    code = "payload_too_large"
    http_status = 413


class ModelNotReady(BaryonError):
    """No servable model version (no champion, or it cannot be loaded)."""

    code = "model_not_ready"
    http_status = 503


class IntegrityError(BaryonError):
    """Stored bytes do not match their recorded digest, or a manifest is inconsistent."""

    code = "integrity_error"
    http_status = 500


class EncryptionKeyMissing(BaryonError):
    """Encrypted data cannot be read or written: its key-encryption key is absent.

    HTTP 503: the operator must restore the key file (or the key provider); the
    data itself is intact.
    """

    code = "encryption_key_missing"
    http_status = 503


class DatabaseError(BaryonError):
    """The metadata database cannot be used."""

    code = "database_error"
    http_status = 503


class DatabaseCorrupt(DatabaseError):
    """The database file is not a database Baryon can open; it is left untouched."""

    code = "database_corrupt"


class SchemaTooNew(DatabaseError):
    """The database schema was written by a newer Baryon than this one."""

    code = "schema_too_new"


class MissingDependency(BaryonError, ImportError):
    """An optional dependency is not installed; the message names the extra.

    HTTP 503: the server cannot serve this until its operator installs the extra
    (the message, with the install command, is shown to the caller).
    """

    code = "missing_dependency"
    http_status = 503


def http_status_for(error: BaseException) -> int:
    """Return the HTTP status code for ``error`` (500 for anything not a BaryonError)."""
    if isinstance(error, BaryonError):
        return error.http_status
    return 500
