"""Grants: an organization shares one of its models or datasets with another.

A grant gives one organization (or every organization) ``read`` or ``predict`` on one
object of its owner:

==========  ==========================================================  ==========
object      ``read``                                                    ``predict``
==========  ==========================================================  ==========
model       see it in lists, its versions, metrics and gate history     call it
dataset     see it, its versions, schema and lineage; train on it        —
==========  ==========================================================  ==========

Grants are revocable (the row is deleted) and audited in the same transaction as
the change. :func:`scope_for` turns an organization's grants into the
:class:`~baryon.core.scope.Scope` every query of that organization runs under, so a
revoked grant stops working on the next request.

The operator organization shares the bundled solution models with every
organization through grants with no grantee (``grantee=None``, shown as ``*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.core.scope import Scope
from baryon.data.tables import DatasetRow
from baryon.tenancy.tables import GrantRow, OrganizationRow
from baryon.training.tables import RegisteredModelRow

__all__ = [
    "EVERYONE",
    "GRANT_PERMISSIONS",
    "Grant",
    "create_grant",
    "list_grants",
    "revoke_grant",
    "scope_for",
]

#: What a grant to every organization names as its grantee.
EVERYONE = "*"

#: object type -> permissions a grant on it may give.
GRANT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "model": ("read", "predict"),
    "dataset": ("read",),
}

_OBJECT_ROWS: dict[str, Any] = {"model": RegisteredModelRow, "dataset": DatasetRow}


@dataclass(frozen=True)
class Grant:
    """One grant, as the API and the CLI show it.

    Attributes
    ----------
    id : str
        ``grant_…``.
    owner : str
        Name of the organization that owns the object.
    grantee : str
        Name of the organization granted, or ``"*"`` for every organization.
    object_type : str
        ``model`` or ``dataset``.
    object_name : str
    permission : str
        ``read`` or ``predict``.
    created_by : str
    created_at : datetime
    """

    id: str
    owner: str
    grantee: str
    object_type: str
    object_name: str
    permission: str
    created_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``created_at`` in ISO 8601)."""
        return {
            "id": self.id,
            "owner": self.owner,
            "grantee": self.grantee,
            "object_type": self.object_type,
            "object_name": self.object_name,
            "permission": self.permission,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


def scope_for(session: Session, org_id: str) -> Scope:
    """Return the scope of organization ``org_id``: its own objects plus what it was granted.

    Parameters
    ----------
    session : Session
        Any session (grants and organizations are not organization-owned tables).
    org_id : str

    Raises
    ------
    NotFound
        ``org_not_found``.
    """
    org = session.get(OrganizationRow, org_id)
    if org is None:
        raise NotFound(f"no organization {org_id!r}", code="org_not_found")
    rows = session.execute(
        select(GrantRow, OrganizationRow.name)
        .join(OrganizationRow, OrganizationRow.id == GrantRow.owner_org_id)
        .where(
            or_(GrantRow.grantee_org_id == org_id, GrantRow.grantee_org_id.is_(None)),
            GrantRow.owner_org_id != org_id,
        )
    ).all()
    readable: dict[str, set[str]] = {}
    predictable: set[str] = set()
    owners = {org.name: org.id}
    for grant, owner_name in rows:
        readable.setdefault(grant.object_type, set()).add(grant.object_id)
        if grant.permission == "predict":
            predictable.add(grant.object_id)
        owners[owner_name] = grant.owner_org_id
    return Scope(
        org_id=org.id,
        org_name=org.name,
        readable={kind: frozenset(ids) for kind, ids in readable.items()},
        predictable=frozenset(predictable),
        owners=owners,
    )


def _org(session: Session, name_or_id: str) -> OrganizationRow:
    row = session.scalar(
        select(OrganizationRow).where(
            or_(OrganizationRow.id == name_or_id, OrganizationRow.name == name_or_id)
        )
    )
    if row is None:
        raise NotFound(f"no organization {name_or_id!r}", code="org_not_found")
    return row


def _check(object_type: str, permission: str) -> None:
    allowed = GRANT_PERMISSIONS.get(object_type)
    if allowed is None:
        raise InvalidInput(
            f"unknown object type {object_type!r}; one of {', '.join(GRANT_PERMISSIONS)}",
            code="invalid_object_type",
        )
    if permission not in allowed:
        raise InvalidInput(
            f"a {object_type} can be granted {' or '.join(allowed)}, not {permission!r}",
            code="invalid_permission",
        )


def _to_grant(session: Session, row: GrantRow, object_name: str | None = None) -> Grant:
    rows = session.execute(select(OrganizationRow.id, OrganizationRow.name))
    names = {r.id: r.name for r in rows}
    if object_name is None:
        table = _OBJECT_ROWS[row.object_type]
        object_name = session.scalar(select(table.name).where(table.id == row.object_id))
    return Grant(
        id=row.id,
        owner=names.get(row.owner_org_id, row.owner_org_id),
        grantee=EVERYONE if row.grantee_org_id is None else names.get(row.grantee_org_id, "?"),
        object_type=row.object_type,
        object_name=str(object_name),
        permission=row.permission,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def create_grant(
    session: Session,
    *,
    owner_org_id: str,
    object_type: str,
    object_name: str,
    grantee: str,
    permission: str,
    actor: str,
    clock: Clock | None = None,
) -> Grant:
    """Give ``grantee`` ``permission`` on the owner's object ``object_name``.

    Granting what is already granted returns the existing grant (idempotent).

    Parameters
    ----------
    session : Session
        A session scoped to the owner (``Scope`` of ``owner_org_id``).
    owner_org_id : str
        The organization that owns the object (the caller's).
    object_type : str
        ``model`` or ``dataset``.
    object_name : str
        The object's name in the owner's organization.
    grantee : str
        An organization name or id, or ``"*"`` for every organization.
    permission : str
        ``read`` or ``predict`` (see :data:`GRANT_PERMISSIONS`).
    actor : str
        Who grants (audited).

    Raises
    ------
    InvalidInput
        ``invalid_object_type``, ``invalid_permission``, ``self_grant`` (an organization
        granting itself).
    NotFound
        ``org_not_found`` (no such grantee), ``model_not_found`` / ``dataset_not_found``
        (the owner has no such object: another organization's object, even one shared
        with the caller, cannot be re-shared).
    """
    _check(object_type, permission)
    clock = clock or SystemClock()
    grantee_id = None if grantee == EVERYONE else _org(session, grantee).id
    if grantee_id == owner_org_id:
        raise InvalidInput("an organization cannot grant itself", code="self_grant")
    table = _OBJECT_ROWS[object_type]
    obj = session.scalar(
        select(table).where(table.name == object_name, table.org_id == owner_org_id)
    )
    if obj is None:
        raise NotFound(
            f"you have no {object_type} named {object_name!r}", code=f"{object_type}_not_found"
        )
    existing = session.scalar(
        select(GrantRow).where(
            GrantRow.object_type == object_type,
            GrantRow.object_id == obj.id,
            GrantRow.permission == permission,
            GrantRow.grantee_org_id.is_(None)
            if grantee_id is None
            else GrantRow.grantee_org_id == grantee_id,
        )
    )
    if existing is not None:
        return _to_grant(session, existing, object_name)
    row = GrantRow(
        id=new_id("grant", clock),
        owner_org_id=owner_org_id,
        grantee_org_id=grantee_id,
        object_type=object_type,
        object_id=obj.id,
        permission=permission,
        created_by=actor,
        created_at=clock.now(),
    )
    session.add(row)
    record_audit(
        session,
        actor=actor,
        action="grant.create",
        object_type=object_type,
        object_id=obj.id,
        details={"grantee": grantee, "permission": permission, "grant_id": row.id},
        org_id=owner_org_id,
        clock=clock,
    )
    session.flush()
    return _to_grant(session, row, object_name)


def list_grants(session: Session, org_id: str) -> dict[str, list[Grant]]:
    """Return ``{"given": [...], "received": [...]}`` grants of ``org_id``."""
    given = session.scalars(
        select(GrantRow).where(GrantRow.owner_org_id == org_id).order_by(GrantRow.created_at)
    ).all()
    received = session.scalars(
        select(GrantRow)
        .where(
            or_(GrantRow.grantee_org_id == org_id, GrantRow.grantee_org_id.is_(None)),
            GrantRow.owner_org_id != org_id,
        )
        .order_by(GrantRow.created_at)
    ).all()
    return {
        "given": [_to_grant(session, g) for g in given],
        "received": [_to_grant(session, g) for g in received],
    }


def revoke_grant(
    session: Session, *, owner_org_id: str, grant_id: str, actor: str, clock: Clock | None = None
) -> Grant:
    """Delete one of the owner's grants (audited); it stops working on the next request.

    Raises
    ------
    NotFound
        ``grant_not_found``: no such grant given by ``owner_org_id``.
    """
    row = session.scalar(
        select(GrantRow).where(GrantRow.id == grant_id, GrantRow.owner_org_id == owner_org_id)
    )
    if row is None:
        raise NotFound(f"no grant {grant_id!r}", code="grant_not_found")
    grant = _to_grant(session, row)
    session.delete(row)
    record_audit(
        session,
        actor=actor,
        action="grant.revoke",
        object_type=row.object_type,
        object_id=row.object_id,
        details={"grant_id": grant_id, "grantee": grant.grantee, "permission": grant.permission},
        org_id=owner_org_id,
        clock=clock,
    )
    return grant
