"""Tests of baryon.training.registry: versions, aliases, gate, rollback, races."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from baryon.core.audit import list_audit_events
from baryon.core.config import Settings
from baryon.core.errors import Conflict, IntegrityError, InvalidInput, ModelNotReady, NotFound
from baryon.training.runs import Run
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

MakeRun = Callable[..., Run]
MakeDataset = Callable[..., object]


def test_register_first_version_becomes_champion_then_challenger(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    v1 = reg.register(make_run(value=0.7).id, "intents", actor="alice")
    v2 = reg.register(make_run(value=0.8).id, "intents")
    assert (v1.version, v1.aliases, v1.created_by) == (1, ["champion"], "alice")
    assert (v2.version, v2.aliases) == (2, ["challenger"])
    assert v2.primary_metric == "accuracy"
    assert v2.primary_value == pytest.approx(0.8)
    [model] = reg.list_models()
    assert (model.name, model.latest_version, model.aliases) == (
        "intents",
        2,
        {"challenger": 2, "champion": 1},
    )


def test_register_failed_run_refused(workspace: Workspace, make_run: MakeRun) -> None:
    run = make_run(status="failed")
    with pytest.raises(Conflict) as info:
        workspace.registry.register(run.id, "intents")
    assert info.value.code == "run_not_registrable"


def test_register_unknown_run_not_found(workspace: Workspace) -> None:
    with pytest.raises(NotFound):
        workspace.registry.register("run_01jd8x3k6q9w2f7c0m4t5v8b1a", "intents")


def test_register_other_task_under_same_name_conflicts(
    workspace: Workspace, make_run: MakeRun
) -> None:
    workspace.registry.register(make_run().id, "m")
    with pytest.raises(Conflict) as info:
        workspace.registry.register(make_run(task="regression").id, "m")
    assert info.value.code == "task_mismatch"
    assert workspace.registry.list_models()[0].latest_version == 1


@pytest.mark.parametrize("name", ["", "a b", "x@champion", "v:1", "-lead", "é"])
def test_register_invalid_name_refused(workspace: Workspace, make_run: MakeRun, name: str) -> None:
    with pytest.raises(InvalidInput):
        workspace.registry.register(make_run().id, name)


def test_register_32_threads_race_gives_gap_free_unique_versions(
    workspace: Workspace, make_run: MakeRun
) -> None:
    run = make_run()
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(32)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(workspace.registry.register(run.id, "raced").version)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == list(range(1, 33))
    versions = workspace.registry.list_versions("raced")
    assert [v.version for v in versions] == list(range(1, 33))
    champions = [v.version for v in versions if "champion" in v.aliases]
    assert len(champions) == 1


@pytest.mark.slow
def test_register_several_processes_race_gives_gap_free_unique_versions(
    settings: Settings, make_run: MakeRun
) -> None:
    run = make_run()
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from baryon.core.config import Settings
        from baryon.workspace import Workspace
        ws = Workspace.open(Settings(home=Path({str(settings.home)!r})))
        print(",".join(str(ws.registry.register({run.id!r}, "multi").version) for _ in range(6)))
        """
    )
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=root, text=True
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    numbers = sorted(int(n) for out in outputs for n in out.strip().split(","))
    assert numbers == list(range(1, 25))


def test_promote_better_challenger_accepted_and_recorded(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.70).id, "m")
    reg.register(make_run(value=0.75).id, "m")
    move = reg.promote("m", 2, min_delta=0.02, actor="bob", reason="better")
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
    with workspace.db.session() as session:
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
        reg.promote("m", 2)
    assert info.value.code == "gate_refused"
    assert "0.6000" in info.value.message
    assert "0.8000" in info.value.message
    assert info.value.details["champion_value"] == pytest.approx(0.8)
    assert reg.get_version("m").version == 1
    with workspace.db.session() as session:
        actions = [e.action for e in list_audit_events(session, object_type="model")]
    assert "model.promote_refused" in actions


def test_promote_improvement_below_min_delta_refused(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.80).id, "m")
    reg.register(make_run(value=0.81).id, "m")
    with pytest.raises(Conflict):
        reg.promote("m", 2, min_delta=0.05)
    assert reg.promote("m", 2, min_delta=0.01).to_version == 2


def test_promote_force_overrides_gate_and_is_audited(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.8).id, "m")
    reg.register(make_run(value=0.5).id, "m")
    move = reg.promote("m", 2, force=True, actor="carol", reason="hotfix")
    assert move.forced is True
    assert move.gate is not None
    assert move.gate["passed"] is False
    assert reg.get_version("m").version == 2
    with workspace.db.session() as session:
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
    move = reg.promote("m", 2, force=True)
    assert move.forced is True
    assert move.gate is not None
    assert move.gate["evaluated_on"]["source"].startswith("not compared")


def test_promote_current_champion_is_a_no_op(workspace: Workspace, make_run: MakeRun) -> None:
    reg = workspace.registry
    reg.register(make_run().id, "m")
    move = reg.promote("m", 1)
    assert move.changed is False
    assert len(reg.alias_history("m")) == 1


def test_promote_negative_min_delta_refused(workspace: Workspace, make_run: MakeRun) -> None:
    reg = workspace.registry
    reg.register(make_run(value=0.8).id, "m")
    reg.register(make_run(value=0.9).id, "m")
    with pytest.raises(InvalidInput):
        reg.promote("m", 2, min_delta=-0.1)


def test_promote_unknown_version_not_found(workspace: Workspace, make_run: MakeRun) -> None:
    workspace.registry.register(make_run().id, "m")
    with pytest.raises(NotFound):
        workspace.registry.promote("m", 7)


def test_promote_lower_is_better_metric_not_used_for_regression_r2(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run(task="regression", value=0.5).id, "r")
    reg.register(make_run(task="regression", value=0.4).id, "r")
    with pytest.raises(Conflict):
        reg.promote("r", 2)


def test_rollback_moves_champion_back_and_stacks(workspace: Workspace, make_run: MakeRun) -> None:
    reg = workspace.registry
    for value in (0.5, 0.6, 0.7):
        reg.register(make_run(value=value).id, "m")
    reg.promote("m", 2)
    reg.promote("m", 3)
    assert reg.rollback("m", actor="dave").to_version == 2
    assert reg.get_version("m").version == 2
    move = reg.rollback("m")
    assert (move.from_version, move.to_version) == (2, 1)
    with pytest.raises(Conflict) as info:
        reg.rollback("m")
    assert info.value.code == "no_previous_champion"


def test_rollback_without_previous_champion_conflicts(
    workspace: Workspace, make_run: MakeRun
) -> None:
    workspace.registry.register(make_run().id, "m")
    with pytest.raises(Conflict):
        workspace.registry.rollback("m")


def test_set_alias_champion_refused_challenger_moves(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run().id, "m")
    reg.register(make_run().id, "m")
    with pytest.raises(InvalidInput) as info:
        reg.set_alias("m", "champion", 2)
    assert info.value.code == "use_promote"
    assert reg.set_alias("m", "challenger", 1, reason="retest").to_version == 1
    assert reg.set_alias("m", "challenger", None).to_version is None
    with pytest.raises(InvalidInput):
        reg.set_alias("m", "staging", 1)


def test_get_version_unknown_model_not_found(workspace: Workspace) -> None:
    with pytest.raises(NotFound) as info:
        workspace.registry.get_version("nope")
    assert info.value.code == "model_not_found"


def test_load_missing_alias_model_not_ready(workspace: Workspace, make_run: MakeRun) -> None:
    workspace.registry.register(make_run().id, "m")
    with pytest.raises(ModelNotReady):
        workspace.registry.load("m", alias="challenger")


@pytest.mark.postgres
def test_register_32_threads_race_on_postgres_gap_free(tmp_path: Path) -> None:
    import os
    import uuid

    url = os.environ.get("BARYON_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("BARYON_TEST_POSTGRES_URL not set: no PostgreSQL server to test against")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    # a database of its own: the shared one may hold other tests' schemas
    fresh = f"baryon_reg_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{fresh}"'))
    try:
        own_url = make_url(url).set(database=fresh).render_as_string(hide_password=False)
        _race_on(Settings(home=tmp_path / "pg-home", database_url=own_url))
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)'))
        admin.dispose()


def _race_on(settings: Settings) -> None:
    with Workspace.open(settings) as ws:
        run = ws.runs.start(
            kind="decision_tree",
            task="classification",
            params={},
            seed=0,
            dataset_version_id="dsv_pg",
            dataset_name="d",
            dataset_version=1,
        )
        ws.runs.put_artifact(run.id, "model", b"m")
        ws.runs.finish(run.id, status="succeeded")
        name = "pg-race"
        results: list[int] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(32)

        def worker() -> None:
            try:
                barrier.wait()
                results.append(ws.registry.register(run.id, name).version)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert sorted(results) == list(range(1, 33))
        champions = [v for v in ws.registry.list_versions(name) if "champion" in v.aliases]
        assert len(champions) == 1


# ------------------------------------------------- with models trained for real
def _quadrants(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """ "Both positive": a stump gets about 75 %, a depth-3 tree about 100 % (known order)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(-1, 1, size=n), rng.uniform(-1, 1, size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "label": np.where((x1 > 0) & (x2 > 0), "in", "out")})


_QUADRANT_ROLES = {"x1": "feature", "x2": "feature", "label": "label"}


def _train(ws: Workspace, depth: int, dataset: str = "quad") -> int:
    run = Trainer(ws).train(
        "decision_tree", dataset=dataset, params={"max_depth": depth}, register="quad"
    )
    assert run.status == "succeeded", run.error
    return int(run.extra["registered"]["version"])


def test_load_returns_estimator_cached_by_digest(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("quad", _quadrants(), roles=_QUADRANT_ROLES)
    _train(workspace, 3)
    first = workspace.registry.load("quad")
    again = workspace.registry.load("quad", version=1)
    assert first.estimator is again.estimator
    assert first.version.version == 1
    assert first.manifest["sha256"] == first.version.artifact_digest
    assert list(first.estimator.predict(pd.DataFrame({"x1": [0.5], "x2": [0.5]}))) == ["in"]


def test_load_cache_hit_reads_no_artifacts(
    workspace: Workspace, make_dataset: MakeDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    # load() used to re-read and re-hash the manifest on every call, cached or not
    make_dataset("quad", _quadrants(), roles=_QUADRANT_ROLES)
    _train(workspace, 3)
    first = workspace.registry.load("quad")
    reads: list[str] = []
    store = workspace.registry.artifacts
    real = store.get_bytes

    def counting(digest: str, **kwargs: object) -> bytes:
        reads.append(digest)
        return real(digest, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "get_bytes", counting)
    again = workspace.registry.load("quad")
    assert reads == []
    assert again.estimator is first.estimator
    assert again.manifest == first.manifest
    again.manifest["sha256"] = "changed by a caller"
    assert workspace.registry.load("quad").manifest == first.manifest  # callers get copies


def test_load_byte_flipped_in_stored_model_refused(
    settings: Settings, workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("quad", _quadrants(), roles=_QUADRANT_ROLES)
    _train(workspace, 3)
    digest = workspace.registry.get_version("quad").artifact_digest
    path = Path(settings.resolved_artifact_root) / "sha256" / digest[:2] / digest[2:4] / digest
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        workspace.registry.load("quad")


def test_promote_trained_models_gate_refuses_worse_accepts_better(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("quad", _quadrants(), roles=_QUADRANT_ROLES)
    reg = workspace.registry
    _train(workspace, 1)  # v1 champion: a stump, about chance
    _train(workspace, 3)  # v2: learns the quadrants
    _train(workspace, 1)  # v3: a stump again
    v1, v2 = reg.get_version("quad", version=1), reg.get_version("quad", version=2)
    assert v2.primary_value is not None
    assert v1.primary_value is not None
    assert v2.primary_value > v1.primary_value
    move = reg.promote("quad", 2, min_delta=0.1)
    assert move.gate is not None
    assert move.gate["evaluated_on"]["source"] == "stored"
    with pytest.raises(Conflict) as info:
        reg.promote("quad", 3)
    assert info.value.code == "gate_refused"
    assert f"{v2.primary_value:.4f}" in info.value.message
    assert reg.get_version("quad").version == 2


def test_promote_different_splits_reevaluates_both_on_challenger_split(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("quad", _quadrants(), roles=_QUADRANT_ROLES)  # quad:2: split seed 3
    _train(workspace, 1, dataset="quad:2")
    resplit = workspace.datasets.split("quad", strategy="random", seed=99, version=1)
    _train(workspace, 3, dataset=resplit.ref)
    move = workspace.registry.promote("quad", 2)
    assert move.gate is not None
    assert move.gate["evaluated_on"]["source"] == "re-evaluated"
    assert move.gate["evaluated_on"]["dataset_version_id"] == resplit.id
    assert move.gate["challenger_value"] > move.gate["champion_value"]


def test_promote_on_named_evaluation_dataset(
    workspace: Workspace, make_dataset: MakeDataset
) -> None:
    make_dataset("quad", _quadrants(), roles=_QUADRANT_ROLES)
    holdout = make_dataset("quad-holdout", _quadrants(60, seed=5), roles=_QUADRANT_ROLES)
    _train(workspace, 1)
    _train(workspace, 3)
    move = workspace.registry.promote("quad", 2, evaluation_dataset="quad-holdout")
    assert move.gate is not None
    assert move.gate["evaluated_on"]["dataset"] == holdout.ref
    assert move.gate["evaluated_on"]["split"] == "test"


def test_load_other_sklearn_version_refused_in_production_only(
    settings: Settings, workspace: Workspace, make_dataset: MakeDataset
) -> None:
    import json

    from sqlalchemy import update

    from baryon.training.registry import ModelRegistry
    from baryon.training.tables import ModelVersionRow

    make_dataset("quadrants", _quadrants(), roles=_QUADRANT_ROLES)
    _train(workspace, 2, dataset="quadrants")
    version = workspace.registry.get_version("quad")
    manifest = json.loads(workspace.artifacts.get_bytes(version.manifest_digest))
    manifest["library_versions"]["sklearn"] = "0.1.0"
    digest = workspace.artifacts.put_bytes(json.dumps(manifest).encode())
    with workspace.db.session() as session:
        session.execute(update(ModelVersionRow).values(manifest_digest=digest))
    strict = settings.model_copy(update={"production": True})
    production = ModelRegistry(workspace.db, workspace.artifacts, workspace.clock, settings=strict)
    with pytest.raises(IntegrityError) as info:
        production.load("quad")
    assert info.value.code == "version_mismatch"
    relaxed = ModelRegistry(workspace.db, workspace.artifacts, workspace.clock, settings=settings)
    assert relaxed.load("quad").version.version == 1
