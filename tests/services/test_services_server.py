"""Services behind a real ``baryon serve`` process: the README's walk-through as written,
and every way a call can end (limits, another organization, setup failure, bad output)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from serverkit import free_port, run_walkthrough, start_server, stop_server, wait_ready

from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.tenancy.keys import create_key
from baryon.workspace import Workspace

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = Path(__file__).resolve().parent / "samples.py"


def _readme_block() -> str:
    section = (ROOT / "README.md").read_text().split("## Serve your own Python code", 1)[1]
    section = section.split("\n## ", 1)[0]
    return section.split("```bash\n", 1)[1].split("```", 1)[0]


def test_readme_services_walkthrough_runs_as_written(tmp_path: Path) -> None:
    port = free_port()
    script = "\n".join(
        [
            "set -euo pipefail",
            "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
            _readme_block()
            .replace("source .venv/bin/activate", ":")
            .replace("cp examples/", f"cp {ROOT}/examples/")
            .replace("8000", str(port)),
        ]
    )
    stdout = run_walkthrough(script, tmp_path, timeout=300)
    assert '"service":"mood","service_version":1' in stdout
    assert '"result":[{"label":"positive","score":0.5},{"label":"negative","score":-1.0}]' in (
        stdout
    )
    assert '"usage":{"units":2,"quota":5,"used":2,"remaining":3}' in stdout
    assert "acme: plan starter, 2 of 5 units used" in stdout  # baryon usage: 1 request
    assert "/v1/services/mood/score" in stdout  # baryon usage's table
    assert "200 200 200 429" in stdout


def _world(home: Path) -> dict[str, str]:
    """Plan ``small`` (quota 5 units, 6 requests a minute); acme and globex on it."""
    ws = Workspace.open(Settings(home=home))
    try:
        with ws.db.session(SYSTEM) as s:
            create_plan(s, name="small", quota=5, rate_per_minute=6, monthly_price="1.00")
            out = {}
            for name in ("acme", "globex"):
                org = create_org(s, name=name, plan="small")
                for role in ("developer", "admin"):
                    out[f"{name}:{role}"] = create_key(s, org_id=org.id, role=role).secret
        return out
    finally:
        ws.close()


def test_served_services_meter_limit_and_fail_by_name(tmp_path: Path) -> None:
    home = tmp_path / "home"
    keys = _world(home)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(home, port, services=[str(SAMPLES)], org="acme")
    with contextlib.ExitStack() as stack:
        stack.callback(stop_server, proc)
        wait_ready(base, proc)
        acme, other, admin = (
            stack.enter_context(
                httpx.Client(base_url=base, headers={"Authorization": f"Bearer {keys[who]}"})
            )
            for who in ("acme:developer", "globex:developer", "acme:admin")
        )

        def post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
            return client.post(f"/v1/services/{path}", json=body)

        statuses = []
        r = post(acme, "mood/score", {"texts": ["a good day", "rain"]})  # 2 units
        statuses.append(r.status_code)
        assert r.json()["usage"] == {"units": 2, "quota": 5, "used": 2, "remaining": 3}
        r = post(acme, "broken/go", {"x": 1})
        assert (r.status_code, r.json()["code"]) == (503, "service_setup_failed")
        r = post(acme, "mood/lie", {"text": "x"})
        assert (r.status_code, r.json()["code"]) == (500, "invalid_service_output")
        assert r.json()["details"]["field"] == "result.1.score"
        for _ in range(2):  # 1 unit each: 4 of 5 used
            statuses.append(post(acme, "mood/score", {"texts": ["good"]}).status_code)
        r = post(acme, "mood/score", {"texts": ["good", "good"]})  # 2 units do not fit
        assert (r.status_code, r.json()["code"]) == (429, "quota_exceeded")
        r = post(acme, "mood/score", {"texts": []})  # the 7th request this minute
        assert (r.status_code, r.json()["code"]) == (429, "rate_limited")
        assert "retry-after" in r.headers
        assert statuses == [200, 200, 200]

        r = post(other, "mood/score", {"texts": ["good"]})
        assert (r.status_code, r.json()["code"]) == (404, "not_found")

        groups = {g["group"]: g for g in admin.get("/v1/usage").json()["groups"]}
        score = groups["/v1/services/mood/score"]
        assert (score["requests"], score["units"], score["errors"]) == (3, 4, 0)
        failed = (groups["/v1/services/broken/go"], groups["/v1/services/mood/lie"])
        assert [(g["units"], g["errors"]) for g in failed] == [(0, 1), (0, 1)]
    log = (home.parent / f"serve-{port}.log").read_text()
    assert "Traceback" in log
    assert "RuntimeError: the weights file is missing" in log
