"""Alert rules and delivery on PostgreSQL: a rule fires, its delivery is signed and sent to
a loopback receiver, a failing one ends dead and is redelivered; another org sees none."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pgkit import pg_settings

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.errors import NotFound
from baryon.core.scope import SYSTEM, Scope
from baryon.jobs import JobQueue, Worker
from baryon.solutions.sentiment.delivery import (
    alert_handlers,
    create_channel,
    get_delivery,
    list_deliveries,
    queue_alert,
    redeliver,
)
from baryon.solutions.sentiment.rules import check_rule, create_rule, get_rule
from baryon.solutions.sentiment.service import Analysis, NewsItem, ingest_items
from baryon.solutions.sentiment.signing import verify_webhook
from baryon.workspace import Workspace

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]], list[int]]]:
    seen: list[tuple[dict[str, str], bytes]] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/", seen, statuses
    finally:
        server.shutdown()
        server.server_close()


def test_alert_rule_and_delivery_on_postgres(pg_url: str, tmp_path: Path, receiver: Any) -> None:
    url, seen, statuses = receiver
    settings = pg_settings(
        pg_url,
        tmp_path / "home",
        alert_delivery_attempts=2,
        alert_retry_seconds=0.01,
        fetch_allow=["127.0.0.1/32"],  # the loopback receiver
    )
    with Workspace.open(settings) as ws:
        with ws.db.session(SYSTEM) as s:
            acme, umbrella = create_org(s, name="acme").id, create_org(s, name="umbrella").id
        clock = FixedClock(T0)
        queue = JobQueue(ws.db, ws.clock)
        with ws.db.session(Scope.own(acme)) as s:
            rule = create_rule(
                s, check_rule(kind="index_crossing", threshold=0.5, min_items=3),
                org_id=acme, actor="test", clock=clock,
            )  # fmt: skip
            _, secret = create_channel(
                s, kind="webhook", target=url, name="hook", org_id=acme, actor="test",
                clock=clock, settings=settings,
            )  # fmt: skip
        items = [NewsItem(f"n{k}", T0 - timedelta(minutes=k), "w", "up", ()) for k in range(3)]
        analyses = {i.id: Analysis("Bullish", {"Bullish": 1.0}, None, None) for i in items}
        delivered: list[str] = []
        with ws.db.session(Scope.own(acme)) as s:
            result = ingest_items(
                s, acme, items, analyses, sentiment_version=1, clock=clock,
                on_alert=lambda session, alert_id, alert: delivered.extend(
                    queue_alert(session, queue, org_id=acme, alert_id=alert_id, alert=alert,
                                clock=clock)
                ),
            )  # fmt: skip
        assert [a.rule for a in result.alerts] == [rule.id]
        statuses.extend([500, 500])
        worker = Worker(ws, alert_handlers(), queue=queue)
        assert worker.run_once().error_code == "delivery_dead"
        with ws.db.session(Scope.own(acme)) as s:
            [dead] = list_deliveries(s, status="dead")
            redeliver(s, queue, dead.id, actor="test", clock=clock)
        assert worker.run_once().status == "succeeded"
        assert len(seen) == 3
        headers, body = seen[-1]
        verify_webhook(secret or "", body, headers["baryon-signature"])
        with ws.db.session(Scope.own(acme)) as s:
            assert get_delivery(s, delivered[0]).status == "delivered"
        with ws.db.session(Scope.own(umbrella)) as s:
            assert list_deliveries(s) == []
            with pytest.raises(NotFound):
                get_rule(s, rule.id)
