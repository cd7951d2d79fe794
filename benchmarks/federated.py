"""Federated vs centralised vs each silo alone, on Banking77 split non-IID across 4 silos.

``python -m benchmarks.federated [--rounds R] [--local-epochs E] [--strategy S]``

Data: the bundled Banking77 copy (``baryon/solutions/support/data/banking77``; Casanueva
et al., *Efficient Intent Detection with Dual Sentence Encoders*, 2020), 10,003 texts,
77 intents. A stratified 20 % is the **common test split** (never in any silo). The
other rows go to 4 silos, non-IID: the intents are dealt into 4 groups; a silo gets 80 %
of its own group's rows and an even share of the remaining 20 % of every other group's,
so each silo sees mostly its own intents (and a few of everyone else's).

Every model is the same ``hashed_text_classifier`` (2¹³ hashed word 1–2-grams, softmax
head, learning rate 8, batch 128):

* **centralised**: all silos' rows pooled, 15 epochs;
* **silo alone**: one silo's rows, 15 epochs (each of the 4);
* **federated**: ``baryon``'s federated run (Flower SuperLink + 4 SuperNodes on
  loopback, one process per silo), R rounds of E local epochs.

Accuracy is measured on the common test split. Writes
``benchmarks/results/federated-<strategy>-r<R>-e<E>.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "baryon" / "solutions" / "support" / "data" / "banking77" / "train.csv.gz"
RESULTS = ROOT / "benchmarks" / "results"
SILOS = 4
OWN_SHARE = 0.8


def split_non_iid(frame: pd.DataFrame, *, seed: int = 0) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Return (4 silo frames, common test frame) as the module docstring describes."""
    from sklearn.model_selection import train_test_split

    rest, test = train_test_split(
        frame, test_size=0.2, random_state=seed, stratify=frame["category"]
    )
    rng = np.random.default_rng(seed)
    intents = sorted(frame["category"].unique())
    group = {intent: i % SILOS for i, intent in enumerate(intents)}
    parts: list[list[pd.DataFrame]] = [[] for _ in range(SILOS)]
    for intent, rows in rest.groupby("category"):
        rows = rows.sample(frac=1.0, random_state=int(rng.integers(1 << 31)))
        own = round(OWN_SHARE * len(rows))
        home = group[str(intent)]
        parts[home].append(rows.iloc[:own])
        others = [s for s in range(SILOS) if s != home]
        spread = np.array_split(np.arange(own, len(rows)), len(others))
        for k, positions in enumerate(spread):
            parts[others[k]].append(rows.iloc[positions])
    return [pd.concat(p).reset_index(drop=True) for p in parts], test.reset_index(drop=True)


def _accuracy(model: Any, test: pd.DataFrame) -> float:
    return float(np.mean(model.predict(test["text"].tolist()) == test["category"].to_numpy()))


def _central(frame: pd.DataFrame, test: pd.DataFrame) -> tuple[float, float]:
    from baryon.ml.hashed_text import HashedTextClassifier

    start = time.perf_counter()
    model = HashedTextClassifier(random_state=0).fit(frame["text"].tolist(), frame["category"])
    return _accuracy(model, test), time.perf_counter() - start


def _federated(
    silos: list[pd.DataFrame], test: pd.DataFrame, *, rounds: int, epochs: int, strategy: str
) -> tuple[float, float, dict[str, Any]]:
    from baryon.core.config import Settings
    from baryon.federated import FederatedTrainer
    from baryon.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        ws = Workspace.open(Settings(home=home))
        refs = []
        for i, frame in enumerate(silos):
            path = home / f"silo{i}.csv"
            frame.to_csv(path, index=False)
            ws.datasets.ingest(path, name=f"silo{i}", roles={"text": "text", "category": "label"})
            ws.datasets.split(f"silo{i}", strategy="random", test_size=0.1, validation_size=0.0)
            refs.append(f"silo{i}")
        trainer = FederatedTrainer(ws, timeout=7200)
        spec = trainer.resolve(
            "banking77-federated", "hashed_text_classifier", refs, rounds=rounds,
            strategy=strategy, params={"local_epochs": epochs},
        )  # fmt: skip
        start = time.perf_counter()
        run = trainer.train(spec).raise_for_status()
        seconds = time.perf_counter() - start
        model = ws.registry.load("banking77-federated").estimator
        accuracy = _accuracy(model, test)
        ws.close()
    return accuracy, seconds, {"history": run.history, "metrics": run.metrics}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the comparison and write its JSON under :data:`RESULTS`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--local-epochs", type=int, default=3)
    parser.add_argument("--strategy", default="fedavg")
    args = parser.parse_args(argv)
    frame = pd.read_csv(DATA)
    silos, test = split_non_iid(frame)
    out: dict[str, Any] = {
        "data": {"silo_rows": [len(s) for s in silos], "test_rows": len(test), "intents": 77},
        "setup": vars(args),
    }
    out["centralised"] = dict(
        zip(("accuracy", "seconds"), _central(pd.concat(silos), test), strict=True)
    )
    out["silo_alone"] = [
        dict(zip(("accuracy", "seconds"), _central(s, test), strict=True)) for s in silos
    ]
    accuracy, seconds, detail = _federated(
        silos, test, rounds=args.rounds, epochs=args.local_epochs, strategy=args.strategy
    )
    out["federated"] = {"accuracy": accuracy, "seconds": seconds, **detail}
    result = RESULTS / f"federated-{args.strategy}-r{args.rounds}-e{args.local_epochs}.json"
    result.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in out.items() if k != "federated"}, indent=1))
    print("federated accuracy", accuracy, "seconds", seconds)
    return out


if __name__ == "__main__":
    main()
