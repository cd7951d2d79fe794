"""Tests of baryon.training.model_versions: model references, names, records."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from baryon.core.errors import InvalidInput
from baryon.training.model_versions import AliasMove, check_model_name, parse_model_ref


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("m", ("m", None, None)),
        ("m@champion", ("m", None, "champion")),
        ("m@challenger", ("m", None, "challenger")),
        ("m:12", ("m", 12, None)),
    ],
)
def test_parse_model_ref_valid_forms(ref: str, expected: tuple[object, ...]) -> None:
    assert parse_model_ref(ref) == expected


@pytest.mark.parametrize("ref", ["m:0", "m:x", "m@staging", "@champion", ":3", "a b"])
def test_parse_model_ref_malformed_refused(ref: str) -> None:
    with pytest.raises(InvalidInput):
        parse_model_ref(ref)


@pytest.mark.parametrize("name", ["intents", "support-intent", "m.v2", "A_1"])
def test_check_model_name_valid_names_pass(name: str) -> None:
    assert check_model_name(name) == name


@pytest.mark.parametrize("name", ["", "a b", "x@y", "v:1", "-x", "a" * 101])
def test_check_model_name_invalid_names_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_model_name(name)
    assert info.value.code == "invalid_model_name"


def test_alias_move_to_dict_is_json_ready() -> None:
    move = AliasMove(
        name="m",
        alias="champion",
        action="promote",
        from_version=1,
        to_version=2,
        actor="cli:ana",
        reason="better",
        forced=False,
        gate={"passed": True},
        at=datetime(2026, 1, 1, tzinfo=UTC),
        seq=3,
    )
    data = json.loads(json.dumps(move.to_dict()))
    assert data["at"] == "2026-01-01T00:00:00+00:00"
    assert data["changed"] is True
