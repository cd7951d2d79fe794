"""The model registry over HTTP: catalogue, versions, promotion, rollback, evaluation, and
models brought from elsewhere.

Every route acts through the caller's organization's view of the workspace
(:meth:`~baryon.serving.deps.AppState.workspace_for`): reads see its own models and those
another organization shared with it (``?owner=ORG`` picks a shared one when the name
alone is ambiguous); writes reach its own models only, so promoting or rolling back a
shared model is a 404, like a model that does not exist. The domain calls are those of
the CLI (``baryon models ...``): :mod:`baryon.training.catalogue`,
:mod:`baryon.training.promotion`, :mod:`baryon.training.external`.

``POST /v1/models/{name}/predict`` lives in :mod:`baryon.serving.routers.predictions`.

Retries: promote and rollback take an ``Idempotency-Key`` (a repeat gets the first
answer, and a rollback is not done twice); promoting the champion again changes
nothing. Registering the same file on the same dataset version again answers ``200``
with the version it made the first time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc

from baryon.commerce.metering import (
    StoredResponse,
    check_idempotency_key,
    find_replay,
    store_replay,
)
from baryon.core.config import Settings
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import fingerprint, json_bytes, replay_response
from baryon.serving.schemas import (
    AliasMoveOut,
    EvaluateRequest,
    EvaluationOut,
    ModelDetailOut,
    ModelOut,
    PromoteRequest,
    RegisteredVersionOut,
    RollbackRequest,
)
from baryon.training.catalogue import (
    CatalogueEntry,
    catalogue,
    evaluate_version,
    model_detail,
)
from baryon.training.external import register_external_model
from baryon.training.model_versions import ModelVersion

__all__ = ["body_cap", "router"]

router = APIRouter(prefix="/v1/models", tags=["models"], responses=PROBLEMS)
_MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_ORG_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
#: Room for the form fields and multipart boundaries around a model file, in bytes.
_FORM_OVERHEAD = 64 * 1024
_VERSIONS_PATH = re.compile(r"^/v1/models/[^/]+/versions/?$")
#: Key permission behind each action a catalogue entry can list.
_ACTIONS = (
    ("evaluate", "models:read"),
    ("predict", "models:predict"),
    ("register", "models:write"),
    ("promote", "models:promote"),
    ("rollback", "models:promote"),
)


def body_cap(settings: Settings) -> tuple[str, re.Pattern[str], int]:
    """The request body cap of ``POST /v1/models/{name}/versions`` (for the middleware):
    ``BARYON_MAX_MODEL_BYTES`` plus room for the form fields."""
    return ("POST", _VERSIONS_PATH, settings.max_model_bytes + _FORM_OVERHEAD)


# --------------------------------------------------------------------- shaping
def _actions(entry: CatalogueEntry, principal: Principal) -> list[str]:
    """What this key may do with this model: its role's permissions within the access."""
    allowed = {"own": {a for a, _ in _ACTIONS}, "predict": {"evaluate", "predict"}, "read": set()}
    granted = allowed[entry.access]
    return ["read"] + [a for a, perm in _ACTIONS if a in granted and perm in principal.permissions]


def _version(mv: ModelVersion) -> dict[str, Any]:
    return {
        "version": mv.version,
        "kind": mv.kind,
        "task": mv.task,
        "run_id": mv.run_id,
        "dataset_version_id": mv.dataset_version_id,
        "metrics": dict(mv.metrics),
        "primary_metric": mv.primary_metric,
        "primary_value": mv.primary_value,
        "aliases": list(mv.aliases),
        "feature_columns": list(mv.feature_columns),
        "target": mv.target,
        "classes": mv.classes,
        "extra": dict(mv.extra),
        "created_by": mv.created_by,
        "created_at": mv.created_at,
    }


def _model(entry: CatalogueEntry, principal: Principal) -> dict[str, Any]:
    model, champion = entry.model, entry.champion
    return {
        "name": model.name,
        "owner": entry.owner,
        "ref": entry.ref,
        "access": entry.access,
        "actions": _actions(entry, principal),
        "task": model.task,
        "primary_metric": model.primary_metric,
        "latest_version": model.latest_version,
        "aliases": dict(model.aliases),
        "champion": None
        if champion is None
        else {
            "version": champion.version,
            "kind": champion.kind,
            "metrics": dict(champion.metrics),
            "primary_value": champion.primary_value,
            "dataset_version_id": champion.dataset_version_id,
            "created_at": champion.created_at,
        },
        "created_at": model.created_at,
        "updated_at": model.updated_at,
    }


def _once(
    state: AppState,
    principal: Principal,
    request: Request,
    body: BaseModel,
    idempotency_key: str | None,
    work: Callable[[], Any],
) -> Response:
    """Run ``work`` (a domain call with its own transactions) at most once per key.

    With an ``Idempotency-Key`` a stored first answer is replayed; otherwise ``work``
    runs and its answer is stored. Errors are not stored (nothing was done).
    """
    fp = None
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)
        fp = fingerprint(request, body)
        with state.transaction(principal.own_scope) as session:
            stored = find_replay(
                session,
                key_id=principal.key_id,
                idempotency_key=idempotency_key,
                fingerprint=fp,
                now=state.clock.now(),
            )
        if stored is not None:
            return replay_response(stored)
    payload = json_bytes(work())
    if fp is not None and idempotency_key is not None:
        try:
            with state.transaction(principal.own_scope) as session:
                store_replay(
                    session,
                    key_id=principal.key_id,
                    org_id=principal.org_id,
                    idempotency_key=idempotency_key,
                    fingerprint=fp,
                    response=StoredResponse(200, payload.decode()),
                    now=state.clock.now(),
                )
        except sa_exc.IntegrityError:  # a concurrent repeat stored its answer first
            pass
    return Response(payload, media_type="application/json")


# ---------------------------------------------------------------------- routes
@router.get("", response_model=list[ModelOut])
def list_models(
    principal: Principal = require("models:read"), state: AppState = Depends(get_state)
) -> list[dict[str, Any]]:
    """Every model you own, then every model shared with you: owner, task, champion and its
    metrics, aliases, latest version, and what this key may do with it."""
    ws = state.workspace_for(principal.org_id)
    return [_model(entry, principal) for entry in catalogue(ws)]


@router.get("/{name}", response_model=ModelDetailOut)
def get_model(
    name: str = PathParam(max_length=100, pattern=_MODEL_NAME),
    owner: str | None = Query(
        None, max_length=64, pattern=_ORG_NAME, description="Owner of a shared model."
    ),
    principal: Principal = require("models:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """A model with every version (metrics, run, dataset version, created) and its alias
    history with the gate's decisions."""
    detail = model_detail(state.workspace_for(principal.org_id), name, owner=owner)
    return {
        **_model(detail.entry, principal),
        "versions": [_version(v) for v in detail.versions],
        "history": [h.to_dict() for h in detail.history],
    }


@router.post(
    "/{name}/promote",
    response_model=AliasMoveOut,
    responses=problems("gate_refused", "concurrent_change"),
)
def promote_model(
    body: PromoteRequest,
    request: Request,
    name: str = PathParam(max_length=100, pattern=_MODEL_NAME),
    owner: str | None = Query(
        None,
        max_length=64,
        description="Only your own models can be promoted or rolled back: another "
        "organization named here is a 404.",
    ),
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("models:promote"),
    state: AppState = Depends(get_state),
) -> Response:
    """Make ``version`` the champion if it beats the current one by ``min_delta`` on the
    same test split (409 ``gate_refused`` with both numbers otherwise; ``force``
    overrides, recorded as forced). Your own models only."""

    def work() -> dict[str, Any]:
        move = state.workspace_for(principal.org_id).promotion.promote(
            name if owner is None else f"{owner}/{name}",
            body.version,
            min_delta=body.min_delta,
            force=body.force,
            actor=principal.actor,
            reason=body.reason,
        )
        return move.to_dict()

    return _once(state, principal, request, body, idempotency_key, work)


@router.post(
    "/{name}/rollback",
    response_model=AliasMoveOut,
    responses=problems("no_previous_champion", "concurrent_change"),
)
def rollback_model(
    request: Request,
    body: RollbackRequest | None = None,
    name: str = PathParam(max_length=100, pattern=_MODEL_NAME),
    owner: str | None = Query(
        None,
        max_length=64,
        description="Only your own models can be promoted or rolled back: another "
        "organization named here is a 404.",
    ),
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("models:promote"),
    state: AppState = Depends(get_state),
) -> Response:
    """Move the champion back to the version that held it before (409
    ``no_previous_champion`` when there is none). Your own models only."""
    body = body or RollbackRequest()

    def work() -> dict[str, Any]:
        move = state.workspace_for(principal.org_id).promotion.rollback(
            name if owner is None else f"{owner}/{name}", actor=principal.actor, reason=body.reason
        )
        return move.to_dict()

    return _once(state, principal, request, body, idempotency_key, work)


@router.post(
    "/{name}/evaluate",
    response_model=EvaluationOut,
    responses=problems("model_not_ready", "missing_dependency", "missing_column"),
)
def evaluate_model(
    body: EvaluateRequest,
    name: str = PathParam(max_length=100, pattern=_MODEL_NAME),
    owner: str | None = Query(
        None, max_length=64, pattern=_ORG_NAME, description="Owner of a shared model."
    ),
    principal: Principal = require("models:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Measure a version (default: the champion) on a split of one of your dataset
    versions, now. A model shared with you for reading only is 403
    ``predict_not_granted``: evaluating runs it."""
    result = evaluate_version(
        state.workspace_for(principal.org_id),
        name,
        dataset=body.dataset,
        version=body.version,
        owner=owner,
        split=body.split,
    )
    evaluation = result.evaluation.to_dict()
    return {
        "model": result.version.name,
        "version": result.version.version,
        "task": evaluation["task"],
        "dataset": result.where["dataset"],
        "dataset_version_id": result.where["dataset_version_id"],
        "split": result.where["split"],
        "metrics": evaluation["metrics"],
        "report": evaluation["report"],
    }


@router.post(
    "/{name}/versions",
    response_model=RegisteredVersionOut,
    status_code=201,
    responses={
        200: {"model": RegisteredVersionOut, "description": "Registered already"},
        **problems(
            "register_contention",
            "task_mismatch",
            "invalid_model_file",
            "untrusted_model",
            "missing_column",
            "artifact_store_unavailable",
            "artifact_write_failed",
        ),
    },
)
def register_version(
    response: Response,
    name: str = PathParam(max_length=100, pattern=_MODEL_NAME),
    file: UploadFile = File(description="A .skops file of a fitted scikit-learn estimator."),
    dataset: str = Form(
        min_length=1, max_length=200, description="Dataset reference (with a split)."
    ),
    target: str = Form(min_length=1, max_length=200, description="Target column."),
    task: str | None = Form(
        None, max_length=40, description="classification, regression or text_classification."
    ),
    principal: Principal = require("models:write"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Register a scikit-learn model trained elsewhere (multipart: ``file`` and form fields).

    It is loaded with skops trusting only scikit-learn's and Baryon's allowed types
    (422 ``untrusted_model``; a pickle, joblib or other file is 422
    ``invalid_model_file``; over ``BARYON_MAX_MODEL_BYTES`` 413
    ``model_file_too_large``), measured on the dataset version's **test** split, and
    recorded as a run of kind ``external_sklearn``. The new version is ``challenger``
    (the first version of a new name is ``champion``): it becomes champion through
    the gate only. A refused file leaves nothing behind.
    """
    payload = file.file.read(state.settings.max_model_bytes + 1)
    made = register_external_model(
        state.workspace_for(principal.org_id),
        name,
        payload,
        dataset=dataset,
        target=target,
        task=task or None,
        actor=principal.actor,
    )
    response.status_code = 201 if made.created else 200
    return {
        "model": made.version.name,
        "created": made.created,
        "run_id": made.run.id,
        "version": _version(made.version),
    }
