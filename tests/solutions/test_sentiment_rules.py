"""An organization's alert rules: checks, storage, firing from monitor items, history test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from baryon.commerce.orgs import create_org
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.scope import SYSTEM, Scope
from baryon.solutions.sentiment.rules import (
    backtest_rule,
    check_rule,
    create_rule,
    get_rule,
    list_rules,
    monitor_rules,
    remove_rule,
    set_rule_enabled,
)
from baryon.solutions.sentiment.service import Analysis, NewsItem, ingest_items
from baryon.workspace import Workspace

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LABEL = {"up": "Bullish", "down": "Bearish", "flat": "Neutral"}


@pytest.fixture
def orgs(workspace: Workspace) -> tuple[str, str]:
    with workspace.db.session(SYSTEM) as s:
        return create_org(s, name="acme").id, create_org(s, name="umbrella").id


def _items(n: int, mood: str, *, start: int = 0, at: datetime = T0, tickers=()) -> list[NewsItem]:
    """``n`` items one minute apart ending at ``at``, ids ``{mood}{start..}``."""
    return [
        NewsItem(f"{mood}{start + k}", at - timedelta(minutes=n - 1 - k), "wire", mood, tickers)
        for k in range(n)
    ]


def _ingest(ws: Workspace, org: str, items: list[NewsItem], now: datetime) -> list[Any]:
    analyses = {i.id: Analysis(LABEL[i.text], {LABEL[i.text]: 1.0}, None, None) for i in items}
    with ws.db.session(Scope.own(org)) as s:
        result = ingest_items(s, org, items, analyses, sentiment_version=1, clock=FixedClock(now))
    return result.alerts


def _add(ws: Workspace, org: str, **fields: Any) -> str:
    spec = check_rule(**fields)
    with ws.db.session(Scope.own(org)) as s:
        return create_rule(s, spec, org_id=org, actor="test", clock=FixedClock(T0)).id


# ------------------------------------------------------------------ checks
@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"kind": "price_jump", "threshold": 0.3}, "unknown_rule_kind"),
        ({"kind": "index_crossing", "threshold": 1.0}, "invalid_rule"),
        ({"kind": "index_crossing", "threshold": "0.3"}, "invalid_rule"),
        ({"kind": "index_crossing", "threshold": float("nan")}, "invalid_rule"),
        ({"kind": "index_crossing", "threshold": 0.3, "direction": "up"}, "invalid_rule"),
        ({"kind": "index_change", "threshold": 2.0}, "invalid_rule"),
        ({"kind": "volume_spike", "threshold": 1.0}, "invalid_rule"),
        ({"kind": "volume_spike", "threshold": 3, "baseline_windows": 0}, "invalid_rule"),
        ({"kind": "index_change", "threshold": 0.3, "baseline_windows": 3}, "invalid_rule"),
        ({"kind": "index_crossing", "threshold": 0.3, "min_items": 0}, "invalid_rule"),
        ({"kind": "index_crossing", "threshold": 0.3, "window": "1w"}, "unknown_window"),
        ({"kind": "index_crossing", "threshold": 0.3, "ticker": "not one"}, "invalid_ticker"),
        ({"kind": "index_crossing", "threshold": 0.3, "name": "a b"}, "invalid_rule_name"),
    ],
)
def test_check_rule_bad_field_raises_named_code(fields: dict[str, Any], code: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_rule(**fields)
    assert info.value.code == code


def test_check_rule_default_name_and_normalised_ticker() -> None:
    spec = check_rule(kind="index_crossing", threshold=0.4, ticker="$aapl", direction="above")
    assert (spec.name, spec.ticker) == ("index_crossing-1h-AAPL-0.4-above", "AAPL")


# ------------------------------------------------------------------ storage
def test_rules_crud_is_per_organization(workspace: Workspace, orgs: tuple[str, str]) -> None:
    acme, umbrella = orgs
    rule_id = _add(workspace, acme, kind="index_crossing", threshold=0.5, name="hot")
    with pytest.raises(Conflict) as info:
        _add(workspace, acme, kind="index_change", threshold=0.5, name="hot")
    assert info.value.code == "rule_exists"
    assert _add(workspace, umbrella, kind="index_change", threshold=0.5, name="hot") != rule_id
    clock = FixedClock(T0)
    with workspace.db.session(Scope.own(umbrella)) as s:
        for ref in (rule_id, "nope"):
            with pytest.raises(NotFound) as missing:
                get_rule(s, ref)
            assert missing.value.code == "rule_not_found"
        with pytest.raises(NotFound):
            set_rule_enabled(s, rule_id, False, actor="test", clock=clock)
        with pytest.raises(NotFound):
            remove_rule(s, rule_id, actor="test", clock=clock)
        assert [r.kind for r in list_rules(s)] == ["index_change"]
    with workspace.db.session(Scope.own(acme)) as s:
        assert set_rule_enabled(s, "hot", False, actor="test", clock=clock).enabled is False
        assert monitor_rules(s, acme) == []
        assert remove_rule(s, rule_id, actor="test", clock=clock).name == "hot"
        assert monitor_rules(s, acme) is None  # no rule of its own: the defaults


# ------------------------------------------------------------------ firing
def test_index_crossing_at_threshold_is_quiet_above_fires(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, _ = orgs
    rule_id = _add(
        workspace, acme, kind="index_crossing", threshold=0.5, min_items=4, direction="above"
    )
    # 3 up, 1 flat: index (3 - 0) / 4 = 0.75 > 0.5 ... first 2 up + 2 flat = exactly 0.5
    at_edge = _items(2, "up", at=T0 - timedelta(minutes=2)) + _items(
        2, "flat", at=T0 - timedelta(minutes=1)
    )
    assert _ingest(workspace, acme, at_edge, T0) == []
    fired = _ingest(workspace, acme, _items(2, "up", start=10), T0 + timedelta(minutes=1))
    assert [(a.rule, a.state, a.value) for a in fired] == [(rule_id, "above", pytest.approx(4 / 6))]


def test_index_crossing_direction_above_ignores_below(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, _ = orgs
    _add(workspace, acme, kind="index_crossing", threshold=0.3, min_items=3, direction="above")
    assert _ingest(workspace, acme, _items(4, "down"), T0) == []


def test_ticker_rule_watches_its_ticker_only(workspace: Workspace, orgs: tuple[str, str]) -> None:
    acme, _ = orgs
    _add(workspace, acme, kind="index_crossing", threshold=0.3, min_items=3, ticker="AAPL")
    assert _ingest(workspace, acme, _items(4, "down", tickers=("MSFT",)), T0) == []
    fired = _ingest(workspace, acme, _items(3, "down", start=20, tickers=("AAPL",)), T0)
    assert [(a.ticker, a.state) for a in fired] == [("AAPL", "below")]


def test_index_change_fires_when_the_index_moves_past_delta(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, _ = orgs
    _add(workspace, acme, kind="index_change", threshold=1.0, min_items=2, direction="down")
    before = T0 - timedelta(hours=1)
    assert _ingest(workspace, acme, _items(2, "up", at=before), before) == []
    # previous hour +1, this hour: 1 up 1 down = 0: change -1.0, exactly delta: quiet
    edge = _items(1, "up", start=5) + _items(1, "down", start=5)
    assert _ingest(workspace, acme, edge, T0) == []
    fired = _ingest(workspace, acme, _items(2, "down", start=9), T0)
    assert [(a.kind, a.state) for a in fired] == [("index_change", "down")]


def test_volume_spike_fires_over_factor_times_baseline(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, _ = orgs
    _add(workspace, acme, kind="volume_spike", threshold=2.0, min_items=2, baseline_windows=2)
    for hours in (3, 2, 1):  # 2 items in each of three earlier hours
        at = T0 - timedelta(hours=hours)
        assert _ingest(workspace, acme, _items(2, "flat", start=10 * hours, at=at), at) == []
    assert _ingest(workspace, acme, _items(4, "flat", start=100), T0) == []  # 4 = 2 x 2: quiet
    fired = _ingest(workspace, acme, _items(1, "flat", start=200), T0)
    assert [(a.kind, a.state, a.value) for a in fired] == [("volume_spike", "spike", 5.0)]


def test_default_rules_apply_until_the_org_makes_one(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, umbrella = orgs
    assert [a.kind for a in _ingest(workspace, acme, _items(10, "up"), T0)] == ["index_crossing"]
    _add(workspace, umbrella, kind="index_crossing", threshold=0.9, min_items=20)
    assert _ingest(workspace, umbrella, _items(10, "up"), T0) == []


# ------------------------------------------------------------------ history
def test_backtest_rule_answers_when_it_would_have_fired(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, umbrella = orgs
    rule_id = _add(workspace, umbrella, kind="index_crossing", threshold=0.5, min_items=3)
    morning, noon = T0 - timedelta(hours=3), T0
    items = _items(3, "up", at=morning) + _items(3, "down", start=50, at=noon)
    _ingest(workspace, acme, items, T0)
    spec = check_rule(kind="index_crossing", threshold=0.5, min_items=3)
    with workspace.db.session(Scope.own(acme)) as s:
        fired = backtest_rule(s, spec, start=T0 - timedelta(days=1), end=T0)
        with pytest.raises(NotFound):  # another organization's rule
            backtest_rule(s, rule_id, start=T0 - timedelta(days=1), end=T0)
        with pytest.raises(InvalidInput) as info:
            backtest_rule(s, spec, start=T0, end=T0)
    assert info.value.code == "invalid_range"
    assert [(a.state, a.fired_at) for a in fired] == [("above", morning), ("below", noon)]
    with workspace.db.session(Scope.own(umbrella)) as s:  # its own rule, none of acme's items
        assert backtest_rule(s, rule_id, start=T0 - timedelta(days=1), end=T0) == []


def test_remove_rule_forgets_its_states_so_a_new_rule_starts_quiet(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    from sqlalchemy import select

    from baryon.solutions.sentiment.tables import SentimentRuleStateRow

    acme, _ = orgs
    rule_id = _add(workspace, acme, kind="index_crossing", threshold=0.3, min_items=3, name="r")
    keep = _add(workspace, acme, kind="volume_spike", threshold=2, min_items=3, name="v")
    assert len(_ingest(workspace, acme, _items(3, "up"), T0)) == 1
    with workspace.db.session(Scope.own(acme)) as s:
        remove_rule(s, rule_id, actor="test", clock=FixedClock(T0))
    with workspace.db.session(Scope.own(acme)) as s:
        keys = s.scalars(select(SentimentRuleStateRow.key)).all()
    assert keys
    assert all(k.startswith(f"{keep}|") for k in keys)


def test_backtest_rule_from_year_one_is_no_overflow(
    workspace: Workspace, orgs: tuple[str, str]
) -> None:
    acme, _ = orgs
    spec = check_rule(kind="volume_spike", threshold=2, min_items=1)
    start = datetime(1, 1, 1, tzinfo=UTC)
    with workspace.db.session(Scope.own(acme)) as s:
        assert backtest_rule(s, spec, start=start, end=T0) == []
