"""Webhook signatures: how Baryon signs an alert it posts, and how a receiver checks it.

Pure standard library (``hmac``, ``hashlib``), so a receiver can use
:func:`verify_webhook` (re-exported by :mod:`baryon.client`) without the server's
dependencies.

Scheme
------
Each attempt of a delivery is a ``POST`` with a JSON body and the headers

=====================  =======================================================
``Baryon-Signature``   ``t=<unix seconds>,v1=<hex HMAC-SHA256>``
``Baryon-Event``       ``sentiment.alert`` or ``sentiment.test``
``Baryon-Delivery``    the delivery's id (``dlv_…``); the same on every retry
=====================  =======================================================

where ``v1 = HMAC-SHA256(secret, f"{t}." + body)`` over the exact body bytes
(RFC 2104 HMAC with FIPS 180-4 SHA-256; the layout follows the widely used
"timestamp.body" scheme of Stripe's webhooks). The secret is the channel's, shown once
when the channel is made. A receiver recomputes ``v1`` with a constant-time
comparison and refuses a timestamp more than its *replay window* (default 300 s) away
from its own clock: a captured request cannot be replayed later, and a body changed in
transit fails the signature. Retries are signed afresh (new ``t``); de-duplicate on
``Baryon-Delivery``.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "WebhookSignatureError",
    "sign_webhook",
    "verify_webhook",
]

SIGNATURE_HEADER = "Baryon-Signature"
EVENT_HEADER = "Baryon-Event"
DELIVERY_HEADER = "Baryon-Delivery"
#: Default replay window of :func:`verify_webhook`, in seconds.
DEFAULT_TOLERANCE_SECONDS = 300


class WebhookSignatureError(ValueError):
    """A webhook's signature header is missing, malformed, stale or wrong.

    Attributes
    ----------
    code : str
        ``signature_malformed``, ``signature_expired`` or ``signature_mismatch``.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign_webhook(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """Return the ``Baryon-Signature`` header value for ``body``.

    Parameters
    ----------
    secret : str
        The channel's signing secret.
    body : bytes
        The exact request body.
    timestamp : int, optional
        Unix seconds (default: now).

    Returns
    -------
    str
        ``"t=<timestamp>,v1=<64 hex digits>"``.
    """
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={_digest(secret, t, body)}"


def verify_webhook(
    secret: str,
    body: bytes,
    signature: str | None,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """Check a received webhook; return its signed timestamp.

    Parameters
    ----------
    secret : str
        The channel's signing secret.
    body : bytes
        The raw request body, exactly as received (not re-serialised JSON).
    signature : str or None
        The ``Baryon-Signature`` header.
    tolerance : float
        Replay window in seconds: a timestamp further than this from ``now`` is refused.
    now : float, optional
        Unix seconds (default: the receiver's clock).

    Returns
    -------
    int
        The signed timestamp (unix seconds).

    Raises
    ------
    WebhookSignatureError
        ``signature_malformed`` (no header, no ``t`` or ``v1``), ``signature_expired``
        (outside the replay window), ``signature_mismatch`` (wrong secret or body).
    """
    fields: dict[str, list[str]] = {}
    for part in (signature or "").split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    stamps, digests = fields.get("t", []), fields.get("v1", [])
    if len(stamps) != 1 or not stamps[0].isdigit() or not digests:
        raise WebhookSignatureError(
            f"{SIGNATURE_HEADER} must be t=<unix seconds>,v1=<hex>", "signature_malformed"
        )
    timestamp = int(stamps[0])
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookSignatureError(
            f"signed {current - timestamp:.0f} s from now, outside the {tolerance:g} s window",
            "signature_expired",
        )
    expected = _digest(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, d) for d in digests):
        raise WebhookSignatureError("the signature does not match the body", "signature_mismatch")
    return timestamp
