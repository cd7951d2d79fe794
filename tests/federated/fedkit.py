"""Silos for federated tests: small text and tabular datasets with a split."""

from __future__ import annotations

import random
from pathlib import Path

from baryon.workspace import Workspace

#: Words of each intent; every row also carries a unique marker ``secretrow<silo>x<i>``.
WORDS = {
    "card": "card lost stolen blocked frozen",
    "loan": "loan rate interest mortgage repay",
    "app": "app login password crash update",
}


def text_silo(ws: Workspace, name: str, *, rows: int = 60, seed: int = 0) -> str:
    """Ingest and split a text dataset ``name`` (columns text, label); return its name."""
    rng = random.Random(seed)
    path = Path(ws.settings.home) / f"{name}.csv"
    lines = ["text,label"]
    for i in range(rows):
        label = sorted(WORDS)[i % len(WORDS)]
        words = " ".join(rng.sample(WORDS[label].split(), 3))
        lines.append(f"please help {words} secretrow{name}x{i},{label}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws.datasets.ingest(path, name=name, roles={"text": "text", "label": "label"})
    ws.datasets.split(name, strategy="random", seed=1)
    return name


def tabular_silo(ws: Workspace, name: str, *, rows: int = 60, seed: int = 0) -> str:
    """Ingest and split y = 3·x1 − 2·x2 + 1 (+ small noise); return its name."""
    rng = random.Random(seed)
    path = Path(ws.settings.home) / f"{name}.csv"
    lines = ["x1,x2,y"]
    for _ in range(rows):
        a, b = rng.uniform(0, 10), rng.uniform(-5, 5)
        lines.append(f"{a:.4f},{b:.4f},{3 * a - 2 * b + 1 + rng.gauss(0, 0.05):.4f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ws.datasets.ingest(path, name=name, roles={"x1": "feature", "x2": "feature", "y": "label"})
    ws.datasets.split(name, strategy="random", seed=1)
    return name
