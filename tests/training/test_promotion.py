"""Tests of baryon.training.promotion: the gate, forced promotion, rollback, races."""

from __future__ import annotations

import ast
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baryon.core.audit import list_audit_events
from baryon.core.errors import Conflict, InvalidInput, ModelNotReady, NotFound
from baryon.core.scope import SYSTEM
from baryon.training.gates import GateDecision
from baryon.training.model_versions import AliasMove, ModelVersion
from baryon.training.promotion import Promoter, champion_stack
from baryon.training.runs import Run
from baryon.workspace import Workspace

MakeRun = Callable[..., Run]
MakeDataset = Callable[..., object]
TrainQuad = Callable[..., int]


def test_promote_better_challenger_accepted_and_recorded(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.70).id, "m")
    reg.register(make_run(value=0.75).id, "m")
    move = workspace.promotion.promote("m", 2, min_delta=0.02, actor="bob", reason="better")
    assert (move.from_version, move.to_version, move.forced, move.actor) == (1, 2, False, "bob")
    assert move.gate is not None
    assert move.gate["passed"] is True
    assert move.gate["evaluated_on"]["source"] == "stored"
    assert reg.get_version("m").version == 2
    assert reg.get_version("m", version=2).aliases == ["champion"]  # challenger cleared
    with pytest.raises(ModelNotReady):
        reg.get_version("m", alias="challenger")
    history = reg.alias_history("m")
    assert [(h.alias, h.action, h.from_version, h.to_version) for h in history] == [
        ("champion", "register", None, 1),
        ("challenger", "register", None, 2),
        ("champion", "promote", 1, 2),
        ("challenger", "promote", 2, None),
    ]
    assert history[2].reason == "better"
    with workspace.db.session(SYSTEM) as session:
        actions = [e.action for e in list_audit_events(session, object_type="model")]
    assert actions.count("model.alias.promote") == 2
    assert "model.register" in actions


def test_promote_worse_challenger_refused_with_both_numbers(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.8).id, "m")
    reg.register(make_run(value=0.6).id, "m")
    with pytest.raises(Conflict) as info:
        workspace.promotion.promote("m", 2)
    assert info.value.code == "gate_refused"
    assert "0.6000" in info.value.message
    assert "0.8000" in info.value.message
    assert info.value.details["champion_value"] == pytest.approx(0.8)
    assert reg.get_version("m").version == 1
    with workspace.db.session(SYSTEM) as session:
        events = list_audit_events(session, object_type="model")
    assert "model.promote_refused" in [e.action for e in events]
    # every model event is the model's organization's, so its admins see it (/v1/audit)
    assert {e.org_id for e in events} == {workspace.scope.org_id}


def test_promote_improvement_below_min_delta_refused(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.80).id, "m")
    reg.register(make_run(value=0.81).id, "m")
    with pytest.raises(Conflict):
        workspace.promotion.promote("m", 2, min_delta=0.05)
    assert workspace.promotion.promote("m", 2, min_delta=0.01).to_version == 2


def test_promote_force_overrides_gate_and_is_audited(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.8).id, "m")
    reg.register(make_run(value=0.5).id, "m")
    move = workspace.promotion.promote("m", 2, force=True, actor="carol", reason="hotfix")
    assert move.forced is True
    assert move.gate is not None
    assert move.gate["passed"] is False
    assert reg.get_version("m").version == 2
    with workspace.db.session(SYSTEM) as session:
        events = [
            e
            for e in list_audit_events(session, object_type="model")
            if e.action == "model.alias.promote" and e.details["forced"]
        ]
    assert len(events) == 1
    assert (events[0].actor, events[0].details["reason"]) == ("carol", "hotfix")


def test_promote_force_different_splits_recorded_as_not_compared(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.8, dataset_version_id="dsv_a").id, "m")
    reg.register(make_run(value=0.9, dataset_version_id="dsv_b").id, "m")
    move = workspace.promotion.promote("m", 2, force=True)
    assert move.forced is True
    assert move.gate is not None
    assert move.gate["evaluated_on"]["source"].startswith("not compared")


def test_promote_current_champion_is_a_no_op(workspace: Workspace, make_run: MakeRun) -> None:
    reg = workspace.registry
    reg.register(make_run().id, "m")
    move = workspace.promotion.promote("m", 1)
    assert move.changed is False
    assert len(reg.alias_history("m")) == 1


def test_promote_negative_min_delta_refused(workspace: Workspace, make_run: MakeRun) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.8).id, "m")
    reg.register(make_run(value=0.9).id, "m")
    with pytest.raises(InvalidInput):
        workspace.promotion.promote("m", 2, min_delta=-0.1)


def test_promote_unknown_version_not_found(workspace: Workspace, make_run: MakeRun) -> None:
    workspace.registry.register(make_run().id, "m")
    with pytest.raises(NotFound):
        workspace.promotion.promote("m", 7)


def test_promote_lower_is_better_metric_not_used_for_regression_r2(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(task="regression", value=0.5).id, "r")
    reg.register(make_run(task="regression", value=0.4).id, "r")
    with pytest.raises(Conflict):
        workspace.promotion.promote("r", 2)


def test_rollback_moves_champion_back_and_stacks(workspace: Workspace, make_run: MakeRun) -> None:
    reg = workspace.registry
    for value in (0.5, 0.6, 0.7):
        reg.register(make_run(value=value).id, "m")
    workspace.promotion.promote("m", 2)
    workspace.promotion.promote("m", 3)
    assert workspace.promotion.rollback("m", actor="dave").to_version == 2
    assert reg.get_version("m").version == 2
    move = workspace.promotion.rollback("m")
    assert (move.from_version, move.to_version) == (2, 1)
    with pytest.raises(Conflict) as info:
        workspace.promotion.rollback("m")
    assert info.value.code == "no_previous_champion"


def test_rollback_without_previous_champion_conflicts(
    workspace: Workspace, make_run: MakeRun
) -> None:
    workspace.registry.register(make_run().id, "m")
    with pytest.raises(Conflict):
        workspace.promotion.rollback("m")


def test_promote_trained_models_gate_refuses_worse_accepts_better(
    workspace: Workspace, make_quadrants: MakeDataset, train_quad: TrainQuad
) -> None:
    make_quadrants("quad")
    reg = workspace.registry
    train_quad(1)  # v1 champion: a stump, about chance
    train_quad(3)  # v2: learns the quadrants
    train_quad(1)  # v3: a stump again
    v1, v2 = reg.get_version("quad", version=1), reg.get_version("quad", version=2)
    assert v2.primary_value is not None
    assert v1.primary_value is not None
    assert v2.primary_value > v1.primary_value
    move = workspace.promotion.promote("quad", 2, min_delta=0.1)
    assert move.gate is not None
    assert move.gate["evaluated_on"]["source"] == "stored"
    with pytest.raises(Conflict) as info:
        workspace.promotion.promote("quad", 3)
    assert info.value.code == "gate_refused"
    assert f"{v2.primary_value:.4f}" in info.value.message
    assert reg.get_version("quad").version == 2


def test_promote_different_splits_reevaluates_both_on_challenger_split(
    workspace: Workspace, make_quadrants: MakeDataset, train_quad: TrainQuad
) -> None:
    make_quadrants("quad")  # quad:2: split seed 3
    train_quad(1, dataset="quad:2")
    resplit = workspace.datasets.split("quad", strategy="random", seed=99, version=1)
    train_quad(3, dataset=resplit.ref)
    move = workspace.promotion.promote("quad", 2)
    assert move.gate is not None
    assert move.gate["evaluated_on"]["source"] == "re-evaluated"
    assert move.gate["evaluated_on"]["dataset_version_id"] == resplit.id
    assert move.gate["challenger_value"] > move.gate["champion_value"]


def test_promote_on_named_evaluation_dataset(
    workspace: Workspace, make_quadrants: MakeDataset, train_quad: TrainQuad
) -> None:
    make_quadrants("quad")
    holdout = make_quadrants("quad-holdout", n=60, data_seed=5)
    train_quad(1)
    train_quad(3)
    move = workspace.promotion.promote("quad", 2, evaluation_dataset="quad-holdout")
    assert move.gate is not None
    assert move.gate["evaluated_on"]["dataset"] == holdout.ref
    assert move.gate["evaluated_on"]["split"] == "test"


def _move(action: str, to: int | None) -> AliasMove:
    return AliasMove(
        name="m",
        alias="champion",
        action=action,
        from_version=None,
        to_version=to,
        actor="a",
        reason="",
        forced=False,
        gate=None,
        at=datetime(2025, 1, 1, tzinfo=UTC),
        seq=1,
    )


def test_champion_stack_promotions_push_rollbacks_pop() -> None:
    history = [_move("register", 1), _move("promote", 2), _move("promote", 3)]
    assert champion_stack(history) == [1, 2, 3]
    assert champion_stack([*history, _move("rollback", 2)]) == [1, 2]
    assert champion_stack([*history, _move("rollback", 2), _move("rollback", 1)]) == [1]


def test_champion_stack_empty_history_is_empty() -> None:
    assert champion_stack([]) == []
    assert champion_stack([_move("rollback", 1)]) == []


def test_resolve_without_champion_gives_none(workspace: Workspace, make_run: MakeRun) -> None:
    workspace.registry.register(make_run().id, "m")
    with workspace.registry.aliases("m") as aliases:
        aliases.move("champion", None, action="set_alias", actor="t", reason="test")
    challenger, champion = workspace.promotion.resolve("m", 1)
    assert (challenger.version, champion) == (1, None)


def test_gate_decides_without_writing(workspace: Workspace, make_run: MakeRun) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.7).id, "m")
    reg.register(make_run(value=0.9).id, "m")
    challenger, champion = workspace.promotion.resolve("m", 2)
    decision = workspace.promotion.gate(challenger, champion, min_delta=0.1)
    assert decision.passed is True
    assert (decision.challenger_value, decision.champion_value) == (0.9, 0.7)
    assert reg.get_version("m").version == 1
    assert len(reg.alias_history("m")) == 2


def test_promote_champion_moved_during_gate_conflicts_and_writes_nothing(
    workspace: Workspace, make_run: MakeRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = workspace.registry
    for value in (0.5, 0.6, 0.7):
        reg.register(make_run(value=value).id, "m")
    promotion = workspace.promotion
    promotion.promote("m", 2)
    real_gate = Promoter.gate

    def gate_while_rolled_back(
        self: Promoter, challenger: ModelVersion, champion: ModelVersion | None, **kw: object
    ) -> GateDecision:
        decision = real_gate(self, challenger, champion, **kw)  # type: ignore[arg-type]
        self.rollback("m", actor="someone else")  # the champion moves meanwhile
        return decision

    monkeypatch.setattr(Promoter, "gate", gate_while_rolled_back)
    before = len(reg.alias_history("m"))
    with pytest.raises(Conflict) as info:
        promotion.promote("m", 3)
    assert info.value.code == "concurrent_change"
    assert reg.get_version("m").version == 1
    assert len(reg.alias_history("m")) == before + 1  # the rollback only


def test_rollback_unknown_model_not_found(workspace: Workspace) -> None:
    with pytest.raises(NotFound) as info:
        workspace.promotion.rollback("nope")
    assert info.value.code == "model_not_found"


def _imports(module: str) -> set[str]:
    """Every module ``module`` imports, at top level or inside functions."""
    path = Path(__file__).resolve().parents[2] / (module.replace(".", "/") + ".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_import_direction_storage_and_evaluation_never_import_promotion() -> None:
    # registry.py imported evaluate.py inside _gate, and evaluate.py imported
    # registry.py inside evaluate_file: a circle hidden in function bodies
    policy = {"baryon.training.promotion", "baryon.training.evaluate"}
    assert _imports("baryon.training.registry") & policy == set()
    assert _imports("baryon.training._registry_sql") & policy == set()
    assert "baryon.training.promotion" not in _imports("baryon.training.evaluate")
    assert {
        m for m in _imports("baryon.training.gates") if m.startswith("baryon.training")
    } == set()
    assert {"baryon.training.evaluate", "baryon.training.gates"} <= _imports(
        "baryon.training.promotion"
    )
