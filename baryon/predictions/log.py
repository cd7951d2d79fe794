"""The prediction log, feedback on it, and per-organization endpoints.

Every served prediction request is one row of ``prediction_log`` (its id is the
``prediction_id`` of the response), written in the same transaction as its usage
record. Inputs are kept as the organization chose (``prediction_inputs``):

``full``    the inputs as sent;
``masked``  the inputs with personal data masked in every string (e-mail addresses,
            IBANs, card and phone numbers become ``[EMAIL]``, ``[IBAN]``, ``[CARD]``,
            ``[PHONE]``; :func:`baryon.data.pii.mask_json`) — the default of new
            organizations;
``hashed``  the SHA-256 of each input's canonical JSON (sorted keys, no spaces), so
            a later label can be matched to a known input without storing it;
``none``    nothing but the number of inputs.

Only ``full`` and ``masked`` keep something a person can label (:data:`KEEPS_INPUTS`):
in ``hashed`` and ``none`` unsure predictions and disagreeing feedback are not queued
for labeling, and feedback teaches the flywheel nothing.

Feedback gives ground truth for one item (``item``, default 0) of a logged
prediction: a ``label`` (the right class, text or value) or a ``rating`` (a number,
e.g. a recommendation's relevance). One feedback per item; a second is a conflict.

An **endpoint** is an organization's view of a model: its champion/challenger
traffic split (``challenger_weight`` in [0, 1]; needs the plan feature
``traffic_split`` to be above 0).
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from baryon.commerce.metering import Executor
from baryon.core.audit import record_audit
from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from baryon.core.ids import new_id
from baryon.core.jsonvalues import canonical_bytes
from baryon.data.pii import mask_json
from baryon.predictions.tables import EndpointRow, FeedbackRow, PredictionRow

__all__ = [
    "KEEPS_INPUTS",
    "add_feedback",
    "get_endpoint",
    "get_prediction",
    "hash_input",
    "list_endpoints",
    "list_predictions",
    "log_prediction",
    "logged_inputs",
    "set_endpoint",
    "variant_outcomes",
]


_INSERT_PREDICTION = insert(PredictionRow)


def hash_input(value: Any) -> str:
    """Return the SHA-256 (hex) of ``value``'s canonical JSON."""
    return hashlib.sha256(canonical_bytes(value)).hexdigest()


#: Input modes whose log keeps inputs that can be labeled (``masked``: with PII masked).
KEEPS_INPUTS = frozenset({"full", "masked"})


def logged_inputs(input_mode: str, inputs: list[Any]) -> list[Any] | None:
    """Return what the prediction log keeps of ``inputs`` in ``input_mode``.

    Parameters
    ----------
    input_mode : {"full", "masked", "hashed", "none"}
        The organization's ``prediction_inputs``.
    inputs : list
        The request's inputs (JSON values).

    Returns
    -------
    list or None
        The inputs (``full``), the inputs with personal data masked (``masked``), or
        ``None`` (``hashed``, ``none``: no input is kept).
    """
    if input_mode == "full":
        return inputs
    if input_mode == "masked":
        return [mask_json(x)[0] for x in inputs]
    return None


def log_prediction(
    session: Executor,
    *,
    prediction_id: str,
    org_id: str,
    key_id: str,
    model_name: str,
    model_version: int,
    variant: str,
    request_id: str | None,
    input_mode: str,
    inputs: list[Any],
    outputs: list[Any],
    flags: list[str],
    latency_ms: float,
    at: datetime,
) -> None:
    """Add one prediction-log row to the caller's transaction (inputs per ``input_mode``)."""
    session.execute(
        _INSERT_PREDICTION,
        {
            "id": prediction_id,
            "org_id": org_id,
            "key_id": key_id,
            "model_name": model_name,
            "model_version": model_version,
            "variant": variant,
            "request_id": request_id,
            "input_mode": input_mode,
            "inputs": logged_inputs(input_mode, inputs),
            "input_hashes": [hash_input(x) for x in inputs] if input_mode == "hashed" else None,
            "outputs": outputs,
            "flags": flags,
            "n_inputs": len(inputs),
            "latency_ms": latency_ms,
            "at": at,
        },
    )


def _prediction_dict(row: PredictionRow) -> dict[str, Any]:
    return {
        "prediction_id": row.id,
        "model": row.model_name,
        "model_version": row.model_version,
        "variant": row.variant,
        "request_id": row.request_id,
        "key_id": row.key_id,
        "input_mode": row.input_mode,
        "inputs": row.inputs,
        "input_hashes": row.input_hashes,
        "outputs": row.outputs,
        "flags": row.flags,
        "n_inputs": row.n_inputs,
        "latency_ms": row.latency_ms,
        "at": row.at.isoformat(),
    }


def get_prediction(session: Session, prediction_id: str, *, org_id: str) -> dict[str, Any]:
    """Return one logged prediction of ``org_id`` (another organization's is not found).

    Raises
    ------
    NotFound
        Code ``prediction_not_found``.
    """
    row = session.get(PredictionRow, prediction_id)
    if row is None or row.org_id != org_id:
        raise NotFound(f"no prediction {prediction_id!r}", code="prediction_not_found")
    return _prediction_dict(row)


def list_predictions(
    session: Session, *, org_id: str, model: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Return the organization's latest logged predictions, newest first."""
    stmt = select(PredictionRow).where(PredictionRow.org_id == org_id)
    if model is not None:
        stmt = stmt.where(PredictionRow.model_name == model)
    stmt = stmt.order_by(PredictionRow.at.desc(), PredictionRow.id.desc()).limit(limit)
    return [_prediction_dict(r) for r in session.scalars(stmt)]


def add_feedback(
    session: Session,
    *,
    org_id: str,
    key_id: str,
    prediction_id: str,
    item: int = 0,
    label: Any = None,
    rating: float | None = None,
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Store ground truth for item ``item`` of a logged prediction.

    Raises
    ------
    InvalidInput
        Neither or both of ``label``/``rating``; a non-finite rating; ``item`` out of
        range (code ``invalid_feedback``).
    NotFound
        Unknown prediction, or one of another organization (``prediction_not_found``).
    Conflict
        That item already has feedback (``feedback_exists``).
    """
    clock = clock or SystemClock()
    if (label is None) == (rating is None):
        raise InvalidInput("give exactly one of 'label' or 'rating'", code="invalid_feedback")
    if rating is not None and not math.isfinite(rating):
        raise InvalidInput("rating must be a finite number", code="invalid_feedback")
    row = session.get(PredictionRow, prediction_id)
    if row is None or row.org_id != org_id:
        raise NotFound(f"no prediction {prediction_id!r}", code="prediction_not_found")
    if not 0 <= item < row.n_inputs:
        raise InvalidInput(
            f"item must be from 0 to {row.n_inputs - 1} for this prediction",
            code="invalid_feedback",
        )
    taken = session.scalar(
        select(FeedbackRow.id).where(
            FeedbackRow.prediction_id == prediction_id, FeedbackRow.item == item
        )
    )
    if taken is not None:
        raise Conflict("this prediction item already has feedback", code="feedback_exists")
    feedback = FeedbackRow(
        id=new_id("fb", clock),
        org_id=org_id,
        prediction_id=prediction_id,
        item=item,
        label=label,
        rating=rating,
        key_id=key_id,
        at=clock.now(),
    )
    session.add(feedback)
    session.flush()
    return {
        "feedback_id": feedback.id,
        "prediction_id": prediction_id,
        "item": item,
        "label": label,
        "rating": rating,
        "at": feedback.at.isoformat(),
    }


# ------------------------------------------------------------------- endpoints
def get_endpoint(session: Session, org_id: str, model_name: str) -> float:
    """Return the organization's challenger weight for ``model_name`` (0 when unset)."""
    weight = session.scalar(
        select(EndpointRow.challenger_weight).where(
            EndpointRow.org_id == org_id, EndpointRow.model_name == model_name
        )
    )
    return float(weight or 0.0)


def list_endpoints(session: Session, org_id: str) -> list[dict[str, Any]]:
    """Return the organization's configured endpoints, by model name."""
    rows = session.scalars(
        select(EndpointRow).where(EndpointRow.org_id == org_id).order_by(EndpointRow.model_name)
    )
    return [
        {
            "model": r.model_name,
            "challenger_weight": r.challenger_weight,
            "updated_at": r.updated_at.isoformat(),
        }
        for r in rows
    ]


def set_endpoint(
    session: Session,
    *,
    org_id: str,
    model_name: str,
    challenger_weight: float,
    features: tuple[str, ...],
    actor: str = "system",
    clock: Clock | None = None,
) -> dict[str, Any]:
    """Set the traffic split of the organization's endpoint for ``model_name`` (audited).

    Raises
    ------
    InvalidInput
        Weight outside [0, 1] (code ``invalid_weight``).
    Forbidden
        A weight above 0 on a plan without ``traffic_split`` (``feature_not_in_plan``).
    """
    clock = clock or SystemClock()
    if not isinstance(challenger_weight, int | float) or not 0.0 <= challenger_weight <= 1.0:
        raise InvalidInput("challenger_weight must be from 0 to 1", code="invalid_weight")
    if challenger_weight > 0 and "traffic_split" not in features:
        raise Forbidden(
            "the organization's plan does not include traffic_split",
            code="feature_not_in_plan",
        )
    now = clock.now()
    row = session.get(EndpointRow, (org_id, model_name))
    old = None if row is None else row.challenger_weight
    if row is None:
        row = EndpointRow(
            org_id=org_id,
            model_name=model_name,
            challenger_weight=float(challenger_weight),
            updated_at=now,
        )
        session.add(row)
    else:
        row.challenger_weight, row.updated_at = float(challenger_weight), now
    record_audit(
        session,
        actor=actor,
        action="endpoint.update",
        object_type="endpoint",
        object_id=model_name,
        org_id=org_id,
        details={"challenger_weight": [old, float(challenger_weight)]},
        clock=clock,
    )
    session.flush()
    return {
        "model": model_name,
        "challenger_weight": float(challenger_weight),
        "updated_at": now.isoformat(),
    }


# ------------------------------------------------------------------- outcomes
def _predicted_label(outputs: list[Any], item: int) -> Any:
    if not 0 <= item < len(outputs):
        return None
    out = outputs[item]
    return out.get("label") if isinstance(out, dict) else out


def variant_outcomes(
    session: Session, org_id: str, model_name: str, *, since: datetime | None = None
) -> list[dict[str, Any]]:
    """How each variant of an endpoint did: traffic, latency and ground truth.

    One row per (variant, model version) the prediction log holds for ``model_name``
    (since ``since``, if given), ``champion`` first:

    ``{"variant", "model_version", "requests", "inputs", "latency_ms_mean",
    "feedback", "labeled", "correct", "accuracy", "ratings", "rating_mean"}``

    where ``inputs`` counts predicted items, ``feedback`` the items with feedback,
    ``labeled`` those whose feedback is a label, ``correct`` those whose label equals
    the predicted one (``output["label"]``, or the output itself), ``accuracy`` =
    correct / labeled (``None`` without labels) and ``rating_mean`` the mean rating
    feedback (``None`` without ratings).

    Parameters
    ----------
    session : Session
        Scoped to the organization.
    org_id, model_name : str
    since : datetime, optional
        Only predictions made at or after this time.
    """
    p, f = PredictionRow, FeedbackRow
    where = [p.org_id == org_id, p.model_name == model_name]
    if since is not None:
        where.append(p.at >= since)
    traffic = session.execute(
        select(
            p.variant, p.model_version, func.count(), func.sum(p.n_inputs), func.avg(p.latency_ms)
        )
        .where(*where)
        .group_by(p.variant, p.model_version)
    ).all()
    out: dict[tuple[str, int], dict[str, Any]] = {
        (str(variant), int(version)): {
            "variant": str(variant),
            "model_version": int(version),
            "requests": int(requests),
            "inputs": int(inputs or 0),
            "latency_ms_mean": None if mean is None else float(mean),
            "feedback": 0,
            "labeled": 0,
            "correct": 0,
            "accuracy": None,
            "ratings": 0,
            "rating_mean": None,
        }
        for variant, version, requests, inputs, mean in traffic
    }
    rating_sums: dict[tuple[str, int], float] = {}
    truth = session.execute(
        select(p.variant, p.model_version, p.outputs, f.item, f.label, f.rating)
        .join(f, f.prediction_id == p.id)
        .where(*where)
    )
    for variant, version, outputs, item, label, rating in truth:
        row = out[(str(variant), int(version))]
        row["feedback"] += 1
        if label is not None:
            row["labeled"] += 1
            row["correct"] += int(_predicted_label(list(outputs or []), int(item)) == label)
        if rating is not None:
            row["ratings"] += 1
            key = (str(variant), int(version))
            rating_sums[key] = rating_sums.get(key, 0.0) + float(rating)
    for key, row in out.items():
        if row["labeled"]:
            row["accuracy"] = row["correct"] / row["labeled"]
        if row["ratings"]:
            row["rating_mean"] = rating_sums[key] / row["ratings"]
    return sorted(
        out.values(), key=lambda r: (r["variant"] != "champion", r["variant"], r["model_version"])
    )
