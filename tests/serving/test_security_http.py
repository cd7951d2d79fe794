"""Security suite, HTTP: path traversal on every named-object parameter, canary payloads.

Routes come from the app's own route table, so a route added tomorrow is attacked
too. Every path parameter of every route gets each name of the traversal corpus
(:mod:`securitykit`), as one percent-encoded path segment; the parameters that name a
dataset, model or file in a query, a form or a JSON body get it too. Each answer must
be a 4xx problem (never a 2xx, never a 5xx), and no file named like the corpus may
appear anywhere. Pickle, joblib and torch canaries are sent through every ingress that
takes a file (dataset upload, model registration, labeling import): each is refused and
never loaded. The route × credential matrix is ``test_auth_matrix.py``.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from securitykit import TRAVERSAL, canaries, escaped_files
from servingkit import ClientFactory, Tenants

from baryon.core.config import Settings
from baryon.core.scope import Scope
from baryon.labeling.service import create_queue
from baryon.serving.app import create_app, route_permissions
from baryon.serving.auth import PUBLIC
from baryon.workspace import Workspace

_BLUEPRINT = create_app(Settings(home=Path("/nonexistent/baryon-security")))
PARAM_ROUTES = sorted(
    (method, path)
    for (method, path), perm in route_permissions(_BLUEPRINT).items()
    if perm != PUBLIC and "{" in path
)
_PARAM = re.compile(r"\{([^}]+)\}")


def _problem(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "root:" not in response.text


def test_security_covers_routes_with_path_parameters() -> None:
    assert len(PARAM_ROUTES) >= 20
    assert ("GET", "/v1/datasets/{name}") in PARAM_ROUTES


def test_path_parameter_traversal_is_refused_on_every_route(
    api: ClientFactory, tenants: Tenants, tmp_path: Path
) -> None:
    client = api(tenants.keys["ops:owner"])  # an operator owner: every permission
    failures = []
    for method, path in PARAM_ROUTES:
        for name in _PARAM.findall(path):
            for payload in TRAVERSAL:
                url = path
                for other in _PARAM.findall(path):
                    value = payload if other == name else "x"
                    url = url.replace("{" + other + "}", quote(value, safe=""))
                body = None if method in ("GET", "DELETE") else {}
                response = client.request(method, url, json=body)
                try:
                    _problem(response)
                except AssertionError as exc:
                    failures.append(f"{method} {path} {name}={payload!r}: {exc}")
    assert failures == []
    assert escaped_files(tmp_path) == []


@pytest.mark.parametrize("payload", TRAVERSAL)
def test_named_object_fields_traversal_is_refused(
    payload: str, api: ClientFactory, tenants: Tenants, tmp_path: Path
) -> None:
    dev = api(tenants.keys["acme:admin"])
    csv = b"a,b,label\n1,2,x\n2,3,y\n3,4,x\n4,5,y\n"
    upload = dev.post("/v1/datasets", files={"file": ("d.csv", csv)}, data={"name": "d"})
    assert upload.status_code in (200, 201), upload.text
    calls = [
        ("POST", "/v1/datasets", {"files": {"file": ("d.csv", csv)}, "data": {"name": payload}}),
        ("POST", "/v1/datasets", {"files": {"file": (payload, csv)}, "data": {"name": "d2"}}),
        ("GET", "/v1/datasets/d", {"params": {"owner": payload}}),
        ("GET", "/v1/datasets/d/export", {"params": {"format": payload}}),
        ("POST", "/v1/runs", {"json": {"kind": "decision_tree", "dataset": payload}}),
        ("POST", "/v1/models/m/evaluate", {"json": {"dataset": payload}}),
        ("POST", "/v1/erasures", {"json": {"match": [{"column": "a", "value": "1"}],
                                           "datasets": [payload]}}),
        ("POST", "/v1/models/m/versions", {"files": {"file": (payload, b"x")},
                                           "data": {"dataset": payload, "target": "label"}}),
    ]  # fmt: skip
    for method, url, kwargs in calls:
        response = dev.request(method, url, **kwargs)  # type: ignore[arg-type]
        if url == "/v1/datasets" and "files" in kwargs and kwargs["data"]["name"] == "d2":
            # A hostile file *name* is only a hint for the format: the bytes are kept,
            # never the name (stored by digest).
            assert response.status_code in (201, 422), response.text
            continue
        _problem(response)
    assert escaped_files(tmp_path) == []


def test_canaries_refused_through_every_file_ingress(
    api: ClientFactory, tenants: Tenants, ws: Workspace, tmp_path: Path
) -> None:
    marker = tmp_path / "canary-ran"
    dev = api(tenants.keys["acme:admin"])
    csv = b"a,b,label\n1,2,x\n2,3,y\n3,4,x\n4,5,y\n5,6,x\n6,7,y\n"
    assert dev.post("/v1/datasets", files={"file": ("d.csv", csv)}, data={"name": "d"}).is_success
    assert dev.post("/v1/datasets/d/split", json={"strategy": "random"}).is_success
    with ws.db.session(Scope.own(tenants.org_ids["acme"])) as session:
        create_queue(
            session, org_id=tenants.org_ids["acme"], name="q", model_name="m",
            classes=["x"], actor="test", clock=ws.clock,
        )  # fmt: skip
    for filename, payload in canaries(marker).items():
        for fmt in (None, "parquet", "json"):
            data = {"name": "canary"} | ({} if fmt is None else {"format": fmt})
            up = dev.post("/v1/datasets", files={"file": (filename, payload)}, data=data)
            _problem(up)
        reg = dev.post(
            "/v1/models/m/versions",
            files={"file": (filename, payload)},
            data={"dataset": "d", "target": "label"},
        )
        _problem(reg)
        assert reg.json()["code"] in ("invalid_model_file", "untrusted_model")
        for fmt in ("label-studio", "jsonl", "csv"):
            imp = dev.post(f"/v1/labeling/queues/q/import?format={fmt}", content=payload)
            _problem(imp)
    assert not marker.exists()
