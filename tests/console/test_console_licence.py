"""The console under a licence: the ``console`` feature gates it, read-only refuses forms."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from consolekit import Tenants, csrf_of, sign_in
from fastapi.testclient import TestClient

from baryon.commerce.licences import generate_keys, install_licence, issue_licence
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.serving.app import create_app
from baryon.tenancy.keys import list_keys
from baryon.workspace import Workspace

Licensed = Callable[..., TestClient]


@pytest.fixture(scope="module")
def vendor() -> tuple[bytes, bytes]:
    return generate_keys()


@pytest.fixture
def licensed(
    settings: Settings, ws: Workspace, clock: FixedClock, vendor: tuple[bytes, bytes]
) -> Iterator[Licensed]:
    """``licensed(**claims)``: install a licence, then a client of a server started on it."""
    clients: list[TestClient] = []

    def make(**claims: object) -> TestClient:
        args: dict[str, object] = {
            "licensee": "Acme Bank", "features": ["console"], "seats": 100, "orgs": 100,
            "expires_at": clock.now() + timedelta(days=30), "grace_days": 7, "clock": clock,
        }  # fmt: skip
        args.update(claims)
        install_licence(settings.home, issue_licence(vendor[0], **args), vendor[1], clock=clock)  # type: ignore[arg-type]
        view = Workspace(settings, ws.db, ws.artifacts, clock)  # reads the licence afresh
        client = TestClient(create_app(settings, workspace=view, clock=clock))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_console_without_the_licensed_feature_is_a_clear_403_page(
    licensed: Licensed, tenants: Tenants
) -> None:
    client = licensed(features=["traffic_split"])
    for path in ("/console/login", "/console/", "/console/keys"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 403, path
        assert page.headers["content-type"].startswith("text/html")
        assert "error[licence_feature]" in page.text
        assert "does not include &#39;console&#39;" in page.text
    form = client.post("/console/login", data={"api_key": tenants.keys["acme:admin"]})
    assert (form.status_code, "error[licence_feature]" in form.text) == (403, True)
    # the API is not the console: it keeps working under the same licence
    api = client.get("/v1/keys", headers={"Authorization": f"Bearer {tenants.keys['acme:admin']}"})
    assert api.status_code == 200


def test_console_with_the_feature_and_the_open_edition_sign_in(
    licensed: Licensed, tenants: Tenants, app: object
) -> None:
    assert sign_in(licensed(features=["console"]), tenants.keys["acme:admin"]).status_code == 303
    with TestClient(app) as open_edition:  # type: ignore[arg-type]
        assert sign_in(open_edition, tenants.keys["acme:admin"]).status_code == 303


def test_read_only_console_refuses_forms_but_shows_pages_and_signs_out(
    licensed: Licensed, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    client = licensed(expires_at=clock.now() + timedelta(days=1), grace_days=7)
    clock.advance(3 * 86400)  # expired, in the grace period: still writable
    sign_in(client, tenants.keys["acme:admin"])
    token = csrf_of(client.get("/console/keys").text)
    made = client.post("/console/keys", data={"name": "in grace", "role": "viewer",
                                              "csrf_token": token})  # fmt: skip
    assert made.status_code == 201
    clock.advance(6 * 86400)  # past the grace period: signing in still works
    sign_in(client, tenants.keys["acme:admin"])
    token = csrf_of(client.get("/console/keys").text)
    org = tenants.org_ids["acme"]
    with ws.db.session(SYSTEM) as s:
        before = len(list_keys(s, org))
    refused = client.post("/console/keys", data={"name": "late", "role": "viewer",
                                                 "csrf_token": token})  # fmt: skip
    assert refused.status_code == 403
    assert "error[licence_read_only]" in refused.text
    assert "read-only" in refused.text
    with ws.db.session(SYSTEM) as s:
        assert len(list_keys(s, org)) == before
    assert client.get("/console/keys").status_code == 200  # reading still works
    out = client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
