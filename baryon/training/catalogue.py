"""The model catalogue: what one organization sees of the registry, and may do with it.

The HTTP API's ``/v1/models`` routes (and anything else that shows an organization its
models) call these functions with that organization's view of the workspace
(:meth:`baryon.workspace.Workspace.for_org`), whose scope already limits every query to
its own models and those another organization granted it (:mod:`baryon.core.scope`).
This module adds what a scope alone does not say:

- **who owns** each model (an organization *name*, and the ``OWNER/NAME`` reference
  that reaches a shared model);
- **access**: ``own``, ``predict`` (shared with the ``predict`` grant) or ``read``
  (shared for reading only: versions, metrics and gate history, but no predictions and
  no evaluation, which would run the model);
- the **champion** with its metrics;
- for a shared model, nothing about the owner's people: ``actor`` and ``created_by``
  read as the owner organization's name.

:func:`evaluate_version` measures a version on a dataset version of the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from baryon.core.errors import Forbidden
from baryon.training.evaluate import Evaluation, evaluate_on_dataset

if TYPE_CHECKING:
    from baryon.core.scope import Scope
    from baryon.training.model_versions import AliasMove, ModelVersion, RegisteredModel
    from baryon.workspace import Workspace

__all__ = [
    "Access",
    "CatalogueEntry",
    "EvaluationResult",
    "ModelDetail",
    "catalogue",
    "evaluate_version",
    "model_detail",
]

#: What an organization may do with a model: its own, or shared with ``predict``/``read``.
Access = Literal["own", "predict", "read"]


@dataclass(frozen=True)
class CatalogueEntry:
    """One model as an organization sees it.

    Attributes
    ----------
    model : RegisteredModel
    owner : str
        The owning organization's name.
    access : {"own", "predict", "read"}
    champion : ModelVersion or None
        The version serving answers with (None: no champion).
    """

    model: RegisteredModel
    owner: str
    access: Access
    champion: ModelVersion | None

    @property
    def ref(self) -> str:
        """``NAME`` for an own model, ``OWNER/NAME`` for a shared one."""
        return self.model.name if self.access == "own" else f"{self.owner}/{self.model.name}"


@dataclass(frozen=True)
class ModelDetail:
    """A model with every version and its alias history (gate decisions included).

    Attributes
    ----------
    entry : CatalogueEntry
    versions : list of ModelVersion
        Oldest first.
    history : list of AliasMove
        Oldest first.
    """

    entry: CatalogueEntry
    versions: list[ModelVersion]
    history: list[AliasMove]


@dataclass(frozen=True)
class EvaluationResult:
    """A version measured on a dataset version (:func:`evaluate_version`).

    Attributes
    ----------
    version : ModelVersion
    evaluation : Evaluation
    where : dict
        ``dataset_version_id``, ``dataset`` (``NAME@N``) and ``split`` (``test``,
        ``validation``, ``train`` or ``all rows``).
    """

    version: ModelVersion
    evaluation: Evaluation
    where: dict[str, Any]


def _owner_names(scope: Scope) -> dict[str, str]:
    return {org_id: name for name, org_id in scope.owners.items()}


def _owner_of(scope: Scope, org_id: str | None) -> str:
    return _owner_names(scope).get(org_id or "", org_id or "")


def _access(scope: Scope, org_id: str | None, model_id: str | None) -> Access:
    if scope.owns(org_id):
        return "own"
    return "predict" if model_id is not None and model_id in scope.predictable else "read"


def _ref(ws: Workspace, model: RegisteredModel) -> str:
    if ws.scope.owns(model.org_id):
        return model.name
    return f"{_owner_of(ws.scope, model.org_id)}/{model.name}"


def _redacted(version: ModelVersion, owner: str) -> ModelVersion:
    return replace(version, created_by=owner)


def _entry(ws: Workspace, model: RegisteredModel) -> CatalogueEntry:
    access = _access(ws.scope, model.org_id, model.id)
    owner = _owner_of(ws.scope, model.org_id)
    champion = None
    if "champion" in model.aliases:
        champion = ws.registry.get_version(_ref(ws, model), version=model.aliases["champion"])
        if access != "own":
            champion = _redacted(champion, owner)
    return CatalogueEntry(model=model, owner=owner, access=access, champion=champion)


def catalogue(ws: Workspace) -> list[CatalogueEntry]:
    """Every model ``ws``'s organization may see: its own, then shared ones, by name.

    Parameters
    ----------
    ws : Workspace
        The organization's view (:meth:`~baryon.workspace.Workspace.for_org`).

    Returns
    -------
    list of CatalogueEntry
    """
    entries = [_entry(ws, model) for model in ws.registry.list_models()]
    return sorted(entries, key=lambda e: (e.access != "own", e.model.name, e.owner))


def model_detail(ws: Workspace, name: str, *, owner: str | None = None) -> ModelDetail:
    """One model with its versions and alias history.

    Parameters
    ----------
    ws : Workspace
        The organization's view.
    name : str
        Model name: the caller's own model of that name, else the one shared with it.
    owner : str, optional
        The owning organization's name, for a shared model (``acme``).

    Raises
    ------
    NotFound
        ``model_not_found`` (also another organization's model that was not shared),
        ``owner_not_found`` (no organization of that name shares anything with you).
    InvalidInput
        ``ambiguous_ref``: several organizations shared a model of that name; give
        ``owner``.
    """
    ref = name if owner is None else f"{owner}/{name}"
    versions = ws.registry.list_versions(ref)
    first = versions[0]  # a registered model has at least one version
    model = next(m for m in ws.registry.list_models() if m.id == first.model_id)
    entry = _entry(ws, model)
    history = ws.registry.alias_history(ref)
    if entry.access != "own":
        versions = [_redacted(v, entry.owner) for v in versions]
        history = [replace(h, actor=entry.owner) for h in history]
    return ModelDetail(entry=entry, versions=versions, history=history)


def evaluate_version(
    ws: Workspace,
    name: str,
    *,
    dataset: str,
    version: int | None = None,
    owner: str | None = None,
    split: str = "test",
) -> EvaluationResult:
    """Measure a version of ``name`` (default: the champion) on a dataset version.

    The dataset resolves in ``ws``: the caller's own datasets and those shared with
    it. Evaluating runs the model, so a model shared for reading only cannot be
    evaluated (as it cannot be called).

    Parameters
    ----------
    ws : Workspace
        The organization's view.
    name, owner : str
        As for :func:`model_detail`.
    dataset : str
        Dataset reference (``NAME`` for its latest version).
    version : int, optional
        Version number (default: the champion).
    split : {"test", "validation", "train"}
        Which rows (see :func:`baryon.training.evaluate.evaluate_on_dataset`).

    Returns
    -------
    EvaluationResult

    Raises
    ------
    NotFound
        No such model, version or dataset (or not visible to the caller).
    ModelNotReady
        No version given and the model has no champion.
    Forbidden
        ``predict_not_granted``: the model was shared for reading only.
    InvalidInput, ValidationFailed
        The dataset's rows do not fit the version (``missing_column``,
        ``unseen_label``, ...), or no such split.
    """
    ref = name if owner is None else f"{owner}/{name}"
    mv = ws.registry.get_version(ref, version=version, alias=None if version else "champion")
    if _access(ws.scope, mv.org_id, mv.model_id) == "read":
        raise Forbidden(
            f"model {name!r} is shared with you for reading, not for running it",
            code="predict_not_granted",
        )
    loaded = ws.registry.load(ref, version=mv.version)
    evaluation, where = evaluate_on_dataset(loaded, ws.datasets, dataset=dataset, split=split)
    if not ws.scope.owns(mv.org_id):
        mv = _redacted(mv, _owner_of(ws.scope, mv.org_id))
    return EvaluationResult(version=mv, evaluation=evaluation, where=where)
