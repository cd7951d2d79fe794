"""The scikit-learn estimator contract (STYLE.md §3) for every non-recommender kind."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils import estimator_checks as checks

from baryon.ml.kinds import estimator_class, estimator_kinds, make_estimator, task_of

KINDS = [k for k in estimator_kinds() if task_of(k) != "recommendation"]
TEXT = [k for k in KINDS if task_of(k) == "text_classification"]
TABULAR = [k for k in KINDS if k not in TEXT]
#: Kinds whose fit fine-tunes a pretrained transformer (seconds, not milliseconds).
_SLOW = {"transformer_classifier"}


def _data(kind: str) -> tuple[object, np.ndarray]:
    rng = np.random.default_rng(0)
    if kind in TEXT:
        texts = [f"{w} item {i}" for i, w in enumerate(["good", "bad"] * 10)]
        return texts, np.array(["pos", "neg"] * 10, dtype=object)
    X = rng.normal(size=(40, 3))
    return X, X[:, 0] * 2.0 + rng.normal(scale=0.1, size=40)


@pytest.mark.parametrize("kind", KINDS)
def test_init_is_keyword_only_and_stores_params_unchanged(kind):
    cls = estimator_class(kind)
    params = inspect.signature(cls.__init__).parameters
    assert all(p.kind is p.KEYWORD_ONLY for n, p in params.items() if n != "self")
    checks.check_no_attributes_set_in_init(kind, cls())
    checks.check_parameters_default_constructible(kind, cls())


@pytest.mark.parametrize("kind", KINDS)
def test_every_param_has_a_declared_constraint(kind):
    cls = estimator_class(kind)
    assert set(cls._param_constraints) == set(cls().get_params())


@pytest.mark.parametrize("kind", KINDS)
def test_get_params_set_params_and_clone(kind):
    estimator = make_estimator(kind)
    checks.check_get_params_invariance(kind, estimator)
    checks.check_set_params(kind, estimator)
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()


@pytest.mark.parametrize(
    "kind", [pytest.param(k, marks=pytest.mark.slow) if k in _SLOW else k for k in KINDS]
)
def test_fit_returns_self_adds_only_underscore_attributes_and_keeps_params(kind):
    estimator = make_estimator(kind)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=0)
    if "cv" in estimator.get_params():
        estimator.set_params(cv=2)
    if "n_threads" in estimator.get_params():  # one fast epoch on the shared 2-core machine
        estimator.set_params(n_threads=1, epochs=1)
    before = dict(vars(estimator))
    X, y = _data(kind)
    assert estimator.fit(X, y) is estimator
    added = set(vars(estimator)) - set(before)
    assert added
    assert all(name.endswith("_") for name in added), sorted(added)
    assert {k: vars(estimator)[k] for k in before} == before
    refit = clone(estimator).fit(X, y)
    assert set(vars(refit)) == set(vars(estimator))


@pytest.mark.parametrize("kind", TABULAR)
def test_sklearn_checks_unfitted_and_n_features(kind):
    estimator = make_estimator(kind)
    checks.check_estimators_unfitted(kind, estimator)
    checks.check_fit_check_is_fitted(kind, estimator)
    checks.check_n_features_in(kind, estimator)
    checks.check_dont_overwrite_parameters(kind, estimator)
