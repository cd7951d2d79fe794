"""Property: an invoice's units equal the usage records' and the units answered, for
random request histories with idempotent replays and failed requests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servingkit import PortalTransport, fresh_home, make_resolver, make_tenants

from baryon.commerce.billing import close_billing, reconcile
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.serving.app import create_app
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}
#: One request: (kind, inputs, seconds to wait before it). ``replay`` repeats the
#: previous keyed request as it was (same key, same body); ``fail`` names no model.
REQUEST = st.tuples(
    st.sampled_from(["ok", "keyed", "replay", "fail"]),
    st.integers(min_value=1, max_value=4),
    st.integers(min_value=0, max_value=86_400),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=st.lists(REQUEST, min_size=1, max_size=10))
def test_invoice_units_equal_usage_units(
    migrated_db: Path, history: list[tuple[str, int, int]]
) -> None:
    clock = FixedClock()
    with tempfile.TemporaryDirectory() as tmp:
        settings_ = Settings(home=Path(tmp) / "home")
        fresh_home(migrated_db, settings_.home)
        ws = Workspace.open(settings_, clock=clock)
        tenants = make_tenants(ws, clock)
        app = create_app(settings_, workspace=ws, clock=clock, resolver=make_resolver())
        transport = PortalTransport(app)
        headers = {"Authorization": f"Bearer {tenants.keys['acme:developer']}"}
        answered = 0
        last_keyed: tuple[str, dict[str, object]] | None = None
        try:
            with httpx.Client(base_url="http://t", transport=transport, headers=headers) as c:
                for n, (kind, inputs, wait) in enumerate(history):
                    clock.advance(wait)
                    body: dict[str, object] = {"inputs": [ROW] * inputs}
                    if kind == "fail":
                        r = c.post("/v1/models/nope/predict", json=body)
                        assert r.status_code == 404
                        continue
                    key = None
                    if kind == "replay" and last_keyed is not None:
                        key, body = last_keyed
                    elif kind in ("keyed", "replay"):
                        key = f"k{n}"
                        last_keyed = (key, body)
                    extra = {} if key is None else {"Idempotency-Key": key}
                    r = c.post("/v1/models/adder/predict", json=body, headers=extra)
                    assert r.status_code == 200, r.text
                    if r.headers.get("idempotent-replayed") != "true":
                        answered += r.json()["usage"]["units"]
            clock.advance(31 * 86400)
            report = close_billing(ws.db, org="acme", period="2026-01", clock=clock)
            (invoice,) = report.created
            assert invoice.units == answered
            (checked,) = reconcile(ws.db, org="acme", clock=clock)
            assert checked.usage_units == invoice.units
            assert checked.difference == 0
        finally:
            transport.shutdown()
            ws.close()
