"""The predict input policy, end to end: tiny models trained for real, the real app.

Property (issue 12): for any row with a wrong type, a null, a boolean, an extra key or
a missing key, ``POST /v1/models/{name}/predict`` answers either 422
``invalid_features`` naming the row and the field, or 200 with the flag
``imputed_input`` and the imputed fields named for that row — never an unflagged
number.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servingkit import PortalTransport, fresh_home, make_tenants

from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.predictions.inference import RegistryModelResolver
from baryon.serving.app import create_app
from baryon.training.trainer import Trainer
from baryon.workspace import Workspace

#: The features of the tiny models and a good value of each type.
GOOD: dict[str, Any] = {"x1": 0.4, "x2": 3, "color": "red", "flag": True}
TYPES = {"x1": "number", "x2": "number", "color": "string", "flag": "boolean"}


@dataclass
class Served:
    client: httpx.Client
    fill: dict[str, Any]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, migrated_db: Path) -> Iterator[Served]:
    """Models ``strict`` and ``lenient`` (``missing=impute``): decision trees on x1..flag."""
    clock = FixedClock()
    s = Settings(home=tmp_path_factory.mktemp("inputs") / "home")
    fresh_home(migrated_db, s.home)
    ws = Workspace.open(s, clock=clock)
    tenants = make_tenants(ws, clock, quota=10**9, rate=10**9)
    rng = np.random.default_rng(0)
    n = 80
    x1 = rng.uniform(0, 1, n)
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": rng.integers(0, 10, n),
            "color": rng.choice(["red", "green", "blue"], n),
            "flag": rng.random(n) > 0.5,
            "label": np.where(x1 > 0.5, "hi", "lo"),
        }
    )
    path = s.home / "tiny.csv"
    frame.to_csv(path, index=False)
    org = ws.for_org(tenants.org_ids["acme"])
    org.datasets.ingest(path, name="tiny", roles={"label": "label"})
    org.datasets.split("tiny", strategy="random", seed=1)
    for name, missing in (("strict", "strict"), ("lenient", "impute")):
        run = Trainer(org).train("decision_tree", "tiny", register=name, missing=missing)
        assert run.status == "succeeded", run
    fill = org.registry.get_version("lenient").extra["inputs"]["fill"]
    resolver = RegistryModelResolver(ws, alias_ttl=0.0)
    transport = PortalTransport(create_app(s, workspace=ws, clock=clock, resolver=resolver))
    headers = {"Authorization": f"Bearer {tenants.keys['acme:developer']}"}
    client = httpx.Client(transport=transport, base_url="http://testserver", headers=headers)
    try:
        yield Served(client, fill)
    finally:
        client.close()
        transport.shutdown()
        ws.close()


def _predict(served: Served, model: str, rows: list[Any]) -> httpx.Response:
    return served.client.post(f"/v1/models/{model}/predict", json={"inputs": rows})


# ------------------------------------------------------------------ examples
@pytest.mark.parametrize(
    ("field", "value", "got"),
    [
        ("x1", None, "null"),  # was 200: imputed with the median, no flag
        ("x1", True, "a boolean"),  # was 200: true became 1.0
        ("x1", "0.7", "a string"),  # was 200: "0.7" became 0.7
        ("color", 7, "a number"),
        ("flag", 1, "a number"),
    ],
)
def test_predict_strict_model_refuses_the_value_naming_row_field_and_type(
    served: Served, field: str, value: Any, got: str
) -> None:
    r = _predict(served, "strict", [GOOD, {**GOOD, field: value}])
    assert r.status_code == 422, r.text
    doc = r.json()
    assert doc["code"] == "invalid_features"
    assert doc["detail"].startswith(f"inputs[1].{field} ")
    (error,) = doc["details"]["errors"]
    assert (error["row"], error["field"], error["got"]) == (1, field, got)
    assert error["expected"] in ("a number", "a string", "true or false")


def test_predict_strict_model_refuses_unknown_feature_it_used_to_drop(served: Served) -> None:
    r = _predict(served, "strict", [{**GOOD, "x9": 1.0}])
    assert r.status_code == 422
    assert r.json()["details"]["errors"][0] == {
        "row": 0, "field": "x9", "problem": "unknown_feature", "expected": "no such feature",
        "got": "a number",
    }  # fmt: skip


def test_predict_good_row_answers_with_nothing_imputed(served: Served) -> None:
    for model in ("strict", "lenient"):
        r = _predict(served, model, [GOOD, list(GOOD.values())])
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["flags"] == []
        assert body["imputed"] == [[], []]
        assert {o["label"] for o in body["outputs"]} <= {"hi", "lo"}


def test_predict_lenient_model_imputes_flags_and_logs(served: Served) -> None:
    rows = [{**GOOD, "x1": None}, {k: v for k, v in GOOD.items() if k != "color"}, GOOD]
    r = _predict(served, "lenient", rows)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["flags"] == ["imputed_input"]
    assert body["imputed"] == [["x1"], ["color"], []]
    filled = _predict(served, "lenient", [{**GOOD, "x1": served.fill["x1"]}]).json()
    assert body["outputs"][0] == filled["outputs"][0]  # the training median, nothing else
    logged = served.client.get(f"/v1/predictions/{body['prediction_id']}").json()
    assert logged["flags"] == ["imputed_input"]


def test_version_shows_its_input_contract(served: Served) -> None:
    versions = served.client.get("/v1/models/lenient").json()["versions"]
    inputs = versions[0]["extra"]["inputs"]
    assert inputs["missing"] == "impute"
    assert inputs["types"] == TYPES
    assert set(inputs["fill"]) == set(TYPES)


# ------------------------------------------------------------------ property
_WRONG: dict[str, st.SearchStrategy[Any]] = {
    "number": st.none() | st.booleans() | st.text(max_size=5) | st.lists(st.integers(), max_size=2),
    "string": st.none() | st.booleans() | st.integers() | st.floats(-1e6, 1e6),
    "boolean": st.none() | st.integers() | st.floats(-1e6, 1e6) | st.text(max_size=5),
}


@st.composite
def bad_rows(draw: st.DrawFn) -> tuple[dict[str, Any], set[str], set[str]]:
    """A row with at least one fault: ``(row, bad fields, null or absent fields)``."""
    row = dict(GOOD)
    faults = draw(st.sets(st.sampled_from([*TYPES, "extra"]), min_size=1))
    bad: set[str] = set()
    gaps: set[str] = set()
    for name in sorted(faults):
        if name == "extra":
            key = draw(st.text(min_size=1, max_size=6).filter(lambda k: k not in TYPES))
            row[key] = draw(st.none() | st.integers() | st.text(max_size=3))
            bad.add(key)
        elif draw(st.booleans()):
            del row[name]
            gaps.add(name)
        else:
            row[name] = draw(_WRONG[TYPES[name]])
            (gaps if row[name] is None else bad).add(name)
    return row, bad, gaps


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=bad_rows(), model=st.sampled_from(["strict", "lenient"]), at=st.integers(0, 2))
def test_predict_any_faulty_row_is_422_naming_it_or_200_flagged_never_silent(
    served: Served, case: tuple[dict[str, Any], set[str], set[str]], model: str, at: int
) -> None:
    row, bad, gaps = case
    rows: list[Any] = [dict(GOOD) for _ in range(3)]
    rows[at] = row
    r = _predict(served, model, rows)
    if r.status_code == 200:
        body = r.json()
        assert model == "lenient", (row, body)  # only gaps, and only when imputing
        assert not bad, (row, body)
        assert "imputed_input" in body["flags"]
        assert set(body["imputed"][at]) == gaps
        assert all(not body["imputed"][i] for i in range(3) if i != at)
        return
    assert r.status_code == 422, r.text
    doc = r.json()
    assert doc["code"] == "invalid_features"
    named = {(e["row"], e["field"]) for e in doc["details"]["errors"]}
    expected = bad | (gaps if model == "strict" else set())
    assert named == {(at, f) for f in expected}
