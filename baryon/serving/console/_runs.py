"""Runs: the table (filters, pages), one run with its metric histories, 2–5 compared.

Domain calls, as ``GET /v1/runs``, ``GET /v1/runs/{id}`` and ``GET /v1/runs/compare``:
:meth:`baryon.training.runs.RunStore.list` (one page, with
:meth:`~baryon.training.runs.RunStore.count`), :func:`baryon.training.jobs.run_states`,
:func:`~baryon.training.jobs.run_state` and :func:`baryon.training.compare.compare_runs`.
The training form (on a dataset's page) starts a run as ``POST /v1/runs`` does:
:meth:`baryon.training.trainer.Trainer.resolve` (bad input is refused before anything
is written), then :func:`baryon.training.jobs.submit_training` (the queued run and its
job); it needs ``runs:write``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from baryon.core.errors import BaryonError
from baryon.serving.console._app import Page, base_path, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.console._datasets import dataset_page
from baryon.training.compare import compare_runs
from baryon.training.jobs import run_state, run_states, submit_training
from baryon.training.runs import RUN_STATUSES, Run

__all__ = ["router"]

router = APIRouter()
#: Runs per page of the table.
PAGE_SIZE = 25
#: Most points drawn per metric history (longer ones are thinned evenly).
_MAX_POINTS = 1000


def _thin(values: Sequence[Any]) -> tuple[list[int], list[Any]]:
    """Steps and values of a history, at most :data:`_MAX_POINTS` of them (every k-th)."""
    step = max(1, -(-len(values) // _MAX_POINTS))
    steps = list(range(0, len(values), step))
    return steps, [values[i] for i in steps]


def _history_chart(name: str, runs: Sequence[Run]) -> dict[str, Any]:
    """One metric's history for each run that has it, overlaid on one step axis."""
    longest = max(len(run.history.get(name, [])) for run in runs)
    steps, _ = _thin(range(longest))
    series = []
    for run in runs:
        values = run.history.get(name) or []
        series.append(
            {"label": run.id, "values": [values[i] if i < len(values) else None for i in steps]}
        )
    return {"x": steps, "time": False, "x_label": "step", "y_label": name, "series": series}


@router.get("/runs", include_in_schema=False)
def runs(
    request: Request,
    status: str | None = Query(None, max_length=32),
    kind: str | None = Query(None, max_length=64),
    dataset: str | None = Query(None, max_length=200),
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("runs:read"),
) -> Response:
    """The organization's runs, newest first, a page at a time; tick 2–5 to compare."""
    state = console_state(request)
    filters = {"status": status or None, "kind": kind or None, "dataset": dataset or None}
    ws = state.workspace_for(user.principal.org_id)
    total = ws.runs.count(**filters)
    pager = Page(page, PAGE_SIZE, total)
    found = ws.runs.list(**filters, limit=PAGE_SIZE, offset=pager.offset)
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request, "runs.html", user, title="Runs", nav="runs", filters=filters,
        statuses=RUN_STATUSES, states=run_states(ws, state.jobs, found), page=pager,
        page_href=f"?{query}&" if query else "?",
    )  # fmt: skip


@router.get("/runs/compare", include_in_schema=False)
def compare(
    request: Request,
    ids: list[str] = Query(default_factory=list),
    user: ConsoleUser = console_require("runs:read"),
) -> Response:
    """2 to 5 runs side by side: settings and parameters (differences marked), metrics,
    and each metric history overlaid."""
    ws = console_state(request).workspace_for(user.principal.org_id)
    comparison = compare_runs(ws.runs, [i for i in ids if len(i) <= 40])
    names = sorted({name for run in comparison.runs for name in run.history})
    charts = [(name, _history_chart(name, comparison.runs)) for name in names]
    return render(
        request, "compare.html", user, title="Compare runs", nav="runs",
        comparison=comparison, charts=charts,
    )  # fmt: skip


@router.get("/runs/{run_id}", include_in_schema=False)
def run_detail(
    request: Request,
    run_id: str = Path(max_length=40),
    user: ConsoleUser = console_require("runs:read"),
) -> Response:
    """One run: status, stage, progress, settings, parameters, metrics, histories."""
    state = console_state(request)
    found = run_state(state.workspace_for(user.principal.org_id), state.jobs, run_id)
    charts = [(name, _history_chart(name, [found.run])) for name in sorted(found.run.history)]
    return render(
        request, "run.html", user, title=f"Run {found.run.id}", nav="runs", state=found,
        charts=charts,
    )  # fmt: skip


@router.post("/runs", include_in_schema=False)
def start(
    request: Request,
    dataset: str = Form(max_length=200),
    kind: str = Form(max_length=64),
    register_as: str = Form("", max_length=100),
    seed: int = Form(42, ge=0, le=2**32 - 1),
    user: ConsoleUser = console_require("runs:write"),
) -> Response:
    """Start a training run of ``kind`` on ``dataset`` (a background job) and show it."""
    from baryon.training.trainer import Trainer

    state = console_state(request)
    principal = user.principal
    trainer = Trainer(state.workspace_for(principal.org_id), actor=principal.actor)
    try:
        spec = trainer.resolve(kind, dataset, seed=seed, register=register_as.strip() or None)
        with state.transaction(principal.own_scope) as session:
            submitted = submit_training(trainer, state.jobs, spec, session=session)
    except BaryonError as exc:
        name, _, number = dataset.partition(":")
        if exc.http_status == 404 or not number.isdigit():
            raise
        return dataset_page(
            request, state, user, name, int(number), None, status=exc.http_status,
            train_error=exc,
        )  # fmt: skip
    return RedirectResponse(f"{base_path(request)}/runs/{submitted.run.id}", status_code=303)
