"""Train, register, promote and evaluate from Python (run from the repository root)."""

from __future__ import annotations

import sys
import tempfile

from baryon import Conflict, Settings, Workspace
from baryon.training import Trainer, evaluate_file

home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="baryon-")
with Workspace.open(Settings(home=home)) as ws:
    ws.datasets.ingest("docs/examples/training/quadrants.csv", name="quadrants")
    ws.datasets.split("quadrants", strategy="stratified", seed=0)

    trainer = Trainer(ws, actor="docs")
    stump = trainer.train(
        "decision_tree", dataset="quadrants", params={"max_depth": 1}, register="quadrants"
    )
    tree = trainer.train(
        "decision_tree", dataset="quadrants", params={"max_depth": 3}, register="quadrants"
    )
    tree.raise_for_status()  # ValidationFailed / RunFailed unless it succeeded
    print(stump.id.split("_")[0], stump.status, stump.metrics["accuracy"])  # run succeeded 0.75
    print(tree.history.keys() == set(), tree.artifacts.keys() >= {"model", "report"})

    move = ws.promotion.promote("quadrants", 2, min_delta=0.05, reason="deeper tree")
    print(move.alias, move.from_version, "->", move.to_version)  # champion 1 -> 2
    try:
        ws.promotion.promote("quadrants", 1)  # the stump does not beat the tree
    except Conflict as refused:
        print(refused.code, refused.details["challenger_value"], refused.details["champion_value"])

    version, evaluation = evaluate_file(
        ws.registry, "quadrants@champion", "docs/examples/training/quadrants.csv"
    )
    print(version.ref, sorted(evaluation.metrics))
