"""Tests of baryon.ml.sparse_mlp: the sparse-input one-hidden-layer network."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import scipy.sparse as sp

from baryon.core.errors import InvalidInput
from baryon.ml._validation import NotFitted
from baryon.ml.sparse_mlp import SparseMLP


def _toy(seed: int = 0) -> tuple[sp.csr_matrix, np.ndarray]:
    """120 sparse rows, 3 classes; class k is marked by features 10k..10k+9 (+ noise).

    Separable: a row of class k has 3 of its class's 10 features and 2 of 30 noise
    features (shared by all classes).
    """
    rng = np.random.default_rng(seed)
    rows, cols, labels = [], [], []
    for i in range(120):
        k = i % 3
        active = list(rng.choice(10, 3, replace=False) + 10 * k)
        active += list(rng.choice(30, 2, replace=False) + 30)
        rows += [i] * len(active)
        cols += active
        labels.append(["bear", "bull", "flat"][k])
    data = rng.uniform(0.5, 1.0, len(rows))
    return sp.csr_matrix((data, (rows, cols)), shape=(120, 60)), np.asarray(labels)


def test_sparse_mlp_separable_toy_learns_it():
    X, y = _toy()
    model = SparseMLP(hidden_units=16, epochs=30, learning_rate=1e-2, batch_size=16, random_state=0)
    model.fit(X[:90], y[:90])
    assert list(model.classes_) == ["bear", "bull", "flat"]
    assert (model.predict(X[90:]) == y[90:]).mean() == 1.0
    proba = model.predict_proba(X[90:])
    assert proba.shape == (30, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert model.loss_curve_.shape == (30,)
    assert model.loss_curve_[-1] < model.loss_curve_[0] / 5
    assert model.W1_.shape == (60, 16)
    assert model.W2_.shape == (16, 3)


def test_sparse_mlp_only_rows_of_seen_features_move():
    X, y = _toy()
    X = sp.csr_matrix(X[:, :50])  # features 50..59 never occur ...
    X = sp.hstack([X, sp.csr_matrix((120, 10))], format="csr")
    a = SparseMLP(hidden_units=8, epochs=1, random_state=3).fit(X, y)
    b = SparseMLP(hidden_units=8, epochs=3, random_state=3).fit(X, y)
    # ... so their first-layer rows keep their (seeded) initial values
    np.testing.assert_array_equal(a.W1_[50:], b.W1_[50:])
    assert not np.array_equal(a.W1_[:50], b.W1_[:50])


def test_sparse_mlp_same_seed_same_model_other_seed_differs():
    X, y = _toy()
    one = SparseMLP(hidden_units=8, epochs=3, random_state=7).fit(X, y)
    two = SparseMLP(hidden_units=8, epochs=3, random_state=7).fit(X, y)
    three = SparseMLP(hidden_units=8, epochs=3, random_state=8).fit(X, y)
    np.testing.assert_array_equal(one.predict_proba(X), two.predict_proba(X))
    assert not np.array_equal(one.predict_proba(X), three.predict_proba(X))


def test_sparse_mlp_binary_decision_function_is_one_column():
    X, y = _toy()
    keep = y != "flat"
    model = SparseMLP(hidden_units=8, epochs=5, random_state=0).fit(X[keep], y[keep])
    scores = model.decision_function(X[keep])
    assert scores.shape == (int(keep.sum()),)
    assert list(model.classes_[(scores > 0).astype(int)]) == list(model.predict(X[keep]))


def test_sparse_mlp_accepts_dense_input():
    X, y = _toy()
    model = SparseMLP(hidden_units=8, epochs=20, learning_rate=1e-2, random_state=0)
    model.fit(X.toarray(), y)
    assert (model.predict(X.toarray()) == y).mean() > 0.95


@pytest.mark.parametrize(
    "params",
    [
        {"hidden_units": 0},
        {"epochs": 0},
        {"learning_rate": 0.0},
        {"learning_rate": -1e-3},
        {"batch_size": 0},
        {"hidden_units": 2.5},
        {"random_state": -1},
    ],
)
def test_sparse_mlp_bad_params_raise_invalid_param(params):
    X, y = _toy()
    with pytest.raises(InvalidInput) as info:
        SparseMLP(**params).fit(X, y)
    assert info.value.code == "invalid_param"


def test_sparse_mlp_bad_inputs_raise_specific_codes():
    X, y = _toy()
    with pytest.raises(InvalidInput) as info:
        SparseMLP().fit(X, y[:10])
    assert info.value.code == "invalid_input"
    with pytest.raises(InvalidInput) as info:
        SparseMLP().fit(X, np.full(120, "only"))
    assert info.value.code == "too_few_classes"
    bad = X.copy()
    bad.data[0] = np.nan
    with pytest.raises(InvalidInput) as info:
        SparseMLP().fit(bad, y)
    assert info.value.code == "non_finite_input"
    model = SparseMLP(hidden_units=4, epochs=1, random_state=0).fit(X, y)
    with pytest.raises(InvalidInput) as info:
        model.predict(X[:, :10])
    assert info.value.code == "feature_mismatch"


def test_sparse_mlp_predict_before_fit_raises_not_fitted():
    X, _ = _toy()
    with pytest.raises(NotFitted) as info:
        SparseMLP().predict_proba(X)
    assert info.value.code == "not_fitted"
    with pytest.raises(NotFitted):
        SparseMLP().to_state()


def test_sparse_mlp_state_round_trip_gives_identical_probabilities():
    X, y = _toy()
    model = SparseMLP(hidden_units=8, epochs=3, random_state=0).fit(X, y)
    arrays, meta = model.to_state()
    # the npz + JSON path of baryon.ml.persistence: no pickle, JSON metadata
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as npz:
        loaded = {name: npz[name] for name in npz.files}
    again = SparseMLP.from_state(loaded, json.loads(json.dumps(meta)))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    assert list(again.classes_) == list(model.classes_)
    assert again.get_params() == model.get_params()
