"""Services the tests serve: one that works, one whose setup fails, one that lies.

Loaded by path (``load_services([str(SAMPLES)])``), as ``baryon serve`` loads a file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

import baryon

SAMPLES = Path(__file__)


class Label(BaseModel):
    label: str
    score: float


class Mood(baryon.Service):
    """``pos`` for a text with a positive word, else ``neg``; one unit per text."""

    name = "mood"
    version = 2

    def setup(self) -> None:
        self.positive = {"good", "great"}
        self.setups = getattr(self, "setups", 0) + 1

    @baryon.endpoint(path="score", units="texts")
    def score(self, texts: list[str], threshold: float = 0.5) -> list[Label]:
        """Label each text."""
        out = []
        for text in texts:
            hit = any(word in self.positive for word in text.lower().split())
            out.append(Label(label="pos" if hit else "neg", score=1.0 if hit else threshold))
        return out

    @baryon.endpoint(path="lie", units=3)
    def lie(self, text: str) -> list[Label]:
        """Return a score that is not a number: its type hints forbid it."""
        return [Label(label="pos", score=1.0), {"label": "neg", "score": "high"}]  # type: ignore[list-item]

    @baryon.endpoint(path="check")
    def check(self, text: str) -> str:
        """Refuse a blank text with a named error of the service's own."""
        if not text.strip():
            raise baryon.InvalidInput("the text is blank", code="empty_text")
        return text

    @baryon.endpoint(path="crash")
    def crash(self, text: str) -> str:
        """Raise like a bug."""
        raise RuntimeError("secret internal detail /etc/passwd")


class Broken(baryon.Service):
    """Its setup fails: every call is 503 service_setup_failed."""

    name = "broken"

    def setup(self) -> None:
        raise RuntimeError("the weights file is missing")

    @baryon.endpoint(path="go")
    def go(self, x: int) -> int:
        """Never reached."""
        return x
