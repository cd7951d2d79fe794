"""Iterations: the list, and one iteration's board (Kanban columns, goal trajectories).

Domain calls, as the ``/v1/iterations`` routes:
:func:`baryon.flywheel.iterations.list_iterations`,
:func:`~baryon.flywheel.iterations.show_iteration` (goals with their trajectories
across flywheel cycles, items by state with their linked objects' status),
:func:`~baryon.flywheel.iterations.add_item` (a free-text ``task`` item) and
:func:`~baryon.flywheel.iterations.update_item` (move to another column). Reading needs
``iterations:read``, the forms ``iterations:write`` (audited, as over HTTP). A closed
iteration refuses every change (409 ``iteration_closed``), shown on the page.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from baryon.core.errors import BaryonError
from baryon.flywheel.iterations import (
    ITEM_STATES,
    add_item,
    list_iterations,
    show_iteration,
    update_item,
)
from baryon.serving.console._app import Page, base_path, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.deps import AppState

__all__ = ["router"]

router = APIRouter()
#: Iterations per page of the list.
PAGE_SIZE = 25
_ITERATION = Path(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_ITEM = Path(max_length=40, pattern=r"^[A-Za-z0-9_]{1,40}$")
_DONE = {"added": "Item added.", "moved": "Item moved."}


@router.get("/iterations", include_in_schema=False)
def iterations(
    request: Request,
    status: Literal["open", "closed"] | None = Query(None),
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("iterations:read"),
) -> Response:
    """The organization's iterations, newest time box first, with item counts."""
    state = console_state(request)
    with state.transaction(user.principal.own_scope) as session:
        found = list_iterations(session, status=status)
    pager = Page(page, PAGE_SIZE, len(found))
    return render(
        request, "iterations.html", user, title="Iterations", nav="iterations",
        iterations=found[pager.offset : pager.offset + PAGE_SIZE], page=pager,
        filter_status=status, page_href=f"?status={status}&" if status else "?",
    )  # fmt: skip


def _trajectory_chart(goal: Any) -> dict[str, Any]:
    """A goal's value after each flywheel cycle, with its target, for uPlot."""
    points = goal.trajectory
    xs = [p.at.timestamp() for p in points]
    return {
        "x": xs, "time": True, "x_label": "flywheel cycle", "y_label": goal.goal.metric,
        "series": [
            {"label": f"{goal.goal.model} {goal.goal.metric}", "values": [p.value for p in points]},
            {"label": f"target {goal.goal.op} {goal.goal.target}", "dash": [6, 4],
             "values": [goal.goal.target] * len(xs)},
        ],
    }  # fmt: skip


def _board(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    iteration: str,
    *,
    status: int = 200,
    done: str | None = None,
    error: BaryonError | None = None,
) -> Response:
    with state.transaction(user.principal.own_scope) as session:
        shown = show_iteration(session, iteration)
    charts = [(g, _trajectory_chart(g)) for g in shown.goals]
    return render(
        request, "iteration.html", user, status=status, title=f"Iteration {shown.name}",
        nav="iterations", it=shown, charts=charts, states=ITEM_STATES,
        can_write=user.can("iterations:write") and shown.status == "open",
        done=_DONE.get(done or ""), error=error,
    )  # fmt: skip


@router.get("/iterations/{iteration}", include_in_schema=False)
def board(
    request: Request,
    iteration: str = _ITERATION,
    done: str | None = Query(None, max_length=20),
    user: ConsoleUser = console_require("iterations:read"),
) -> Response:
    """One iteration: goals and their trajectories, the Kanban board."""
    return _board(request, console_state(request), user, iteration, done=done)


def _back(request: Request, iteration: str, done: str) -> Response:
    url = f"{base_path(request)}/iterations/{quote(iteration)}?done={done}"
    return RedirectResponse(url, status_code=303)


@router.post("/iterations/{iteration}/items", include_in_schema=False)
def add(
    request: Request,
    iteration: str = _ITERATION,
    title: str = Form(max_length=500),
    owner: str = Form("", max_length=200),
    user: ConsoleUser = console_require("iterations:write"),
) -> Response:
    """Add a free-text task to the board's first column."""
    state = console_state(request)
    principal = user.principal
    try:
        with state.transaction(principal.own_scope) as session:
            add_item(
                session, iteration, kind="task", title=title, owner=owner.strip() or None,
                actor=principal.actor, clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404 and exc.code == "iteration_not_found":
            raise
        return _board(request, state, user, iteration, status=exc.http_status, error=exc)
    return _back(request, iteration, "added")


@router.post("/iterations/{iteration}/items/{item_id}", include_in_schema=False)
def move(
    request: Request,
    iteration: str = _ITERATION,
    item_id: str = _ITEM,
    state_to: str = Form(alias="state", max_length=16),
    user: ConsoleUser = console_require("iterations:write"),
) -> Response:
    """Move an item to another column."""
    state = console_state(request)
    principal = user.principal
    try:
        with state.transaction(principal.own_scope) as session:
            update_item(
                session, iteration, item_id, state=state_to, actor=principal.actor,
                clock=state.clock,
            )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status == 404:
            raise
        return _board(request, state, user, iteration, status=exc.http_status, error=exc)
    return _back(request, iteration, "moved")
