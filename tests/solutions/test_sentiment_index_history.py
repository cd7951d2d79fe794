"""index_history gives, window by window, what index_of gives for each window end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput
from baryon.core.ids import new_id
from baryon.core.scope import SYSTEM, Scope
from baryon.solutions.sentiment.service import index_history, index_of, known_tickers
from baryon.solutions.sentiment.tables import SentimentItemRow, SentimentItemTickerRow
from baryon.workspace import Workspace


def test_index_history_matches_index_of_at_every_window_end(workspace: Workspace) -> None:
    clock = FixedClock()
    now = clock.now()
    labels = ["Bullish", "Bearish", "Neutral", "Bullish", "Bullish"]
    with workspace.db.session(SYSTEM) as s:
        org = create_org(s, name="acme", plan="free", clock=clock).id
        other = create_org(s, name="globex", plan="free", clock=clock).id
        for i in range(60):  # every 17 minutes, some exactly on window edges (i = 0)
            pk = new_id("item")
            ticker = "AAA" if i % 3 else "BBB"
            s.add(
                SentimentItemRow(
                    id=pk,
                    org_id=other if i == 7 else org,
                    item_id=f"n{i}",
                    received_at=now,
                    published_at=now - timedelta(minutes=17 * i),
                    source="wire",
                    text="t",
                    tickers=[ticker],
                    label=labels[i % 5],
                    probabilities={},
                    sentiment_version=1,
                )
            )
            s.flush()
            s.add(SentimentItemTickerRow(item_pk=pk, ticker=ticker))
    with workspace.db.session(Scope.own(org)) as s:
        for ticker in (None, "AAA"):
            history = index_history(s, org, window="1h", ticker=ticker, end=now, points=20)
            expected = [
                index_of(s, org, window="1h", ticker=ticker, end=now - timedelta(hours=19 - i))
                for i in range(20)
            ]
            assert history == expected
        assert sum(p.n for p in history) > 0
        assert known_tickers(s, org) == [("AAA", 39), ("BBB", 20)]
        with pytest.raises(InvalidInput) as err:
            index_history(s, org, end=now, points=0)
        assert err.value.code == "invalid_points"
