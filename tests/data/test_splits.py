"""Seeded splits: random, stratified, time and per user."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from baryon.core.errors import InvalidInput
from baryon.data.splits import TEST, TRAIN, VALIDATION, assign_split, split_options


def _frame(n: int = 100) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "y": ["a"] * (n * 8 // 10) + ["b"] * (n - n * 8 // 10),
            "t": pd.date_range("2024-01-01", periods=n, freq="h")[::-1],
        }
    )


def test_random_split_sizes_and_seed_determinism() -> None:
    frame = _frame()
    codes, spec = assign_split(frame, {}, strategy="random", test_size=0.2, validation_size=0.1)
    assert spec["counts"] == {"train": 70, "validation": 10, "test": 20}
    again, _ = assign_split(frame, {}, strategy="random", test_size=0.2, validation_size=0.1)
    other, _ = assign_split(frame, {}, strategy="random", seed=7)
    assert np.array_equal(codes, again)
    assert not np.array_equal(codes, other)


def test_stratified_split_keeps_class_shares() -> None:
    frame = _frame(200)
    codes, spec = assign_split(frame, {"y": "label"}, strategy="stratified", validation_size=0.0)
    test = frame.loc[codes == TEST, "y"]
    assert (test == "a").sum() == 32
    assert (test == "b").sum() == 8
    assert spec["options"] == {"label": "y"}


def test_stratified_split_without_label_role_names_the_fix() -> None:
    with pytest.raises(InvalidInput) as info:
        assign_split(_frame(), {}, strategy="stratified")
    assert info.value.code == "missing_role"
    assert "--role" in info.value.message


def test_time_split_puts_newest_rows_in_test() -> None:
    frame = _frame()
    codes, _ = assign_split(frame, {"t": "timestamp"}, strategy="time")
    newest_train = frame.loc[codes == TRAIN, "t"].max()
    assert newest_train < frame.loc[codes == VALIDATION, "t"].min()
    assert frame.loc[codes == VALIDATION, "t"].max() < frame.loc[codes == TEST, "t"].min()


def test_per_user_last_n_holds_out_each_users_latest() -> None:
    frame = pd.DataFrame(
        {
            "user": ["u1"] * 4 + ["u2"] * 2 + ["u3"],
            "ts": [4, 1, 3, 2, 10, 20, 5],
        }
    )
    frame["ts"] = pd.to_datetime(frame["ts"], unit="D")
    roles = {"user": "user", "ts": "timestamp"}
    codes, spec = assign_split(frame, roles, strategy="per-user", last_n=1)
    assert codes.tolist() == [TEST, TRAIN, VALIDATION, TRAIN, TRAIN, TEST, TRAIN]
    assert spec["options"]["users_in_test"] == 2
    no_val, _ = assign_split(frame, roles, strategy="per_user", last_n=1, validation_size=0.0)
    assert no_val.tolist() == [TEST, TRAIN, TRAIN, TRAIN, TRAIN, TEST, TRAIN]


def test_per_user_fraction_and_single_interaction_users_stay_in_train() -> None:
    frame = pd.DataFrame({"user": ["a"] * 10 + ["b"], "v": range(11)})
    codes, spec = assign_split(
        frame, {"user": "user"}, strategy="per_user", fraction=0.3, validation_size=0.0
    )
    assert (codes[:10] == TEST).sum() == 3
    assert codes[10] == TRAIN
    assert spec["options"]["fraction"] == 0.3


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"strategy": "alphabetical"}, "invalid_split"),
        ({"strategy": "random", "test_size": 0.0}, "invalid_split_size"),
        ({"strategy": "random", "test_size": 0.6, "validation_size": 0.4}, "invalid_split_size"),
        ({"strategy": "random", "label": "y"}, "invalid_split"),
        ({"strategy": "time", "column": "nope"}, "unknown_column"),
        ({"strategy": "per_user", "user": "y", "last_n": 0}, "invalid_split"),
        ({"strategy": "per_user", "user": "y", "last_n": 1, "fraction": 0.2}, "invalid_split"),
    ],
)
def test_assign_split_bad_options_raise_named_errors(kwargs: dict, code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        assign_split(_frame(), {}, **kwargs)
    assert info.value.code == code


def test_assign_split_single_row_is_too_few() -> None:
    with pytest.raises(InvalidInput) as info:
        assign_split(_frame().head(1), {}, strategy="random")
    assert info.value.code == "too_few_rows"


def test_assign_split_negative_seed_raises_invalid_split() -> None:
    # seed=-1 used to reach numpy.random.default_rng and surface as a bare ValueError
    with pytest.raises(InvalidInput) as info:
        assign_split(_frame(), {}, strategy="random", seed=-1)
    assert info.value.code == "invalid_split"
    assert "seed" in str(info.value)


def test_split_options_time_column_is_column_for_time_and_time_for_per_user() -> None:
    assert split_options("time", time_column="t") == {"column": "t"}
    assert split_options("per-user", time_column="t", user_column="u", last_n=2) == {
        "time": "t",
        "user": "u",
        "last_n": 2,
    }
    assert split_options("stratified", label="y", fraction=None) == {"label": "y"}
    assert split_options("random") == {}
