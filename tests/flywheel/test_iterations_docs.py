"""docs/iterations.md cannot rot: every route, command and error code is in it, and its
curl bodies are valid requests."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from pydantic import BaseModel

from baryon.cli import iterations as iterations_cli
from baryon.flywheel import iterations
from baryon.serving import iteration_schemas as schemas
from baryon.serving.routers import iterations as iterations_router

ROOT = Path(__file__).resolve().parent.parent.parent
PAGE = (ROOT / "docs" / "iterations.md").read_text(encoding="utf-8")


def test_page_is_linked_from_the_readme() -> None:
    assert "(docs/iterations.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_route_is_documented() -> None:
    for route in iterations_router.router.routes:
        for method in route.methods:  # type: ignore[attr-defined]
            assert f"`{method} {route.path}" in PAGE, f"{method} {route.path}"  # type: ignore[attr-defined]


def test_every_command_is_documented() -> None:
    for command in iterations_cli.app.registered_commands:
        assert f"baryon iterations {command.name}" in PAGE, command.name


def test_every_error_code_of_the_module_is_documented() -> None:
    doc = iterations.__doc__ or ""
    codes = set(re.findall(r"``([a-z_]+)``", doc.split("Error codes", 1)[1]))
    assert len(codes) > 20
    missing = sorted(code for code in codes if f"`{code}`" not in PAGE)
    assert missing == []


def _curl_bodies() -> list[tuple[str, str, dict[str, object]]]:
    out = []
    for block in re.findall(r"```bash\n(.*?)```", PAGE, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            args = shlex.split(command)
            if args[:1] == ["curl"] and "-d" in args:
                url = next(a for a in args if a.startswith("http"))
                method = args[args.index("-X") + 1]
                out.append(
                    (method, url.split("8000", 1)[1], json.loads(args[args.index("-d") + 1]))
                )
    return out


_BODIES: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/v1/iterations"): schemas.CreateIterationRequest,
    ("POST", "/v1/iterations/{iteration}/items"): schemas.IterationItemRequest,
    ("PATCH", "/v1/iterations/{iteration}/items/{item_id}"): schemas.IterationItemUpdate,
}


@pytest.mark.parametrize(("method", "path", "body"), _curl_bodies())
def test_curl_bodies_are_valid_requests(method: str, path: str, body: dict[str, object]) -> None:
    [model] = [
        model
        for (verb, template), model in _BODIES.items()
        if verb == method and re.fullmatch(re.sub(r"\{[a-z_]+\}", "[^/]+", template), path)
    ]
    model.model_validate(body)


def test_curl_examples_cover_create_add_and_move() -> None:
    assert len(_curl_bodies()) == len(_BODIES)
