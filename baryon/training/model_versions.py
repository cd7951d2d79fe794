"""Records of the model registry: versions, models, alias moves, loaded models.

Plain frozen dataclasses returned by :class:`baryon.training.registry.ModelRegistry`,
Model references (``NAME``, ``NAME@ALIAS``, ``NAME:VERSION``, ``OWNER/NAME``) are parsed
by :func:`baryon.core.refs.parse_ref`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from baryon.core.errors import InvalidInput
from baryon.core.refs import MODEL_ALIASES
from baryon.training.tables import AliasHistoryRow, ModelVersionRow

__all__ = [
    "ALIASES",
    "AliasMove",
    "LoadedModel",
    "ModelVersion",
    "RegisteredModel",
    "check_alias",
]

#: The aliases a model version can carry (the one list lives in :mod:`baryon.core.refs`).
ALIASES = MODEL_ALIASES


def check_alias(alias: str) -> str:
    """Return ``alias`` if it is one of :data:`ALIASES`, else raise ``unknown_alias``."""
    if alias not in ALIASES:
        raise InvalidInput(
            f"unknown alias {alias!r}; one of {', '.join(ALIASES)}", code="unknown_alias"
        )
    return alias


@dataclass(frozen=True)
class ModelVersion:
    """One registered, immutable model version.

    Attributes
    ----------
    id : str
        ``mv_…``.
    name : str
        Registered model name.
    version : int
        1, 2, 3, ... per name.
    kind, task : str
        Estimator kind and its task.
    run_id : str
        The run that trained it.
    dataset_version_id : str
        Dataset version it was trained and tested on.
    split : dict or None
        That version's split facts.
    artifact_digest, manifest_digest : str
        SHA-256 of the model payload and of its manifest JSON in the artifact store.
    metrics : dict of str to float
        The run's metrics (test-split values under their bare names).
    primary_metric : str
        Name of the metric the gate compares.
    primary_value : float or None
        Its value on the test split.
    aliases : list of str
        Aliases pointing at this version now.
    created_at : datetime
    created_by : str
        Actor that registered it.
    feature_columns : list of str
        Feature columns in estimator order (tabular kinds).
    column_roles : dict of str to str
        Column → role used in training (``text``, ``label``, ``user``, ...).
    target : str or None
        Target column.
    classes : list or None
        Class labels of classifiers, in ``predict_proba`` column order.
    extra : dict
        Free-form metadata (e.g. ``handoff_threshold``).
    org_id, model_id : str or None
        The owning organization and the registered model's id.
    """

    id: str
    name: str
    version: int
    kind: str
    task: str
    run_id: str
    dataset_version_id: str
    split: dict[str, Any] | None
    artifact_digest: str
    manifest_digest: str
    metrics: dict[str, Any]
    primary_metric: str
    primary_value: float | None
    aliases: list[str]
    created_at: datetime
    created_by: str
    feature_columns: list[str]
    column_roles: dict[str, str]
    target: str | None
    classes: list[Any] | None
    extra: dict[str, Any] = field(default_factory=dict)
    org_id: str | None = None
    model_id: str | None = None

    @property
    def ref(self) -> str:
        """``name:version``."""
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        return out


@dataclass(frozen=True)
class RegisteredModel:
    """A model name with its versions summarised.

    Attributes
    ----------
    name, task, primary_metric : str
    latest_version : int
        Highest version number.
    aliases : dict of str to int
        Alias → version.
    created_at, updated_at : datetime
    org_id : str or None
        The owning organization (a model shared with the caller has another one's).
    id : str or None
        The registered model's id (``mdl_…``; what grants name).
    """

    name: str
    task: str
    primary_metric: str
    latest_version: int
    aliases: dict[str, int]
    created_at: datetime
    updated_at: datetime
    org_id: str | None = None
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        out["updated_at"] = self.updated_at.isoformat()
        return out


@dataclass(frozen=True)
class AliasMove:
    """One alias move (a row of the alias history).

    Attributes
    ----------
    name : str
        Model name.
    alias : str
        ``champion`` or ``challenger``.
    action : str
        ``register``, ``promote``, ``rollback`` or ``set_alias``.
    from_version, to_version : int or None
        Where the alias pointed before and after (None: unset).
    actor, reason : str
        Who moved it and why.
    forced : bool
        Whether the gate was overridden.
    gate : dict or None
        The :class:`~baryon.training.gates.GateDecision` that allowed the move.
    at : datetime
    seq : int
        Position in the model's alias history (1, 2, ...); 0 for a no-op.
    changed : bool
        False when the alias already pointed there (nothing recorded).
    """

    name: str
    alias: str
    action: str
    from_version: int | None
    to_version: int | None
    actor: str
    reason: str
    forced: bool
    gate: dict[str, Any] | None
    at: datetime
    seq: int
    changed: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out


@dataclass(frozen=True)
class LoadedModel:
    """A model version with its fitted estimator.

    Attributes
    ----------
    version : ModelVersion
    estimator : object
        The fitted estimator (scikit-learn contract).
    manifest : dict
        The persistence manifest (format, library versions, params, sha256).
    """

    version: ModelVersion
    estimator: Any
    manifest: dict[str, Any] = field(default_factory=dict)


def alias_move_from_row(name: str, row: AliasHistoryRow) -> AliasMove:
    """Build an :class:`AliasMove` from a row of ``alias_history``."""
    return AliasMove(
        name=name,
        alias=row.alias,
        action=row.action,
        from_version=row.from_version,
        to_version=row.to_version,
        actor=row.actor,
        reason=row.reason,
        forced=row.forced,
        gate=row.gate,
        at=row.at,
        seq=row.seq,
    )


def version_from_row(name: str, row: ModelVersionRow, aliases: list[str]) -> ModelVersion:
    """Build a :class:`ModelVersion` from a row of ``model_versions`` and its aliases."""
    return ModelVersion(
        id=row.id,
        name=name,
        version=row.version,
        kind=row.kind,
        task=row.task,
        run_id=row.run_id,
        dataset_version_id=row.dataset_version_id,
        split=row.split,
        artifact_digest=row.artifact_digest,
        manifest_digest=row.manifest_digest,
        metrics=dict(row.metrics),
        primary_metric=row.primary_metric,
        primary_value=row.primary_value,
        aliases=sorted(aliases),
        created_at=row.created_at,
        created_by=row.created_by,
        feature_columns=list(row.feature_columns),
        column_roles=dict(row.column_roles),
        target=row.target,
        classes=None if row.classes is None else list(row.classes),
        extra=dict(row.extra),
        org_id=row.org_id,
        model_id=row.model_id,
    )
