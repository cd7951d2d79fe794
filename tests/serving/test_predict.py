"""``POST /v1/models/{name}/predict``, the prediction log, feedback and endpoints."""

from __future__ import annotations

import hashlib
import json

import pytest
from servingkit import ClientFactory, StaticResolver, Tenants
from sqlalchemy import select

from baryon.commerce.tables import UsageRecordRow
from baryon.core.scope import SYSTEM
from baryon.predictions.tables import FeedbackRow, PredictionRow
from baryon.workspace import Workspace

ROW = {"a": 1, "b": 2}


def _predict(client, name="adder", inputs=None, **kw):  # type: ignore[no-untyped-def]
    return client.post(f"/v1/models/{name}/predict", json={"inputs": inputs or [ROW]}, **kw)


def test_predict_champion_answers_with_ids_and_version(
    api: ClientFactory, tenants: Tenants
) -> None:
    client = api(tenants.keys["acme:developer"])
    r = _predict(client, inputs=[ROW, {"a": 10, "b": -4}])
    assert r.status_code == 200
    body = r.json()
    assert body["prediction_id"].startswith("pred_")
    assert body["model"] == "adder"
    assert body["model_version"] == 1
    assert body["variant"] == "champion"
    assert body["outputs"] == [{"value": 3.0}, {"value": 6.0}]
    assert body["flags"] == []
    assert body["usage"] == {"units": 2, "quota": 1000, "used": 2, "remaining": 998}
    assert r.headers["ratelimit-limit"] == "100000"


def test_predict_pinned_version(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/models/adder/predict?version=2", json={"inputs": [ROW]}
    )
    assert r.json()["model_version"] == 2
    assert r.json()["variant"] == "pinned"
    assert r.json()["outputs"] == [{"value": 103.0}]


def test_predict_lists_of_values_accepted(api: ClientFactory, tenants: Tenants) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), inputs=[[1, 2]])
    assert r.json()["outputs"] == [{"value": 3.0}]


def test_predict_text_model_gives_label_and_probabilities(
    api: ClientFactory, tenants: Tenants
) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), "sentiment", ["a good day", "bad"])
    assert r.json()["outputs"] == [
        {"label": "pos", "probabilities": {"neg": 0.1, "pos": 0.9}},
        {"label": "neg", "probabilities": {"neg": 0.9, "pos": 0.1}},
    ]


def test_predict_recommender_items_scores_cold(api: ClientFactory, tenants: Tenants) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), "recs", ["u1", {"user": "zz", "n": 2}])
    out = r.json()["outputs"]
    assert out[0] == {"items": ["i1", "i2", "i3"], "scores": [1.0, 0.9, 0.8], "cold": False}
    assert out[1]["items"] == ["i1", "i2"]
    assert out[1]["cold"] is True


def test_predict_non_finite_outputs_null_and_flagged(api: ClientFactory, tenants: Tenants) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), "nan", [ROW, ROW, ROW, ROW])
    assert r.status_code == 200
    body = r.json()
    assert body["outputs"] == [{"value": None}, {"value": None}, {"value": None}, {"value": 1.0}]
    assert body["flags"] == ["non_finite_output"]


def test_predict_broken_model_500_without_internals_and_no_quota(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), "broken")
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "prediction_failed"
    assert "passwd" not in r.text
    assert "Traceback" not in r.text
    with ws.db.session(SYSTEM) as s:
        usage = s.scalars(select(UsageRecordRow)).all()
    assert [(u.units, u.status) for u in usage] == [(0, 500)]


@pytest.mark.parametrize(
    ("name", "inputs", "status", "code"),
    [
        ("nope", [ROW], 404, "model_not_found"),
        ("draft", [ROW], 503, "model_not_ready"),
        ("adder", [{"a": 1}], 422, "invalid_features"),
        ("adder", [[1, 2, 3]], 422, "invalid_features"),
        ("adder", [{"a": 1, "b": 2, "c": 3}], 422, "invalid_features"),  # was dropped
        ("adder", [{"a": 1, "b": None}], 422, "invalid_features"),
        ("adder", [{"a": 1, "b": True}], 422, "invalid_features"),  # was 1.0
        ("adder", [{"a": "x", "b": 1}], 422, "invalid_inputs"),
        ("sentiment", [1], 422, "invalid_inputs"),
        ("recs", [True], 422, "invalid_inputs"),
        ("recs", [{"user": "u1", "n": 0}], 422, "invalid_n"),
        ("recs", [{"user": "u1", "k": 2}], 422, "invalid_features"),  # k was ignored
    ],
)
def test_predict_model_errors_are_problems_metered_at_zero_units(
    api: ClientFactory, tenants: Tenants, ws: Workspace, name: str, inputs: list[object],
    status: int, code: str,
) -> None:  # fmt: skip
    r = _predict(api(tenants.keys["acme:developer"]), name, inputs)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    with ws.db.session(SYSTEM) as s:
        usage = s.scalars(select(UsageRecordRow)).all()
    assert [(u.units, u.status) for u in usage] == [(0, status)]


def test_predict_batch_over_cap_413(api: ClientFactory, tenants: Tenants) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), inputs=[ROW] * 257)
    assert r.status_code == 413
    assert r.json()["code"] == "batch_too_large"


def test_predict_text_over_cap_422(api: ClientFactory, tenants: Tenants) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), "sentiment", ["x" * 10_001])
    assert r.status_code == 422
    assert r.json()["code"] == "text_too_long"


def test_predict_nested_text_over_cap_422(api: ClientFactory, tenants: Tenants) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), inputs=[{"a": 1, "b": {"c": ["x" * 10_001]}}])
    assert r.json()["code"] == "text_too_long"


@pytest.mark.parametrize("raw", [b'{"inputs": [NaN]}', b'{"inputs": [{"a": Infinity, "b": 1}]}'])
def test_predict_non_finite_input_422(api: ClientFactory, tenants: Tenants, raw: bytes) -> None:
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/models/adder/predict", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "non_finite_input"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b'{"inputs": []}', 422, "invalid_input"),
        (b'{"inputs": "x"}', 422, "invalid_input"),
        (b'{"inputs": [1], "extra": 1}', 422, "invalid_input"),
        (b"[]", 422, "invalid_input"),
        # a lone surrogate passed validation, then broke the prediction log (500 on reads)
        (b'{"inputs": [{"a": "x\\ud800", "b": 1}]}', 422, "invalid_unicode"),
        (b'{"inputs": [{"\\udc00": 1}]}', 422, "invalid_unicode"),
        # an integer past float range overflowed inside the model: 500 prediction_failed
        (b'{"inputs": [{"a": 1' + b"0" * 330 + b', "b": 1}]}', 422, "non_finite_input"),
        (b'{"inputs": [[-1' + b"0" * 330 + b", 1]]}", 422, "non_finite_input"),
    ],
)
def test_predict_bad_body(
    api: ClientFactory, tenants: Tenants, body: bytes, status: int, code: str
) -> None:
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/models/adder/predict", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == status
    assert r.json()["code"] == code
    assert r.headers["content-type"].startswith("application/problem+json")


def test_predict_surrogate_pair_is_text_not_an_error(api: ClientFactory, tenants: Tenants) -> None:
    body = b'{"inputs": [{"a": 1, "b": 2, "note": "\\ud83d\\ude00"}]}'
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/models/adder/predict", content=body, headers={"content-type": "application/json"}
    )
    assert r.json().get("code") != "invalid_unicode"


def test_predict_bad_model_name_422(api: ClientFactory, tenants: Tenants) -> None:
    r = _predict(api(tenants.keys["acme:developer"]), "a" * 101)
    assert r.status_code == 422


@pytest.mark.parametrize("mode", ["full", "masked", "hashed", "none"])
def test_prediction_log_keeps_inputs_per_org_setting(
    api: ClientFactory, tenants: Tenants, ws: Workspace, mode: str
) -> None:
    admin = api(tenants.keys["acme:admin"])
    assert admin.patch("/v1/org", json={"prediction_inputs": mode}).status_code == 200
    r = _predict(admin, "sentiment", ["good stuff"])
    logged = admin.get(f"/v1/predictions/{r.json()['prediction_id']}").json()
    digest = hashlib.sha256(json.dumps("good stuff").encode()).hexdigest()
    assert logged["input_mode"] == mode
    kept = mode in ("full", "masked")  # nothing personal in it to mask
    assert logged["inputs"] == (["good stuff"] if kept else None)
    assert logged["input_hashes"] == ([digest] if mode == "hashed" else None)
    assert logged["outputs"] == r.json()["outputs"]
    with ws.db.session(SYSTEM) as s:
        row = s.get(PredictionRow, r.json()["prediction_id"])
        assert row is not None
        stored = json.dumps([row.inputs, row.input_hashes])
    assert ("good stuff" in stored) == kept


def test_prediction_log_masked_keeps_inputs_without_personal_data(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    admin = api(tenants.keys["acme:admin"])  # a new organization: masked by default
    assert admin.get("/v1/org").json()["organization"]["prediction_inputs"] == "masked"
    text = "refund to DE89 3704 0044 0532 0130 00 or call +44 20 7946 0958, ann@example.com"
    r = _predict(admin, "sentiment", [text, "good stuff"])
    logged = admin.get(f"/v1/predictions/{r.json()['prediction_id']}").json()
    assert logged["input_mode"] == "masked"
    assert logged["inputs"] == ["refund to [IBAN] or call [PHONE], [EMAIL]", "good stuff"]
    assert logged["input_hashes"] is None
    with ws.db.session(SYSTEM) as s:
        row = s.get(PredictionRow, r.json()["prediction_id"])
        assert row is not None
        stored = json.dumps([row.inputs, row.input_hashes, row.outputs])
    for secret in ("DE89", "7946", "ann@example.com"):
        assert secret not in stored


def test_every_prediction_logged_with_usage_record(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    client = api(tenants.keys["acme:developer"])
    ids = [_predict(client).json()["prediction_id"] for _ in range(3)]
    with ws.db.session(SYSTEM) as s:
        logged = {p.id for p in s.scalars(select(PredictionRow))}
        usage = s.scalars(select(UsageRecordRow)).all()
    assert logged == set(ids)
    assert {u.prediction_id for u in usage} == set(ids)
    assert all(u.endpoint == "/v1/models/{name}/predict" for u in usage)
    assert all(u.model_version == 1 for u in usage)
    listed = client.get("/v1/predictions?model=adder").json()
    assert [p["prediction_id"] for p in listed] == sorted(ids, reverse=True)


def test_feedback_label_and_rating_flow(api: ClientFactory, tenants: Tenants) -> None:
    client = api(tenants.keys["acme:developer"])
    pid = _predict(client, inputs=[ROW, ROW]).json()["prediction_id"]
    r = client.post("/v1/feedback", json={"prediction_id": pid, "label": 3.5})
    assert r.status_code == 201
    assert r.json()["label"] == 3.5  # a regression's label is its true value
    assert r.json()["item"] == 0
    r = client.post("/v1/feedback", json={"prediction_id": pid, "item": 1, "rating": 4.5})
    assert r.json()["rating"] == 4.5
    again = client.post("/v1/feedback", json={"prediction_id": pid, "label": 4})
    assert again.status_code == 409
    assert again.json()["code"] == "feedback_exists"
    annotator = api(tenants.keys["acme:annotator"])
    out_of_range = annotator.post(
        "/v1/feedback", json={"prediction_id": pid, "item": 2, "label": 1}
    )
    assert out_of_range.json()["code"] == "invalid_feedback"


@pytest.mark.parametrize(
    "body",
    [
        {"label": "x", "rating": 1.0},
        {},
        {"label": ["list"]},
        {"rating": "high"},
    ],
)
def test_feedback_needs_exactly_one_valid_field(
    api: ClientFactory, tenants: Tenants, body: dict[str, object]
) -> None:
    client = api(tenants.keys["acme:developer"])
    pid = _predict(client).json()["prediction_id"]
    r = client.post("/v1/feedback", json={"prediction_id": pid, **body})
    assert r.status_code == 422


@pytest.mark.parametrize("pid", ["", "   "])
def test_feedback_with_an_empty_prediction_id_is_422_not_404(
    api: ClientFactory, tenants: Tenants, pid: str
) -> None:
    r = api(tenants.keys["acme:developer"]).post(
        "/v1/feedback", json={"prediction_id": pid, "label": 1.0}
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_input")


@pytest.mark.parametrize(
    ("model", "inputs", "body", "code"),
    [
        ("adder", [ROW], {"label": "high"}, "label_not_numeric"),  # a class on a regression
        ("adder", [ROW], {"label": True}, "label_not_numeric"),  # a boolean is no number
        ("sentiment", ["good"], {"label": 1}, "unknown_label"),  # a number on a classifier
        ("sentiment", ["good"], {"label": True}, "unknown_label"),
        ("sentiment", ["good"], {"label": "meh"}, "unknown_label"),
        ("sentiment", ["good"], {"label": "pos", "item": True}, "invalid_input"),
        ("adder", [ROW], {"rating": True}, "invalid_input"),
        ("adder", [ROW], {"rating": "0.5"}, "invalid_input"),
    ],
)
def test_feedback_label_must_fit_the_prediction_422(
    api: ClientFactory, tenants: Tenants, ws: Workspace, model: str, inputs: list[object],
    body: dict[str, object], code: str,
) -> None:  # fmt: skip
    client = api(tenants.keys["acme:developer"])
    pid = _predict(client, model, inputs).json()["prediction_id"]
    r = client.post("/v1/feedback", json={"prediction_id": pid, **body})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    with ws.db.session(SYSTEM) as s:
        assert s.scalars(select(FeedbackRow)).all() == []  # nothing written


def test_feedback_on_other_orgs_prediction_404(api: ClientFactory, tenants: Tenants) -> None:
    pid = _predict(api(tenants.keys["acme:developer"])).json()["prediction_id"]
    r = api(tenants.keys["globex:owner"]).post(
        "/v1/feedback", json={"prediction_id": pid, "label": 1}
    )
    assert r.status_code == 404
    assert r.json()["code"] == "prediction_not_found"


def test_traffic_split_sticky_per_request_id(api: ClientFactory, tenants: Tenants) -> None:
    admin = api(tenants.keys["acme:admin"])
    r = admin.put("/v1/endpoints/adder", json={"challenger_weight": 0.5})
    assert r.status_code == 200
    assert admin.get("/v1/endpoints").json()[0]["challenger_weight"] == 0.5
    seen: dict[str, set[int]] = {}
    for i in range(40):
        rid = f"user-{i % 10}"
        body = {"inputs": [ROW], "request_id": rid}
        version = admin.post("/v1/models/adder/predict", json=body).json()["model_version"]
        seen.setdefault(rid, set()).add(version)
    assert all(len(v) == 1 for v in seen.values())  # sticky
    assert {next(iter(v)) for v in seen.values()} == {1, 2}  # both variants used
    header = admin.post(
        "/v1/models/adder/predict", json={"inputs": [ROW]}, headers={"X-Request-Id": "user-3"}
    )
    assert header.json()["model_version"] in seen["user-3"]


def test_traffic_split_all_to_challenger_then_back(api: ClientFactory, tenants: Tenants) -> None:
    admin = api(tenants.keys["acme:admin"])
    admin.put("/v1/endpoints/adder", json={"challenger_weight": 1.0})
    assert _predict(admin).json()["variant"] == "challenger"
    other = _predict(api(tenants.keys["globex:owner"])).json()
    assert other["variant"] == "champion"  # endpoints are per organization
    admin.put("/v1/endpoints/adder", json={"challenger_weight": 0.0})
    assert _predict(admin).json()["variant"] == "champion"


def test_traffic_split_challenger_gone_falls_back(
    api: ClientFactory, tenants: Tenants, resolver: StaticResolver
) -> None:
    admin = api(tenants.keys["acme:admin"])
    assert admin.put("/v1/endpoints/adder", json={"challenger_weight": 1.0}).status_code == 200
    del resolver.aliases["adder"]["challenger"]  # removed after the split was set
    r = _predict(admin)
    assert r.json()["variant"] == "champion"


@pytest.mark.parametrize(
    ("name", "weight", "status", "code"),
    [
        ("nope", 0.0, 404, "model_not_found"),  # was 200: an endpoint for no model
        ("nope", 0.5, 404, "model_not_found"),
        ("sentiment", 0.5, 422, "no_challenger"),  # was 200, then silently the champion
        ("sentiment", 1.0, 422, "no_challenger"),
        ("draft", 0.0, 422, "no_champion"),
    ],
)
def test_endpoint_needs_the_model_and_its_variants(
    api: ClientFactory, tenants: Tenants, name: str, weight: float, status: int, code: str
) -> None:
    admin = api(tenants.keys["acme:admin"])
    r = admin.put(f"/v1/endpoints/{name}", json={"challenger_weight": weight})
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert admin.get("/v1/endpoints").json() == []  # nothing written


@pytest.mark.parametrize("weight", [-0.1, 1.5, "half", True, False, "0.5", None])
def test_endpoint_bad_weight_422(api: ClientFactory, tenants: Tenants, weight: object) -> None:
    # true was a weight of 1.0 (a boolean passed as a number)
    r = api(tenants.keys["acme:admin"]).put(
        "/v1/endpoints/adder", json={"challenger_weight": weight}
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input"
    assert r.json()["errors"][0]["loc"][:2] == ["body", "challenger_weight"]


def test_endpoint_split_needs_plan_feature(
    api: ClientFactory, tenants: Tenants, ws: Workspace
) -> None:
    from baryon.commerce.orgs import subscribe

    with ws.db.session(SYSTEM) as s:
        subscribe(s, tenants.org_ids["acme"], "free")
    r = api(tenants.keys["acme:admin"]).put("/v1/endpoints/adder", json={"challenger_weight": 0.2})
    assert r.status_code == 403
    assert r.json()["code"] == "feature_not_in_plan"
