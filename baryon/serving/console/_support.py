"""The support hand-off inbox: list, read, answer, close, send to labeling.

Domain calls: :func:`baryon.solutions.support.service.list_handoffs` (a page, with
:func:`baryon.solutions.support.inbox.count_handoffs`),
:func:`~baryon.solutions.support.inbox.get_handoff`,
:func:`~baryon.solutions.support.inbox.answer_handoff`,
:func:`~baryon.solutions.support.inbox.close_handoff` and
:func:`~baryon.solutions.support.inbox.send_to_labeling` (its queue's classes from
:func:`baryon.labeling.service.queue_classes`, as ``POST /v1/labeling/queues``), each in
the organization's own scope and audited.

Reading needs ``predictions:read`` (hand-offs hold customers' texts), answering and
closing ``feedback:write``, sending to labeling ``labeling:write``.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from baryon.core.errors import BaryonError
from baryon.labeling.service import queue_classes
from baryon.serving.console._app import Page, base_path, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.deps import AppState
from baryon.solutions.support.inbox import (
    MAX_ANSWER_CHARS,
    answer_handoff,
    close_handoff,
    count_handoffs,
    get_handoff,
    send_to_labeling,
)
from baryon.solutions.support.service import list_handoffs

__all__ = ["router"]

router = APIRouter()
#: Hand-offs per page of the inbox.
PAGE_SIZE = 25
_ID = Path(max_length=40, pattern=r"^[A-Za-z0-9_]{1,40}$")
_DONE = {
    "answered": "Answer saved.",
    "closed": "Hand-off closed.",
    "labeling": "Sent to labeling.",
}


@router.get("/support", include_in_schema=False)
def inbox(
    request: Request,
    status: Literal["open", "closed", "all"] = Query("open"),
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("predictions:read"),
) -> Response:
    """The hand-offs (open ones by default), newest first, a page at a time."""
    state = console_state(request)
    principal = user.principal
    wanted = None if status == "all" else status
    with state.transaction(principal.own_scope) as session:
        pager = Page(page, PAGE_SIZE, count_handoffs(session, principal.org_id, status=wanted))
        found = list_handoffs(
            session, principal.org_id, status=wanted, limit=PAGE_SIZE, offset=pager.offset
        )
    return render(
        request, "support.html", user, title="Support inbox", nav="support", handoffs=found,
        page=pager, filter_status=status, page_href=f"?status={status}&",
    )  # fmt: skip


def _handoff_page(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    prediction_id: str,
    *,
    status: int = 200,
    done: str | None = None,
    error: BaryonError | None = None,
) -> Response:
    principal = user.principal
    with state.transaction(principal.own_scope) as session:
        found = get_handoff(session, principal.org_id, prediction_id)
    return render(
        request, "handoff.html", user, status=status, title="Hand-off", nav="support",
        h=found, done=_DONE.get(done or ""), error=error, max_answer=MAX_ANSWER_CHARS,
    )  # fmt: skip


@router.get("/support/{prediction_id}", include_in_schema=False)
def handoff(
    request: Request,
    prediction_id: str = _ID,
    done: str | None = Query(None, max_length=20),
    user: ConsoleUser = console_require("predictions:read"),
) -> Response:
    """One hand-off: the customer's text, the model's guess, the answer, actions."""
    return _handoff_page(request, console_state(request), user, prediction_id, done=done)


def _back(request: Request, prediction_id: str, done: str) -> Response:
    url = f"{base_path(request)}/support/{quote(prediction_id)}?done={done}"
    return RedirectResponse(url, status_code=303)


@router.post("/support/{prediction_id}/answer", include_in_schema=False)
def answer(
    request: Request,
    prediction_id: str = _ID,
    text: str = Form("", max_length=MAX_ANSWER_CHARS + 1),
    close: bool = Form(False),
    user: ConsoleUser = console_require("feedback:write"),
) -> Response:
    """Save an answer to the customer; with ``close``, close the hand-off too."""
    state = console_state(request)
    principal = user.principal
    try:
        with state.transaction(principal.own_scope) as session:
            if close:
                close_handoff(
                    session, principal.org_id, prediction_id, answer=text or None,
                    actor=principal.actor, clock=state.clock,
                )  # fmt: skip
            else:
                answer_handoff(
                    session, principal.org_id, prediction_id, answer=text,
                    actor=principal.actor, clock=state.clock,
                )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404:
            raise
        return _handoff_page(request, state, user, prediction_id, status=exc.http_status, error=exc)
    return _back(request, prediction_id, "closed" if close else "answered")


@router.post("/support/{prediction_id}/label", include_in_schema=False)
def label(
    request: Request,
    prediction_id: str = _ID,
    user: ConsoleUser = console_require("labeling:write"),
) -> Response:
    """Queue the hand-off's text on its model's labeling queue."""
    state = console_state(request)
    principal = user.principal
    try:
        with state.transaction(principal.own_scope) as session:
            model = get_handoff(session, principal.org_id, prediction_id)["model"]
        classes = queue_classes(state.resolver, model, scope=state.scope_of(principal.org_id))
        with state.transaction(principal.own_scope) as session:
            send_to_labeling(
                session, principal.org_id, prediction_id, classes=classes,
                actor=principal.actor, clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404 and exc.code == "handoff_not_found":
            raise
        return _handoff_page(request, state, user, prediction_id, status=exc.http_status, error=exc)
    return _back(request, prediction_id, "labeling")
