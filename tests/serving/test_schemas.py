"""Request bodies are strict: a boolean is never a number, a string never a number or flag.

Checked on every body model the app's routes declare (walking their JSON schema, nested
models, lists and maps included), so a new request field cannot be loose by accident.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError

from baryon.core.config import Settings
from baryon.serving.app import create_app

_APP = create_app(Settings(home=Path("/nonexistent/baryon-schemas")))
_NUMBERS = frozenset({"number", "integer"})


def _body_models() -> dict[type[BaseModel], str]:
    out: dict[type[BaseModel], str] = {}
    for context in iter_route_contexts(_APP.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        for param in context.dependant.body_params:
            annotation = param.field_info.annotation
            for model in (annotation, *getattr(annotation, "__args__", ())):
                if isinstance(model, type) and issubclass(model, BaseModel):
                    out.setdefault(model, f"{sorted(context.methods)[0]} {context.path}")
    return out


def _types(schema: dict[str, Any]) -> set[str]:
    members = schema.get("anyOf") or [schema]
    return {m["type"] for m in members if "type" in m}


def _scalar_fields(
    schema: dict[str, Any], defs: dict[str, Any], path: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], set[str]]]:
    """``(path, JSON types)`` of every number or boolean a body can hold."""
    if "$ref" in schema:
        yield from _scalar_fields(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, path)
        return
    for member in schema.get("anyOf", []):
        if "$ref" in member or member.get("type") in ("object", "array"):
            yield from _scalar_fields(member, defs, path)
    for name, sub in schema.get("properties", {}).items():
        yield from _scalar_fields(sub, defs, (*path, name))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _scalar_fields(schema["additionalProperties"], defs, (*path, "key"))
    if isinstance(schema.get("items"), dict):
        yield from _scalar_fields(schema["items"], defs, (*path, 0))
    types = _types(schema)
    if path and types & (_NUMBERS | {"boolean"}):
        yield path, types


def _cases() -> list[Any]:
    cases = []
    for model, route in _body_models().items():
        schema = model.model_json_schema()
        for path, types in _scalar_fields(schema, schema.get("$defs", {})):
            wrong: list[Any] = []
            if types & _NUMBERS and "boolean" not in types:
                wrong += [True, False]
            if "boolean" in types and not types & _NUMBERS:
                wrong += [1, 0]
            if "string" not in types:
                wrong += ["1", "true"]
            if "integer" in types and "number" not in types:
                wrong.append(2.5)  # 2.0 is the integer 2, as JSON Schema's integer says
            for value in wrong:
                ident = f"{route} {'.'.join(map(str, path))}={value!r}"
                cases.append(pytest.param(model, path, value, id=ident))
    return cases


def _nest(path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    inner = _nest(rest, value)
    return [inner] if head == 0 else {head: inner}


def test_every_request_body_model_is_found() -> None:
    names = {m.__name__ for m in _body_models()}
    assert {"EndpointRequest", "FeedbackRequest", "PromoteRequest", "EventRequest"} <= names
    assert len(_cases()) > 40


@pytest.mark.parametrize(("model", "path", "value"), _cases())
def test_request_field_refuses_bool_as_number_and_text_as_number(
    model: type[BaseModel], path: tuple[Any, ...], value: Any
) -> None:
    # Broke for e.g. PUT /v1/endpoints {"challenger_weight": true} (200, weight 1.0).
    with pytest.raises(ValidationError) as info:
        model.model_validate(_nest(path, value))
    where = [tuple(e["loc"][: len(path)]) for e in info.value.errors()]
    assert any(_at(loc, path) for loc in where), info.value.errors()


def _at(loc: tuple[Any, ...], path: tuple[Any, ...]) -> bool:
    """Whether an error's ``loc`` is ``path`` (a map's key matches any key)."""
    if len(loc) != len(path):
        return False
    return all(p == "key" or a == p for a, p in zip(loc, path, strict=True))
