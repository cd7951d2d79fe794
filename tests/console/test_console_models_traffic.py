"""The model page's traffic split editor and per-variant outcomes (no browser)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from consolekit import Tenants, csrf_of, sign_in
from fastapi.testclient import TestClient

from baryon.core.clock import FixedClock
from baryon.core.scope import SYSTEM
from baryon.predictions.log import add_feedback, log_prediction
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace


@pytest.fixture
def points(ws: Workspace, tenants: Tenants, tmp_path: object, clock: FixedClock) -> None:
    """acme's model ``points``: v1 champion, v2 challenger; 3 champion predictions and 1
    challenger prediction, with label feedback (champion 1 of 2 right, challenger 1 of 1)."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(80, 2))
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1]})
    frame["label"] = np.where(x.sum(axis=1) > 0, "up", "down")
    path = ws.settings.home / "points.csv"
    frame.to_csv(path, index=False)
    acme = ws.for_org("acme")
    acme.datasets.ingest(path, name="points", roles={"label": "label"})
    acme.datasets.split("points", strategy="random", seed=3)
    trainer = Trainer(acme)
    trainer.train("decision_tree", "points", params={"max_depth": 1}, register="points")
    trainer.train("decision_tree", "points", params={"max_depth": 3}, register="points")
    org_id, key_id = tenants.org_ids["acme"], tenants.key_ids["acme:admin"]
    rows = [
        ("champion", 1, "up", "up"), ("champion", 1, "up", "down"), ("champion", 1, "down", None),
        ("challenger", 2, "down", "down"),
    ]  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        for i, (variant, version, predicted, truth) in enumerate(rows):
            pid = f"pred_{i:026d}"
            log_prediction(
                s, prediction_id=pid, org_id=org_id, key_id=key_id, model_name="points",
                model_version=version, variant=variant, request_id=None, input_mode="none",
                inputs=[{"x1": 0, "x2": 0}], outputs=[{"label": predicted}], flags=[],
                latency_ms=2.0 + i, at=clock.now(),
            )  # fmt: skip
            if truth is not None:
                add_feedback(
                    s, org_id=org_id, key_id=key_id, prediction_id=pid, label=truth, clock=clock
                )


def _outcome_rows(html: str) -> list[list[str]]:
    table = html.split('id="traffic"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return [re.sub(r"<[^>]+>", " ", r).split() for r in re.findall(r"<tr>(.*?)</tr>", table)]


def test_outcomes_per_variant_and_the_split_editor(
    client: TestClient, tenants: Tenants, points: None
) -> None:
    sign_in(client, tenants.keys["acme:developer"])
    page = client.get("/console/models/points")
    assert page.status_code == 200
    assert "Every request goes to the champion." in page.text
    assert 'id="traffic-form"' not in page.text
    rows = _outcome_rows(page.text)
    assert rows[0][:6] == ["champion", "v1", "3", "3", "3", "2"]
    assert "0.5" in rows[0]
    assert rows[1][:6] == ["challenger", "v2", "1", "1", "5", "1"]
    assert "(1/1)" in " ".join(rows[1])
    forged = client.post(
        "/console/models/points/traffic",
        data={"challenger_percent": "20", "csrf_token": csrf_of(page.text)},
    )
    assert forged.status_code == 403
    sign_in(client, tenants.keys["acme:admin"])
    page = client.get("/console/models/points")
    token = csrf_of(page.text)
    saved = client.post(
        "/console/models/points/traffic", data={"challenger_percent": "25", "csrf_token": token}
    )
    assert saved.status_code == 200
    assert "Traffic split saved." in saved.text
    assert "<strong>25 %</strong> of requests go to the challenger" in saved.text
    too_much = client.post(
        "/console/models/points/traffic", data={"challenger_percent": "150", "csrf_token": token}
    )
    assert too_much.status_code == 422
    assert "<strong>25 %</strong>" in client.get("/console/models/points").text
    sign_in(client, tenants.keys["globex:admin"])
    globex = csrf_of(client.get("/console/keys").text)
    other = client.post(
        "/console/models/points/traffic", data={"challenger_percent": "0", "csrf_token": globex}
    )
    assert other.status_code == 404


def test_training_form_starts_a_run_and_refuses_bad_input(
    client: TestClient, tenants: Tenants, ws: Workspace, points: None
) -> None:
    sign_in(client, tenants.keys["acme:developer"])
    page = client.get("/console/datasets/points")
    assert 'id="train-form"' in page.text
    token = csrf_of(page.text)
    started = client.post(
        "/console/runs",
        data={"dataset": "points:1", "kind": "decision_tree", "register_as": "", "seed": "1",
              "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert started.status_code == 303
    run_id = started.headers["location"].rsplit("/", 1)[1]
    # the run the form made (the in-process worker may already have taken it further)
    run = ws.for_org("acme").runs.get(run_id)
    assert (run.kind, run.seed, run.dataset_version) == ("decision_tree", 1, 1)
    bad = client.post(
        "/console/runs",
        data={"dataset": "points:1", "kind": "no_such_kind", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "error[unknown_kind]" in bad.text
    sign_in(client, tenants.keys["acme:viewer"])
    viewer = client.get("/console/datasets/points")
    assert 'id="train-form"' not in viewer.text
    forged = client.post(
        "/console/runs",
        data={"dataset": "points:1", "kind": "decision_tree", "csrf_token": csrf_of(viewer.text)},
    )
    assert forged.status_code == 403


def test_evaluate_a_version_on_a_split_from_the_model_page(
    client: TestClient, tenants: Tenants, ws: Workspace, points: None
) -> None:
    sign_in(client, tenants.keys["acme:viewer"])  # evaluating reads: viewers may
    page = client.get("/console/models/points")
    assert 'id="evaluate-form"' in page.text
    token = csrf_of(page.text)
    shown = client.post(
        "/console/models/points/evaluate",
        data={"dataset": "points:2", "version": "2", "split": "test", "csrf_token": token},
    )
    assert shown.status_code == 200
    table = shown.text.split('id="evaluation"')[1].split("</table>")[0]
    assert "v2 on points:2, test rows" in table
    accuracy = ws.for_org("acme").registry.get_version("points", version=2).metrics["accuracy"]
    shown_accuracy = re.search(r"<td>accuracy</td><td>([0-9.]+)</td>", table)
    assert shown_accuracy is not None
    # the test split's accuracy, as training measured it
    assert float(shown_accuracy.group(1)) == pytest.approx(accuracy, abs=1e-3)
    refused = client.post("/console/models/points/evaluate", data={"dataset": "nope",
                          "csrf_token": token})  # fmt: skip
    assert refused.status_code == 404
    assert "error[" in refused.text
    no_token = client.post("/console/models/points/evaluate", data={"dataset": "points"})
    assert no_token.status_code == 403
    sign_in(client, tenants.keys["globex:admin"])
    token = csrf_of(client.get("/console/models").text)
    other = client.post("/console/models/points/evaluate",
                        data={"dataset": "points", "csrf_token": token})  # fmt: skip
    assert other.status_code == 404
