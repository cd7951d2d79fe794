"""Where labeling tasks come from when a model is served: unsure outputs and feedback.

Two sources, both written in the serving request's own transaction (the metered
commit path of a prediction, the write of a feedback), so a task exists exactly when
its request's outcome does:

**Low confidence** (:func:`select_unsure` before the transaction, :func:`queue_unsure`
in it).
    A classifier's output whose confidence (the probability of its label) is below
    the threshold — the model version's ``extra["labeling_threshold"]`` if set, else
    ``BARYON_LABELING_THRESHOLD`` — is queued on the model's queue (the queue named
    after the model, made on first use with the model's classes) with the model's
    label as suggestion, its confidence, and priority ``1 - confidence``; source
    ``prediction``, reason ``low_confidence``. ``POST /v1/models/{name}/predict``
    (any model with ``predict_proba`` and ``classes_``) and the sentiment and topic
    scores of ``/v1/sentiment/*`` feed it; support hand-offs queue themselves
    (:func:`baryon.solutions.support.service.queue_turn`).

**Disagreeing feedback** (:func:`queue_disagreement`).
    Feedback whose label differs from the logged prediction's label queues that
    item: source ``feedback``, reason ``disagreement``, the prediction as suggestion,
    priority 1 (above every low-confidence task).

Only inputs the organization lets Baryon keep can be labeled: both sources write
nothing unless the prediction log keeps the inputs — input mode ``full``, or
``masked``, where the task holds the input as the log does, with personal data masked
(:data:`~baryon.predictions.log.KEEPS_INPUTS`). In ``hashed`` and ``none`` nothing is
queued: a task without its input would be a task nobody can label.

Feedback labels are checked against the model (:func:`check_feedback_label`): a
classifier's label must be one of its classes (422 ``unknown_label``); a regression's
must be a number (422 ``label_not_numeric``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from baryon.core.clock import Clock
from baryon.core.errors import InvalidInput
from baryon.data.pii import mask_json
from baryon.labeling.queue import enqueue, ensure_queue
from baryon.labeling.service import model_classes
from baryon.predictions.inference import ServedModel
from baryon.predictions.log import KEEPS_INPUTS
from baryon.predictions.tables import PredictionRow

__all__ = [
    "LabelSpace",
    "Scored",
    "check_feedback_label",
    "label_space",
    "labeling_threshold",
    "queue_disagreement",
    "queue_unsure",
    "scored_outputs",
    "select_unsure",
    "task_input",
    "unsure_outputs",
]

#: Priority of a task queued by feedback that disagrees with its prediction.
DISAGREEMENT_PRIORITY = 1.0


@dataclass(frozen=True)
class Scored:
    """One scored input: what would be labeled, and the model's guess.

    Attributes
    ----------
    input : dict
        The task's input (``{"text": ...}`` for text models).
    label : str
        The model's label (named through ``label_names``).
    confidence : float
        Its probability, in [0, 1].
    """

    input: dict[str, Any]
    label: str
    confidence: float


def labeling_threshold(extra: Mapping[str, Any], default: float) -> float:
    """The model version's ``extra["labeling_threshold"]`` if it is a number in [0, 1],
    else ``default``."""
    value = extra.get("labeling_threshold")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return default


def _blank_text(row: Mapping[str, Any]) -> bool:
    text = row.get("text")
    return isinstance(text, str) and not text.strip()


def task_input(raw: Any, feature_columns: Sequence[str] = ()) -> dict[str, Any] | None:
    """The task input for one model input, or ``None`` when it cannot be labeled.

    A text becomes ``{"text": text}``; an object stays as is; a list of values is
    named by ``feature_columns`` (``{"values": [...]}`` without them); anything else
    (a recommender's user id) is not labeled, and neither is an empty or blank text
    (nothing to label; the flywheel would leave it out as ``invalid_input``).
    """
    if isinstance(raw, str):
        return {"text": raw} if raw.strip() else None
    if isinstance(raw, dict):
        return None if _blank_text(raw) else dict(raw)
    if isinstance(raw, list):
        if feature_columns and len(feature_columns) == len(raw):
            return dict(zip(feature_columns, raw, strict=True))
        return {"values": list(raw)}
    return None


def _names(model: ServedModel | None) -> dict[str, str]:
    if model is None:
        return {}
    names = model.extra.get("label_names") or {}
    return {str(k): str(v) for k, v in names.items()}


def _label_text(value: Any, names: Mapping[str, str]) -> str | None:
    if isinstance(value, str | int | float) and not (
        isinstance(value, float) and not math.isfinite(value)
    ):
        text = str(value)
        return names.get(text, text)
    return None


def _probability(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None


def scored_outputs(
    model: ServedModel, inputs: Sequence[Any], outputs: Sequence[Any]
) -> list[Scored]:
    """The outputs of ``POST /v1/models/{name}/predict`` that carry a label and its
    probability (classifiers with ``predict_proba``), with their task inputs."""
    names = _names(model)
    scored = []
    for raw, out in zip(inputs, outputs, strict=True):
        if not isinstance(out, dict) or not isinstance(out.get("probabilities"), dict):
            continue
        label = _label_text(out.get("label"), names)
        confidence = _probability(out["probabilities"].get(str(out.get("label"))))
        row = task_input(raw, model.feature_columns)
        if label is not None and confidence is not None and row is not None:
            scored.append(Scored(row, label, confidence))
    return scored


def select_unsure(
    model: ServedModel, scored: Sequence[Scored], *, input_mode: str, default_threshold: float
) -> list[Scored]:
    """The ``scored`` inputs to queue: below the model's labeling threshold, and only in
    an input mode that keeps inputs (nothing in ``hashed`` or ``none``); in ``masked``
    each input comes back with its personal data masked, as the log keeps it. An empty or blank
    text is never queued.

    Pure: the routes call it before their transaction, so a request with nothing to
    queue pays nothing in it.

    Parameters
    ----------
    model : ServedModel
        The model that scored them (its ``extra["labeling_threshold"]``).
    input_mode : {"full", "masked", "hashed", "none"}
        The organization's prediction-log input mode.
    default_threshold : float
        ``Settings.labeling_threshold``.
    """
    if input_mode not in KEEPS_INPUTS:
        return []
    threshold = labeling_threshold(model.extra, default_threshold)
    unsure = [s for s in scored if s.confidence < threshold and not _blank_text(s.input)]
    if input_mode == "masked":
        unsure = [Scored(mask_json(s.input)[0], s.label, s.confidence) for s in unsure]
    return unsure


def unsure_outputs(
    model: ServedModel,
    inputs: Sequence[Any],
    outputs: Sequence[Any],
    *,
    input_mode: str,
    default_threshold: float,
) -> list[Scored]:
    """The predict route's :func:`select_unsure` over :func:`scored_outputs`."""
    if input_mode not in KEEPS_INPUTS:
        return []
    scored = scored_outputs(model, inputs, outputs)
    return select_unsure(model, scored, input_mode=input_mode, default_threshold=default_threshold)


def queue_unsure(
    session: Session,
    model: ServedModel,
    unsure: Sequence[Scored],
    *,
    prediction_id: str | None,
    org_id: str,
    clock: Clock,
    classes: Sequence[str] | None = None,
) -> list[str]:
    """Queue ``unsure`` inputs (from :func:`select_unsure`) on the model's queue.

    Parameters
    ----------
    session : Session
        The request's transaction (the metered path's ``tx.session``).
    model : ServedModel
        The model that scored them: its name is the queue's, its version the tasks'.
    prediction_id : str or None
        The logged prediction.
    classes : sequence of str, optional
        The model's label space as the caller names it (default:
        :func:`~baryon.labeling.service.model_classes`).

    Returns
    -------
    list of str
        The task ids (an input queued before keeps its task).
    """
    if not unsure:
        return []
    space = {*(model_classes(model) or () if classes is None else classes)}
    space.update(s.label for s in unsure)
    queue = ensure_queue(
        session, org_id=org_id, model_name=model.name, classes=sorted(space), clock=clock
    )
    return [
        enqueue(
            session,
            queue,
            input=s.input,
            source="prediction",
            reason="low_confidence",
            clock=clock,
            priority=1.0 - s.confidence,
            prediction_id=prediction_id,
            model_version=model.version,
            suggested_label=s.label,
            confidence=s.confidence,
        )
        for s in unsure
    ]


# ------------------------------------------------------------------- feedback
@dataclass(frozen=True)
class LabelSpace:
    """What a feedback label may be for one logged output.

    Attributes
    ----------
    classes : frozenset of str
        A classifier's labels (named); empty for a regression.
    numeric : bool
        A regression: the label is a number.
    names : dict of str to str
        ``label_names`` of the model version (raw class → name).
    """

    classes: frozenset[str]
    numeric: bool
    names: Mapping[str, str] = field(default_factory=dict)

    def canonical(self, value: Any) -> str | None:
        """``value`` as a class name (``None`` if it cannot be one)."""
        return _label_text(value, self.names)


def label_space(model: ServedModel | None, output: Any) -> LabelSpace | None:
    """The label space of one logged output (``None`` when unknown).

    From the model when it could be resolved (its task and classes), and from the
    output itself (the keys of ``probabilities``; an output that is only
    ``{"value": x}`` is a regression's).
    """
    names = _names(model)
    regression = output if isinstance(output, dict) else {}
    if (model is not None and model.task == "regression") or (
        model is None and set(regression) == {"value"}
    ):
        return LabelSpace(frozenset(), True, names)
    classes = set(model_classes(model) or ()) if model is not None else set()
    if isinstance(output, dict) and isinstance(output.get("probabilities"), dict):
        classes |= {names.get(str(k), str(k)) for k in output["probabilities"]}
    if not classes:
        return None
    return LabelSpace(frozenset(classes), False, names)


def _logged(session: Session, prediction_id: str, item: int) -> tuple[PredictionRow, Any] | None:
    row = session.get(PredictionRow, prediction_id)
    if row is None or not 0 <= item < len(row.outputs):
        return None
    return row, row.outputs[item]


def check_feedback_label(
    session: Session, model: ServedModel | None, *, prediction_id: str, item: int, label: Any
) -> None:
    """Refuse a feedback label the prediction's model cannot have given.

    Nothing is checked for a rating (``label`` ``None``), an unknown prediction or
    item (:func:`~baryon.predictions.log.add_feedback` refuses those) or an output
    whose label space is unknown.

    Parameters
    ----------
    model : ServedModel or None
        The logged prediction's model version, if it can still be resolved.

    Raises
    ------
    InvalidInput
        ``unknown_label`` (not one of a classifier's classes), ``label_not_numeric``
        (a class label for a regression).
    """
    found = None if label is None else _logged(session, prediction_id, item)
    if found is None:
        return
    space = label_space(model, found[1])
    if space is None:
        return
    if space.numeric:
        if isinstance(label, bool) or not isinstance(label, int | float):
            raise InvalidInput(
                "this prediction is a regression's: its feedback label is a number",
                code="label_not_numeric",
            )
        return
    if space.canonical(label) not in space.classes:
        shown = sorted(space.classes)[:20]
        raise InvalidInput(
            f"label {label!r} is not one of the model's classes",
            code="unknown_label",
            details={"classes": shown, "more": len(space.classes) - len(shown)},
        )


def queue_disagreement(
    session: Session,
    model: ServedModel | None,
    *,
    prediction_id: str,
    item: int,
    label: Any,
    org_id: str,
    clock: Clock,
) -> str | None:
    """Queue a logged input whose feedback label differs from the prediction's label.

    Returns
    -------
    str or None
        The task id; ``None`` when nothing was queued (the labels agree, the output
        has no label, the log did not keep the input, a regression, a rating).
    """
    found = None if label is None else _logged(session, prediction_id, item)
    if found is None:
        return None
    row, output = found
    inputs = row.inputs
    if inputs is None or item >= len(inputs):
        return None  # the log kept no inputs (input mode hashed or none); masked ones are
        # masked already
    space = label_space(model, output)
    if space is None or space.numeric or not isinstance(output, dict):
        return None
    predicted = space.canonical(output.get("label", output.get("intent")))
    if predicted is None or predicted == space.canonical(label):
        return None
    row_input = task_input(inputs[item], () if model is None else model.feature_columns)
    if row_input is None:
        return None
    probabilities = output.get("probabilities")
    confidence = _probability(output.get("confidence", output.get("probability")))
    if confidence is None and isinstance(probabilities, dict):
        confidence = _probability(probabilities.get(str(output.get("label"))))
    queue = ensure_queue(
        session, org_id=org_id, model_name=row.model_name, classes=sorted(space.classes),
        clock=clock,
    )  # fmt: skip
    return enqueue(
        session,
        queue,
        input=row_input,
        source="feedback",
        reason="disagreement",
        clock=clock,
        priority=DISAGREEMENT_PRIORITY,
        prediction_id=prediction_id,
        model_version=row.model_version,
        suggested_label=predicted,
        confidence=confidence,
    )
