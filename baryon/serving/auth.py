"""Authentication, authorization and the rate limit: one dependency per route.

A route states its permission in its signature::

    @router.get("/v1/keys")
    def list_keys(principal: Principal = require("keys:read")) -> ...

:func:`require` returns a FastAPI dependency (an :class:`Authorize`) that, in one
transaction, finds the key by the SHA-256 of the bearer token (with its organization,
subscription and plan), refuses it when unknown, revoked or expired (401 with
``WWW-Authenticate: Bearer``), counts the request against the key's rate limit, and
records when the key was last used. After the transaction it refuses a rate-limited
request (429 ``rate_limited`` with ``Retry-After``) and a role without the permission
(403 ``forbidden``). Routes without a key (``/healthz``, ``/readyz``) declare
:func:`public` instead. :func:`declared_permission` reads what a route declared;
the app refuses to start when a route declares nothing.

``last_used_at`` is written at most once a minute per key (the time is kept to the
minute) so that a busy key does not rewrite its row on every request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import and_, bindparam, select, update

from baryon.commerce.licences import require_writable
from baryon.commerce.limits import RateLimitDecision
from baryon.commerce.orgs import Subscription
from baryon.commerce.plans import METERED_ROUTES, Plan
from baryon.commerce.tables import PlanRow, SubscriptionRow
from baryon.core.errors import Forbidden, RateLimited, Unauthorized
from baryon.core.scope import Scope
from baryon.services import SERVICES_PREFIX
from baryon.serving.deps import AppState, get_state
from baryon.tenancy.keys import hash_secret, looks_like_key
from baryon.tenancy.permissions import PERMISSIONS, permissions_for
from baryon.tenancy.tables import ApiKeyRow, OrganizationRow

__all__ = [
    "KEY_QUERY",
    "PUBLIC",
    "Authorize",
    "Principal",
    "authenticate",
    "check_key_usable",
    "check_licence_writable",
    "check_permission",
    "declared_permission",
    "principal_of",
    "public",
    "require",
]

#: What :func:`declared_permission` returns for a route declared :func:`public`.
PUBLIC = "public"
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_READS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer bry_...`")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key, its organization, role, permissions and plan.

    Attributes
    ----------
    key_id, org_id, org_name, role : str
    user_id : str or None
    operator : bool
    permissions : frozenset of str
    prediction_inputs : str
        The organization's prediction-log input mode.
    subscription : Subscription or None
    """

    key_id: str
    org_id: str
    org_name: str
    role: str
    user_id: str | None
    operator: bool
    permissions: frozenset[str]
    prediction_inputs: str
    subscription: Subscription | None

    @property
    def actor(self) -> str:
        """The audit actor string, ``key:<key id>``."""
        return f"key:{self.key_id}"

    @property
    def annotator(self) -> str:
        """Who labels as this key: its user's id, else the key's id."""
        return self.user_id or self.key_id

    @property
    def own_scope(self) -> Scope:
        """The organization's own objects, without grants (enough for its own writes)."""
        return Scope.own(self.org_id, self.org_name)


class Authorize:
    """FastAPI dependency: authenticate, rate-limit, then check ``permission``.

    Parameters
    ----------
    permission : str
        One of :data:`baryon.tenancy.permissions.PERMISSIONS`.

    Raises
    ------
    ValueError
        At import/definition time, for an unknown permission.
    """

    def __init__(self, permission: str) -> None:
        if permission not in PERMISSIONS:
            raise ValueError(f"unknown permission {permission!r}")
        self.permission = permission

    def __call__(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
        state: AppState = Depends(get_state),
    ) -> Principal:
        """Return the :class:`Principal` or raise 401/403/429 (see the module docstring)."""
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized(
                "this route needs an API key: Authorization: Bearer <key>",
                code="missing_credentials",
            )
        principal, decision = authenticate(state, credentials.credentials)
        request.state.rate_limit = decision
        if not decision.allowed:
            raise RateLimited(
                f"rate limit of {decision.limit} requests per minute reached for this key",
                details={"retry_after": round(decision.retry_after, 3), "limit": decision.limit},
            )
        check_licence_writable(state, request)
        check_permission(principal, self.permission)
        return principal


def check_licence_writable(state: AppState, request: Request) -> None:
    """Refuse a request that would change something on a read-only install.

    Reads (``GET``, ``HEAD``, ``OPTIONS``) and the metered serving routes
    (:data:`~baryon.commerce.plans.METERED_ROUTES`, and services' endpoints under
    :data:`~baryon.services.SERVICES_PREFIX`: serving keeps answering) pass; so
    does everything on the open edition or within a licence's grace period.

    Raises
    ------
    LicenceError
        ``licence_read_only`` (403), naming the licence's expiry.
    """
    if request.method in _READS:
        return
    route = getattr(request.scope.get("route"), "path", "")
    if route not in METERED_ROUTES and not route.startswith(f"{SERVICES_PREFIX}/"):
        require_writable(state.workspace.licence, state.clock.now())


def check_permission(principal: Principal, permission: str) -> None:
    """Refuse a key whose role lacks ``permission``.

    Raises
    ------
    Forbidden
        Code ``forbidden``, with the permission and the role in ``details``.
    """
    if permission not in principal.permissions:
        raise Forbidden(
            f"the key's role ({principal.role}) may not do this (needs {permission})",
            details={"permission": permission, "role": principal.role},
        )


def check_key_usable(key: Any, now: datetime) -> None:
    """Refuse a revoked or expired key (a row of the key query, as a mapping).

    Raises
    ------
    Unauthorized
        ``key_revoked`` or ``key_expired``.
    """
    if key["revoked_at"] is not None:
        raise Unauthorized("the API key was revoked", code="key_revoked")
    if key["expires_at"] is not None and key["expires_at"] <= now:
        raise Unauthorized("the API key has expired", code="key_expired")


def principal_of(key: Any) -> Principal:
    """Build the :class:`Principal` of a row of the key query (:data:`KEY_QUERY`)."""
    return Principal(
        key_id=key["key_id"],
        org_id=key["org_id"],
        org_name=key["org_name"],
        role=key["role"],
        user_id=key["user_id"],
        operator=key["operator"],
        permissions=permissions_for(key["role"], operator=key["operator"]),
        prediction_inputs=key["prediction_inputs"],
        subscription=_subscription(key),
    )


def authenticate(state: AppState, secret: str) -> tuple[Principal, RateLimitDecision]:
    """Find the key ``secret``, count the request against its rate limit, and return both.

    In one transaction: find the key by the SHA-256 of ``secret`` (with its
    organization, subscription and plan), refuse it when unknown, revoked or expired,
    count the request, and record when the key was last used. The caller refuses a
    request the decision does not allow.

    Raises
    ------
    Unauthorized
        ``invalid_key``, ``key_revoked`` or ``key_expired``.
    """
    if not looks_like_key(secret):
        raise Unauthorized("the API key is not valid", code="invalid_key")
    now = state.clock.now()
    with state.connection() as conn:
        found = conn.execute(_FIND_KEY, {"digest": hash_secret(secret)}).first()
        if found is None:
            raise Unauthorized("the API key is not valid", code="invalid_key")
        key = found._mapping
        check_key_usable(key, now)
        principal = principal_of(key)
        rate = 0 if principal.subscription is None else principal.subscription.plan.rate_per_minute
        decision = state.limiter.hit(
            f"key:{key['key_id']}", rate_per_minute=rate, now=now.timestamp(), session=conn
        )
        last_used = key["last_used_at"]
        if decision.allowed and (last_used is None or now - last_used >= _LAST_USED_RESOLUTION):
            conn.execute(_TOUCH_KEY, {"key_id": key["key_id"], "now": now})
    return principal, decision


#: The key with its organization, active subscription and plan (no ``WHERE`` yet): the
#: one query behind :func:`authenticate` and the console's session lookup.
KEY_QUERY = (
    select(
        ApiKeyRow.id.label("key_id"),
        ApiKeyRow.org_id,
        ApiKeyRow.role,
        ApiKeyRow.user_id,
        ApiKeyRow.revoked_at,
        ApiKeyRow.expires_at,
        ApiKeyRow.last_used_at,
        OrganizationRow.name.label("org_name"),
        OrganizationRow.operator,
        OrganizationRow.prediction_inputs,
        SubscriptionRow.id.label("sub_id"),
        SubscriptionRow.billing_anchor,
        SubscriptionRow.started_at,
        SubscriptionRow.trial_ends_at,
        PlanRow.id.label("plan_id"),
        PlanRow.name.label("plan_name"),
        PlanRow.quota,
        PlanRow.rate_per_minute,
        PlanRow.monthly_price,
        PlanRow.overage_price,
        PlanRow.features,
        PlanRow.unit_weights,
        PlanRow.builtin,
        PlanRow.created_at.label("plan_created_at"),
        PlanRow.currency,
        PlanRow.trial_days,
        PlanRow.price_version,
        PlanRow.archived_at,
    )
    .join(OrganizationRow, OrganizationRow.id == ApiKeyRow.org_id)
    .outerjoin(
        SubscriptionRow,
        and_(SubscriptionRow.org_id == ApiKeyRow.org_id, SubscriptionRow.status == "active"),
    )
    .outerjoin(PlanRow, PlanRow.id == SubscriptionRow.plan_id)
)
_FIND_KEY = KEY_QUERY.where(ApiKeyRow.secret_sha256 == bindparam("digest"))
_TOUCH_KEY = (
    update(ApiKeyRow)
    .where(ApiKeyRow.id == bindparam("key_id"))
    .values(last_used_at=bindparam("now"))
)


def _subscription(row: Any) -> Subscription | None:
    if row["sub_id"] is None or row["plan_id"] is None:
        return None
    plan = Plan(
        id=row["plan_id"],
        name=row["plan_name"],
        quota=row["quota"],
        rate_per_minute=row["rate_per_minute"],
        monthly_price=row["monthly_price"],
        overage_price=row["overage_price"],
        features=tuple(row["features"]),
        builtin=row["builtin"],
        created_at=row["plan_created_at"],
        unit_weights=row["unit_weights"] or {},
        currency=row["currency"],
        trial_days=row["trial_days"],
        price_version=row["price_version"],
        archived_at=row["archived_at"],
    )
    return Subscription(
        id=row["sub_id"],
        org_id=row["org_id"],
        plan=plan,
        status="active",
        billing_anchor=row["billing_anchor"],
        started_at=row["started_at"],
        ended_at=None,
        trial_ends_at=row["trial_ends_at"],
    )


async def _public_marker() -> None:
    """Dependency of routes that need no key (``/healthz``, ``/readyz``); async: no thread."""


def require(permission: str) -> Any:
    """Return the dependency that admits only keys holding ``permission``.

    Use it as a parameter default: ``principal: Principal = require("keys:read")``.
    """
    return Depends(Authorize(permission))


def public() -> Any:
    """Return the marker dependency of a route open to anyone (no key)."""
    return Depends(_public_marker)


def declared_permission(dependant: Dependant) -> str | None:
    """Return the permission a route's dependency tree declares (``"public"``, or None).

    Raises
    ------
    ValueError
        If a route declares more than one permission (ambiguous).
    """
    found: set[str] = set()

    def walk(dep: Dependant) -> None:
        call = dep.call
        if isinstance(call, Authorize):
            found.add(call.permission)
        elif call is _public_marker:
            found.add(PUBLIC)
        for sub in dep.dependencies:
            walk(sub)

    walk(dependant)
    if len(found) > 1:
        raise ValueError(f"route declares several permissions: {sorted(found)}")
    return next(iter(found), None)
