"""What every route depends on: the app's state, its transactions, small caches.

:class:`AppState` is built once by :func:`baryon.serving.app.create_app` and reached
from a route through ``Depends(get_state)``. It holds the workspace, the clock, the
rate limiter, the quota counter, the model resolver, the metrics and the job queue;
nothing here is module-level.

Transactions
------------
:meth:`AppState.transaction` is the one way routes write. On SQLite it first takes
an in-process lock, so the threads of one worker queue on a Python lock (woken at
once) rather than in SQLite's busy handler (which sleeps 1, 2, 5, 10... ms between
tries); across worker processes SQLite's ``BEGIN IMMEDIATE`` still serialises
writers. On PostgreSQL there is no process lock: row locks do the work.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from baryon.commerce.limits import RateLimiter
from baryon.commerce.quotas import DatabaseQuotaCounter, QuotaCounter
from baryon.core.clock import Clock
from baryon.core.config import Settings
from baryon.core.scope import Scope
from baryon.jobs.queue import JobQueue
from baryon.jobs.schedules import ScheduledKind
from baryon.predictions.batching import MicroBatcher
from baryon.predictions.inference import ModelResolver
from baryon.predictions.log import get_endpoint
from baryon.serving.observability import Metrics
from baryon.tenancy.grants import scope_for
from baryon.workspace import Workspace

__all__ = ["AppState", "get_state"]


@dataclass
class AppState:
    """Everything a request needs, built once per app.

    Attributes
    ----------
    settings : Settings
    workspace : Workspace
    clock : Clock
    limiter : RateLimiter
    resolver : ModelResolver
    metrics : Metrics
    jobs : JobQueue
        The workspace's job queue (its wake-up reaches the in-process worker).
    batcher : MicroBatcher
        Scores concurrent prediction requests for one model version together.
    quota : QuotaCounter
        Where metered requests reserve quota (the database's counters by default).
    schedule_kinds : dict of str to ScheduledKind
        The job kinds that may be scheduled (``/v1/schedules``).
    endpoint_ttl : float
        Seconds an organization's traffic split is cached in this process.
    scope_ttl : float
        Seconds an organization's scope (its grants) is cached in this process: a grant
        given or revoked through this process counts at once (:meth:`forget_scopes`), one
        changed by another process (the CLI, another worker) within this time.
    """

    settings: Settings
    workspace: Workspace
    clock: Clock
    limiter: RateLimiter
    resolver: ModelResolver
    metrics: Metrics
    jobs: JobQueue
    quota: QuotaCounter = field(default_factory=DatabaseQuotaCounter)
    schedule_kinds: dict[str, ScheduledKind] = field(default_factory=dict)
    batcher: MicroBatcher = field(default_factory=MicroBatcher)
    endpoint_ttl: float = 2.0
    _write_lock: threading.Lock | None = field(default=None, repr=False)
    _endpoints: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict, repr=False)
    _endpoints_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    scope_ttl: float = 1.0
    _scopes: dict[str, tuple[float, Scope]] = field(default_factory=dict, repr=False)
    _scopes_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.workspace.db.is_sqlite:
            self._write_lock = threading.Lock()

    @contextlib.contextmanager
    def transaction(self, scope: Scope | None = None) -> Iterator[Session]:
        """Yield a session in a transaction (committed on success, rolled back on error).

        Parameters
        ----------
        scope : Scope, optional
            The caller's organization scope (:meth:`scope_of`); required for any
            statement on an organization's objects (see :mod:`baryon.core.scope`).
        """
        lock = self._write_lock
        if lock is None:
            with self.workspace.db.session(scope) as session:
                yield session
            return
        with lock, self.workspace.db.session(scope) as session:
            yield session

    def scope_of(self, org_id: str) -> Scope:
        """Return organization ``org_id``'s scope: its own objects and its grants.

        Read at most ``scope_ttl`` seconds ago (a query of the grants on every request
        cost about a tenth of a prediction's server time); :meth:`forget_scopes` drops
        the cache when this process changes a grant.

        Raises
        ------
        NotFound
            ``org_not_found``.
        """
        now = time.monotonic()
        with self._scopes_lock:
            hit = self._scopes.get(org_id)
            if hit is not None and now - hit[0] < self.scope_ttl:
                return hit[1]
        with self.transaction() as session:
            scope = scope_for(session, org_id)
        with self._scopes_lock:
            self._scopes[org_id] = (now, scope)
        return scope

    def forget_scopes(self) -> None:
        """Drop every cached scope (after this process gave or revoked a grant: a grant
        to everyone changes every organization's scope)."""
        with self._scopes_lock:
            self._scopes.clear()

    def workspace_for(self, org_id: str) -> Workspace:
        """Return the workspace as organization ``org_id`` sees it (datasets, runs, models)."""
        return self.workspace.with_scope(self.scope_of(org_id))

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """Yield a Core connection in a transaction: the hot path (auth, metering)."""
        lock = self._write_lock
        if lock is None:
            with self.workspace.db.connect() as conn:
                yield conn
            return
        with lock, self.workspace.db.connect() as conn:
            yield conn

    def challenger_weight(self, org_id: str, model_name: str) -> float:
        """Return the organization's challenger weight for a model (cached briefly)."""
        key = (org_id, model_name)
        now = time.monotonic()
        with self._endpoints_lock:
            hit = self._endpoints.get(key)
            if hit is not None and now - hit[0] < self.endpoint_ttl:
                return hit[1]
        with self.transaction(Scope.own(org_id)) as session:
            weight = get_endpoint(session, org_id, model_name)
        with self._endpoints_lock:
            self._endpoints[key] = (now, weight)
        return weight

    def forget_endpoint(self, org_id: str, model_name: str) -> None:
        """Drop a cached traffic split (after this process changed it)."""
        with self._endpoints_lock:
            self._endpoints.pop((org_id, model_name), None)


async def get_state(request: Request) -> AppState:
    """FastAPI dependency: the app's :class:`AppState`.

    ``async`` on purpose: it does no I/O, and a sync dependency would cost every
    request a trip through the thread pool.
    """
    state: AppState = request.app.state.baryon
    return state
