"""Labeling queues and annotation: ``/v1/labeling``.

==============================================  =====================
route                                           permission
==============================================  =====================
``GET  /v1/labeling/queues``                    ``labeling:read``
``POST /v1/labeling/queues``                    ``labeling:write``
``GET  /v1/labeling/queues/{name}``             ``labeling:read``
``PATCH /v1/labeling/queues/{name}``            ``labeling:write``
``GET  /v1/labeling/queues/{name}/tasks``       ``labeling:read``
``POST /v1/labeling/queues/{name}/claim``       ``labeling:annotate``
``GET  /v1/labeling/tasks/{task_id}``           ``labeling:read``
``POST /v1/labeling/tasks/{task_id}/annotations``  ``labeling:annotate``
``POST /v1/labeling/tasks/{task_id}/skip``      ``labeling:annotate``
``POST /v1/labeling/tasks/{task_id}/review``    ``labeling:review``
==============================================  =====================

The annotator is the key's user (the key itself for a key without a user). Routes
validate, call one function of :mod:`baryon.labeling` in the caller's organization
scope (another organization's queue or task is a 404) and shape the answer; writes
take an ``Idempotency-Key``. A task's annotations are shown in full to keys that may
manage or review queues; an annotator sees only their own.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from baryon.core.refs import NAME_PATTERN
from baryon.labeling.annotation import claim_next, review_task, skip_task, submit_label
from baryon.labeling.service import (
    create_queue,
    get_task,
    list_queues,
    list_tasks,
    queue_classes,
    queue_progress,
    update_queue,
)
from baryon.serving.auth import Principal, require
from baryon.serving.deps import AppState, get_state
from baryon.serving.fields import IdempotencyKey
from baryon.serving.labeling_schemas import (
    ClaimOut,
    CreateQueueRequest,
    QueueDetailOut,
    QueueOut,
    ReviewRequest,
    SkipRequest,
    SubmissionOut,
    SubmitLabelRequest,
    TaskOut,
    UpdateQueueRequest,
)
from baryon.serving.openapi import PROBLEMS, problems
from baryon.serving.routers._common import json_bytes, run_write

__all__ = ["router"]

router = APIRouter(prefix="/v1/labeling", tags=["labeling"], responses=PROBLEMS)

_NAME = f"^{NAME_PATTERN}$"
QueueName = Path(max_length=100, pattern=_NAME, description="The queue's name.")
TaskId = Path(max_length=40, description="The task's id (task_...).")


def _sees_everyone(principal: Principal) -> bool:
    return bool({"labeling:write", "labeling:review"} & principal.permissions)


# -------------------------------------------------------------------- queues
@router.get("/queues", response_model=list[QueueOut])
def get_queues(
    principal: Principal = require("labeling:read"), state: AppState = Depends(get_state)
) -> list[dict[str, Any]]:
    """The organization's labeling queues, by name."""
    with state.transaction(principal.own_scope) as session:
        return [q.to_dict() for q in list_queues(session)]


@router.post(
    "/queues",
    response_model=QueueOut,
    status_code=201,
    responses=problems("queue_exists", "no_model_classes"),
)
def post_queue(
    body: CreateQueueRequest,
    request: Request,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("labeling:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Create a queue for a model (yours or shared with you); audited.

    ``classes`` default to the model champion's; given, they must be some of them
    (422 ``unknown_label``). A name in use is a 409 (``queue_exists``); a model
    without classes and none given is a 422 (``no_model_classes``).
    """
    classes = queue_classes(
        state.resolver, body.model, scope=state.scope_of(principal.org_id), classes=body.classes
    )

    def work(session: Session) -> dict[str, Any]:
        return create_queue(
            session, org_id=principal.org_id, name=body.name, model_name=body.model,
            classes=classes, overlap=body.overlap, min_agreement=body.min_agreement,
            instructions=body.instructions, actor=principal.actor, clock=state.clock,
        ).to_dict()  # fmt: skip

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.get("/queues/{name}", response_model=QueueDetailOut)
def get_queue_detail(
    name: str = QueueName,
    principal: Principal = require("labeling:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """A queue with its progress: tasks by status, annotations per annotator."""
    with state.transaction(principal.own_scope) as session:
        return queue_progress(
            session, name, claim_seconds=state.settings.labeling_claim_seconds, clock=state.clock
        ).to_dict()


@router.patch("/queues/{name}", response_model=QueueOut)
def patch_queue(
    body: UpdateQueueRequest,
    request: Request,
    name: str = QueueName,
    principal: Principal = require("labeling:write"),
    state: AppState = Depends(get_state),
) -> Response:
    """Change overlap, min_agreement or instructions (audited). A lower overlap
    decides at once the open tasks that now have enough labels."""

    def work(session: Session) -> dict[str, Any]:
        return update_queue(
            session, name, overlap=body.overlap, min_agreement=body.min_agreement,
            instructions=body.instructions, actor=principal.actor, clock=state.clock,
        ).to_dict()  # fmt: skip

    return run_write(state, principal, request, work, body=body)


@router.get("/queues/{name}/tasks", response_model=list[TaskOut])
def get_tasks(
    name: str = QueueName,
    status: Literal["open", "review", "done", "skipped"] | None = Query(None),
    limit: int = Query(50, ge=1, le=1000),
    principal: Principal = require("labeling:read"),
    state: AppState = Depends(get_state),
) -> list[dict[str, Any]]:
    """A queue's tasks, highest priority then oldest first (without annotations)."""
    with state.transaction(principal.own_scope) as session:
        return [t.to_dict() for t in list_tasks(session, name, status=status, limit=limit)]


@router.post(
    "/queues/{name}/claim",
    response_model=ClaimOut,
    responses={204: {"description": "Nothing for you to label in this queue now"}},
)
def post_claim(
    name: str = QueueName,
    principal: Principal = require("labeling:annotate"),
    state: AppState = Depends(get_state),
) -> Response:
    """Claim the next task: highest priority, then oldest, that you have not labeled
    or skipped and that has a free slot. Claiming again returns your live claim;
    nothing to do is a 204. A claim lasts ``BARYON_LABELING_CLAIM_SECONDS``."""
    with state.transaction(principal.own_scope) as session:
        claim = claim_next(
            session, name, annotator=principal.annotator,
            claim_seconds=state.settings.labeling_claim_seconds, clock=state.clock,
        )  # fmt: skip
    if claim is None:
        return Response(status_code=204)
    return Response(json_bytes(claim.to_dict()), media_type="application/json")


# --------------------------------------------------------------------- tasks
@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_one_task(
    task_id: str = TaskId,
    principal: Principal = require("labeling:read"),
    state: AppState = Depends(get_state),
) -> dict[str, Any]:
    """One task with its annotations (an annotator sees only their own)."""
    visible_to = None if _sees_everyone(principal) else principal.annotator
    with state.transaction(principal.own_scope) as session:
        return get_task(session, task_id, visible_to=visible_to).to_dict()


@router.post(
    "/tasks/{task_id}/annotations",
    response_model=SubmissionOut,
    status_code=201,
    responses=problems(
        "task_not_open", "already_annotated", "already_skipped", "task_full", "unknown_label"
    ),
)
def post_annotation(
    body: SubmitLabelRequest,
    request: Request,
    task_id: str = TaskId,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("labeling:annotate"),
    state: AppState = Depends(get_state),
) -> Response:
    """Your label for a task (one of the queue's classes, else 422 ``unknown_label``).

    The task's *k*-th label decides it: ``done`` with the majority label, or
    ``review`` on a tie or low agreement. A task not open is a 409
    (``task_not_open``), one whose slots are all held by others too (``task_full``).
    """

    def work(session: Session) -> dict[str, Any]:
        return submit_label(
            session, task_id, annotator=principal.annotator, label=body.label,
            seconds=body.seconds, claim_seconds=state.settings.labeling_claim_seconds,
            clock=state.clock,
        ).to_dict()  # fmt: skip

    return run_write(
        state, principal, request, work, body=body, idempotency_key=idempotency_key,
        status_code=201,
    )  # fmt: skip


@router.post(
    "/tasks/{task_id}/skip",
    response_model=SubmissionOut,
    responses=problems("task_not_open", "already_annotated", "already_skipped", "task_busy"),
)
def post_skip(
    body: SkipRequest,
    request: Request,
    task_id: str = TaskId,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("labeling:annotate"),
    state: AppState = Depends(get_state),
) -> Response:
    """Skip a task with a reason: it is never offered to you again, and its slot goes
    to someone else. After ``BARYON_LABELING_MAX_SKIPS`` skips the task leaves the
    queue (``skipped``, or ``review`` if it has labels)."""

    def work(session: Session) -> dict[str, Any]:
        return skip_task(
            session, task_id, annotator=principal.annotator, reason=body.reason,
            seconds=body.seconds, max_skips=state.settings.labeling_max_skips,
            clock=state.clock,
        ).to_dict()  # fmt: skip

    return run_write(state, principal, request, work, body=body, idempotency_key=idempotency_key)


@router.post("/tasks/{task_id}/review", response_model=TaskOut, responses=problems("unknown_label"))
def post_review(
    body: ReviewRequest,
    request: Request,
    task_id: str = TaskId,
    idempotency_key: IdempotencyKey | None = Header(None),
    principal: Principal = require("labeling:review"),
    state: AppState = Depends(get_state),
) -> Response:
    """Set the final label of a task (in review, or any other) → ``done`` with
    resolution ``review``; audited."""

    def work(session: Session) -> dict[str, Any]:
        return review_task(
            session, task_id, label=body.label, actor=principal.actor, clock=state.clock
        ).to_dict()

    return run_write(state, principal, request, work, body=body, idempotency_key=idempotency_key)
