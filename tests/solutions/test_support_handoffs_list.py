"""Tests of baryon.solutions.support.service.list_handoffs (the console's overview)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM, Scope
from baryon.solutions.support.service import list_handoffs
from baryon.solutions.support.tables import SupportHandoffRow
from baryon.workspace import Workspace


def _handoff(org_id: str, n: int, clock: FixedClock, status: str = "open") -> SupportHandoffRow:
    return SupportHandoffRow(
        prediction_id=f"pred_{n:026d}", org_id=org_id, conversation_id=None,
        model_name="support-intent", model_version=1, intent="card_arrival",
        confidence=0.3, reason="low_confidence", text=f"text {n}", text_hash=None,
        status=status, created_at=clock.now() + timedelta(minutes=n),
    )  # fmt: skip


def test_list_handoffs_newest_first_per_organization(workspace: Workspace) -> None:
    clock = FixedClock()
    with workspace.db.session(SYSTEM) as s:
        acme = create_org(s, name="acme", plan="free", clock=clock).id
        globex = create_org(s, name="globex", plan="free", clock=clock).id
        s.add_all([_handoff(acme, n, clock, "closed" if n == 2 else "open") for n in range(4)])
        s.add(_handoff(globex, 9, clock))
    with workspace.db.session(Scope.own(acme)) as s:
        rows = list_handoffs(s, acme, limit=3)
        assert [r["text"] for r in rows] == ["text 3", "text 2", "text 1"]
        assert [r["text"] for r in list_handoffs(s, acme, status="closed")] == ["text 2"]
        with pytest.raises(InvalidInput) as err:
            list_handoffs(s, acme, limit=0)
        assert err.value.code == "invalid_limit"
