"""docs/active-learning.md and docs/flywheel-proof.md cannot rot silently."""

from __future__ import annotations

import re
from pathlib import Path

from baryon.labeling.active import STRATEGIES
from baryon.labeling.sampling import DEFAULT_MAX_ROWS, MAX_ROWS, MAX_SAMPLE_SIZE

DOCS = Path(__file__).resolve().parents[2] / "docs"
ACTIVE = (DOCS / "active-learning.md").read_text()


def test_active_learning_doc_names_every_strategy_and_limit() -> None:
    for strategy in STRATEGIES:
        assert f"`{strategy}`" in ACTIVE
    assert f"{MAX_SAMPLE_SIZE:,} tasks" in ACTIVE
    assert f"default\n  {DEFAULT_MAX_ROWS:,}" in ACTIVE or f"default {DEFAULT_MAX_ROWS:,}" in ACTIVE
    assert f"at most {MAX_ROWS:,}" in ACTIVE


def test_active_learning_doc_lists_the_codes_the_service_raises() -> None:
    source = (
        Path(__file__).resolve().parents[2] / "baryon" / "labeling" / "sampling.py"
    ).read_text()
    codes = set(re.findall(r'code="([a-z_]+)"', source)) - {"queue_changed"}
    assert codes  # invalid_strategy, invalid_sample_size, ...
    for code in codes | {"queue_not_found", "dataset_not_found", "model_not_ready"}:
        assert f"`{code}`" in ACTIVE, code


def test_flywheel_proof_page_shows_the_chart_of_a_real_run() -> None:
    page = (DOCS / "flywheel-proof.md").read_text()
    assert "![learning curves](images/flywheel-proof.png)" in page
    assert (DOCS / "images" / "flywheel-proof.png").stat().st_size > 10_000
    assert "python -m benchmarks.flywheel" in page
