"""``/v1/iterations``: create, show, add, move, close over HTTP and the SDK; strict
bodies; another organization's iteration, item or linked object is a 404."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from iterationkit import add_cycle, add_queue, register_model, succeeded_run
from servingkit import ClientFactory, PortalTransport, Tenants

from baryon.client import Client
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.workspace import Workspace

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GOAL = {"model": "support-intent", "metric": "accuracy", "op": ">=", "target": 0.94}
BODY = {"name": "sprint-1", "ends_at": "2026-01-15T00:00:00Z", "goals": [GOAL]}


@pytest.fixture
def acme(ws: Workspace, tenants: Tenants) -> Workspace:
    """acme's view, with model ``support-intent`` (champion v1, accuracy 0.91)."""
    view = ws.for_org(tenants.org_ids["acme"])
    register_model(view, "support-intent", {"accuracy": 0.91})
    return view


@pytest.fixture
def dev(api: ClientFactory, tenants: Tenants, acme: Workspace) -> httpx.Client:
    return api(tenants.keys["acme:developer"])


def _problem(answer: httpx.Response, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    return str(answer.json()["code"])


def test_iteration_api_create_add_move_show_close(
    dev: httpx.Client, ws: Workspace, acme: Workspace, tenants: Tenants
) -> None:
    org = tenants.org_ids["acme"]
    made = dev.post("/v1/iterations", json=BODY)
    assert made.status_code == 201, made.text
    it = made.json()
    assert (it["name"], it["status"], it["starts_at"], it["ends_at"]) == (
        "sprint-1", "open", "2026-01-01T00:00:00+00:00", "2026-01-15T00:00:00+00:00",
    )  # fmt: skip
    assert it["goals"] == [{**GOAL, "value": 0.91, "champion_version": 1, "met": False,
                            "trajectory": []}]  # fmt: skip
    run = succeeded_run(acme, {"accuracy": 0.95})
    queue = add_queue(ws, org, "intents", ["open", "done"])
    cycle = add_cycle(ws, org, "support-intent", at=NOW + timedelta(days=1), status="promoted",
                      champion=0.91, candidate=0.95)  # fmt: skip
    items = {}
    for kind, ref in (("run", run), ("labeling", queue), ("flywheel", cycle)):
        answer = dev.post(f"/v1/iterations/{it['id']}/items", json={"kind": kind, "ref": ref})
        assert answer.status_code == 201, answer.text
        items[kind] = answer.json()
    task = dev.post("/v1/iterations/sprint-1/items", json={"kind": "task", "title": "runbook"})
    assert task.status_code == 201, task.text
    assert items["run"]["linked"]["metrics"] == {"accuracy": 0.95}
    assert items["labeling"]["linked"]["progress"]["total"] == 2
    assert items["flywheel"]["linked"]["status"] == "promoted"
    moved = dev.patch(
        f"/v1/iterations/sprint-1/items/{items['run']['id']}",
        json={"state": "done", "owner": tenants.user_ids["acme"]},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["state"], moved.json()["owner"]) == ("done", tenants.user_ids["acme"])
    unassigned = dev.patch(f"/v1/iterations/sprint-1/items/{items['run']['id']}",
                           json={"owner": None})  # fmt: skip
    assert (unassigned.json()["state"], unassigned.json()["owner"]) == ("done", None)
    shown = dev.get("/v1/iterations/sprint-1").json()
    assert shown["counts"] == {"todo": 3, "doing": 0, "done": 1}
    assert sorted(i["kind"] for i in shown["items"]["todo"]) == ["flywheel", "labeling", "task"]
    [point] = shown["goals"][0]["trajectory"]
    assert (point["cycle_id"], point["value"], point["decision"]) == (cycle, 0.95, "promoted")
    listed = dev.get("/v1/iterations").json()
    assert [(i["name"], i["counts"]["todo"]) for i in listed] == [("sprint-1", 3)]
    closed = dev.post("/v1/iterations/sprint-1/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["summary"]["goals"][0]["met"] is False
    assert closed.json()["summary"]["total"] == 1
    again = dev.post("/v1/iterations/sprint-1/items", json={"kind": "task", "title": "late"})
    assert _problem(again, 409) == "iteration_closed"
    assert _problem(dev.post("/v1/iterations/sprint-1/close"), 409) == "iteration_closed"
    assert dev.get("/v1/iterations?status=open").json() == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({**BODY, "goals": [{**GOAL, "target": True}]}, "invalid_input"),  # bool as number
        ({**BODY, "goals": [{**GOAL, "target": "0.94"}]}, "invalid_input"),
        ({**BODY, "goals": [{**GOAL, "op": "=="}]}, "invalid_input"),
        ({**BODY, "goals": [{**GOAL, "extra": 1}]}, "invalid_input"),
        ({**BODY, "ends_at": "2026-01-15T00:00:00"}, "invalid_time"),  # no time zone
        ({**BODY, "ends_at": 1768435200}, "invalid_time"),  # epoch seconds
        ({**BODY, "ends_at": "2026-01-15"}, "invalid_time"),
        ({**BODY, "name": "x" * 101}, "invalid_iteration_name"),
        ({**BODY, "colour": "red"}, "invalid_input"),
        ({**BODY, "goals": [GOAL] * 21}, "invalid_input"),
        ({**BODY, "name": "sprint 1"}, "invalid_iteration_name"),
        ({**BODY, "ends_at": "2025-12-31T00:00:00Z"}, "invalid_time_box"),
        ({**BODY, "ends_at": "9999-12-31T23:59:59-14:00"}, "invalid_time"),  # overflows UTC
        ({**BODY, "starts_at": "0001-01-01T00:00:00+14:00"}, "invalid_time"),
        ({**BODY, "goals": [{**GOAL, "model": "nope"}]}, "unknown_goal_model"),
        ({**BODY, "goals": [{**GOAL, "metric": "r2"}]}, "unknown_goal_metric"),
        ({**BODY, "goals": [GOAL, GOAL]}, "duplicate_goal"),
    ],
)
def test_create_iteration_bad_body_is_422_with_code(
    dev: httpx.Client, body: dict[str, Any], code: str
) -> None:
    assert _problem(dev.post("/v1/iterations", json=body), 422) == code
    assert dev.get("/v1/iterations").json() == []


def test_create_iteration_nan_target_is_422(dev: httpx.Client) -> None:
    raw = b'{"name": "s", "ends_at": "2026-02-01T00:00:00Z", "goals": [{"model": ' \
          b'"support-intent", "metric": "accuracy", "op": ">=", "target": NaN}]}'  # fmt: skip
    answer = dev.post("/v1/iterations", content=raw, headers={"content-type": "application/json"})
    assert answer.status_code in (400, 422), answer.text


def test_create_iteration_name_taken_is_409_and_idempotency_key_replays(
    dev: httpx.Client,
) -> None:
    first = dev.post("/v1/iterations", json=BODY, headers={"Idempotency-Key": "k1"})
    replay = dev.post("/v1/iterations", json=BODY, headers={"Idempotency-Key": "k1"})
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers.get("idempotent-replayed") == "true"
    assert _problem(dev.post("/v1/iterations", json=BODY), 409) == "iteration_exists"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"kind": "bug", "title": "x"}, 422, "invalid_input"),
        ({"kind": "task", "title": "x", "state": "blocked"}, 422, "invalid_input"),
        ({"kind": "task", "title": ""}, 422, "invalid_title"),
        ({"kind": "task", "title": " \t "}, 422, "invalid_title"),
        ({"kind": "task", "title": "x" * 501}, 422, "invalid_title"),
        ({"kind": "task", "title": "x", "owner": "o" * 201}, 422, "invalid_owner"),
        ({"kind": "task", "title": 5}, 422, "invalid_input"),
        ({"kind": "task"}, 422, "missing_title"),
        ({"kind": "run"}, 422, "missing_ref"),
        ({"kind": "run", "ref": "lq_01jd8x3k6q9w2f7c0m4t5v8b1a"}, 422, "invalid_ref"),
        ({"kind": "task", "title": "x", "ref": "run_01jd8x3k6q9w2f7c0m4t5v8b1a"}, 422,
         "unexpected_ref"),
        ({"kind": "run", "ref": "run_01jd8x3k6q9w2f7c0m4t5v8b1a"}, 404, "run_not_found"),
    ],
)  # fmt: skip
def test_add_item_bad_body_refused_with_code(
    dev: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    assert dev.post("/v1/iterations", json=BODY).status_code == 201
    assert _problem(dev.post("/v1/iterations/sprint-1/items", json=body), status) == code


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "empty_update"),
        ({"state": "blocked"}, "invalid_input"),
        ({"state": 1}, "invalid_input"),
        ({"title": ""}, "invalid_title"),
        ({"title": None}, "invalid_title"),  # only the owner is unassigned with null
        ({"state": None}, "invalid_item_state"),
        ({"owner": "x", "priority": 1}, "invalid_input"),
    ],
)
def test_move_item_bad_body_is_422(dev: httpx.Client, body: dict[str, Any], code: str) -> None:
    assert dev.post("/v1/iterations", json=BODY).status_code == 201
    item = dev.post("/v1/iterations/sprint-1/items", json={"kind": "task", "title": "x"}).json()
    answer = dev.patch(f"/v1/iterations/sprint-1/items/{item['id']}", json=body)
    assert _problem(answer, 422) == code


def test_other_org_gets_404_for_iteration_item_and_linked_objects(
    dev: httpx.Client, api: ClientFactory, tenants: Tenants, ws: Workspace, acme: Workspace
) -> None:
    it = dev.post("/v1/iterations", json=BODY).json()
    run = succeeded_run(acme, {"accuracy": 0.9})
    queue = add_queue(ws, tenants.org_ids["acme"], "intents", ["open"])
    cycle = add_cycle(ws, tenants.org_ids["acme"], "support-intent", at=NOW)
    item = dev.post("/v1/iterations/sprint-1/items", json={"kind": "run", "ref": run}).json()
    globex = api(tenants.keys["globex:owner"])
    for ref in ("sprint-1", it["id"]):
        calls = [
            globex.get(f"/v1/iterations/{ref}"),
            globex.post(f"/v1/iterations/{ref}/items", json={"kind": "task", "title": "x"}),
            globex.patch(f"/v1/iterations/{ref}/items/{item['id']}", json={"state": "done"}),
            globex.post(f"/v1/iterations/{ref}/close"),
        ]
        for answer in calls:
            assert _problem(answer, 404) == "iteration_not_found"
            assert run not in answer.text
            assert item["id"] not in answer.text
    assert globex.get("/v1/iterations").json() == []
    # globex's own iteration cannot link acme's queue, run or cycle
    mine = globex.post("/v1/iterations", json={**BODY, "goals": []})
    assert mine.status_code == 201, mine.text  # names are per organization
    for kind, ref, code in (
        ("run", run, "run_not_found"),
        ("labeling", queue, "queue_not_found"),
        ("flywheel", cycle, "cycle_not_found"),
    ):
        answer = globex.post("/v1/iterations/sprint-1/items", json={"kind": kind, "ref": ref})
        assert _problem(answer, 404) == code
    goal = globex.post("/v1/iterations", json={**BODY, "name": "s2"})  # acme's model
    assert _problem(goal, 422) == "unknown_goal_model"
    # acme's item is not globex's iteration's item either
    answer = globex.patch(f"/v1/iterations/sprint-1/items/{item['id']}", json={"state": "done"})
    assert _problem(answer, 404) == "item_not_found"
    shown = dev.get("/v1/iterations/sprint-1").json()
    assert shown["items"]["todo"][0]["id"] == item["id"]  # untouched


def test_iteration_permissions_viewer_reads_developer_writes(
    dev: httpx.Client, api: ClientFactory, tenants: Tenants
) -> None:
    assert dev.post("/v1/iterations", json=BODY).status_code == 201
    for role in ("viewer", "annotator"):
        reader = api(tenants.keys[f"acme:{role}"])
        assert reader.get("/v1/iterations/sprint-1").status_code == 200
        refused = reader.post("/v1/iterations/sprint-1/items", json={"kind": "task", "title": "x"})
        assert _problem(refused, 403) == "forbidden"
        assert _problem(reader.post("/v1/iterations/sprint-1/close"), 403) == "forbidden"


@pytest.fixture
def sdk(app: FastAPI, tenants: Tenants, acme: Workspace) -> Iterator[Client]:
    transport = PortalTransport(app)
    try:
        with Client("http://testserver", tenants.keys["acme:developer"], transport) as client:
            yield client
    finally:
        transport.shutdown()


def test_sdk_iterations_round_trip(sdk: Client, acme: Workspace) -> None:
    made = sdk.create_iteration(
        "sprint-1", ends_at=datetime(2026, 1, 15, tzinfo=UTC), goals=[{**GOAL, "target": 0.9}]
    )
    assert (made.name, made.goals[0].met, made.goals[0].value) == ("sprint-1", True, 0.91)
    run = succeeded_run(acme, {"accuracy": 0.9})
    item = sdk.add_iteration_item("sprint-1", "run", ref=run, owner="ana")
    assert (item.kind, item.ref, item.owner, item.state) == ("run", run, "ana", "todo")
    moved = sdk.move_iteration_item("sprint-1", item.id, "doing")
    assert (moved.state, moved.owner) == ("doing", "ana")
    unassigned = sdk.move_iteration_item("sprint-1", item.id, unassign=True)
    assert (unassigned.state, unassigned.owner) == ("doing", None)
    shown = sdk.iteration(made.id)
    assert [i.id for i in shown.items.doing] == [item.id]
    assert [i.name for i in sdk.iterations(status="open")] == ["sprint-1"]
    closed = sdk.close_iteration("sprint-1")
    assert (closed.status, closed.summary["met"], closed.summary["total"]) == ("closed", 1, 1)
    with pytest.raises(Conflict) as err:
        sdk.add_iteration_item("sprint-1", "task", title="late")
    assert err.value.code == "iteration_closed"
    with pytest.raises(NotFound) as missing:
        sdk.iteration("nope")
    assert missing.value.code == "iteration_not_found"
    with pytest.raises(InvalidInput) as bad:
        sdk.create_iteration("s2", ends_at=datetime(2026, 1, 15, tzinfo=UTC),
                             goals=[{**GOAL, "metric": "f1"}])  # fmt: skip
    assert bad.value.code == "unknown_goal_metric"


def test_sdk_create_iteration_takes_iso_texts_refuses_other_values(sdk: Client) -> None:
    # QA 13 #8: ends_at="2026-12-30T00:00:00Z" raised AttributeError ('str' … isoformat)
    made = sdk.create_iteration(
        "sdk-it", ends_at="2026-12-30T00:00:00Z", starts_at="2026-12-01T00:00:00+00:00"
    )
    assert (made.starts_at, made.ends_at) == (
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 30, tzinfo=UTC),
    )  # fmt: skip
    for bad in ("next tuesday", 20261230):
        with pytest.raises(InvalidInput) as refused:
            sdk.create_iteration("sdk-bad", ends_at=bad)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_datetime"
    assert [i.name for i in sdk.iterations()] == ["sdk-it"]
