"""A federated run end to end on loopback: Flower SuperLink + one SuperNode per silo.

Three organizations: the operator owns one silo, ``acme`` and ``globex`` each own one
and grant it to the operator. The run trains ``hashed_text_classifier`` across them,
registers and serves the model, and the server only ever received numeric arrays and
metrics: no byte of any row (each row carries a unique ``secretrow`` marker).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fedkit import text_silo

pytest.importorskip("flwr")

from baryon.commerce.orgs import create_org
from baryon.core.scope import OPERATOR_ORG_ID
from baryon.federated import FederatedTrainer
from baryon.tenancy.grants import create_grant
from baryon.workspace import Workspace

pytestmark = pytest.mark.server


def _granted_silo(ws: Workspace, org: str, name: str, seed: int) -> str:
    with ws.db.session() as session:
        create_org(session, name=org, clock=ws.clock)
    view = ws.for_org(org)
    text_silo(view, name, seed=seed)
    with ws.db.session(view.scope) as session:
        create_grant(
            session, owner_org_id=view.scope.org_id or "", object_type="dataset",
            object_name=name, grantee=OPERATOR_ORG_ID, permission="read", actor="test",
        )  # fmt: skip
    return f"{org}/{name}"


def test_federated_run_across_three_orgs_registers_a_served_model_and_moves_no_row(
    workspace: Workspace,
) -> None:
    silos = [
        text_silo(workspace, "home", seed=1),
        _granted_silo(workspace, "acme", "tickets", seed=2),
        _granted_silo(workspace, "globex", "tickets", seed=3),
    ]
    ws = workspace.for_org(OPERATOR_ORG_ID)
    trainer = FederatedTrainer(ws, timeout=900)
    spec = trainer.resolve(
        "intents", "hashed_text_classifier", silos, rounds=1, strategy="fedavg",
        params={"local_epochs": 10, "batch_size": 8, "n_features": 1024},
    )  # fmt: skip
    run = trainer.train(spec, record_messages=True)

    assert run.status == "succeeded", run.error
    assert run.params["federated"] is True
    assert set(run.history) >= {"accuracy", "loss", "silo_0_accuracy", "silo_2_loss"}
    assert run.metrics["accuracy"] > 0.8  # three well-separated intents
    version = ws.registry.get_version("intents")
    assert version.extra["federated"] is True
    assert version.extra["silos"] == silos
    assert version.extra["strategy"] == "fedavg"
    served = ws.registry.load("intents").estimator
    assert list(served.predict(["my card was stolen", "interest on my loan"])) == ["card", "loan"]

    messages = Path(ws.settings.home) / "tmp" / f"federated-{run.id}" / "messages"
    log = [json.loads(line) for line in (messages / "log.jsonl").read_text().splitlines()]
    assert {entry["type"] for entry in log} == {"train", "evaluate"}
    for entry in log:
        for record in entry["records"].values():
            assert set(record) <= {"arrays", "metrics"}
            for value in record.get("metrics", {}).values():
                assert isinstance(value, int | float)
            for dtype, _shape in record.get("arrays", []):
                assert dtype == "float64"
    received = b"".join(p.read_bytes() for p in messages.glob("*.bin"))
    assert received  # the arrays were kept
    everything = received + (messages / "log.jsonl").read_bytes()
    for marker in (b"secretrow", b"stolen", b"mortgage", b"please help"):
        assert marker not in everything
