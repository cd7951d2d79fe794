"""docs/solutions/support.md and tabular.md cannot rot: the route and command are
documented, every request body and response shown matches the API's models, and the
figures quoted match the constants of the code."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from baryon.cli.support import app as support_cli
from baryon.serving.routers import support
from baryon.serving.schemas import PredictRequest, PredictResponse
from baryon.serving.solution_schemas import SupportAnswerRequest, SupportAnswerResponse
from baryon.solutions.support.pipeline import BANK_DOMAINS, REFERENCE, TARGET_ACCURACY
from baryon.solutions.tabular.pipeline import CANDIDATES, TARGET_R2

DOCS = Path(__file__).resolve().parents[2] / "docs" / "solutions"
SUPPORT, TABULAR = DOCS / "support.md", DOCS / "tabular.md"


def _blocks(page: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def _curl_bodies(page: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in _blocks(page, "bash"):
        args = shlex.split(block.replace("\\\n", " "))
        if "-d" in args:
            url = next(a for a in args if a.startswith("http"))
            out.append((url.split("8000", 1)[1], json.loads(args[args.index("-d") + 1])))
    return out


def test_support_route_and_command_are_documented() -> None:
    text = SUPPORT.read_text(encoding="utf-8")
    for route in support.router.routes:
        for method in route.methods:  # type: ignore[attr-defined]
            assert f"{method} {route.path}" in text  # type: ignore[attr-defined]
    for command in support_cli.registered_commands:
        assert f"baryon support {command.name}" in text
    assert "baryon models evaluate support-intent --data" in text


def test_support_requests_and_responses_match_the_models() -> None:
    bodies = _curl_bodies(SUPPORT)
    assert [path for path, _ in bodies] == ["/v1/support/answer"] * 3
    for _, body in bodies:
        SupportAnswerRequest.model_validate(body)
    shown = _blocks(SUPPORT, "json")
    assert len(shown) == 3
    reasons = [SupportAnswerResponse.model_validate_json(b).handoff_reason for b in shown]
    assert reasons == [None, "low_confidence", "out_of_scope"]


def test_tabular_request_and_response_match_the_predict_models() -> None:
    [(path, body)] = _curl_bodies(TABULAR)
    assert path == "/v1/models/concrete-strength/predict"
    PredictRequest.model_validate(body)
    [shown] = _blocks(TABULAR, "json")
    PredictResponse.model_validate(json.loads(shown))


@pytest.mark.parametrize(
    ("page", "facts"),
    [
        (SUPPORT, [f"{TARGET_ACCURACY:g}", f"{REFERENCE['accuracy']:g}", *BANK_DOMAINS]),
        (TABULAR, [f"{TARGET_R2:.2f}", *(f"`{kind}`" for kind in CANDIDATES)]),
    ],
)
def test_docs_quote_the_code_constants(page: Path, facts: list[str]) -> None:
    text = page.read_text(encoding="utf-8")
    for fact in facts:
        assert fact in text, f"{fact!r} missing from {page.name}"
