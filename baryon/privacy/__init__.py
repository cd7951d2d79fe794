"""Privacy controls: erasure of a data subject (:mod:`baryon.privacy.erasure`).

Encryption at rest of sensitive datasets lives with the artifacts it seals
(:mod:`baryon.core.encryption`, :mod:`baryon.data.sealed`); PII masking at ingest in
:mod:`baryon.data.pii`.
"""

from __future__ import annotations

from baryon.privacy.erasure import Erasure, erase, parse_matches

__all__ = ["Erasure", "erase", "parse_matches"]
