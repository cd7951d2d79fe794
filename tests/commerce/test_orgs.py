"""Organizations and subscriptions."""

from __future__ import annotations

import pytest

from baryon.commerce.metering import reserve_quota
from baryon.commerce.orgs import (
    active_subscription,
    create_org,
    get_org,
    list_orgs,
    subscribe,
    update_org,
)
from baryon.core.audit import list_audit_events
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    return workspace


def test_create_org_defaults_to_free_plan_and_audits(ws: Workspace, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        org = create_org(s, name="acme", actor="cli:t", clock=clock)
    with ws.db.session(SYSTEM) as s:
        sub = active_subscription(s, org.id)
        events = list_audit_events(s, object_id=org.id)
    assert sub is not None
    assert sub.plan.name == "free"
    assert sub.billing_anchor == clock.now()
    assert org.prediction_inputs == "masked"  # new organizations: personal data masked
    assert not org.operator
    assert [e.action for e in events] == ["org.create"]
    assert events[0].details["prediction_inputs"] == "masked"


@pytest.mark.parametrize("name", ["", "Acme", "-acme", "a b", "x" * 65])
def test_create_org_bad_name_refused(ws: Workspace, name: str) -> None:
    with ws.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_org(s, name=name)
    assert err.value.code == "invalid_name"


def test_create_org_duplicate_conflicts(ws: Workspace) -> None:
    with ws.db.session(SYSTEM) as s:
        create_org(s, name="acme")
    with ws.db.session(SYSTEM) as s, pytest.raises(Conflict) as err:
        create_org(s, name="acme")
    assert err.value.code == "org_exists"


def test_create_org_unknown_plan_not_found_and_nothing_written(ws: Workspace) -> None:
    with ws.db.session(SYSTEM) as s, pytest.raises(NotFound):
        create_org(s, name="acme", plan="platinum")
    with ws.db.session(SYSTEM) as s:
        assert [o.name for o in list_orgs(s)] == ["operator"]  # the workspace's own only


def test_create_org_bad_input_mode_refused(ws: Workspace) -> None:
    with ws.db.session(SYSTEM) as s, pytest.raises(InvalidInput):
        create_org(s, name="acme", prediction_inputs="some")


def test_get_org_by_name_or_id(ws: Workspace) -> None:
    with ws.db.session(SYSTEM) as s:
        org = create_org(s, name="acme")
        assert get_org(s, "acme") == get_org(s, org.id) == org
        with pytest.raises(NotFound):
            get_org(s, "globex")


def test_subscribe_keeps_anchor_and_used_quota(ws: Workspace, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        org = create_org(s, name="acme", clock=clock)
    clock.advance(10 * 86400)
    with ws.db.session(SYSTEM) as s:
        sub = active_subscription(s, org.id)
        assert sub is not None
        reserve_quota(s, sub, units=1, now=clock.now())
        reserve_quota(s, sub, units=1, now=clock.now())
    with ws.db.session(SYSTEM) as s:
        new = subscribe(s, org.id, "pro", actor="cli:t", clock=clock)
        state = reserve_quota(s, new, units=1, now=clock.now())
    assert new.plan.name == "pro"
    assert new.billing_anchor == sub.billing_anchor
    assert state.used == 3  # the two units used on free still count this period
    with ws.db.session(SYSTEM) as s:
        actions = [e.action for e in list_audit_events(s, object_id=org.id)]
    assert actions == ["org.create", "org.subscribe"]


def test_subscribe_same_plan_is_a_no_op(ws: Workspace) -> None:
    with ws.db.session(SYSTEM) as s:
        org = create_org(s, name="acme")
        first = active_subscription(s, org.id)
    with ws.db.session(SYSTEM) as s:
        again = subscribe(s, org.id, "free")
        actions = [e.action for e in list_audit_events(s, object_id=org.id)]
    assert first is not None
    assert again.id == first.id
    assert actions == ["org.create"]  # nothing written, nothing audited


def test_subscribe_unknown_org_or_plan_not_found(ws: Workspace) -> None:
    with ws.db.session(SYSTEM) as s:
        org = create_org(s, name="acme")
    with ws.db.session(SYSTEM) as s, pytest.raises(NotFound):
        subscribe(s, "org_nope", "pro")
    with ws.db.session(SYSTEM) as s, pytest.raises(NotFound):
        subscribe(s, org.id, "platinum")


def test_update_org_changes_inputs_mode_audited_once(ws: Workspace) -> None:
    with ws.db.session(SYSTEM) as s:
        org = create_org(s, name="acme")
    with ws.db.session(SYSTEM) as s:
        assert update_org(s, org.id, prediction_inputs="hashed").prediction_inputs == "hashed"
        update_org(s, org.id, prediction_inputs="hashed")  # no change, no event
    with ws.db.session(SYSTEM) as s:
        actions = [e.action for e in list_audit_events(s, object_id=org.id)]
    assert sorted(actions) == ["org.create", "org.update"]  # same frozen instant: any order
