"""Sources: collect data where it lives (HTTP JSON APIs, RSS/Atom feeds, a polite crawler).

Every outbound request goes through one SSRF-safe client
(:class:`~baryon.connectors.fetch.OutboundClient`). See ``docs/sources.md``.
"""

from __future__ import annotations

from baryon.connectors.fetch import Fetched, FetchPolicy, OutboundClient

__all__ = ["FetchPolicy", "Fetched", "OutboundClient"]
