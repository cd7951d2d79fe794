"""Hourly usage sums: kept with each usage record, back-filled by migration 0020, and
usage reports over them equal to summing every record of the range."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from homekit import alembic_to
from pgkit import pg_settings
from sqlalchemy import select, text

from baryon.commerce.invoices import usage_units
from baryon.commerce.metering import GROUP_BY, rebuild_usage_hours, record_usage, usage_report
from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import UsageHourRow, UsageRecordRow
from baryon.core.clock import FixedClock
from baryon.core.db import Database
from baryon.core.scope import OPERATOR_ORG_ID, SYSTEM
from baryon.workspace import Workspace

#: (seconds after the clock's start, endpoint, key, units, status): three days, edges
#: inside hours, a record without a key, errors.
_RECORDS = [
    (0, "/v1/a", "key_1", 1, 200),
    (59, "/v1/a", "key_1", 2, 200),
    (1_799, "/v1/b", None, 3, 500),
    (3_600, "/v1/a", "key_2", 1, 429),
    (5_432, "/v1/b", "key_1", 4, 200),
    (86_399, "/v1/a", "key_2", 5, 200),
    (86_400, "/v1/a", "key_2", 6, 200),
    (90_061, "/v1/b", None, 7, 404),
    (2 * 86_400 + 7_199, "/v1/a", "key_1", 8, 200),
]


def _seed(ws: Workspace, clock: FixedClock) -> tuple[str, datetime]:
    start = clock.now()
    with ws.db.session(SYSTEM) as s:
        create_plan(s, name="h", quota=1000, rate_per_minute=1000, clock=clock)
        org_id = create_org(s, name="hours", plan="h", clock=clock).id
    for offset, endpoint, key, units, status in _RECORDS:
        at = FixedClock(start + timedelta(seconds=offset))
        with ws.db.session(SYSTEM) as s:
            record_usage(s, org_id=org_id, key_id=key, endpoint=endpoint, units=units,
                         status=status, latency_ms=1.0, period_start=start, clock=at)  # fmt: skip
    return org_id, start


def _by_hand(ws: Workspace, org_id: str, lo: datetime, hi: datetime, group_by: str) -> list[Any]:
    """The report summed record by record in Python (the definition)."""
    with ws.db.session(SYSTEM) as s:
        rows = s.scalars(select(UsageRecordRow).where(UsageRecordRow.org_id == org_id)).all()
    sums: dict[Any, list[int]] = {}
    for r in rows:
        if lo <= r.at < hi:
            grp = {"endpoint": r.endpoint, "key": r.key_id, "day": f"{r.at:%Y-%m-%d}"}[group_by]
            acc = sums.setdefault(grp, [0, 0, 0])
            acc[0] += 1
            acc[1] += r.units
            acc[2] += int(r.status >= 400)
    return [
        {"group": g, "requests": n, "units": u, "errors": e}
        for g, (n, u, e) in sorted(sums.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
    ]


def _hours(ws: Workspace) -> list[tuple[Any, ...]]:
    with ws.db.session(SYSTEM) as s:
        rows = s.scalars(select(UsageHourRow)).all()
        return sorted((r.org_id, r.hour, r.endpoint, r.key_id, r.requests, r.units, r.errors)
                      for r in rows)  # fmt: skip


def _check_reports(ws: Workspace, clock: FixedClock) -> None:
    org_id, t0 = _seed(ws, clock)
    ranges = [
        (t0, t0 + timedelta(days=3)),  # whole hours and days
        (t0 + timedelta(seconds=30), t0 + timedelta(seconds=90_000)),  # edges inside hours
        (t0 + timedelta(seconds=30), t0 + timedelta(seconds=1_800)),  # inside one hour
        (t0 + timedelta(seconds=3_600), t0 + timedelta(seconds=3_601)),  # one second
        (t0 - timedelta(days=1), t0 + timedelta(days=9)),  # beyond every record
        (t0 + timedelta(seconds=86_399), t0 + timedelta(seconds=2 * 86_400 + 7_199)),
    ]
    for lo, hi in ranges:
        for group_by in GROUP_BY:
            expected = _by_hand(ws, org_id, lo, hi, group_by)
            with ws.db.session(SYSTEM) as s:
                assert usage_report(s, org_id, start=lo, end=hi, group_by=group_by) == expected
                assert usage_units(s, org_id, lo, hi) == sum(g["units"] for g in expected)
    # the rows written request by request are the ones summed from the records at once
    kept = _hours(ws)
    assert len(kept) == 8
    assert sum(row[4] for row in kept) == len(_RECORDS)
    with ws.db.session(SYSTEM) as s:
        assert rebuild_usage_hours(s) == len(kept)
    assert _hours(ws) == kept


def test_reports_from_hour_sums_equal_the_records(ws: Workspace, clock: FixedClock) -> None:
    _check_reports(ws, clock)


def test_two_organizations_same_hours_endpoints_and_keys_never_mix(
    ws: Workspace, clock: FixedClock
) -> None:
    org_id, t0 = _seed(ws, clock)
    with ws.db.session(SYSTEM) as s:
        other = create_org(s, name="neighbour", plan="h", clock=clock).id
    for offset, endpoint, key, units, status in _RECORDS[:4]:  # the same hours, endpoints, keys
        at = FixedClock(t0 + timedelta(seconds=offset))
        with ws.db.session(SYSTEM) as s:
            record_usage(s, org_id=other, key_id=key, endpoint=endpoint, units=units * 100,
                         status=status, latency_ms=1.0, period_start=t0, clock=at)  # fmt: skip
    lo, hi = t0, t0 + timedelta(days=3)
    for group_by in GROUP_BY:
        for org in (org_id, other):
            with ws.db.session(SYSTEM) as s:
                got = usage_report(s, org, start=lo, end=hi, group_by=group_by)
            assert got == _by_hand(ws, org, lo, hi, group_by)
    with ws.db.session(SYSTEM) as s:
        assert usage_units(s, other, lo, hi) == 100 * sum(r[3] for r in _RECORDS[:4])
        assert usage_units(s, org_id, lo, hi) == sum(r[3] for r in _RECORDS)


def test_hour_sums_roll_back_with_their_record(ws: Workspace, clock: FixedClock) -> None:
    org_id, t0 = _seed(ws, clock)
    before = _hours(ws)

    def fail_after_metering() -> None:
        with ws.db.session(SYSTEM) as s:
            record_usage(s, org_id=org_id, key_id="key_1", endpoint="/v1/a", units=50,
                         status=200, latency_ms=1.0, period_start=t0, clock=clock)  # fmt: skip
            raise RuntimeError("the request failed after metering")

    with pytest.raises(RuntimeError):
        fail_after_metering()
    assert _hours(ws) == before
    with ws.db.session(SYSTEM) as s:
        assert usage_units(s, org_id, t0, t0 + timedelta(days=3)) == 37


def test_migration_0020_backfills_hour_sums_from_the_records(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        alembic_to(db, "0019")
        with db.engine.begin() as conn:
            for i, (at, key, units, status) in enumerate([
                ("2026-12-01 10:00:00.000000", "key_1", 2, 200),
                ("2026-12-01 10:59:59.999999", "key_1", 3, 500),
                ("2026-12-01 11:00:00.000000", None, 4, 200),
            ]):  # fmt: skip
                conn.execute(
                    text("INSERT INTO usage_records (id, org_id, key_id, endpoint, units, status,"
                         " latency_ms, at, period_start) VALUES (:id, :org, :key, '/v1/a',"
                         " :units, :status, 1.0, :at, '2026-12-01 00:00:00.000000')"),
                    {"id": f"use_{i}", "org": OPERATOR_ORG_ID, "key": key, "units": units,
                     "status": status, "at": at},
                )  # fmt: skip
        alembic_to(db, "0020")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT hour, key_id, requests, units, errors "
                                     "FROM usage_hours ORDER BY hour")).all()  # fmt: skip
        assert [tuple(r) for r in rows] == [
            ("2026-12-01 10:00:00.000000", "key_1", 2, 5, 1),
            ("2026-12-01 11:00:00.000000", "", 1, 4, 0),
        ]
        alembic_to(db, "0019", "downgrade")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM usage_records")).scalar_one() == 3
    finally:
        db.dispose()


@pytest.fixture
def pg_ws(pg_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Workspace]:
    ws = Workspace.open(pg_settings(pg_url, tmp_path / "home"), clock=clock)
    yield ws
    ws.close()


@pytest.mark.postgres
def test_reports_from_hour_sums_equal_the_records_on_postgres(
    pg_ws: Workspace, clock: FixedClock
) -> None:
    _check_reports(pg_ws, clock)
