"""Automatic roles on the real datasets bundled in the repository (banking77, TFN,
X-Wines, Concrete): ingest, clean and split them as a user would."""

from __future__ import annotations

from pathlib import Path

import pytest

from baryon.data.versions import DatasetStore

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "baryon" / "solutions"

CONCRETE_FEATURES = (
    "cement",
    "blast_furnace_slag",
    "fly_ash",
    "water",
    "superplasticizer",
    "coarse_aggregate",
    "fine_aggregate",
    "age_days",
)
CASES = [
    ("support/data/banking77/train.csv.gz", {"text": "text", "category": "label"}),
    ("sentiment/data/tfn_sentiment/train.csv.gz", {"text": "text", "label": "label"}),
    (
        "recommender/data/xwines/XWines_Slim_150K_ratings.csv.gz",
        {
            "RatingID": "id",
            "UserID": "user",
            "WineID": "item",
            "Vintage": "feature",
            "Rating": "rating",
            "Date": "timestamp",
        },
    ),
    (
        "tabular/data/concrete/concrete.csv",
        {
            "id": "id",
            **dict.fromkeys(CONCRETE_FEATURES, "feature"),
            "compressive_strength_mpa": "label",
        },
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(("relative", "roles"), CASES, ids=[c[0].split("/")[2] for c in CASES])
def test_bundled_dataset_gets_sensible_roles_and_cleans_and_splits(
    store: DatasetStore, relative: str, roles: dict[str, str]
) -> None:
    path = SOLUTIONS / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not bundled in this checkout")
    version = store.ingest(path, name="real")
    assert version.roles == roles
    assert version.report["warnings"] == [] or all(
        w["code"] in ("duplicate_rows", "small_class") for w in version.report["warnings"]
    )
    cleaned = store.clean("real", ["drop_duplicates", "trim"])
    strategy = (
        "per_user"
        if "user" in roles.values()
        else ("stratified" if "text" in roles.values() else "random")
    )
    split = store.split("real", strategy=strategy, seed=42)
    assert split.parent_id == cleaned.id
    counts = split.split["counts"] if split.split else {}
    assert counts["test"] > 0
    assert sum(counts.values()) == cleaned.row_count
