"""Micro-batching: concurrent requests for one model version share one model pass, and
each still gets exactly the answer (outputs, flags, errors) it would have had alone."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from baryon.core.errors import BaryonError, InvalidInput
from baryon.predictions.batching import MicroBatcher
from baryon.predictions.inference import ServedModel, run_inference, run_inference_many


class SlowSum:
    """A regression model that sums its features, recording each pass's size; each pass
    blocks until released, so a test decides when a pass ends."""

    def __init__(self) -> None:
        self.passes: list[int] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def predict(self, frame: Any) -> list[float]:
        self.passes.append(len(frame))
        self.entered.set()
        assert self.release.wait(10)
        pairs = zip(frame["a"], frame["b"], strict=True)
        return [float("nan") if a < 0 else a + b for a, b in pairs]


def _model(estimator: Any) -> ServedModel:
    return ServedModel("sum", 1, "regression", estimator, feature_columns=("a", "b"))


def _infer_all(batcher: MicroBatcher, model: ServedModel, requests: list[list[Any]]) -> list[Any]:
    """Start the first request alone, queue the rest while its pass runs, release."""
    est = model.estimator

    def one(inputs: list[Any]) -> Any:
        try:
            return batcher.infer(model, inputs)
        except BaryonError as exc:
            return exc

    with ThreadPoolExecutor(len(requests)) as pool:
        first = pool.submit(one, requests[0])
        assert est.entered.wait(10)
        rest = [pool.submit(one, r) for r in requests[1:]]
        while sum(len(p.inputs) for lane in batcher._lanes.values() for p in lane.pending) < sum(
            len(r) for r in requests[1:]
        ):
            threading.Event().wait(0.005)  # until every later request queued
        est.release.set()
        return [first.result(10)] + [f.result(10) for f in rest]


def test_requests_queued_during_a_pass_share_the_next_one() -> None:
    est = SlowSum()
    batcher = MicroBatcher(max_batch_size=64)
    requests = [[{"a": i, "b": 1}] for i in range(6)] + [[{"a": 1, "b": 1}, {"a": 2, "b": 2}]]
    answers = _infer_all(batcher, _model(est), requests)
    assert est.passes == [1, 7]  # the first alone, the 6 queued (7 rows) together
    assert (batcher.passes, batcher.requests) == (2, 7)
    alone = SlowSum()
    alone.release.set()
    for inputs, answer in zip(requests, answers, strict=True):
        assert answer == run_inference(_model(alone), inputs)


def test_each_request_keeps_its_own_flags() -> None:
    est = SlowSum()
    answers = _infer_all(
        MicroBatcher(), _model(est), [[{"a": 0, "b": 0}], [{"a": -1, "b": 0}], [{"a": 2, "b": 2}]]
    )
    assert [a.flags for a in answers] == [[], ["non_finite_output"], []]
    assert answers[1].outputs == [{"value": None}]


def test_a_bad_request_fails_alone_with_its_own_row_numbers() -> None:
    est = SlowSum()
    good, bad = [{"a": 1, "b": 2}], [{"a": 1, "b": 2}, {"a": None, "b": 2}]
    answers = _infer_all(MicroBatcher(), _model(est), [good, good, bad, good])
    assert isinstance(answers[2], InvalidInput)
    assert answers[2].code == "invalid_features"
    assert answers[2].details["errors"][0]["row"] == 1  # row 1 of its own inputs
    assert [a.outputs for a in (answers[0], answers[1], answers[3])] == [[{"value": 3.0}]] * 3


def test_max_batch_size_caps_a_pass() -> None:
    est = SlowSum()
    requests = [[{"a": i, "b": 0}] for i in range(7)]
    _infer_all(MicroBatcher(max_batch_size=4), _model(est), requests)
    assert est.passes == [1, 4, 2]


def test_batching_off_or_big_requests_or_unnamed_features_score_alone() -> None:
    est = SlowSum()
    est.release.set()
    rows = [{"a": 1, "b": 1}] * 3
    assert MicroBatcher(max_batch_size=1).infer(_model(est), rows).outputs == [{"value": 2.0}] * 3
    assert MicroBatcher(max_batch_size=3).infer(_model(est), rows).outputs == [{"value": 2.0}] * 3
    unnamed = ServedModel("sum", 1, "regression", est)
    batcher = MicroBatcher()
    batcher.infer(unnamed, rows)
    assert batcher.passes == 0  # run_inference directly: keys of all rows name the columns


def test_run_inference_many_splits_outputs_per_request() -> None:
    est = SlowSum()
    est.release.set()
    requests: list[Sequence[Any]] = [[{"a": 1, "b": 1}], [{"a": 2, "b": 2}, {"a": 3, "b": 3}]]
    answers = run_inference_many(_model(est), requests)
    assert [a.outputs for a in answers if not isinstance(a, BaryonError)] == [
        [{"value": 2.0}],
        [{"value": 4.0}, {"value": 6.0}],
    ]
    assert est.passes == [3]


@pytest.mark.parametrize(("size", "wait"), [(0, 0.0), (4, -1.0)])
def test_bad_settings_refused(size: int, wait: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        MicroBatcher(max_batch_size=size, max_wait=wait)
