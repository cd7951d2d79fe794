"""An organization's own sentiment alert rules: make, list, enable, disable, remove, test.

A rule watches **one scope** — the items of one ticker, or all items (no ticker) —
with one measure of :mod:`baryon.solutions.sentiment.monitor`:

=================  ===========================================  =====================
kind               fires when (over ``window``, 1h or 1d)       ``threshold``
=================  ===========================================  =====================
``index_crossing`` the mood index goes above ``+t`` (``above``)  ``t`` in (0, 1)
                   or below ``-t`` (``below``)
``index_change``   the index moved by more than ``d`` from the  ``d`` in (0, 2)
                   previous window (``up`` / ``down``)
``volume_spike``   the window holds more than ``f`` times the   ``f`` in (1, 1000]
                   mean count of ``baseline_windows`` before it
=================  ===========================================  =====================

``direction`` limits a rule to one side (``above`` or ``below``; ``up`` or ``down``);
``both`` (the default) listens to either. A rule needs ``min_items`` items in its
window (default 10); at exactly the threshold it stays quiet (the comparisons are
strict). Rules are edge-triggered: a rule fires when its state becomes active or
flips side, and re-arms when it returns to quiet.

Default rules: an organization that has made **no** rule of its own keeps the
monitor's :func:`~baryon.solutions.sentiment.monitor.default_rules` (index crossing
±0.3, change > 0.3, volume spike > 3x, on 1-hour windows, in every scope). Once it
makes one, only its own enabled rules run.

:func:`backtest_rule` replays the organization's stored items through one rule, in
publication order, and answers the times it would have fired.

Create, enable, disable and remove write an audit event in the same transaction.

Codes: ``unknown_rule_kind``, ``invalid_rule`` (a threshold, direction, ``min_items``
or ``baseline_windows`` out of range), ``unknown_window``, ``invalid_ticker``,
``invalid_rule_name``, ``invalid_time``, ``invalid_range``, ``history_too_large`` (422);
``rule_not_found`` (404); ``rule_exists`` (409).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from baryon.core.audit import record_audit
from baryon.core.clock import Clock, FixedClock
from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.solutions.sentiment.monitor import (
    DIRECTIONS,
    Alert,
    IndexChange,
    IndexCrossing,
    Monitor,
    Rule,
    ScopedRule,
    ScoredItem,
    VolumeSpike,
)
from baryon.solutions.sentiment.service import normalise_ticker
from baryon.solutions.sentiment.tables import (
    ALERT_NAME_PATTERN,
    SentimentItemRow,
    SentimentRuleRow,
    SentimentRuleStateRow,
)

__all__ = [
    "KINDS",
    "MAX_HISTORY_ITEMS",
    "AlertRule",
    "RuleSpec",
    "backtest_rule",
    "check_rule",
    "create_rule",
    "get_rule",
    "list_rules",
    "monitor_rules",
    "remove_rule",
    "set_rule_enabled",
]

#: Rule kinds, in documentation order.
KINDS = tuple(DIRECTIONS)
#: Most stored items :func:`backtest_rule` replays in one call.
MAX_HISTORY_ITEMS = 100_000
#: Largest volume-spike factor and baseline.
MAX_FACTOR, MAX_BASELINE_WINDOWS, MAX_MIN_ITEMS = 1000.0, 168, 100_000

_NAME_RE = re.compile(f"^{ALERT_NAME_PATTERN}$")


@dataclass(frozen=True)
class RuleSpec:
    """A checked rule, not yet written (from :func:`check_rule`)."""

    name: str
    kind: str
    window: str
    ticker: str | None
    direction: str
    threshold: float
    min_items: int
    baseline_windows: int | None

    def measure(self) -> Rule:
        """The monitor rule this spec measures with."""
        if self.kind == "index_crossing":
            return IndexCrossing(self.threshold, self.window, self.min_items)
        if self.kind == "index_change":
            return IndexChange(self.threshold, self.window, self.min_items)
        return VolumeSpike(self.threshold, self.window, self.baseline_windows or 6, self.min_items)

    def scoped(self, name: str) -> ScopedRule:
        """The rule as the monitor runs it, under ``name`` (the stored rule's id)."""
        directions = () if self.direction == "both" else (self.direction,)
        return ScopedRule(self.measure(), name, self.ticker, directions)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(f"{what} must be a finite number, got {value!r}", code="invalid_rule")
    return float(value)


def _whole(value: Any, what: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            f"{what} must be a whole number from {low} to {high}, got {value!r}",
            code="invalid_rule",
        )
    return value


def check_rule(
    *,
    kind: Any,
    threshold: Any,
    window: Any = "1h",
    ticker: Any = None,
    direction: Any = "both",
    min_items: Any = 10,
    baseline_windows: Any = None,
    name: Any = None,
) -> RuleSpec:
    """Check a rule's fields; write nothing.

    Parameters
    ----------
    kind : str
        ``index_crossing``, ``index_change`` or ``volume_spike``.
    threshold : float
        Index level ``t`` in (0, 1), change ``d`` in (0, 2), or spike factor ``f`` in
        (1, 1000] (see the module docstring).
    window : str
        ``"1h"`` or ``"1d"``.
    ticker : str, optional
        The scope (``"AAPL"``, ``"$aapl"``); none: all items.
    direction : str
        ``both``; ``above``/``below`` (crossing); ``up``/``down`` (change);
        ``spike`` (volume spike, same as ``both``).
    min_items : int
        Items the window needs (1 to 100 000).
    baseline_windows : int, optional
        Volume spike only: windows in the baseline (1 to 168, default 6).
    name : str, optional
        Unique in the organization; default ``KIND-WINDOW-SCOPE-THRESHOLD``.

    Returns
    -------
    RuleSpec

    Raises
    ------
    InvalidInput
        ``unknown_rule_kind``, ``invalid_rule``, ``unknown_window``, ``invalid_ticker``,
        ``invalid_rule_name``.
    """
    if kind not in KINDS:
        raise InvalidInput(
            f"unknown rule kind {str(kind)[:40]!r}; use one of {', '.join(KINDS)}",
            code="unknown_rule_kind",
        )
    value = _number(threshold, "threshold")
    allowed = ("both", *DIRECTIONS[kind])
    if direction not in allowed:
        raise InvalidInput(
            f"a {kind} rule's direction is one of {', '.join(allowed)}, "
            f"got {str(direction)[:20]!r}",
            code="invalid_rule",
        )
    if kind == "volume_spike":
        direction = "both"
        if value > MAX_FACTOR:
            raise InvalidInput(f"factor must be at most {MAX_FACTOR:g}", code="invalid_rule")
        baseline = _whole(
            6 if baseline_windows is None else baseline_windows,
            "baseline_windows",
            1,
            MAX_BASELINE_WINDOWS,
        )
    elif baseline_windows is not None:
        raise InvalidInput(
            "baseline_windows belongs to volume_spike rules only", code="invalid_rule"
        )
    else:
        baseline = None
    scope = normalise_ticker(ticker)
    spec = RuleSpec(
        name="",
        kind=kind,
        window=str(window),
        ticker=scope,
        direction=str(direction),
        threshold=value,
        min_items=_whole(min_items, "min_items", 1, MAX_MIN_ITEMS),
        baseline_windows=baseline,
    )
    spec.measure()  # the monitor's own checks: window, threshold range
    chosen = (
        name
        if name is not None
        else (
            f"{kind}-{spec.window}-{scope or 'all'}-{value:g}"
            + ("" if spec.direction == "both" else f"-{spec.direction}")
        )
    )
    if not isinstance(chosen, str) or not _NAME_RE.fullmatch(chosen):
        raise InvalidInput(
            "a rule name is 1-200 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit; got {str(chosen)[:60]!r}",
            code="invalid_rule_name",
        )
    return RuleSpec(**{**spec.__dict__, "name": chosen})


@dataclass(frozen=True)
class AlertRule:
    """A rule as stored (immutable snapshot); fields as :class:`SentimentRuleRow`."""

    id: str
    org_id: str
    name: str
    kind: str
    window: str
    ticker: str | None
    direction: str
    threshold: float
    min_items: int
    baseline_windows: int | None
    enabled: bool
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: SentimentRuleRow) -> AlertRule:
        """Build a snapshot from a ``sentiment_rules`` row."""
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    @property
    def spec(self) -> RuleSpec:
        """The rule's checked fields."""
        return RuleSpec(
            self.name, self.kind, self.window, self.ticker, self.direction, self.threshold,
            self.min_items, self.baseline_windows,
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601 strings)."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, datetime) else value
        return out


def create_rule(
    session: Session, spec: RuleSpec, *, org_id: str, actor: str, clock: Clock, enabled: bool = True
) -> AlertRule:
    """Write a checked rule of organization ``org_id`` (and its audit event).

    Parameters
    ----------
    session : Session
        Scoped to ``org_id``.
    spec : RuleSpec
        From :func:`check_rule`.
    actor : str
        Who makes it (audited).
    enabled : bool
        Make it enabled (default) or disabled.

    Raises
    ------
    Conflict
        ``rule_exists``: the organization has a rule of that name.
    """
    exists = Conflict(
        f"a rule named {spec.name!r} exists; remove it or give another name", code="rule_exists"
    )
    if session.scalar(select(SentimentRuleRow.id).where(SentimentRuleRow.name == spec.name)):
        raise exists
    now = clock.now()
    row = SentimentRuleRow(
        id=new_id("rule", clock), org_id=org_id, **spec.__dict__, enabled=enabled,
        created_by=actor[:200], created_at=now, updated_at=now,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise exists from None
    _audit(session, row, "sentiment_rule.create", actor, clock, kind=row.kind)
    return AlertRule.from_row(row)


def _row(session: Session, rule: str, *, lock: bool = False) -> SentimentRuleRow:
    stmt = select(SentimentRuleRow).where(
        or_(SentimentRuleRow.id == rule, SentimentRuleRow.name == rule)
    )
    if lock:
        stmt = stmt.with_for_update()
    rows = sorted(session.scalars(stmt), key=lambda r: r.id != rule)
    if not rows:
        raise NotFound(f"no alert rule {str(rule)[:100]!r}", code="rule_not_found")
    return rows[0]


def get_rule(session: Session, rule: str) -> AlertRule:
    """Return one rule by id (``rule_…``) or name.

    Raises
    ------
    NotFound
        ``rule_not_found`` (also for another organization's rule).
    """
    return AlertRule.from_row(_row(session, rule))


def list_rules(session: Session) -> list[AlertRule]:
    """Return the organization's rules, by name."""
    stmt = select(SentimentRuleRow).order_by(SentimentRuleRow.name, SentimentRuleRow.id)
    return [AlertRule.from_row(r) for r in session.scalars(stmt)]


def set_rule_enabled(
    session: Session, rule: str, enabled: bool, *, actor: str, clock: Clock
) -> AlertRule:
    """Enable or disable a rule (one already so is returned as is).

    Raises
    ------
    NotFound
        ``rule_not_found``.
    """
    row = _row(session, rule, lock=True)
    if row.enabled != enabled:
        row.enabled = enabled
        row.updated_at = clock.now()
        action = "sentiment_rule.enable" if enabled else "sentiment_rule.disable"
        _audit(session, row, action, actor, clock)
    return AlertRule.from_row(row)


def remove_rule(session: Session, rule: str, *, actor: str, clock: Clock) -> AlertRule:
    """Delete a rule and its remembered states; return it as it was. Its past alerts stay.

    Raises
    ------
    NotFound
        ``rule_not_found``.
    """
    row = _row(session, rule, lock=True)
    removed = AlertRule.from_row(row)
    _audit(session, row, "sentiment_rule.remove", actor, clock, kind=row.kind)
    session.execute(
        delete(SentimentRuleStateRow).where(
            SentimentRuleStateRow.key.startswith(f"{row.id}|", autoescape=True)
        )
    )
    session.delete(row)
    session.flush()
    return removed


def monitor_rules(session: Session, org_id: str) -> list[Rule] | None:
    """The rules the monitor runs for organization ``org_id``.

    Returns
    -------
    list of Rule or None
        Its enabled rules (as :class:`~baryon.solutions.sentiment.monitor.ScopedRule`,
        named by id), an empty list when all are disabled, or ``None`` when it made no
        rule (the monitor's defaults apply).
    """
    stmt = select(SentimentRuleRow).where(SentimentRuleRow.org_id == org_id)
    rows = session.scalars(stmt.order_by(SentimentRuleRow.id)).all()
    if not rows:
        return None
    return [AlertRule.from_row(r).spec.scoped(r.id) for r in rows if r.enabled]


def backtest_rule(
    session: Session,
    rule: str | RuleSpec,
    *,
    start: datetime,
    end: datetime,
) -> list[Alert]:
    """When a rule would have fired over the organization's stored items.

    The items published in ``(start - horizon, end]`` are replayed in publication
    order through a monitor that runs this one rule; the rule is evaluated at each
    item's publication time in ``(start, end]`` (the live monitor evaluates at arrival
    time, which for a feed read as it is published is the same). Its state starts quiet
    at ``start``.

    Parameters
    ----------
    session : Session
        Scoped to the organization.
    rule : str or RuleSpec
        A stored rule (id or name, enabled or not) or a checked spec not yet stored.
    start, end : datetime
        Timezone-aware; ``start < end``.

    Returns
    -------
    list of Alert
        In firing order; ``fired_at`` is when it would have fired.

    Raises
    ------
    NotFound
        ``rule_not_found``.
    InvalidInput
        ``invalid_time`` (``start`` or ``end`` naive), ``invalid_range`` (``start`` not
        before ``end``); ``history_too_large``
        (more than :data:`MAX_HISTORY_ITEMS` items to replay: test a shorter span).
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("a history test's start and end need a UTC offset", code="invalid_time")
    if start >= end:
        raise InvalidInput("a history test's start must be before its end", code="invalid_range")
    if isinstance(rule, RuleSpec):
        scoped = rule.scoped(f"test:{rule.name}")
    else:
        stored = get_rule(session, rule)
        scoped = stored.spec.scoped(stored.id)
    try:
        earliest = start - scoped.horizon
    except OverflowError:  # a start in year 1: nothing was published before it
        earliest = datetime.min.replace(tzinfo=start.tzinfo)
    since = session.scalar(select(func.min(SentimentItemRow.published_at)))
    window = (SentimentItemRow.published_at > earliest) & (SentimentItemRow.published_at <= end)
    count = session.scalar(select(func.count()).select_from(SentimentItemRow).where(window)) or 0
    if count > MAX_HISTORY_ITEMS:
        raise InvalidInput(
            f"{count} items to replay, more than {MAX_HISTORY_ITEMS}: test a shorter span",
            code="history_too_large",
        )
    rows = session.execute(
        select(
            SentimentItemRow.item_id,
            SentimentItemRow.published_at,
            SentimentItemRow.label,
            SentimentItemRow.tickers,
            SentimentItemRow.topic,
        )
        .where(window)
        .order_by(SentimentItemRow.published_at, SentimentItemRow.item_id)
    ).all()
    items = [ScoredItem(r[0], r[1], r[2], tuple(r[3] or ()), r[4]) for r in rows]
    monitor = Monitor([scoped], clock=FixedClock(start), since=since)
    monitor.add(i for i in items if i.published_at <= start)
    fired: list[Alert] = []
    for item in items:
        if item.published_at > start:
            fired.extend(monitor.observe([item], now=item.published_at))
    return fired


def _audit(
    session: Session, row: SentimentRuleRow, action: str, actor: str, clock: Clock, **details: Any
) -> None:
    record_audit(
        session, actor=actor, action=action, object_type="sentiment_rule", object_id=row.id,
        details={"name": row.name, **details}, org_id=row.org_id, clock=clock,
    )  # fmt: skip


def default_test_span(now: datetime) -> tuple[datetime, datetime]:
    """The span :func:`backtest_rule` uses when none is given: the 7 days before ``now``."""
    return now - timedelta(days=7), now
