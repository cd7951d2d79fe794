"""The OpenAPI document tells the truth about errors: problem+json, named codes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from servingkit import ClientFactory, Tenants

import baryon
from baryon.core import errors
from baryon.core.errors import CODES, BaryonError
from baryon.serving.openapi import LINKS, PROBLEMS, problems

PACKAGE = Path(baryon.__file__).parent


def _operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
    ]


@pytest.fixture
def doc(api: ClientFactory) -> dict[str, Any]:
    return api().get("/openapi.json").json()  # type: ignore[no-any-return]


def test_every_error_response_is_problem_json_with_the_problem_schema(
    doc: dict[str, Any],
) -> None:
    assert doc["components"]["schemas"]["Problem"]["properties"]["code"]["type"] == "string"
    seen = 0
    for label, operation in _operations(doc):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            seen += 1
            assert list(response["content"]) == ["application/problem+json"], (label, status)
            schema = response["content"]["application/problem+json"]["schema"]
            refs = [schema.get("$ref")] + [s.get("$ref") for s in schema.get("allOf", [])]
            assert "#/components/schemas/Problem" in refs, (label, status)
    assert seen > 7 * 70


def test_named_codes_outside_the_shared_statuses_are_closed_lists(doc: dict[str, Any]) -> None:
    users = doc["paths"]["/v1/users"]["post"]["responses"]
    assert users["409"]["x-codes"] == ["user_exists"]
    closed = users["409"]["content"]["application/problem+json"]["schema"]["allOf"][1]
    assert closed["properties"]["code"]["enum"] == ["user_exists"]
    assert "user_exists" in users["409"]["description"]
    predict = doc["paths"]["/v1/models/{name}/predict"]["post"]["responses"]
    assert predict["503"]["x-codes"] == ["model_not_ready", "missing_dependency"]
    assert "limiter_unavailable" in predict["503"]["description"]  # shared: open, among others
    iterations = doc["paths"]["/v1/iterations"]["post"]["responses"]
    assert iterations["422"]["x-codes"] == [  # open: among others
        "invalid_time_box",
        "unknown_goal_model",
        "unknown_goal_metric",
        "duplicate_goal",
        "invalid_idempotency_key",
        "idempotency_key_reused",
    ]
    assert "allOf" not in iterations["422"]["content"]["application/problem+json"]["schema"]


@pytest.mark.parametrize(
    ("operation", "codes"),
    [
        ("POST /v1/users", {"user_exists"}),
        ("POST /v1/orgs", {"org_exists", "plan_archived"}),
        ("POST /v1/orgs/{org_id}/subscription", {"plan_archived", "currency_mismatch"}),
        ("POST /v1/plans", {"plan_exists"}),
        ("PATCH /v1/plans/{name}", {"plan_archived"}),
        ("POST /v1/plans/{name}/archive", {"plan_archived"}),
        ("POST /v1/schedules", {"schedule_exists"}),
        ("DELETE /v1/keys/{key_id}", {"last_admin"}),
        ("DELETE /v1/users/{user_id}", {"last_admin"}),
        ("POST /v1/models/{name}/promote", {"gate_refused", "concurrent_change"}),
        ("POST /v1/models/{name}/rollback", {"no_previous_champion", "concurrent_change"}),
        ("POST /v1/models/{name}/versions", {"register_contention", "task_mismatch"}),
        ("POST /v1/runs/{run_id}/cancel", {"run_finished", "run_not_cancellable"}),
        ("POST /v1/feedback", {"feedback_exists"}),
        ("POST /v1/iterations", {"iteration_exists"}),
        ("POST /v1/iterations/{iteration}/items", {"iteration_closed", "item_exists"}),
        ("PATCH /v1/iterations/{iteration}/items/{item_id}", {"iteration_closed"}),
        ("POST /v1/iterations/{iteration}/close", {"iteration_closed"}),
        ("POST /v1/labeling/queues", {"queue_exists"}),
        ("POST /v1/labeling/queues/{name}/sample", {"queue_changed"}),
        (
            "POST /v1/labeling/tasks/{task_id}/annotations",
            {"task_not_open", "already_annotated", "already_skipped", "task_full"},
        ),
        (
            "POST /v1/labeling/tasks/{task_id}/skip",
            {"task_not_open", "already_annotated", "already_skipped", "task_busy"},
        ),
        ("POST /v1/flywheel/{model}/cycles", {"cycle_in_progress", "no_champion"}),
    ],
)
def test_routes_that_can_conflict_document_409_with_their_codes(
    doc: dict[str, Any], operation: str, codes: set[str]
) -> None:
    method, path = operation.split(" ", 1)
    response = doc["paths"][path][method.lower()]["responses"]["409"]
    assert set(response["x-codes"]) == codes


def test_409_answered_is_one_the_operation_documents(
    api: ClientFactory, tenants: Tenants, doc: dict[str, Any]
) -> None:
    client = api(tenants.keys["acme:admin"])
    body = {"email": "twice@acme.test", "role": "viewer"}
    assert client.post("/v1/users", json=body).status_code == 201
    again = client.post("/v1/users", json=body)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    documented = doc["paths"]["/v1/users"]["post"]["responses"]["409"]["x-codes"]
    assert again.json()["code"] in documented


def test_every_operation_taking_an_idempotency_key_documents_its_422_codes(
    doc: dict[str, Any],
) -> None:
    seen = 0
    for label, operation in _operations(doc):
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        codes = operation["responses"].get("422", {}).get("x-codes", [])
        taken = "idempotency-key" in headers
        seen += taken
        assert taken == ("idempotency_key_reused" in codes), label
    assert seen > 20


def test_problems_refuses_a_code_outside_the_catalogue() -> None:
    with pytest.raises(KeyError):
        problems("no_such_code")


def test_shared_problems_cover_the_statuses_every_route_can_give() -> None:
    assert sorted(PROBLEMS) == [400, 401, 403, 404, 413, 422, 429, 503]
    # 503: the rate limit of every authenticated request is checked, on Redis too
    assert "limiter_unavailable" in PROBLEMS[503]["description"]


#: Calls that name a schema rule's code (422): ``named(code, ...)``, ``OneOf(values,
#: code, ...)``, ``Unique(code, ...)``, ``PydanticCustomError(code, ...)``.
_SCHEMA_RULES = {"named": 0, "OneOf": 1, "Unique": 0, "PydanticCustomError": 0}


def _raised_codes() -> dict[str, set[int]]:
    """``{code: {http status, ...}}`` of every code baryon/ raises by name.

    ``SomeError(..., code="...")`` gives the class's status; a schema rule's code
    (:data:`_SCHEMA_RULES`) gives 422; a code handed to a helper (``_bad(...,
    code=...)``, ``checks.fail(code, ...)``) is raised with a status this cannot see
    (an empty set).
    """
    classes = {
        name: obj.http_status
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, BaryonError)
    }
    found: dict[str, set[int]] = {}
    others: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            name = node.func.id
            if name in _SCHEMA_RULES and len(node.args) > _SCHEMA_RULES[name]:
                arg = node.args[_SCHEMA_RULES[name]]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.setdefault(arg.value, set()).add(422)
            for keyword in node.keywords:
                if keyword.arg == "code" and isinstance(keyword.value, ast.Constant):
                    if name in classes:
                        found.setdefault(str(keyword.value.value), set()).add(classes[name])
                    else:
                        others.add(str(keyword.value.value))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # ``checks.fail("missing_role", ...)``: validation failures raised by a helper
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "fail"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                others.add(str(node.args[0].value))
    found.update({code: set() for code in others - set(found)})  # raised, status unknown
    return found


def test_catalogue_codes_are_raised_with_the_status_the_catalogue_says() -> None:
    raised = _raised_codes()
    for code, entry in CODES.items():
        if code in ("unsupported_media_type", "model_not_ready", "missing_dependency"):
            # also the class's own code: raised without code=... too
            assert getattr(entry.error, "code", None) == code
            continue
        assert code in raised, code
        assert raised[code] <= {entry.http_status}, (code, raised[code])


def test_links_are_in_the_document_and_lead_to_real_operations(doc: dict[str, Any]) -> None:
    ids = {op["operationId"]: label for label, op in _operations(doc)}
    for link in LINKS:
        method, path = link.source.split(" ", 1)
        response = doc["paths"][path][method.lower()]["responses"][str(link.status)]
        found = response["links"][link.name]
        assert ids[found["operationId"]] == link.target
    predict = doc["paths"]["/v1/models/{name}/predict"]["post"]["responses"]["200"]["links"]
    assert predict["PostFeedback"]["requestBody"] == {
        "prediction_id": "$response.body#/prediction_id"
    }


def test_prediction_link_expression_reads_a_real_id(api: ClientFactory, tenants: Tenants) -> None:
    client = api(tenants.keys["acme:developer"])
    answer = client.post("/v1/models/adder/predict", json={"inputs": [{"a": 1, "b": 2}]}).json()
    prediction_id = answer["prediction_id"]  # $response.body#/prediction_id
    assert client.get(f"/v1/predictions/{prediction_id}").status_code == 200
    feedback = client.post("/v1/feedback", json={"prediction_id": prediction_id, "label": 3.0})
    assert feedback.status_code == 201, feedback.text


def test_numeric_bounds_are_json_schema_keywords(doc: dict[str, Any]) -> None:
    # A bound after a validator came out as pydantic's "ge"/"le", which no JSON Schema
    # reader knows: schemathesis sent {"overlap": 0} as valid and got a 422.
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            found.extend(f"{path}.{k}" for k in ("ge", "gt", "le", "lt") if k in node)
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")

    walk(doc, "")
    assert not found
    overlap = doc["components"]["schemas"]["UpdateQueueRequest"]["properties"]["overlap"]
    assert overlap["anyOf"][0]["minimum"] == 1
