"""The recommender explorer: pick a user, see their wines, the recommendations and why.

Domain calls, as ``GET /v1/recommendations/{user_id}``: the organization's
``recommender`` model (:func:`baryon.serving.routers._metered.choose_model`: its champion,
or its traffic split's pick), the user's stored events
(:func:`baryon.solutions.recommender.service.user_events`) and
:meth:`~baryon.solutions.recommender.service.Recommender.recommend`, joined with the
bundled wine catalogue; then
:meth:`~baryon.solutions.recommender.service.Recommender.explain` for each wine's most
similar wines in the user's history. The explorer is not metered (console pages never
are) and needs ``models:predict``, like the route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from baryon.core.errors import BaryonError, ModelNotReady, NotFound
from baryon.serving.console._app import Page, render
from baryon.serving.console._auth import ConsoleUser, console_require, console_state
from baryon.serving.routers._metered import choose_model
from baryon.serving.routers.recommender import MODEL, catalogue_of
from baryon.solutions.recommender.service import Recommender, user_events

__all__ = ["router"]

router = APIRouter()
#: Known users listed per page of the picker.
PAGE_SIZE = 40
#: Recommendations shown.
TOP_N = 10


@router.get("/recommender", include_in_schema=False)
def explorer(
    request: Request,
    user_id: str | None = Query(None, max_length=200),
    page: int = Query(1, ge=1, le=100_000),
    user: ConsoleUser = console_require("models:predict"),
) -> Response:
    """Known users a page at a time; for ``user_id``, the top wines and why."""
    state = console_state(request)
    principal = user.principal
    context: dict[str, Any] = {"user_id": user_id, "found": None, "why": {}, "error": None}
    try:
        served, variant = choose_model(state, principal, MODEL, None)
    except NotFound:
        context["error"] = ModelNotReady(
            f"no {MODEL} model in this workspace yet: run `baryon demo` to train it"
        )
        return render(
            request, "recommender.html", user, title="Recommender", nav="recommender",
            users=[], page=Page(1, PAGE_SIZE, 0), model=None, **context,
        )  # fmt: skip
    users = list(getattr(served.estimator, "users_", []))
    pager = Page(page, PAGE_SIZE, len(users))
    recommender = Recommender(served.estimator, catalogue_of(request))
    if user_id:
        with state.transaction(principal.own_scope) as session:
            events = user_events(session, org_id=principal.org_id, user_id=user_id)
        try:
            found = recommender.recommend(user_id, TOP_N, events=events)
            context["found"] = found
            context["why"] = recommender.explain(user_id, [i["item_id"] for i in found.items])
            context["history"] = recommender.history(user_id)
        except BaryonError as exc:
            context["error"] = exc
    return render(
        request, "recommender.html", user, title="Recommender", nav="recommender",
        users=users[pager.offset : pager.offset + PAGE_SIZE], page=pager,
        model={"name": served.name, "version": served.version, "variant": variant}, **context,
    )  # fmt: skip
