"""Request field types: one accepted time format (:data:`Timestamp`), named rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import TypeAdapter, ValidationError
from servingkit import ClientFactory, Tenants

from baryon.serving.fields import Integer, Timestamp

TIME = TypeAdapter(Timestamp)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T00:00:00Z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01t00:00:00z", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-01-01T09:30:00+02:00", datetime(2026, 1, 1, 7, 30, tzinfo=UTC)),
        ("2026-01-01T00:00:00.25-01:00", datetime(2026, 1, 1, 1, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_timestamp_rfc3339_with_offset_reads_as_utc(text: str, expected: datetime) -> None:
    got = TIME.validate_json(f'"{text}"')
    assert got == expected
    assert got.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        0.5,  # the start=0.5: never epoch seconds
        0,
        1767225600,
        "0.5",
        "1767225600",
        "2026-01-01",  # a date alone
        "2026-01-01T00:00:00",  # no offset
        "2026-01-01T00:00Z",  # no seconds
        "2026-01-01 00:00:00Z",
        "2026-13-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-14:00",  # after year 9999 in UTC
        True,
        None,
    ],
)
def test_timestamp_anything_else_is_invalid_time(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        TIME.validate_python(value)
    assert [e["type"] for e in caught.value.errors()] == ["invalid_time"]


def test_timestamp_python_callers_pass_aware_datetimes_only() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert TIME.validate_python(datetime(2026, 1, 1, 2, tzinfo=plus2)) == datetime(
        2026, 1, 1, tzinfo=UTC
    )
    with pytest.raises(ValidationError):
        TIME.validate_python(datetime(2026, 1, 1))


def test_timestamp_schema_is_date_time_string() -> None:
    assert TIME.json_schema() == {"type": "string", "format": "date-time"}


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/usage", "start"),
        ("/v1/usage", "end"),
        ("/v1/sentiment/index", "at"),
        ("/v1/sentiment/alerts", "since"),
        ("/v1/audit", "since"),
        ("/v1/audit", "until"),
    ],
)
@pytest.mark.parametrize("bad", ["0.5", "0", "2026-01-01", "2026-01-01T00:00:00"])
def test_time_query_params_refuse_numbers_and_naive_times_with_invalid_time(
    api: ClientFactory, tenants: Tenants, path: str, param: str, bad: str
) -> None:
    client = api(tenants.keys["acme:admin"])
    r = client.get(path, params={param: bad})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "invalid_time"
    assert problem["errors"][0]["loc"] == ["query", param]
    assert "RFC 3339" in problem["detail"]
    ok = client.get(path, params={param: "2026-01-15T00:00:00Z"})
    assert ok.status_code == 200, ok.text


def test_usage_time_offset_is_read_as_utc(api: ClientFactory, tenants: Tenants) -> None:
    r = api(tenants.keys["acme:admin"]).get(
        "/v1/usage",
        params={"start": "2026-01-01T02:00:00+02:00", "end": "2026-01-02T00:00:00Z"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["start"] == "2026-01-01T00:00:00Z"


def test_time_fields_document_rfc3339_in_openapi(api: ClientFactory) -> None:
    doc = api().get("/openapi.json").json()
    start = next(p for p in doc["paths"]["/v1/usage"]["get"]["parameters"] if p["name"] == "start")
    assert {"type": "string", "format": "date-time"} in start["schema"]["anyOf"]


def test_integer_whole_float_is_that_integer() -> None:
    # JSON Schema's "integer" (the document's) admits 10.0: the same number as 10
    adapter = TypeAdapter(Integer)
    assert adapter.validate_python(10.0) == 10
    assert adapter.validate_json("10.0") == 10
    assert type(adapter.validate_json("10.0")) is int
    assert adapter.json_schema() == {"type": "integer"}


@pytest.mark.parametrize("bad", [True, False, "10", 10.5, float("inf"), float("nan"), None])
def test_integer_refuses_bools_texts_and_fractions(bad: object) -> None:
    with pytest.raises(ValidationError) as refused:
        TypeAdapter(Integer).validate_python(bad)
    assert refused.value.errors()[0]["type"] == "int_type"
