from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pandas as pd
import pytest

from baryon.core.errors import Conflict, NotFound
from baryon.data.versions import DatasetVersion
from baryon.solutions._reuse import (
    champion_or_none,
    find_version_by_recipe,
    majority_accuracy,
    promote_or_note,
    recipe_digest,
)
from baryon.training.promotion import Promoter
from baryon.training.registry import ModelRegistry, ModelVersion


@dataclass
class _Version:
    version: int
    extra: dict[str, Any]
    ref: str = ""

    def __post_init__(self) -> None:
        self.ref = f"m:{self.version}"


@dataclass
class _Registry:
    versions: dict[str, list[_Version]] = field(default_factory=dict)
    champion: dict[str, _Version] = field(default_factory=dict)

    def list_versions(self, name: str) -> list[_Version]:
        if name not in self.versions:
            raise NotFound(f"no model {name}")
        return self.versions[name]

    def get_version(self, name: str, *, alias: str) -> _Version:
        if name not in self.versions:
            raise NotFound(f"no model {name}")
        if name not in self.champion:
            raise LookupError(alias)
        return self.champion[name]


@dataclass
class _Promotion:
    refuse: Conflict | None = None
    promoted: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)

    def promote(self, name: str, version: int, **kwargs: Any) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.promoted.append((name, version, kwargs))


def _reg(fake: _Registry) -> ModelRegistry:
    return cast(ModelRegistry, fake)


def _promo(fake: _Promotion) -> Promoter:
    return cast(Promoter, fake)


def _ver(fake: _Version) -> ModelVersion:
    return cast(ModelVersion, fake)


def test_recipe_digest_known_value_ignores_key_order() -> None:
    # Pinned: versions registered before the refactor carry this digest in extra["recipe"].
    a = recipe_digest(
        dataset="dsv_1",
        kind="text_classifier",
        params={"model": "mlp", "hidden_units": 256},
        seed=0,
    )
    b = recipe_digest(
        seed=0,
        params={"hidden_units": 256, "model": "mlp"},
        kind="text_classifier",
        dataset="dsv_1",
    )
    assert a == b == "b08c10a0334c5a3c"


def test_recipe_digest_changes_with_any_part() -> None:
    assert recipe_digest(seed=0) != recipe_digest(seed=1)
    assert recipe_digest(seed=0) != recipe_digest(seed=0, target=None)


def test_recipe_digest_unserializable_part_raises_type_error() -> None:
    with pytest.raises(TypeError):
        recipe_digest(params=object())


def test_find_version_by_recipe_returns_first_match_or_none() -> None:
    fake = _Registry(
        versions={
            "m": [_Version(1, {"recipe": "x"}), _Version(2, {"recipe": "y"}), _Version(3, {})]
        }
    )
    found = find_version_by_recipe(_reg(fake), "m", "y")
    assert found is not None
    assert found.version == 2
    assert find_version_by_recipe(_reg(fake), "m", "z") is None


def test_find_version_by_recipe_unknown_model_is_none() -> None:
    assert find_version_by_recipe(_reg(_Registry()), "missing", "x") is None


def test_champion_or_none_unknown_model_or_no_champion_is_none() -> None:
    fake = _Registry(versions={"m": [_Version(1, {})]})
    assert champion_or_none(_reg(fake), "missing") is None
    assert champion_or_none(_reg(fake), "m") is None
    fake.champion["m"] = fake.versions["m"][0]
    champion = champion_or_none(_reg(fake), "m")
    assert champion is not None
    assert champion.version == 1


def test_promote_or_note_passes_options_and_returns_none() -> None:
    fake = _Promotion()
    note = promote_or_note(
        _promo(fake), "m", _ver(_Version(4, {})), actor="a", reason="r", evaluation_dataset="d:1"
    )
    assert note is None
    assert fake.promoted == [("m", 4, {"actor": "a", "reason": "r", "evaluation_dataset": "d:1"})]


def test_promote_or_note_gate_refused_is_a_note_with_label() -> None:
    fake = _Promotion(refuse=Conflict("worse than champion", code="gate_refused"))
    version = _ver(_Version(2, {}))
    assert (
        promote_or_note(_promo(fake), "m", version, actor="a", reason="r")
        == "m:2 stays challenger: worse than champion"
    )
    assert (
        promote_or_note(_promo(fake), "m", version, actor="a", reason="r", label="als")
        == "m:2 (als) stays challenger: worse than champion"
    )


def test_promote_or_note_other_conflict_is_raised() -> None:
    fake = _Promotion(refuse=Conflict("moved meanwhile", code="champion_moved"))
    with pytest.raises(Conflict) as info:
        promote_or_note(_promo(fake), "m", _ver(_Version(2, {})), actor="a", reason="r")
    assert info.value.code == "champion_moved"


@dataclass
class _Dataset:
    splits: dict[str, pd.DataFrame]
    reads: list[tuple[str, list[str] | None]] = field(default_factory=list)

    def to_pandas(self, split: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        self.reads.append((split, columns))
        frame = self.splits[split]
        return frame if columns is None else frame[columns]


def test_majority_accuracy_known_answer_reads_only_the_label() -> None:
    fake = _Dataset(
        {
            "train": pd.DataFrame({"y": [1, 1, 2, 3], "x": [0, 0, 0, 0]}),
            "test": pd.DataFrame({"y": [1, 2, 1, 1], "x": [0, 0, 0, 0]}),
        }
    )
    assert majority_accuracy(cast(DatasetVersion, fake), "y") == 0.75
    assert fake.reads == [("train", ["y"]), ("test", ["y"])]


def test_majority_accuracy_as_text_compares_strings() -> None:
    fake = _Dataset(
        {"train": pd.DataFrame({"y": [7, 7, 8]}), "test": pd.DataFrame({"y": ["7", "8"]})}
    )
    assert majority_accuracy(cast(DatasetVersion, fake), "y") == 0.0
    assert majority_accuracy(cast(DatasetVersion, fake), "y", as_text=True) == 0.5
