"""Tests of baryon.ml.transformer (the real all-MiniLM-L6-v2 encoder, tiny data).

One model is fine-tuned per module (``fitted``) and shared. Every fit uses one torch
thread: on the shared 2-core machine, two threads contend with other processes and
run ~20× slower.
"""

from __future__ import annotations

import subprocess
import sys
from types import MappingProxyType

import numpy as np
import pytest

from baryon.core.errors import IntegrityError, InvalidInput, MissingDependency
from baryon.ml import encoders
from baryon.ml._validation import NotFitted
from baryon.ml.kinds import make_estimator
from baryon.ml.persistence import FORMAT_NPZ, dump_model, load_model
from baryon.ml.transformer import TransformerClassifier, _bucketed_batches, _linear_schedule

pytest.importorskip("torch")

KIND = "transformer_classifier"
_WORDS = {
    "food": ["pizza", "pasta", "bread", "cheese", "soup"],
    "sport": ["football", "tennis", "goal", "match", "team"],
    "tech": ["laptop", "software", "computer", "phone", "code"],
}
_HELD_OUT = [
    ("fresh bread with warm soup", "food"),
    ("we ate cheese and pasta", "food"),
    ("a late goal won the match", "sport"),
    ("the tennis team trains daily", "sport"),
    ("my laptop runs new software", "tech"),
    ("write code on the computer", "tech"),
]


def _toy(n_per_class: int = 20) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for label, words in _WORDS.items():
        for i in range(n_per_class):
            texts.append(f"I like the {words[i % 5]} and the {words[(i + 2) % 5]}")
            labels.append(label)
    return texts, labels


def _tiny(**params: object) -> TransformerClassifier:
    """A seconds-long fit on 12 texts with two integer classes, no TF-IDF part."""
    texts, labels = _toy(6)
    texts, labels = texts[:12], [0 if label == "food" else 1 for label in labels[:12]]
    settings = {
        "epochs": 1,
        "max_length": 8,
        "batch_size": 4,
        "tfidf_weight": 0.0,
        "random_state": 0,
        "n_threads": 1,
    }
    settings.update(params)
    return TransformerClassifier(**settings).fit(texts, labels)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def fitted() -> TransformerClassifier:
    texts, labels = _toy()
    model = TransformerClassifier(
        epochs=2,
        max_length=16,
        batch_size=8,
        learning_rate=1.5e-4,
        random_state=0,
        n_threads=1,
    )
    return model.fit(texts, labels)


# ------------------------------------------------------------------ learning
def test_transformer_classifier_toy_task_held_out_texts_are_classified(fitted):
    texts = [t for t, _ in _HELD_OUT]
    expected = [label for _, label in _HELD_OUT]
    assert fitted.predict(texts).tolist() == expected
    assert fitted.loss_curve_.shape == (2,)
    assert fitted.loss_curve_[1] < fitted.loss_curve_[0]


def test_transformer_classifier_transformer_part_alone_learns_toy_task(fitted):
    texts = [t for t, _ in _HELD_OUT]
    blended = fitted.predict_proba(texts)
    tfidf = fitted.tfidf_.predict_proba(texts)
    transformer = (blended - 0.5 * tfidf) / 0.5  # the blend is (1 - w) p_t + w p_tfidf
    assert np.all(transformer > -1e-9)
    np.testing.assert_allclose(transformer.sum(axis=1), 1.0)
    predicted = fitted.classes_[np.argmax(transformer, axis=1)].tolist()
    assert sum(p == label for p, (_, label) in zip(predicted, _HELD_OUT, strict=True)) >= 5


def test_transformer_classifier_predict_proba_columns_follow_classes(fitted):
    proba = fitted.predict_proba(["pizza and pasta", "tennis match", "phone software"])
    assert fitted.classes_.tolist() == ["food", "sport", "tech"]
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.argmax(proba, axis=1).tolist() == [0, 1, 2]


def test_transformer_classifier_learned_attributes(fitted):
    assert fitted.encoder_version_ == encoders.encoder_version("all-MiniLM-L6-v2")
    assert 22_000_000 < fitted.n_parameters_ < 23_500_000
    assert not fitted.model_.training


def test_transformer_classifier_predict_keeps_input_order_across_lengths(fitted):
    texts = ["soup", "a very long sentence about the football team and its match", "code"]
    one_by_one = np.vstack([fitted.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(fitted.predict_proba(texts), one_by_one, atol=1e-5)


def test_transformer_classifier_empty_input_gives_no_rows(fitted):
    assert fitted.predict_proba([]).shape == (0, 3)


# ------------------------------------------------------- tf-idf off, determinism
def test_transformer_classifier_tfidf_weight_zero_fits_no_tfidf_and_is_deterministic():
    first, second, other = _tiny(), _tiny(), _tiny(random_state=1)
    texts = ["pizza with cheese", "a goal in the match"]
    assert first.tfidf_ is None
    assert first.classes_.tolist() == [0, 1]
    np.testing.assert_array_equal(first.predict_proba(texts), second.predict_proba(texts))
    np.testing.assert_array_equal(first.loss_curve_, second.loss_curve_)
    assert not np.array_equal(first.predict_proba(texts), other.predict_proba(texts))


def test_transformer_classifier_bf16_with_frozen_layers_trains_only_the_top():
    import torch
    from transformers import AutoModel

    model = _tiny(precision="bf16", freeze_layers=6)
    base = AutoModel.from_pretrained(
        encoders.encoder_path("all-MiniLM-L6-v2"), local_files_only=True
    )
    tuned = model.model_.base_model
    assert torch.equal(
        tuned.embeddings.word_embeddings.weight, base.embeddings.word_embeddings.weight
    )
    assert torch.equal(
        tuned.encoder.layer[5].output.dense.weight, base.encoder.layer[5].output.dense.weight
    )
    assert not torch.equal(tuned.pooler.dense.weight, base.pooler.dense.weight)
    proba = model.predict_proba(["bread", "tennis"])
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_transformer_classifier_n_threads_is_restored_after_fit():
    import torch

    before = torch.get_num_threads()
    _tiny(n_threads=1 if before != 1 else 2, epochs=1)
    assert torch.get_num_threads() == before


# --------------------------------------------------------------- persistence
def test_transformer_classifier_dump_load_round_trip_same_probabilities(fitted):
    texts = [t for t, _ in _HELD_OUT]
    payload, manifest = dump_model(fitted, kind=KIND)
    assert manifest["format"] == FORMAT_NPZ
    loaded = load_model(payload, manifest)
    assert type(loaded) is TransformerClassifier
    assert loaded.get_params() == fitted.get_params()
    assert loaded.classes_.tolist() == fitted.classes_.tolist()
    assert loaded.tfidf_ is not None
    np.testing.assert_allclose(loaded.predict_proba(texts), fitted.predict_proba(texts), atol=1e-6)
    np.testing.assert_array_equal(loaded.loss_curve_, fitted.loss_curve_)


def test_transformer_classifier_round_trip_without_tfidf_keeps_integer_classes():
    model = _tiny()
    loaded = load_model(*dump_model(model, kind=KIND))
    assert loaded.tfidf_ is None
    assert loaded.classes_.dtype.kind == "i"
    assert loaded.predict(["pizza"]).tolist() == model.predict(["pizza"]).tolist()


def test_transformer_classifier_load_with_other_encoder_version_is_refused(fitted, monkeypatch):
    payload, manifest = dump_model(fitted, kind=KIND)
    saved = fitted.encoder_version_
    monkeypatch.setattr(encoders, "encoder_version", lambda name: "99.0.0")
    with pytest.raises(IntegrityError) as info:
        load_model(payload, manifest)
    assert info.value.code == "encoder_mismatch"
    assert saved in info.value.message
    assert "99.0.0" in info.value.message


def test_transformer_classifier_to_state_before_fit_raises_not_fitted():
    with pytest.raises(NotFitted):
        TransformerClassifier().to_state()


# ---------------------------------------------------------------- bad input
def test_transformer_classifier_unknown_encoder_is_refused_before_any_work():
    with pytest.raises(InvalidInput) as info:
        make_estimator(KIND, encoder="bert-huge")
    assert info.value.code == "unknown_encoder"
    with pytest.raises(InvalidInput) as info:
        TransformerClassifier(encoder="bert-huge").fit(*_toy(2))
    assert info.value.code == "unknown_encoder"


def test_transformer_classifier_without_torch_raises_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # "import torch" now fails
    with pytest.raises(MissingDependency) as info:
        TransformerClassifier(tfidf_weight=0.0).fit(*_toy(2))
    assert "baryon[nlp]" in info.value.message


def test_transformer_classifier_fitted_model_without_torch_raises_missing_dependency(
    fitted, monkeypatch
):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependency):
        fitted.predict_proba(["pizza"])


def test_transformer_classifier_encoder_package_missing_raises_missing_dependency(monkeypatch):
    spec = encoders.EncoderSpec("all-MiniLM-L6-v2", "no_such_pkg_xyz", "no-such-pkg", "m", 384)
    monkeypatch.setattr(encoders, "ENCODERS", MappingProxyType({spec.name: spec}))
    with pytest.raises(MissingDependency) as info:
        TransformerClassifier(tfidf_weight=0.0).fit(*_toy(2))
    assert info.value.details["encoder"] == "all-MiniLM-L6-v2"


@pytest.mark.parametrize(
    "params",
    [
        {"epochs": 0},
        {"learning_rate": 0},
        {"learning_rate": -1e-5},
        {"precision": "x"},
        {"tfidf_weight": 1.5},
        {"freeze_layers": -1},
        {"max_length": 1},
        {"warmup": 1.0},
        {"n_threads": 0},
        {"tfidf_params": {"preprocess": "web"}},
        {"tfidf_params": {"no_such_param": 1}},
        {"tfidf_params": {"C": -1.0}},
    ],
)
def test_transformer_classifier_bad_param_is_invalid_param(params):
    with pytest.raises(InvalidInput) as info:
        TransformerClassifier(**params).fit(*_toy(2))
    assert info.value.code == "invalid_param"


def test_transformer_classifier_freeze_more_layers_than_the_encoder_has_is_invalid_param():
    with pytest.raises(InvalidInput) as info:
        _tiny(freeze_layers=7)
    assert info.value.code == "invalid_param"
    assert "6 layers" in info.value.message


def test_transformer_classifier_predict_before_fit_raises_not_fitted():
    with pytest.raises(NotFitted):
        TransformerClassifier().predict(["pizza"])


@pytest.mark.parametrize("X", ["one text", None, [1, 2], ["ok", b"bytes"]])
def test_transformer_classifier_x_not_a_list_of_str_is_invalid_input(X):
    with pytest.raises(InvalidInput) as info:
        TransformerClassifier().fit(X, ["a", "b"])
    assert info.value.code == "invalid_input"


def test_transformer_classifier_predict_x_not_a_list_of_str_is_invalid_input(fitted):
    with pytest.raises(InvalidInput) as info:
        fitted.predict("pizza")
    assert info.value.code == "invalid_input"


@pytest.mark.parametrize(
    ("y", "code"),
    [
        (["a", "a", "a", "a"], "too_few_classes"),
        (["a", None, "b", "b"], "missing_target"),
        ([1.0, np.nan, 0.0, 1.0], "missing_target"),
        (["a", "b"], "invalid_input"),
        (np.array(["a", 1, "b", 2], dtype=object), "invalid_input"),
    ],
)
def test_transformer_classifier_bad_labels(y, code):
    with pytest.raises(InvalidInput) as info:
        TransformerClassifier().fit(["w x", "y z", "a b", "c d"], y)
    assert info.value.code == code


# ------------------------------------------------------------------- helpers
def test_bucketed_batches_cover_every_row_once_with_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 60, size=1000)
    batches = _bucketed_batches(lengths, 8, rng)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    assert all(len(b) <= 8 for b in batches)
    spread = np.mean([np.ptp(lengths[b]) for b in batches])
    assert spread < 5  # random batches of 8 from U(2, 60) spread ~40 tokens


def test_linear_schedule_warms_up_then_decays_to_zero():
    factor = _linear_schedule(100, 0.1)
    assert factor(0) == 0.0
    assert factor(5) == pytest.approx(0.5)
    assert factor(10) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.5)
    assert factor(100) == 0.0


def test_importing_transformer_module_does_not_import_torch():
    code = (
        "import sys, baryon.ml.transformer; "
        "print([m for m in ('torch', 'transformers') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
