"""``/v1/labeling`` over HTTP: queues, claim, submit, skip, review; task sources; tenants."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest
from servingkit import ClientFactory, StaticResolver, Tenants, make_resolver

from baryon.predictions.inference import ServedModel


class UnsureIntents:
    """Unsure (0.4) about texts with a '?', sure (0.9) about the others."""

    classes_ = np.array(["card", "fee", "other"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.4, 0.35, 0.25] if "?" in t else [0.05, 0.9, 0.05] for t in texts])


class MildMood:
    """Bullish at 0.6 about everything (sentiment route: neg/pos are synonyms)."""

    classes_ = np.array(["neg", "pos"])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.4, 0.6] for _ in texts])


@pytest.fixture
def resolver() -> StaticResolver:
    r = make_resolver()
    r.add(ServedModel("intent", 1, "text_classification", UnsureIntents()), "champion")
    return r


@pytest.fixture
def keys(api: ClientFactory, tenants: Tenants) -> dict[str, httpx.Client]:
    return {
        role: api(tenants.keys[f"acme:{role}"])
        for role in ("owner", "admin", "developer", "annotator", "viewer")
    }


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    doc: dict[str, Any] = response.json()
    assert doc["code"] == code, doc
    return doc


def _unsure_task(keys: dict[str, httpx.Client]) -> dict[str, Any]:
    _ok(keys["developer"].post("/v1/models/intent/predict", json={"inputs": ["card arrived?"]}))
    (task,) = _ok(keys["developer"].get("/v1/labeling/queues/intent/tasks"))
    return dict(task)


# ----------------------------------------------------------------- full loop
def test_labeling_two_annotators_disagree_then_admin_reviews(
    keys: dict[str, httpx.Client], tenants: Tenants
) -> None:
    dev, annotator, admin = keys["developer"], keys["annotator"], keys["admin"]
    made = _ok(
        dev.post(
            "/v1/labeling/queues",
            json={"name": "intent", "model": "intent", "overlap": 2, "instructions": "Pick one"},
        ),
        201,
    )
    assert made["classes"] == ["card", "fee", "other"]
    assert made["overlap"] == 2
    predicted = _ok(dev.post("/v1/models/intent/predict", json={"inputs": ["card?", "fees"]}))
    (task,) = _ok(dev.get("/v1/labeling/queues/intent/tasks?status=open"))
    assert task["input"] == {"text": "card?"}
    assert task["suggested_label"] == "card"
    assert task["confidence"] == 0.4
    assert task["priority"] == pytest.approx(0.6)
    assert task["prediction_id"] == predicted["prediction_id"]
    assert task["annotations"] is None

    first = _ok(annotator.post("/v1/labeling/queues/intent/claim"))
    assert first["task"]["id"] == task["id"]
    assert first["instructions"] == "Pick one"
    assert first["classes"] == ["card", "fee", "other"]
    assert _ok(dev.post("/v1/labeling/queues/intent/claim"))["slot"] == 1
    assert admin.post("/v1/labeling/queues/intent/claim").status_code == 204

    url = f"/v1/labeling/tasks/{task['id']}"
    one = _ok(annotator.post(f"{url}/annotations", json={"label": "fee", "seconds": 3.0}), 201)
    assert one["task"]["status"] == "open"
    assert one["annotation"]["seconds"] == 3.0
    two = _ok(dev.post(f"{url}/annotations", json={"label": "card"}), 201)
    assert two["task"]["status"] == "review"
    assert two["task"]["agreement"] == 0.5

    mine = _ok(annotator.get(url))["annotations"]
    assert [a["annotator"] for a in mine] == [tenants.key_ids["acme:annotator"]]
    assert len(_ok(admin.get(url))["annotations"]) == 2

    _problem(annotator.post(f"{url}/review", json={"label": "fee"}), 403, "forbidden")
    reviewed = _ok(admin.post(f"{url}/review", json={"label": "fee"}))
    assert (reviewed["status"], reviewed["label"], reviewed["resolution"]) == (
        "done", "fee", "review",
    )  # fmt: skip

    detail = _ok(annotator.get("/v1/labeling/queues/intent"))
    assert detail["tasks"] == {"open": 0, "review": 0, "done": 1, "skipped": 0, "total": 1}
    assert {a["submitted"] for a in detail["annotators"]} == {1}
    actions = {e["action"] for e in _ok(admin.get("/v1/audit"))}
    assert {"labeling_queue.create", "labeling_task.review"} <= actions


def test_labeling_queue_made_by_the_first_unsure_prediction(keys: dict[str, httpx.Client]) -> None:
    task = _unsure_task(keys)
    (queue,) = _ok(keys["annotator"].get("/v1/labeling/queues"))
    assert (queue["name"], queue["model"], queue["overlap"]) == ("intent", "intent", 1)
    assert (task["source"], task["reason"]) == ("prediction", "low_confidence")


def test_labeling_claim_with_nothing_to_do_is_204(keys: dict[str, httpx.Client]) -> None:
    _unsure_task(keys)
    annotator = keys["annotator"]
    claimed = _ok(annotator.post("/v1/labeling/queues/intent/claim"))
    again = _ok(annotator.post("/v1/labeling/queues/intent/claim"))
    assert again["annotation_id"] == claimed["annotation_id"]
    url = f"/v1/labeling/tasks/{claimed['task']['id']}"
    _ok(annotator.post(f"{url}/skip", json={"reason": "not sure"}))
    response = annotator.post("/v1/labeling/queues/intent/claim")
    assert response.status_code == 204
    assert response.content == b""


def test_labeling_submit_bad_label_and_decided_task_are_named_errors(
    keys: dict[str, httpx.Client],
) -> None:
    url = f"/v1/labeling/tasks/{_unsure_task(keys)['id']}/annotations"
    annotator = keys["annotator"]
    doc = _problem(annotator.post(url, json={"label": "zebra"}), 422, "unknown_label")
    assert doc["details"]["classes"] == ["card", "fee", "other"]
    _ok(annotator.post(url, json={"label": "card"}), 201)
    _problem(keys["developer"].post(url, json={"label": "card"}), 409, "task_not_open")
    _problem(annotator.post(url, json={"label": "card"}), 409, "task_not_open")


def test_labeling_submit_idempotency_key_replays_the_first_answer(
    keys: dict[str, httpx.Client],
) -> None:
    url = f"/v1/labeling/tasks/{_unsure_task(keys)['id']}/annotations"
    headers = {"Idempotency-Key": "label-1"}
    first = keys["annotator"].post(url, json={"label": "card"}, headers=headers)
    again = keys["annotator"].post(url, json={"label": "card"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


@pytest.mark.parametrize(
    "body",
    [
        {"label": "card", "seconds": True},
        {"label": "card", "seconds": "3"},
        {"label": "card", "seconds": -1},
        {"label": ""},
        {"label": "x" * 201},
        {"label": "card", "extra": 1},
    ],
)
def test_labeling_submit_body_is_strict(keys: dict[str, httpx.Client], body: Any) -> None:
    url = f"/v1/labeling/tasks/{_unsure_task(keys)['id']}/annotations"
    _problem(keys["annotator"].post(url, json=body), 422, "invalid_input")


# ---------------------------------------------------------------------- queues
@pytest.mark.parametrize(
    "body",
    [
        {"name": "q", "model": "intent", "overlap": True},
        {"name": "q", "model": "intent", "overlap": "2"},
        {"name": "q", "model": "intent", "overlap": 21},
        {"name": "q", "model": "intent", "min_agreement": 2},
        {"name": "q", "model": "intent", "min_agreement": False},
        {"name": "q", "model": "intent", "classes": []},
        {"name": "q q", "model": "intent"},
        {"name": "q", "model": "intent", "instructions": "x" * 10_001},
    ],
)
def test_labeling_create_queue_body_is_strict(keys: dict[str, httpx.Client], body: Any) -> None:
    _problem(keys["developer"].post("/v1/labeling/queues", json=body), 422, "invalid_input")


def test_labeling_create_queue_model_rules(keys: dict[str, httpx.Client]) -> None:
    dev = keys["developer"]
    post = dev.post
    _problem(
        post("/v1/labeling/queues", json={"name": "q", "model": "nope"}), 404, "model_not_found"
    )
    _problem(
        post("/v1/labeling/queues", json={"name": "q", "model": "adder"}), 422, "no_model_classes"
    )
    made = post(
        "/v1/labeling/queues", json={"name": "q", "model": "adder", "classes": ["lo", "hi"]}
    )
    assert _ok(made, 201)["classes"] == ["hi", "lo"]
    _problem(
        post("/v1/labeling/queues", json={"name": "q", "model": "intent"}), 409, "queue_exists"
    )
    # QA 13 #2: classes the model does not have are refused; some of its classes are fine
    unknown = _problem(
        post(
            "/v1/labeling/queues",
            json={"name": "q1", "model": "intent", "classes": ["fee", "refunds"]},
        ),
        422,
        "unknown_label",
    )
    assert "'refunds'" in unknown["detail"]
    some = post("/v1/labeling/queues", json={"name": "q1", "model": "intent", "classes": ["fee"]})
    assert _ok(some, 201)["classes"] == ["fee"]
    _problem(
        keys["annotator"].post("/v1/labeling/queues", json={"name": "r", "model": "intent"}),
        403,
        "forbidden",
    )


def test_labeling_update_queue_and_unknown_queue(keys: dict[str, httpx.Client]) -> None:
    dev = keys["developer"]
    _ok(dev.post("/v1/labeling/queues", json={"name": "q", "model": "intent"}), 201)
    out = _ok(dev.patch("/v1/labeling/queues/q", json={"overlap": 3, "min_agreement": 0.75}))
    assert (out["overlap"], out["min_agreement"]) == (3, 0.75)
    _problem(dev.patch("/v1/labeling/queues/nope", json={"overlap": 2}), 404, "queue_not_found")
    _problem(dev.patch("/v1/labeling/queues/q", json={}), 422, "empty_update")
    _problem(dev.get("/v1/labeling/queues/nope/tasks"), 404, "queue_not_found")
    _problem(keys["viewer"].get("/v1/labeling/queues"), 403, "forbidden")


# --------------------------------------------------------------- task sources
def test_labeling_prediction_inputs_hashed_queue_nothing(keys: dict[str, httpx.Client]) -> None:
    _ok(keys["admin"].patch("/v1/org", json={"prediction_inputs": "hashed"}))
    _ok(keys["developer"].post("/v1/models/intent/predict", json={"inputs": ["card?"]}))
    assert _ok(keys["developer"].get("/v1/labeling/queues")) == []


def test_labeling_prediction_inputs_masked_queue_the_masked_input(
    keys: dict[str, httpx.Client],
) -> None:
    assert _ok(keys["admin"].get("/v1/org"))["organization"]["prediction_inputs"] == "masked"
    text = "card arrived? mail ann@example.com"
    _ok(keys["developer"].post("/v1/models/intent/predict", json={"inputs": [text]}))
    (task,) = _ok(keys["developer"].get("/v1/labeling/queues/intent/tasks"))
    assert task["input"] == {"text": "card arrived? mail [EMAIL]"}
    assert "ann@example.com" not in json.dumps(task)


def test_labeling_prediction_inputs_none_feedback_disagreement_queues_nothing(
    keys: dict[str, httpx.Client],
) -> None:
    _ok(keys["admin"].patch("/v1/org", json={"prediction_inputs": "none"}))
    clf = _ok(keys["developer"].post("/v1/models/sentiment/predict", json={"inputs": ["good"]}))
    body = {"prediction_id": clf["prediction_id"], "label": "neg"}
    _ok(keys["developer"].post("/v1/feedback", json=body), 201)  # kept, but not labelable
    assert _ok(keys["developer"].get("/v1/labeling/queues")) == []


def test_labeling_feedback_label_checked_against_the_model(keys: dict[str, httpx.Client]) -> None:
    dev = keys["developer"]
    clf = _ok(dev.post("/v1/models/sentiment/predict", json={"inputs": ["good day"]}))
    reg = _ok(dev.post("/v1/models/adder/predict", json={"inputs": [{"a": 1, "b": 2}]}))
    fb = "/v1/feedback"
    doc = _problem(
        dev.post(fb, json={"prediction_id": clf["prediction_id"], "label": "meh"}),
        422,
        "unknown_label",
    )
    assert doc["details"]["classes"] == ["neg", "pos"]
    _problem(
        dev.post(fb, json={"prediction_id": reg["prediction_id"], "label": "high"}),
        422,
        "label_not_numeric",
    )
    stored = _ok(dev.post(fb, json={"prediction_id": reg["prediction_id"], "label": 3.5}), 201)
    assert stored["label"] == 3.5
    _ok(dev.post(fb, json={"prediction_id": clf["prediction_id"], "label": "pos"}), 201)
    assert _ok(dev.get("/v1/labeling/queues")) == []  # agreeing feedback queues nothing


def test_labeling_disagreeing_feedback_queues_the_item(keys: dict[str, httpx.Client]) -> None:
    dev = keys["developer"]
    clf = _ok(dev.post("/v1/models/sentiment/predict", json={"inputs": ["good day", "bad"]}))
    body = {"prediction_id": clf["prediction_id"], "item": 1, "label": "pos"}
    _ok(dev.post("/v1/feedback", json=body), 201)
    (task,) = _ok(dev.get("/v1/labeling/queues/sentiment/tasks"))
    assert task["input"] == {"text": "bad"}
    assert task["suggested_label"] == "neg"
    assert (task["source"], task["reason"], task["priority"]) == ("feedback", "disagreement", 1.0)


def test_labeling_sentiment_route_queues_unsure_texts_with_named_classes(
    keys: dict[str, httpx.Client], resolver: StaticResolver
) -> None:
    mood = ServedModel(
        "sentiment", 2, "text_classification", MildMood(), extra={"labeling_threshold": 0.7}
    )
    resolver.add(mood, "champion")
    out = _ok(keys["developer"].post("/v1/sentiment/analyze", json={"texts": ["shares flat"]}))
    assert out["results"][0]["label"] == "Bullish"
    (task,) = _ok(keys["developer"].get("/v1/labeling/queues/sentiment/tasks"))
    assert (task["suggested_label"], task["confidence"]) == ("Bullish", 0.6)
    queue = _ok(keys["developer"].get("/v1/labeling/queues/sentiment"))
    assert queue["classes"] == ["Bearish", "Bullish"]


# ----------------------------------------------------------------- tenants
def test_labeling_other_org_gets_404_on_every_labeling_route(
    keys: dict[str, httpx.Client], api: ClientFactory, tenants: Tenants
) -> None:
    task_id = _unsure_task(keys)["id"]
    globex = api(tenants.keys["globex:owner"])
    calls = [
        ("GET", "/v1/labeling/queues/intent", None),
        ("PATCH", "/v1/labeling/queues/intent", {"overlap": 2}),
        ("GET", "/v1/labeling/queues/intent/tasks", None),
        ("POST", "/v1/labeling/queues/intent/claim", None),
        ("GET", f"/v1/labeling/tasks/{task_id}", None),
        ("POST", f"/v1/labeling/tasks/{task_id}/annotations", {"label": "card"}),
        ("POST", f"/v1/labeling/tasks/{task_id}/skip", {"reason": "x"}),
        ("POST", f"/v1/labeling/tasks/{task_id}/review", {"label": "card"}),
    ]
    for method, url, body in calls:
        response = globex.request(method, url, json=body)
        assert response.status_code == 404, (method, url, response.text)
        assert "card arrived" not in response.text
    assert _ok(globex.get("/v1/labeling/queues")) == []
    untouched = _ok(keys["admin"].get(f"/v1/labeling/tasks/{task_id}"))
    assert untouched["status"] == "open"
    assert untouched["annotations"] == []
