"""Roles and permissions: the one table that decides who may do what.

Every route of the HTTP API declares exactly one permission from :data:`PERMISSIONS`
(or is declared public); :func:`baryon.serving.app.create_app` refuses to build an app
with a route that declares none. A key holds one role; its role grants the
permissions in :data:`ROLE_PERMISSIONS`. **Platform** permissions (plans, other
organizations, process metrics) are granted only to ``owner`` and ``admin`` keys of
an *operator* organization, since they reach beyond one tenant.

=================  =====  =====  =========  =========  ======
permission         owner  admin  developer  annotator  viewer
=================  =====  =====  =========  =========  ======
org:read           x      x      x          x          x
plans:read         x      x      x          x          x
org:write          x      x
users:read         x      x
users:write        x      x
keys:read          x      x
keys:write         x      x
audit:read         x      x
invoices:read      x      x
endpoints:write    x      x
endpoints:read     x      x      x                     x
usage:read         x      x      x                     x
models:predict     x      x      x
predictions:read   x      x      x          x
feedback:write     x      x      x          x
datasets:read      x      x      x          x          x
datasets:write     x      x      x
data:erase         x      x
runs:read          x      x      x                     x
runs:write         x      x      x
models:read        x      x      x          x          x
models:write       x      x      x
models:promote     x      x
grants:read        x      x      x                     x
grants:write       x      x
labeling:read      x      x      x          x
labeling:annotate  x      x      x          x
labeling:write     x      x      x
labeling:review    x      x
flywheel:read      x      x      x                     x
flywheel:run       x      x
iterations:read    x      x      x          x          x
iterations:write   x      x      x
schedules:read     x      x      x                     x
schedules:write    x      x
alerts:read        x      x      x                     x
alerts:write       x      x      x
=================  =====  =====  =========  =========  ======

Platform (operator organizations only, ``owner`` and ``admin``): ``plans:write``,
``orgs:read``, ``orgs:write``, ``metrics:read``.

Developers upload data, train and register models; promoting, rolling back and
sharing (grants) are ``owner``/``admin`` acts. Annotators see datasets and models
(to label against them) but not runs.

Annotators claim, label and skip labeling tasks; developers also create queues,
import, export and sample tasks by active learning; owners and admins review tasks
whose annotators disagree. A flywheel cycle may promote (through the gate), so
running one is an ``owner``/``admin`` act, like promoting. So is making, pausing,
resuming and removing a job schedule: it runs work (a flywheel cycle) unattended.

Sentiment alert rules, delivery channels and deliveries (``alerts:read``,
``alerts:write``) are the developers' like the monitor they watch; a channel's signing
secret is shown only to the key that made it.

Erasing a data subject (``data:erase``: new versions without their rows, old
versions' bytes deleted) is an ``owner``/``admin`` act.

Invoices (``invoices:read``) are the organization's owners' and admins' (billing
contacts); the operator runs billing itself from the CLI.

Viewers see usage and endpoints but not the prediction log, which may hold the
organization's customers' inputs (least privilege, DESIGN.md §8).
"""

from __future__ import annotations

from types import MappingProxyType

from baryon.core.errors import InvalidInput

__all__ = [
    "PERMISSIONS",
    "PLATFORM_PERMISSIONS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "ROLE_RANK",
    "check_role",
    "permissions_for",
]

#: Roles, most to least privileged.
ROLES: tuple[str, ...] = ("owner", "admin", "developer", "annotator", "viewer")

#: Rank used when one role grants another (a key can only make keys of its rank or lower).
ROLE_RANK = MappingProxyType({role: len(ROLES) - i for i, role in enumerate(ROLES)})

_TENANT: dict[str, frozenset[str]] = {
    "org:read": frozenset(ROLES),
    "plans:read": frozenset(ROLES),
    "org:write": frozenset({"owner", "admin"}),
    "users:read": frozenset({"owner", "admin"}),
    "users:write": frozenset({"owner", "admin"}),
    "keys:read": frozenset({"owner", "admin"}),
    "keys:write": frozenset({"owner", "admin"}),
    "audit:read": frozenset({"owner", "admin"}),
    "invoices:read": frozenset({"owner", "admin"}),
    "endpoints:write": frozenset({"owner", "admin"}),
    "endpoints:read": frozenset({"owner", "admin", "developer", "viewer"}),
    "usage:read": frozenset({"owner", "admin", "developer", "viewer"}),
    "models:predict": frozenset({"owner", "admin", "developer"}),
    "predictions:read": frozenset({"owner", "admin", "developer", "annotator"}),
    "feedback:write": frozenset({"owner", "admin", "developer", "annotator"}),
    "datasets:read": frozenset(ROLES),
    "datasets:write": frozenset({"owner", "admin", "developer"}),
    "data:erase": frozenset({"owner", "admin"}),
    "runs:read": frozenset({"owner", "admin", "developer", "viewer"}),
    "runs:write": frozenset({"owner", "admin", "developer"}),
    "models:read": frozenset(ROLES),
    "models:write": frozenset({"owner", "admin", "developer"}),
    "models:promote": frozenset({"owner", "admin"}),
    "grants:read": frozenset({"owner", "admin", "developer", "viewer"}),
    "grants:write": frozenset({"owner", "admin"}),
    "labeling:read": frozenset({"owner", "admin", "developer", "annotator"}),
    "labeling:annotate": frozenset({"owner", "admin", "developer", "annotator"}),
    "labeling:write": frozenset({"owner", "admin", "developer"}),
    "labeling:review": frozenset({"owner", "admin"}),
    "flywheel:read": frozenset({"owner", "admin", "developer", "viewer"}),
    "flywheel:run": frozenset({"owner", "admin"}),
    "iterations:read": frozenset(ROLES),
    "iterations:write": frozenset({"owner", "admin", "developer"}),
    "schedules:read": frozenset({"owner", "admin", "developer", "viewer"}),
    "schedules:write": frozenset({"owner", "admin"}),
    "alerts:read": frozenset({"owner", "admin", "developer", "viewer"}),
    "alerts:write": frozenset({"owner", "admin", "developer"}),
}

#: Permissions that reach beyond one organization (operator organizations only).
PLATFORM_PERMISSIONS = frozenset({"plans:write", "orgs:read", "orgs:write", "metrics:read"})
_PLATFORM_ROLES = frozenset({"owner", "admin"})

#: Every permission a route may declare.
PERMISSIONS = frozenset(_TENANT) | PLATFORM_PERMISSIONS

#: role -> permissions it grants inside its own (non-operator) organization.
ROLE_PERMISSIONS = MappingProxyType(
    {role: frozenset(p for p, roles in _TENANT.items() if role in roles) for role in ROLES}
)


def check_role(role: str) -> str:
    """Return ``role`` if it is a known role.

    Raises
    ------
    InvalidInput
        Code ``invalid_role``.
    """
    if role not in ROLE_RANK:
        raise InvalidInput(
            f"unknown role {role!r}; roles are {', '.join(ROLES)}", code="invalid_role"
        )
    return role


def permissions_for(role: str, *, operator: bool) -> frozenset[str]:
    """Return every permission a key of ``role`` holds.

    Parameters
    ----------
    role : str
        One of :data:`ROLES`.
    operator : bool
        Whether the key's organization is an operator organization.
    """
    granted = ROLE_PERMISSIONS[check_role(role)]
    if operator and role in _PLATFORM_ROLES:
        granted = granted | PLATFORM_PERMISSIONS
    return granted
