"""Adaptive micro-batching: requests for one model version that arrive together are
scored in one model pass.

A model's fixed cost per call (validating a frame, a scikit-learn pipeline's steps, an
encoder's forward pass) is paid once per pass whether it scores 1 row or 64, so under
concurrent traffic scoring the waiting requests together serves more rows per second.

How (:class:`MicroBatcher`, the *leader/follower* scheme, no thread of its own): the
requests of one model version queue in a *lane*. A request that finds its lane idle
leads: it takes every queued request up to ``max_batch_size`` inputs (its own first),
scores them with :func:`~baryon.predictions.inference.run_inference_many`, hands each
request its own :class:`~baryon.predictions.inference.Inference` (or its own error),
and passes the lead to the first request still queued. Requests that arrive while a
pass runs wait for the next one, so batches grow with the load and a lone request waits
for nobody (``max_wait`` 0, the default: *adaptive*). A positive ``max_wait`` lets a
leader wait that long for others to join (more rows per pass, more latency).

Each request keeps its own prediction id, usage record and prediction-log row: only the
model pass is shared (:mod:`baryon.serving.routers.predictions`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from baryon.core.errors import BaryonError
from baryon.predictions.inference import (
    Inference,
    ServedModel,
    batchable,
    run_inference,
    run_inference_many,
)

__all__ = ["MicroBatcher"]


class _Pending:
    """One request waiting in a lane."""

    __slots__ = ("done", "error", "inputs", "lead", "result")

    def __init__(self, inputs: Sequence[Any]) -> None:
        self.inputs = inputs
        self.done = threading.Event()
        self.lead = False
        self.result: Inference | None = None
        self.error: BaryonError | None = None


@dataclass
class _Lane:
    cond: threading.Condition = field(default_factory=threading.Condition)
    pending: deque[_Pending] = field(default_factory=deque)
    busy: bool = False


class MicroBatcher:
    """Scores concurrent requests for the same model version together.

    Parameters
    ----------
    max_batch_size : int
        Most inputs in one model pass (``BARYON_BATCH_MAX_SIZE``); a request with this
        many inputs or more is scored alone, and 1 turns batching off.
    max_wait : float
        Seconds a leading request waits for others to join when fewer than
        ``max_batch_size`` inputs are queued (``BARYON_BATCH_MAX_WAIT_MS`` / 1000;
        default 0: only requests already queued join).

    Attributes
    ----------
    passes, requests : int
        Model passes run and requests scored through lanes (for tests and metrics).
    """

    def __init__(self, *, max_batch_size: int = 64, max_wait: float = 0.0) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        if max_wait < 0:
            raise ValueError(f"max_wait must be 0 or more, got {max_wait}")
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait
        self.passes = 0
        self.requests = 0
        self._lanes: dict[tuple[str | None, str, int], _Lane] = {}
        self._lock = threading.Lock()

    def infer(self, model: ServedModel, inputs: Sequence[Any]) -> Inference:
        """Score ``inputs`` with ``model``, in one pass with other requests waiting for it.

        Same contract as :func:`~baryon.predictions.inference.run_inference`: the same
        outputs, flags and errors as scoring ``inputs`` alone.

        Raises
        ------
        InvalidInput, BaryonError
            As :func:`~baryon.predictions.inference.run_inference`, for this request's
            inputs only.
        """
        if self.max_batch_size == 1 or len(inputs) >= self.max_batch_size or not batchable(model):
            return run_inference(model, inputs)
        lane = self._lane(model)
        me = _Pending(inputs)
        with lane.cond:
            lane.pending.append(me)
            lane.cond.notify_all()
            if lane.busy:
                lead = False
            else:
                lane.busy = lead = True
        if not lead:
            me.done.wait()
            if not me.lead:
                return self._answer(me)
        self._lead(lane, model)
        return self._answer(me)

    def _lane(self, model: ServedModel) -> _Lane:
        key = (model.model_id or model.org_id, model.name, model.version)
        with self._lock:
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = _Lane()
            return lane

    def _lead(self, lane: _Lane, model: ServedModel) -> None:
        """Run one pass over the head of ``lane`` (this request first), then pass the lead."""
        with lane.cond:
            if self.max_wait > 0:
                lane.cond.wait_for(lambda: _rows(lane.pending) >= self.max_batch_size,
                                   timeout=self.max_wait)  # fmt: skip
            batch = [lane.pending.popleft()]
            rows = len(batch[0].inputs)
            while lane.pending and rows + len(lane.pending[0].inputs) <= self.max_batch_size:
                rows += len(lane.pending[0].inputs)
                batch.append(lane.pending.popleft())
        results: list[Inference | BaryonError]
        try:
            results = run_inference_many(model, [p.inputs for p in batch])
        except Exception:  # never leave the batch's requests waiting
            failed = BaryonError("the model failed on this request", code="prediction_failed")
            results = [failed] * len(batch)
        finally:
            with lane.cond:
                self.passes += 1
                self.requests += len(batch)
                if lane.pending:
                    successor = lane.pending[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    lane.busy = False
        for pending, result in zip(batch, results, strict=True):
            if isinstance(result, BaryonError):
                pending.error = result
            else:
                pending.result = result
            pending.lead = False
            pending.done.set()

    @staticmethod
    def _answer(pending: _Pending) -> Inference:
        if pending.error is not None:
            raise pending.error
        assert pending.result is not None  # set with done by the pass's leader
        return pending.result


def _rows(pending: deque[_Pending]) -> int:
    return sum(len(p.inputs) for p in pending)
