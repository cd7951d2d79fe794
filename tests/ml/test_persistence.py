"""Tests of baryon.ml.persistence: round trips, tampering, versions, the type allow-list."""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn
import skops.io as sio

from baryon.core.errors import BaryonError, IntegrityError, InvalidInput
from baryon.ml._validation import NotFitted
from baryon.ml.kinds import make_estimator
from baryon.ml.persistence import (
    FORMAT_NPZ,
    FORMAT_SKOPS,
    TRUSTED_TYPES,
    _npz_payload,
    dump_model,
    load_model,
)


def _tabular() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "a": rng.normal(size=80),
            "b": rng.normal(size=80),
            "city": rng.choice(["oslo", "rome", "lima"], 80),
        }
    )
    labels = np.where(frame["a"] + (frame["city"] == "rome") > 0.2, "yes", "no")
    values = 2 * frame["a"].to_numpy() - frame["b"].to_numpy()
    return frame, labels, values


def _texts() -> tuple[list[str], np.ndarray]:
    words = {"up": ["rally", "jumps", "beats"], "down": ["falls", "misses", "slumps"]}
    texts, labels = [], []
    for label, verbs in words.items():
        for i in range(12):
            texts.append(f"$XYZ {verbs[i % 3]} on day {i}")
            labels.append(label)
    return texts, np.asarray(labels, dtype=object)


def _fitted(kind: str, params: dict[str, Any], target: str) -> tuple[Any, Any]:
    frame, labels, values = _tabular()
    if kind == "text_classifier":
        texts, text_labels = _texts()
        return make_estimator(kind, **params).fit(texts, text_labels), texts
    X = frame[["a", "b"]] if kind == "linear_regression_gd" else frame
    y = labels if target == "classes" else values
    return make_estimator(kind, **params).fit(X, y), X


_CASES = [
    ("linear_regression_gd", {"max_iter": 200}, "values", FORMAT_NPZ),
    ("linear_regression", {}, "values", FORMAT_SKOPS),
    ("decision_tree", {"random_state": 0}, "classes", FORMAT_SKOPS),
    ("decision_tree", {"random_state": 0}, "values", FORMAT_SKOPS),
    ("gradient_boosting", {"max_iter": 10, "random_state": 0}, "classes", FORMAT_SKOPS),
    ("gradient_boosting", {"max_iter": 10, "random_state": 0}, "values", FORMAT_SKOPS),
    ("mlp", {"max_iter": 20, "random_state": 0}, "classes", FORMAT_SKOPS),
    ("mlp", {"max_iter": 20, "random_state": 0}, "values", FORMAT_SKOPS),
    ("text_classifier", {"random_state": 0}, "classes", FORMAT_SKOPS),
    ("text_classifier", {"calibration": "sigmoid", "cv": 3}, "classes", FORMAT_SKOPS),
    ("text_classifier", {"model": "logistic", "calibration": None}, "classes", FORMAT_SKOPS),
]


@pytest.mark.parametrize(("kind", "params", "target", "fmt"), _CASES)
def test_round_trip_predicts_the_same(kind, params, target, fmt):
    model, X = _fitted(kind, params, target)
    payload, manifest = dump_model(model, kind=kind, extra={"run_id": "run_1"})
    manifest = json.loads(json.dumps(manifest))  # as stored
    assert manifest["format"] == fmt
    loaded = load_model(payload, manifest)
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    if hasattr(model, "predict_proba"):
        np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=1e-12)
    assert loaded.get_params() == model.get_params()


@pytest.mark.parametrize(
    ("kind", "params"),
    [("cf_seed", {}), ("popularity", {}), ("itemknn_cosine", {}), ("als", {"factors": 2})],
)
def test_round_trip_recommenders_through_npz(kind, params):
    interactions = pd.DataFrame(
        {
            "user": [1, 1, 2, 2, 3, 3, 4],
            "item": ["a", "b", "a", "c", "b", "c", "a"],
            "rating": [5.0, 4.0, 3.0, 5.0, 2.0, 4.0, 5.0],
        }
    )
    model = make_estimator(kind, **params).fit(interactions)
    payload, manifest = dump_model(model, kind=kind)
    assert manifest["format"] == FORMAT_NPZ
    loaded = load_model(payload, json.loads(json.dumps(manifest)))
    ids, scores = model.recommend([1, 3, "stranger"], n=3)
    ids2, scores2 = loaded.recommend([1, 3, "stranger"], n=3)
    np.testing.assert_array_equal(ids2, ids)
    np.testing.assert_allclose(scores2, scores, equal_nan=True)


def test_manifest_records_versions_params_digest_and_extra():
    model, _ = _fitted("decision_tree", {"max_depth": 3}, "classes")
    payload, manifest = dump_model(model, kind="decision_tree", extra={"dataset": "dsv_1"})
    assert manifest["kind"] == "decision_tree"
    assert manifest["class"] == "baryon.ml.tree.DecisionTree"
    assert manifest["params"]["max_depth"] == 3
    assert manifest["sha256"] == hashlib.sha256(payload).hexdigest()
    assert manifest["size_bytes"] == len(payload)
    assert set(manifest["library_versions"]) == {
        "python",
        "numpy",
        "scipy",
        "sklearn",
        "skops",
        "baryon",
    }
    assert manifest["library_versions"]["sklearn"] == sklearn.__version__
    assert manifest["extra"] == {"dataset": "dsv_1"}
    assert set(manifest["trusted_types"]) <= TRUSTED_TYPES
    json.dumps(manifest, allow_nan=False)


def test_npz_payload_is_deterministic():
    model, _ = _fitted("linear_regression_gd", {}, "values")
    first, _ = dump_model(model, kind="linear_regression_gd")
    second, _ = dump_model(model, kind="linear_regression_gd")
    assert first == second
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert sorted(zf.namelist()) == ["arrays.npz", "meta.json"]


@pytest.mark.parametrize(
    ("kind", "target"), [("linear_regression_gd", "values"), ("mlp", "classes")]
)
def test_flipped_byte_is_refused(kind, target):
    model, _ = _fitted(kind, {"max_iter": 5}, target)
    payload, manifest = dump_model(model, kind=kind)
    tampered = bytearray(payload)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises(IntegrityError) as info:
        load_model(bytes(tampered), manifest)
    assert info.value.code == "integrity_error"
    assert "sha256" in info.value.message


def test_other_sklearn_minor_is_refused_naming_both_versions():
    model, X = _fitted("decision_tree", {}, "classes")
    payload, manifest = dump_model(model, kind="decision_tree")
    manifest["library_versions"]["sklearn"] = "1.0.2"
    with pytest.raises(IntegrityError) as info:
        load_model(payload, manifest)
    assert info.value.code == "version_mismatch"
    assert "1.0.2" in info.value.message
    assert sklearn.__version__ in info.value.message
    loaded = load_model(payload, manifest, allow_version_mismatch=True)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_same_sklearn_minor_other_patch_loads():
    model, _ = _fitted("linear_regression_gd", {}, "values")
    payload, manifest = dump_model(model, kind="linear_regression_gd")
    major, minor = sklearn.__version__.split(".")[:2]
    manifest["library_versions"]["sklearn"] = f"{major}.{minor}.99"
    load_model(payload, manifest)


def _forged(payload: bytes, kind: str = "decision_tree", **fields: Any) -> dict[str, Any]:
    manifest = {
        "format": FORMAT_SKOPS,
        "kind": kind,
        "class": "baryon.ml.tree.DecisionTree",
        "sha256": hashlib.sha256(payload).hexdigest(),
        "library_versions": {"sklearn": sklearn.__version__},
    }
    manifest.update(fields)
    return manifest


def test_skops_payload_with_untrusted_type_is_refused_before_loading():
    evil = sio.dumps({"run": os.system})
    types = sio.get_untrusted_types(data=evil)
    assert types  # skops itself does not trust os.system
    with pytest.raises(IntegrityError) as info:
        load_model(evil, _forged(evil, trusted_types=types))
    assert info.value.code == "untrusted_type"
    assert info.value.details["types"] == sorted(types)


def test_skops_payload_with_types_its_manifest_does_not_list_is_refused():
    model, _ = _fitted("decision_tree", {}, "classes")
    payload, manifest = dump_model(model, kind="decision_tree")
    manifest["trusted_types"] = []
    with pytest.raises(IntegrityError) as info:
        load_model(payload, manifest)
    assert info.value.code == "bad_manifest"


def test_manifest_pairing_a_kind_with_another_class_is_refused():
    model, _ = _fitted("decision_tree", {}, "classes")
    payload, manifest = dump_model(model, kind="decision_tree")
    manifest["class"] = "os.system"
    with pytest.raises(IntegrityError) as info:
        load_model(payload, manifest)
    assert info.value.code == "bad_manifest"


def test_payload_of_another_kind_is_refused():
    model, _ = _fitted("gradient_boosting", {"max_iter": 3}, "classes")
    payload, _ = dump_model(model, kind="gradient_boosting")
    manifest = _forged(
        payload,
        trusted_types=sio.get_untrusted_types(data=payload),
    )
    with pytest.raises(IntegrityError) as info:
        load_model(payload, manifest)
    assert info.value.code == "bad_manifest"


@pytest.mark.parametrize("missing", ["sha256", "kind", "format", "library_versions"])
def test_incomplete_manifest_is_refused(missing):
    model, _ = _fitted("linear_regression_gd", {}, "values")
    payload, manifest = dump_model(model, kind="linear_regression_gd")
    del manifest[missing]
    with pytest.raises(IntegrityError) as info:
        load_model(payload, manifest)
    assert info.value.code == "bad_manifest"


def test_unknown_format_is_refused():
    model, _ = _fitted("linear_regression_gd", {}, "values")
    payload, manifest = dump_model(model, kind="linear_regression_gd")
    manifest["format"] = "pickle"
    with pytest.raises(IntegrityError) as info:
        load_model(payload, manifest)
    assert info.value.code == "bad_manifest"


@pytest.mark.parametrize("fmt", [FORMAT_NPZ, FORMAT_SKOPS])
def test_garbage_with_matching_digest_is_corrupt_model(fmt):
    garbage = b"this is not a model"
    manifest = _forged(garbage, format=fmt, trusted_types=[])
    if fmt == FORMAT_NPZ:
        manifest.update(
            kind="linear_regression_gd", **{"class": "baryon.ml.linear.LinearRegressionGD"}
        )
    with pytest.raises(IntegrityError) as info:
        load_model(garbage, manifest)
    assert info.value.code == "corrupt_model"


def test_npz_with_pickled_object_array_is_refused():
    model, _ = _fitted("linear_regression_gd", {}, "values")
    payload, manifest = dump_model(model, kind="linear_regression_gd")
    with zipfile.ZipFile(io.BytesIO(payload)) as zf:
        meta = zf.read("meta.json")
    arrays = io.BytesIO()
    np.savez(arrays, coef=np.array([object()], dtype=object), allow_pickle=True)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("meta.json", meta)
        zf.writestr("arrays.npz", arrays.getvalue())
    evil = out.getvalue()
    manifest["sha256"] = hashlib.sha256(evil).hexdigest()
    with pytest.raises(IntegrityError) as info:
        load_model(evil, manifest)
    assert info.value.code == "corrupt_model"


def test_state_with_object_array_cannot_be_saved():
    with pytest.raises(BaryonError) as info:
        _npz_payload({"ids": np.array(["a", 1], dtype=object)}, {})
    assert info.value.code == "unserializable_state"


def test_dump_refuses_wrong_kind_unfitted_and_unknown_kind():
    model, _ = _fitted("decision_tree", {}, "classes")
    with pytest.raises(InvalidInput) as info:
        dump_model(model, kind="mlp")
    assert info.value.code == "kind_mismatch"
    with pytest.raises(InvalidInput) as info:
        dump_model(model, kind="forest")
    assert info.value.code == "unknown_kind"
    with pytest.raises(NotFitted):
        dump_model(make_estimator("decision_tree"), kind="decision_tree")
    with pytest.raises(NotFitted):
        dump_model(make_estimator("linear_regression_gd"), kind="linear_regression_gd")


# ------------------------------------------------------------ external models
def _external_lr() -> tuple[bytes, Any]:
    from sklearn.linear_model import LogisticRegression

    frame, labels, _ = _tabular()
    est = LogisticRegression().fit(frame[["a", "b"]], labels)
    return sio.dumps(est), est


def test_read_external_model_round_trips_through_load_model() -> None:
    from baryon.ml.persistence import EXTERNAL_KIND, read_external_model

    payload, est = _external_lr()
    loaded, manifest = read_external_model(payload, max_bytes=len(payload))
    assert (manifest["kind"], manifest["format"]) == (EXTERNAL_KIND, FORMAT_SKOPS)
    assert manifest["class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert manifest["sha256"] == hashlib.sha256(payload).hexdigest()
    again = load_model(payload, json.loads(json.dumps(manifest)))
    frame, _, _ = _tabular()
    np.testing.assert_array_equal(
        again.predict_proba(frame[["a", "b"]]), est.predict_proba(frame[["a", "b"]])
    )
    assert type(loaded) is type(again)


def test_load_external_model_with_other_class_in_manifest_refused() -> None:
    from baryon.ml.persistence import read_external_model

    payload, _ = _external_lr()
    _, manifest = read_external_model(payload, max_bytes=len(payload))
    manifest["class"] = "sklearn.linear_model._base.LinearRegression"
    with pytest.raises(IntegrityError) as info:
        load_model(payload, manifest)
    assert info.value.code == "bad_manifest"


def test_read_external_model_over_cap_refused_before_parsing() -> None:
    from baryon.core.errors import PayloadTooLarge
    from baryon.ml.persistence import read_external_model

    with pytest.raises(PayloadTooLarge) as info:
        read_external_model(b"\x80" * 11, max_bytes=10)
    assert info.value.code == "model_file_too_large"
