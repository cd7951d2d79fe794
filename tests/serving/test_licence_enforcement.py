"""A licensed install enforces its licence offline: features, seats, organizations,
read-only after expiry and grace; a broken licence refuses to start."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from servingkit import PortalTransport, Tenants, make_resolver

from baryon.commerce.licences import (
    LicenceError,
    generate_keys,
    install_licence,
    issue_licence,
    licence_dir,
)
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.serving.app import create_app
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}
SAMPLES = Path(__file__).resolve().parents[1] / "services" / "samples.py"
Licensed = Callable[..., Callable[[str], httpx.Client]]


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return generate_keys()


@pytest.fixture
def licensed(
    settings: Settings, ws: Workspace, clock: FixedClock, tenants: Tenants,
    keys: tuple[bytes, bytes],
) -> Iterator[Licensed]:  # fmt: skip
    """``licensed(**licence)`` installs a licence, then gives ``client(key name)``."""
    transports: list[PortalTransport] = []

    def make(**claims: object) -> Callable[[str], httpx.Client]:
        args: dict[str, object] = {
            "licensee": "Acme Bank", "features": [], "seats": 100, "orgs": 100,
            "expires_at": clock.now() + timedelta(days=30), "grace_days": 7, "clock": clock,
        }  # fmt: skip
        args.update(claims)
        install_licence(settings.home, issue_licence(keys[0], **args), keys[1], clock=clock)  # type: ignore[arg-type]
        view = Workspace(settings, ws.db, ws.artifacts, clock)  # reads the licence afresh
        served = settings.model_copy(update={"services": [str(SAMPLES)]})  # a user's service
        app = create_app(served, workspace=view, clock=clock, resolver=make_resolver())
        transport = PortalTransport(app)
        transports.append(transport)

        def client(name: str) -> httpx.Client:
            headers = {"Authorization": f"Bearer {tenants.keys[name]}"}
            return httpx.Client(base_url="http://t", transport=transport, headers=headers)

        return client

    yield make
    for transport in transports:
        transport.shutdown()


def test_traffic_split_needs_the_licensed_feature(licensed: Licensed) -> None:
    admin = licensed(features=[])("acme:admin")
    r = admin.put("/v1/endpoints/adder", json={"challenger_weight": 0.5})
    assert (r.status_code, r.json()["code"]) == (403, "licence_feature")
    assert admin.put("/v1/endpoints/adder", json={"challenger_weight": 0.0}).status_code == 200
    allowed = licensed(features=["traffic_split"])("acme:admin")
    assert allowed.put("/v1/endpoints/adder", json={"challenger_weight": 0.5}).status_code == 200


def test_organization_count_is_capped(licensed: Licensed) -> None:
    ops = licensed(orgs=4)("ops:owner")  # operator, acme, globex, ops
    r = ops.post("/v1/orgs", json={"name": "fifth"})
    assert (r.status_code, r.json()["code"]) == (403, "licence_org_limit")
    more = licensed(orgs=5)("ops:owner")
    assert more.post("/v1/orgs", json={"name": "fifth"}).status_code == 201


def test_seats_cap_active_users(licensed: Licensed) -> None:
    admin = licensed(seats=3)("acme:admin")  # one user in each of acme, globex, ops
    r = admin.post("/v1/users", json={"email": "new@acme.test", "role": "viewer"})
    assert (r.status_code, r.json()["code"]) == (403, "licence_seat_limit")


def test_after_expiry_and_grace_read_only_but_serving(
    licensed: Licensed, clock: FixedClock
) -> None:
    client = licensed(expires_at=clock.now() + timedelta(days=1), grace_days=7)
    owner, dev = client("acme:owner"), client("acme:developer")
    clock.advance(3 * 86400)  # expired, in the grace period: still writable
    assert owner.post("/v1/keys", json={"role": "viewer"}).status_code == 201
    clock.advance(6 * 86400)  # past the grace period
    r = owner.post("/v1/keys", json={"role": "viewer"})
    assert (r.status_code, r.json()["code"]) == (403, "licence_read_only")
    assert "read-only" in r.json()["detail"]
    assert dev.post("/v1/models/adder/predict", json={"inputs": [ROW]}).status_code == 200
    assert dev.post("/v1/services/mood/score", json={"texts": ["good"]}).status_code == 200
    assert owner.get("/v1/keys").status_code == 200


def test_a_tampered_licence_refuses_to_start(
    licensed: Licensed, settings: Settings, ws: Workspace, clock: FixedClock
) -> None:
    licensed()
    token = licence_dir(settings.home) / "licence.jwt"
    head, payload, sig = token.read_text().split(".")
    token.write_text(f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}")
    view = Workspace(settings, ws.db, ws.artifacts, clock)
    with pytest.raises(LicenceError) as err:
        create_app(settings, workspace=view, clock=clock, resolver=make_resolver())
    assert err.value.code == "licence_bad_signature"
