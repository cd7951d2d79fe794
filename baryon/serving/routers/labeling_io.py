"""A labeling queue's agreement report, and its labels out and in as files.

===================================================  ===================
route                                                permission
===================================================  ===================
``GET /v1/labeling/queues/{name}/agreement``         ``labeling:read``
``GET /v1/labeling/queues/{name}/export``            ``labeling:write``
``POST /v1/labeling/queues/{name}/import``           ``labeling:write``
===================================================  ===================

Exports hold the tasks' inputs (customers' texts), so they need ``labeling:write``
like imports, not just ``labeling:read``. Another organization's queue is a 404
``queue_not_found``, as is a queue that does not exist.

The import body is the file itself (``format`` says which: ``label-studio``,
``csv`` or ``jsonl``), capped like every body by ``BARYON_MAX_BODY_BYTES`` (413
``payload_too_large``). A file that cannot be read is 422 ``malformed_import`` (with
the line), an empty one 422 ``empty_import``; a file with bad tasks imports nothing
and is 422 ``import_rejected`` whose ``details`` is the report (``bad_tasks``: each
bad task and why). ``dry_run=true`` answers the report without writing. An
``Idempotency-Key`` makes a retry answer the first report; without one, importing
the same file again adds nothing (annotations already there count as
``unchanged``). Domain rules: :mod:`baryon.labeling.interop` and
:mod:`baryon.labeling.agreement`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi import Path as PathParam
from pydantic import Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from baryon.commerce.metering import Executor, check_idempotency_key, request_fingerprint
from baryon.labeling.agreement import load_ratings
from baryon.labeling.interop import (
    DEFAULT_FROM_NAME,
    FORMATS,
    MEDIA_TYPES,
    TASK_STATUSES,
    export_labels,
    import_labels,
)
from baryon.labeling.queue import get_queue
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey, OneOf, named
from baryon.serving.labeling_io_schemas import AgreementOut, ImportReportOut
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import idempotent_write, json_bytes

__all__ = ["router"]

router = APIRouter(prefix="/v1/labeling/queues", tags=["labeling"], responses=PROBLEMS)

_NAME = PathParam(min_length=1, max_length=200, description="Queue name.")
Format = Annotated[
    str,
    Query(description="label-studio, csv or jsonl.", examples=["csv"]),
    OneOf(FORMATS, "unknown_format", "format"),
]
_FROM_NAME = Query(
    DEFAULT_FROM_NAME, min_length=1, max_length=100, description="Label Studio's Choices control."
)
InputField = Annotated[
    str,
    Field(min_length=1, max_length=100),
    named("invalid_input_fields", "an input field name is 1 to 100 characters"),
]
#: A Label Studio export is JSON: a list of tasks (the other formats are text files).
_FILE_SCHEMAS: dict[str, dict[str, Any]] = {
    "application/json": {"type": "array", "items": {"type": "object"}},
}
_EXTENSIONS = {"label-studio": "json", "csv": "csv", "jsonl": "jsonl"}
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_IMPORT_BODY: dict[str, Any] = {
    "required": True,
    "description": "The file as it is: a Label Studio JSON export, CSV or JSON Lines (the "
    "format query parameter says which; the Content-Type header is not read).",
    "content": {
        media: {"schema": {"type": "string", "format": "binary"}}
        for media in ("application/json", "text/csv", "application/octet-stream")
    },
}


@router.get("/{name}/agreement", response_model=AgreementOut)
def get_agreement(
    name: str = _NAME,
    principal: Principal = require("labeling:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """Inter-annotator agreement of a queue, per queue and per annotator.

    Cohen's kappa (two annotators), Fleiss' kappa, Krippendorff's alpha (nominal,
    missing data), each pair's Cohen's kappa, and per annotator the mean pairwise
    kappa and the agreement with the consensus. An undefined measure is ``null``
    with a ``note`` saying why.
    """
    with state.transaction(principal.own_scope) as session:
        queue = get_queue(session, name)
        queue_name, ratings = queue.name, load_ratings(session, queue)
    return {"queue": queue_name, **ratings.report().to_dict()}


@router.get(
    "/{name}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The file, as an attachment",
            "content": {
                media: {"schema": _FILE_SCHEMAS.get(media, {"type": "string", "format": "binary"})}
                for media in MEDIA_TYPES.values()
            },
        }
    },
)
def export_queue(
    name: str = _NAME,
    format: Format = "label-studio",
    status: Annotated[str, OneOf(TASK_STATUSES, "invalid_status", "status")] | None = Query(
        None, description="Only tasks with this status: open, review, done, skipped."
    ),
    from_name: str = _FROM_NAME,
    principal: Principal = require("labeling:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Download a queue's tasks with their annotations and suggestions as a file."""
    with state.transaction(principal.own_scope) as session:
        queue = get_queue(session, name)
        data = export_labels(session, queue, format=format, status=status, from_name=from_name)
        filename = f"{_UNSAFE.sub('_', queue.name)}-labels.{_EXTENSIONS[format]}"
    return Response(
        data,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/{name}/import",
    response_model=ImportReportOut,
    responses=problems("malformed_import", "empty_import", "import_rejected"),
    openapi_extra={"requestBody": _IMPORT_BODY},
)
async def import_queue(
    request: Request,
    name: str = _NAME,
    format: Format = "label-studio",
    from_name: str = _FROM_NAME,
    to_name: str | None = Query(
        None,
        min_length=1,
        max_length=100,
        description="The Label Studio object results name (default: text, else the first "
        "input field).",
    ),
    input_field: list[InputField] | None = Query(
        None,
        max_length=50,
        description="The input's fields (repeatable; default: those of the queue's tasks, "
        "else text).",
    ),
    dry_run: bool = Query(False, description="Check and report; write nothing."),
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("labeling:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Import a Label Studio export, CSV or JSONL file into a queue: all or nothing.

    Answers the report: tasks created or merged, annotations added or already there,
    tasks done, in review or skipped after the import. Any bad task (unknown
    ``from_name``, missing ``result``, a choice outside the queue's classes, no input
    field, a conflict with the queue's annotations) makes it 422
    ``import_rejected`` with every bad task and why; nothing is imported then.
    """
    fields = list(input_field or [])
    data = await request.body()
    fingerprint = None
    if idempotency_key is not None:
        check_idempotency_key(idempotency_key)
        fingerprint = request_fingerprint(request.method, request.url.path, request.url.query, data)

    def work(session: Executor) -> bytes:
        assert isinstance(session, Session)
        queue = get_queue(session, name)
        report = import_labels(
            session,
            queue,
            data,
            format=format,
            clock=state.clock,
            actor=principal.actor,
            from_name=from_name,
            to_name=to_name,
            input_fields=fields or None,
            dry_run=dry_run,
            may_review="labeling:review" in principal.permissions,
            max_text_chars=state.settings.max_text_chars,
        )
        return json_bytes({"queue": queue.name, **report.to_dict()})

    return await run_in_threadpool(
        idempotent_write,
        state,
        principal,
        lambda: state.transaction(principal.own_scope),
        work,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        status_code=200,
    )
