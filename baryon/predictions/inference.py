"""From a model name to outputs: model resolvers, traffic split, inference, clean outputs.

The predict route never talks to the registry directly. It asks a
:class:`ModelResolver` for a :class:`ServedModel` (a version number, a task and an
estimator). In production that is :class:`RegistryModelResolver` over the
workspace's :class:`~baryon.training.registry.ModelRegistry`; tests and solutions
hand :func:`baryon.serving.app.create_app` their own resolver (the seam solutions
plug into: an estimator with a ``predict_records(inputs) -> list`` method is served
as is).

Outputs by task (one entry per input):

``classification``, ``text_classification``
    ``{"label": ..., "probabilities": {class: p, ...}}`` (probabilities when the
    estimator has ``predict_proba``).
``regression``
    ``{"value": float}``.
``recommendation``
    inputs are user ids (or ``{"user": id, "n": k}``);
    ``{"items": [...], "scores": [...], "cold": bool}``.

Tabular rows are read under the version's input contract
(:func:`baryon.ml.inputs.read_rows`, the one place a JSON row becomes a model input):
strict by default (a null, a missing or unknown feature, a value of the wrong type is
422 ``invalid_features`` naming the row and the feature), imputed with the training
statistic when the version was trained with ``missing="impute"`` (then the row's
entry of ``imputed`` names the features filled in and the flag ``imputed_input`` is
set).

A NaN or infinite number anywhere in an output becomes ``null`` and the response
gets the flag ``non_finite_output``; it is never an error.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from baryon.core.errors import BaryonError, Forbidden, InvalidInput, ModelNotReady, NotFound
from baryon.core.jsonvalues import to_jsonable
from baryon.core.scope import OPERATOR_ORG_ID, SYSTEM, Scope
from baryon.ml.inputs import IMPUTED_FLAG, InputContract, read_rows

if TYPE_CHECKING:
    from baryon.workspace import Workspace

__all__ = [
    "NON_FINITE_FLAG",
    "Inference",
    "ModelResolver",
    "RegistryModelResolver",
    "ServedModel",
    "Warmed",
    "batchable",
    "check_may_predict",
    "check_traffic_split",
    "choose_variant",
    "clean_outputs",
    "resolve_variant",
    "run_inference",
    "run_inference_many",
    "sample_input",
]

logger = logging.getLogger("baryon.serving")

#: Response flag set when a NaN or infinity was replaced by ``null``.
NON_FINITE_FLAG = "non_finite_output"
_DEFAULT_TOP_N = 10
_MAX_TOP_N = 100


@dataclass(frozen=True)
class ServedModel:
    """A model version ready to answer.

    Attributes
    ----------
    name : str
    version : int
    task : str
        ``classification``, ``regression``, ``text_classification``,
        ``recommendation`` or anything else (then the estimator's
        ``predict_records`` or ``predict`` is used as is).
    estimator : object
    kind : str
    feature_columns : tuple of str
        Tabular input columns, in the estimator's order.
    classes : tuple or None
    extra : dict
        The version's free-form metadata.
    org_id, model_id : str or None
        The owning organization and the registered model's id (``None``: served from
        memory by a custom resolver).
    inputs : InputContract or None
        What each tabular feature takes (:mod:`baryon.ml.inputs`); ``None``: strict,
        any number or string.
    """

    name: str
    version: int
    task: str
    estimator: Any
    kind: str = ""
    feature_columns: tuple[str, ...] = ()
    classes: tuple[Any, ...] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    org_id: str | None = None
    model_id: str | None = None
    inputs: InputContract | None = None


def check_may_predict(model: ServedModel, scope: Scope) -> ServedModel:
    """Return ``model`` if ``scope`` may call it: its own, or granted ``predict``.

    A model with no owner (``org_id`` ``None``: served from memory by a custom
    resolver) may be called by anyone the route lets in.

    Raises
    ------
    Forbidden
        ``predict_not_granted``: the model was shared with ``read`` only.
    NotFound
        ``model_not_found``: it is no longer shared with ``scope`` at all.
    """
    if model.org_id is None or scope.owns(model.org_id):
        return model
    if model.model_id in scope.predictable:
        return model
    if model.model_id not in scope.granted("model"):
        # No longer shared at all (a cached answer from before a revoke): not found.
        raise NotFound(f"model {model.name!r} not found", code="model_not_found")
    raise Forbidden(
        f"model {model.name!r} is shared with you for reading, not for predictions",
        code="predict_not_granted",
    )


class ModelResolver(ABC):
    """Finds the model version that answers a request."""

    @abstractmethod
    def resolve(
        self, name: str, *, scope: Scope, version: int | None = None, alias: str = "champion"
    ) -> ServedModel:
        """Return version ``version`` of ``name``, else the one ``alias`` points at.

        ``name`` is what ``scope`` means by it: its own model of that name, else one
        shared with it (``OWNER/NAME`` picks the owner). The caller must be allowed to
        call it (:func:`check_may_predict`).

        Raises
        ------
        NotFound
            No such model or version.
        ModelNotReady
            The alias points nowhere, or the model cannot be loaded.
        """

    @abstractmethod
    def readiness(self) -> dict[str, bool]:
        """Return ``{model name: champion loadable}`` for every model with a champion."""

    def warm_up(self) -> Warmed:
        """Load every champion and score one sample input with it (see
        :meth:`RegistryModelResolver.warm_up`); by default only :meth:`readiness`."""
        checked = self.readiness()
        return Warmed(loaded=sum(checked.values()), failed=len(checked) - sum(checked.values()))


@dataclass(frozen=True)
class Warmed:
    """What :meth:`ModelResolver.warm_up` did.

    Attributes
    ----------
    loaded : int
        Champions loaded (and, when a sample input could be made, scored once).
    failed : int
        Champions that could not be loaded (each logged with its cause).
    seconds : float
        Wall time of the warm-up.
    """

    loaded: int
    failed: int
    seconds: float = 0.0


_SAMPLE_BY_TYPE: dict[str, Any] = {
    "number": 0,
    "boolean": False,
    "string": "",
    "datetime": "2000-01-01T00:00:00Z",
}


def sample_input(model: ServedModel) -> Any:
    """One input of the kind ``model`` takes, to score once when warming it up.

    A tabular row holds each feature's training statistic where the version's input
    contract keeps one, else a value of the feature's JSON type (0 when untyped); a
    text model gets a short text, a recommender an unknown user (its cold start). The
    output is thrown away: a sample only makes the model's first real request pay no
    lazy set-up (an encoder's weights, native thread pools).
    """
    if model.task in ("classification", "regression") and model.feature_columns:
        contract = model.inputs or InputContract()
        return {
            feature: contract.fill.get(feature)
            if contract.fill.get(feature) is not None
            else _SAMPLE_BY_TYPE.get(contract.types.get(feature, "number"), 0)
            for feature in model.feature_columns
        }
    if model.task == "recommendation":
        return {"user": "warm-up"}
    return "warm-up"


class RegistryModelResolver(ModelResolver):
    """Resolve through the workspace's model registry, with a short alias cache.

    Parameters
    ----------
    workspace : Workspace
    alias_ttl : float
        Seconds an alias resolution is reused (default 2): an alias move made by
        another process reaches serving within that time (one made in this process at
        once: :meth:`forget_aliases`), and the registry (a database read and a manifest
        read) is not asked on every request. Numbered versions are immutable and
        are kept until evicted (least recently used, ``max_entries``).
    max_entries : int
    """

    def __init__(
        self, workspace: Workspace, *, alias_ttl: float = 2.0, max_entries: int = 32
    ) -> None:
        self.workspace = workspace
        self.alias_ttl = alias_ttl
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple[str, str, int | None, str], tuple[float, ServedModel]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()
        try:
            from baryon.training.registry import on_alias_moved
        except ImportError:  # no training layer in this build: no aliases move here
            pass
        else:
            on_alias_moved(self.forget_aliases)

    def forget_aliases(self) -> None:
        """Drop every cached alias resolution (an alias moved in this process); numbered
        versions stay cached (they never change)."""
        with self._lock:
            for key in [k for k in self._cache if k[2] is None]:
                del self._cache[key]

    def resolve(
        self, name: str, *, scope: Scope, version: int | None = None, alias: str = "champion"
    ) -> ServedModel:
        """See :meth:`ModelResolver.resolve`.

        The cache is per organization (what a name means depends on who asks), and a
        hit is re-checked against the caller's current grants, so a revoked grant
        stops predictions on the next request.
        """
        key = (scope.org_id or "*", name, version, "" if version is not None else alias)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and (version is not None or now - hit[0] < self.alias_ttl):
                self._cache.move_to_end(key)
                return check_may_predict(hit[1], scope)
        served = check_may_predict(self._load(name, version, alias, scope), scope)
        with self._lock:
            self._cache[key] = (now, served)
            self._cache.move_to_end(key)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return served

    def _load(self, name: str, version: int | None, alias: str, scope: Scope) -> ServedModel:
        try:
            registry = self.workspace.with_scope(scope).registry
        except ImportError:  # the training layer is not installed in this build
            raise ModelNotReady("no model registry in this installation") from None
        loaded = registry.load(name, version=version, alias=alias)
        mv = loaded.version
        contract = InputContract.from_dict((mv.extra or {}).get("inputs"))
        if contract is None and mv.feature_columns:  # trained before contracts
            contract = self._schema_contract(mv.dataset_version_id, mv.feature_columns)
        return ServedModel(
            name=mv.name,
            version=mv.version,
            task=mv.task,
            estimator=loaded.estimator,
            kind=mv.kind,
            feature_columns=tuple(mv.feature_columns or ()),
            classes=None if mv.classes is None else tuple(mv.classes),
            extra=dict(mv.extra or {}),
            org_id=mv.org_id,
            model_id=mv.model_id,
            inputs=contract,
        )

    def _schema_contract(self, dataset_version_id: str, features: list[str]) -> InputContract:
        """A strict contract typed from the training dataset's schema (untyped if gone)."""
        try:
            schema = self.workspace.with_scope(SYSTEM).datasets.get_by_id(dataset_version_id).schema
        except BaryonError:
            return InputContract()
        return InputContract.from_schema(schema, features)

    def warm_up(self) -> Warmed:
        """Load every organization's champion into this resolver's cache and score one
        :func:`sample_input` with each.

        Never raises: a champion that cannot be loaded is logged and counted in
        ``failed``; a sample the model refuses (a contract the sample does not meet)
        is logged at debug level, the model stays loaded.
        """
        started = time.perf_counter()
        try:
            registry = self.workspace.with_scope(SYSTEM).registry
            champions = [
                (m.name, m.org_id or OPERATOR_ORG_ID)
                for m in registry.list_models()
                if "champion" in m.aliases
            ]
        except ImportError:
            return Warmed(0, 0)
        loaded = failed = 0
        for name, org_id in champions:
            try:
                served = self.resolve(name, scope=Scope.own(org_id))
            except Exception:  # report, never raise: warming is best effort
                logger.exception("champion of %s cannot be loaded", name)
                failed += 1
                continue
            loaded += 1
            try:
                run_inference(served, [sample_input(served)])
            except BaryonError as exc:
                logger.debug("warm-up sample refused by %s v%s: %s", name, served.version, exc)
        return Warmed(loaded, failed, time.perf_counter() - started)

    def readiness(self) -> dict[str, bool]:
        """See :meth:`ModelResolver.readiness` (loads every champion, uncached)."""
        try:
            registry = self.workspace.with_scope(SYSTEM).registry
        except ImportError:
            return {}
        out: dict[str, bool] = {}
        for model in registry.list_models():
            if "champion" not in model.aliases:
                continue
            try:
                self._load(model.name, None, "champion", Scope.own(model.org_id or OPERATOR_ORG_ID))
                out[model.name] = True
            except Exception:  # report, never raise: readiness is a yes/no answer
                logger.exception("champion of %s cannot be loaded", model.name)
                out[model.name] = False
        return out


def choose_variant(
    challenger_weight: float, *, org_id: str, model: str, request_id: str | None
) -> str:
    """Pick ``champion`` or ``challenger`` for one request.

    With a caller-supplied ``request_id`` the choice is sticky: the same
    (organization, model, request id) always gets the same variant, from
    ``u = SHA-256(org \\0 model \\0 request_id)`` read as a number in [0, 1) and
    ``challenger`` iff ``u < challenger_weight``. Without one it is random.
    """
    if challenger_weight <= 0:
        return "champion"
    if challenger_weight >= 1:
        return "challenger"
    if request_id:
        digest = hashlib.sha256(f"{org_id}\0{model}\0{request_id}".encode()).digest()
        u = int.from_bytes(digest[:8], "big") / 2.0**64
    else:
        u = random.random()
    return "challenger" if u < challenger_weight else "champion"


def clean_outputs(value: Any) -> tuple[Any, bool]:
    """Return ``value`` as plain JSON types, NaN/inf replaced by ``None``.

    The one policy of :func:`baryon.core.jsonvalues.to_jsonable`, with any other
    object as its ``str``; also says whether a non-finite number was replaced.

    Returns
    -------
    (cleaned, had_non_finite) : tuple
    """
    replaced: list[float] = []

    def record(number: float) -> None:
        replaced.append(number)
        return None

    cleaned = to_jsonable(value, default=str, on_nonfinite=record)
    return cleaned, bool(replaced)


def _classify(model: ServedModel, X: Any) -> list[dict[str, Any]]:
    """Label and class probabilities; one model pass when ``predict_proba`` exists.

    The label is the class of highest probability (what scikit-learn's classifiers'
    ``predict`` returns), so the model runs once instead of twice.
    """
    est = model.estimator
    if not hasattr(est, "predict_proba"):
        return [{"label": label} for label in est.predict(X)]
    import numpy as np

    proba = np.asarray(est.predict_proba(X))
    classes = list(getattr(est, "classes_", model.classes or ()))
    if len(classes) != proba.shape[1]:
        labels = list(est.predict(X))
        classes = list(range(proba.shape[1]))
    else:
        labels = [classes[i] for i in proba.argmax(axis=1)]
    return [
        {"label": label, "probabilities": {str(c): p for c, p in zip(classes, row, strict=True)}}
        for label, row in zip(labels, proba.tolist(), strict=True)
    ]


def _recommend(model: ServedModel, inputs: Sequence[Any]) -> list[dict[str, Any]]:
    users: list[Any] = []
    sizes: list[int] = []
    for item in inputs:
        user, n = item, _DEFAULT_TOP_N
        if isinstance(item, dict):
            if "user" not in item:
                raise InvalidInput("recommendation inputs need a 'user'", code="invalid_inputs")
            unknown = sorted(set(item) - {"user", "n"})
            if unknown:
                raise InvalidInput(
                    f"inputs[{len(users)}].{unknown[0]} is not a recommendation input "
                    "(an object has 'user' and optionally 'n')",
                    code="invalid_features",
                    details={"errors": [
                        {"row": len(users), "field": k, "problem": "unknown_feature",
                         "expected": "no such feature", "got": "a value"} for k in unknown
                    ]},
                )  # fmt: skip
            user, n = item["user"], item.get("n", _DEFAULT_TOP_N)
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_TOP_N:
                raise InvalidInput(f"n must be an integer from 1 to {_MAX_TOP_N}", code="invalid_n")
        if isinstance(user, bool) or not isinstance(user, str | int):
            raise InvalidInput("recommendation inputs are user ids", code="invalid_inputs")
        users.append(user)
        sizes.append(n)
    est = model.estimator
    ids, scores = est.recommend(users, n=max(sizes))
    cold = list(est.is_cold(users)) if hasattr(est, "is_cold") else [False] * len(users)
    out = []
    for row_ids, row_scores, is_cold, n in zip(ids, scores, cold, sizes, strict=True):
        pairs = [(i, s) for i, s in zip(row_ids, row_scores, strict=True) if i is not None][:n]
        out.append(
            {"items": [i for i, _ in pairs], "scores": [s for _, s in pairs], "cold": bool(is_cold)}
        )
    return out


def _dispatch(model: ServedModel, inputs: Sequence[Any]) -> tuple[list[Any], list[list[str]]]:
    """The raw outputs, and per input the features imputed (tabular rows only)."""
    est = model.estimator
    nothing: list[list[str]] = [[] for _ in inputs]
    if hasattr(est, "predict_records"):
        return list(est.predict_records(list(inputs))), nothing
    if model.task == "text_classification":
        if not all(isinstance(x, str) for x in inputs):
            raise InvalidInput("text model inputs must be strings", code="invalid_inputs")
        return _classify(model, list(inputs)), nothing
    if model.task in ("classification", "regression"):
        rows = read_rows(inputs, model.feature_columns, model.inputs)
        if model.task == "classification":
            return _classify(model, rows.frame), rows.imputed
        return [{"value": v} for v in est.predict(rows.frame)], rows.imputed
    if model.task == "recommendation":
        return _recommend(model, inputs), nothing
    return list(est.predict(list(inputs))), nothing


class Inference(NamedTuple):
    """What :func:`run_inference` returns.

    Attributes
    ----------
    outputs : list
        One per input, plain JSON values.
    flags : list of str
        ``non_finite_output`` (a NaN or infinity became ``null``), ``imputed_input``
        (a feature was imputed in some row).
    imputed : list of list of str
        One per input: the features filled with their training value.
    """

    outputs: list[Any]
    flags: list[str]
    imputed: list[list[str]]


def run_inference(model: ServedModel, inputs: Sequence[Any]) -> Inference:
    """Run ``model`` on a batch.

    Parameters
    ----------
    model : ServedModel
    inputs : sequence
        One entry per prediction (a row, a text, a user id).

    Returns
    -------
    Inference
        ``len(outputs) == len(imputed) == len(inputs)``.

    Raises
    ------
    InvalidInput
        Inputs the model cannot use: ``invalid_features`` (a tabular row breaks the
        version's input contract: :func:`baryon.ml.inputs.read_rows`),
        ``invalid_inputs`` or another precise code.
    BaryonError
        Code ``prediction_failed`` (HTTP 500) when the model fails for another reason;
        the cause is logged, never returned.
    """
    raw, imputed = _raw_outputs(model, inputs)
    return _inference(raw, imputed)


def run_inference_many(
    model: ServedModel, requests: Sequence[Sequence[Any]]
) -> list[Inference | BaryonError]:
    """Score several requests' inputs for one model version in one model pass.

    The inputs are joined, scored by one :func:`run_inference`-like pass, and the
    outputs split back, each request getting its own :class:`Inference` (its own
    flags). When the joined pass fails (one request's bad row refuses the whole batch),
    each request is scored on its own, so every request gets the answer it would have
    had alone: its outputs, or its own error (row numbers counted in its own inputs).

    Parameters
    ----------
    model : ServedModel
        Must be :func:`batchable`.
    requests : sequence of sequences
        Each request's inputs.

    Returns
    -------
    list
        One entry per request: an :class:`Inference`, or the :class:`BaryonError` that
        :func:`run_inference` would have raised for it.
    """
    joined = [entry for inputs in requests for entry in inputs]
    try:
        raw, imputed = _raw_outputs(model, joined)
    except BaryonError:
        alone: list[Inference | BaryonError] = []
        for inputs in requests:
            try:
                alone.append(run_inference(model, inputs))
            except BaryonError as exc:
                alone.append(exc)
        return alone
    out: list[Inference | BaryonError] = []
    start = 0
    for inputs in requests:
        end = start + len(inputs)
        out.append(_inference(raw[start:end], imputed[start:end]))
        start = end
    return out


def batchable(model: ServedModel) -> bool:
    """Whether requests for ``model`` may be scored together: each input's output must
    not depend on the other inputs of the pass. Tabular rows of a model that does not
    name its features are read by the keys of all rows together, so they are not."""
    return not (model.task in ("classification", "regression") and not model.feature_columns)


def _raw_outputs(model: ServedModel, inputs: Sequence[Any]) -> tuple[list[Any], list[list[str]]]:
    """:func:`_dispatch` with its failures turned into the API's errors."""
    try:
        raw, imputed = _dispatch(model, inputs)
    except BaryonError:
        raise
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        logger.info("model %s v%s refused its inputs: %s", model.name, model.version, exc)
        raise InvalidInput(
            "the model cannot use these inputs (check types and features)", code="invalid_inputs"
        ) from None
    except Exception:
        logger.exception("model %s v%s failed", model.name, model.version)
        raise BaryonError("the model failed on this request", code="prediction_failed") from None
    if len(raw) != len(inputs):
        raise BaryonError("the model returned a wrong number of outputs", code="prediction_failed")
    return raw, imputed


def _inference(raw: list[Any], imputed: list[list[str]]) -> Inference:
    outputs, non_finite = clean_outputs(raw)
    flags = [NON_FINITE_FLAG] if non_finite else []
    if any(imputed):
        flags.append(IMPUTED_FLAG)
    return Inference(outputs, flags, imputed)


def check_traffic_split(
    resolver: ModelResolver, name: str, challenger_weight: float, *, scope: Scope
) -> None:
    """Refuse a traffic split of ``name`` that would send requests to a missing variant.

    The model must be one ``scope`` may call, and each variant the split uses must
    resolve: the champion when ``challenger_weight < 1``, the challenger when it is
    ``> 0``. (A challenger removed *after* the split was set is not an error: its share
    falls back to the champion, see :func:`resolve_variant`.)

    Parameters
    ----------
    resolver : ModelResolver
    name : str
        The model, as ``scope`` names it.
    challenger_weight : float
        Share of requests for the challenger, in [0, 1].
    scope : Scope

    Raises
    ------
    NotFound
        ``model_not_found``: no such model for ``scope``.
    Forbidden
        ``predict_not_granted``: shared with ``scope`` for reading only.
    InvalidInput
        ``no_champion`` or ``no_challenger``: a variant the split uses cannot be served.
    """
    needed = (
        ("champion", "no_champion", challenger_weight < 1),
        ("challenger", "no_challenger", challenger_weight > 0),
    )
    for variant, code, used in needed:
        if not used:
            continue
        try:
            resolver.resolve(name, scope=scope, alias=variant)
        except ModelNotReady:
            raise InvalidInput(
                f"model {name!r} has no {variant} to send {variant} traffic to",
                code=code,
                details={"variant": variant},
            ) from None


def resolve_variant(
    resolver: ModelResolver, name: str, variant: str, *, scope: Scope
) -> tuple[ServedModel, str]:
    """Resolve ``variant`` for ``scope``; a missing challenger falls back to the champion."""
    if variant == "challenger":
        try:
            return resolver.resolve(name, scope=scope, alias="challenger"), "challenger"
        except (ModelNotReady, NotFound):
            pass
    return resolver.resolve(name, scope=scope, alias="champion"), "champion"
