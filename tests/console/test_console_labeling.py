"""The console's labeling pages without a browser: queues, a queue, the annotation screen."""

from __future__ import annotations

import re

from consolekit import Tenants, csrf_of, sign_in
from fastapi.testclient import TestClient

from baryon.core.clock import FixedClock
from baryon.core.scope import Scope
from baryon.labeling.queue import enqueue, get_queue
from baryon.labeling.service import create_queue
from baryon.workspace import Workspace

_TASK = re.compile(r'data-task="(task_[0-9a-z]+)"')


def _queue(ws: Workspace, tenants: Tenants, clock: FixedClock, *, texts: list[str]) -> None:
    """acme's queue ``tickets`` (classes card, transfer, other) with one task per text."""
    org_id = tenants.org_ids["acme"]
    with ws.db.session(Scope.own(org_id, "acme")) as s:
        create_queue(
            s, org_id=org_id, name="tickets", model_name="support-intent",
            classes=["card", "transfer", "other"], overlap=1, actor="test", clock=clock,
        )  # fmt: skip
        queue = get_queue(s, "tickets")
        for i, text in enumerate(texts):
            clock.advance(1)
            enqueue(s, queue, input={"text": text}, source="test", reason="test", clock=clock,
                    priority=float(-i))  # fmt: skip


def test_queues_list_shows_progress_and_links(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    _queue(ws, tenants, clock, texts=["lost card", "send money"])
    sign_in(client, tenants.keys["acme:annotator"])
    page = client.get("/console/labeling")
    assert page.status_code == 200
    assert 'href="/console/labeling/tickets"' in page.text
    assert "0 / 2" in page.text
    detail = client.get("/console/labeling/tickets")
    assert detail.status_code == 200
    assert "lost card" in detail.text
    assert "send money" in detail.text
    assert "lost card" not in client.get("/console/labeling/tickets?status=done").text


def test_annotation_labels_skips_and_moves_on(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    _queue(ws, tenants, clock, texts=["lost card", "send money", "hello"])
    sign_in(client, tenants.keys["acme:annotator"])
    first = client.get("/console/labeling/tickets/annotate")
    assert "lost card" in first.text
    (task,) = set(_TASK.findall(first.text))
    token = csrf_of(first.text)
    done = client.post(
        f"/console/labeling/tasks/{task}/label", data={"label": "card", "csrf_token": token}
    )
    assert done.status_code == 200
    assert "Label saved." in done.text
    assert "send money" in done.text
    (second,) = set(_TASK.findall(done.text))
    skipped = client.post(f"/console/labeling/tasks/{second}/skip", data={"csrf_token": token})
    assert "Task skipped." in skipped.text
    assert "hello" in skipped.text
    again = client.post(
        f"/console/labeling/tasks/{task}/label", data={"label": "card", "csrf_token": token}
    )
    assert again.status_code == 409
    assert "error[task_not_open]" in again.text
    queue = client.get("/console/labeling/tickets?status=done")
    assert "lost card" in queue.text


def test_annotation_refuses_unknown_labels_forgery_and_other_orgs(
    client: TestClient, tenants: Tenants, ws: Workspace, clock: FixedClock
) -> None:
    _queue(ws, tenants, clock, texts=["lost card"])
    sign_in(client, tenants.keys["acme:annotator"])
    page = client.get("/console/labeling/tickets/annotate")
    (task,) = set(_TASK.findall(page.text))
    token = csrf_of(page.text)
    bad = client.post(
        f"/console/labeling/tasks/{task}/label", data={"label": "nope", "csrf_token": token}
    )
    assert bad.status_code == 422
    assert "error[unknown_label]" in bad.text
    no_csrf = client.post(f"/console/labeling/tasks/{task}/label", data={"label": "card"})
    assert no_csrf.status_code == 403
    assert "error[csrf_missing]" in no_csrf.text
    sign_in(client, tenants.keys["acme:viewer"])
    assert client.get("/console/labeling").status_code == 403
    viewer_page = client.get("/console/")
    forged = client.post(
        f"/console/labeling/tasks/{task}/label",
        data={"label": "card", "csrf_token": csrf_of(viewer_page.text)},
    )
    assert forged.status_code == 403
    assert "error[forbidden]" in forged.text
    sign_in(client, tenants.keys["globex:admin"])
    assert "tickets" not in client.get("/console/labeling").text
    assert client.get("/console/labeling/tickets").status_code == 404
    globex = client.get("/console/")
    other = client.post(
        f"/console/labeling/tasks/{task}/label",
        data={"label": "card", "csrf_token": csrf_of(globex.text)},
    )
    assert other.status_code == 404
    sign_in(client, tenants.keys["acme:annotator"])
    assert "lost card" in client.get("/console/labeling/tickets?status=open").text
