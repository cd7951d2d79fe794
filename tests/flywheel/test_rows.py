"""From labels to rows of a tabular classifier's dataset; a whole cycle of decision_tree."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput
from baryon.flywheel.cycle import run_cycle
from baryon.flywheel.labels import FEEDBACK, LabeledInput
from baryon.flywheel.rows import Columns, build_rows
from baryon.workspace import Workspace

from .cyclekit import feedback, label


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    """A home with ``quad``: a decision tree on 80 points, class ``in`` for x1 > 0 and x2 > 0."""
    from baryon.training.trainer import Trainer

    clock = FixedClock()
    workspace = Workspace.open(Settings(home=tmp_path / "home"), clock=clock)
    rng = np.random.default_rng(0)
    x1, x2 = rng.integers(-9, 10, 80), rng.integers(-9, 10, 80)
    frame = pd.DataFrame(
        {
            "id": np.arange(80),
            "x1": x1,
            "x2": x2,
            "label": np.where((x1 > 0) & (x2 > 0), "in", "out"),
        }
    )
    frame.to_csv(tmp_path / "quad.csv", index=False)
    workspace.datasets.ingest(tmp_path / "quad.csv", name="quad", roles={"label": "label"})
    split = workspace.datasets.split("quad", strategy="stratified", seed=0)
    run = Trainer(workspace).train(
        "decision_tree", split.ref, params={"max_depth": 3}, register="quad"
    )
    run.raise_for_status()
    clock.advance(3600)
    try:
        yield workspace
    finally:
        workspace.close()


def _item(data: Any, label: Any, *, source: str = "queue:quad", at: int = 0) -> LabeledInput:
    when = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=at)
    return LabeledInput(source, source, f"ref{at}", data, label, when)


def test_build_rows_tabular_dicts_and_lists_cast_to_column_types(ws: Workspace) -> None:
    champion = ws.registry.get_version("quad", alias="champion")
    parent = ws.datasets.get_by_id(champion.dataset_version_id)
    columns = Columns.of(champion)
    assert (columns.target, columns.text, columns.features) == ("label", None, ("x1", "x2"))
    rows = build_rows(
        [
            _item({"x1": 50, "x2": 60}, "in", at=1),
            _item([-50, 70], "out", source=FEEDBACK, at=2),
            _item({"x1": 51}, "in", at=3),  # a feature missing
            _item({"x1": "many", "x2": 1}, "in", at=4),  # not an integer
            _item({"x1": 52, "x2": 1}, "maybe", at=5),  # not a class
            _item("a text", "in", at=6),  # not a row
        ],
        columns,
        parent,
    )
    assert rows.table is not None
    added = rows.table.to_pylist()
    assert added == [
        {"id": None, "x1": 50, "x2": 60, "label": "in"},
        {"id": None, "x1": -50, "x2": 70, "label": "out"},
    ]
    assert rows.table.schema == parent.to_arrow().schema
    assert rows.by_source == {"feedback": 1, "queue:quad": 1}
    assert rows.skipped == {"invalid_input": 3, "unknown_label": 1}


def test_build_rows_input_of_a_test_row_left_out_train_row_counted_as_overlap(
    ws: Workspace,
) -> None:
    champion = ws.registry.get_version("quad", alias="champion")
    parent = ws.datasets.get_by_id(champion.dataset_version_id)
    test_row = parent.to_pandas(split="test").iloc[0]
    train_row = parent.to_pandas(split="train").iloc[0]
    rows = build_rows(
        [
            _item({"x1": int(test_row["x1"]), "x2": int(test_row["x2"])}, "in", at=1),
            _item({"x1": float(train_row["x1"]), "x2": int(train_row["x2"])}, "out", at=2),
        ],
        Columns.of(champion),
        parent,
    )
    assert rows.skipped == {"in_test_split": 1}
    assert rows.overlap == {"train": 1}
    assert rows.count == 1


def test_run_cycle_tabular_classifier_uses_input_dict_keys(ws: Workspace) -> None:
    clock = ws.clock
    assert isinstance(clock, FixedClock)
    pairs: list[tuple[str | dict[str, Any], str]] = [
        ({"x1": 20 + i, "x2": 30 + i}, "in") for i in range(5)
    ]
    label(ws, clock, pairs, model="quad")
    feedback(ws, clock, [([-20 - i, 5], "out") for i in range(3)], model="quad")

    cycle = run_cycle(ws, "quad")

    assert cycle.report["rows_added"] == {"feedback": 3, "queue:quad": 5}
    new = ws.datasets.get_by_id(str(cycle.dataset_version_id))
    tail = new.to_pandas().tail(8)
    assert set(tail["x1"]) == {20, 21, 22, 23, 24, -20, -21, -22}
    assert cycle.status in ("promoted", "kept")
    assert cycle.report["decision"] == cycle.status


def test_columns_of_a_regressor_not_a_classifier(ws: Workspace, tmp_path: Path) -> None:
    from dataclasses import replace

    champion = ws.registry.get_version("quad", alias="champion")
    with pytest.raises(InvalidInput) as info:
        Columns.of(replace(champion, classes=None))
    assert info.value.code == "not_a_classifier"


def test_build_rows_digest_same_rows_any_order_or_labels_left_out(ws: Workspace) -> None:
    champion = ws.registry.get_version("quad", alias="champion")
    parent = ws.datasets.get_by_id(champion.dataset_version_id)
    columns = Columns.of(champion)
    first = _item({"x1": 50, "x2": 60}, "in", at=1)
    second = _item([-50, 70], "out", source=FEEDBACK, at=2)
    base = build_rows([first, second], columns, parent)
    reordered = build_rows([_item([-50, 70], "out", at=0), first], columns, parent)
    with_dropped = build_rows(
        [first, second, _item({"x1": 52, "x2": 1}, "maybe", at=3)], columns, parent
    )
    relabelled = build_rows([first, _item([-50, 70], "in", at=3)], columns, parent)

    assert base.digest is not None
    assert len(base.digest) == 64
    assert reordered.digest == base.digest  # the same rows, another order and source
    assert with_dropped.digest == base.digest  # the extra label left out (unknown_label)
    assert relabelled.digest != base.digest  # another label is another row
    assert build_rows([first], columns, parent).digest != base.digest
    assert build_rows([_item("a text", "in")], columns, parent).digest is None
