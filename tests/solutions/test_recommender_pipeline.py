"""Recommender pipeline on tiny synthetic ratings; the real bundled run is marked slow."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from baryon.cli.main import app as cli
from baryon.commerce.orgs import create_org
from baryon.core.errors import InvalidFile, InvalidInput
from baryon.core.scope import SYSTEM
from baryon.solutions.recommender.pipeline import (
    MODEL_NAME,
    TARGET_RATIO,
    RecommenderPipeline,
)
from baryon.solutions.recommender.service import record_event
from baryon.workspace import Workspace

FAST = {
    "popularity": {},
    "itemknn_cosine": {"neighbours": 20},
    "als": {"factors": 4, "iterations": 5},
}


def ratings_csv(path: Path, *, users: int = 40, seed: int = 0) -> Path:
    """Two taste groups: even users rate wines 1-10 high, odd users wines 11-20.

    Wines 1 and 11 are rated by everyone in their group early, so popularity alone
    cannot tell the groups apart while item similarity can.
    """
    rng = random.Random(seed)
    rows = []
    start = datetime(2020, 1, 1)
    rid = 0
    for user in range(1, users + 1):
        group = range(1, 11) if user % 2 == 0 else range(11, 21)
        items = rng.sample(list(group), 8)
        for k, item in enumerate(items):
            rid += 1
            rows.append(
                {
                    "RatingID": rid,
                    "UserID": 1000 + user,
                    "WineID": 100000 + item,
                    "Vintage": 2015,
                    "Rating": rng.choice([4.0, 4.5, 5.0]),
                    "Date": (start + timedelta(days=user * 30 + k)).strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_run_trains_every_candidate_and_gates_the_best_on_validation(
    workspace: Workspace, tmp_path: Path
) -> None:
    pipeline = RecommenderPipeline(
        workspace, candidates=FAST, ratings=ratings_csv(tmp_path / "r.csv")
    )
    result = pipeline.run()
    assert set(result.candidates) == set(FAST)
    assert [c.version for c in result.candidates.values()] == [1, 2, 3]
    best = max(result.candidates.values(), key=lambda c: c.validation["ndcg_at_10"])
    assert result.champion == best.version
    assert result.champion_kind == best.kind != "popularity"
    assert result.rows["train"] + result.rows["validation"] + result.rows["test"] == 320
    move = next(m for m in workspace.registry.alias_history(MODEL_NAME)
                if m.alias == "champion" and m.to_version == best.version)  # fmt: skip
    assert move.gate is not None
    assert move.gate["evaluated_on"]["dataset"].startswith("xwines-validation:")
    validation = workspace.datasets.get("xwines-validation")
    assert validation.row_count == result.rows["validation"]
    assert validation.split is None
    assert result.ratio == pytest.approx(
        result.metrics["ndcg_at_10"] / result.baseline["ndcg_at_10"]
    )
    assert result.meets_target == (result.ratio >= TARGET_RATIO)


def test_run_twice_creates_nothing_new(workspace: Workspace, tmp_path: Path) -> None:
    pipeline = RecommenderPipeline(
        workspace, candidates=FAST, ratings=ratings_csv(tmp_path / "r.csv")
    )
    first = pipeline.run()
    before = workspace.db.table_counts()
    again = pipeline.run()
    assert not again.created
    assert again.champion == first.champion
    assert workspace.db.table_counts() == before


def test_rated_events_join_their_organizations_next_training_only(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = ratings_csv(tmp_path / "r.csv")
    RecommenderPipeline(workspace, candidates=FAST, ratings=path).run()
    with workspace.db.session(SYSTEM) as s:
        org = create_org(s, name="acme").id
        record_event(s, org_id=org, user_id="1002", item_id="100003", type="rate", value=5.0)
        record_event(s, org_id=org, user_id="1002", item_id="100004", type="click")
    # acme's events are acme's: the operator's retrain does not see them ...
    again = RecommenderPipeline(workspace, candidates=FAST, ratings=path).run()
    assert (again.feedback_rows, again.created) == (0, False)
    # ... and acme's own retrain uses them, on the shared base ratings, in acme's datasets.
    acme = workspace.for_org("acme")
    result = RecommenderPipeline(acme, candidates=FAST, ratings=path).run()
    assert result.feedback_rows == 1
    assert result.created
    assert result.dataset == "xwines-ratings:3"  # ingest, dedupe, split in acme's datasets
    assert acme.datasets.get("xwines-ratings", 1).row_count == 321
    assert workspace.datasets.get("xwines-ratings", 1).row_count == 320


def test_pipeline_without_popularity_baseline_is_refused(workspace: Workspace) -> None:
    with pytest.raises(InvalidInput) as info:
        RecommenderPipeline(workspace, candidates={"als": {}})
    assert info.value.code == "no_baseline"


@pytest.mark.parametrize("feedback", [False, True])
@pytest.mark.parametrize(
    ("content", "code"),
    [(None, "file_not_found"), ("", "empty_file"), ("dir", "not_a_file")],
)
def test_prepare_bad_ratings_file_is_invalid_file(
    workspace: Workspace, tmp_path: Path, feedback: bool, content: str | None, code: str
) -> None:
    path = tmp_path / "ratings.csv"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    if feedback:
        with workspace.db.session(SYSTEM) as s:
            org = create_org(s, name="acme").id
            record_event(s, org_id=org, user_id="1002", item_id="100003", type="rate", value=5.0)
    pipeline = RecommenderPipeline(workspace, candidates=FAST, ratings=path, feedback=feedback)
    with pytest.raises(InvalidFile) as info:
        pipeline.prepare()
    assert info.value.code == code


def test_models_evaluate_recommender_on_held_out_ratings_laid_out_like_the_source(
    workspace: Workspace, tmp_path: Path
) -> None:
    RecommenderPipeline(workspace, candidates=FAST, ratings=ratings_csv(tmp_path / "r.csv")).run()
    # held-out interactions of known users, same columns as the source file
    held_out = pd.DataFrame(
        {
            "RatingID": [9001, 9002, 9003, 9004],
            "UserID": [1002, 1004, 1001, 1003],
            "WineID": [100001, 100002, 100011, 100012],
            "Vintage": [2015] * 4,
            "Rating": [5.0, 4.5, 4.0, 5.0],
            "Date": ["2024-01-01 00:00:00"] * 4,
        }
    )
    held_out.to_csv(tmp_path / "held_out.csv", index=False)
    result = CliRunner().invoke(
        cli,
        ["--home", str(workspace.settings.home), "models", "evaluate", "recommender",
         "--data", str(tmp_path / "held_out.csv"), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.output)
    assert report["model"] == "recommender"
    assert set(report["metrics"]) >= {
        "ndcg_at_10",
        "precision_at_10",
        "recall_at_10",
        "hit_rate_at_10",
        "map_at_10",
        "catalogue_coverage",
    }
    assert 0.0 <= report["metrics"]["ndcg_at_10"] <= 1.0
