"""Every route × every bad credential → the right 401/403/404, and no data leaked.

The routes come from the app itself at collection time, so a new route is covered
the day it is added (and this file fails until it knows a sample body or path value
for it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from servingkit import PortalTransport, Tenants, fresh_home, make_resolver, make_tenants

from baryon.commerce.billing import close_billing
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM, Scope
from baryon.flywheel.iterations import add_item, create_iteration
from baryon.flywheel.records import create_cycle
from baryon.jobs import JobQueue
from baryon.jobs.schedules import ScheduleSpec, create_schedule
from baryon.serving.app import create_app, route_permissions
from baryon.serving.auth import PUBLIC
from baryon.solutions.sentiment.delivery import create_channel, send_test
from baryon.solutions.sentiment.rules import check_rule, create_rule
from baryon.tenancy.keys import create_key, revoke_key
from baryon.tenancy.permissions import PLATFORM_PERMISSIONS, ROLES, permissions_for
from baryon.workspace import Workspace

_BLUEPRINT = create_app(Settings(home=Path("/nonexistent/baryon-collection")))
ROUTES = sorted(
    (method, path, perm)
    for (method, path), perm in route_permissions(_BLUEPRINT).items()
    if perm != PUBLIC
)
_BODY_ROUTES = {
    (m, str(c.path))
    for c in iter_route_contexts(_BLUEPRINT.routes)
    if isinstance(c.original_route, APIRoute) and c.body_field is not None
    for m in c.methods or ()
}
#: Routes whose path names an object owned by one organization (by path prefix).
ORG_OWNED = (
    "/v1/users/{", "/v1/keys/{", "/v1/predictions/{", "/v1/orgs/{", "/v1/datasets/{", "/v1/runs/{",
    "/v1/labeling/queues/{", "/v1/labeling/tasks/{",
    "/v1/iterations/{",
    "/v1/flywheel/cycles/{",
    "/v1/schedules/{",
    "/v1/invoices/{",
    "/v1/sentiment/rules/{", "/v1/sentiment/channels/{", "/v1/sentiment/deliveries/{",
    "/v1/sources/{",
)  # fmt: skip
#: Path values per route prefix where a parameter is not one of acme's objects.
PATH_OVERRIDES = {"/v1/recommendations/{user_id}": {"{user_id}": "u1"}}
#: Statuses a model route may answer without a model behind it (the resolver has none).
NO_MODEL = {404, 503}
#: Routes whose *body* names an object owned by one organization.
BODY_OWNED = {("POST", "/v1/feedback"), ("POST", "/v1/federated/runs")}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "details", "errors"}


@dataclass
class World:
    client: httpx.Client
    tenants: Tenants
    params: dict[str, str]
    bodies: dict[tuple[str, str], dict[str, object]]
    revoked: str
    expired: str
    secrets_of_acme: list[str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Iterator[World]:
    clock = FixedClock()
    settings = Settings(home=tmp_path_factory.mktemp("matrix") / "home")
    fresh_home(migrated_db, settings.home)
    ws = Workspace.open(settings, clock=clock)
    tenants = make_tenants(ws, clock)
    with ws.db.session(SYSTEM) as s:
        revoked = create_key(s, org_id=tenants.org_ids["acme"], role="owner", clock=clock)
        revoke_key(s, revoked.key.id, clock=clock)
        expired = create_key(
            s,
            org_id=tenants.org_ids["acme"],
            role="owner",
            expires_at=clock.now() + timedelta(hours=1),
            clock=clock,
        )
    app = create_app(settings, workspace=ws, clock=clock, resolver=make_resolver())
    transport = PortalTransport(app)
    client = httpx.Client(base_url="http://testserver", transport=transport)
    made = client.post(
        "/v1/models/adder/predict",
        json={"inputs": [{"a": 1, "b": 2}]},
        headers={"Authorization": f"Bearer {tenants.keys['acme:developer']}"},
    )
    assert made.status_code == 200, made.text
    prediction_id = made.json()["prediction_id"]
    uploaded = client.post(  # acme's dataset "adder": {name} names it on the dataset routes
        "/v1/datasets",
        files={"file": ("adder.csv", b"a,b,sum\n1,2,3\n2,2,4\n3,1,4\n", "text/csv")},
        data={"name": "adder"},
        headers={"Authorization": f"Bearer {tenants.keys['acme:developer']}"},
    )
    assert uploaded.status_code == 201, uploaded.text
    clock.advance(2 * 3600)  # the expiring key is now expired
    run = ws.for_org(tenants.org_ids["acme"]).runs.start(
        kind="decision_tree", task="classification", params={}, seed=0,
        dataset_version_id="dsv_x", dataset_name="quad", dataset_version=1,
    )  # fmt: skip
    with ws.db.session(Scope.own(tenants.org_ids["acme"], "acme")) as s:
        sprint = create_iteration(
            s, org_id=tenants.org_ids["acme"], name="acmesprint", actor="test", clock=clock,
            ends_at=clock.now() + timedelta(days=14),
        )  # fmt: skip
        item = add_item(s, sprint.id, kind="task", title="t", actor="test", clock=clock)
    with ws.db.session(Scope.own(tenants.org_ids["acme"])) as s:
        cycle = create_cycle(
            s, org_id=tenants.org_ids["acme"], model_name="adder", status="nothing_new",
            clock=clock,
        )  # fmt: skip
    with ws.db.session(Scope.own(tenants.org_ids["acme"])) as s:
        spec = ScheduleSpec("noop", {}, "acmenightly", None, "0 3 * * *", None)
        schedule = create_schedule(
            s, spec, org_id=tenants.org_ids["acme"], actor="test", clock=clock
        )
    with ws.db.session(Scope.own(tenants.org_ids["acme"])) as s:
        rule = create_rule(
            s, check_rule(kind="volume_spike", threshold=3, name="acmespike"),
            org_id=tenants.org_ids["acme"], actor="test", clock=clock,
        )  # fmt: skip
        channel, _ = create_channel(
            s, kind="webhook", target="https://example.org/acme", name="acmehook",
            org_id=tenants.org_ids["acme"], actor="test", clock=clock, settings=settings,
        )  # fmt: skip
        delivery = send_test(s, JobQueue(ws.db, clock), channel.id, actor="test", clock=clock)
    from baryon.connectors.sources import add_source

    acme_ws = ws.for_org(tenants.org_ids["acme"])  # a loopback URL: refused if ever run
    source = add_source(acme_ws, name="acmefeed", kind="feed", url="http://127.0.0.1:9/rss",
                        actor="test")  # fmt: skip
    clock.advance(31 * 86400)  # January has ended: acme's first period is invoiced
    (invoice,) = close_billing(ws.db, period="2026-01", org="acme", clock=clock).created
    params = {
        "{schedule}": schedule.id,
        "{rule}": rule.id,
        "{channel}": channel.id,
        "{delivery_id}": delivery.id,
        "{invoice_id}": invoice.id,
        "{cycle_id}": cycle.id,
        "{model}": "adder",
        "{user_id}": tenants.user_ids["acme"],
        "{key_id}": tenants.key_ids["acme:viewer"],
        "{prediction_id}": prediction_id,
        "{org_id}": tenants.org_ids["acme"],
        "{name}": "adder",
        "{grant_id}": "grant_00000000000000000000000000",
        "{run_id}": run.id,
        "{task_id}": "task_00000000000000000000000000",
        "{iteration}": sprint.id,
        "{item_id}": item.id,
        "{source}": "acmefeed",
    }
    bodies: dict[tuple[str, str], dict[str, object]] = {
        ("POST", "/v1/users"): {"email": "new@acme.test", "role": "viewer"},
        ("POST", "/v1/keys"): {"role": "viewer"},
        ("POST", "/v1/plans"): {"name": "p2", "quota": 1, "rate_per_minute": 1},
        ("PATCH", "/v1/plans/{name}"): {"quota": 5},
        ("POST", "/v1/orgs"): {"name": "neworg"},
        ("POST", "/v1/orgs/{org_id}/subscription"): {"plan": "pro"},
        ("PATCH", "/v1/org"): {"prediction_inputs": "hashed"},
        ("POST", "/v1/models/{name}/predict"): {"inputs": [{"a": 1, "b": 2}]},
        ("POST", "/v1/feedback"): {"prediction_id": prediction_id, "label": "x"},
        ("PUT", "/v1/endpoints/{name}"): {"challenger_weight": 0.5},
        ("POST", "/v1/support/answer"): {"text": "I lost my card"},
        ("POST", "/v1/sentiment/analyze"): {"texts": ["shares up on earnings"]},
        ("POST", "/v1/sentiment/items"): {
            "items": [{"id": "n1", "published_at": "2026-01-01T00:00:00Z", "text": "shares up"}]
        },
        ("POST", "/v1/events"): {"user_id": "u1", "item_id": "w1", "type": "view"},
        ("POST", "/v1/grants"): {
            "object_type": "model",
            "name": "adder",
            "grantee": "globex",
            "permission": "read",
        },
        ("POST", "/v1/models/{name}/promote"): {"version": 1},
        ("POST", "/v1/models/{name}/rollback"): {"reason": "matrix"},
        ("POST", "/v1/models/{name}/evaluate"): {"dataset": "d"},
        ("POST", "/v1/labeling/queues/{name}/sample"): {"dataset": "d"},
        # multipart in real use; a JSON body is a 422 once authorised
        ("POST", "/v1/models/{name}/versions"): {"dataset": "d", "target": "t"},
        ("POST", "/v1/datasets/{name}/clean"): {"steps": ["trim"]},
        ("POST", "/v1/datasets/{name}/split"): {"strategy": "random"},
        ("POST", "/v1/erasures"): {"match": [{"column": "a", "value": "no such subject"}]},
        ("POST", "/v1/runs"): {"kind": "decision_tree", "dataset": "quad"},
        ("POST", "/v1/federated/runs"): {
            "model": "m",
            "kind": "hashed_text_classifier",
            "silos": ["adder", "quad"],
        },
        ("POST", "/v1/labeling/queues"): {"name": "q", "model": "adder", "classes": ["a"]},
        ("PATCH", "/v1/labeling/queues/{name}"): {"overlap": 2},
        ("POST", "/v1/labeling/tasks/{task_id}/annotations"): {"label": "a"},
        ("POST", "/v1/labeling/tasks/{task_id}/skip"): {"reason": "unsure"},
        ("POST", "/v1/labeling/tasks/{task_id}/review"): {"label": "a"},
        ("POST", "/v1/iterations"): {"name": "matrix", "ends_at": "2026-02-01T00:00:00Z"},
        ("POST", "/v1/iterations/{iteration}/items"): {"kind": "task", "title": "t"},
        ("PATCH", "/v1/iterations/{iteration}/items/{item_id}"): {"state": "doing"},
        ("POST", "/v1/flywheel/{model}/cycles"): {},
        ("POST", "/v1/schedules"): {"kind": "flywheel", "payload": {"model": "a"}, "every": "1d"},
        ("POST", "/v1/sentiment/rules"): {"kind": "index_crossing", "threshold": 0.5},
        ("POST", "/v1/sentiment/rules/{rule}/test"): {},
        ("POST", "/v1/sentiment/channels"): {"kind": "webhook", "target": "https://example.org/"},
        ("POST", "/v1/sources"): {"name": "s", "kind": "feed", "url": "https://example.com/rss"},
        ("POST", "/v1/sentiment/subscriptions"): {"url": "https://example.com/rss", "every": "1h"},
    }
    acme_secrets = [
        tenants.org_ids["acme"],
        tenants.user_ids["acme"],
        prediction_id,
        run.id,
        sprint.id,
        item.id,
        cycle.id,
        schedule.id,
        source["id"],
        "acmenightly",
        rule.id,
        "acmespike",
        channel.id,
        "acmehook",
        delivery.id,
        invoice.id,
        "dev@acme.test",
        *[v for k, v in tenants.key_ids.items() if k.startswith("acme:")],
    ]
    try:
        yield World(client, tenants, params, bodies, revoked.secret, expired.secret, acme_secrets)
    finally:
        client.close()
        transport.shutdown()
        ws.close()


def _call(world: World, method: str, path: str, secret: str | None) -> httpx.Response:
    url = path
    for name, value in {**world.params, **PATH_OVERRIDES.get(path, {})}.items():
        url = url.replace(name, value)
    assert "{" not in url, f"add a sample value for the path parameter in {path}"
    if (method, path) in _BODY_ROUTES:
        assert (method, path) in world.bodies, f"add a sample body for {method} {path}"
    headers = {} if secret is None else {"Authorization": secret}
    return world.client.request(method, url, json=world.bodies.get((method, path)), headers=headers)


def _assert_problem_without_data(response: httpx.Response, world: World) -> dict[str, object]:
    assert response.headers["content-type"].startswith("application/problem+json")
    doc = response.json()
    assert set(doc) <= PROBLEM_KEYS, doc
    text = response.text
    sent = str(response.request.url) + response.request.content.decode()
    for secret in world.secrets_of_acme:
        # echoing back what the caller sent is no leak; anything else of acme's is
        assert secret not in text or secret in sent
    assert "Traceback" not in text
    return dict(doc)


def _lowest_role_without(permission: str) -> str | None:
    lacking = [r for r in ROLES if permission not in permissions_for(r, operator=False)]
    return lacking[0] if lacking else None


def test_matrix_covers_every_route() -> None:
    assert len(ROUTES) >= 20
    assert all(perm is not None for _, _, perm in ROUTES)


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_route_without_key_is_401_with_challenge(
    world: World, method: str, path: str, permission: str
) -> None:
    response = _call(world, method, path, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _assert_problem_without_data(response, world)["code"] == "missing_credentials"


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
@pytest.mark.parametrize(
    "header", ["Bearer not-a-key", "Bearer bry_" + "A" * 43, "Basic dXNlcjpwYXNz", "bry_nope"]
)
def test_route_with_malformed_or_unknown_key_is_401(
    world: World, method: str, path: str, permission: str, header: str
) -> None:
    response = _call(world, method, path, header)
    assert response.status_code == 401
    assert (
        "invalid_token" in response.headers["www-authenticate"]
        or "Basic" in header
        or (not header.startswith("Bearer"))
    )
    assert _assert_problem_without_data(response, world)["code"] in (
        "invalid_key",
        "missing_credentials",
    )


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_route_with_revoked_key_is_401(
    world: World, method: str, path: str, permission: str
) -> None:
    response = _call(world, method, path, f"Bearer {world.revoked}")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert _assert_problem_without_data(response, world)["code"] == "key_revoked"


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_route_with_expired_key_is_401(
    world: World, method: str, path: str, permission: str
) -> None:
    response = _call(world, method, path, f"Bearer {world.expired}")
    assert response.status_code == 401
    assert _assert_problem_without_data(response, world)["code"] == "key_expired"


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_route_with_too_low_role_is_403(
    world: World, method: str, path: str, permission: str
) -> None:
    role = _lowest_role_without(permission)
    if role is None:
        # deliberately open to every role
        assert permission in (
            "org:read", "plans:read", "models:read", "datasets:read", "iterations:read",
        )  # fmt: skip
        return
    response = _call(world, method, path, f"Bearer {world.tenants.keys[f'acme:{role}']}")
    assert response.status_code == 403
    assert _assert_problem_without_data(response, world)["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_route_with_other_orgs_key_is_404_or_sees_only_its_own(
    world: World, method: str, path: str, permission: str
) -> None:
    response = _call(world, method, path, f"Bearer {world.tenants.keys['globex:owner']}")
    if permission in PLATFORM_PERMISSIONS:
        assert response.status_code == 403
        _assert_problem_without_data(response, world)
    elif path.startswith(ORG_OWNED) or (method, path) in BODY_OWNED:
        assert response.status_code == 404, response.text
        _assert_problem_without_data(response, world)
    else:
        assert response.status_code < 500 or response.status_code in NO_MODEL, response.text
        sent = str(response.request.url) + response.request.content.decode()
        for secret in world.secrets_of_acme:
            leaked = secret in response.text and secret not in sent
            assert not leaked, f"{method} {path} leaked {secret}"


@pytest.mark.parametrize(("method", "path", "permission"), ROUTES)
def test_route_with_right_key_is_not_refused(
    world: World, method: str, path: str, permission: str
) -> None:
    owner = "ops:owner" if permission in PLATFORM_PERMISSIONS else "acme:owner"
    response = _call(world, method, path, f"Bearer {world.tenants.keys[owner]}")
    assert response.status_code not in (401, 403), response.text
    assert response.status_code < 500 or response.status_code in NO_MODEL, response.text


def test_problem_body_is_json(world: World) -> None:
    response = world.client.get("/v1/me")
    assert json.loads(response.text)["status"] == 401
