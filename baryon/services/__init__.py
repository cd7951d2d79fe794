"""Services: a user's Python class served as metered, multi-tenant endpoints.

Subclass :class:`Service`, load what it needs in :meth:`Service.setup`, mark methods
with :func:`endpoint`; ``baryon serve my_service.py`` serves every endpoint at
``POST /v1/services/<service>/<path>`` with Baryon's API keys, roles, plans, rate
limits, quotas, metering, idempotency, prediction log and problem+json errors
(:mod:`baryon.serving.routers.services`). See ``docs/services.md``.

Importing this package imports pydantic only: no FastAPI, no user code.
"""

from __future__ import annotations

from baryon.services._declare import (
    ENDPOINT_PATH_PATTERN,
    SERVICE_NAME_PATTERN,
    Endpoint,
    Service,
    endpoint,
    service_endpoints,
    service_name,
)
from baryon.services._runtime import ServedService, check_result, load_services

__all__ = [
    "ENDPOINT_PATH_PATTERN",
    "SERVICES_PREFIX",
    "SERVICE_NAME_PATTERN",
    "Endpoint",
    "ServedService",
    "Service",
    "check_result",
    "endpoint",
    "load_services",
    "service_endpoints",
    "service_name",
]

#: Where services' endpoints are mounted: ``POST /v1/services/<service>/<path>``.
SERVICES_PREFIX = "/v1/services"
