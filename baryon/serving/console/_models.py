"""Models: the catalogue, one model (versions, aliases, gate history, traffic split and
per-variant outcomes), promote, roll back, set the traffic split.

Domain calls, as the ``/v1/models`` routes: :func:`baryon.training.catalogue.catalogue`,
:func:`~baryon.training.catalogue.model_detail`, and the workspace's
:class:`~baryon.training.promotion.Promoter` (``promote`` through the gate,
``rollback``). Promoting and rolling back need ``models:promote`` (owners and
admins): the buttons are shown to those roles only, and the routes refuse the others
(403 ``forbidden``) whatever the page showed. Only the organization's own models can
be changed; a shared one is read only. A refused promotion (``gate_refused``, with
both numbers) is shown on the model's page with its code.

The traffic split is the endpoint's challenger weight, as ``PUT /v1/endpoints/{name}``:
:func:`baryon.predictions.inference.check_traffic_split` (the variants must exist),
the licence's ``traffic_split`` feature, then
:func:`baryon.predictions.log.set_endpoint` (the plan's feature, audited); editing it
needs ``endpoints:write`` (owners and admins). Each variant's outcomes (requests,
latency, feedback accuracy and ratings) come from
:func:`baryon.predictions.log.variant_outcomes` (``endpoints:read``).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from baryon.core.errors import BaryonError
from baryon.predictions.inference import check_traffic_split
from baryon.predictions.log import get_endpoint, set_endpoint, variant_outcomes
from baryon.serving.console._app import base_path, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.deps import AppState
from baryon.training.catalogue import catalogue, evaluate_version, model_detail

__all__ = ["router"]

router = APIRouter()
_NAME = Path(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_OWNER = Query(None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DONE = {
    "promoted": "Promoted.",
    "rolled_back": "Rolled back.",
    "unchanged": "Nothing changed.",
    "split": "Traffic split saved.",
}


@router.get("/models", include_in_schema=False)
def models(request: Request, user: ConsoleUser = console_require("models:read")) -> Response:
    """Every model the organization owns, then those shared with it."""
    ws = console_state(request).workspace_for(user.principal.org_id)
    return render(request, "models.html", user, title="Models", nav="models", models=catalogue(ws))


def _model_page(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    name: str,
    owner: str | None,
    *,
    status: int = 200,
    done: str | None = None,
    error: BaryonError | None = None,
    evaluation: dict[str, Any] | None = None,
) -> Response:
    principal = user.principal
    detail = model_detail(state.workspace_for(principal.org_id), name, owner=owner)
    can_change = user.can("models:promote") and detail.entry.access == "own"
    weight, outcomes = None, None
    if user.can("endpoints:read"):
        with state.transaction(principal.own_scope) as session:
            weight = get_endpoint(session, principal.org_id, detail.entry.model.name)
            outcomes = variant_outcomes(session, principal.org_id, detail.entry.model.name)
    return render(
        request, "model.html", user, status=status, title=f"Model {detail.entry.ref}",
        nav="models", detail=detail, can_change=can_change, done=_DONE.get(done or ""),
        error=error, history=list(reversed(detail.history)), weight=weight,
        outcomes=outcomes, can_split=user.can("endpoints:write"), evaluation=evaluation,
        can_evaluate=detail.entry.access in ("own", "predict"),
    )  # fmt: skip


@router.get("/models/{name}", include_in_schema=False)
def model(
    request: Request,
    name: str = _NAME,
    owner: str | None = _OWNER,
    done: str | None = Query(None, max_length=20),
    user: ConsoleUser = console_require("models:read"),
) -> Response:
    """A model: its versions with their metrics, its aliases and the gate's history."""
    return _model_page(request, console_state(request), user, name, owner, done=done)


def _after(request: Request, name: str, move: Any) -> Response:
    done = ("promoted" if move.action == "promote" else "rolled_back") if move.changed else None
    query = urlencode({"done": done or "unchanged"})
    url = f"{base_path(request)}/models/{quote(name)}?{query}"
    return RedirectResponse(url, status_code=303)


@router.post("/models/{name}/promote", include_in_schema=False)
def promote(
    request: Request,
    name: str = _NAME,
    version: int = Form(ge=1, le=1_000_000),
    min_delta: float = Form(0.0, ge=0.0, le=1e9, allow_inf_nan=False),
    force: bool = Form(False),
    reason: str = Form("", max_length=500),
    user: ConsoleUser = console_require("models:promote"),
) -> Response:
    """Make ``version`` champion through the gate (``force`` overrides it, recorded)."""
    state = console_state(request)
    try:
        move = state.workspace_for(user.principal.org_id).promotion.promote(
            name, version, min_delta=min_delta, force=force, actor=user.principal.actor,
            reason=reason,
        )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404 and exc.code == "model_not_found":
            raise
        return _model_page(request, state, user, name, None, status=exc.http_status, error=exc)
    return _after(request, name, move)


@router.post("/models/{name}/evaluate", include_in_schema=False)
def evaluate(
    request: Request,
    name: str = _NAME,
    dataset: str = Form(min_length=1, max_length=200),
    version: int | None = Form(None, ge=1, le=1_000_000),
    split: Literal["test", "validation", "train"] = Form("test"),
    owner: str | None = Form(None, max_length=64),
    user: ConsoleUser = console_require("models:read"),
) -> Response:
    """Measure a version (default: the champion) on a split of a dataset version the
    organization may read, now, and show the metrics on the model's page
    (:func:`~baryon.training.catalogue.evaluate_version`, as
    ``POST /v1/models/{name}/evaluate``)."""
    state = console_state(request)
    owner = owner or None
    try:
        result = evaluate_version(
            state.workspace_for(user.principal.org_id), name, dataset=dataset.strip(),
            version=version, owner=owner, split=split,
        )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404 and exc.code == "model_not_found":
            raise
        return _model_page(request, state, user, name, owner, status=exc.http_status, error=exc)
    measured = result.evaluation.to_dict()
    shown = {"version": result.version.version, "where": result.where, **measured}
    return _model_page(request, state, user, name, owner, evaluation=shown)


@router.post("/models/{name}/rollback", include_in_schema=False)
def rollback(
    request: Request,
    name: str = _NAME,
    reason: str = Form("", max_length=500),
    user: ConsoleUser = console_require("models:promote"),
) -> Response:
    """Move the champion back to the version that held it before."""
    state = console_state(request)
    try:
        move = state.workspace_for(user.principal.org_id).promotion.rollback(
            name, actor=user.principal.actor, reason=reason
        )
    except BaryonError as exc:
        if exc.http_status == 404 and exc.code == "model_not_found":
            raise
        return _model_page(request, state, user, name, None, status=exc.http_status, error=exc)
    return _after(request, name, move)


@router.post("/models/{name}/traffic", include_in_schema=False)
def traffic(
    request: Request,
    name: str = _NAME,
    challenger_percent: float = Form(ge=0.0, le=100.0, allow_inf_nan=False),
    user: ConsoleUser = console_require("endpoints:write"),
) -> Response:
    """Send ``challenger_percent`` % of this model's traffic to its challenger."""
    state = console_state(request)
    principal = user.principal
    weight = round(challenger_percent / 100.0, 6)
    try:
        check_traffic_split(state.resolver, name, weight, scope=state.scope_of(principal.org_id))
        licence = state.workspace.licence
        if licence is not None and weight > 0:
            licence.require("traffic_split")
        features = principal.subscription.plan.features if principal.subscription else ()
        with state.transaction(principal.own_scope) as session:
            set_endpoint(
                session, org_id=principal.org_id, model_name=name, challenger_weight=weight,
                features=features, actor=principal.actor, clock=state.clock,
            )  # fmt: skip
        state.forget_endpoint(principal.org_id, name)
    except BaryonError as exc:
        if exc.http_status == 404 and exc.code == "model_not_found":
            raise
        return _model_page(request, state, user, name, None, status=exc.http_status, error=exc)
    url = f"{base_path(request)}/models/{quote(name)}?done=split"
    return RedirectResponse(url, status_code=303)
