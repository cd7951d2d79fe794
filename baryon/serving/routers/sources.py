"""Sources over HTTP: add, list, show, run (as a job) and remove.

=====================================  ==================
route                                  permission
=====================================  ==================
``POST   /v1/sources``                 ``datasets:write``
``GET    /v1/sources``                 ``datasets:read``
``GET    /v1/sources/{source}``        ``datasets:read``
``POST   /v1/sources/{source}/run``    ``datasets:write``
``DELETE /v1/sources/{source}``        ``datasets:write``
=====================================  ==================

A run is long work: ``POST .../run`` queues a ``source_run`` job and answers ``202``
with its id; a worker runs it and the run's report then shows in ``GET
/v1/sources/{source}``. Schedules: ``POST /v1/schedules`` with kind ``source_run``
and payload ``{"source": NAME}``. Another organization's source is a 404. Domain rules
and codes: :mod:`baryon.connectors.sources`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from starlette.responses import Response

from baryon.connectors.jobs import SOURCE_RUN
from baryon.connectors.sources import add_source, get_source, list_sources, remove_source
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import json_bytes
from baryon.serving.source_schemas import (
    SourceOut,
    SourceRequest,
    SourceRunSubmittedOut,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/sources", tags=["sources"], responses=PROBLEMS)

_SOURCE = Path(max_length=200, description="The source's name.")


def _json(value: Any, status_code: int = 200) -> Response:
    return Response(json_bytes(value), media_type="application/json", status_code=status_code)


@router.post(
    "",
    response_model=SourceOut,
    status_code=201,
    responses=problems("source_exists", "invalid_url", "ambiguous_host"),
)
def post_source(
    body: SourceRequest,
    principal: Principal = require("datasets:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Add a source. Bad input writes nothing: ``invalid_source_name``,
    ``invalid_url``, ``ambiguous_host``, ``invalid_source_config``,
    ``invalid_selector``, ``invalid_auth``, ``unknown_secret_ref`` (422); a name in use
    is a 409 ``source_exists``. The URL is checked, not fetched."""
    ws = state.workspace_for(principal.org_id)
    auth = None if body.auth is None else body.auth.model_dump(exclude_none=True)
    made = add_source(
        ws, name=body.name, kind=body.kind, url=body.url, dataset=body.dataset,
        config=body.config, auth=auth, actor=principal.actor,
    )  # fmt: skip
    return _json(made, 201)


@router.get("", response_model=list[SourceOut])
def get_sources(
    principal: Principal = require("datasets:read"), state: AppState = Depends(get_state)
) -> Response:
    """The organization's sources by name, each with its last run."""
    return _json(list_sources(state.workspace_for(principal.org_id)))


@router.get("/{source}", response_model=SourceOut)
def get_one(
    source: str = _SOURCE,
    runs: int = Query(10, ge=0, le=500, description="Latest runs shown."),
    principal: Principal = require("datasets:read"),
    state: AppState = Depends(get_state),
) -> Response:
    """A source and its latest runs (fetched / new / duplicate / failed, reasons)."""
    return _json(get_source(state.workspace_for(principal.org_id), source, runs=runs))


@router.post("/{source}/run", response_model=SourceRunSubmittedOut, status_code=202)
def post_run(
    source: str = _SOURCE,
    principal: Principal = require("datasets:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Run a source as a background job: ``202`` with the job's id."""
    ws = state.workspace_for(principal.org_id)
    get_source(ws, source, runs=0)
    job = state.jobs.enqueue(
        SOURCE_RUN, {"source": source}, org_id=principal.org_id, max_attempts=1
    )
    return _json({"source": source, "job_id": job.id, "status": job.status}, 202)


@router.delete("/{source}", status_code=204)
def delete_source(
    source: str = _SOURCE,
    principal: Principal = require("datasets:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Remove a source and its runs (its dataset versions stay; a schedule naming it
    records failed firings until removed)."""
    remove_source(state.workspace_for(principal.org_id), source, actor=principal.actor)
    return Response(status_code=204)
