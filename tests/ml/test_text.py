"""Tests of baryon.ml.text: the TF-IDF text classifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from baryon.core.errors import InvalidInput
from baryon.ml._validation import NotFitted
from baryon.ml.text import TextClassifier, preprocess_text

_TEMPLATES = {
    "card": ["my card has not arrived", "where is my new card", "card delivery is late"],
    "refund": ["i want my money back", "please refund the payment", "refund for a double charge"],
    "pin": ["i forgot my pin", "how do i change my pin", "my pin is blocked"],
}


@pytest.fixture
def intents() -> tuple[list[str], np.ndarray]:
    """30 short support messages in 3 intents (10 each), with light variation."""
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for label, templates in _TEMPLATES.items():
        for i in range(10):
            suffix = rng.choice(["", " please", " today", " asap", " thanks"])
            texts.append(f"{templates[i % 3]}{suffix}")
            labels.append(label)
    return texts, np.asarray(labels, dtype=object)


def test_text_classifier_learns_intents_with_probabilities(intents):
    texts, labels = intents
    model = TextClassifier(random_state=0).fit(texts, labels)
    assert list(model.classes_) == ["card", "pin", "refund"]
    queries = ["has my card arrived yet", "give me a refund", "pin blocked again"]
    assert list(model.predict(queries)) == ["card", "refund", "pin"]
    proba = model.predict_proba(queries)
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.max(axis=1) > 1 / 3).all()
    assert model.n_features_ > 0


@pytest.mark.parametrize(
    "params",
    [
        {"model": "logistic", "calibration": None, "C": 10.0},
        {"model": "logistic", "calibration": "temperature"},
        {"calibration": "sigmoid"},
        {"calibration": "isotonic"},
        {"class_weight": "balanced", "cv": 2},
    ],
)
def test_text_classifier_variants_fit_and_agree_on_easy_queries(intents, params):
    texts, labels = intents
    model = TextClassifier(random_state=0, **params).fit(texts, labels)
    assert model.predict(["refund the payment"])[0] == "refund"


def test_text_classifier_same_seed_same_probabilities(intents):
    texts, labels = intents
    a = TextClassifier(random_state=1).fit(texts, labels).predict_proba(texts)
    b = TextClassifier(random_state=1).fit(texts, labels).predict_proba(texts)
    np.testing.assert_array_equal(a, b)


def test_text_classifier_binary_labels_and_pandas_input(intents):
    texts, labels = intents
    keep = labels != "pin"
    series = pd.Series(np.asarray(texts, dtype=object)[keep])
    model = TextClassifier(random_state=0).fit(series, pd.Series(labels[keep]))
    assert model.predict_proba(series).shape == (20, 2)


def test_preprocess_web_removes_urls_and_decodes_entities():
    text = "Apple &amp; Tesla rally https://t.co/abc123 today"
    assert preprocess_text(text, "web") == "Apple & Tesla rally today"
    assert preprocess_text(text, None) == text


def test_finance_preprocess_keeps_cashtags_as_their_own_features():
    model = TextClassifier(preprocess="finance", cv=2, random_state=0)
    texts = ["$TSLA jumps", "tsla jumps", "$AAPL falls", "aapl falls"] * 2
    model.fit(texts, ["up", "up", "down", "down"] * 2)
    vocabulary = model.vectorizer_.transformer_list[0][1].vocabulary_
    assert "$tsla" in vocabulary
    assert "tsla" in vocabulary
    plain = TextClassifier(cv=2).fit(texts, ["up", "up", "down", "down"] * 2)
    assert "$tsla" not in plain.vectorizer_.transformer_list[0][1].vocabulary_


def test_text_classifier_class_below_cv_raises_too_few_per_class(intents):
    texts, labels = intents
    texts, labels = [*texts, "odd one"], np.append(labels, "rare")
    with pytest.raises(InvalidInput) as info:
        TextClassifier(cv=5).fit(texts, labels)
    assert info.value.code == "too_few_per_class"
    assert info.value.details["class"] == "rare"


def test_text_classifier_single_class_raises():
    with pytest.raises(InvalidInput) as info:
        TextClassifier().fit(["a b", "c d"], ["x", "x"])
    assert info.value.code == "too_few_classes"


@pytest.mark.parametrize(
    ("X", "code"),
    [("just one string", "invalid_input"), (["fine", 3], "invalid_input"), (None, "invalid_input")],
)
def test_text_classifier_non_text_input_raises(X, code):
    with pytest.raises(InvalidInput) as info:
        TextClassifier().fit(X, ["a", "b"])
    assert info.value.code == code


def test_text_classifier_missing_label_raises():
    with pytest.raises(InvalidInput) as info:
        TextClassifier().fit(["a", "b"], ["x", None])
    assert info.value.code == "missing_target"


def test_text_classifier_only_stop_characters_is_empty_vocabulary():
    with pytest.raises(InvalidInput) as info:
        TextClassifier(cv=2, char_min_df=50).fit(["!", "?", "!", "?"], ["a", "b", "a", "b"])
    assert info.value.code == "empty_vocabulary"


@pytest.mark.parametrize(
    "params",
    [
        {"C": 0},
        {"model": "bayes"},
        {"word_ngram_range": (2, 1)},
        {"char_ngram_range": (0, 3)},
        {"calibration": None},  # an SVM has no probabilities of its own
        {"preprocess": "html"},
        {"cv": 1},
    ],
)
def test_text_classifier_bad_params_raise_invalid_param(intents, params):
    texts, labels = intents
    with pytest.raises(InvalidInput) as info:
        TextClassifier(**params).fit(texts, labels)
    assert info.value.code == "invalid_param"


def test_text_classifier_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFitted):
        TextClassifier().predict(["hello"])


def test_text_classifier_clone_keeps_params_and_drops_fit(intents):
    texts, labels = intents
    model = TextClassifier(C=0.5, preprocess="web").fit(texts, labels)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "model_")


@pytest.mark.slow
def test_text_classifier_banking77_sized_synthetic_data_fits_and_round_trips():
    """77 intents × 130 texts (Banking77's size), built from per-intent vocabularies."""
    from baryon.ml.persistence import dump_model, load_model

    rng = np.random.default_rng(7)
    shared = [f"w{i}" for i in range(400)]
    texts, labels = [], []
    for intent in range(77):
        own = [f"i{intent}k{j}" for j in range(6)]
        for _ in range(130):
            words = [*rng.choice(shared, 6), *rng.choice(own, 2)]
            rng.shuffle(words)
            texts.append(" ".join(words))
            labels.append(f"intent_{intent}")
    y = np.asarray(labels, dtype=object)
    order = rng.permutation(len(texts))
    train, test = order[:8000], order[8000:]
    model = TextClassifier(random_state=0).fit([texts[i] for i in train], y[train])
    held_out = [texts[i] for i in test]
    assert np.mean(model.predict(held_out) == y[test]) > 0.95
    payload, manifest = dump_model(model, kind="text_classifier")
    again = load_model(payload, manifest)
    np.testing.assert_array_equal(again.predict(held_out), model.predict(held_out))


def test_pack_terms_round_trip_with_unicode_and_spaces():
    from baryon.ml.text import _pack_terms, _unpack_terms

    vocabulary = {" ca": 2, "café": 0, "$tsla": 1, "€ 5": 3}
    blob, ends = _pack_terms(vocabulary)
    assert blob.dtype == np.uint8
    assert _unpack_terms(blob, ends) == vocabulary
    assert _unpack_terms(*_pack_terms({})) == {}


def test_saving_packs_vocabularies_without_touching_the_model(intents):
    from baryon.ml.persistence import dump_model, load_model

    texts, labels = intents
    model = TextClassifier(random_state=0).fit(texts, labels)
    vocabularies = [dict(v.vocabulary_) for _, v in model.vectorizer_.transformer_list]
    payload, manifest = dump_model(model, kind="text_classifier")
    dump_model(model, kind="text_classifier")  # a second save sees the same model
    assert [v.vocabulary_ for _, v in model.vectorizer_.transformer_list] == vocabularies
    assert "_packed_vocabularies" not in vars(model)
    loaded = load_model(payload, manifest)
    assert [v.vocabulary_ for _, v in loaded.vectorizer_.transformer_list] == vocabularies
    assert "_packed_vocabularies" not in vars(loaded)


# ---------------------------------------------------------------- model="mlp"
_MLP = {"model": "mlp", "hidden_units": 16, "epochs": 40, "learning_rate": 1e-2, "batch_size": 8}


def test_text_classifier_mlp_learns_intents_with_calibrated_probabilities(intents):
    texts, labels = intents
    model = TextClassifier(random_state=0, calibration_size=0.3, **_MLP).fit(
        texts * 2, labels.tolist() * 2
    )
    queries = ["has my card arrived yet", "give me a refund", "pin blocked again"]
    assert list(model.predict(queries)) == ["card", "refund", "pin"]
    proba = model.predict_proba(queries)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == ["card", "pin", "refund"]


def test_text_classifier_mlp_without_calibration_uses_the_network(intents):
    texts, labels = intents
    model = TextClassifier(random_state=0, calibration=None, **_MLP).fit(texts, labels)
    assert type(model.model_).__name__ == "SparseMLP"
    assert model.predict(["refund the payment"])[0] == "refund"


def test_text_classifier_mlp_is_deterministic_with_a_seed(intents):
    texts, labels = intents
    one = TextClassifier(random_state=5, **_MLP).fit(texts, labels)
    two = TextClassifier(random_state=5, **_MLP).fit(texts, labels)
    np.testing.assert_array_equal(one.predict_proba(texts), two.predict_proba(texts))


@pytest.mark.parametrize(
    "params",
    [
        {"model": "mlp", "hidden_units": 0},
        {"model": "mlp", "epochs": 0},
        {"model": "mlp", "learning_rate": 0.0},
        {"model": "mlp", "batch_size": 0},
        {"model": "mlp", "calibration_size": 1.0},
        {"model": "perceptron"},
    ],
)
def test_text_classifier_mlp_bad_params_raise_invalid_param(intents, params):
    texts, labels = intents
    with pytest.raises(InvalidInput) as info:
        TextClassifier(**params).fit(texts, labels)
    assert info.value.code == "invalid_param"


def test_text_classifier_mlp_persistence_round_trip_identical_probabilities(intents):
    import json

    from baryon.ml.persistence import dump_model, load_model

    texts, labels = intents
    model = TextClassifier(random_state=0, **_MLP).fit(texts, labels)
    payload, manifest = dump_model(model, kind="text_classifier")
    assert "baryon.ml.sparse_mlp.SparseMLP" in manifest["trusted_types"]
    again = load_model(payload, json.loads(json.dumps(manifest)))
    np.testing.assert_array_equal(again.predict_proba(texts), model.predict_proba(texts))


def test_text_classifier_mlp_small_calibration_share_still_holds_out_every_class(intents):
    texts, labels = intents  # 30 texts, 3 classes: 5 % would be 2 texts
    model = TextClassifier(random_state=0, calibration_size=0.05, **_MLP).fit(texts, labels)
    assert model.predict(["refund the payment"])[0] == "refund"


def test_text_classifier_mlp_rare_class_is_held_out_for_calibration_too(intents):
    texts, labels = intents
    # 2 texts of a rare class among 40: a plain stratified 10 % split held none of
    # them out and the calibrator then raised IndexError (3 classes predicted, 2 seen)
    rare_texts = ["close my account today", "please close the account"]
    model = TextClassifier(random_state=0, **_MLP).fit(
        [*texts, *texts[:8], *rare_texts], [*labels, *labels[:8], "close", "close"]
    )
    proba = model.predict_proba(["close the account"])
    assert proba.shape == (1, 4)
    assert list(model.classes_) == sorted({*labels, "close"})
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
