"""Micro-batching: rows scored per second by concurrent one-row prediction requests.

Each "request" is one call scoring one input, made by ``concurrency`` threads at once
(what the predict route's handlers do in the server's thread pool), in process, for a
fixed number of requests. Three ways, measured alternately:

* Baryon: :meth:`baryon.predictions.batching.MicroBatcher.infer` (what the predict
  route calls): requests queued while a pass runs share the next one;
* baseline: :func:`baryon.predictions.inference.run_inference` per request (no
  batching: the path before micro-batching);
* floor (reported in the note): the fitted scikit-learn model's own ``predict`` on an
  already-prepared NumPy row per request, the cost no serving path can go under.

Models: ``gradient_boosting`` on an 8-feature regression table (the kind of the demo's
``concrete-strength`` champion) and ``text_classifier`` on the bundled Banking77 texts,
both trained and loaded back through the registry as served.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._harness import Comparison, alternate, threaded_rate


def _throughput(call: Callable[[], object], concurrency: int, requests: int) -> float:
    """Requests per second of ``concurrency`` threads making ``requests`` calls in all."""
    return threaded_rate(concurrency, requests // concurrency, call)


def _models(home: Path) -> list[tuple[str, Any, Any, Callable[[], object]]]:
    """(label, served model, one input, floor call) for each model measured."""
    import pandas as pd

    from baryon.core.config import Settings
    from baryon.core.scope import Scope
    from baryon.predictions.inference import RegistryModelResolver
    from baryon.solutions.bundled import open_bundled
    from baryon.training.trainer import Trainer
    from baryon.workspace import Workspace

    ws = Workspace.open(Settings(home=home))
    rng = np.random.default_rng(0)
    X = rng.random((600, 8))
    y = X @ np.arange(1, 9) + rng.normal(0, 0.1, 600)
    table = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)]).assign(y=y)
    table.to_csv(home / "table.csv", index=False)
    ws.datasets.ingest(home / "table.csv", name="table", roles={"y": "label"})
    ws.datasets.split("table", strategy="random", seed=0)
    Trainer(ws).train("gradient_boosting", dataset="table", register="table", seed=0)
    with open_bundled("banking77", "train.csv") as fh:
        texts = pd.read_csv(fh).groupby("category", group_keys=False).head(30)
    texts.to_csv(home / "texts.csv", index=False)
    ws.datasets.ingest(home / "texts.csv", name="texts", roles={"category": "label"})
    ws.datasets.split("texts", strategy="stratified", seed=0)
    Trainer(ws).train("text_classifier", dataset="texts", register="texts", seed=0)
    resolver = RegistryModelResolver(ws)
    scope = Scope.own(ws.scope.org_id or "")
    tabular = resolver.resolve("table", scope=scope)
    text = resolver.resolve("texts", scope=scope)
    row = {f"x{i}": float(v) for i, v in enumerate(X[0])}
    est = tabular.estimator
    prepared = est.preprocessor_.transform(pd.DataFrame([row]))
    sentence = str(texts.iloc[0]["text"])
    pipeline = text.estimator
    return [
        ("gradient_boosting, 8 features", tabular, row, lambda: est.model_.predict(prepared)),
        ("text_classifier, Banking77", text, sentence, lambda: pipeline.predict([sentence])),
    ]


def run(quick: bool) -> list[Comparison]:
    """Measure the rows described in the module docstring."""
    from baryon.predictions.batching import MicroBatcher
    from baryon.predictions.inference import run_inference

    requests, repeats = (320, 2) if quick else (1_600, 3)
    rows: list[Comparison] = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        for label, model, one, floor in _models(home):
            batcher = MicroBatcher(max_batch_size=64)
            for concurrency in (1, 16):

                def batched(b: MicroBatcher = batcher, m: Any = model, x: Any = one) -> object:
                    return b.infer(m, [x])

                def alone(m: Any = model, x: Any = one) -> object:
                    return run_inference(m, [x])

                def measure(call: Callable[[], object], c: int = concurrency) -> float:
                    return _throughput(call, c, requests)

                a, b = alternate(lambda: measure(batched), lambda: measure(alone), repeats)
                floor_rps = float(np.median([_throughput(floor, concurrency, requests)
                                             for _ in range(repeats)]))  # fmt: skip
                rows.append(
                    Comparison(
                        benchmark="batching", measure=f"{label}: rows/s (c={concurrency})",
                        unit="rows/s", higher_is_better=True,
                        baryon="micro-batched (MicroBatcher.infer)",
                        baseline="one pass per request (run_inference)",
                        baryon_samples=a, baseline_samples=b,
                        note=f"one row per request, {concurrency} threads, in process; raw "
                        f"estimator predict floor {floor_rps:,.0f} rows/s",
                    )
                )  # fmt: skip
    return rows
