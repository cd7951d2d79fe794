"""Customer-service assistant: Banking77 intents, answers, hand-off to a human.

Bundled data: ``data/banking77`` (training), ``data/clinc150`` (hand-off calibration),
``data/bitext_cs`` (intents with written responses); answer templates for the 77
Banking77 intents in ``answers.yaml`` (read with
:func:`baryon.solutions.bundled.load_answers`).

- :class:`SupportPipeline` trains ``support-intent`` and calibrates its hand-off
  threshold (:mod:`~baryon.solutions.support.pipeline`,
  :mod:`~baryon.solutions.support.handoff`);
- :class:`SupportService` answers a message or hands it to a human, queueing the
  hand-off for an agent and for labeling (:mod:`~baryon.solutions.support.service`).

Docs: ``docs/solutions/support.md``.
"""

from __future__ import annotations

from baryon.solutions.support.handoff import HandoffCalibration, TradeOffPoint
from baryon.solutions.support.pipeline import SupportPipeline, SupportResult
from baryon.solutions.support.service import SupportDecision, SupportService

__all__ = [
    "HandoffCalibration",
    "SupportDecision",
    "SupportPipeline",
    "SupportResult",
    "SupportService",
    "TradeOffPoint",
]
