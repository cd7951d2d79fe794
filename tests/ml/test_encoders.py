"""Pretrained encoders (the ``nlp`` extra) and ``text_classifier(embeddings=...)``."""

from __future__ import annotations

import numpy as np
import pytest

from baryon.core.errors import IntegrityError, InvalidInput, MissingDependency
from baryon.ml import encoders
from baryon.ml.encoders import (
    ENCODERS,
    EncoderSpec,
    encoder_path,
    encoder_version,
    sentence_embeddings,
)
from baryon.ml.persistence import dump_model, load_model
from baryon.ml.text import TextClassifier

ENCODER = "all-MiniLM-L6-v2"

TRAIN = [
    "my card has not arrived yet",
    "when will my new card be delivered",
    "the card you sent me never came",
    "still waiting for the card in the post",
    "how do I top up my account",
    "add money to my balance please",
    "can I load cash onto the account",
    "I want to put funds in my wallet",
]
LABELS = ["card_arrival"] * 4 + ["top_up"] * 4


def test_sentence_embeddings_shape_and_unit_length() -> None:
    vectors = sentence_embeddings(ENCODER, ["hello there", "my card is lost", "x"])
    assert vectors.shape == (3, ENCODERS[ENCODER].dimension)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_sentence_embeddings_similar_texts_are_closer_than_unrelated_ones() -> None:
    a, b, c = sentence_embeddings(
        ENCODER, ["my card never arrived", "the card did not come", "the weather is sunny"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_sentence_embeddings_empty_list_gives_empty_matrix() -> None:
    assert sentence_embeddings(ENCODER, []).shape == (0, 384)


def test_encoder_unknown_name_is_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        encoder_path("bert-huge")
    assert err.value.code == "unknown_encoder"
    with pytest.raises(InvalidInput):
        sentence_embeddings("bert-huge", ["x"])


def test_encoder_missing_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = EncoderSpec("ghost", "baryon_no_such_package", "no-such-dist", "model", 8)
    monkeypatch.setattr(encoders, "ENCODERS", {"ghost": fake})
    with pytest.raises(MissingDependency) as err:
        encoder_path("ghost")
    assert err.value.code == "missing_dependency"
    assert "baryon[nlp]" in str(err.value)
    with pytest.raises(MissingDependency):
        encoder_version("ghost")


def test_encoder_path_holds_the_model_files() -> None:
    folder = encoder_path(ENCODER)
    assert (folder / "config.json").is_file()
    assert (folder / "model.safetensors").is_file()
    assert encoder_version(ENCODER)


@pytest.fixture(scope="module")
def with_embeddings() -> TextClassifier:
    return TextClassifier(
        embeddings=ENCODER, char_min_df=1, cv=2, model="logistic", C=10.0, random_state=0
    ).fit(TRAIN, LABELS)


def test_text_classifier_embeddings_generalise_past_shared_words(
    with_embeddings: TextClassifier,
) -> None:
    # no n-gram of these texts says "card" or "top up": only meaning links them
    unseen = ["the plastic they mailed me is lost in delivery", "deposit some money"]
    assert with_embeddings.predict(unseen).tolist() == ["card_arrival", "top_up"]
    assert with_embeddings.embeddings_version_ == encoder_version(ENCODER)


def test_text_classifier_embeddings_round_trip(with_embeddings: TextClassifier) -> None:
    payload, manifest = dump_model(with_embeddings, kind="text_classifier")
    loaded = load_model(payload, manifest)
    texts = ["where is my card", "top up with a bank transfer"]
    np.testing.assert_allclose(
        loaded.predict_proba(texts), with_embeddings.predict_proba(texts), atol=1e-9
    )


def test_text_classifier_embeddings_other_encoder_version_is_refused(
    with_embeddings: TextClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encoders, "encoder_version", lambda name: "99.0")
    with pytest.raises(IntegrityError) as err:
        with_embeddings.predict(["where is my card"])
    assert err.value.code == "encoder_mismatch"
    assert "99.0" in str(err.value)


@pytest.mark.parametrize(
    ("param", "value"), [("embeddings", "bert-huge"), ("embeddings_weight", 0.0)]
)
def test_text_classifier_embeddings_bad_params(param: str, value: object) -> None:
    with pytest.raises(InvalidInput) as err:
        TextClassifier(**{param: value}, cv=2).fit(TRAIN, LABELS)  # type: ignore[arg-type]
    assert err.value.code == "invalid_param"


def test_sentence_embeddings_bf16_is_close_to_fp32() -> None:
    texts = ["my card has not arrived", "how do I top up"]
    fp32 = sentence_embeddings(ENCODER, texts)
    bf16 = sentence_embeddings(ENCODER, texts, precision="bf16")
    assert bf16.dtype == np.float32
    np.testing.assert_allclose(bf16, fp32, atol=0.01)
    with pytest.raises(InvalidInput) as err:
        sentence_embeddings(ENCODER, texts, precision="fp8")
    assert err.value.code == "invalid_param"


@pytest.mark.parametrize(
    ("precision", "native", "expected"),
    [("fp32", True, False), ("bf16", False, True), ("auto", True, True), ("auto", False, False)],
)
def test_bf16_enabled_auto_follows_the_cpu(
    precision: str, native: bool, expected: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, probe, lambda: native)
    assert encoders.bf16_enabled(precision) is expected
