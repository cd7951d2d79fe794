"""The console's sessions, CSRF tokens, headers and permissions, without a browser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from consolekit import Tenants, csrf_of, sign_in
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from baryon.core.clock import FixedClock
from baryon.core.scope import SYSTEM
from baryon.serving.app import check_route_permissions, route_permissions
from baryon.serving.console import SECURITY_HEADERS
from baryon.tenancy.keys import hash_secret, list_keys, revoke_key
from baryon.tenancy.tables import ConsoleSessionRow
from baryon.workspace import Workspace

PAGES = ["/console/", "/console/runs", "/console/models", "/console/datasets", "/console/usage"]


def _sessions(ws: Workspace) -> list[ConsoleSessionRow]:
    with ws.db.session(SYSTEM) as s:
        rows = list(s.scalars(select(ConsoleSessionRow)))
        s.expunge_all()
        return rows


def test_login_sets_strict_httponly_cookie_and_stores_only_the_hash(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    response = sign_in(client, tenants.keys["acme:admin"])
    assert response.status_code == 303
    assert response.headers["location"] == "/console/"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("baryon_console=")
    )
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    attributes = cookie.lower()
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/console" in attributes
    assert "max-age=28800" in attributes
    assert "secure" not in attributes  # plain http
    (row,) = _sessions(ws)
    assert row.token_sha256 == hash_secret(token)
    assert token not in (row.id, row.token_sha256)
    assert row.key_id == tenants.key_ids["acme:admin"]
    assert row.expires_at - row.created_at == timedelta(hours=8)


def test_login_over_https_sets_a_secure_cookie(app: FastAPI, tenants: Tenants) -> None:
    with TestClient(app, base_url="https://testserver") as client:
        response = sign_in(client, tenants.keys["acme:viewer"])
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("baryon_console=")
    )
    assert "secure" in cookie.lower()


@pytest.mark.parametrize(
    ("secret", "code"),
    [("bry_" + "x" * 43, "invalid_key"), ("not a key", "invalid_key"), ("", "invalid_key")],
)
def test_login_with_a_bad_key_is_401_with_its_code(
    client: TestClient, tenants: Tenants, ws: Workspace, secret: str, code: str
) -> None:
    response = sign_in(client, secret)
    assert response.status_code == 401
    assert f"error[{code}]" in response.text
    assert _sessions(ws) == []


def test_login_with_a_revoked_key_is_refused(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    with ws.db.session(SYSTEM) as s:
        revoke_key(s, tenants.key_ids["acme:developer"])
    response = sign_in(client, tenants.keys["acme:developer"])
    assert response.status_code == 401
    assert "error[key_revoked]" in response.text


def test_login_form_without_its_token_is_403(client: TestClient, tenants: Tenants) -> None:
    response = client.post("/console/login", data={"api_key": tenants.keys["acme:admin"]})
    assert response.status_code == 403
    assert "error[csrf_missing]" in response.text
    assert "baryon_console" not in client.cookies


def test_pages_without_a_session_go_to_the_login_page(client: TestClient) -> None:
    for path in [*PAGES, "/console/keys"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == "/console/login"
    htmx = client.get("/console/runs", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["HX-Redirect"] == "/console/login"


def test_every_console_response_carries_the_security_headers(
    client: TestClient, tenants: Tenants
) -> None:
    anonymous = [
        client.get("/console/login"),
        client.get("/console/static/vendor/htmx/htmx.min.js"),
        client.get("/console/runs", follow_redirects=False),
    ]
    sign_in(client, tenants.keys["acme:admin"])
    signed_in = [client.get(p) for p in PAGES] + [client.get("/console/no-such-page")]
    for response in anonymous + signed_in:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (response.url, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert signed_in[0].headers["Cache-Control"] == "no-store"
    assert signed_in[-1].status_code == 404


def test_pages_hold_no_inline_script(client: TestClient, tenants: Tenants) -> None:
    sign_in(client, tenants.keys["acme:admin"])
    for path in [*PAGES, "/console/keys"]:
        html = client.get(path).text
        scripts = html.split("<script")[1:]
        for tag in scripts:
            opening = tag.split(">", 1)[0]
            assert 'src="' in opening or 'type="application/json"' in opening, (path, opening)
        assert " on" + "click=" not in html
        assert "javascript:" not in html


def test_post_without_csrf_token_is_403_and_writes_nothing(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    sign_in(client, tenants.keys["acme:admin"])
    org = tenants.org_ids["acme"]
    with ws.db.session(SYSTEM) as s:
        before = len(list_keys(s, org))
    missing = client.post("/console/keys", data={"name": "x", "role": "viewer"})
    wrong = client.post(
        "/console/keys", data={"name": "x", "role": "viewer", "csrf_token": "0" * 64}
    )
    other = client.post("/console/keys", data={"name": "x", "role": "viewer"},
                        headers={"X-CSRF-Token": "f" * 64})  # fmt: skip
    assert (missing.status_code, wrong.status_code, other.status_code) == (403, 403, 403)
    assert "error[csrf_missing]" in missing.text
    assert "error[csrf_invalid]" in wrong.text
    with ws.db.session(SYSTEM) as s:
        assert len(list_keys(s, org)) == before
    token = csrf_of(client.get("/console/keys").text)
    made = client.post("/console/keys", data={"name": "ok", "role": "viewer", "csrf_token": token})
    assert made.status_code == 201
    with ws.db.session(SYSTEM) as s:
        assert len(list_keys(s, org)) == before + 1


def test_csrf_token_is_per_session(client: TestClient, app: FastAPI, tenants: Tenants) -> None:
    sign_in(client, tenants.keys["acme:admin"])
    first = csrf_of(client.get("/console/keys").text)
    with TestClient(app, base_url="http://testserver") as other:
        sign_in(other, tenants.keys["acme:admin"])
        second = csrf_of(other.get("/console/keys").text)
        assert first != second
        refused = other.post("/console/keys", data={"role": "viewer", "csrf_token": first})
        assert refused.status_code == 403


def test_logout_deletes_the_session(client: TestClient, tenants: Tenants, ws: Workspace) -> None:
    sign_in(client, tenants.keys["acme:admin"])
    cookie = client.cookies["baryon_console"]
    token = csrf_of(client.get("/console/").text)
    out = client.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/console/login"
    assert _sessions(ws) == []
    client.cookies.set("baryon_console", cookie, path="/console")  # an old copy of the cookie
    assert client.get("/console/", follow_redirects=False).status_code == 303


def test_revoking_a_key_ends_its_sessions(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    sign_in(client, tenants.keys["acme:developer"])
    assert client.get("/console/runs").status_code == 200
    with ws.db.session(SYSTEM) as s:
        revoke_key(s, tenants.key_ids["acme:developer"])
    assert _sessions(ws) == []
    assert client.get("/console/runs", follow_redirects=False).status_code == 303


def test_a_session_ends_at_its_expiry(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    sign_in(client, tenants.keys["acme:admin"])
    clock.advance(8 * 3600 - 1)
    assert client.get("/console/").status_code == 200
    clock.advance(1)
    assert client.get("/console/", follow_redirects=False).status_code == 303
    assert _sessions(ws) == []


def test_viewer_sees_no_admin_action_and_the_server_refuses_them(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    sign_in(client, tenants.keys["acme:viewer"])
    page = client.get("/console/")
    assert 'href="/console/keys"' not in page.text
    token = csrf_of(page.text)
    assert client.get("/console/keys").status_code == 403
    for path, data in [
        ("/console/keys", {"role": "viewer"}),
        ("/console/models/anything/promote", {"version": "1"}),
        ("/console/models/anything/rollback", {}),
        (f"/console/keys/{tenants.key_ids['acme:admin']}/revoke", {}),
    ]:
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 403, path
        assert "error[forbidden]" in response.text
    with ws.db.session(SYSTEM) as s:
        assert all(k.revoked_at is None for k in list_keys(s, tenants.org_ids["acme"]))


def test_a_key_cannot_make_a_key_above_its_role(client: TestClient, tenants: Tenants) -> None:
    sign_in(client, tenants.keys["acme:admin"])
    token = csrf_of(client.get("/console/keys").text)
    response = client.post("/console/keys", data={"role": "owner", "csrf_token": token})
    assert response.status_code == 403
    assert "error[role_too_high]" in response.text


def test_another_organizations_key_is_404(client: TestClient, tenants: Tenants) -> None:
    sign_in(client, tenants.keys["globex:admin"])
    token = csrf_of(client.get("/console/keys").text)
    acme_key = tenants.key_ids["acme:admin"]
    assert acme_key not in client.get("/console/keys").text
    response = client.post(f"/console/keys/{acme_key}/revoke", data={"csrf_token": token})
    assert response.status_code == 404


def test_every_console_route_declares_a_permission(app: FastAPI) -> None:
    console = next(r.app for r in app.routes if getattr(r, "path", "") == "/console")
    check_route_permissions(console)
    permissions = route_permissions(console)
    assert permissions[("GET", "/login")] == "public"
    assert permissions[("POST", "/models/{name}/promote")] == "models:promote"
    assert permissions[("POST", "/keys")] == "keys:write"
    assert permissions[("GET", "/runs")] == "runs:read"
    assert not any(path.startswith("/console") for _, path in route_permissions(app))
