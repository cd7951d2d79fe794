"""Mood index, confidence band and alert rules on hand-computed cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput
from baryon.solutions.sentiment.monitor import (
    BEARISH,
    BULLISH,
    NEUTRAL,
    IndexChange,
    IndexCrossing,
    Monitor,
    MoodIndex,
    ScoredItem,
    VolumeSpike,
    difference_interval,
    mood_index,
    parse_window,
)

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _items(
    labels: str,
    *,
    end: datetime = T0,
    step: float = 60.0,
    prefix: str = "i",
    tickers: tuple[str, ...] = (),
) -> list[ScoredItem]:
    """Items labelled by letters (b = bullish, r = bearish, n = neutral), the last at ``end``."""
    names = {"b": BULLISH, "r": BEARISH, "n": NEUTRAL}
    count = len(labels)
    return [
        ScoredItem(
            item_id=f"{prefix}{k}",
            published_at=end - timedelta(seconds=step * (count - 1 - k)),
            label=names[c],
            tickers=tickers,
        )
        for k, c in enumerate(labels)
    ]


# ------------------------------------------------------------------ confidence band
def test_difference_interval_six_bullish_two_bearish_of_ten_matches_hand_computation() -> None:
    # n~ = 12, p_b = 6.5/12, p_r = 2.5/12, d = 1/3,
    # var = (9/12 - 1/9) / 12 = 0.0532407..., se = 0.2307396..., z = 1.9599640
    low, high = difference_interval(6, 2, 10)
    assert low == pytest.approx(1 / 3 - 1.959964 * 0.2307396, abs=1e-5)
    assert high == pytest.approx(1 / 3 + 1.959964 * 0.2307396, abs=1e-5)


def test_difference_interval_no_bullish_no_bearish_of_three_is_symmetric() -> None:
    # n~ = 5, p_b = p_r = 0.1, d = 0, se = sqrt(0.2 / 5) = 0.2
    low, high = difference_interval(0, 0, 3)
    assert (low, high) == pytest.approx((-1.959964 * 0.2, 1.959964 * 0.2), abs=1e-5)


def test_difference_interval_all_bullish_is_clipped_at_one() -> None:
    # n~ = 7, p_b = 5.5/7, p_r = 0.5/7, d = 5/7, se = sqrt((6/7 - 25/49) / 7) = 0.2226...
    low, high = difference_interval(5, 0, 5)
    assert low == pytest.approx(5 / 7 - 1.959964 * 0.2226284, abs=1e-5)
    assert high == 1.0


def test_difference_interval_empty_window_is_whole_range() -> None:
    assert difference_interval(0, 0, 0) == (-1.0, 1.0)


def test_difference_interval_wider_at_higher_level() -> None:
    low95, high95 = difference_interval(6, 2, 10, level=0.95)
    low99, high99 = difference_interval(6, 2, 10, level=0.99)
    assert low99 < low95
    assert high99 > high95


@pytest.mark.parametrize(
    ("bullish", "bearish", "n", "level"),
    [(-1, 0, 3, 0.95), (3, 2, 4, 0.95), (1, 1, 3, 1.0), (1, 1, 3, 0.0)],
)
def test_difference_interval_bad_counts_or_level_raise(
    bullish: int, bearish: int, n: int, level: float
) -> None:
    with pytest.raises(InvalidInput):
        difference_interval(bullish, bearish, n, level=level)


# ------------------------------------------------------------------ mood index
def test_mood_index_counts_labels_in_half_open_window() -> None:
    items = _items("bbbrn")  # at T0-4m .. T0
    items.append(ScoredItem("edge", T0 - timedelta(hours=1), BEARISH))  # excluded: (start, end]
    items.append(ScoredItem("future", T0 + timedelta(seconds=1), BEARISH))  # after end
    idx = mood_index(items, end=T0, window="1h")
    assert (idx.n, idx.bullish, idx.bearish, idx.neutral) == (5, 3, 1, 1)
    assert idx.index == pytest.approx(0.4)
    assert (idx.low, idx.high) == difference_interval(3, 1, 5)
    assert idx.start == T0 - timedelta(hours=1)


def test_mood_index_ticker_scope_keeps_only_that_ticker() -> None:
    items = _items("bb", tickers=("AAPL",), prefix="a") + _items("rrr", prefix="x")
    idx = mood_index(items, end=T0, window="1d", ticker="AAPL")
    assert (idx.n, idx.index) == (2, 1.0)
    assert mood_index(items, end=T0, window="1d").index == pytest.approx(-1 / 5)


def test_mood_index_empty_window_has_no_index() -> None:
    idx = mood_index([], end=T0, window="1h")
    assert idx.n == 0
    assert idx.index is None
    assert (idx.low, idx.high) == (-1.0, 1.0)
    assert idx.to_dict()["band"] == {"low": -1.0, "high": 1.0, "level": 0.95}


@pytest.mark.parametrize("window", ["2h", "", "1H", "week"])
def test_parse_window_unknown_name_raises_unknown_window(window: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_window(window)
    assert info.value.code == "unknown_window"


def test_scored_item_unknown_label_or_naive_time_raises() -> None:
    with pytest.raises(InvalidInput):
        ScoredItem("a", T0, "Positive")
    with pytest.raises(InvalidInput):
        ScoredItem("a", datetime(2026, 1, 1), BULLISH)


# ------------------------------------------------------------------ rules
def test_index_crossing_above_threshold_fires_once_then_rearms() -> None:
    rule = IndexCrossing(threshold=0.3, window="1h", min_items=4)
    m = Monitor([rule], clock=FixedClock(T0))
    alerts = m.observe(_items("bbbn", prefix="a"))  # index 0.75
    assert [(a.kind, a.state, a.ticker) for a in alerts] == [("index_crossing", "above", None)]
    assert alerts[0].value == pytest.approx(0.75)
    assert alerts[0].item_ids == ("a2", "a1", "a0")  # the bullish items, newest first
    assert alerts[0].item_count == 3
    assert m.observe(_items("b", prefix="b")) == []  # still above: no new alert
    assert m.observe(_items("rrrr", prefix="c")) == []  # 4 b, 4 r, 1 n: quiet, re-armed
    again = m.observe(_items("bbbbbb", prefix="d"))
    assert [a.state for a in again] == ["above"]


def test_index_crossing_below_negative_threshold_names_bearish_items() -> None:
    m = Monitor([IndexCrossing(threshold=0.5, min_items=3)], clock=FixedClock(T0))
    alerts = m.observe(_items("rrrn"))  # index -0.75
    assert [a.state for a in alerts] == ["below"]
    assert set(alerts[0].item_ids) == {"i0", "i1", "i2"}
    assert "-0.5" in alerts[0].message


def test_index_crossing_too_few_items_stays_quiet() -> None:
    m = Monitor([IndexCrossing(threshold=0.3, min_items=10)], clock=FixedClock(T0))
    assert m.observe(_items("bbbbbbbbb")) == []  # nine items


def test_index_crossing_per_ticker_scope_fires_for_that_ticker() -> None:
    m = Monitor([IndexCrossing(threshold=0.3, min_items=3)], clock=FixedClock(T0))
    items = _items("bbb", tickers=("TSLA",), prefix="t") + _items("rrrrrr", prefix="x")
    alerts = m.observe(items)  # all items: index -1/3 -> below; TSLA: +1 -> above
    assert sorted((a.ticker or "*", a.state) for a in alerts) == [("*", "below"), ("TSLA", "above")]


def test_index_change_between_adjacent_windows_fires_up() -> None:
    rule = IndexChange(delta=0.4, window="1h", min_items=4)
    previous = _items("brnn", end=T0 - timedelta(hours=1), prefix="p")  # index 0
    current = _items("bbbn", prefix="c")  # index 0.75: change +0.75
    m = Monitor([rule], clock=FixedClock(T0))
    alerts = m.observe(previous + current)
    assert [(a.kind, a.state) for a in alerts] == [("index_change", "up")]
    assert alerts[0].value == pytest.approx(0.75)
    assert alerts[0].item_ids == ("c2", "c1", "c0")


def test_index_change_small_move_stays_quiet() -> None:
    rule = IndexChange(delta=0.4, window="1h", min_items=4)
    previous = _items("bnnn", end=T0 - timedelta(hours=1), prefix="p")  # 0.25
    current = _items("bbnn", prefix="c")  # 0.5: change 0.25
    assert Monitor([rule], clock=FixedClock(T0)).observe(previous + current) == []


def test_volume_spike_above_factor_times_baseline_fires() -> None:
    rule = VolumeSpike(factor=3.0, window="1h", baseline_windows=3, min_items=5)
    base = [
        item
        for k in (1, 2, 3)
        for item in _items("nn", end=T0 - timedelta(hours=k), prefix=f"h{k}-")
    ]  # mean 2 per window
    burst = _items("nnnnnnn", prefix="s")  # 7 > 3 x 2
    watched = T0 - timedelta(hours=4)  # the four windows were observed
    alerts = Monitor([rule], clock=FixedClock(T0), since=watched).observe(base + burst)
    assert [(a.kind, a.state, a.value) for a in alerts] == [("volume_spike", "spike", 7.0)]
    assert alerts[0].item_count == 7


def test_volume_spike_before_baseline_was_observed_stays_quiet() -> None:
    # Monitoring starts with the burst: an empty past is not a low baseline.
    rule = VolumeSpike(factor=3.0, window="1h", baseline_windows=3, min_items=5)
    monitor = Monitor([rule], clock=FixedClock(T0))
    assert monitor.observe(_items("nnnnnnnnnn")) == []
    assert monitor.since == T0 - timedelta(minutes=9)


def test_volume_spike_at_factor_times_baseline_stays_quiet() -> None:
    rule = VolumeSpike(factor=3.0, window="1h", baseline_windows=3, min_items=5)
    base = [
        item
        for k in (1, 2, 3)
        for item in _items("nn", end=T0 - timedelta(hours=k), prefix=f"h{k}-")
    ]
    monitor = Monitor([rule], clock=FixedClock(T0), since=T0 - timedelta(hours=4))
    assert monitor.observe(base + _items("nnnnnn")) == []  # 6 = 3 x 2, not more


@pytest.mark.parametrize(
    "make",
    [
        lambda: IndexCrossing(threshold=1.5),
        lambda: IndexCrossing(window="5m"),
        lambda: IndexChange(delta=0.0),
        lambda: VolumeSpike(factor=1.0),
        lambda: VolumeSpike(baseline_windows=0),
        lambda: IndexCrossing(min_items=0),
    ],
)
def test_rule_bad_parameters_raise(make: object) -> None:
    with pytest.raises(InvalidInput):
        make()  # type: ignore[operator]


# ------------------------------------------------------------------ monitor
def test_monitor_duplicate_item_id_is_counted_once() -> None:
    m = Monitor(clock=FixedClock(T0))
    assert len(m.add(_items("bb"))) == 2
    assert m.add(_items("rr")) == []  # same ids i0, i1
    assert m.index().n == 2
    assert m.index().index == 1.0


def test_monitor_index_follows_injected_clock() -> None:
    clock = FixedClock(T0)
    m = Monitor(clock=clock)
    m.add(_items("bbr"))
    assert m.index(window="1h").n == 3
    clock.advance(3600)  # every item is now older than one hour
    assert m.index(window="1h").n == 0
    assert m.index(window="1d").n == 3


def test_monitor_alert_fired_at_is_clock_time() -> None:
    clock = FixedClock(T0 + timedelta(minutes=5))
    m = Monitor([IndexCrossing(min_items=2)], clock=clock)
    (alert,) = m.observe(_items("bb"))
    assert alert.fired_at == T0 + timedelta(minutes=5)


def test_monitor_restored_state_does_not_fire_again() -> None:
    rule = IndexCrossing(min_items=2)
    first = Monitor([rule], clock=FixedClock(T0))
    assert len(first.observe(_items("bb"))) == 1
    second = Monitor([rule], clock=FixedClock(T0), state=first.state)
    assert second.observe(_items("bbb", prefix="z")) == []
    assert first.state == {"index_crossing:1h:0.3|*": "above"}


def test_monitor_prune_forgets_items_beyond_horizon() -> None:
    clock = FixedClock(T0)
    m = Monitor([IndexCrossing(window="1h")], clock=clock)
    m.add(_items("bb", end=T0 - timedelta(hours=2), prefix="old") + _items("b", prefix="new"))
    assert m.prune() == 2
    assert len(m) == 1
    assert "new0" in m
    assert "old0" not in m


def test_mood_index_from_counts_known_answer_and_empty_window() -> None:
    end = datetime(2026, 1, 1, 12, tzinfo=UTC)
    start = end - timedelta(hours=1)
    idx = MoodIndex.from_counts(
        ticker="AAPL", window="1h", start=start, end=end, n=10, bullish=6, bearish=2
    )
    assert (idx.n, idx.neutral, idx.index) == (10, 2, pytest.approx(0.4))
    assert (idx.low, idx.high) == difference_interval(6, 2, 10, level=0.95)
    empty = MoodIndex.from_counts(
        ticker=None, window="1h", start=start, end=end, n=0, bullish=0, bearish=0, level=0.9
    )
    assert (empty.index, empty.neutral, empty.level) == (None, 0, 0.9)
