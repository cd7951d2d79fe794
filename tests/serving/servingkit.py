"""Helpers of the serving tests: in-process transport, tiny models, tenants.

Requests go through a real httpx client whose transport runs the ASGI app in
process (an anyio portal thread), so sync routes run in the app's thread pool with
real concurrency, as under uvicorn.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import numpy as np
from fastapi import FastAPI
from homekit import copy_home_db
from sqlalchemy import update

from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import PlanRow
from baryon.core.clock import FixedClock
from baryon.core.errors import ModelNotReady, NotFound
from baryon.core.scope import SYSTEM, Scope
from baryon.predictions.inference import ModelResolver, ServedModel
from baryon.tenancy.keys import create_key
from baryon.tenancy.permissions import ROLES
from baryon.tenancy.users import create_user
from baryon.workspace import Workspace


class _AsyncStream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._stream:
            yield chunk


class PortalTransport(httpx.BaseTransport):
    """A sync httpx transport that calls an ASGI app in process (no sockets)."""

    def __init__(self, app: FastAPI) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._cm.__enter__()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            request.stream = _AsyncStream(request.stream)  # a generator body (chunked)

        async def run() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(
                response.status_code,
                headers=response.headers,
                stream=httpx.ByteStream(content),
                request=request,
            )

        return self._portal.call(run)

    def close(self) -> None:
        """Clients sharing this transport close it; the portal lives until :meth:`shutdown`."""

    @contextlib.contextmanager
    def lifespan(self, app: FastAPI) -> Iterator[None]:
        """Run ``app``'s lifespan in the portal: start-up (in-process job worker), shutdown."""
        with self._portal.wrap_async_context_manager(app.router.lifespan_context(app)):
            yield

    def shutdown(self) -> None:
        self._cm.__exit__(None, None, None)


# ------------------------------------------------------------------ tiny models
class SumRegressor:
    """Predicts a + b (+ offset): a known right answer for every input."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(X, dtype=float).sum(axis=1) + self.offset


class KeywordClassifier:
    """'pos' when the text contains 'good', else 'neg'; probabilities 0.9/0.1."""

    classes_ = np.array(["neg", "pos"])

    def predict(self, texts: list[str]) -> np.ndarray:
        return np.array(["pos" if "good" in t else "neg" for t in texts])

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        return np.array([[0.1, 0.9] if "good" in t else [0.9, 0.1] for t in texts])


class NonFiniteModel:
    """Returns NaN, +inf and -inf."""

    def predict(self, X: Any) -> np.ndarray:
        return np.array([math.nan, math.inf, -math.inf][: len(X)] + [1.0] * max(0, len(X) - 3))


class BrokenModel:
    """Fails like a bug would."""

    def predict(self, X: Any) -> np.ndarray:
        raise RuntimeError("secret internal detail /etc/passwd")


class TinyRecommender:
    """Recommends items i1..i3 to known users, popularity to others (cold)."""

    def recommend(self, users: list[Any], n: int = 10) -> tuple[np.ndarray, np.ndarray]:
        ids = np.empty((len(users), n), dtype=object)
        scores = np.full((len(users), n), np.nan)
        for row in range(len(users)):
            for col, item in enumerate(["i1", "i2", "i3"][:n]):
                ids[row, col] = item
                scores[row, col] = 1.0 - col / 10
        return ids, scores

    def is_cold(self, users: list[Any]) -> np.ndarray:
        return np.array([u not in ("u1", "u2") for u in users])


@dataclass
class StaticResolver(ModelResolver):
    """Models held in memory: ``{name: {version: ServedModel}}`` plus aliases."""

    models: dict[str, dict[int, ServedModel]] = field(default_factory=dict)
    aliases: dict[str, dict[str, int]] = field(default_factory=dict)
    unloadable: set[str] = field(default_factory=set)

    def add(self, model: ServedModel, *aliases: str) -> None:
        self.models.setdefault(model.name, {})[model.version] = model
        for alias in aliases:
            self.aliases.setdefault(model.name, {})[alias] = model.version

    def resolve(
        self, name: str, *, scope: Scope, version: int | None = None, alias: str = "champion"
    ) -> ServedModel:
        if name not in self.models:
            raise NotFound(f"no model {name!r}", code="model_not_found")
        if name in self.unloadable:
            raise ModelNotReady(f"model {name!r} cannot be loaded")
        if version is None:
            if alias not in self.aliases.get(name, {}):
                raise ModelNotReady(f"model {name!r} has no {alias}")
            version = self.aliases[name][alias]
        if version not in self.models[name]:
            raise NotFound(f"model {name!r} has no version {version}", code="version_not_found")
        return self.models[name][version]

    def readiness(self) -> dict[str, bool]:
        return {
            name: name not in self.unloadable
            for name, aliases in self.aliases.items()
            if "champion" in aliases
        }


def make_resolver() -> StaticResolver:
    """The models every serving test can call."""
    r = StaticResolver()
    cols = ("a", "b")
    r.add(ServedModel("adder", 1, "regression", SumRegressor(), feature_columns=cols), "champion")
    r.add(
        ServedModel("adder", 2, "regression", SumRegressor(100.0), feature_columns=cols),
        "challenger",
    )
    r.add(ServedModel("sentiment", 1, "text_classification", KeywordClassifier()), "champion")
    r.add(ServedModel("nan", 1, "regression", NonFiniteModel(), feature_columns=cols), "champion")
    r.add(ServedModel("broken", 1, "regression", BrokenModel(), feature_columns=cols), "champion")
    r.add(ServedModel("recs", 1, "recommendation", TinyRecommender()), "champion")
    r.add(ServedModel("draft", 1, "regression", SumRegressor(), feature_columns=cols))
    return r


# --------------------------------------------------------------------- tenants
@dataclass
class Tenants:
    """Organizations and keys made for a test.

    ``keys["acme:viewer"]`` is the secret of acme's viewer key; ``key_ids`` likewise.
    acme and globex are customers on plan ``test``; ``ops`` is the operator org.
    """

    org_ids: dict[str, str]
    keys: dict[str, str]
    key_ids: dict[str, str]
    user_ids: dict[str, str]


def make_tenants(
    ws: Workspace,
    clock: FixedClock,
    *,
    quota: int = 1000,
    rate: int = 100_000,
    unit_weights: dict[str, int] | None = None,
) -> Tenants:
    """Create plan ``test``, orgs acme/globex (customers) and ops (operator), keys per role."""
    org_ids: dict[str, str] = {}
    keys: dict[str, str] = {}
    key_ids: dict[str, str] = {}
    user_ids: dict[str, str] = {}
    with ws.db.session(SYSTEM) as s:
        plan = create_plan(
            s, name="test", quota=max(quota, 1), rate_per_minute=rate, monthly_price="10.00",
            features=["traffic_split"], unit_weights=unit_weights, clock=clock,
        )  # fmt: skip
        if quota == 0:  # refused at creation since 0013; a plan made before may hold it
            s.execute(update(PlanRow).where(PlanRow.id == plan.id).values(quota=0))
        for name, operator in (("acme", False), ("globex", False), ("ops", True)):
            org = create_org(s, name=name, plan="test", operator=operator, clock=clock)
            org_ids[name] = org.id
            for role in ROLES:
                created = create_key(s, org_id=org.id, role=role, name=role, clock=clock)
                keys[f"{name}:{role}"] = created.secret
                key_ids[f"{name}:{role}"] = created.key.id
            user = create_user(
                s, org_id=org.id, email=f"dev@{name}.test", role="developer", clock=clock
            )
            user_ids[name] = user.id
    return Tenants(org_ids, keys, key_ids, user_ids)


def fresh_home(migrated_db: Path, home: Path) -> None:
    """Put a copy of the migrated template database in ``home``."""
    copy_home_db(migrated_db, home)


ClientFactory = Callable[..., httpx.Client]
"""``api(secret)`` → an httpx client on the app sending that bearer key (fixture ``api``)."""


@dataclass
class ChainResolver(ModelResolver):
    """``first``'s models by name, every other name from ``then`` (a real registry, say)."""

    first: StaticResolver
    then: ModelResolver

    def resolve(
        self, name: str, *, scope: Scope, version: int | None = None, alias: str = "champion"
    ) -> ServedModel:
        chosen = self.first if name in self.first.models else self.then
        return chosen.resolve(name, scope=scope, version=version, alias=alias)

    def readiness(self) -> dict[str, bool]:
        return {**self.then.readiness(), **self.first.readiness()}
