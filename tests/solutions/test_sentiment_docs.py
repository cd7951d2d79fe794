"""docs/solutions/sentiment.md and recommender.md cannot rot: every route and command is
documented, and every JSON request and response shown matches the API's models."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter

from baryon.cli.sentiment import app as sentiment_cli
from baryon.serving import solution_schemas as schemas
from baryon.serving.routers import recommender, sentiment

DOCS = Path(__file__).resolve().parents[2] / "docs" / "solutions"
PAGES = {"sentiment": DOCS / "sentiment.md", "recommender": DOCS / "recommender.md"}


def _blocks(page: Path, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def _curl_bodies(page: Path) -> list[tuple[str, dict[str, Any]]]:
    """(path, JSON body) of every curl with -d in the page."""
    out = []
    for block in _blocks(page, "bash"):
        args = shlex.split(block.replace("\\\n", " "))
        if "-d" in args:
            url = next(a for a in args if a.startswith("http"))
            out.append((url.split("8000", 1)[1], json.loads(args[args.index("-d") + 1])))
    return out


@pytest.mark.parametrize(
    ("router", "page"), [(sentiment.router, "sentiment"), (recommender.router, "recommender")]
)
def test_every_route_is_documented(router: Any, page: str) -> None:
    text = PAGES[page].read_text(encoding="utf-8")
    for route in router.routes:
        for method in route.methods:
            path = route.path.split("{")[0].rstrip("/")
            assert f"{method} {path}" in text, f"{method} {route.path} missing from {page}.md"


def test_every_sentiment_command_is_documented() -> None:
    text = PAGES["sentiment"].read_text(encoding="utf-8")
    for command in sentiment_cli.registered_commands:
        assert f"baryon sentiment {command.name}" in text


def test_request_bodies_match_the_request_models() -> None:
    models: dict[str, type[BaseModel]] = {
        "/v1/sentiment/analyze": schemas.AnalyzeRequest,
        "/v1/sentiment/items": schemas.ItemsRequest,
        "/v1/events": schemas.EventRequest,
    }
    bodies = _curl_bodies(PAGES["sentiment"]) + _curl_bodies(PAGES["recommender"])
    assert {path for path, _ in bodies} == set(models)
    for path, body in bodies:
        models[path].model_validate(body)


def test_responses_shown_match_the_response_models() -> None:
    expected: list[Any] = [
        schemas.AnalyzeResponse,
        schemas.ItemsResponse,
        schemas.IndexResponse,
        list[schemas.AlertOut],
        schemas.RecommendationsResponse,
        schemas.RecommendationsResponse,
        schemas.RecommendationsResponse,
        schemas.EventOut,
    ]
    shown = _blocks(PAGES["sentiment"], "json") + _blocks(PAGES["recommender"], "json")
    assert len(shown) == len(expected)
    for block, model in zip(shown, expected, strict=True):
        TypeAdapter(model).validate_python(json.loads(block))
