"""Licences for on-premises installs: Ed25519-signed tokens, verified offline.

A licence is a JSON Web Token signed with EdDSA (Ed25519; RFC 8037, through PyJWT and
``cryptography``). The vendor keeps the private key (:func:`generate_keys`, never on a
serving host) and signs licences with :func:`issue_licence`; an install holds the
token and the vendor's public key in ``$BARYON_HOME/licence/`` (:func:`install_licence`)
and checks it on every start, without any network.

Claims: ``iss`` (``baryon-licence``), ``sub`` (the licensee), ``jti`` (``lic_...``),
``iat``, ``nbf``, ``exp`` (epoch seconds), ``features`` (list), ``seats`` (active users
at most), ``orgs`` (organizations at most), ``grace_days`` (days after ``exp`` before the
install turns read-only). The header's ``kid`` is the signing key's fingerprint (the
first 16 hex digits of the SHA-256 of its raw public bytes).

Verification errors (:class:`LicenceError`, HTTP 403 when one reaches a request):

``licence_malformed``
    not a token (bad base64 or JSON, a header that is not EdDSA).
``licence_unknown_key``
    signed by a key other than the install's (``kid`` differs).
``licence_bad_signature``
    the signature does not match: the token was changed after signing.
``licence_not_yet_valid``
    ``nbf`` is later than now plus the leeway.
``licence_expired``
    ``exp`` plus the leeway has passed (:func:`verify_licence` only; an install keeps
    working through the grace period, then turns read-only).
``licence_invalid_claims``
    a claim is missing or of the wrong type, or the issuer is not ``baryon-licence``.

The leeway (default 300 s) absorbs clock skew between the vendor and the install.

Without a licence an install is the **open edition**: every feature in this
repository (:data:`KNOWN_LICENCE_FEATURES` included), no seat or organization cap, no
expiry. With one, :class:`Licence` decides:

- its ``features`` gate what they name: :func:`require_feature` is the one gate every
  route, command and page calls (``traffic_split``: a challenger weight above 0;
  ``console``: the ``/console`` app; ``federated``: federated training);
- ``seats`` caps active users (:func:`check_seat_cap`), ``orgs`` caps organizations
  (:func:`check_org_cap`);
- after ``exp`` + ``grace_days`` the install is read-only (:func:`require_writable`):
  API requests, console forms and CLI commands that would create or change something
  are refused with ``licence_read_only``; serving keeps answering.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import BaryonError, InvalidInput
from baryon.core.ids import new_id

__all__ = [
    "ISSUER",
    "KNOWN_LICENCE_FEATURES",
    "LEEWAY_SECONDS",
    "Licence",
    "LicenceError",
    "check_org_cap",
    "check_seat_cap",
    "generate_keys",
    "install_licence",
    "issue_licence",
    "key_fingerprint",
    "licence_dir",
    "load_installed_licence",
    "require_feature",
    "require_writable",
    "verify_licence",
]

ISSUER = "baryon-licence"
#: Seconds of clock skew tolerated on ``nbf`` and ``exp``.
LEEWAY_SECONDS = 300
#: Features a licence can name that gate something in this build (all of them are in
#: the open edition: an install without a licence).
KNOWN_LICENCE_FEATURES = frozenset({"traffic_split", "console", "federated"})
_LICENCE_FILE = "licence.jwt"
_PUBLIC_FILE = "vendor.pub.pem"


class LicenceError(BaryonError):
    """A licence cannot be used, or forbids what was asked (see the module docstring)."""

    code = "licence_invalid"
    http_status = 403


def _missing() -> BaryonError:
    from baryon.core.errors import MissingDependency

    return MissingDependency("licences need PyJWT with cryptography: pip install 'pyjwt[crypto]'")


def generate_keys() -> tuple[bytes, bytes]:
    """Return a new Ed25519 key pair as PEM: ``(private PKCS#8, public SubjectPublicKeyInfo)``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    return (
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def _public_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem)
    except ValueError:
        raise InvalidInput("not a PEM public key", code="invalid_key_file") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the public key is not an Ed25519 key", code="invalid_key_file")
    return key


def _private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise InvalidInput("not an unencrypted PEM private key", code="invalid_key_file") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("the private key is not an Ed25519 key", code="invalid_key_file")
    return key


def key_fingerprint(public_pem: bytes) -> str:
    """Return the key id of a public key: 16 hex digits of SHA-256 of its raw bytes."""
    from cryptography.hazmat.primitives import serialization

    raw = _public_key(public_pem).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Licence:
    """A verified licence.

    Attributes
    ----------
    id, licensee : str
    features : frozenset of str
    seats, orgs : int
        Most active users and organizations.
    issued_at, not_before, expires_at : datetime
    grace_days : int
    """

    id: str
    licensee: str
    features: frozenset[str]
    seats: int
    orgs: int
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    grace_days: int

    @property
    def read_only_at(self) -> datetime:
        """When the install turns read-only (expiry plus the grace period)."""
        return self.expires_at + timedelta(days=self.grace_days)

    def state(self, now: datetime) -> str:
        """``active``, ``grace`` (expired, still writable) or ``read_only``."""
        if now < self.expires_at:
            return "active"
        return "grace" if now < self.read_only_at else "read_only"

    def allows(self, feature: str) -> bool:
        """Whether the licence grants ``feature``."""
        return feature in self.features

    def require(self, feature: str) -> None:
        """Raise :class:`LicenceError` ``licence_feature`` unless ``feature`` is granted."""
        if feature not in self.features:
            raise LicenceError(
                f"this install's licence ({self.licensee}) does not include {feature!r}",
                code="licence_feature",
                details={"feature": feature},
            )

    def require_writable(self, now: datetime) -> None:
        """Raise ``licence_read_only`` past the grace period."""
        if self.state(now) == "read_only":
            raise LicenceError(
                f"the licence of {self.licensee} expired on {self.expires_at.date()} and its "
                f"{self.grace_days}-day grace period has ended: this install is read-only "
                "(serving still answers); install a renewed licence",
                code="licence_read_only",
                details={"expired_at": self.expires_at.isoformat()},
            )

    def to_dict(self, now: datetime | None = None) -> dict[str, Any]:
        """Return a JSON-ready dict (with ``state`` when ``now`` is given)."""
        out: dict[str, Any] = {
            "id": self.id,
            "licensee": self.licensee,
            "features": sorted(self.features),
            "seats": self.seats,
            "orgs": self.orgs,
            "issued_at": self.issued_at.isoformat(),
            "not_before": self.not_before.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "grace_days": self.grace_days,
        }
        if now is not None:
            out["state"] = self.state(now)
        return out


def _positive(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInput(f"{name} must be a whole number of 1 or more, got {value!r}",
                           code="invalid_licence")  # fmt: skip
    return value


def issue_licence(
    private_pem: bytes,
    *,
    licensee: str,
    features: list[str],
    seats: int,
    orgs: int,
    expires_at: datetime,
    not_before: datetime | None = None,
    grace_days: int = 14,
    clock: Clock | None = None,
) -> str:
    """Sign a licence with the vendor's private key and return the token.

    Parameters
    ----------
    private_pem : bytes
        The vendor's Ed25519 private key (PEM, from :func:`generate_keys`).
    licensee : str
        Who the licence is for (1-200 characters).
    features : list of str
        Feature names, each one of :data:`KNOWN_LICENCE_FEATURES` (a misspelt name would
        ship a licence without the feature meant; an install reading a licence keeps
        names it does not know, so a newer vendor tool's features do not break it).
    seats, orgs : int
        Most active users and organizations (``>= 1``).
    expires_at : datetime
        Timezone-aware; after the issue time.
    not_before : datetime, optional
        Default: now.
    grace_days : int
        0-365 days after expiry before the install turns read-only.

    Raises
    ------
    InvalidInput
        ``invalid_licence`` (bad licensee, counts, dates, grace), ``unknown_feature``
        or ``invalid_key_file``.
    """
    try:
        import jwt
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise _missing() from exc
    clock = clock or SystemClock()
    now = clock.now()
    if not isinstance(licensee, str) or not 1 <= len(licensee.strip()) <= 200:
        raise InvalidInput("the licensee must be 1-200 characters", code="invalid_licence")
    seats, orgs = _positive("seats", seats), _positive("orgs", orgs)
    unknown = sorted(set(features) - KNOWN_LICENCE_FEATURES)
    if unknown:
        raise InvalidInput(
            f"unknown licence feature {', '.join(map(repr, unknown))}; known: "
            + ", ".join(sorted(KNOWN_LICENCE_FEATURES)),
            code="unknown_feature",
            details={"unknown": unknown, "known": sorted(KNOWN_LICENCE_FEATURES)},
        )
    if (
        isinstance(grace_days, bool)
        or not isinstance(grace_days, int)
        or not 0 <= grace_days <= 365
    ):
        raise InvalidInput("grace_days must be 0-365", code="invalid_licence")
    start = not_before or now
    if expires_at.tzinfo is None or expires_at <= max(start, now):
        raise InvalidInput(
            "the expiry must be a timezone-aware time after the start", code="invalid_licence"
        )
    key = _private_key(private_pem)
    from cryptography.hazmat.primitives import serialization

    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    claims = {
        "iss": ISSUER,
        "sub": licensee.strip(),
        "jti": new_id("lic", clock),
        "iat": int(now.timestamp()),
        "nbf": int(start.timestamp()),
        "exp": int(expires_at.timestamp()),
        "features": sorted(set(features)),
        "seats": seats,
        "orgs": orgs,
        "grace_days": grace_days,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": key_fingerprint(public_pem)})


def _epoch(value: object) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LicenceError("a time claim is not whole epoch seconds", code="licence_invalid_claims")
    return datetime.fromtimestamp(value, tz=UTC)


def verify_licence(
    token: str,
    public_pem: bytes,
    *,
    clock: Clock | None = None,
    leeway: int = LEEWAY_SECONDS,
    allow_expired: bool = False,
) -> Licence:
    """Verify a licence token offline with the vendor's public key.

    Parameters
    ----------
    token : str
    public_pem : bytes
        The vendor's Ed25519 public key (PEM).
    clock : Clock, optional
    leeway : int
        Seconds of clock skew tolerated on ``nbf`` and ``exp``.
    allow_expired : bool
        Accept a licence past ``exp`` (an install in its grace period or read-only).

    Raises
    ------
    LicenceError
        ``licence_malformed``, ``licence_unknown_key``, ``licence_bad_signature``,
        ``licence_not_yet_valid``, ``licence_expired``, ``licence_invalid_claims``.
    InvalidInput
        ``invalid_key_file``: the public key is not an Ed25519 PEM key.
    """
    try:
        import jwt
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise _missing() from exc
    clock = clock or SystemClock()
    key = _public_key(public_pem)
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        raise LicenceError("the licence is not a signed token", code="licence_malformed") from None
    if header.get("alg") != "EdDSA":
        raise LicenceError("the licence is not signed with EdDSA", code="licence_malformed")
    if header.get("kid") != key_fingerprint(public_pem):
        raise LicenceError(
            "the licence was signed by another key than this install's vendor key",
            code="licence_unknown_key",
            details={"kid": str(header.get("kid"))},
        )
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["EdDSA"],
            issuer=ISSUER,
            options={
                "require": ["iss", "sub", "jti", "iat", "nbf", "exp"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidSignatureError:
        raise LicenceError(
            "the licence's signature does not match: it was changed after signing",
            code="licence_bad_signature",
        ) from None
    except (jwt.InvalidIssuerError, jwt.MissingRequiredClaimError) as exc:
        raise LicenceError(f"the licence's claims are invalid: {exc}",
                           code="licence_invalid_claims") from None  # fmt: skip
    except jwt.DecodeError:
        raise LicenceError("the licence is not a signed token", code="licence_malformed") from None
    features = claims.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        raise LicenceError("features must be a list of names", code="licence_invalid_claims")
    try:
        licence = Licence(
            id=str(claims["jti"]),
            licensee=str(claims["sub"]),
            features=frozenset(features),
            seats=_positive("seats", claims.get("seats")),
            orgs=_positive("orgs", claims.get("orgs")),
            issued_at=_epoch(claims["iat"]),
            not_before=_epoch(claims["nbf"]),
            expires_at=_epoch(claims["exp"]),
            grace_days=int(claims.get("grace_days", 14)),
        )
    except InvalidInput as exc:
        raise LicenceError(str(exc), code="licence_invalid_claims") from None
    now = clock.now()
    skew = timedelta(seconds=leeway)
    if licence.not_before > now + skew:
        raise LicenceError(
            f"the licence is valid from {licence.not_before.isoformat()}",
            code="licence_not_yet_valid",
            details={"not_before": licence.not_before.isoformat()},
        )
    if not allow_expired and licence.expires_at + skew <= now:
        raise LicenceError(
            f"the licence expired on {licence.expires_at.isoformat()}",
            code="licence_expired",
            details={"expires_at": licence.expires_at.isoformat()},
        )
    return licence


def licence_dir(home: Path) -> Path:
    """Where an install keeps its licence: ``<home>/licence``."""
    return Path(home) / "licence"


def install_licence(
    home: Path, token: str, public_pem: bytes, *, clock: Clock | None = None
) -> Licence:
    """Verify ``token`` and install it with the vendor's public key (files of mode 0600).

    Raises
    ------
    LicenceError
        As :func:`verify_licence` (an expired licence is refused).
    """
    licence = verify_licence(token, public_pem, clock=clock)
    folder = licence_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in ((_PUBLIC_FILE, public_pem), (_LICENCE_FILE, token.strip().encode())):
        tmp = folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        tmp.replace(folder / name)
    return licence


def load_installed_licence(home: Path, *, clock: Clock | None = None) -> Licence | None:
    """Return the install's licence, ``None`` without one (the open edition).

    An expired licence loads (grace period, then read-only); anything else wrong with
    it raises, so a server with a broken licence refuses to start.

    Raises
    ------
    LicenceError
        As :func:`verify_licence`, and ``licence_malformed`` when only one of the two
        files is there.
    """
    folder = licence_dir(home)
    token, public = folder / _LICENCE_FILE, folder / _PUBLIC_FILE
    if not token.exists() and not public.exists():
        return None
    if not (token.exists() and public.exists()):
        raise LicenceError(
            f"{folder} must hold both {_LICENCE_FILE} and {_PUBLIC_FILE}", code="licence_malformed"
        )
    return verify_licence(
        token.read_text(encoding="utf-8"), public.read_bytes(), clock=clock, allow_expired=True
    )


def check_org_cap(session: Session, licence: Licence | None) -> None:
    """Refuse a new organization beyond the licence's ``orgs`` (``licence_org_limit``).

    The operator organization counts like any other.
    """
    if licence is None:
        return
    from baryon.tenancy.tables import OrganizationRow

    count = int(session.scalar(select(func.count()).select_from(OrganizationRow)) or 0)
    if count >= licence.orgs:
        raise LicenceError(
            f"the licence allows {licence.orgs} organizations and there are {count}",
            code="licence_org_limit",
            details={"orgs": licence.orgs},
        )


def check_seat_cap(session: Session, licence: Licence | None) -> None:
    """Refuse a new active user beyond the licence's ``seats`` (``licence_seat_limit``)."""
    if licence is None:
        return
    from baryon.tenancy.tables import UserRow

    active = int(
        session.scalar(
            select(func.count()).select_from(UserRow).where(UserRow.disabled_at.is_(None))
        )
        or 0
    )
    if active >= licence.seats:
        raise LicenceError(
            f"the licence allows {licence.seats} active users and there are {active}",
            code="licence_seat_limit",
            details={"seats": licence.seats},
        )


def require_feature(licence: Licence | None, feature: str) -> None:
    """The one licence gate of a feature: what a route, a command or a page calls first.

    The open edition (``licence`` None) has every feature; a licence has those it names.
    A caller that gates a feature adds its name to :data:`KNOWN_LICENCE_FEATURES`::

        require_feature(state.workspace.licence, "federated")   # an API route
        require_feature(get_workspace(ctx).licence, "federated")  # a CLI command

    (:meth:`baryon.workspace.Workspace.require_feature` is the same call.)

    Parameters
    ----------
    licence : Licence or None
        The install's licence (:attr:`baryon.workspace.Workspace.licence`).
    feature : str
        One of :data:`KNOWN_LICENCE_FEATURES`.

    Raises
    ------
    ValueError
        ``feature`` is not a known licence feature (a programming error).
    LicenceError
        ``licence_feature`` (HTTP 403): the installed licence does not name ``feature``.
    """
    if feature not in KNOWN_LICENCE_FEATURES:
        raise ValueError(f"unknown licence feature {feature!r}")
    if licence is not None:
        licence.require(feature)


def require_writable(licence: Licence | None, now: datetime) -> None:
    """Refuse a change to an install whose licence is read-only (past expiry and grace).

    The open edition is always writable.

    Raises
    ------
    LicenceError
        ``licence_read_only`` (HTTP 403), with a message naming the expiry.
    """
    if licence is not None:
        licence.require_writable(now)
