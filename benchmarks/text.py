"""Text classification: Baryon's tracked ``text_classifier`` vs the same model fitted bare.

Baryon's path is ``Trainer.train("text_classifier", ...)``: read the stored dataset
version and its split, validate, fit, evaluate on the test split, persist the model
(skops) and the run (database + artifact store). The baseline fits the **same**
scikit-learn estimator on the same training rows and scores the same test rows, with no
run tracking and no persistence — so the ratio is the overhead of tracking (the issue's
aim: ≤ 10 %). Prediction throughput compares the model as loaded back from the registry
with the in-memory estimator. Data: the bundled Banking77 training file (a subset in
quick mode).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._harness import Comparison, alternate, peak_rss_mb, timed


def run(quick: bool) -> list[Comparison]:
    """Measure training and prediction throughput against the bare estimator."""
    from baryon.core.config import Settings
    from baryon.ml.kinds import make_estimator
    from baryon.solutions.bundled import open_bundled
    from baryon.training.trainer import Trainer
    from baryon.workspace import Workspace

    repeats = 3 if quick else 5
    with open_bundled("banking77", "train.csv") as fh:
        frame = pd.read_csv(fh)
    if quick:
        frame = frame.groupby("category", group_keys=False).head(40).reset_index(drop=True)
    rows: list[Comparison] = []
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "banking77.csv"
        frame.to_csv(csv, index=False)
        ws = Workspace.open(Settings(home=Path(tmp) / "home"))
        try:
            ws.datasets.ingest(csv, name="banking77")
            version = ws.datasets.split("banking77", strategy="stratified", seed=42)
            train = version.to_pandas(split="train")
            test = version.to_pandas(split="test")
            trainer = Trainer(ws)
            runs: list[str] = []

            def baryon_train() -> float:
                start = time.perf_counter()
                run = trainer.train("text_classifier", dataset="banking77", target="category")
                run.raise_for_status()
                runs.append(run.id)
                return len(train) / (time.perf_counter() - start)

            def bare_train() -> float:
                start = time.perf_counter()
                model = make_estimator("text_classifier")
                model.fit(train["text"].tolist(), train["category"].to_numpy())
                proba = model.predict_proba(test["text"].tolist())
                _ = float(np.mean(model.classes_[proba.argmax(axis=1)] == test["category"]))
                return len(train) / (time.perf_counter() - start)

            fit_row = Comparison(
                benchmark="text classification",
                measure=f"train + evaluate, {len(train)} train / {len(test)} test texts",
                unit="train rows/s",
                higher_is_better=True,
                baryon="Trainer.train (tracked run, persisted)",
                baseline="same estimator, fit + score bare",
            )
            fit_row.baryon_samples, fit_row.baseline_samples = alternate(
                baryon_train, bare_train, repeats
            )
            fit_row.baryon_peak_rss_mb = peak_rss_mb()
            fit_row.note = "aim: ratio ≥ 0.9 (≤ 10 % overhead); RSS is the shared process"
            rows.append(fit_row)

            registered = ws.registry.register(runs[-1], "bench-intent")
            loaded = ws.registry.load("bench-intent", version=registered.version).estimator
            bare = make_estimator("text_classifier")
            bare.fit(train["text"].tolist(), train["category"].to_numpy())
            texts = test["text"].tolist() * (2 if quick else 5)
            pred_row = Comparison(
                benchmark="text classification",
                measure=f"predict_proba, batch of {len(texts)} texts",
                unit="texts/s",
                higher_is_better=True,
                baryon="model loaded from the registry",
                baseline="in-memory estimator",
            )
            pred_row.baryon_samples, pred_row.baseline_samples = alternate(
                lambda: len(texts) / timed(lambda: loaded.predict_proba(texts)),
                lambda: len(texts) / timed(lambda: bare.predict_proba(texts)),
                repeats,
            )
            rows.append(pred_row)
        finally:
            ws.close()
    return rows
