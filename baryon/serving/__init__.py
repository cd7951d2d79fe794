"""Baryon serving layer: the multi-tenant HTTP API (see DESIGN.md §5).

``create_app(settings)`` builds the FastAPI app; ``baryon serve`` runs it on uvicorn.
Importing this package imports nothing heavy: :func:`create_app` is loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from baryon.serving.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from baryon.serving.app import create_app

        return create_app
    raise AttributeError(f"module 'baryon.serving' has no attribute {name!r}")
