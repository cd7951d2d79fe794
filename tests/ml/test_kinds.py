"""Tests of baryon.ml.kinds and the baryon.ml package surface."""

from __future__ import annotations

import subprocess
import sys
from types import MappingProxyType

import pytest

import baryon.ml
from baryon.core.errors import InvalidInput
from baryon.ml.kinds import KINDS, estimator_class, estimator_kinds, make_estimator, task_of

_CONTRACT_KINDS = [
    "als",
    "cf_seed",
    "decision_tree",
    "gradient_boosting",
    "hashed_text_classifier",
    "itemknn_cosine",
    "linear_regression",
    "linear_regression_gd",
    "mlp",
    "popularity",
    "text_classifier",
    "transformer_classifier",
]


def test_estimator_kinds_are_exactly_the_contract_kinds():
    assert estimator_kinds() == _CONTRACT_KINDS


@pytest.mark.parametrize(
    ("kind", "task"),
    [
        ("linear_regression_gd", "regression"),
        ("linear_regression", "regression"),
        ("decision_tree", "auto"),
        ("gradient_boosting", "auto"),
        ("mlp", "auto"),
        ("text_classifier", "text_classification"),
        ("transformer_classifier", "text_classification"),
        ("cf_seed", "recommendation"),
        ("popularity", "recommendation"),
        ("itemknn_cosine", "recommendation"),
        ("als", "recommendation"),
    ],
)
def test_task_of_each_kind(kind, task):
    assert task_of(kind) == task


def test_kinds_table_is_read_only():
    assert isinstance(KINDS, MappingProxyType)
    with pytest.raises(TypeError):
        KINDS["mine"] = KINDS["mlp"]  # type: ignore[index]


@pytest.mark.parametrize("func", [task_of, make_estimator, estimator_class])
def test_unknown_kind_raises_listing_known_kinds(func):
    with pytest.raises(InvalidInput) as info:
        func("random_forest")
    assert info.value.code == "unknown_kind"
    assert "gradient_boosting" in info.value.message
    assert info.value.details["known"] == _CONTRACT_KINDS


@pytest.mark.parametrize("kind", [k for k in _CONTRACT_KINDS if task_of(k) != "recommendation"])
def test_make_estimator_builds_an_unfitted_estimator_of_the_right_class(kind):
    estimator = make_estimator(kind)
    assert type(estimator) is estimator_class(kind)
    assert f"{type(estimator).__module__}.{type(estimator).__name__}" == KINDS[kind].class_path
    assert not [a for a in vars(estimator) if a.endswith("_")]


def test_make_estimator_passes_params():
    model = make_estimator("gradient_boosting", max_iter=7, task="regression")
    assert model.max_iter == 7
    assert model.task == "regression"


def test_make_estimator_unknown_param_names_it_and_lists_valid_ones():
    with pytest.raises(InvalidInput) as info:
        make_estimator("mlp", hidden_units=32)
    err = info.value
    assert err.code == "invalid_param"
    assert err.details["param"] == "hidden_units"
    assert "hidden_layer_sizes" in err.details["valid"]


def test_make_estimator_bad_value_fails_before_fit():
    with pytest.raises(InvalidInput) as info:
        make_estimator("linear_regression_gd", learning_rate=-1)
    assert info.value.code == "invalid_param"


def test_make_estimator_recommender_kind_is_resolved_lazily_by_path():
    assert KINDS["cf_seed"].path == "baryon.ml.recommend:CFSeedRecommender"
    assert KINDS["als"].class_path == "baryon.ml.recommend.ALSRecommender"


def test_importing_baryon_ml_and_kinds_loads_no_estimator_module():
    code = (
        "import sys, baryon.ml, baryon.ml.kinds; "
        "heavy = [m for m in ('sklearn', 'baryon.ml.recommend', 'baryon.ml.text') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_package_surface_is_pinned():
    assert baryon.ml.__all__ == [
        "MLP",
        "DecisionTree",
        "GradientBoosting",
        "LinearRegression",
        "LinearRegressionGD",
        "NotConverged",
        "NotFitted",
        "TextClassifier",
        "dump_model",
        "estimator_kinds",
        "load_model",
        "make_estimator",
        "task_of",
    ]
    for name in baryon.ml.__all__:
        assert getattr(baryon.ml, name) is not None
    with pytest.raises(AttributeError):
        _ = baryon.ml.no_such_name
