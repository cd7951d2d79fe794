"""The sentiment monitor: a rolling mood index and the alert rules over it.

Pure code: no database, no model, no I/O. Items arrive already scored
(:class:`ScoredItem`); the :class:`Monitor` keeps them, answers the mood index of
any window, and evaluates its rules when new items arrive. Time comes from an
injectable :class:`~baryon.core.clock.Clock`, so replays and tests decide what
"now" is.

Mood index
----------
For the items of one scope (all items, or those mentioning one ticker) published in
the window ``(end - w, end]``, with ``b`` bullish, ``r`` bearish and ``n`` items in
all, the index is ``(b - r) / n`` in ``[-1, 1]``.

Its confidence band is the adjusted Wald interval for a difference of two
proportions estimated from **one** multinomial sample: the bullish and bearish
shares are the two discordant cells of a paired 2x2 table, whose marginal
difference is exactly ``(n12 - n21) / n``. Following Agresti & Min (2005), "Simple
improved confidence intervals for comparing matched proportions", *Statistics in
Medicine* 24(5):729-740, add 0.5 to each of the four cells (so ``b + 0.5``,
``r + 0.5``, ``n + 2``) and use the Wald form::

    p_b = (b + 0.5) / (n + 2),  p_r = (r + 0.5) / (n + 2),  d = p_b - p_r
    se  = sqrt((p_b + p_r - d**2) / (n + 2))
    band = clip(d -/+ z * se, -1, 1),  z = Phi^-1(1/2 + level/2)  (1.96 for 95 %)

The variance ``(p_b + p_r - (p_b - p_r)**2) / n`` is that of a difference of two
multinomial proportions (Agresti, *Categorical Data Analysis*, 3rd ed., 2013,
section 11.1.1). The adjustment keeps the band sensible for small ``n`` and for
windows that are all one label; with ``n = 0`` the index is undefined (``None``)
and the band is the whole range ``[-1, 1]``.

Rules
-----
Each rule maps the items of one scope at time ``end`` to a *state*: a quiet state
or an active one (``above``/``below``, ``up``/``down``, ``spike``). An alert fires
when a scope's state becomes active or changes from one active state to another,
compared with the last time that scope was evaluated; returning to quiet re-arms
the rule. Scopes whose windows hold fewer than ``min_items`` items are quiet.

- :class:`IndexCrossing`: the index crosses ``+threshold`` or ``-threshold``.
- :class:`IndexChange`: the index moved by more than ``delta`` from the previous
  window ``(end - 2w, end - w]`` to the current one.
- :class:`VolumeSpike`: the current window holds more than ``factor`` times the
  mean count of the ``baseline_windows`` windows before it.

:func:`default_rules` watch every scope (all items and each ticker). A
:class:`ScopedRule` (an organization's own rule) watches one scope and may listen to
one direction only (``above`` but not ``below``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import NormalDist
from typing import Any, Protocol

from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput

__all__ = [
    "BEARISH",
    "BULLISH",
    "DIRECTIONS",
    "NEUTRAL",
    "WINDOWS",
    "Alert",
    "IndexChange",
    "IndexCrossing",
    "Monitor",
    "MoodIndex",
    "Rule",
    "RuleState",
    "ScopedRule",
    "ScoredItem",
    "VolumeSpike",
    "default_rules",
    "difference_interval",
    "mood_index",
    "parse_window",
]

BEARISH, BULLISH, NEUTRAL = "Bearish", "Bullish", "Neutral"
SENTIMENT_LABELS = (BEARISH, BULLISH, NEUTRAL)

#: Window names accepted by the index and the rules, and their lengths.
WINDOWS: dict[str, timedelta] = {"1h": timedelta(hours=1), "1d": timedelta(days=1)}

QUIET = "quiet"
#: Most item ids kept on one alert (the alert also records how many there were).
MAX_ALERT_ITEMS = 200


def parse_window(window: str) -> timedelta:
    """Return the length of a named window (``"1h"`` or ``"1d"``).

    Raises
    ------
    InvalidInput
        Code ``unknown_window`` for any other name.
    """
    try:
        return WINDOWS[window]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"unknown window {window!r}; use one of {', '.join(WINDOWS)}",
            code="unknown_window",
            details={"window": window, "allowed": list(WINDOWS)},
        ) from None


@dataclass(frozen=True)
class ScoredItem:
    """One news item with its sentiment label.

    Attributes
    ----------
    item_id : str
        The publisher's id; an id is counted once.
    published_at : datetime
        Timezone-aware publication time (the monitor's event time).
    label : str
        ``"Bearish"``, ``"Bullish"`` or ``"Neutral"``.
    tickers : tuple of str
        Upper-case tickers the item is about (no ``$``).
    topic : str or None
        Topic label, if scored.
    """

    item_id: str
    published_at: datetime
    label: str
    tickers: tuple[str, ...] = ()
    topic: str | None = None

    def __post_init__(self) -> None:
        if self.label not in SENTIMENT_LABELS:
            raise InvalidInput(f"unknown sentiment label {self.label!r}", code="invalid_label")
        if self.published_at.tzinfo is None:
            raise InvalidInput("published_at must carry a timezone", code="naive_datetime")

    def in_scope(self, ticker: str | None) -> bool:
        """Return whether the item counts for ``ticker`` (``None`` = every item)."""
        return ticker is None or ticker in self.tickers


def difference_interval(
    bullish: int, bearish: int, n: int, *, level: float = 0.95
) -> tuple[float, float]:
    """Confidence band of ``(bullish - bearish) / n`` (adjusted Wald, Agresti & Min 2005).

    Parameters
    ----------
    bullish, bearish : int
        Counts of bullish and bearish items; ``bullish + bearish <= n``.
    n : int
        Number of items in the window (``>= 0``).
    level : float
        Confidence level in ``(0, 1)``, default 0.95.

    Returns
    -------
    tuple of float
        ``(low, high)`` clipped to ``[-1, 1]``; ``(-1.0, 1.0)`` when ``n == 0``.

    Raises
    ------
    InvalidInput
        Negative counts, counts above ``n``, or a level outside ``(0, 1)``.
    """
    if min(bullish, bearish, n) < 0 or bullish + bearish > n:
        raise InvalidInput(
            f"counts do not add up: bullish={bullish}, bearish={bearish}, n={n}",
            code="invalid_counts",
        )
    if not 0.0 < level < 1.0:
        raise InvalidInput(f"level must be in (0, 1), got {level}", code="invalid_level")
    if n == 0:
        return (-1.0, 1.0)
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    total = n + 2.0
    p_b, p_r = (bullish + 0.5) / total, (bearish + 0.5) / total
    diff = p_b - p_r
    se = math.sqrt(max(p_b + p_r - diff * diff, 0.0) / total)
    return (max(-1.0, diff - z * se), min(1.0, diff + z * se))


@dataclass(frozen=True)
class MoodIndex:
    """The mood index of one scope over one window (see the module docstring).

    Attributes
    ----------
    index : float or None
        ``(bullish - bearish) / n``; ``None`` when ``n == 0``.
    low, high : float
        Confidence band at ``level``.
    start, end : datetime
        The window ``(start, end]``.
    """

    ticker: str | None
    window: str
    start: datetime
    end: datetime
    n: int
    bullish: int
    bearish: int
    neutral: int
    index: float | None
    low: float
    high: float
    level: float = 0.95

    @classmethod
    def from_counts(
        cls,
        *,
        ticker: str | None,
        window: str,
        start: datetime,
        end: datetime,
        n: int,
        bullish: int,
        bearish: int,
        level: float = 0.95,
    ) -> MoodIndex:
        """Build the index of a window from its label counts.

        Parameters
        ----------
        ticker : str or None
        window : str
        start, end : datetime
            The window ``(start, end]``.
        n : int
            Items in the window (all labels).
        bullish, bearish : int
            Of which labelled ``Bullish`` / ``Bearish``; the rest are neutral.
        level : float
            Confidence level of the band (:func:`difference_interval`).
        """
        low, high = difference_interval(bullish, bearish, n, level=level)
        return cls(
            ticker=ticker,
            window=window,
            start=start,
            end=end,
            n=n,
            bullish=bullish,
            bearish=bearish,
            neutral=n - bullish - bearish,
            index=None if n == 0 else (bullish - bearish) / n,
            low=low,
            high=high,
            level=level,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (datetimes as ISO 8601 strings)."""
        return {
            "ticker": self.ticker,
            "window": self.window,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n": self.n,
            "bullish": self.bullish,
            "bearish": self.bearish,
            "neutral": self.neutral,
            "index": self.index,
            "band": {"low": self.low, "high": self.high, "level": self.level},
        }


def _in_window(
    items: Iterable[ScoredItem], start: datetime, end: datetime, ticker: str | None
) -> list[ScoredItem]:
    return [i for i in items if start < i.published_at <= end and i.in_scope(ticker)]


def mood_index(
    items: Iterable[ScoredItem],
    *,
    end: datetime,
    window: str = "1h",
    ticker: str | None = None,
    level: float = 0.95,
) -> MoodIndex:
    """Compute the mood index of ``items`` over the window ending at ``end``.

    Parameters
    ----------
    items : iterable of ScoredItem
        Candidate items; only those in ``(end - window, end]`` and in scope count.
    end : datetime
        Timezone-aware end of the window (inclusive).
    window : str
        ``"1h"`` or ``"1d"``.
    ticker : str, optional
        Restrict to items mentioning this ticker (upper case, no ``$``).
    level : float
        Confidence level of the band.

    Returns
    -------
    MoodIndex

    Raises
    ------
    InvalidInput
        Unknown window (``unknown_window``).
    """
    start = end - parse_window(window)
    chosen = _in_window(items, start, end, ticker)
    bullish = sum(1 for i in chosen if i.label == BULLISH)
    bearish = sum(1 for i in chosen if i.label == BEARISH)
    return MoodIndex.from_counts(
        ticker=ticker,
        window=window,
        start=start,
        end=end,
        n=len(chosen),
        bullish=bullish,
        bearish=bearish,
        level=level,
    )


@dataclass(frozen=True)
class RuleState:
    """What a rule sees in one scope at one time.

    Attributes
    ----------
    state : str
        ``"quiet"`` or an active state (``above``, ``below``, ``up``, ``down``, ``spike``).
    value : float or None
        The measured quantity (index, change of index, item count).
    items : tuple of ScoredItem
        The items that drive an active state (empty when quiet).
    """

    state: str
    value: float | None
    items: tuple[ScoredItem, ...] = ()


class Rule(Protocol):
    """An alert rule: a pure function from items at time ``end`` to a :class:`RuleState`."""

    @property
    def kind(self) -> str:
        """The rule family, e.g. ``"index_crossing"``."""
        ...

    @property
    def window(self) -> str:
        """Window name, ``"1h"`` or ``"1d"``."""
        ...

    @property
    def name(self) -> str:
        """Stable identifier of the rule and its parameters."""
        ...

    @property
    def horizon(self) -> timedelta:
        """How far back the rule looks from ``end``."""
        ...

    @property
    def threshold(self) -> float:
        """The rule's threshold (reported on its alerts)."""
        ...

    def assess(
        self,
        items: Sequence[ScoredItem],
        *,
        end: datetime,
        ticker: str | None,
        since: datetime | None = None,
    ) -> RuleState:
        """Return the state of scope ``ticker`` at ``end``.

        ``since`` is when observation started (None: unknown); a rule that compares
        with the past stays quiet while that past was not observed.
        """
        ...


def _validate_common(window: str, min_items: int) -> None:
    parse_window(window)
    if min_items < 1:
        raise InvalidInput(f"min_items must be >= 1, got {min_items}", code="invalid_rule")


def _directional(items: Sequence[ScoredItem], label: str) -> tuple[ScoredItem, ...]:
    return tuple(i for i in items if i.label == label)


@dataclass(frozen=True)
class IndexCrossing:
    """Fires when the mood index goes above ``+threshold`` or below ``-threshold``.

    Parameters
    ----------
    threshold : float
        In ``(0, 1)``.
    window : str
        ``"1h"`` or ``"1d"``.
    min_items : int
        Fewer items in the window means quiet.
    """

    threshold: float = 0.3
    window: str = "1h"
    min_items: int = 10
    kind: str = field(default="index_crossing", init=False)

    def __post_init__(self) -> None:
        _validate_common(self.window, self.min_items)
        if not 0.0 < self.threshold < 1.0:
            raise InvalidInput("threshold must be in (0, 1)", code="invalid_rule")

    @property
    def name(self) -> str:
        """E.g. ``"index_crossing:1h:0.3"``."""
        return f"{self.kind}:{self.window}:{self.threshold:g}"

    @property
    def horizon(self) -> timedelta:
        """One window."""
        return parse_window(self.window)

    def assess(
        self,
        items: Sequence[ScoredItem],
        *,
        end: datetime,
        ticker: str | None,
        since: datetime | None = None,
    ) -> RuleState:
        """State ``above``/``below`` (items: the bullish/bearish ones) or quiet."""
        start = end - self.horizon
        chosen = _in_window(items, start, end, ticker)
        idx = mood_index(chosen, end=end, window=self.window, ticker=ticker)
        if idx.n < self.min_items or idx.index is None:
            return RuleState(QUIET, idx.index)
        if idx.index > self.threshold:
            return RuleState("above", idx.index, _directional(chosen, BULLISH))
        if idx.index < -self.threshold:
            return RuleState("below", idx.index, _directional(chosen, BEARISH))
        return RuleState(QUIET, idx.index)


@dataclass(frozen=True)
class IndexChange:
    """Fires when the index changes by more than ``delta`` from one window to the next.

    Parameters
    ----------
    delta : float
        In ``(0, 2)``; the index spans ``[-1, 1]``.
    window : str
        ``"1h"`` or ``"1d"``: compares ``(end-2w, end-w]`` with ``(end-w, end]``.
    min_items : int
        Both windows need at least this many items.
    """

    delta: float = 0.3
    window: str = "1h"
    min_items: int = 10
    kind: str = field(default="index_change", init=False)

    def __post_init__(self) -> None:
        _validate_common(self.window, self.min_items)
        if not 0.0 < self.delta < 2.0:
            raise InvalidInput("delta must be in (0, 2)", code="invalid_rule")

    @property
    def name(self) -> str:
        """E.g. ``"index_change:1h:0.3"``."""
        return f"{self.kind}:{self.window}:{self.delta:g}"

    @property
    def threshold(self) -> float:
        """The ``delta``."""
        return self.delta

    @property
    def horizon(self) -> timedelta:
        """Two windows."""
        return 2 * parse_window(self.window)

    def assess(
        self,
        items: Sequence[ScoredItem],
        *,
        end: datetime,
        ticker: str | None,
        since: datetime | None = None,
    ) -> RuleState:
        """State ``up``/``down`` (items: current window's bullish/bearish ones) or quiet."""
        width = parse_window(self.window)
        current = mood_index(items, end=end, window=self.window, ticker=ticker)
        previous = mood_index(items, end=end - width, window=self.window, ticker=ticker)
        if (
            current.index is None
            or previous.index is None
            or min(current.n, previous.n) < self.min_items
        ):
            return RuleState(QUIET, None)
        change = current.index - previous.index
        chosen = _in_window(items, end - width, end, ticker)
        if change > self.delta:
            return RuleState("up", change, _directional(chosen, BULLISH))
        if change < -self.delta:
            return RuleState("down", change, _directional(chosen, BEARISH))
        return RuleState(QUIET, change)


@dataclass(frozen=True)
class VolumeSpike:
    """Fires when a window holds more than ``factor`` times the recent mean count.

    Parameters
    ----------
    factor : float
        Greater than 1.
    window : str
        ``"1h"`` or ``"1d"``.
    baseline_windows : int
        Number of windows before the current one whose mean count is the baseline.
    min_items : int
        The current window needs at least this many items.

    Notes
    -----
    The rule needs the baseline to have been observed: the monitor passes the time
    observation started (its first item), and until ``baseline_windows + 1`` windows
    have passed since then the rule stays quiet.
    """

    factor: float = 3.0
    window: str = "1h"
    baseline_windows: int = 6
    min_items: int = 10
    kind: str = field(default="volume_spike", init=False)

    def __post_init__(self) -> None:
        _validate_common(self.window, self.min_items)
        if self.factor <= 1.0:
            raise InvalidInput("factor must be > 1", code="invalid_rule")
        if self.baseline_windows < 1:
            raise InvalidInput("baseline_windows must be >= 1", code="invalid_rule")

    @property
    def name(self) -> str:
        """E.g. ``"volume_spike:1h:3"``."""
        return f"{self.kind}:{self.window}:{self.factor:g}"

    @property
    def threshold(self) -> float:
        """The ``factor``."""
        return self.factor

    @property
    def horizon(self) -> timedelta:
        """``baseline_windows + 1`` windows."""
        return (self.baseline_windows + 1) * parse_window(self.window)

    def assess(
        self,
        items: Sequence[ScoredItem],
        *,
        end: datetime,
        ticker: str | None,
        since: datetime | None = None,
    ) -> RuleState:
        """State ``spike`` (items: the current window's) or quiet; value is the count.

        Quiet while the baseline windows were not all observed (``since`` later than
        their start): an empty baseline at the start of monitoring is not a spike.
        """
        width = parse_window(self.window)
        current = _in_window(items, end - width, end, ticker)
        if since is not None and since > end - self.horizon:
            return RuleState(QUIET, float(len(current)))
        counts = [
            len(_in_window(items, end - (k + 1) * width, end - k * width, ticker))
            for k in range(1, self.baseline_windows + 1)
        ]
        baseline = sum(counts) / len(counts)
        if len(current) >= self.min_items and len(current) > self.factor * baseline:
            return RuleState("spike", float(len(current)), tuple(current))
        return RuleState(QUIET, float(len(current)))


#: Active states each rule kind can enter (what a :class:`ScopedRule` may listen to).
DIRECTIONS: dict[str, tuple[str, ...]] = {
    "index_crossing": ("above", "below"),
    "index_change": ("up", "down"),
    "volume_spike": ("spike",),
}


@dataclass(frozen=True)
class ScopedRule:
    """A rule under a stored name, limited to one scope and some of its directions.

    An organization's own alert rules (:mod:`baryon.solutions.sentiment.rules`) are
    these: ``name`` is the rule's id, so its alerts and its remembered state belong
    to it alone.

    Parameters
    ----------
    rule : Rule
        The measure (:class:`IndexCrossing`, :class:`IndexChange`, :class:`VolumeSpike`).
    name : str
        Stable identifier (the stored rule's id).
    ticker : str or None
        The one scope it watches: that ticker's items, or every item (``None``).
    directions : tuple of str
        The active states that fire (the others count as quiet), e.g. ``("above",)``;
        empty means all of :data:`DIRECTIONS` of the rule's kind.
    """

    rule: Rule
    name: str
    ticker: str | None = None
    directions: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """The measure's kind."""
        return self.rule.kind

    @property
    def window(self) -> str:
        """The measure's window."""
        return self.rule.window

    @property
    def horizon(self) -> timedelta:
        """The measure's horizon."""
        return self.rule.horizon

    @property
    def threshold(self) -> float:
        """The measure's threshold."""
        return self.rule.threshold

    def scopes(self, offered: Iterable[str | None]) -> list[str | None]:
        """The scopes of ``offered`` this rule watches (its ticker's, or all items')."""
        return [s for s in offered if s == self.ticker]

    def assess(
        self,
        items: Sequence[ScoredItem],
        *,
        end: datetime,
        ticker: str | None,
        since: datetime | None = None,
    ) -> RuleState:
        """The measure's state, quiet when it is a direction this rule ignores."""
        result = self.rule.assess(items, end=end, ticker=ticker, since=since)
        if result.state != QUIET and self.directions and result.state not in self.directions:
            return RuleState(QUIET, result.value)
        return result


def default_rules() -> tuple[Rule, ...]:
    """The rules the service and ``baryon sentiment replay`` use unless told otherwise.

    Index crossing ±0.3, index change > 0.3 and volume spike > 3x the mean of the
    previous six windows, on 1-hour windows, each needing at least 10 items.
    """
    return (IndexCrossing(), IndexChange(), VolumeSpike())


@dataclass(frozen=True)
class Alert:
    """One fired alert.

    Attributes
    ----------
    rule : str
        The rule's name (kind, window and threshold), e.g. ``"index_crossing:1h:0.3"``.
    kind : str
        ``index_crossing``, ``index_change`` or ``volume_spike``.
    ticker : str or None
        The scope (``None`` = all items).
    state : str
        The active state it entered (``above``, ``below``, ``up``, ``down``, ``spike``).
    value : float
        The measured index, change or count.
    item_ids : tuple of str
        The items that caused it, newest first (at most :data:`MAX_ALERT_ITEMS`).
    item_count : int
        How many items caused it (may exceed ``len(item_ids)``).
    """

    rule: str
    kind: str
    ticker: str | None
    window: str
    state: str
    value: float
    threshold: float
    fired_at: datetime
    item_ids: tuple[str, ...]
    item_count: int

    @property
    def message(self) -> str:
        """One line for people, e.g. ``"$AAPL 1h mood index above +0.3: 0.45"``."""
        scope = f"${self.ticker}" if self.ticker else "all items"
        if self.kind == "index_crossing":
            sign = "+" if self.state == "above" else "-"
            what = f"mood index {self.state} {sign}{self.threshold:g}: {self.value:+.2f}"
        elif self.kind == "index_change":
            what = f"mood index moved {self.value:+.2f} (more than {self.threshold:g})"
        else:
            what = f"volume spike: {self.value:g} items (> {self.threshold:g}x baseline)"
        return f"{scope} {self.window} {what}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "rule": self.rule,
            "kind": self.kind,
            "ticker": self.ticker,
            "window": self.window,
            "state": self.state,
            "value": self.value,
            "threshold": self.threshold,
            "fired_at": self.fired_at.isoformat(),
            "message": self.message,
            "item_ids": list(self.item_ids),
            "item_count": self.item_count,
        }


def state_key(rule: Rule, ticker: str | None) -> str:
    """Return the key under which a rule's state in one scope is remembered."""
    return f"{rule.name}|{ticker or '*'}"


class Monitor:
    """Items, mood index and edge-triggered alert rules, on an injectable clock.

    Parameters
    ----------
    rules : sequence of Rule, optional
        Default :func:`default_rules`.
    clock : Clock, optional
        Supplies "now" when a call does not pass ``now``.
    state : dict, optional
        Rule states from an earlier monitor (:attr:`state`), to continue from.
    since : datetime, optional
        When observation started (default: the earliest item added). Rules that
        compare with the past (:class:`VolumeSpike`) stay quiet until it is observed.

    Examples
    --------
    >>> from baryon.core.clock import FixedClock
    >>> m = Monitor(clock=FixedClock())
    >>> m.index(window="1h").n
    0
    """

    def __init__(
        self,
        rules: Sequence[Rule] | None = None,
        *,
        clock: Clock | None = None,
        state: dict[str, str] | None = None,
        since: datetime | None = None,
    ) -> None:
        self.rules: tuple[Rule, ...] = tuple(default_rules() if rules is None else rules)
        self.clock: Clock = clock or SystemClock()
        self._items: dict[str, ScoredItem] = {}
        self._state: dict[str, str] = dict(state or {})
        self.since: datetime | None = since

    @property
    def state(self) -> dict[str, str]:
        """A copy of the last state of every evaluated ``rule|scope``."""
        return dict(self._state)

    @property
    def horizon(self) -> timedelta:
        """How far back any rule looks (items older than this are never needed)."""
        return max((r.horizon for r in self.rules), default=timedelta(0))

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def add(self, items: Iterable[ScoredItem]) -> list[ScoredItem]:
        """Remember ``items``; return the new ones (an id seen before is skipped)."""
        new: list[ScoredItem] = []
        for item in items:
            if item.item_id not in self._items:
                self._items[item.item_id] = item
                new.append(item)
                if self.since is None or item.published_at < self.since:
                    self.since = item.published_at
        return new

    def prune(self, *, now: datetime | None = None) -> int:
        """Forget items older than :attr:`horizon` before ``now``; return how many."""
        cutoff = (now or self.clock.now()) - self.horizon
        old = [k for k, i in self._items.items() if i.published_at <= cutoff]
        for key in old:
            del self._items[key]
        return len(old)

    def index(
        self, *, ticker: str | None = None, window: str = "1h", now: datetime | None = None
    ) -> MoodIndex:
        """The mood index of a scope over the window ending at ``now`` (default: clock)."""
        return mood_index(
            self._items.values(), end=now or self.clock.now(), window=window, ticker=ticker
        )

    def observe(self, items: Iterable[ScoredItem], *, now: datetime | None = None) -> list[Alert]:
        """Add ``items`` and evaluate the rules for every scope they touch.

        The scopes are "all items" plus each ticker of a new item. Duplicates
        (ids seen before) touch nothing.

        Returns
        -------
        list of Alert
            Alerts fired now, in rule order then scope order.
        """
        new = self.add(items)
        if not new:
            return []
        tickers = sorted({t for i in new for t in i.tickers})
        return self.evaluate([None, *tickers], now=now)

    def evaluate(self, scopes: Iterable[str | None], *, now: datetime | None = None) -> list[Alert]:
        """Evaluate every rule in ``scopes`` at ``now``; return the alerts that fire.

        A rule fires in a scope when its state becomes active, or switches from one
        active state to another, since that scope's previous evaluation.
        """
        end = now or self.clock.now()
        items = list(self._items.values())
        scoped = {ticker: [i for i in items if i.in_scope(ticker)] for ticker in scopes}
        alerts: list[Alert] = []
        for rule in self.rules:
            watched = rule.scopes(scoped) if isinstance(rule, ScopedRule) else list(scoped)
            for ticker in watched:
                in_scope = scoped[ticker]
                result = rule.assess(in_scope, end=end, ticker=ticker, since=self.since)
                key = state_key(rule, ticker)
                before = self._state.get(key, QUIET)
                self._state[key] = result.state
                if result.state == QUIET or result.state == before or result.value is None:
                    continue
                causes = sorted(
                    result.items, key=lambda i: (i.published_at, i.item_id), reverse=True
                )
                alerts.append(
                    Alert(
                        rule=rule.name,
                        kind=rule.kind,
                        ticker=ticker,
                        window=rule.window,
                        state=result.state,
                        value=float(result.value),
                        threshold=float(rule.threshold),
                        fired_at=end,
                        item_ids=tuple(i.item_id for i in causes[:MAX_ALERT_ITEMS]),
                        item_count=len(causes),
                    )
                )
        return alerts
