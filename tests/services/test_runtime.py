"""ServedService: setup once (thread-safe), failures remembered, results checked; loading."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

import baryon
from baryon.core.errors import BaryonError, InvalidInput, ModelNotReady
from baryon.services import ServedService, load_services

SAMPLES = Path(__file__).resolve().parent / "samples.py"


class Counting(baryon.Service):
    setups: ClassVar[list[int]] = []

    def setup(self) -> None:
        time.sleep(0.05)  # widen the window in which concurrent first calls overlap
        self.setups.append(1)
        self.offset = 10

    @baryon.endpoint()
    def add(self, x: int) -> int:
        return x + self.offset


def _body(served: ServedService, **values: object) -> BaseModel:
    return served.endpoints[0].request_model.model_validate(values)


def test_setup_runs_once_under_concurrent_first_calls() -> None:
    Counting.setups.clear()
    served = ServedService(Counting)
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(served.call(served.endpoints[0], _body(served, x=1)))
        )
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [11] * 8
    assert Counting.setups == [1]


class FailsOnce(baryon.Service):
    calls: ClassVar[list[int]] = []

    def setup(self) -> None:
        self.calls.append(1)
        raise OSError("no such weights")

    @baryon.endpoint()
    def go(self, x: int) -> int:
        return x


def test_failed_setup_is_remembered_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    FailsOnce.calls.clear()
    served = ServedService(FailsOnce)
    for _ in range(3):
        with pytest.raises(ModelNotReady) as caught:
            served.ready()
        assert caught.value.code == "service_setup_failed"
        assert caught.value.http_status == 503
    assert FailsOnce.calls == [1]
    logged = [r for r in caplog.records if r.name == "baryon.services"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None


class Typed(baryon.Service):
    @baryon.endpoint()
    def nums(self, given: object) -> list[float]:
        return given  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("returned", "field"),
    [(["0.7"], "result.0"), ([1.0, None], "result.1"), ("1.0", "result")],
)
def test_result_against_hints_is_checked_strictly(returned: object, field: str) -> None:
    served = ServedService(Typed)
    with pytest.raises(BaryonError) as caught:
        served.call(served.endpoints[0], _body(served, given=returned))
    assert caught.value.code == "invalid_service_output"
    assert caught.value.details["field"] == field


class Loose(baryon.Service):
    @baryon.endpoint()
    def anything(self, x: int) -> dict:  # type: ignore[type-arg]
        deep = [1.0, float("inf") if x == 1 else 2.0]
        return {"ok": 1.0, "deep": deep, "o": object() if x == 2 else 0}


@pytest.mark.parametrize(
    ("x", "field", "error"),
    [(1, "result.deep.1", "non_finite_number"), (2, "result", "value_not_serializable")],
)
def test_result_with_infinity_or_an_unserializable_value_is_named_never_null(
    x: int, field: str, error: str
) -> None:
    served = ServedService(Loose)
    with pytest.raises(BaryonError) as caught:
        served.call(served.endpoints[0], _body(served, x=x))
    assert caught.value.code == "invalid_service_output"
    assert (caught.value.details["field"], caught.value.details["error"]) == (field, error)
    assert served.call(served.endpoints[0], _body(served, x=0))["deep"] == [1.0, 2.0]


def test_result_that_fits_is_dumped_as_json_values() -> None:
    served = ServedService(Typed)
    assert served.call(served.endpoints[0], _body(served, given=[1, 2.5])) == [1.0, 2.5]


def test_load_services_reads_every_class_of_a_file_or_the_one_named() -> None:
    assert [s.name for s in load_services([str(SAMPLES)])] == ["mood", "broken"]
    (one,) = load_services([f"{SAMPLES}:Broken"], owner_org_id="org_1")
    assert (one.name, one.owner_org_id) == ("broken", "org_1")
    assert one.visible_to("org_1")
    assert not one.visible_to("org_2")
    assert all(s.visible_to("anyone") for s in load_services([str(SAMPLES)]))


def test_load_services_reads_a_module_by_name() -> None:
    (one,) = load_services([f"{__name__}:Counting"])
    assert one.name == "counting"


@pytest.mark.parametrize(
    "spec",
    [
        "/no/such/file.py",
        "no_such_module_xyz",
        "json",  # a module without a Service subclass
        f"{SAMPLES}:Label",  # not a Service
        f"{SAMPLES}:Missing",
    ],
)
def test_load_services_refuses_what_it_cannot_serve(spec: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        load_services([spec])
    assert caught.value.code == "invalid_service"


def test_load_services_refuses_a_file_that_fails_to_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad_service.py"
    bad.write_text("import baryon\nraise RuntimeError('boom at import')\n")
    with pytest.raises(InvalidInput, match="boom at import"):
        load_services([str(bad)])


def test_load_services_refuses_two_services_of_one_name() -> None:
    with pytest.raises(InvalidInput, match="two services"):
        load_services([str(SAMPLES), f"{SAMPLES}:Mood"])


@pytest.mark.parametrize("version", [0, "2", True])
def test_served_service_refuses_a_version_that_is_not_a_positive_int(version: object) -> None:
    cls = type("Versioned", (Counting,), {"version": version})
    with pytest.raises(InvalidInput) as caught:
        ServedService(cls)
    assert caught.value.code == "invalid_service"
