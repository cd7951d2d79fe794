"""Answer a customer's message: intent, answer template, or a hand-off to a human.

One turn goes::

    text ─► checks (not blank, at most max_text_chars) ─► NFC + strip
         ─► support-intent champion: intent and confidence (largest probability)
         ─► confidence >= extra["handoff_threshold"] ?  answer from answers.yaml
                                                      : hand off (reason code)
         ─► a hand-off is queued: support_handoffs (+ labeling_tasks when the text
            may be kept)

Reason codes of a hand-off (``handoff_reason``):

``out_of_scope``
    confidence below ``extra["out_of_scope_threshold"]``: unlike any banking
    question the model knows (:mod:`baryon.solutions.support.handoff`);
``low_confidence``
    below the hand-off threshold but above that: probably banking, intent unsure;
``no_answer``
    the model is confident but the intent has no answer template (a model trained
    on other intents than Banking77's).

A model version without ``extra["handoff_threshold"]`` (e.g. trained by hand with
``baryon train``) uses :data:`DEFAULT_THRESHOLD`.

:class:`SupportService` is the Python and terminal entry point (``baryon support
ask``): it uses the workspace's champion directly and is not metered; its turns
have no organization. ``POST /v1/support/answer`` (:mod:`baryon.serving.routers.support`)
runs :meth:`SupportService.decide` on the model the serving layer resolved and
writes the turn with :func:`queue_turn` in its metered transaction.
"""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.errors import BaryonError, InvalidInput, ModelNotReady, NotFound
from baryon.core.ids import new_id
from baryon.core.scope import OPERATOR_ORG_ID
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.predictions.log import hash_input, logged_inputs
from baryon.solutions._reuse import check_unicode
from baryon.solutions.bundled import SupportAnswers, load_answers
from baryon.solutions.support.handoff import handoff_reason
from baryon.solutions.support.inbox import check_status, handoff_dict
from baryon.solutions.support.pipeline import MODEL_NAME
from baryon.solutions.support.tables import (
    MAX_CONVERSATION_ID_CHARS,
    SupportHandoffRow,
)

if TYPE_CHECKING:
    from baryon.core.clock import Clock
    from baryon.workspace import Workspace

__all__ = [
    "DEFAULT_THRESHOLD",
    "NO_ANSWER",
    "IntentModel",
    "SupportDecision",
    "SupportService",
    "check_conversation_id",
    "check_text",
    "decide",
    "list_handoffs",
    "queue_turn",
    "text_hash",
]

#: Hand-off threshold of a model version that has none in its ``extra``.
DEFAULT_THRESHOLD = 0.5
#: Reason code: the intent has no answer template.
NO_ANSWER = "no_answer"
#: ``labeling_tasks.source`` of support turns.
SOURCE = "support"


@dataclass(frozen=True)
class IntentModel:
    """The intent model one turn is answered with.

    Attributes
    ----------
    name : str
    version : int
    estimator : object
        Fitted text classifier with ``predict_proba`` and ``classes_``.
    extra : dict
        The version's extra (``handoff_threshold``, ``out_of_scope_threshold``).
    """

    name: str
    version: int
    estimator: Any
    extra: dict[str, Any]

    @property
    def threshold(self) -> float:
        """Hand off below this confidence."""
        value = self.extra.get("handoff_threshold")
        return DEFAULT_THRESHOLD if value is None else float(value)

    @property
    def out_of_scope_threshold(self) -> float | None:
        """Below this confidence the reason is ``out_of_scope`` (None: never)."""
        value = self.extra.get("out_of_scope_threshold")
        return None if value is None else float(value)


@dataclass(frozen=True)
class SupportDecision:
    """What the assistant does with one turn (before it gets a prediction id).

    Attributes
    ----------
    text : str
        The text as classified (NFC, stripped).
    intent : str
        The model's most probable intent (its best guess even when handed off).
    confidence : float
        Its probability, in [0, 1].
    answer : str
        The intent's answer template, or the hand-off message.
    handoff : bool
    handoff_reason : str or None
        ``out_of_scope``, ``low_confidence``, ``no_answer`` or None.
    model_name : str
    model_version : int
    classes : tuple of str
        The model's labels (a hand-off's labeling queue offers them).
    """

    text: str
    intent: str
    confidence: float
    answer: str
    handoff: bool
    handoff_reason: str | None
    model_name: str
    model_version: int
    classes: tuple[str, ...] = ()

    def to_output(self) -> dict[str, Any]:
        """The turn's output as logged (no text, no ids)."""
        out = asdict(self)
        del out["text"], out["model_name"], out["model_version"], out["classes"]
        return out

    def to_response(self, prediction_id: str) -> dict[str, Any]:
        """The public answer: intent, confidence, answer, hand-off, ids."""
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "answer": self.answer,
            "handoff": self.handoff,
            "handoff_reason": self.handoff_reason,
            "prediction_id": prediction_id,
            "model": self.model_name,
            "model_version": self.model_version,
        }


def text_hash(text: str) -> str:
    """Return the SHA-256 (hex) of ``text``'s canonical JSON.

    The same digest as the prediction log's ``input_hashes`` for a text input, so a
    hand-off can be matched to its logged prediction without keeping the text.
    """
    return hash_input(text)


def check_text(text: Any, *, max_chars: int) -> str:
    """Return ``text`` Unicode-normalised (NFC) and stripped, if it can be answered.

    Parameters
    ----------
    text : str
        The customer's message.
    max_chars : int
        Longest text accepted, in characters (``Settings.max_text_chars``).

    Raises
    ------
    InvalidInput
        ``invalid_input`` (not a string), ``invalid_unicode`` (a lone surrogate),
        ``empty_text`` (blank) or ``text_too_long`` (longer than ``max_chars``).
    """
    if not isinstance(text, str):
        raise InvalidInput("text must be a string", code="invalid_input")
    check_unicode(text)
    if len(text) > max_chars:
        raise InvalidInput(
            f"text is longer than {max_chars} characters",
            code="text_too_long",
            details={"max_text_chars": max_chars},
        )
    clean = unicodedata.normalize("NFC", text).strip()
    if not clean:
        raise InvalidInput("text is empty", code="empty_text")
    return clean


def check_conversation_id(conversation_id: Any) -> str | None:
    """Return ``conversation_id`` if valid (None passes).

    Raises
    ------
    InvalidInput
        ``invalid_conversation_id``: not a string, blank, or longer than 200 characters.
    """
    if conversation_id is None:
        return None
    if (
        not isinstance(conversation_id, str)
        or not conversation_id.strip()
        or len(conversation_id) > MAX_CONVERSATION_ID_CHARS
    ):
        raise InvalidInput(
            f"conversation_id must be a non-blank string of at most "
            f"{MAX_CONVERSATION_ID_CHARS} characters",
            code="invalid_conversation_id",
        )
    return conversation_id


def decide(model: IntentModel, text: str, answers: SupportAnswers) -> SupportDecision:
    """Classify one checked text and decide: answer or hand off.

    Parameters
    ----------
    model : IntentModel
    text : str
        Output of :func:`check_text`.
    answers : SupportAnswers
        Templates by intent and the hand-off message.

    Raises
    ------
    BaryonError
        ``prediction_failed`` if the model fails on the text.
    """
    try:
        proba = np.asarray(model.estimator.predict_proba([text]), dtype=np.float64)[0]
        classes = np.asarray(model.estimator.classes_)
    except BaryonError:
        raise
    except Exception:
        raise BaryonError(
            f"the {model.name} model failed on this text", code="prediction_failed"
        ) from None
    best = int(np.argmax(proba))
    intent, confidence = str(classes[best]), float(proba[best])
    reason = handoff_reason(
        confidence, threshold=model.threshold, out_of_scope_threshold=model.out_of_scope_threshold
    )
    template = answers.answers.get(intent)
    if reason is None and template is None:
        reason = NO_ANSWER
    return SupportDecision(
        text=text,
        intent=intent,
        confidence=confidence,
        answer=answers.handoff if reason is not None or template is None else template,
        handoff=reason is not None,
        handoff_reason=reason,
        model_name=model.name,
        model_version=model.version,
        classes=tuple(str(c) for c in classes),
    )


def queue_turn(
    session: Session,
    decision: SupportDecision,
    *,
    prediction_id: str,
    org_id: str,
    conversation_id: str | None,
    input_mode: str,
    clock: Clock,
) -> str | None:
    """Write a handed-off turn to the hand-off queue and, text allowed, the labeling queue.

    Nothing is written for an answered turn. The text is kept as the organization's
    prediction log keeps inputs: as sent (``full``) or with personal data masked
    (``masked``); ``hashed`` keeps only its SHA-256, ``none`` neither — and without the
    text there is nothing to label.
    An open labeling task for the same text and organization is reused
    (``seen_count`` + 1).

    Parameters
    ----------
    session : Session
        The caller's transaction.
    decision : SupportDecision
    prediction_id : str
    org_id : str or None
    conversation_id : str or None
    input_mode : {"full", "masked", "hashed", "none"}
    clock : Clock

    Returns
    -------
    str or None
        The labeling task id, if the turn was queued for labeling.
    """
    if not decision.handoff:
        return None
    now: datetime = clock.now()
    kept = logged_inputs(input_mode, [decision.text])
    text = None if kept is None else str(kept[0])
    if text is not None:
        digest: str | None = text_hash(text)
    else:
        digest = text_hash(decision.text) if input_mode == "hashed" else None
    session.add(
        SupportHandoffRow(
            prediction_id=prediction_id,
            org_id=org_id,
            conversation_id=conversation_id,
            model_name=decision.model_name,
            model_version=decision.model_version,
            intent=decision.intent,
            confidence=decision.confidence,
            reason=str(decision.handoff_reason),
            text=text,
            text_hash=digest,
            status="open",
            created_at=now,
        )
    )
    if text is None:
        return None
    queue = ensure_queue(
        session,
        org_id=org_id,
        model_name=decision.model_name,
        classes=decision.classes,
        clock=clock,
    )
    return enqueue(
        session,
        queue,
        input={"text": text},
        source=SOURCE,
        reason=str(decision.handoff_reason),
        clock=clock,
        priority=1.0 - decision.confidence,
        prediction_id=prediction_id,
        model_version=decision.model_version,
        suggested_label=decision.intent,
        confidence=decision.confidence,
    )


def list_handoffs(
    session: Session,
    org_id: str,
    *,
    status: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """An organization's hand-offs, newest first.

    Parameters
    ----------
    session : Session
        Opened with the organization's scope.
    org_id : str
    status : {"open", "closed"}, optional
        Only hand-offs in this state.
    limit : int
        Most hand-offs returned (1 to 500).
    offset : int
        Hand-offs of that order to pass over first (a page's start, 0 or more).

    Returns
    -------
    list of dict
        :func:`baryon.solutions.support.inbox.handoff_dict` of each: ``{"prediction_id",
        "conversation_id", "model", "model_version", "intent", "confidence", "reason",
        "text", "status", "created_at", "answer", ...}``; ``text`` is ``None`` when the
        organization keeps no inputs.

    Raises
    ------
    InvalidInput
        ``invalid_limit`` for a limit out of range, ``invalid_offset``,
        ``invalid_status``.
    """
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500", code="invalid_limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidInput("offset must be 0 or more", code="invalid_offset")
    stmt = select(SupportHandoffRow).where(SupportHandoffRow.org_id == org_id)
    if check_status(status) is not None:
        stmt = stmt.where(SupportHandoffRow.status == status)
    rows = session.scalars(
        stmt.order_by(SupportHandoffRow.created_at.desc(), SupportHandoffRow.prediction_id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [handoff_dict(r) for r in rows]


class SupportService:
    """The customer-service assistant over a workspace's ``support-intent`` champion.

    Parameters
    ----------
    workspace : Workspace
    model_name : str
        Registered model to answer with (default ``support-intent``).
    answers : SupportAnswers, optional
        Templates (default: the bundled ``answers.yaml``).

    Examples
    --------
    >>> SupportService(ws).answer("I still haven't received my card")  # doctest: +SKIP
    {'intent': 'card_arrival', 'confidence': 0.97, 'answer': 'New cards usually ...',
     'handoff': False, 'handoff_reason': None, 'prediction_id': 'pred_...',
     'model': 'support-intent', 'model_version': 1}
    """

    def __init__(
        self,
        workspace: Workspace,
        *,
        model_name: str = MODEL_NAME,
        answers: SupportAnswers | None = None,
    ) -> None:
        self.workspace = workspace
        self.model_name = model_name
        self._answers = answers

    @property
    def answers(self) -> SupportAnswers:
        """The answer templates (read once)."""
        if self._answers is None:
            self._answers = load_answers()
        return self._answers

    def model(self) -> IntentModel:
        """Load the champion (cached by the registry).

        Raises
        ------
        ModelNotReady
            No model of that name, or it has no champion.
        """
        try:
            loaded = self.workspace.registry.load(self.model_name)
        except NotFound as exc:
            if exc.code != "model_not_found":
                raise
            raise ModelNotReady(
                f"no {self.model_name} model in this workspace yet: run `baryon demo` "
                "(or SupportPipeline(ws).run()) to train it",
                details={"model": self.model_name},
            ) from None
        mv = loaded.version
        return IntentModel(mv.name, mv.version, loaded.estimator, dict(mv.extra))

    def decide(self, text: str, *, model: IntentModel | None = None) -> SupportDecision:
        """Check ``text`` and decide (no id, nothing written).

        Raises
        ------
        InvalidInput
            ``empty_text``, ``text_too_long``.
        ModelNotReady
            No model or no champion.
        """
        clean = check_text(text, max_chars=self.workspace.settings.max_text_chars)
        return decide(model or self.model(), clean, self.answers)

    def answer(self, text: str, conversation_id: str | None = None) -> dict[str, Any]:
        """Answer one turn; a hand-off is queued (hand-off and labeling tables).

        Parameters
        ----------
        text : str
            The customer's message (at most ``Settings.max_text_chars`` characters).
        conversation_id : str, optional
            Groups the turns of one conversation (at most 200 characters).

        Returns
        -------
        dict
            ``intent``, ``confidence``, ``answer``, ``handoff``, ``handoff_reason``,
            ``prediction_id``, ``model``, ``model_version``.

        Raises
        ------
        InvalidInput
            ``empty_text``, ``text_too_long``, ``invalid_conversation_id``.
        ModelNotReady
            No ``support-intent`` model (run ``baryon demo`` or
            ``SupportPipeline(ws).run()``), or it has no champion.
        """
        conversation_id = check_conversation_id(conversation_id)
        decision = self.decide(text)
        clock = self.workspace.clock
        prediction_id = new_id("pred", clock)
        if decision.handoff:
            scope = self.workspace.scope
            with self.workspace.db.session(scope) as session:
                queue_turn(
                    session,
                    decision,
                    prediction_id=prediction_id,
                    org_id=scope.org_id or OPERATOR_ORG_ID,
                    conversation_id=conversation_id,
                    input_mode="full",
                    clock=clock,
                )
        return decision.to_response(prediction_id)
