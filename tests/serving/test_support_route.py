"""``POST /v1/support/answer``: answers, hand-offs, queues, metering, bad inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from servingkit import StaticResolver, Tenants
from sqlalchemy import select

from baryon.commerce.tables import UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.labeling.tables import LabelingTaskRow
from baryon.predictions.inference import ServedModel
from baryon.serving.app import create_app, route_permissions
from baryon.serving.routers import support
from baryon.solutions.bundled import load_answers
from baryon.solutions.support.service import text_hash
from baryon.solutions.support.tables import SupportHandoffRow
from baryon.workspace import Workspace

EXTRA = {"handoff_threshold": 0.6, "out_of_scope_threshold": 0.45}


class KeywordIntents:
    """card_arrival for 'card' (0.9); 'maybe' → 0.5; 'weather' → 0.35; 'odd' → an
    intent without a template (0.95); else lost_or_stolen_card (0.8)."""

    classes_ = np.array(["card_arrival", "lost_or_stolen_card", "made_up_intent"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        rows = []
        for t in texts:
            if "odd" in t:
                rows.append([0.025, 0.025, 0.95])
            elif "weather" in t:
                rows.append([0.3, 0.35, 0.35])
            elif "maybe" in t:
                rows.append([0.5, 0.3, 0.2])
            elif "card" in t:
                rows.append([0.9, 0.05, 0.05])
            else:
                rows.append([0.1, 0.8, 0.1])
        return np.array(rows)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", max_text_chars=100)


@pytest.fixture
def resolver() -> StaticResolver:
    r = StaticResolver()
    r.add(
        ServedModel("support-intent", 4, "text_classification", KeywordIntents(), extra=EXTRA),
        "champion",
    )
    return r


@pytest.fixture
def app(settings: Settings, ws: Workspace, clock: FixedClock, resolver: StaticResolver) -> FastAPI:
    return create_app(
        settings, workspace=ws, clock=clock, resolver=resolver, routers=[support.router]
    )


def _post(api: Any, key: str, body: dict[str, Any], **headers: str) -> Any:
    return api(key, **headers).post("/v1/support/answer", json=body)


def _rows(ws: Workspace, row: Any) -> list[Any]:
    with ws.db.session(SYSTEM) as s:
        return list(s.scalars(select(row)))


def test_support_route_declares_predict_permission(app: FastAPI) -> None:
    assert route_permissions(app)[("POST", "/v1/support/answer")] == "models:predict"


def test_answer_confident_turn_answers_from_template_logs_and_meters(
    api: Any, tenants: Tenants, ws: Workspace
) -> None:
    r = _post(api, tenants.keys["acme:developer"], {"text": "  where is my card  "})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["intent"] == "card_arrival"
    assert body["confidence"] == pytest.approx(0.9)
    assert body["answer"] == load_answers().answers["card_arrival"]
    assert (body["handoff"], body["handoff_reason"]) == (False, None)
    assert (body["model"], body["model_version"]) == ("support-intent", 4)
    assert body["usage"]["units"] == 1
    logged = api(tenants.keys["acme:developer"]).get(f"/v1/predictions/{body['prediction_id']}")
    assert logged.status_code == 200
    assert logged.json()["model"] == "support-intent"
    assert logged.json()["inputs"] == ["where is my card"]
    assert _rows(ws, SupportHandoffRow) == []
    assert _rows(ws, LabelingTaskRow) == []
    usage = api(tenants.keys["acme:admin"]).get("/v1/usage").json()
    assert usage["total"]["units"] == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("maybe my card", "low_confidence"),
        ("what is the weather", "out_of_scope"),
        ("an odd question", "no_answer"),
    ],
)
def test_answer_unsure_turn_hands_off_and_queues_for_labeling(
    api: Any, tenants: Tenants, ws: Workspace, text: str, reason: str
) -> None:
    body = _post(
        api, tenants.keys["acme:developer"], {"text": text, "conversation_id": "conv-7"}
    ).json()
    assert (body["handoff"], body["handoff_reason"]) == (True, reason)
    assert body["answer"] == load_answers().handoff
    [handoff] = _rows(ws, SupportHandoffRow)
    assert handoff.prediction_id == body["prediction_id"]
    assert (handoff.org_id, handoff.conversation_id) == (tenants.org_ids["acme"], "conv-7")
    assert (handoff.reason, handoff.text, handoff.status) == (reason, text, "open")
    [task] = _rows(ws, LabelingTaskRow)
    assert (task.input, task.suggested_label, task.reason) == (
        {"text": text},
        body["intent"],
        reason,
    )
    assert (task.source, task.status, task.seen_count) == ("support", "open", 1)


def test_answer_same_unsure_text_twice_is_one_labeling_task_seen_twice(
    api: Any, tenants: Tenants, ws: Workspace
) -> None:
    for _ in range(2):
        assert _post(api, tenants.keys["acme:developer"], {"text": "maybe"}).status_code == 200
    _post(api, tenants.keys["globex:developer"], {"text": "maybe"})
    assert len(_rows(ws, SupportHandoffRow)) == 3
    tasks = sorted(_rows(ws, LabelingTaskRow), key=lambda t: t.seen_count)
    assert [(t.org_id, t.seen_count) for t in tasks] == [
        (tenants.org_ids["globex"], 1),
        (tenants.org_ids["acme"], 2),
    ]


def test_answer_org_masked_by_default_keeps_and_queues_masked_text(
    api: Any, tenants: Tenants, ws: Workspace
) -> None:
    _post(api, tenants.keys["acme:developer"], {"text": "maybe ann@example.com"})
    [handoff] = _rows(ws, SupportHandoffRow)
    assert handoff.text == "maybe [EMAIL]"
    assert handoff.text_hash == text_hash("maybe [EMAIL]")
    [task] = _rows(ws, LabelingTaskRow)
    assert task.input == {"text": "maybe [EMAIL]"}


@pytest.mark.parametrize("mode", ["hashed", "none"])
def test_answer_org_not_keeping_inputs_queues_no_text(
    api: Any, tenants: Tenants, ws: Workspace, mode: str
) -> None:
    admin = api(tenants.keys["acme:admin"])
    assert admin.patch("/v1/org", json={"prediction_inputs": mode}).status_code == 200
    _post(api, tenants.keys["acme:developer"], {"text": "maybe"})
    [handoff] = _rows(ws, SupportHandoffRow)
    assert handoff.text is None
    assert handoff.text_hash == (text_hash("maybe") if mode == "hashed" else None)
    assert _rows(ws, LabelingTaskRow) == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"text": ""}, "empty_text"),
        ({"text": " \n\t "}, "empty_text"),
        ({"text": "x" * 101}, "text_too_long"),
        ({}, "invalid_input"),
        ({"text": 5}, "invalid_input"),
        ({"text": "card", "conversation_id": "c" * 201}, "invalid_input"),
        ({"text": "card", "conversation_id": ""}, "invalid_input"),
        ({"text": "card", "extra": 1}, "invalid_input"),
    ],
)
def test_answer_bad_body_is_422_problem_and_writes_nothing(
    api: Any, tenants: Tenants, ws: Workspace, body: dict[str, Any], code: str
) -> None:
    r = _post(api, tenants.keys["acme:developer"], body)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    assert _rows(ws, SupportHandoffRow) == []
    assert _rows(ws, UsageRecordRow) == []


def test_answer_needs_key_and_predict_permission(api: Any, tenants: Tenants) -> None:
    assert api().post("/v1/support/answer", json={"text": "card"}).status_code == 401
    assert _post(api, tenants.keys["acme:viewer"], {"text": "card"}).status_code == 403


def test_answer_without_champion_is_503_with_zero_unit_usage(
    api: Any, tenants: Tenants, ws: Workspace, resolver: StaticResolver
) -> None:
    resolver.aliases["support-intent"].pop("champion")
    r = _post(api, tenants.keys["acme:developer"], {"text": "card"})
    assert r.status_code == 503
    assert r.json()["code"] == "model_not_ready"
    [usage] = _rows(ws, UsageRecordRow)
    assert (usage.units, usage.status, usage.endpoint) == (0, 503, "/v1/support/answer")


def test_answer_without_model_is_503_model_not_ready(
    api: Any, tenants: Tenants, resolver: StaticResolver
) -> None:
    resolver.models.clear()
    r = _post(api, tenants.keys["acme:developer"], {"text": "card"})
    assert r.status_code == 503
    assert r.json()["code"] == "model_not_ready"
    assert "baryon demo" in r.json()["detail"]


def test_answer_malformed_idempotency_key_refused_before_the_model_runs(
    api: Any, tenants: Tenants, ws: Workspace, resolver: StaticResolver
) -> None:
    resolver.aliases["support-intent"].pop("champion")
    r = _post(
        api, tenants.keys["acme:developer"], {"text": "card"}, **{"Idempotency-Key": "bad key"}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_idempotency_key"
    assert _rows(ws, UsageRecordRow) == []


def test_answer_idempotency_key_replays_and_meters_and_queues_once(
    api: Any, tenants: Tenants, ws: Workspace
) -> None:
    first = _post(
        api, tenants.keys["acme:developer"], {"text": "maybe"}, **{"Idempotency-Key": "k"}
    )
    again = _post(
        api, tenants.keys["acme:developer"], {"text": "maybe"}, **{"Idempotency-Key": "k"}
    )
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["prediction_id"] == first.json()["prediction_id"]
    assert len(_rows(ws, SupportHandoffRow)) == 1
    assert api(tenants.keys["acme:admin"]).get("/v1/usage").json()["total"]["units"] == 1


def test_answer_quota_used_up_is_429_and_queues_nothing(
    api: Any, ws: Workspace, clock: FixedClock
) -> None:
    from servingkit import make_tenants

    tenants = make_tenants(ws, clock, quota=1)
    assert _post(api, tenants.keys["acme:developer"], {"text": "card"}).status_code == 200
    r = _post(api, tenants.keys["acme:developer"], {"text": "maybe"})
    assert r.status_code == 429
    assert r.json()["code"] == "quota_exceeded"
    assert _rows(ws, SupportHandoffRow) == []


class NeedsTheNlpExtra:
    """A model whose encoder is not installed (a home trained with the nlp extra)."""

    classes_ = np.array(["card_arrival"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        from baryon.core.errors import MissingDependency

        raise MissingDependency("torch is not installed; install the nlp extra: pip install X")


def test_answer_model_needing_a_missing_extra_is_503_naming_the_install(
    api: Any, tenants: Tenants, ws: Workspace, resolver: StaticResolver
) -> None:
    resolver.add(
        ServedModel("support-intent", 5, "text_classification", NeedsTheNlpExtra(), extra=EXTRA),
        "champion",
    )
    r = _post(api, tenants.keys["acme:developer"], {"text": "card"})
    assert r.status_code == 503
    assert r.json()["code"] == "missing_dependency"
    assert "pip install X" in r.json()["detail"]
    assert [u.units for u in _rows(ws, UsageRecordRow)] == [0]
