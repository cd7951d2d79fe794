"""Reading a Service class: endpoints, schemas from type hints, units, bad declarations."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

import baryon
from baryon.core.errors import InvalidInput
from baryon.services import service_endpoints, service_name


class Scorer(baryon.Service):
    @baryon.endpoint(path="/score/", units="texts")
    def score(self, texts: list[str], top: int = 3) -> list[float]:
        """Score texts.

        More words.
        """
        return [float(len(t)) for t in texts]

    @baryon.endpoint(units=4)
    def ping(self) -> str:
        return "pong"

    def helper(self) -> None:
        """Not an endpoint."""


def test_service_endpoints_read_paths_units_and_docstrings() -> None:
    score, ping = service_endpoints(Scorer)
    assert (score.method, score.path, score.units, score.summary) == (
        "score", "score", "texts", "Score texts."
    )  # fmt: skip
    assert (ping.path, ping.units, ping.summary) == ("ping", 4, "ping")
    assert service_name(Scorer) == "scorer"


def test_request_model_requires_hinted_parameters_and_refuses_unknown_fields() -> None:
    score = service_endpoints(Scorer)[0]
    body = score.request_model.model_validate({"texts": ["ab", "c"]})
    assert (body.texts, body.top) == (["ab", "c"], 3)  # type: ignore[attr-defined]
    assert score.units_of(body) == 2
    for bad in ({}, {"texts": "ab"}, {"texts": ["a"], "other": 1}, {"texts": ["a"], "top": "x"}):
        with pytest.raises(ValidationError):
            score.request_model.model_validate(bad)


def test_constant_units_ignore_the_body() -> None:
    ping = service_endpoints(Scorer)[1]
    assert ping.units_of(ping.request_model.model_validate({})) == 4


def _declare(**attrs: Any) -> type[baryon.Service]:
    return type("Bad", (baryon.Service,), attrs)


def _ok() -> Any:
    def ok(self: Any, x: int) -> int:
        return x

    return ok  # a new function each time: the decorator marks the function itself


def _no_hint(self: Any, x) -> int:  # type: ignore[no-untyped-def]
    return 1


def _star(self: Any, *xs: int) -> int:
    return 1


def _scalar_units(self: Any, x: int) -> int:
    return x


async def _coroutine(self: Any, x: int) -> int:
    return x


@pytest.mark.parametrize(
    "attrs",
    [
        {},  # no endpoint
        {"a": baryon.endpoint(path="same")(_ok()), "b": baryon.endpoint(path="same")(_ok())},
        {"a": baryon.endpoint()(_no_hint)},
        {"a": baryon.endpoint()(_star)},
        {"a": baryon.endpoint(units="x")(_scalar_units)},  # units names no list
        {"a": baryon.endpoint(units="nope")(_ok())},
        {"name": "Not Valid", "a": baryon.endpoint()(_ok())},
        {"a": baryon.endpoint()(_coroutine)},
    ],
    ids=[
        "none",
        "same-path",
        "no-hint",
        "star-args",
        "scalar-units",
        "unknown-units",
        "name",
        "async",
    ],
)
def test_bad_declaration_is_invalid_service(attrs: dict[str, Any]) -> None:
    cls = _declare(**attrs)
    with pytest.raises(InvalidInput) as caught:
        service_endpoints(cls) if service_name(cls) else None
    assert caught.value.code == "invalid_service"


@pytest.mark.parametrize("kwargs", [{"units": 0}, {"units": True}, {"units": 1.5}, {"path": "a b"}])
def test_endpoint_refuses_bad_units_or_path(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        baryon.endpoint(**kwargs)
    assert caught.value.code == "invalid_service"


def test_service_endpoints_refuses_a_class_that_is_not_a_service() -> None:
    with pytest.raises(InvalidInput):
        service_endpoints(int)  # type: ignore[arg-type]
