"""Tests of baryon.training.registry: versions, aliases, loading, races."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from pgkit import pg_settings

from baryon.core.audit import list_audit_events
from baryon.core.config import Settings
from baryon.core.errors import Conflict, IntegrityError, InvalidInput, ModelNotReady, NotFound
from baryon.core.scope import SYSTEM
from baryon.training.runs import Run
from baryon.workspace import Workspace

MakeRun = Callable[..., Run]
MakeDataset = Callable[..., object]
TrainQuad = Callable[..., int]


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


def test_aliases_block_error_rolls_back_every_move(workspace: Workspace, make_run: MakeRun) -> None:
    reg = workspace.registry
    reg.register(make_run().id, "m")
    reg.register(make_run().id, "m")

    def move_then_fail() -> None:
        with reg.aliases("m") as aliases:
            aliases.move("champion", 2, action="promote", actor="t", reason="test")
            assert aliases.version("champion") == 2
            raise RuntimeError("fails before the block ends")

    with pytest.raises(RuntimeError):
        move_then_fail()
    assert reg.get_version("m").version == 1
    assert len(reg.alias_history("m")) == 2
    with workspace.db.session(SYSTEM) as session:
        actions = [e.action for e in list_audit_events(session, object_type="model")]
    assert "model.alias.promote" not in actions


def test_aliases_move_records_history_and_checks_version(
    workspace: Workspace, make_run: MakeRun
) -> None:
    reg = workspace.registry
    reg.register(make_run().id, "m")
    with reg.aliases("m") as aliases:
        with pytest.raises(NotFound) as info:
            aliases.move("challenger", 9, action="set_alias", actor="t", reason="")
        assert info.value.code == "version_not_found"
        with pytest.raises(InvalidInput):
            aliases.version("staging")
        move = aliases.move("challenger", 1, action="set_alias", actor="t", reason="why")
        assert [m.alias for m in aliases.history("challenger")] == ["challenger"]
    assert (move.from_version, move.to_version, move.seq, move.reason) == (None, 1, 2, "why")
    assert reg.get_version("m", version=1).aliases == ["challenger", "champion"]


def test_aliases_unknown_model_not_found(workspace: Workspace) -> None:
    with pytest.raises(NotFound) as info, workspace.registry.aliases("nope"):
        pass  # pragma: no cover - the block never runs
    assert info.value.code == "model_not_found"


def test_get_version_unknown_model_not_found(workspace: Workspace) -> None:
    with pytest.raises(NotFound) as info:
        workspace.registry.get_version("nope")
    assert info.value.code == "model_not_found"


def test_load_missing_alias_model_not_ready(workspace: Workspace, make_run: MakeRun) -> None:
    workspace.registry.register(make_run().id, "m")
    with pytest.raises(ModelNotReady):
        workspace.registry.load("m", alias="challenger")


@pytest.mark.postgres
def test_register_32_threads_race_on_postgres_gap_free(pg_url: str, tmp_path: Path) -> None:
    _race_on(pg_settings(pg_url, tmp_path / "pg-home"))


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
def test_load_returns_estimator_cached_by_digest(
    workspace: Workspace, make_quadrants: MakeDataset, train_quad: TrainQuad
) -> None:
    make_quadrants("quad")
    train_quad(3)
    first = workspace.registry.load("quad")
    again = workspace.registry.load("quad", version=1)
    assert first.estimator is again.estimator
    assert first.version.version == 1
    assert first.manifest["sha256"] == first.version.artifact_digest
    assert list(first.estimator.predict(pd.DataFrame({"x1": [0.5], "x2": [0.5]}))) == ["in"]


def test_load_cache_hit_reads_no_artifacts(
    workspace: Workspace,
    make_quadrants: MakeDataset,
    train_quad: TrainQuad,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # load() used to re-read and re-hash the manifest on every call, cached or not
    make_quadrants("quad")
    train_quad(3)
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
    settings: Settings, workspace: Workspace, make_quadrants: MakeDataset, train_quad: TrainQuad
) -> None:
    make_quadrants("quad")
    train_quad(3)
    digest = workspace.registry.get_version("quad").artifact_digest
    path = Path(settings.resolved_artifact_root) / "sha256" / digest[:2] / digest[2:4] / digest
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IntegrityError):
        workspace.registry.load("quad")


def test_load_other_sklearn_version_refused_in_production_only(
    settings: Settings, workspace: Workspace, make_quadrants: MakeDataset, train_quad: TrainQuad
) -> None:
    import json

    from sqlalchemy import update

    from baryon.training.registry import ModelRegistry
    from baryon.training.tables import ModelVersionRow

    make_quadrants("quadrants")
    train_quad(2, dataset="quadrants")
    version = workspace.registry.get_version("quad")
    manifest = json.loads(workspace.artifacts.get_bytes(version.manifest_digest))
    manifest["library_versions"]["sklearn"] = "0.1.0"
    digest = workspace.artifacts.put_bytes(json.dumps(manifest).encode())
    with workspace.db.session(SYSTEM) as session:
        session.execute(update(ModelVersionRow).values(manifest_digest=digest))
    strict = settings.model_copy(update={"production": True})
    production = ModelRegistry(
        workspace.db, workspace.artifacts, workspace.clock, scope=workspace.scope, settings=strict
    )
    with pytest.raises(IntegrityError) as info:
        production.load("quad")
    assert info.value.code == "version_mismatch"
    relaxed = ModelRegistry(
        workspace.db, workspace.artifacts, workspace.clock, scope=workspace.scope, settings=settings
    )
    assert relaxed.load("quad").version.version == 1
