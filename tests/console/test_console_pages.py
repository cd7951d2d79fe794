"""The console's pages over real data (runs, datasets, models), without a browser."""

from __future__ import annotations

import re

from consolekit import Tenants, csrf_of, sign_in
from fastapi.testclient import TestClient

from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace

_RUN_ROW = re.compile(r'name="ids" value="(run_[0-9a-z]+)"')


def _runs(ws: Workspace, org: str, n: int) -> list[str]:
    acme = ws.for_org(org)
    ids = []
    for i in range(n):
        ws.clock.advance(1)  # type: ignore[attr-defined]  (a FixedClock: runs sort by start)
        run = acme.runs.start(
            kind="decision_tree" if i % 2 else "logistic_regression", task="classification",
            params={"max_depth": i}, seed=42, dataset_version_id="dsv_x", dataset_name="quad",
            dataset_version=1,
        )  # fmt: skip
        acme.runs.update(run.id, metrics={"accuracy": i / n}, history={"loss": [1.0, 0.5, 0.1 * i]})
        ids.append(acme.runs.finish(run.id, status="succeeded" if i % 3 else "failed").id)
    return ids


def test_runs_table_pages_and_filters(client: TestClient, tenants: Tenants, ws: Workspace) -> None:
    ids = _runs(ws, "acme", 30)
    sign_in(client, tenants.keys["acme:developer"])
    first = client.get("/console/runs")
    shown = _RUN_ROW.findall(first.text)
    assert shown == ids[::-1][:25]  # newest first
    assert "Page 1 of 2 (30 in all)" in first.text
    second = _RUN_ROW.findall(client.get("/console/runs?page=2").text)
    assert second == ids[::-1][25:]
    failed = _RUN_ROW.findall(client.get("/console/runs?status=failed").text)
    assert sorted(failed) == sorted(ids[i] for i in range(30) if i % 3 == 0)
    trees = _RUN_ROW.findall(client.get("/console/runs?kind=decision_tree&status=failed").text)
    assert sorted(trees) == sorted(ids[i] for i in range(30) if i % 3 == 0 and i % 2)
    bad = client.get("/console/runs?status=nonsense")
    assert bad.status_code == 422
    assert "error[invalid_status]" in bad.text


def test_run_detail_and_compare(client: TestClient, tenants: Tenants, ws: Workspace) -> None:
    a, b, c = _runs(ws, "acme", 3)
    sign_in(client, tenants.keys["acme:viewer"])
    detail = client.get(f"/console/runs/{a}")
    assert detail.status_code == 200
    assert 'data-chart="history-1"' in detail.text
    compared = client.get(f"/console/runs/compare?ids={a}&ids={b}&ids={c}")
    assert compared.status_code == 200
    assert '<tr class="differs"><th scope="row">max_depth <small>(differs)</small>' in compared.text
    assert 'data-chart="overlay-1"' in compared.text
    one = client.get(f"/console/runs/compare?ids={a}")
    assert one.status_code == 422
    assert "error[invalid_run_ids]" in one.text


def test_another_organizations_run_is_404(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    (acme_run,) = _runs(ws, "acme", 1)
    sign_in(client, tenants.keys["globex:admin"])
    assert acme_run not in client.get("/console/runs").text
    response = client.get(f"/console/runs/{acme_run}")
    assert response.status_code == 404
    assert "error[run_not_found]" in response.text
    other = client.get(f"/console/runs/compare?ids={acme_run}&ids={acme_run[:-1]}x")
    assert other.status_code == 404


def _upload(client: TestClient, name: str, body: bytes, token: str | None) -> object:
    data = {"name": name, "format": ""}  # a browser sends the empty select too
    if token is not None:
        data["csrf_token"] = token
    return client.post(
        "/console/datasets", data=data, files={"file": ("data.csv", body, "text/csv")},
        follow_redirects=False,
    )  # fmt: skip


def test_upload_makes_a_version_and_needs_the_csrf_token(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    sign_in(client, tenants.keys["acme:developer"])
    body = b"x,<script>alert(1)</script>\n1,a\n2,b\n3,a\n"
    refused = _upload(client, "tickets", body, None)
    assert refused.status_code == 403
    assert ws.for_org("acme").datasets.count() == 0
    token = csrf_of(client.get("/console/datasets").text)
    made = _upload(client, "tickets", body, token)
    assert made.status_code == 303
    assert made.headers["location"] == "/console/datasets/tickets?version=1&created=yes"
    page = client.get(made.headers["location"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert(1)</script>" not in page.text
    assert "version 1 is new" in page.text
    again = _upload(client, "tickets", body, token)
    assert again.headers["location"].endswith("created=no")
    assert ws.for_org("acme").datasets.count() == 1


def test_upload_with_a_label_then_split_then_the_train_form_from_the_browser_alone(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    sign_in(client, tenants.keys["acme:developer"])
    token = csrf_of(client.get("/console/datasets").text)
    rows = "".join(f"{i},{'hi' if i % 2 else 'lo'}\n" for i in range(40))
    made = client.post(
        "/console/datasets", files={"file": ("d.csv", f"x,kind\n{rows}".encode(), "text/csv")},
        data={"name": "points2", "format": "", "label_column": "kind", "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303
    acme = ws.for_org("acme")
    assert acme.datasets.get("points2").columns_with_role("label") == ["kind"]
    page = client.get(made.headers["location"])
    assert 'id="split-form"' in page.text
    assert 'id="train-form"' not in page.text  # no split yet: the page says to split first
    assert "has no split yet" in page.text
    missing = client.post("/console/datasets/points2/split", data={"version": "1",
                          "strategy": "stratified"}, follow_redirects=False)  # fmt: skip
    assert missing.status_code == 403  # no CSRF token: nothing split
    assert acme.datasets.count() == 1
    assert acme.datasets.get("points2").split is None
    split = client.post(
        "/console/datasets/points2/split",
        data={"version": "1", "strategy": "stratified", "seed": "7", "csrf_token": token},
        follow_redirects=False,
    )
    assert split.status_code == 303
    assert split.headers["location"] == "/console/datasets/points2?version=2&created=split"
    version = acme.datasets.get("points2", 2)
    assert version.split is not None
    assert version.split["seed"] == 7
    shown = client.get(split.headers["location"])
    assert 'id="train-form"' in shown.text
    assert "holds the split" in shown.text
    bad = client.post(
        "/console/datasets/points2/split",
        data={"version": "1", "strategy": "time", "csrf_token": token},
        follow_redirects=False,
    )
    assert bad.status_code == 422
    assert "error[" in bad.text
    negative = client.post(
        "/console/datasets/points2/split",
        data={"version": "1", "strategy": "random", "seed": "-5", "csrf_token": token},
    )
    assert negative.status_code == 422
    assert "a field of the form is not valid: seed" in negative.text
    sign_in(client, tenants.keys["globex:admin"])
    token = csrf_of(client.get("/console/datasets").text)
    other = client.post(
        "/console/datasets/points2/split",
        data={"version": "1", "strategy": "random", "csrf_token": token},
        follow_redirects=False,
    )
    assert other.status_code == 404


def test_upload_with_a_script_as_name_shows_the_error_as_text(
    client: TestClient, tenants: Tenants, ws: Workspace
) -> None:
    sign_in(client, tenants.keys["acme:developer"])
    token = csrf_of(client.get("/console/datasets").text)
    response = _upload(client, "<script>alert(1)</script>", b"x\n1\n", token)
    assert response.status_code == 422
    assert "error[invalid_name]" in response.text
    assert "<script>alert(1)</script>" not in response.text
    assert ws.for_org("acme").datasets.count() == 0


def test_viewer_cannot_upload_and_globex_cannot_see_acme_data(
    client: TestClient, app: object, tenants: Tenants, ws: Workspace
) -> None:
    sign_in(client, tenants.keys["acme:developer"])
    token = csrf_of(client.get("/console/datasets").text)
    _upload(client, "tickets", b"x\n1\n2\n", token)
    sign_in(client, tenants.keys["acme:viewer"])
    listing = client.get("/console/datasets")
    assert "/console/datasets/tickets" in listing.text
    assert 'id="upload-form"' not in listing.text
    refused = _upload(client, "more", b"x\n1\n", csrf_of(listing.text))
    assert refused.status_code == 403
    sign_in(client, tenants.keys["globex:admin"])
    assert "/console/datasets/tickets" not in client.get("/console/datasets").text
    assert client.get("/console/datasets/tickets").status_code == 404


def test_overview_shows_plan_and_usage(client: TestClient, tenants: Tenants, ws: Workspace) -> None:
    from baryon.commerce.metering import record_usage

    with ws.db.session(SYSTEM) as s:
        record_usage(
            s, org_id=tenants.org_ids["acme"], key_id=tenants.key_ids["acme:admin"],
            endpoint="/v1/models/{name}/predict", units=3, status=200, latency_ms=1.0,
            period_start=ws.clock.now(), clock=ws.clock,
        )  # fmt: skip
    sign_in(client, tenants.keys["acme:admin"])
    page = client.get("/console/")
    assert page.status_code == 200
    assert "test" in page.text  # the plan
    assert 'data-chart="usage-chart"' in page.text
    usage = client.get("/console/usage?group_by=key")
    assert "admin key (bry_" in usage.text
    assert 'data-chart="usage-days"' in usage.text
    assert "3" in usage.text
