"""Tests of baryon.training.model_versions: the registry's records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from baryon.training.model_versions import AliasMove


def test_alias_move_to_dict_is_json_ready() -> None:
    move = AliasMove(
        name="m",
        alias="champion",
        action="promote",
        from_version=1,
        to_version=2,
        actor="cli:ana",
        reason="better",
        forced=False,
        gate={"passed": True},
        at=datetime(2026, 1, 1, tzinfo=UTC),
        seq=3,
    )
    data = json.loads(json.dumps(move.to_dict()))
    assert data["at"] == "2026-01-01T00:00:00+00:00"
    assert data["changed"] is True
