"""Baryon: a self-hosted, data-driven AI platform.

Turns raw data into a metered AI API and keeps improving it (the data flywheel).
Importing this package does no I/O, reads no environment variable and starts no
thread; everything happens through :class:`Workspace` and the ``baryon`` CLI.
"""

from __future__ import annotations

from baryon.core.config import Settings
from baryon.core.errors import (
    BaryonError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Unauthorized,
)
from baryon.services import Service, endpoint
from baryon.workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "BaryonError",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "QuotaExceeded",
    "RateLimited",
    "Service",
    "Settings",
    "Unauthorized",
    "Workspace",
    "__version__",
    "endpoint",
]
