"""A plain-Python rules service: each text gets a mood label and a score."""

from pydantic import BaseModel

import baryon


class Mood(BaseModel):
    label: str  # "positive", "negative" or "neutral"
    score: float  # positive words minus negative words, per word of the text


class MoodRules(baryon.Service):
    name = "mood"

    def setup(self) -> None:  # load a model here; Baryon calls it once, never at import
        self.positive = {"good", "great", "love", "excellent", "happy", "fast"}
        self.negative = {"bad", "awful", "hate", "terrible", "sad", "slow"}

    @baryon.endpoint(path="score", units="texts")  # one unit of quota per text
    def score(self, texts: list[str]) -> list[Mood]:
        """Label each text positive, negative or neutral."""
        out = []
        for text in texts:
            words = text.lower().split()
            net = sum((w in self.positive) - (w in self.negative) for w in words)
            label = "positive" if net > 0 else "negative" if net < 0 else "neutral"
            out.append(Mood(label=label, score=net / max(1, len(words))))
        return out
