"""Customer-service assistant: Banking77 intents, answers, hand-off to a human.

Bundled data: ``data/banking77`` (training), ``data/clinc150`` (hand-off calibration),
``data/bitext_cs`` (intents with written responses); answer templates for the 77
Banking77 intents in ``answers.yaml`` (read with
:func:`baryon.solutions.bundled.load_answers`).
"""

from __future__ import annotations

__all__: list[str] = []
