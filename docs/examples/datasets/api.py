"""The dataset API on the support-tickets example (run from the repository root)."""

from __future__ import annotations

import sys
import tempfile

from baryon import Settings, Workspace

home = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="baryon-")
with Workspace.open(Settings(home=home)) as ws:
    v1 = ws.datasets.ingest("docs/examples/datasets/tickets.csv", name="tickets")
    assert v1.roles == {"ticket_id": "feature", "text": "text", "category": "label"}

    v2 = ws.datasets.clean(
        "tickets",
        [
            "trim",
            "drop_duplicates",
            "drop_empty_text",
            {"step": "mask_pii", "columns": ["text"]},
        ],
    )
    assert v2.parent_id == v1.id
    assert v2.row_count == 11

    v3 = ws.datasets.split("tickets", strategy="random", test_size=0.25, seed=42)
    train = v3.to_pandas(split="train")  # a pandas DataFrame, no split column
    test = v3.to_arrow(split="test")  # a pyarrow Table
    assert len(train) + len(test) + v3.split["counts"]["validation"] == 11

    again = ws.datasets.ingest("docs/examples/datasets/tickets.csv", name="tickets")
    assert again.id == v1.id  # same bytes, same options: the existing version

    for version in ws.datasets.history("tickets"):
        print(version.ref, version.id, version.operation, version.row_count)
    print(v3.report["warnings"][0]["message"])
