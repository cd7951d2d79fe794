from __future__ import annotations

from datetime import UTC, datetime

import pytest

from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput
from baryon.core.ids import canonical_int, is_id, new_id


def test_new_id_has_kind_prefix_and_26_chars() -> None:
    value = new_id("run")
    assert value.startswith("run_")
    assert len(value.split("_", 1)[1]) == 26
    assert is_id(value, "run")
    assert not is_id(value, "dsv")


def test_new_id_later_time_sorts_after() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    first = new_id("run", clock)
    clock.advance(0.002)
    second = new_id("run", clock)
    assert first < second


def test_new_id_many_are_unique() -> None:
    assert len({new_id("key") for _ in range(2000)}) == 2000


def test_new_id_unknown_kind_raises() -> None:
    with pytest.raises(InvalidInput):
        new_id("bogus")


@pytest.mark.parametrize("bad", ["run-01", "RUN_" + "a" * 26, "run_" + "u" * 26, "run_short"])
def test_is_id_malformed_is_false(bad: str) -> None:
    assert not is_id(bad)


def test_is_id_trailing_newline_is_false() -> None:
    # `re.match(r"...$")` accepted "run_<26 chars>\n": ids are compared exactly
    assert not is_id(new_id("run") + "\n")


#: Spellings Python's int() reads as 42 that are other ids (issue 12, kind 2).
NOT_42 = ["042", "+42", "4_2", " 42", "42 ", "42\n", "\u0664\u0662", "\uff14\uff12", "42.0"]


@pytest.mark.parametrize("spelling", NOT_42)
def test_canonical_int_non_canonical_spelling_is_none(spelling: str) -> None:
    assert canonical_int(spelling) is None


@pytest.mark.parametrize(("value", "expected"), [("42", 42), ("0", 0), ("-7", -7), (42, 42)])
def test_canonical_int_canonical_spelling_is_the_integer(value: object, expected: int) -> None:
    assert canonical_int(value) == expected


@pytest.mark.parametrize("value", [True, None, 4.2, "", "-0", "1" * 20, "x"])
def test_canonical_int_other_values_are_none(value: object) -> None:
    assert canonical_int(value) is None
