"""The role → permission table and the deny-by-default check."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.errors import BaryonError, InvalidInput
from baryon.serving.app import check_route_permissions, create_app, route_permissions
from baryon.serving.auth import Authorize, require
from baryon.tenancy.permissions import (
    PERMISSIONS,
    PLATFORM_PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    check_role,
    permissions_for,
)
from baryon.workspace import Workspace

_SETTINGS = Settings(home=Path("/nonexistent/baryon-perm-test"))


def test_roles_are_nested_owner_to_viewer_except_annotator_branch() -> None:
    owner, admin, developer, annotator, viewer = (ROLE_PERMISSIONS[r] for r in ROLES)
    assert owner == admin
    assert developer < admin
    assert annotator < admin
    assert viewer < admin
    assert "models:predict" in developer
    assert "models:predict" not in annotator
    assert "feedback:write" in annotator
    assert "predictions:read" not in viewer
    assert "usage:read" in viewer
    assert "keys:write" not in developer


def test_platform_permissions_only_for_operator_admins() -> None:
    for role in ROLES:
        assert not permissions_for(role, operator=False) & PLATFORM_PERMISSIONS
    assert permissions_for("owner", operator=True) >= PLATFORM_PERMISSIONS
    assert permissions_for("admin", operator=True) >= PLATFORM_PERMISSIONS
    assert not permissions_for("developer", operator=True) & PLATFORM_PERMISSIONS


def test_check_role_unknown_refused() -> None:
    with pytest.raises(InvalidInput):
        check_role("root")


def test_every_route_declares_a_known_permission() -> None:
    perms = route_permissions(create_app(_SETTINGS))
    assert perms[("GET", "/healthz")] == "public"
    assert perms[("GET", "/readyz")] == "public"
    assert perms[("POST", "/v1/models/{name}/predict")] == "models:predict"
    used = {p for p in perms.values() if p != "public"}
    assert used <= PERMISSIONS
    assert used == PERMISSIONS  # no permission in the table that no route uses


def test_authorize_unknown_permission_refused_at_definition() -> None:
    with pytest.raises(ValueError, match="unknown permission"):
        Authorize("everything:write")


def test_create_app_extra_router_without_permission_refused() -> None:
    router = APIRouter()

    @router.get("/v1/open-door")
    def open_door() -> dict[str, str]:
        return {"secret": "yes"}

    with pytest.raises(BaryonError) as err:
        create_app(_SETTINGS, routers=[router])
    assert err.value.code == "route_without_permission"
    assert "GET /v1/open-door" in err.value.message


def test_create_app_extra_router_with_permission_accepted() -> None:
    router = APIRouter()

    @router.get("/v1/solution")
    def solution(principal: object = require("models:predict")) -> dict[str, str]:
        return {"ok": "yes"}

    app = create_app(_SETTINGS, routers=[router])
    assert route_permissions(app)[("GET", "/v1/solution")] == "models:predict"


def test_app_refuses_to_start_when_route_added_after_build(
    settings: Settings, ws: Workspace, clock: FixedClock
) -> None:
    app = create_app(settings, workspace=ws, clock=clock)
    app.add_api_route("/v1/late", lambda: {"secret": "yes"})
    with pytest.raises(BaryonError) as err:
        check_route_permissions(app)
    assert "GET /v1/late" in err.value.message


def test_app_lifespan_refuses_undeclared_route(
    settings: Settings, ws: Workspace, clock: FixedClock
) -> None:
    import anyio

    app: FastAPI = create_app(settings, workspace=ws, clock=clock)
    app.add_api_route("/v1/late", lambda: {"secret": "yes"})

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(BaryonError) as err:
        anyio.run(start)
    assert err.value.code == "route_without_permission"
