"""Model persistence: data plus a manifest, never a pickle (DESIGN.md §4, STYLE.md §12).

Two payload formats, chosen by the estimator:

``baryon-npz``
    Estimators written in Baryon implement ``to_state() -> (arrays, meta)`` and
    ``from_state(arrays, meta)`` (contracts.md, "own-estimator persistence"). The
    payload is a zip archive with ``meta.json`` (the JSON metadata) and
    ``arrays.npz`` (the arrays, read back with ``allow_pickle=False``, so object
    arrays can neither be written nor read). Byte-for-byte deterministic.
``skops``
    scikit-learn objects (including Baryon's thin wrappers) go through
    ``skops.io``. At dump time the types skops does not trust by default are
    listed in the manifest; at load time every such type must be in the fixed
    allow-list :data:`TRUSTED_TYPES`, otherwise loading is refused. Nothing is ever
    loaded with ``trusted=True``.

Models trained elsewhere
------------------------
:func:`read_external_model` reads a skops file of a scikit-learn estimator fitted
outside Baryon ("bring your own model") under the **same** allow-list: a file that is
not a skops archive (a pickle, a joblib file, anything else), that holds a type outside
skops' defaults and :data:`TRUSTED_TYPES`, or that is not a fitted estimator is refused
before anything in it is built. Such a model is stored as the bytes it came in, with a
manifest of kind :data:`EXTERNAL_KIND` whose ``class`` is the estimator's own class;
:func:`load_model` loads it back under the same checks.

The manifest (a JSON-able dict) records ``format``, ``format_version``, ``kind``,
``class`` (``module.ClassName``), ``params``, ``library_versions`` (python, numpy,
scipy, sklearn, skops, baryon), ``sha256`` and ``size_bytes`` of the payload,
``trusted_types`` (skops only) and the caller's ``extra``.

:func:`load_model` refuses (``IntegrityError``) a payload whose SHA-256 differs from
the manifest, a manifest whose class is not its kind's, a type outside the
allow-list, or a payload that does not parse; and (code ``version_mismatch``) a
model saved under another scikit-learn major.minor unless explicitly allowed.
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
import re
import zipfile
from typing import Any

import numpy as np

from baryon.core.errors import BaryonError, IntegrityError, InvalidInput, PayloadTooLarge
from baryon.core.jsonvalues import to_jsonable
from baryon.ml.kinds import KINDS, Kind, estimator_class

__all__ = [
    "EXTERNAL_KIND",
    "FORMAT_NPZ",
    "FORMAT_SKOPS",
    "TRUSTED_TYPES",
    "dump_model",
    "library_versions",
    "load_model",
    "read_external_model",
]

FORMAT_NPZ = "baryon-npz"
FORMAT_SKOPS = "skops"
_FORMAT_VERSION = 1
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ARRAY_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
#: Kind of a scikit-learn estimator fitted outside Baryon (:func:`read_external_model`).
EXTERNAL_KIND = "external_sklearn"
#: An external skops archive may unpack to at most this many times its own size.
_MAX_UNPACK_RATIO = 20

#: Types a skops payload may contain beyond skops' own defaults. Exact names, no
#: prefixes: a new scikit-learn version that needs another type fails loudly (and
#: the round-trip tests name it) instead of widening trust silently.
TRUSTED_TYPES: frozenset[str] = frozenset(
    {
        # Baryon's scikit-learn wrappers
        "baryon.ml.linear.LinearRegression",
        "baryon.ml.neural.MLP",
        "baryon.ml.sparse_mlp.SparseMLP",
        "baryon.ml.text.TextClassifier",
        "baryon.ml.tree.DecisionTree",
        "baryon.ml.tree.GradientBoosting",
        # scikit-learn internals that skops does not trust by default
        "sklearn.calibration._CalibratedClassifier",
        "sklearn.calibration._SigmoidCalibration",
        "sklearn.calibration._TemperatureScaling",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.frozen._frozen.FrozenEstimator",
        "sklearn.model_selection._split.StratifiedKFold",
        "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
        "sklearn.tree._tree.Tree",
        # HistGradientBoosting keeps partial(check_array, ...) for categorical input;
        # skops checks the wrapped function's own name as well
        "functools.partial",
        "sklearn.utils.validation.check_array",
        "numpy.dtype",
    }
)


def library_versions() -> dict[str, str]:
    """Versions of the libraries a saved model depends on.

    Returns
    -------
    dict
        ``{"python", "numpy", "scipy", "sklearn", "skops", "baryon"}`` → version string.
    """
    import scipy
    import sklearn
    import skops

    from baryon import __version__

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "skops": skops.__version__,
        "baryon": __version__,
    }


# ---------------------------------------------------------------------------- dump
def dump_model(
    estimator: Any, *, kind: str, extra: dict[str, Any] | None = None
) -> tuple[bytes, dict[str, Any]]:
    """Serialise a fitted estimator of ``kind`` to bytes plus a manifest.

    Parameters
    ----------
    estimator : fitted estimator
        An instance of ``kind``'s class (:mod:`baryon.ml.kinds`).
    kind : str
        Estimator kind.
    extra : dict, optional
        JSON-able facts to keep in the manifest (run id, dataset version, ...).

    Returns
    -------
    payload : bytes
    manifest : dict
        ``format``, ``format_version``, ``kind``, ``class``, ``params``,
        ``library_versions``, ``sha256``, ``size_bytes``, ``trusted_types`` (skops),
        ``extra``.

    Raises
    ------
    InvalidInput
        ``unknown_kind``; ``kind_mismatch`` (the estimator is not of that kind);
        ``untrusted_type`` (a skops payload would hold a type outside
        :data:`TRUSTED_TYPES`).
    NotFitted
        The estimator is not fitted.
    """
    spec = _spec(kind)
    cls: Any = estimator_class(kind)
    if type(estimator) is not cls:
        raise InvalidInput(
            f"cannot save a {type(estimator).__name__} as kind {kind!r} ({spec.class_path})",
            code="kind_mismatch",
        )
    manifest: dict[str, Any] = {
        "kind": kind,
        "class": spec.class_path,
        "format_version": _FORMAT_VERSION,
        "params": _jsonable(estimator.get_params(deep=False)),
        "library_versions": library_versions(),
    }
    if callable(getattr(cls, "to_state", None)) and callable(getattr(cls, "from_state", None)):
        arrays, meta = estimator.to_state()
        payload = _npz_payload(arrays, meta)
        manifest["format"] = FORMAT_NPZ
    else:
        payload, types = _skops_payload(estimator)
        manifest["format"] = FORMAT_SKOPS
        manifest["trusted_types"] = types
    manifest["sha256"] = hashlib.sha256(payload).hexdigest()
    manifest["size_bytes"] = len(payload)
    manifest["extra"] = _jsonable(dict(extra or {}))
    return payload, manifest


def _npz_payload(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> bytes:
    npz = io.BytesIO()
    with zipfile.ZipFile(npz, "w", zipfile.ZIP_STORED) as zf:
        for name in sorted(arrays):
            if not _ARRAY_NAME.match(name):
                raise BaryonError(f"bad state array name {name!r}", code="unserializable_state")
            buf = io.BytesIO()
            try:
                np.lib.format.write_array(buf, np.asarray(arrays[name]), allow_pickle=False)
            except ValueError as exc:
                raise BaryonError(
                    f"state array {name!r} cannot be saved without pickle ({exc})",
                    code="unserializable_state",
                ) from exc
            zf.writestr(zipfile.ZipInfo(f"{name}.npy", _ZIP_DATE), buf.getvalue())
    # state metadata is read back by Python's json: NaN/inf are kept (as NaN, Infinity)
    meta_bytes = json.dumps(_jsonable(meta, keep_nonfinite=True), sort_keys=True).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("meta.json", _ZIP_DATE), meta_bytes)
        zf.writestr(zipfile.ZipInfo("arrays.npz", _ZIP_DATE), npz.getvalue())
    return out.getvalue()


def _skops_payload(estimator: Any) -> tuple[bytes, list[str]]:
    import skops.io as sio
    from sklearn.utils.validation import check_is_fitted

    from baryon.ml._validation import NotFitted

    try:
        check_is_fitted(estimator)
    except NotFitted:
        raise
    except Exception as exc:  # sklearn's NotFittedError
        raise NotFitted(
            f"this {type(estimator).__name__} is not fitted yet; fit it before saving",
            code="not_fitted",
        ) from exc
    payload = sio.dumps(estimator)
    types = sorted(sio.get_untrusted_types(data=payload))
    refused = [t for t in types if t not in TRUSTED_TYPES]
    if refused:
        raise InvalidInput(
            f"cannot save {type(estimator).__name__}: it holds type(s) outside the "
            f"persistence allow-list: {', '.join(refused)}",
            code="untrusted_type",
            details={"types": refused},
        )
    return payload, types


# ---------------------------------------------------------------------------- load
def load_model(
    payload: bytes, manifest: dict[str, Any], *, allow_version_mismatch: bool = False
) -> Any:
    """Rebuild an estimator saved by :func:`dump_model`, after checking it.

    Parameters
    ----------
    payload : bytes
    manifest : dict
        As returned by :func:`dump_model` (possibly after a JSON round trip).
    allow_version_mismatch : bool, default=False
        Load even when the model was saved under another scikit-learn major.minor.

    Returns
    -------
    estimator
        Fitted, of the manifest's kind.

    Raises
    ------
    IntegrityError
        ``integrity_error``: the payload's SHA-256 differs from the manifest's;
        ``bad_manifest``: the manifest is incomplete or names a class that is not its
        kind's; ``version_mismatch``: saved under another scikit-learn major.minor
        (message names both); ``untrusted_type``: a skops payload holds a type
        outside :data:`TRUSTED_TYPES`; ``corrupt_model``: the payload does not parse.
    """
    if not isinstance(manifest, dict):
        raise IntegrityError("model manifest is not a JSON object", code="bad_manifest")
    missing = [
        k for k in ("format", "kind", "class", "sha256", "library_versions") if k not in manifest
    ]
    if missing:
        raise IntegrityError(
            f"model manifest lacks {', '.join(missing)}",
            code="bad_manifest",
            details={"missing": missing},
        )
    digest = hashlib.sha256(payload).hexdigest()
    if digest != manifest["sha256"]:
        raise IntegrityError(
            f"model payload sha256 {digest} does not match its manifest ({manifest['sha256']}); "
            "the stored model was altered or corrupted",
            details={"expected": manifest["sha256"], "actual": digest},
        )
    _check_versions(manifest, allow_version_mismatch)
    kind = manifest["kind"]
    if kind == EXTERNAL_KIND:
        return _load_external(payload, manifest)
    spec = KINDS.get(kind) if isinstance(kind, str) else None
    if spec is None or manifest["class"] != spec.class_path:
        raise IntegrityError(
            f"model manifest names kind {kind!r} with class {manifest['class']!r}, "
            "which Baryon does not pair",
            code="bad_manifest",
        )
    fmt = manifest["format"]
    if fmt == FORMAT_NPZ:
        estimator = _load_npz(payload, kind)
    elif fmt == FORMAT_SKOPS:
        estimator = _load_skops(payload, manifest)
    else:
        raise IntegrityError(f"unknown model format {fmt!r}", code="bad_manifest")
    if type(estimator) is not estimator_class(kind):
        raise IntegrityError(
            f"model payload holds a {type(estimator).__name__}, not {spec.class_path}",
            code="bad_manifest",
        )
    return estimator


def _check_versions(manifest: dict[str, Any], allowed: bool) -> None:
    import sklearn

    saved = str(manifest["library_versions"].get("sklearn", "unknown"))
    current = sklearn.__version__
    if _major_minor(saved) == _major_minor(current) or allowed:
        return
    raise IntegrityError(
        f"model was saved with scikit-learn {saved}; this is scikit-learn {current} "
        "(major.minor differ): retrain it, or load it with the version check allowed",
        code="version_mismatch",
        details={"saved": saved, "current": current},
    )


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _load_npz(payload: bytes, kind: str) -> Any:
    cls = estimator_class(kind)
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            meta = json.loads(zf.read("meta.json"))
            npz_bytes = zf.read("arrays.npz")
        with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        return cls.from_state(arrays, meta)  # type: ignore[attr-defined]
    except BaryonError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError) as exc:
        raise IntegrityError(
            f"model payload does not parse as {kind} state ({type(exc).__name__}: {exc})",
            code="corrupt_model",
        ) from exc


def _skops_types(payload: bytes) -> list[str] | None:
    """The types of a skops payload that skops does not trust by default (None: not skops).

    Reads only the archive's schema: nothing in it is built.
    """
    import skops.io as sio

    try:
        return sorted(sio.get_untrusted_types(data=payload))
    except Exception:  # skops raises assorted errors on a malformed archive
        return None


def _untrusted(types: list[str]) -> list[str]:
    """The types of ``types`` outside :data:`TRUSTED_TYPES` (what loading refuses)."""
    return [t for t in types if t not in TRUSTED_TYPES]


def _load_skops(payload: bytes, manifest: dict[str, Any]) -> Any:
    import skops.io as sio

    types = _skops_types(payload)
    if types is None:
        raise IntegrityError("model payload does not parse as skops", code="corrupt_model")
    refused = _untrusted(types)
    if refused:
        raise IntegrityError(
            f"model payload holds type(s) outside the persistence allow-list: "
            f"{', '.join(refused)}; refusing to load it",
            code="untrusted_type",
            details={"types": refused},
        )
    listed = set(manifest.get("trusted_types") or [])
    if not set(types) <= listed:
        raise IntegrityError(
            "model payload holds types its manifest does not list",
            code="bad_manifest",
            details={"unlisted": sorted(set(types) - listed)},
        )
    try:
        return sio.loads(payload, trusted=types)
    except Exception as exc:
        raise IntegrityError(
            f"model payload does not load ({type(exc).__name__}: {exc})", code="corrupt_model"
        ) from exc


def _load_external(payload: bytes, manifest: dict[str, Any]) -> Any:
    """Load a stored external model (its manifest's class must be what the payload holds)."""
    if manifest["format"] != FORMAT_SKOPS:
        raise IntegrityError(
            f"an {EXTERNAL_KIND} model must be skops, not {manifest['format']!r}",
            code="bad_manifest",
        )
    estimator = _load_skops(payload, manifest)
    if _class_path(estimator) != manifest["class"]:
        raise IntegrityError(
            f"model payload holds a {_class_path(estimator)}, not {manifest['class']}",
            code="bad_manifest",
        )
    return estimator


def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


# ------------------------------------------------------------ models made elsewhere
def read_external_model(
    payload: bytes, *, max_bytes: int, extra: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any]]:
    """Read a skops file of a fitted scikit-learn estimator trained outside Baryon.

    The file is checked before anything in it is built: it must be a skops archive
    (a zip with a ``schema.json``; pickle and joblib files are refused), unpack to at
    most 20 times its size, and hold only types skops trusts by default or that are in
    :data:`TRUSTED_TYPES`. Then it is loaded with exactly those types trusted, and the
    result must be a fitted scikit-learn estimator with ``predict``.

    Parameters
    ----------
    payload : bytes
        The file's bytes; stored as they are (the manifest's ``sha256`` is theirs).
    max_bytes : int
        Largest accepted file, in bytes.
    extra : dict, optional
        JSON-able facts to keep in the manifest.

    Returns
    -------
    estimator : object
        The fitted estimator.
    manifest : dict
        As :func:`dump_model` writes it, with ``kind`` :data:`EXTERNAL_KIND` and
        ``class`` the estimator's class (``sklearn.linear_model._logistic.LogisticRegression``);
        :func:`load_model` loads ``payload`` back with it.

    Raises
    ------
    PayloadTooLarge
        ``model_file_too_large``: over ``max_bytes``, or unpacking to more than 20
        times its size.
    InvalidInput
        ``invalid_model_file``: not a skops file (``details["detected"]`` is
        ``"pickle"`` for a pickle or joblib file), a payload skops cannot load, or not
        a fitted estimator with ``predict``; ``untrusted_model``: the file holds
        types outside the allow-list (``details["types"]`` names them).
    """
    if len(payload) > max_bytes:
        raise PayloadTooLarge(
            f"the model file has {len(payload)} bytes; the limit is {max_bytes} "
            "(BARYON_MAX_MODEL_BYTES)",
            code="model_file_too_large",
            details={"max_bytes": max_bytes},
        )
    _check_archive(payload)
    types = _skops_types(payload)
    if types is None:
        raise _not_skops(payload)
    refused = _untrusted(types)
    if refused:
        raise InvalidInput(
            f"the model file holds type(s) Baryon does not trust: {', '.join(refused)}; "
            "only scikit-learn estimators and the types of baryon.ml.persistence.TRUSTED_TYPES "
            "can be loaded",
            code="untrusted_model",
            details={"types": refused},
        )
    estimator = _loads_external(payload, types)
    manifest: dict[str, Any] = {
        "format": FORMAT_SKOPS,
        "format_version": _FORMAT_VERSION,
        "kind": EXTERNAL_KIND,
        "class": _class_path(estimator),
        "params": _jsonable(estimator.get_params(deep=False)),
        "library_versions": library_versions(),
        "trusted_types": types,
        "sha256": hashlib.sha256(payload).hexdigest(),
        "size_bytes": len(payload),
        "extra": _jsonable(dict(extra or {})),
    }
    return estimator, manifest


def _check_archive(payload: bytes) -> None:
    """Refuse a payload that is not a zip archive with a schema, or unpacks too far."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _not_skops(payload) from None
    if "schema.json" not in {i.filename for i in infos}:
        raise _not_skops(payload)
    unpacked = sum(i.file_size for i in infos)
    if unpacked > _MAX_UNPACK_RATIO * max(len(payload), 1):
        raise PayloadTooLarge(
            f"the model file unpacks to {unpacked} bytes, more than {_MAX_UNPACK_RATIO} "
            "times its size",
            code="model_file_too_large",
            details={"unpacked_bytes": unpacked},
        )


def _not_skops(payload: bytes) -> InvalidInput:
    if payload[:1] == b"\x80":  # pickle protocol 2+ (joblib writes pickles too)
        return InvalidInput(
            "the model file is a pickle (or joblib) file; Baryon never loads pickles: "
            "save the estimator with skops.io.dump(estimator, 'model.skops')",
            code="invalid_model_file",
            details={"detected": "pickle"},
        )
    return InvalidInput(
        "the model file is not a skops file: save the estimator with "
        "skops.io.dump(estimator, 'model.skops')",
        code="invalid_model_file",
        details={"detected": "unknown"},
    )


def _loads_external(payload: bytes, types: list[str]) -> Any:
    import skops.io as sio
    from sklearn.base import BaseEstimator
    from sklearn.utils.validation import check_is_fitted

    try:
        estimator = sio.loads(payload, trusted=types)
    except Exception as exc:  # skops raises assorted errors on a malformed archive
        raise InvalidInput(
            f"the model file does not load as skops ({type(exc).__name__})",
            code="invalid_model_file",
            details={"detected": "skops"},
        ) from None
    if not isinstance(estimator, BaseEstimator) or not callable(
        getattr(estimator, "predict", None)
    ):
        raise InvalidInput(
            f"the model file holds a {type(estimator).__name__}, not a scikit-learn "
            "estimator with predict",
            code="invalid_model_file",
            details={"detected": "skops"},
        )
    try:
        check_is_fitted(estimator)
    except Exception:  # sklearn's NotFittedError, or a TypeError of an odd estimator
        raise InvalidInput(
            f"the {type(estimator).__name__} in the model file is not fitted",
            code="invalid_model_file",
            details={"detected": "skops"},
        ) from None
    return estimator


def _spec(kind: str) -> Kind:
    from baryon.ml.kinds import task_of

    task_of(kind)  # raises unknown_kind
    return KINDS[kind]


def _jsonable(value: Any, *, keep_nonfinite: bool = False) -> Any:
    """A JSON-able copy by the one policy (:func:`baryon.core.jsonvalues.to_jsonable`),
    with any other object as its ``repr``; NaN/inf kept when ``keep_nonfinite``."""
    if keep_nonfinite:
        return to_jsonable(value, default=repr, on_nonfinite=_same)
    return to_jsonable(value, default=repr)


def _same(value: float) -> float:
    return value
