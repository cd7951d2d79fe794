"""Active learning over a dataset version: score with the champion, queue the best rows."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from baryon.commerce.orgs import create_org
from baryon.core.audit import AuditEvent
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.labeling.queue import ensure_queue
from baryon.labeling.sampling import MAX_SAMPLE_SIZE, plan_sample, sample_for_labeling
from baryon.labeling.tables import LabelingTaskRow
from baryon.predictions.log import hash_input
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

REFUND = ["refund my card", "I want a refund", "refund please", "refund the money", "get a refund"]
PARCEL = [
    "where is my parcel",
    "parcel is late",
    "track my parcel",
    "parcel not here",
    "lost parcel",
]
AMBIGUOUS = ["refund for the late parcel", "parcel refund"]


def _org(ws: Workspace, name: str) -> str:
    with ws.db.session(SYSTEM) as s:
        return create_org(s, name=name, clock=ws.clock).id


def _setup(ws: Workspace, tmp: Path, org: str) -> Workspace:
    """In ``org``: dataset ``tickets`` (split), champion ``intent`` trained on it, queue
    ``intent``, and an unlabeled dataset ``inbox``."""
    view = ws.for_org(org)
    texts = [f"{t} {i}" for i in range(4) for t in REFUND + PARCEL]
    labels = ["refund" if "refund" in t else "delivery" for t in texts]
    (tmp / org).mkdir()
    pd.DataFrame({"body": texts, "intent": labels}).to_csv(tmp / org / "t.csv", index=False)
    view.datasets.ingest(
        tmp / org / "t.csv", name="tickets", roles={"body": "text", "intent": "label"}
    )
    view.datasets.split("tickets", strategy="stratified", seed=0)
    Trainer(view).train(
        "text_classifier",
        dataset="tickets",
        register="intent",
        params={"model": "logistic", "calibration": None},
    ).raise_for_status()
    with view.db.session(view.scope) as s:
        ensure_queue(
            s,
            org_id=view.scope.org_id,
            model_name="intent",
            classes=["refund", "delivery"],
            clock=ws.clock,
        )
    test_text = view.datasets.get("tickets").to_pandas(split="test")["body"].iloc[0]
    inbox = ["my refund", "parcel where", *AMBIGUOUS, "", "my refund", test_text]
    pd.DataFrame({"message": inbox}).to_csv(tmp / org / "inbox.csv", index=False)
    view.datasets.ingest(tmp / org / "inbox.csv", name="inbox", roles={"message": "text"})
    return view


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A home with acme's setup (:func:`_setup`), made once; tests copy it."""
    tmp = tmp_path_factory.mktemp("sampling")
    with Workspace.open(Settings(home=tmp / "home"), clock=FixedClock()) as workspace:
        org = _org(workspace, "acme")
        _setup(workspace, tmp, org)
    return tmp / "home", org


@pytest.fixture
def ws(settings: Settings, template: tuple[Path, str]) -> Iterator[Workspace]:
    shutil.copytree(template[0], settings.home)
    workspace = Workspace.open(settings, clock=FixedClock())
    try:
        yield workspace
    finally:
        workspace.close()


@pytest.fixture
def acme(ws: Workspace, template: tuple[Path, str]) -> Workspace:
    return ws.for_org(template[1])


def _tasks(view: Workspace) -> list[LabelingTaskRow]:
    with view.db.session(view.scope) as s:
        rows = s.scalars(select(LabelingTaskRow).order_by(LabelingTaskRow.priority.desc())).all()
        s.expunge_all()
    return list(rows)


def test_sample_margin_queues_the_ambiguous_rows_first(acme: Workspace) -> None:
    result = sample_for_labeling(acme, "intent", "inbox", strategy="margin", n=2, actor="t")
    out = result.to_dict()
    assert {t["input"]["text"] for t in out["tasks"]} == set(AMBIGUOUS)
    # rows: 7; the blank one, the repeat and the champion's test text are dropped
    assert (out["rows_available"], out["rows_scored"]) == (7, 7)
    assert (out["empty"], out["duplicates"], out["in_test_split"]) == (1, 1, 1)
    assert out["already_queued"] == 0
    assert out["enqueued"] == 2
    model = acme.registry.load("intent").estimator
    tasks = _tasks(acme)
    assert [t.id for t in tasks] == [t["task_id"] for t in out["tasks"]]
    for task in tasks:
        proba = model.predict_proba([task.input["text"]])[0]
        top2 = np.sort(proba)[::-1][:2]
        assert task.priority == pytest.approx(1 - (top2[0] - top2[1]))
        assert task.confidence == pytest.approx(proba.max())
        assert task.suggested_label == model.classes_[proba.argmax()]
        assert (task.source, task.reason, task.model_version) == ("active_learning", "margin", 1)
        assert task.status == "open"
        assert task.input_hash == hash_input({"text": task.input["text"]})


def test_sample_again_skips_rows_already_on_the_queue(acme: Workspace) -> None:
    sample_for_labeling(acme, "intent", "inbox", n=2)
    again = sample_for_labeling(acme, "intent", "inbox", n=10).to_dict()
    assert again["already_queued"] == 2
    assert {t["input"]["text"] for t in again["tasks"]} == {"my refund", "parcel where"}
    assert len(_tasks(acme)) == 4
    assert all(t.seen_count == 1 for t in _tasks(acme))


def test_sample_writes_one_audit_event(acme: Workspace) -> None:
    sample_for_labeling(acme, "intent", "inbox", strategy="entropy", n=3, seed=7, actor="key:k1")
    with acme.db.session(SYSTEM) as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "labeling.sample"))
        [event] = list(events)
        assert event.actor == "key:k1"
        assert event.details["strategy"] == "entropy"
        assert event.details["enqueued"] == 3


def test_sample_random_seeded_same_seed_same_rows(acme: Workspace) -> None:
    a = plan_sample(acme, "intent", "inbox", strategy="random", n=2, seed=3)
    b = plan_sample(acme, "intent", "inbox", strategy="random", n=2, seed=3)
    assert [i["input"] for i in a.items] == [i["input"] for i in b.items]
    assert _tasks(acme) == []  # planning writes nothing


def test_sample_diversity_distinct_rows(acme: Workspace) -> None:
    plan = plan_sample(acme, "intent", "inbox", n=3, diversity=True)
    assert len({hash_input(i["input"]) for i in plan.items}) == 3
    scores = [i["score"] for i in plan.items]
    assert scores == sorted(scores, reverse=True)


def test_sample_max_rows_scores_a_seeded_subset(acme: Workspace) -> None:
    plan = plan_sample(acme, "intent", "inbox", n=5, max_rows=3, seed=1)
    assert (plan.counts["rows_available"], plan.counts["rows_scored"]) == (7, 3)
    again = plan_sample(acme, "intent", "inbox", n=5, max_rows=3, seed=1)
    assert again.items == plan.items


def test_sample_split_version_only_train_rows(acme: Workspace) -> None:
    version = acme.datasets.get("tickets")
    plan = plan_sample(acme, "intent", "tickets", n=MAX_SAMPLE_SIZE)
    train = version.to_pandas(split="train")
    assert plan.counts["rows_available"] == len(train)
    assert {i["input"]["text"] for i in plan.items} <= set(train["body"])


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"strategy": "bald"}, "invalid_strategy"),
        ({"n": 0}, "invalid_sample_size"),
        ({"n": MAX_SAMPLE_SIZE + 1}, "invalid_sample_size"),
        ({"n": True}, "invalid_sample_size"),
        ({"max_rows": 0}, "invalid_max_rows"),
    ],
)
def test_sample_bad_request_named_error_nothing_queued(
    acme: Workspace, kwargs: dict[str, Any], code: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        sample_for_labeling(acme, "intent", "inbox", **kwargs)
    assert err.value.code == code
    assert _tasks(acme) == []


def test_sample_unknown_queue_or_dataset_not_found(acme: Workspace) -> None:
    with pytest.raises(NotFound) as err:
        sample_for_labeling(acme, "nope", "inbox")
    assert err.value.code == "queue_not_found"
    with pytest.raises(NotFound) as err:
        sample_for_labeling(acme, "intent", "nope")
    assert err.value.code == "dataset_not_found"


def test_sample_another_orgs_queue_and_dataset_not_found(
    ws: Workspace, acme: Workspace, tmp_path: Path
) -> None:
    globex = ws.for_org(_org(ws, "globex"))
    with pytest.raises(NotFound) as err:
        sample_for_labeling(globex, "intent", "inbox")
    assert err.value.code == "queue_not_found"
    with globex.db.session(globex.scope) as s:
        ensure_queue(
            s, org_id=globex.scope.org_id, model_name="intent", classes=["a"], clock=ws.clock
        )
    with pytest.raises(NotFound) as err:
        sample_for_labeling(globex, "intent", "inbox")
    assert err.value.code == "dataset_not_found"
    assert _tasks(acme) == []


def test_sample_queue_of_a_model_without_versions_not_found(acme: Workspace) -> None:
    with acme.db.session(acme.scope) as s:
        ensure_queue(
            s, org_id=acme.scope.org_id, model_name="ghost", classes=["a"], clock=acme.clock
        )
    with pytest.raises(NotFound) as err:
        sample_for_labeling(acme, "ghost", "inbox")
    assert err.value.code == "model_not_found"


def test_sample_text_model_on_a_version_without_text_named_error(
    acme: Workspace, tmp_path: Path
) -> None:
    pd.DataFrame({"x": [1.0, 2.0]}).to_csv(tmp_path / "nums.csv", index=False)
    acme.datasets.ingest(tmp_path / "nums.csv", name="nums")
    with pytest.raises(InvalidInput) as err:
        sample_for_labeling(acme, "intent", "nums")
    assert err.value.code == "missing_feature"


def test_sample_regression_champion_not_a_classifier(acme: Workspace, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=40), "y": rng.normal(size=40)})
    frame.to_csv(tmp_path / "reg.csv", index=False)
    acme.datasets.ingest(tmp_path / "reg.csv", name="reg", roles={"y": "label"})
    acme.datasets.split("reg", strategy="random", seed=0)
    Trainer(acme).train("linear_regression", dataset="reg", register="value").raise_for_status()
    with acme.db.session(acme.scope) as s:
        ensure_queue(
            s, org_id=acme.scope.org_id, model_name="value", classes=["x"], clock=acme.clock
        )
    with pytest.raises(InvalidInput) as err:
        sample_for_labeling(acme, "value", "reg")
    assert err.value.code == "not_a_classifier"


def test_sample_tabular_classifier_inputs_are_feature_rows(acme: Workspace, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x1, x2 = rng.uniform(-1, 1, 80), rng.uniform(-1, 1, 80)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "label": np.where(x1 > 0, "right", "left")})
    frame.to_csv(tmp_path / "quad.csv", index=False)
    acme.datasets.ingest(tmp_path / "quad.csv", name="quad", roles={"label": "label"})
    acme.datasets.split("quad", strategy="stratified", seed=0)
    Trainer(acme).train(
        "mlp", dataset="quad", register="side", params={"max_iter": 2000}, seed=0
    ).raise_for_status()
    with acme.db.session(acme.scope) as s:
        ensure_queue(
            s,
            org_id=acme.scope.org_id,
            model_name="side",
            classes=["left", "right"],
            clock=acme.clock,
        )
    pool = pd.DataFrame({"x1": [0.9, 0.01, -0.8], "x2": [0.0, 0.5, 0.1]})
    pool.to_csv(tmp_path / "pool.csv", index=False)
    acme.datasets.ingest(tmp_path / "pool.csv", name="pool")
    out = sample_for_labeling(acme, "side", "pool", strategy="least_confidence", n=1).to_dict()
    [task] = out["tasks"]
    assert task["input"] == {"x1": 0.01, "x2": 0.5}  # nearest the boundary x1 = 0
