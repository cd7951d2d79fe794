"""Federated runs: what resolve refuses, how rounds become metrics (no Flower process)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from fedkit import tabular_silo, text_silo

from baryon.commerce.licences import LicenceError, generate_keys, install_licence, issue_licence
from baryon.commerce.orgs import create_org
from baryon.core.errors import InvalidInput, NotFound
from baryon.federated import FederatedTrainer
from baryon.federated.runner import round_metrics
from baryon.workspace import Workspace


@pytest.fixture
def silos(workspace: Workspace) -> list[str]:
    return [text_silo(workspace, "north", seed=1), text_silo(workspace, "south", seed=2)]


def test_resolve_text_silos_agree_on_classes_and_record_facts(
    workspace: Workspace, silos: list[str]
) -> None:
    spec = FederatedTrainer(workspace).resolve(
        "intents", "hashed_text_classifier", silos, rounds=3, strategy="fedprox"
    )
    assert spec.classes == ("app", "card", "loan")
    assert spec.target == "label"
    assert spec.facts() == {
        "federated": True, "silos": ["north", "south"], "strategy": "fedprox", "rounds": 3,
    }  # fmt: skip
    run = FederatedTrainer(workspace).start(spec)
    assert run.params["federated"] is True
    assert run.params["silos"] == ["north", "south"]
    assert run.extra["federated"]["strategy"] == "fedprox"


def test_train_audits_the_run_before_any_silo_is_read(
    workspace: Workspace, silos: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from baryon.core.audit import list_audit_events
    from baryon.core.scope import SYSTEM

    trainer = FederatedTrainer(workspace)
    spec = trainer.resolve("intents", "hashed_text_classifier", silos, rounds=2)
    seen: list[int] = []

    def execute(run_id: str, spec: object, *, record_messages: bool = False) -> object:
        with workspace.db.session(SYSTEM) as s:  # audited before Flower starts
            seen.append(len(list_audit_events(s, action="run.start", object_id=run_id)))
        return workspace.runs.get(run_id)

    monkeypatch.setattr(trainer, "execute", execute)
    run = trainer.train(spec)
    assert seen == [1]
    with workspace.db.session(SYSTEM) as s:
        (event,) = list_audit_events(s, action="run.start", object_id=run.id)
    assert (event.org_id, event.details["silos"], event.details["strategy"]) == (
        workspace.scope.org_id, ["north", "south"], "fedavg",
    )  # fmt: skip


def test_resolve_tabular_silos_take_feature_columns(workspace: Workspace) -> None:
    refs = [tabular_silo(workspace, "a", seed=1), tabular_silo(workspace, "b", seed=2)]
    spec = FederatedTrainer(workspace).resolve("price", "linear_regression_gd", refs)
    assert spec.feature_columns == ("x1", "x2")
    assert spec.n_features == 2
    assert spec.classes == ()


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"kind": "decision_tree"}, "kind_not_federated"),
        ({"strategy": "krum"}, "invalid_strategy"),
        ({"rounds": 0}, "invalid_rounds"),
        ({"rounds": True}, "invalid_rounds"),
        ({"dp_clip": 1.0}, "invalid_dp"),
        ({"dp_clip": -1.0, "dp_noise": 1.0}, "invalid_dp"),
        ({"params": {"depth": 3}}, "invalid_param"),
        ({"params": {"local_epochs": 0}}, "invalid_param"),
        ({"params": {"n_features": 100.5}}, "invalid_param"),
        ({"strategy": "fedprox", "params": {"proximal_mu": 0.5}}, "invalid_param"),
        ({"silos": ["north"]}, "invalid_silos"),
        ({"silos": ["north", "north"]}, "invalid_silos"),
        ({"silos": "north,south"}, "invalid_silos"),
        ({"model": "bad name!"}, "invalid_model_name"),
    ],
)
def test_resolve_bad_input_is_a_named_error_and_writes_nothing(
    workspace: Workspace, silos: list[str], kwargs: dict, code: str
) -> None:
    args: dict = {"model": "intents", "kind": "hashed_text_classifier", "silos": silos}
    args.update(kwargs)
    model, kind, refs = args.pop("model"), args.pop("kind"), args.pop("silos")
    with pytest.raises(InvalidInput) as caught:
        FederatedTrainer(workspace).resolve(model, kind, refs, **args)
    assert caught.value.code == code
    assert workspace.runs.list() == []


def test_resolve_silo_without_split_is_refused(workspace: Workspace, silos: list[str]) -> None:
    path = workspace.settings.home / "raw.csv"
    path.write_text("text,label\na b,card\nc d,loan\n", encoding="utf-8")
    workspace.datasets.ingest(path, name="raw", roles={"text": "text", "label": "label"})
    with pytest.raises(InvalidInput) as caught:
        FederatedTrainer(workspace).resolve("m", "hashed_text_classifier", ["north", "raw"])
    assert caught.value.code == "no_split"


def test_resolve_silos_with_other_columns_are_refused(
    workspace: Workspace, silos: list[str]
) -> None:
    tabular_silo(workspace, "table")
    with pytest.raises(InvalidInput) as caught:
        FederatedTrainer(workspace).resolve("m", "linear_regression_gd", ["table", "north"])
    assert caught.value.code in ("silo_mismatch", "missing_role")


def test_resolve_another_orgs_silo_is_not_found(workspace: Workspace, silos: list[str]) -> None:
    with workspace.db.session() as session:
        create_org(session, name="rival", clock=workspace.clock)
    rival = workspace.for_org("rival")
    text_silo(rival, "private", seed=3)
    with pytest.raises(NotFound) as caught:
        FederatedTrainer(workspace).resolve(
            "m", "hashed_text_classifier", ["north", "rival/private"]
        )
    assert "'rival/private'" in caught.value.message  # the silo as given, not "private"
    with pytest.raises(NotFound):  # and the rival cannot use ours either
        FederatedTrainer(rival).resolve("m", "hashed_text_classifier", ["private", "north"])


def test_resolve_needs_the_federated_licence_feature(
    workspace: Workspace, silos: list[str]
) -> None:
    private, public = generate_keys()
    clock = workspace.clock
    token = issue_licence(
        private, licensee="Acme", features=["console"], seats=5, orgs=5,
        expires_at=clock.now() + timedelta(days=30), grace_days=7, clock=clock,
    )  # fmt: skip
    install_licence(workspace.settings.home, token, public, clock=clock)
    view = Workspace(workspace.settings, workspace.db, workspace.artifacts, clock)
    with pytest.raises(LicenceError) as caught:
        FederatedTrainer(view).resolve("m", "hashed_text_classifier", silos)
    assert caught.value.code == "licence_feature"


def test_round_metrics_pool_silos_by_row_count() -> None:
    evaluations = [
        {"round": 1, "silo": 0, "num-examples": 10, "loss": 1.0, "accuracy": 0.5},
        {"round": 1, "silo": 1, "num-examples": 30, "loss": 2.0, "accuracy": 0.9},
        {"round": 2, "silo": 1, "num-examples": 30, "loss": 1.0, "accuracy": 1.0},
        {"round": 2, "silo": 0, "num-examples": 10, "loss": 0.5, "accuracy": 0.6},
    ]
    history, metrics = round_metrics("hashed_text_classifier", evaluations, 2)
    assert history["accuracy"] == pytest.approx([0.8, 0.9])
    assert history["loss"] == pytest.approx([1.75, 0.875])
    assert history["silo_0_accuracy"] == pytest.approx([0.5, 0.6])
    assert metrics["accuracy"] == pytest.approx(0.9)
    assert metrics["silo_1_loss"] == pytest.approx(1.0)


def test_round_metrics_r2_pools_the_rows_not_the_silo_scores() -> None:
    # silo 0: y = [0, 2] predicted exactly; silo 1: y = [10, 12] with SSE 2
    ys = [np.array([0.0, 2.0]), np.array([10.0, 12.0])]
    sse = [0.0, 2.0]
    evaluations = [
        {"round": 1, "silo": i, "num-examples": 2, "loss": s / 4, "mse": s / 2, "r2": 0.0,
         "sse": s, "sum_y": float(y.sum()), "sum_y2": float(y @ y)}
        for i, (y, s) in enumerate(zip(ys, sse, strict=True))
    ]  # fmt: skip
    _, metrics = round_metrics("linear_regression_gd", evaluations, 2)
    pooled = np.concatenate(ys)
    assert metrics["r2"] == pytest.approx(1 - 2.0 / float(((pooled - pooled.mean()) ** 2).sum()))


def test_federated_job_checks_the_spec_again_and_fails_the_run_with_its_code(
    workspace: Workspace, silos: list[str]
) -> None:
    from baryon.federated.jobs import federated_handlers, submit_federated
    from baryon.jobs import JobQueue, Worker

    queue = JobQueue(workspace.db, workspace.clock)
    trainer = FederatedTrainer(workspace)
    spec = trainer.resolve("intents", "hashed_text_classifier", silos)
    submitted = submit_federated(trainer, queue, spec)
    assert submitted.job.kind == "federated"
    # the licence changes before a worker gets to it: the run fails, nothing is trained
    private, public = generate_keys()
    clock = workspace.clock
    token = issue_licence(
        private, licensee="Acme", features=[], seats=5, orgs=5,
        expires_at=clock.now() + timedelta(days=30), grace_days=7, clock=clock,
    )  # fmt: skip
    install_licence(workspace.settings.home, token, public, clock=clock)
    view = Workspace(workspace.settings, workspace.db, workspace.artifacts, clock)
    job = Worker(view, federated_handlers(), queue=queue, poll_interval=0.02).run_once()
    assert job is not None
    assert job.status == "failed"
    run = workspace.runs.get(submitted.run.id)
    assert (run.status, run.error_code) == ("failed", "licence_feature")


def test_failed_federation_reason_is_the_last_exception_line_without_colour(
    tmp_path: Path,
) -> None:
    from baryon.federated._deployment import _reason

    log = tmp_path / "flwr-run.log"
    log.write_text(
        "\x1b[92mINFO\x1b[0m: round 1\nTraceback (most recent call last):\n"
        '  File "/usr/lib/python3/x.py", line 1\n'
        "ValueError: Accounted aggregation requires equal client weights.\n"
        "\x1b[91mERROR\x1b[0m: ServerApp exited\n",
        encoding="utf-8",
    )
    assert _reason([log]) == "ValueError: Accounted aggregation requires equal client weights."
    quiet = tmp_path / "supernode-0.log"
    quiet.write_text("INFO: nothing failed here\n", encoding="utf-8")
    assert _reason([quiet]) == ""
