"""Schema-driven fuzzing of the whole API with schemathesis: every check, every phase.

One schemathesis run (its engine, as ``schemathesis run`` drives it) against the app
in process: the examples, coverage and fuzzing phases on every operation, then the
stateful phase that chains operations through the links of the document (an id one
answer gives is the path parameter of the next request). **All checks** are on:
no server error, status codes, content types, headers and bodies as documented,
schema-valid requests accepted, schema-invalid ones refused, ``Allow`` on 405,
missing required headers, auth not ignored, nothing used after it was deleted.

It authenticates as the admin key of a test organization whose workspace holds what
the routes need to go past a 404: a registered model of every task the API serves
(trained for real: classification, regression, text classification, recommendation),
their datasets, a prediction, and the solution models the support, sentiment and
recommender routes load. Generation is deterministic (seed 42, no example database)
and small, so that the run takes a minute or two on two cores.

Exclusions, each narrow and explained where it is made:

* ``DELETE /v1/keys/{key_id}`` of the fuzzer's own key: revoking it would end the run
  (the operation is documented and destructive on purpose); other keys are fair game.
* ``use_after_free`` after a DELETE the document marks ``x-soft-delete`` (users, keys):
  the object stays readable on purpose, with its status.

Schema-valid requests that the API refuses with a 422 are failures (the schema should
have said so), except the codes of :data:`SEMANTIC_422`: rules that no JSON Schema can
state (one field against another, or against stored state). Each is a named code
that the operation documents in its OpenAPI 422 response (``x-codes``).
"""

from __future__ import annotations

import collections
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from servingkit import (
    ChainResolver,
    KeywordClassifier,
    StaticResolver,
    TinyRecommender,
    make_tenants,
)

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.predictions.inference import RegistryModelResolver, ServedModel
from baryon.serving.app import create_app
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

#: Codes a schema-valid request may be refused with (422), by operation: rules about
#: several fields or stored state that a JSON Schema cannot state. Every one is
#: documented in the operation's OpenAPI 422 response (a test below checks it).
SEMANTIC_422: dict[str, frozenset[str]] = {
    # one field against another
    "GET /v1/usage": frozenset({"invalid_range"}),  # start before end
    # starts_at before ends_at; goals: their models' and runs' metrics, no goal twice
    "POST /v1/iterations": frozenset(
        {"invalid_time_box", "unknown_goal_model", "unknown_goal_metric", "duplicate_goal"}
    ),
    "GET /v1/runs/compare": frozenset({"invalid_run_ids"}),  # the same id twice
    "POST /v1/keys": frozenset({"invalid_duration"}),  # 30d: at most 100 years
    # a kind's own parameters; cross-validation for a recommender
    "POST /v1/runs": frozenset({"invalid_cv_folds", "invalid_param", "invalid_params"}),
    # both DP numbers or neither; silos: distinct, with one set of columns and a split each;
    # the kind's own parameters
    # a URL's host spelled as a number (2130706433, 0x7f.1), a cron's fields, an interval's
    # length (the outbound client and the schedules decide)
    "POST /v1/sources": frozenset({"invalid_url", "ambiguous_host"}),
    "POST /v1/sentiment/subscriptions": frozenset(
        {"invalid_url", "ambiguous_host", "interval_too_short", "invalid_cron"}
    ),
    # a threshold's range and a direction for the rule's kind; a target for the channel's
    # kind (and an SMTP server for e-mail)
    "POST /v1/sentiment/rules": frozenset({"invalid_rule"}),
    "POST /v1/sentiment/rules/{rule}/test": frozenset({"invalid_range", "history_too_large"}),
    "POST /v1/sentiment/channels": frozenset(
        {"invalid_webhook_url", "invalid_email", "smtp_not_configured"}
    ),
    "POST /v1/federated/runs": frozenset(
        {"invalid_dp", "invalid_silos", "silo_mismatch", "no_split", "invalid_param"}
    ),
    # a file's content (the schema says "binary")
    "POST /v1/datasets": frozenset(
        {
            "binary_file",
            "encoding_error",
            "unknown_encoding",
            "empty_file",
            "header_only",
            "ragged_rows",
            "invalid_xlsx",
            "invalid_parquet",
            "invalid_json",
            "unterminated_quote",
            "unparseable_csv",
            "duplicate_columns",
            "type_override_failed",
            "unknown_column",
            "mask_pii_type",
        }
    ),
    "POST /v1/models/{name}/versions": frozenset(
        {"invalid_model_file", "untrusted_model", "missing_column"}
    ),
    "POST /v1/labeling/queues/{name}/import": frozenset(
        {"malformed_import", "empty_import", "import_rejected"}
    ),
    "POST /v1/datasets/{name}/clean": frozenset(  # a YAML recipe; the steps' vocabulary
        {"invalid_recipe", "unknown_step", "invalid_step_args", "unknown_column"}
    ),
    # stored state: a dataset version's columns, roles and split, a model's features,
    # a queue's classes, a prediction's items, the wine catalogue, the server's clock
    "POST /v1/datasets/{name}/split": frozenset(
        {"invalid_split", "invalid_split_size", "missing_role", "unknown_column", "too_few_rows"}
    ),
    "GET /v1/datasets/{name}/export": frozenset({"no_split"}),
    "POST /v1/models/{name}/evaluate": frozenset({"missing_column"}),
    "POST /v1/models/{name}/predict": frozenset({"invalid_inputs", "invalid_features"}),
    "POST /v1/feedback": frozenset({"invalid_feedback", "unknown_label"}),
    "POST /v1/labeling/tasks/{task_id}/annotations": frozenset({"unknown_label"}),
    "POST /v1/labeling/tasks/{task_id}/review": frozenset({"unknown_label"}),
    "POST /v1/events": frozenset({"unknown_item"}),
    "POST /v1/sentiment/items": frozenset({"published_in_future"}),
    "POST /v1/grants": frozenset({"self_grant"}),
    # a cron's fields and an interval's length (at least 60 s, at most 366 days)
    "POST /v1/schedules": frozenset({"interval_too_short", "invalid_interval", "invalid_cron"}),
    "POST /v1/labeling/queues": frozenset({"no_model_classes"}),  # the model's classes
    "POST /v1/labeling/queues/{name}/sample": frozenset({"missing_feature"}),  # its columns
}
#: The checks this run must have made (schemathesis's built-in checks: "all").
EVERY_CHECK = frozenset(
    {
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "positive_data_acceptance",
        "negative_data_rejection",
        "missing_required_header",
        "unsupported_method",
        "ignored_auth",
        "use_after_free",
        "ensure_resource_availability",
    }
)
#: Any operation that takes an ``Idempotency-Key``: the same key sent again with
#: another request is refused (a rule about a previous request).
IDEMPOTENCY_422 = frozenset({"idempotency_key_reused"})


@dataclass
class Finding:
    """One failed check: where, what, and the request that shows it."""

    check: str
    operation: str
    title: str
    message: str
    status: int | None
    body: str
    curl: str

    def __str__(self) -> str:
        return (
            f"[{self.check}] {self.operation}: {self.title}\n  {self.message.strip()[:500]}\n"
            f"  -> {self.status} {self.body[:300]}\n  {self.curl[:600]}"
        )


def _train(ws: Workspace, home: Path) -> None:
    """Datasets and a registered model for every task the API serves (tiny, seeded)."""
    rng = np.random.default_rng(0)
    x = rng.random((80, 2))
    texts = ["refund my card please", "card refund now", "where is my parcel", "parcel late"]
    ratings = [
        (f"u{u}", f"w{i}", int(rng.integers(1, 6)))
        for u in range(20)
        for i in rng.choice(15, size=6, replace=False)
    ]
    frames = {
        "tab": (
            pd.DataFrame(
                {"x1": x[:, 0], "x2": x[:, 1], "label": np.where(x.sum(1) > 1, "hi", "lo")}
            ),
            {"label": "label"},
        ),
        "reg": (
            pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "y": 3 * x[:, 0] - x[:, 1]}),
            {"y": "label"},
        ),
        "tickets": (
            pd.DataFrame(
                {"body": texts * 10, "intent": ["refund", "refund", "delivery", "delivery"] * 10}
            ),
            {"body": "text", "intent": "label"},
        ),
        "ratings": (
            pd.DataFrame(ratings, columns=["user_id", "wine_id", "rating"]),
            {"user_id": "user", "wine_id": "item", "rating": "rating"},
        ),
    }
    for name, (frame, roles) in frames.items():
        path = home / f"{name}.csv"
        frame.to_csv(path, index=False)
        ws.datasets.ingest(path, name=name, roles=roles)
        ws.datasets.split(name, strategy="random", seed=1)
    trainer = Trainer(ws)
    for kind, dataset, model, seed in [
        ("decision_tree", "tab", "clf", 1),
        ("decision_tree", "tab", "clf", 2),  # v2: a challenger to promote, roll back
        ("linear_regression", "reg", "reg", 1),
        ("text_classifier", "tickets", "intent", 1),
        ("popularity", "ratings", "recs", 1),
    ]:
        run = trainer.train(kind, dataset=dataset, register=model, seed=seed)
        assert run.status == "succeeded", run.error


def _solution_models() -> StaticResolver:
    """The models the support, sentiment and recommender routes load, in memory."""
    r = StaticResolver()
    thresholds = {"handoff_threshold": 0.6, "out_of_scope_threshold": 0.45}
    r.add(
        ServedModel(
            "support-intent", 1, "text_classification", KeywordClassifier(), extra=thresholds
        ),
        "champion",
    )
    names = {"neg": "Bearish", "pos": "Bullish"}
    r.add(
        ServedModel(
            "sentiment", 1, "text_classification", KeywordClassifier(), extra={"label_names": names}
        ),
        "champion",
    )
    r.add(ServedModel("topic", 1, "text_classification", KeywordClassifier()), "champion")
    r.add(ServedModel("recommender", 1, "recommendation", TinyRecommender()), "champion")
    return r


@dataclass(frozen=True)
class Fuzzed:
    """The app under test, the admin key it runs as, and ids its fixture data has."""

    app: FastAPI
    secret: str
    key_id: str
    prediction_id: str


#: Names the fixture data has, by the path parameter that takes them.
_NAMES = {
    "name": ["clf", "reg", "intent", "recs", "tab", "tickets", "ratings"],
    "model": ["clf", "intent"],
}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """The app over a trained workspace, the admin key, and a prediction of ``clf``."""
    home = tmp_path_factory.mktemp("fuzz") / "home"
    clock = FixedClock()
    # No in-process job worker: queued training runs and cycles stay queued, so that
    # nothing changes under the run but its own requests (a deterministic run).
    settings = Settings(home=home, inprocess_worker=False)
    ws = Workspace.open(settings, clock=clock)
    tenants = make_tenants(ws, clock, quota=10**9, rate=10**9)
    _train(ws.for_org(tenants.org_ids["acme"]), home)
    resolver = ChainResolver(_solution_models(), RegistryModelResolver(ws, alias_ttl=0.0))
    app = create_app(settings, workspace=ws, clock=clock, resolver=resolver)
    secret = tenants.keys["acme:admin"]
    answer = TestClient(app).post(
        "/v1/models/clf/predict",
        json={"inputs": [{"x1": 0.2, "x2": 0.9}]},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 200, answer.text
    try:
        yield Fuzzed(app, secret, tenants.key_ids["acme:admin"], answer.json()["prediction_id"])
    finally:
        ws.close()


def _findings(fuzzed: Fuzzed) -> tuple[list[Finding], dict[str, Any]]:
    # Half the generated names and prediction ids are the fixture's (past the 404s).
    known = {"prediction": [fuzzed.prediction_id], **_NAMES}
    bind = {"path.prediction_id": "prediction", "body.prediction_id": "prediction"}
    bind |= {f"path.{name}": name for name in _NAMES}
    config = SchemathesisConfig.from_dict(
        {
            "seed": 42,
            "workers": 1,
            "headers": {"Authorization": f"Bearer {fuzzed.secret}"},
            "dictionaries": {name: {"values": values} for name, values in known.items()},
            "parameters": {
                key: {"dictionary": name, "probability": 0.5} for key, name in bind.items()
            },
            "generation": {"max-examples": 5, "deterministic": True, "database": "none"},
            "checks": {"enabled": True},
            "continue-on-failure": True,
            "cache": {"enabled": False},
        }
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.app, config=config)

    @schema.hook
    def filter_case(context: Any, case: Any) -> bool:
        # Revoking the fuzzer's own key ends the run (see the module docstring).
        return not (
            case.method.upper() == "DELETE"
            and case.path == "/v1/keys/{key_id}"
            and (case.path_parameters or {}).get("key_id") == fuzzed.key_id
        )

    found: list[Finding] = []
    stats: dict[str, Any] = collections.defaultdict(int)
    for event in from_schema(schema).execute():
        if isinstance(event, events.FatalError):
            raise AssertionError(f"schemathesis could not run: {event.exception!r}")
        if isinstance(event, events.NonFatalError):
            found.append(
                Finding("error", event.label, "error", str(event.info.message), None, "", "")
            )
        if not isinstance(event, events.ScenarioFinished):
            continue
        stats[event.phase.name] += 1
        for case_id, nodes in event.recorder.checks.items():
            for node in nodes:
                stats[f"check:{node.name}"] += 1
                info = node.failure_info
                if info is None:
                    continue
                response = event.recorder.find_response(case_id=case_id)
                body = "" if response is None else response.content.decode("utf-8", "replace")
                status = None if response is None else response.status_code
                case = event.recorder.cases.get(case_id)
                operation = event.recorder.label if case is None else case.value.operation.label
                found.append(
                    Finding(node.name, operation, info.failure.title,
                            info.failure.message, status, body, info.code_sample)
                )  # fmt: skip
    doc = schema.raw_schema
    kept = [f for f in found if not _semantic(f, doc) and not _soft_deleted(f, doc)]
    return kept, dict(stats)


def _soft_deleted(finding: Finding, doc: dict[str, Any]) -> bool:
    """A read of a user or key after its DELETE: a soft delete, documented as such.

    ``use_after_free`` expects a 404 after any DELETE; a DELETE marked ``x-soft-delete``
    keeps the object readable on purpose, with its status (``disabled``, ``revoked``).
    """
    if finding.check != "use_after_free":
        return False
    deleted = re.search(r"deleted with `DELETE ([^`]+)`", finding.message)
    if deleted is None:
        return False
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$"
        if item.get("delete", {}).get("x-soft-delete") and re.match(pattern, deleted.group(1)):
            return True
    return False


def _semantic(finding: Finding, doc: dict[str, Any]) -> bool:
    """A schema-valid request refused with a documented rule no schema can state."""
    if finding.check != "positive_data_acceptance" or finding.status != 422:
        return False
    code = json.loads(finding.body).get("code")
    method, _, path = finding.operation.partition(" ")
    operation = doc["paths"].get(path, {}).get(method.lower(), {})
    allowed = SEMANTIC_422.get(finding.operation, frozenset())
    headers = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}
    if "idempotency-key" in headers:
        allowed |= IDEMPOTENCY_422
    return code in allowed


def test_semantic_422_codes_are_documented_by_their_operations(fuzzed: Fuzzed) -> None:
    doc = fuzzed.app.openapi()
    for label, codes in SEMANTIC_422.items():
        method, path = label.split(" ", 1)
        documented = doc["paths"][path][method.lower()]["responses"]["422"]["x-codes"]
        assert codes <= set(documented), (label, codes - set(documented))


def test_schemathesis_all_checks_and_stateful_phase_find_nothing(fuzzed: Fuzzed) -> None:
    findings, stats = _findings(fuzzed)
    me = TestClient(fuzzed.app).get("/v1/me", headers={"Authorization": f"Bearer {fuzzed.secret}"})
    assert me.status_code == 200, me.text  # the exclusion held: the run kept its key
    assert stats.get("STATEFUL_TESTING", 0) > 0, stats  # the stateful phase ran
    ran = {name.removeprefix("check:") for name in stats if name.startswith("check:")}
    assert ran >= EVERY_CHECK, (sorted(EVERY_CHECK - ran), stats)
    assert not findings, f"{len(findings)} finding(s):\n\n" + "\n\n".join(map(str, findings))
