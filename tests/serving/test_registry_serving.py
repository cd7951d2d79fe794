"""Predictions from models trained and registered for real (the registry contract)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from servingkit import ClientFactory, Tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import OPERATOR_ORG_ID
from baryon.predictions.inference import RegistryModelResolver, run_inference, sample_input
from baryon.serving.app import create_app
from baryon.tenancy.grants import EVERYONE, create_grant
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace


@pytest.fixture
def trained(ws: Workspace, settings: Settings) -> Workspace:
    """Dataset ``toy`` (label 'hi' iff x1 + x2 > 1) and model ``toy`` v1 (champion), v2."""
    rng = np.random.default_rng(0)
    lines = ["x1,x2,label"] + [
        f"{a:.3f},{b:.3f},{'hi' if a + b > 1 else 'lo'}" for a, b in rng.random((150, 2))
    ]
    path = settings.home / "toy.csv"
    path.write_text("\n".join(lines) + "\n")
    ws.datasets.ingest(path, name="toy", roles={"label": "label"})
    ws.datasets.split("toy", strategy="random", seed=1)
    for seed in (1, 2):
        run = Trainer(ws).train("mlp", dataset="toy", register="toy", seed=seed)
        assert run.status == "succeeded", run
    # The operator owns ``toy`` and shares it with every organization (as the demo does).
    with ws.db.session(ws.scope) as session:
        create_grant(
            session,
            owner_org_id=OPERATOR_ORG_ID,
            object_type="model",
            object_name="toy",
            grantee=EVERYONE,
            permission="predict",
            actor="test",
        )
    return ws


@pytest.fixture
def app(settings: Settings, trained: Workspace, clock: FixedClock) -> FastAPI:
    """The app on the real registry, with alias moves visible at once (no alias cache)."""
    resolver = RegistryModelResolver(trained, alias_ttl=0.0)
    return create_app(settings, workspace=trained, clock=clock, resolver=resolver)


def test_predict_with_registered_champion_then_challenger_then_promoted(
    api: ClientFactory, tenants: Tenants, trained: Workspace
) -> None:
    dev = api(tenants.keys["acme:developer"])
    rows = [{"x1": 0.95, "x2": 0.9}, {"x1": 0.05, "x2": 0.1}]
    first = dev.post("/v1/models/toy/predict", json={"inputs": rows})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["model_version"] == 1
    assert [o["label"] for o in body["outputs"]] == ["hi", "lo"]
    assert set(body["outputs"][0]["probabilities"]) == {"hi", "lo"}
    pinned = dev.post("/v1/models/toy/predict?version=2", json={"inputs": rows})
    assert pinned.json()["model_version"] == 2
    api(tenants.keys["acme:admin"]).put("/v1/endpoints/toy", json={"challenger_weight": 1.0})
    split = dev.post("/v1/models/toy/predict", json={"inputs": rows}).json()
    assert (split["variant"], split["model_version"]) == ("challenger", 2)
    trained.promotion.promote("toy", 2, force=True, reason="test")
    api(tenants.keys["acme:admin"]).put("/v1/endpoints/toy", json={"challenger_weight": 0.0})
    promoted = dev.post("/v1/models/toy/predict", json={"inputs": rows}).json()
    assert (promoted["variant"], promoted["model_version"]) == ("champion", 2)
    assert api().get("/readyz").json()["models_checked"] == 1


def test_predict_registered_model_wrong_features_422(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/models/toy/predict", json={"inputs": [{"x1": 0.5}]}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_features"


def test_predict_unregistered_model_404(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:developer"]).post("/v1/models/nope/predict", json={"inputs": [1]})
    assert r.status_code == 404
    assert r.json()["code"] == "model_not_found"


def test_registry_resolver_caches_alias_for_ttl(trained: Workspace) -> None:
    from sqlalchemy import update

    from baryon.training.tables import ModelAliasRow

    resolver = RegistryModelResolver(trained, alias_ttl=3600.0)
    assert resolver.resolve("toy", scope=trained.scope).version == 1
    with trained.db.session(trained.scope) as session:  # as another process would move it
        session.execute(
            update(ModelAliasRow).where(ModelAliasRow.alias == "champion").values(version=2)
        )
    assert resolver.resolve("toy", scope=trained.scope).version == 1  # within the TTL
    assert (
        RegistryModelResolver(trained, alias_ttl=0.0).resolve("toy", scope=trained.scope).version
        == 2
    )
    assert resolver.resolve("toy", scope=trained.scope, version=1).version == 1


def test_readiness_reports_unloadable_champion(trained: Workspace, tmp_path: Path) -> None:
    mv = trained.registry.get_version("toy")
    trained.artifacts.delete(mv.artifact_digest)
    trained.registry.clear_cache()
    assert RegistryModelResolver(trained).readiness() == {"toy": False}


def test_registry_resolver_version_without_contract_is_strict_typed_by_its_dataset(
    trained: Workspace,
) -> None:
    from sqlalchemy import update

    from baryon.core.scope import SYSTEM
    from baryon.ml.inputs import InputContract
    from baryon.training.tables import ModelVersionRow

    served = RegistryModelResolver(trained, alias_ttl=0.0).resolve("toy", scope=trained.scope)
    assert served.inputs is not None
    assert (served.inputs.missing, dict(served.inputs.types)) == (
        "strict", {"x1": "number", "x2": "number"},
    )  # fmt: skip
    with trained.db.session(SYSTEM) as session:  # as versions registered before contracts
        session.execute(update(ModelVersionRow).values(extra={}))
    trained.registry.clear_cache()
    legacy = RegistryModelResolver(trained, alias_ttl=0.0).resolve("toy", scope=trained.scope)
    assert legacy.inputs == InputContract(types={"x1": "number", "x2": "number"})


def test_warm_up_loads_every_champion_and_scores_a_sample(trained: Workspace) -> None:
    trained.registry.clear_cache()
    champion = trained.registry.get_version("toy", alias="champion")
    key = (champion.artifact_digest, champion.manifest_digest)
    assert trained.model_cache.get(key) is None
    warmed = RegistryModelResolver(trained).warm_up()
    assert (warmed.loaded, warmed.failed) == (1, 0)
    assert warmed.seconds > 0
    assert trained.model_cache.get(key) is not None  # the first request pays no load


def test_sample_input_meets_the_models_input_contract(trained: Workspace) -> None:
    served = RegistryModelResolver(trained).resolve("toy", scope=trained.scope)
    sample = sample_input(served)
    assert set(sample) == {"x1", "x2"}
    assert len(run_inference(served, [sample]).outputs) == 1  # refused would raise


def test_warm_up_counts_an_unloadable_champion_and_never_raises(trained: Workspace) -> None:
    champion = trained.registry.get_version("toy", alias="champion")
    trained.artifacts.delete(champion.artifact_digest)
    trained.registry.clear_cache()
    warmed = RegistryModelResolver(trained).warm_up()
    assert (warmed.loaded, warmed.failed) == (0, 1)


def test_an_alias_moved_in_this_process_reaches_the_resolver_at_once(trained: Workspace) -> None:
    resolver = RegistryModelResolver(trained, alias_ttl=3600.0)  # the cache alone would wait
    assert resolver.resolve("toy", scope=trained.scope).version == 1
    trained.promotion.promote("toy", 2, force=True, actor="test", reason="test")
    assert resolver.resolve("toy", scope=trained.scope).version == 2
    assert resolver.resolve("toy", scope=trained.scope, version=1).version == 1
