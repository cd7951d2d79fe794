"""A small LRU cache of loaded models, shared by every organization's view of a workspace.

Keyed by the payload and manifest digests (content addresses), so two organizations
calling the same shared model load it once, and a cache hit reads nothing from the
artifact store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

__all__ = ["ModelCache"]


class ModelCache:
    """Thread-safe LRU map ``(payload digest, manifest digest) -> (estimator, manifest)``.

    Parameters
    ----------
    size : int
        Most models kept (default 8).
    """

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._items: OrderedDict[tuple[str, str], tuple[Any, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[Any, dict[str, Any]] | None:
        """Return the cached entry (and mark it recently used), or ``None``."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple[str, str], value: tuple[Any, dict[str, Any]]) -> None:
        """Add an entry, evicting the least recently used past :attr:`size`."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()
