"""Datasets: the list (pages), one version (schema, quality report, lineage), upload, split.

Domain calls, as the ``/v1/datasets`` routes: :meth:`~baryon.data.versions.DatasetStore.list`
(one page, with :meth:`~baryon.data.versions.DatasetStore.count`),
:meth:`~baryon.data.versions.DatasetStore.get`, ``history`` and ``lineage``; the upload
form goes through :func:`baryon.serving.uploads.receive_upload` and
:func:`~baryon.serving.dataset_uploads.ingest_upload`, the path of ``POST /v1/datasets``
(streamed to disk, capped by ``BARYON_MAX_UPLOAD_BYTES``, the same named errors).
The upload reads its own body, so it checks the CSRF token itself, from the form,
before it ingests anything. The split form calls
:meth:`~baryon.data.versions.DatasetStore.split` as ``POST /v1/datasets/{name}/split``
does (a seeded split recorded as a new version), so a dataset uploaded here can be
trained on without the command line.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from baryon.core.errors import BaryonError
from baryon.core.refs import NAME_PATTERN
from baryon.serving.console._app import Page, base_path, render
from baryon.serving.console._auth import (
    CSRF_FIELD,
    ConsoleUser,
    check_csrf,
    console_require,
    console_state,
)
from baryon.serving.dataset_uploads import UPLOAD_FIELDS, ingest_upload
from baryon.serving.deps import AppState
from baryon.serving.uploads import Upload, receive_upload

__all__ = ["UPLOAD_PATH", "dataset_page", "router"]

router = APIRouter()
#: The upload form's route (inside the console): it streams its own body.
UPLOAD_PATH = "/datasets"
#: Datasets per page of the list.
PAGE_SIZE = 25
#: The upload form's field naming the label column (the API's ``role=COLUMN=label``).
LABEL_FIELD = "label_column"
_NAME = Path(max_length=100, pattern=f"^{NAME_PATTERN}$")
_OWNER = Query(None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _list_page(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    page: int,
    *,
    status: int = 200,
    error: BaryonError | None = None,
) -> Response:
    ws = state.workspace_for(user.principal.org_id)
    pager = Page(page, PAGE_SIZE, ws.datasets.count())
    versions = ws.datasets.list(limit=PAGE_SIZE, offset=pager.offset)
    owners = {org_id: name for name, org_id in ws.scope.owners.items()}
    return render(
        request, "datasets.html", user, status=status, title="Datasets", nav="datasets",
        versions=versions, owners=owners, own_org=user.principal.org_id, page=pager,
        error=error,
    )  # fmt: skip


@router.get("/datasets", include_in_schema=False)
def datasets(
    request: Request,
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("datasets:read"),
) -> Response:
    """The latest version of every dataset, by name, a page at a time; the upload form."""
    return _list_page(request, console_state(request), user, page)


def _detail(
    state: AppState, user: ConsoleUser, name: str, version: int | None, owner: str | None
) -> dict[str, Any]:
    ws = state.workspace_for(user.principal.org_id)
    found = ws.datasets.get(name, version, owner=owner)
    lineage = ws.datasets.lineage(found.name, found.version, owner=owner)
    history = ws.datasets.history(found.name, owner=owner)
    return {"found": found, "lineage": lineage, "history": history}


@router.get("/datasets/{name}", include_in_schema=False)
def dataset(
    request: Request,
    name: str = _NAME,
    version: int | None = Query(None, ge=1, le=1_000_000),
    owner: str | None = _OWNER,
    created: str | None = Query(None, max_length=5),
    user: ConsoleUser = console_require("datasets:read"),
) -> Response:
    """A version (the latest by default): schema and roles, quality report, split,
    lineage from its ingest, and every version of the dataset."""
    return dataset_page(request, console_state(request), user, name, version, owner, created)


def dataset_page(
    request: Request,
    state: AppState,
    user: ConsoleUser,
    name: str,
    version: int | None,
    owner: str | None,
    created: str | None = None,
    *,
    status: int = 200,
    train_error: BaryonError | None = None,
    split_error: BaryonError | None = None,
) -> Response:
    """A dataset version's page (also shown again by a training or split form that failed)."""
    from baryon.data.splits import STRATEGIES
    from baryon.ml.kinds import estimator_kinds

    data = _detail(state, user, name, version, owner)
    found = data["found"]
    return render(
        request, "dataset.html", user, status=status, title=f"Dataset {found.name}",
        nav="datasets", owner=owner, created=created, train_error=train_error,
        split_error=split_error, kinds=estimator_kinds() if user.can("runs:write") else [],
        strategies=STRATEGIES if user.can("datasets:write") else (), **data,
    )  # fmt: skip


@router.post("/datasets/{name}/split", include_in_schema=False)
def split(
    request: Request,
    name: str = _NAME,
    version: int = Form(ge=1, le=1_000_000),
    strategy: str = Form(max_length=20),
    seed: int = Form(42, ge=0, le=2**32 - 1),
    label: str = Form("", max_length=300),
    user: ConsoleUser = console_require("datasets:write"),
) -> Response:
    """Record a seeded train/validation/test split of one of the organization's own
    versions as a new version, and show it (the form again, with the error, if refused)."""
    from baryon.data.splits import split_options

    state = console_state(request)
    ws = state.workspace_for(user.principal.org_id)
    try:
        before = set(ws.datasets.version_ids(name))
        made = ws.datasets.split(
            name, strategy=strategy, seed=seed, version=version, actor=user.principal.actor,
            **split_options(strategy, label=label.strip() or None),
        )  # fmt: skip
    except BaryonError as exc:
        if exc.http_status in (401, 403, 404):
            raise
        return dataset_page(
            request, state, user, name, version, None, status=exc.http_status, split_error=exc
        )
    query = f"version={made.version}&created={'no' if made.id in before else 'split'}"
    return RedirectResponse(f"{base_path(request)}/datasets/{quote(name)}?{query}", status_code=303)


def _ingest(state: AppState, user: ConsoleUser, upload: Upload) -> tuple[str, int, bool]:
    ws = state.workspace_for(user.principal.org_id)
    label = (upload.value(LABEL_FIELD) or "").strip()
    if label:
        upload.fields.setdefault("role", []).append(f"{label}=label")
    version, made = ingest_upload(ws, upload, actor=user.principal.actor, blank_is_absent=True)
    return version.name, version.version, made


@router.post(UPLOAD_PATH, include_in_schema=False)
async def upload(
    request: Request, user: ConsoleUser = console_require("datasets:write", csrf=False)
) -> Response:
    """Store an uploaded file as a new version (or find the same one) and show it."""
    state = console_state(request)
    try:
        async with receive_upload(
            request,
            directory=state.settings.home / "tmp",
            max_bytes=state.settings.max_upload_bytes,
            fields=(*UPLOAD_FIELDS, LABEL_FIELD, CSRF_FIELD),
        ) as received:
            check_csrf(user, received.value(CSRF_FIELD))
            name, number, made = await run_in_threadpool(_ingest, state, user, received)
    except BaryonError as exc:
        if exc.http_status in (401, 403):
            raise
        return await run_in_threadpool(
            _list_page, request, state, user, 1, status=exc.http_status, error=exc
        )
    query = f"version={number}&created={'yes' if made else 'no'}"
    url = f"{base_path(request)}/datasets/{quote(name)}?{query}"
    return RedirectResponse(url, status_code=303)
