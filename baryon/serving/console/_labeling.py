"""Labeling: the queues (progress, agreement), one queue's tasks, the annotation screen.

Domain calls, as the ``/v1/labeling`` routes: :func:`baryon.labeling.service.list_queues`,
:func:`~baryon.labeling.service.queue_progress`, :func:`~baryon.labeling.service.list_tasks`,
:func:`baryon.labeling.agreement.load_ratings` (``GET /v1/labeling/queues/{name}/agreement``),
and :func:`baryon.labeling.annotation.claim_next`, :func:`~baryon.labeling.annotation.submit_label`,
:func:`~baryon.labeling.annotation.skip_task` for the annotation screen. Every call runs
in the organization's own scope (another organization's queue or task is a 404).

The annotation screen shows one task at a time: opening it claims the next task for the
signed-in key's annotator (a claim is a lease of ``BARYON_LABELING_CLAIM_SECONDS``,
renewed when the page is opened again, exactly like ``POST .../claim``). The choices are
buttons; ``static/console.js`` binds the keys 1–9 to the choices, ``n`` or Enter to
"label and next", ``s`` to "skip". Reading needs ``labeling:read``, labeling and
skipping ``labeling:annotate``.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from baryon.core.errors import BaryonError
from baryon.core.refs import NAME_PATTERN
from baryon.labeling.agreement import load_ratings
from baryon.labeling.annotation import claim_next, skip_task, submit_label
from baryon.labeling.limits import TASK_STATUSES
from baryon.labeling.queue import get_queue
from baryon.labeling.service import get_task, list_queues, list_tasks, queue_progress
from baryon.serving.console._app import Page, base_path, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.deps import AppState

__all__ = ["router"]

router = APIRouter()
#: Queues per page of the list, and tasks per page of a queue.
PAGE_SIZE = 25
_NAME = Path(max_length=100, pattern=f"^{NAME_PATTERN}$")
_TASK = Path(max_length=40, pattern=r"^[A-Za-z0-9_]{1,40}$")
_DONE = {"labeled": "Label saved.", "skipped": "Task skipped."}
#: The reason recorded for a skip from the annotation screen.
SKIP_REASON = "skipped in the console"


def _agreement(report: Any) -> dict[str, Any]:
    return {
        "percent": report.percent_agreement,
        "alpha": report.krippendorff_alpha.value,
        "alpha_note": report.krippendorff_alpha.note,
        "shared": report.shared_tasks,
        "annotations": report.annotations,
    }


@router.get("/labeling", include_in_schema=False)
def queues(
    request: Request,
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("labeling:read"),
) -> Response:
    """The organization's queues, a page at a time: tasks by status and agreement."""
    state = console_state(request)
    claim = state.settings.labeling_claim_seconds
    rows = []
    with state.transaction(user.principal.own_scope) as session:
        found = list_queues(session)
        pager = Page(page, PAGE_SIZE, len(found))
        for queue in found[pager.offset : pager.offset + PAGE_SIZE]:
            progress = queue_progress(session, queue.name, claim_seconds=claim, clock=state.clock)
            ratings = load_ratings(session, get_queue(session, queue.name))
            rows.append((progress, ratings))
    shown = [(progress, _agreement(ratings.report())) for progress, ratings in rows]
    return render(
        request, "labeling.html", user, title="Labeling", nav="labeling", queues=shown,
        page=pager,
    )  # fmt: skip


@router.get("/labeling/{name}", include_in_schema=False)
def queue(
    request: Request,
    name: str = _NAME,
    status: Literal["open", "review", "done", "skipped"] | None = Query(None),
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("labeling:read"),
) -> Response:
    """A queue: progress, annotators, agreement, and its tasks a page at a time."""
    state = console_state(request)
    with state.transaction(user.principal.own_scope) as session:
        progress = queue_progress(
            session, name, claim_seconds=state.settings.labeling_claim_seconds, clock=state.clock
        )
        total = progress.tasks["total"] if status is None else progress.tasks[status]
        pager = Page(page, PAGE_SIZE, total)
        tasks = list_tasks(session, name, status=status, limit=PAGE_SIZE, offset=pager.offset)
        ratings = load_ratings(session, get_queue(session, name))
    report = ratings.report()
    query = urlencode({"status": status}) if status else ""
    return render(
        request, "labeling_queue.html", user, title=f"Queue {progress.queue.name}",
        nav="labeling", progress=progress, tasks=tasks, page=pager, task_status=status,
        statuses=TASK_STATUSES, agreement=_agreement(report), report=report,
        page_href=f"?{query}&" if query else "?",
    )  # fmt: skip


def _annotate_page(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    name: str,
    *,
    status: int = 200,
    done: str | None = None,
    error: BaryonError | None = None,
) -> Response:
    principal = user.principal
    with state.transaction(principal.own_scope) as session:
        claim = claim_next(
            session, name, annotator=principal.annotator,
            claim_seconds=state.settings.labeling_claim_seconds, clock=state.clock,
        )  # fmt: skip
        progress = queue_progress(
            session, name, claim_seconds=state.settings.labeling_claim_seconds, clock=state.clock
        )
    return render(
        request, "annotate.html", user, status=status, title=f"Label {progress.queue.name}",
        nav="labeling", claim=claim, progress=progress, done=_DONE.get(done or ""),
        error=error,
    )  # fmt: skip


@router.get("/labeling/{name}/annotate", include_in_schema=False)
def annotate(
    request: Request,
    name: str = _NAME,
    done: str | None = Query(None, max_length=20),
    user: ConsoleUser = console_require("labeling:annotate"),
) -> Response:
    """The annotation screen: claims (or renews) the next task and shows it."""
    return _annotate_page(request, console_state(request), user, name, done=done)


def _next(request: Request, queue_name: str, done: str) -> Response:
    url = f"{base_path(request)}/labeling/{quote(queue_name)}/annotate?done={done}"
    return RedirectResponse(url, status_code=303)


def _queue_of_task(state: AppState, user: ConsoleUser, task_id: str) -> str:
    with state.transaction(user.principal.own_scope) as session:
        return get_task(session, task_id, visible_to=user.principal.annotator).queue


@router.post("/labeling/tasks/{task_id}/label", include_in_schema=False)
def label(
    request: Request,
    task_id: str = _TASK,
    label: str = Form(min_length=1, max_length=200),
    user: ConsoleUser = console_require("labeling:annotate"),
) -> Response:
    """Save the signed-in annotator's label, then show the next task."""
    state = console_state(request)
    principal = user.principal
    queue_name = _queue_of_task(state, user, task_id)
    try:
        with state.transaction(principal.own_scope) as session:
            submit_label(
                session, task_id, annotator=principal.annotator, label=label,
                claim_seconds=state.settings.labeling_claim_seconds, clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404:
            raise
        return _annotate_page(request, state, user, queue_name, status=exc.http_status, error=exc)
    return _next(request, queue_name, "labeled")


@router.post("/labeling/tasks/{task_id}/skip", include_in_schema=False)
def skip(
    request: Request,
    task_id: str = _TASK,
    reason: str = Form(SKIP_REASON, min_length=1, max_length=200),
    user: ConsoleUser = console_require("labeling:annotate"),
) -> Response:
    """Skip the task for the signed-in annotator, then show the next one."""
    state = console_state(request)
    principal = user.principal
    queue_name = _queue_of_task(state, user, task_id)
    try:
        with state.transaction(principal.own_scope) as session:
            skip_task(
                session, task_id, annotator=principal.annotator, reason=reason,
                max_skips=state.settings.labeling_max_skips, clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404:
            raise
        return _annotate_page(request, state, user, queue_name, status=exc.http_status, error=exc)
    return _next(request, queue_name, "skipped")
