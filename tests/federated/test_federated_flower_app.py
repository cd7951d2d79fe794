"""The Flower app's server side in process: the reply guard, strategies, silo learners."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("flwr")

from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
from flwr.serverapp import strategy as strategies

from baryon.federated._flower_app import ReplyGuard, make_strategy
from baryon.federated._learners import SiloData, learner_for


@pytest.fixture(autouse=True)
def _task(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages are made inside a Flower task (run, node and task ids)."""
    from flwr.supercore.task_identity import TaskIdentity

    for name in ("_run_id", "_node_id", "_task_id"):
        monkeypatch.setattr(TaskIdentity, name, 1)


class _Grid:
    """Answers every message with a canned reply content."""

    def __init__(self, content: RecordDict) -> None:
        self.content = content

    def send_and_receive(self, messages: Iterable[Message], *, timeout: float | None = None):
        return [Message(content=self.content, reply_to=m) for m in messages]


def _ask(guard: ReplyGuard) -> list[Message]:
    query = Message(
        content=RecordDict({"config": ConfigRecord({})}), dst_node_id=1, message_type="train"
    )
    return list(guard.send_and_receive([query]))


def test_reply_guard_records_arrays_and_metrics(tmp_path: Path) -> None:
    content = RecordDict(
        {"arrays": ArrayRecord([np.ones(3)]), "metrics": MetricRecord({"num-examples": 4})}
    )
    guard = ReplyGuard(_Grid(content), tmp_path, record=True)  # type: ignore[arg-type]
    assert len(_ask(guard)) == 1
    assert guard.trainings == [{"num-examples": 4.0}]
    saved = (tmp_path / "messages" / "0000-arrays-0.bin").read_bytes()
    assert np.array_equal(np.load(io.BytesIO(saved), allow_pickle=False), np.ones(3))


@pytest.mark.parametrize(
    "content",
    [
        RecordDict({"leak": ConfigRecord({"text": "my card was stolen"})}),
        RecordDict({"arrays": ArrayRecord([np.asarray(["my card was stolen"])])}),
    ],
    ids=["config-record", "string-array"],
)
def test_reply_guard_refuses_anything_but_numbers(tmp_path: Path, content: RecordDict) -> None:
    guard = ReplyGuard(_Grid(content), tmp_path, record=False)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="federated_message_refused"):
        _ask(guard)


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("fedavg", strategies.FedAvg),
        ("fedprox", strategies.FedProx),
        ("fedmedian", strategies.FedMedian),
        ("fedtrimmedavg", strategies.FedTrimmedAvg),
    ],
)
def test_make_strategy_builds_flowers_strategy(name: str, cls: type) -> None:
    strategy = make_strategy({"strategy": name, "params": {}}, 3)
    assert isinstance(strategy, cls)
    assert strategy.min_train_nodes == 3  # type: ignore[attr-defined]


def test_make_strategy_with_dp_wraps_it_and_accounts_epsilon() -> None:
    spec: dict[str, Any] = {
        "strategy": "fedavg", "params": {}, "dp": {"clip": 1.0, "noise": 1.0, "delta": 1e-5},
    }  # fmt: skip
    strategy = make_strategy(spec, 3)
    assert isinstance(strategy, strategies.DifferentialPrivacyServerSideFixedClipping)
    assert strategy.accountant is not None


def test_dp_strategy_averages_silos_of_different_sizes_with_equal_weights() -> None:
    # Flower's accounted DP aggregation refuses unequal weights: silos of 42 and 43 rows
    # failed the run (federation_failed) when the weight was the row count.
    from baryon.federated._flower_app import EQUAL_WEIGHT, ROWS_WEIGHT

    spec: dict[str, Any] = {
        "strategy": "fedavg", "params": {}, "dp": {"clip": 1.0, "noise": 1.0, "delta": 1e-5},
    }  # fmt: skip
    strategy = make_strategy(spec, 2)
    assert strategy.strategy.weighted_by_key == EQUAL_WEIGHT  # type: ignore[attr-defined]
    replies = [
        Message(
            content=RecordDict(
                {
                    "arrays": ArrayRecord([np.ones(2)]),
                    "metrics": MetricRecord({ROWS_WEIGHT: rows, EQUAL_WEIGHT: 1}),
                }
            ),
            reply_to=Message(content=RecordDict({}), dst_node_id=1, message_type="train"),
        )
        for rows in (42, 43)
    ]
    strategy._validate_uniform_weights(replies)  # type: ignore[attr-defined]  # no ValueError
    plain = make_strategy({"strategy": "fedavg", "params": {}}, 2)
    assert plain.weighted_by_key == ROWS_WEIGHT  # type: ignore[attr-defined]


def test_linear_learner_local_steps_lower_the_loss() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    y = 3 * X[:, 0] - 2 * X[:, 1] + 1
    data = SiloData(X, y, X, y)
    stats = {"mean": [0.0, 0.0], "scale": [1.0, 1.0]}
    learner = learner_for("linear_regression_gd", {"local_epochs": 50, "learning_rate": 0.3})
    start = learner.initial_arrays(2, 0)
    before = learner.evaluate(start, data, stats=stats)["loss"]
    fitted, _ = learner.fit(start, data, rng=rng, proximal_mu=0.0, stats=stats)
    after = learner.evaluate(fitted, data, stats=stats)
    assert after["loss"] < before / 100
    assert after["r2"] > 0.99


def test_learner_for_unknown_kind_is_refused() -> None:
    from baryon.core.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        learner_for("mlp", {})
    assert caught.value.code == "kind_not_federated"


def test_collect_stats_pools_the_silos_moments(tmp_path: Path) -> None:
    from baryon.federated._flower_app import _collect_stats

    silos = [np.asarray([[1.0, 10.0], [3.0, 10.0]]), np.asarray([[5.0, 10.0]])]

    class _Silos:
        def get_node_ids(self) -> list[int]:
            return [0, 1]

        def create_message(self, **kwargs: Any) -> Message:
            return Message(dst_node_id=kwargs["dst_node_id"], content=kwargs["content"],
                           message_type=kwargs["message_type"])  # fmt: skip

        def send_and_receive(self, messages: Iterable[Message], *, timeout: Any = None):
            replies = []
            for message, X in zip(messages, silos, strict=True):
                moments = [np.asarray([float(len(X))]), X.sum(axis=0), (X**2).sum(axis=0)]
                content = RecordDict({"moments": ArrayRecord(moments)})
                replies.append(Message(content=content, reply_to=message))
            return replies

    stats = _collect_stats(_Silos(), 2)  # type: ignore[arg-type]
    pooled = np.vstack(silos)
    assert stats["mean"] == pytest.approx(pooled.mean(axis=0).tolist())
    assert stats["scale"] == pytest.approx([pooled[:, 0].std(), 1.0])  # constant column: 1


def test_federated_linear_parameters_become_a_linear_regression_gd() -> None:
    from baryon.federated.runner import FederatedSpec, FederatedTrainer, Silo

    spec = FederatedSpec(
        model="m", kind="linear_regression_gd", silos=(Silo("a", "o", "v", "a", 1),),
        rounds=2, strategy="fedavg", feature_columns=("x1", "x2"),
    )  # fmt: skip
    stats = {"mean": [1.0, -2.0], "scale": [2.0, 4.0]}
    theta = np.asarray([0.5, 3.0, -1.0])  # on standardised features
    model = FederatedTrainer._estimator(spec, [theta], stats, {"loss": [1.0, 0.5]})
    X = np.asarray([[1.0, -2.0], [3.0, 2.0]])
    Z = (X - stats["mean"]) / stats["scale"]
    assert model.predict(X) == pytest.approx(theta[0] + Z @ theta[1:])
