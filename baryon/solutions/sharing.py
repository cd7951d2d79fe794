"""Share the bundled solution models with every organization.

The operator organization owns the solution models the demo trains
(``concrete-strength``, ``support-intent``, ``sentiment``, ``topic``,
``recommender``) and grants ``predict`` on each to every organization, so any
customer key calls them (DESIGN.md §3, Ownership). An organization that trains its own
model of the same name gets its own first.
"""

from __future__ import annotations

from baryon.core.scope import OPERATOR_ORG_ID
from baryon.tenancy.grants import EVERYONE, Grant, create_grant
from baryon.workspace import Workspace

__all__ = ["SOLUTION_MODELS", "share_solution_models"]

#: Models the bundled solutions register.
SOLUTION_MODELS: tuple[str, ...] = (
    "concrete-strength",
    "support-intent",
    "sentiment",
    "topic",
    "recommender",
)


def share_solution_models(workspace: Workspace, *, actor: str = "demo") -> list[Grant]:
    """Grant ``predict`` on every solution model the operator has to every organization.

    Idempotent: a model already shared keeps its grant. Models not trained yet are
    skipped.

    Returns
    -------
    list of Grant
        The grants now in place.
    """
    if workspace.scope.org_id != OPERATOR_ORG_ID:
        raise ValueError("solution models are shared by the operator organization's workspace")
    listed = workspace.registry.list_models()
    existing = {m.name for m in listed if m.org_id == OPERATOR_ORG_ID}
    grants = []
    with workspace.db.session(workspace.scope) as session:
        for name in SOLUTION_MODELS:
            if name in existing:
                grants.append(
                    create_grant(
                        session,
                        owner_org_id=OPERATOR_ORG_ID,
                        object_type="model",
                        object_name=name,
                        grantee=EVERYONE,
                        permission="predict",
                        actor=actor,
                        clock=workspace.clock,
                    )
                )
    return grants
