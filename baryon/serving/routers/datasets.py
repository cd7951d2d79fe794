"""Datasets of the caller's organization: upload, list, show, history, clean, split, export.

The same domain calls and error codes as ``baryon data ...`` (:mod:`baryon.cli.data`),
through the caller's organization's view of the workspace
(:meth:`~baryon.serving.deps.AppState.workspace_for`): its own datasets and those
another organization shared with it (a grant). A shared dataset is addressed with
``?owner=ORG`` when the name alone is ambiguous; it can be read and exported, never
cleaned or split (``dataset_not_found``, as for a dataset that does not exist).
Another organization's dataset that was not shared is a 404, in lists too.

Writes are idempotent by content, as on the command line: the same bytes with the same
options, or the same steps on the same version, give the same version back with
``200`` and ``created: false`` (``201`` and ``created: true`` when new). A retry can
therefore never make a second version; an ``Idempotency-Key`` header adds nothing
and is ignored.

``POST /v1/datasets`` reads its own body (see :mod:`baryon.serving.uploads`): it is a
streamed route of the request middleware, capped by ``BARYON_MAX_UPLOAD_BYTES``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from baryon.core.refs import MAX_VERSION
from baryon.core.refs import NAME_PATTERN as _BARE_NAME
from baryon.core.scope import Scope
from baryon.core.scratch import scratch_dir
from baryon.data.exports import EXPORT_FORMATS, export_version
from baryon.data.recipes import read_recipe
from baryon.data.splits import SPLIT_NAMES, split_options
from baryon.data.versions import DatasetVersion
from baryon.serving.auth import Principal, require
from baryon.serving.dataset_uploads import UPLOAD_FIELDS, ingest_upload, upload_body
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import OneOf
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.schemas import (
    CleanDatasetRequest,
    DatasetDetailOut,
    DatasetHistoryOut,
    DatasetMadeOut,
    DatasetVersionOut,
    SplitDatasetRequest,
)
from baryon.serving.uploads import Upload, receive_upload

__all__ = ["STREAMED", "router"]

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], responses=PROBLEMS)

#: Routes that read their own request body: the request middleware passes it through.
STREAMED = frozenset({("POST", "/v1/datasets")})

_MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "jsonl": "application/jsonl; charset=utf-8",
}
_CHUNK = 1 << 16
NAME_PATTERN = f"^{_BARE_NAME}$"  # the one name rule (baryon.core.refs)
_NAME = PathParam(pattern=NAME_PATTERN, max_length=100, description="Dataset name.")
_VERSION = Query(None, ge=1, le=MAX_VERSION, description="Version number (default: the latest).")
_OWNER = Query(
    None,
    max_length=64,
    description="Name of the organization that shared the dataset (default: your own "
    "dataset of that name, else the one shared with you).",
)
_OWN = Query(
    None,
    max_length=64,
    description="The owning organization: only your own datasets can be changed, so "
    "another organization's name is a 404.",
)
_MADE: dict[int | str, dict[str, Any]] = {
    200: {"model": DatasetMadeOut, "description": "Already stored: the same version, not created"},
}


# ------------------------------------------------------------------ shaping
def _owner_names(scope: Scope) -> dict[str, str]:
    return {org_id: name for name, org_id in scope.owners.items()}


def _split_out(split: dict[str, Any] | None) -> dict[str, Any] | None:
    if not split:
        return None
    return {
        "strategy": split.get("strategy", ""),
        "seed": split.get("seed", 0),
        "test_size": split.get("test_size", 0.0),
        "validation_size": split.get("validation_size", 0.0),
        "options": split.get("options") or {},
        "counts": split.get("counts") or {},
    }


def _summary(version: DatasetVersion, scope: Scope) -> dict[str, Any]:
    report = version.report
    return {
        "id": version.id,
        "name": version.name,
        "version": version.version,
        "owner": _owner_names(scope).get(version.org_id, version.org_id),
        "operation": version.operation,
        "parent_id": version.parent_id,
        "rows": version.row_count,
        "columns": len(version.schema),
        "schema": version.schema,
        "roles": version.roles,
        "split": _split_out(version.split),
        "quality": {
            "rows": int(report.get("rows", version.row_count)),
            "columns": int(report.get("columns", len(version.schema))),
            "duplicate_rows": int(report.get("duplicate_rows", 0)),
            "label_balance": report.get("label_balance") or {},
            "warnings": report.get("warnings") or [],
        },
        "created_at": version.created_at,
        "erased_at": version.erased_at,
    }


def _made(
    version: DatasetVersion, scope: Scope, created: bool, response: Response
) -> dict[str, Any]:
    response.status_code = 201 if created else 200
    source = version.manifest.get("source")
    return {**_summary(version, scope), "created": created, "source": source}


# ------------------------------------------------------------------- routes
@router.post(
    "",
    response_model=DatasetMadeOut,
    status_code=201,
    responses={
        **_MADE,
        **problems(
            "unsupported_media_type",
            "binary_file",
            "encoding_error",
            "unknown_encoding",
            "empty_file",
            "header_only",
            "ragged_rows",
            "invalid_xlsx",
            "invalid_parquet",
            "invalid_json",
            "unterminated_quote",
            "unparseable_csv",
            "duplicate_columns",
            "type_override_failed",
            "unknown_column",
            "invalid_mask_pii",
            "mask_pii_type",
            "artifact_store_unavailable",
            "artifact_write_failed",
        ),
    },
    openapi_extra={"requestBody": upload_body()},
)
async def upload_dataset(
    request: Request,
    response: Response,
    principal: Principal = require("datasets:write"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Upload a file as a new version of a dataset (``baryon data ingest`` over HTTP).

    A ``multipart/form-data`` body with the file in ``file`` and the fields ``name``
    and, optionally, ``format``, ``delimiter``, ``encoding``, ``role`` and ``type``
    (``COLUMN=ROLE`` / ``COLUMN=TYPE``, one per field, repeatable) and ``mask_pii``
    (a column to mask before anything is stored, repeatable). The body is
    streamed to disk: a body over ``BARYON_MAX_UPLOAD_BYTES`` is 413
    ``upload_too_large`` and nothing is kept. The file gets the same checks and
    named errors as the command line (``empty_file``, ``header_only``,
    ``encoding_error``, ``ragged_rows``, ...). The same bytes with the same options
    again answer 200 with the existing version.
    """
    async with receive_upload(
        request,
        directory=state.settings.home / "tmp",
        max_bytes=state.settings.max_upload_bytes,
        fields=UPLOAD_FIELDS,
    ) as upload:
        return await run_in_threadpool(_ingest, state, principal, upload, response)


def _ingest(
    state: AppState, principal: Principal, upload: Upload, response: Response
) -> dict[str, Any]:
    ws = state.workspace_for(principal.org_id)
    version, created = ingest_upload(ws, upload, actor=principal.actor)
    return _made(version, ws.scope, created, response)


@router.get("", response_model=list[DatasetVersionOut])
def list_datasets(
    principal: Principal = require("datasets:read"), state: AppState = Depends(get_state)
) -> list[dict[str, Any]]:
    """The latest version of every dataset you own or that was shared with you, by name."""
    ws = state.workspace_for(principal.org_id)
    return [_summary(v, ws.scope) for v in ws.datasets.list()]


@router.get("/{name}", response_model=DatasetDetailOut)
def get_dataset(
    name: str = _NAME,
    version: int | None = _VERSION,
    owner: str | None = _OWNER,
    principal: Principal = require("datasets:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """A version (the latest by default): schema, roles, quality report, split, lineage
    and, for an ``append`` version, the provenance of its new rows."""
    ws = state.workspace_for(principal.org_id)
    found = ws.datasets.get(name, version, owner=owner)
    manifest = found.manifest
    lineage = ws.datasets.lineage(found.name, found.version, owner=owner)
    return {
        **_summary(found, ws.scope),
        "report": found.report,
        "source": manifest.get("source"),
        "options": manifest.get("options") or {},
        "steps": manifest.get("steps") or [],
        "lineage": [{"id": v.id, "version": v.version, "operation": v.operation} for v in lineage],
        "provenance": found.lineage,
    }


@router.get("/{name}/versions", response_model=list[DatasetHistoryOut])
def get_dataset_versions(
    name: str = _NAME,
    owner: str | None = _OWNER,
    principal: Principal = require("datasets:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """Every version of a dataset, oldest first, each with its parent and steps."""
    ws = state.workspace_for(principal.org_id)
    history = ws.datasets.history(name, owner=owner)
    numbers = {v.id: v.version for v in history}
    return [
        {
            **_summary(v, ws.scope),
            "parent_version": numbers.get(v.parent_id) if v.parent_id else None,
            "steps": v.manifest.get("steps") or [],
        }
        for v in history
    ]


@router.post(
    "/{name}/clean",
    response_model=DatasetMadeOut,
    status_code=201,
    responses={
        **_MADE,
        **problems("invalid_recipe", "unknown_step", "invalid_step_args", "unknown_column"),
    },
)
def clean_dataset(
    body: CleanDatasetRequest,
    response: Response,
    name: str = _NAME,
    version: int | None = _VERSION,
    owner: str | None = _OWN,
    principal: Principal = require("datasets:write"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Apply cleaning steps (or a recipe) to a version and store the result as a new one.

    The steps of ``baryon data clean``; only your own datasets can be cleaned.
    """
    steps: list[Any] = list(body.steps or []) if body.recipe is None else read_recipe(body.recipe)
    ws = state.workspace_for(principal.org_id)
    before = set(ws.datasets.version_ids(name))
    made = ws.datasets.clean(name, steps, version=version, owner=owner, actor=principal.actor)
    return _made(made, ws.scope, made.id not in before, response)


@router.post(
    "/{name}/split",
    response_model=DatasetMadeOut,
    status_code=201,
    responses={
        **_MADE,
        **problems(
            "invalid_split", "invalid_split_size", "missing_role", "unknown_column", "too_few_rows"
        ),
    },
)
def split_dataset(
    body: SplitDatasetRequest,
    response: Response,
    name: str = _NAME,
    version: int | None = _VERSION,
    owner: str | None = _OWN,
    principal: Principal = require("datasets:write"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Record a seeded train/validation/test split as a new version (``baryon data split``).

    Only your own datasets can be split.
    """
    options = split_options(
        body.strategy,
        label=body.label,
        time_column=body.time_column,
        user_column=body.user_column,
        fraction=body.fraction,
        last_n=body.last_n,
    )
    ws = state.workspace_for(principal.org_id)
    before = set(ws.datasets.version_ids(name))
    made = ws.datasets.split(
        name,
        strategy=body.strategy,
        test_size=body.test_size,
        validation_size=body.validation_size,
        seed=body.seed,
        version=version,
        owner=owner,
        actor=principal.actor,
        **options,
    )
    return _made(made, ws.scope, made.id not in before, response)


@router.get(
    "/{name}/export",
    response_class=StreamingResponse,
    responses={
        **problems("no_split"),
        200: {
            "description": "The file, as an attachment",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in _MEDIA_TYPES.values()
            },
        },
    },
)
def export_dataset(
    name: str = _NAME,
    version: int | None = _VERSION,
    owner: str | None = _OWNER,
    format: Annotated[str, Query(), OneOf(EXPORT_FORMATS, "invalid_format", "format")] = "csv",
    split: Annotated[str, OneOf(SPLIT_NAMES, "invalid_split", "split")] | None = Query(
        None, description="Only the train, validation or test rows."
    ),
    principal: Principal = require("datasets:read"),
    state: AppState = Depends(get_state),
) -> StreamingResponse:
    """Download a version (or one split of it) as a file (``baryon data export``).

    A version with a split gets a ``split`` column unless one split is asked for.
    """
    ws = state.workspace_for(principal.org_id)
    found = ws.datasets.get(name, version, owner=owner)
    # removed before the download starts: an open handle keeps the data readable
    with scratch_dir(state.settings.home / "tmp", prefix="export-") as workdir:
        suffix = "" if split is None else f"-{split}"
        filename = f"{found.name}-v{found.version}{suffix}"
        result = export_version(found, workdir / filename, split=split, format=format)
        fmt = str(result["format"])
        handle = Path(result["path"]).open("rb")  # noqa: SIM115 (closed by _chunks)
    size = os.fstat(handle.fileno()).st_size
    return StreamingResponse(
        _chunks(handle),
        media_type=_MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}.{fmt}"',
            "Content-Length": str(size),
        },
    )


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk
