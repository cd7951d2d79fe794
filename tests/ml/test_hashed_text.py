"""HashedTextClassifier: a softmax head on a fixed hashed feature space."""

from __future__ import annotations

import numpy as np
import pytest

from baryon.core.errors import InvalidInput
from baryon.ml.hashed_text import HashedTextClassifier, hashed_features, softmax_descent
from baryon.ml.kinds import task_of
from baryon.ml.persistence import dump_model, load_model

TEXTS = [
    "card lost",
    "card stolen",
    "my card blocked",
    "loan rate",
    "loan interest",
    "mortgage loan",
]
LABELS = ["card", "card", "card", "loan", "loan", "loan"]


def test_hashed_text_classifier_separates_two_intents() -> None:
    model = HashedTextClassifier(n_features=256, epochs=30, random_state=0).fit(TEXTS, LABELS)
    assert list(model.predict(["lost card", "interest on my loan"])) == ["card", "loan"]
    proba = model.predict_proba(["lost card"])
    assert proba.shape == (1, 2)
    assert proba.sum() == pytest.approx(1.0)
    assert task_of("hashed_text_classifier") == "text_classification"


def test_hashed_features_shape_does_not_depend_on_the_data() -> None:
    a = hashed_features(["one two"], n_features=64, ngram_range=(1, 2))
    b = hashed_features(["completely other words here"], n_features=64, ngram_range=(1, 2))
    assert a.shape == b.shape == (1, 64)


def test_hashed_text_classifier_round_trips_through_persistence() -> None:
    model = HashedTextClassifier(n_features=128, epochs=5, random_state=0).fit(TEXTS, LABELS)
    payload, manifest = dump_model(model, kind="hashed_text_classifier")
    loaded = load_model(payload, manifest)
    assert np.array_equal(loaded.coef_, model.coef_)
    assert list(loaded.predict(TEXTS)) == list(model.predict(TEXTS))


def test_hashed_text_classifier_single_class_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        HashedTextClassifier(n_features=64).fit(["a", "b"], ["x", "x"])
    assert caught.value.code == "single_class"


def test_hashed_text_classifier_bad_param_is_refused() -> None:
    with pytest.raises(InvalidInput):
        HashedTextClassifier(n_features=3).fit(TEXTS, LABELS)


def test_softmax_descent_proximal_term_pulls_towards_the_anchor() -> None:
    X = hashed_features(TEXTS, n_features=64, ngram_range=(1, 1))
    y = np.asarray([0, 0, 0, 1, 1, 1])
    W0, b0 = np.zeros((64, 2)), np.zeros(2)
    args = {"epochs": 20, "learning_rate": 2.0, "batch_size": 2, "alpha": 0.0}
    free, _ = softmax_descent(X, y, W0, b0, rng=np.random.default_rng(0), **args)
    held, _ = softmax_descent(
        X, y, W0, b0, rng=np.random.default_rng(0), anchor=(W0, b0), proximal_mu=0.4, **args
    )
    assert np.linalg.norm(held) < np.linalg.norm(free)
