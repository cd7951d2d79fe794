"""One router per resource; :data:`ROUTERS` is what :func:`baryon.serving.app.create_app` mounts."""

from __future__ import annotations

from fastapi import APIRouter

from baryon.serving.routers import (
    alerts,
    datasets,
    erasures,
    federated,
    flywheel,
    grants,
    invoices,
    iterations,
    keys,
    labeling,
    labeling_io,
    labeling_sample,
    models,
    ops,
    org,
    orgs,
    plans,
    predictions,
    recommender,
    schedules,
    sentiment,
    sources,
    support,
    usage,
    users,
)
from baryon.serving.routers import runs as runs_router

__all__ = ["ROUTERS", "STREAMED"]

#: Every router of the API, in documentation order.
ROUTERS: tuple[APIRouter, ...] = (
    ops.router,
    org.router,
    users.router,
    keys.router,
    grants.router,
    plans.router,
    orgs.router,
    usage.router,
    invoices.router,
    models.router,
    datasets.router,
    sources.router,
    erasures.router,
    predictions.router,
    support.router,
    sentiment.router,
    alerts.router,
    recommender.router,
    runs_router.router,
    federated.router,
    labeling.router,
    labeling_io.router,
    labeling_sample.router,
    iterations.router,
    flywheel.router,
    schedules.router,
)

#: ``(method, path)`` of the routes that stream their own request body (uploads): the
#: request middleware passes their bodies through instead of buffering them.
STREAMED: frozenset[tuple[str, str]] = datasets.STREAMED
