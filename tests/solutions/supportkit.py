"""Tiny support data for the support tests: 3 Banking77 intents, CLINC-like queries.

Every intent has its own words, so a text classifier separates them perfectly; the
out-of-scope queries share none of them, so the model is unsure about them.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

#: Intent -> (keywords, sentence patterns); the intents exist in answers.yaml.
INTENTS = {
    "card_arrival": (
        ["card arrived", "card delivery", "new card post", "card not here"],
        [
            "where is my {k}",
            "still waiting, {k}?",
            "when {k} please",
            "{k} after two weeks",
            "is the {k} normal",
        ],
    ),
    "lost_or_stolen_card": (
        ["lost my card", "card stolen", "wallet stolen card", "card missing lost"],
        ["i {k} today", "help, {k}", "what now {k}", "{k} on the train", "please block, {k}"],
    ),
    "top_up_failed": (
        ["top up failed", "topup declined", "top-up error", "top up not working"],
        ["my {k} again", "why {k}", "{k} with my bank", "{k} this morning", "again {k} sadly"],
    ),
}
OOS = [
    "what is the capital of france", "tell me a joke about cats", "how tall is everest",
    "play some jazz music", "who won the football game", "translate hello to german",
    "set an alarm for seven", "what is the weather like", "recipe for pancakes",
    "how many calories in an apple", "book a flight to rome", "find a hotel in paris",
    "rent a car for friday", "is my flight delayed", "what time is it in tokyo",
    "spell necessary", "roll a dice", "flip a coin", "what is your name", "are you a robot",
]  # fmt: skip
BANK = ["what is my balance", "freeze my account", "what is the routing number"]


def banking_rows(per_intent: int = 20, seed: int = 0) -> list[tuple[str, str]]:
    """``per_intent`` distinct (text, category) rows per intent, shuffled."""
    rng = random.Random(seed)
    rows = []
    for intent, (keywords, patterns) in INTENTS.items():
        texts = sorted({p.format(k=k) for p in patterns for k in keywords})
        rows += [(t, intent) for t in rng.sample(texts, per_intent)]
    rng.shuffle(rows)
    return rows


def write_banking(path: Path, rows: list[tuple[str, str]] | None = None) -> Path:
    """A file laid out like the Banking77 source (``text,category``)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "category"])
        writer.writerows(banking_rows() if rows is None else rows)
    return path


def write_clinc(path: Path, *, half: int) -> Path:
    """A file laid out like CLINC150's (``text,intent,domain``): oos, travel, banking.

    ``half`` (0 or 1) picks every other out-of-scope query, so the calibration and
    held-out files differ.
    """
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "intent", "domain"])
        for i, text in enumerate(OOS):
            if i % 2 == half:
                domain = "travel" if i >= 10 else "oos"
                writer.writerow([text, "oos" if domain == "oos" else "travel_intent", domain])
        for text in BANK:
            writer.writerow([text, "balance", "banking"])
    return path
