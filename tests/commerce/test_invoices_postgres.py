"""Invoice numbering on PostgreSQL: concurrent closes number 1..N with no gap or repeat."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pgkit import pg_settings
from sqlalchemy import select

from baryon.commerce.billing import close_billing
from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import InvoiceRow
from baryon.core.clock import FixedClock
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_ws(pg_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Workspace]:
    ws = Workspace.open(pg_settings(pg_url, tmp_path / "home"), clock=clock)
    yield ws
    ws.close()


def test_concurrent_closes_on_postgres_number_without_gaps(
    pg_ws: Workspace, clock: FixedClock
) -> None:
    names = [f"pg{i}" for i in range(8)]
    with pg_ws.db.session(SYSTEM) as s:
        create_plan(s, name="pgplan", quota=10, rate_per_minute=10, monthly_price="5.00",
                    clock=clock)  # fmt: skip
        for name in names:
            create_org(s, name=name, plan="pgplan", clock=clock)
    clock.advance(31 * 86400)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            close_billing(pg_ws.db, org=name, clock=clock)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    # every organization twice at once: one invoice each, whoever wins
    threads = [threading.Thread(target=run, args=(n,)) for n in names + names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with pg_ws.db.session(SYSTEM) as s:
        rows = s.execute(select(InvoiceRow.org_id, InvoiceRow.number)).all()
    assert len(rows) == len(names)
    assert sorted(n for _, n in rows) == list(range(1, len(names) + 1))
