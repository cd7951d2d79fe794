"""Active learning over a dataset version: score its rows, queue the most uncertain.

::

    from baryon.labeling.sampling import sample_for_labeling

    result = sample_for_labeling(
        ws.for_org("acme"), "support-intent", "inbox:3", strategy="margin", n=50,
        diversity=True, seed=0,
    )
    result.enqueued, result.tasks[0]["suggested_label"]

Two steps, so the slow one holds no database transaction:

:func:`plan_sample` (reads only)
    Checks the request, finds the queue (``queue_not_found``) and the dataset version
    (``dataset_not_found``, ``version_not_found``; another organization's is not
    found either), loads the champion of the queue's model, builds the input of each
    row the way the model reads it (``{"text": ...}`` from the version's text column
    for text models; ``{feature: value}`` for tabular classifiers), drops rows whose
    input is already on the queue, is in the champion's frozen test split, repeats an
    earlier row or is empty, scores the rest with the champion's ``predict_proba``
    and picks the batch with :mod:`baryon.labeling.active`.
:func:`enqueue_sample` (one transaction)
    Puts the picked rows on the queue through :func:`baryon.labeling.queue.enqueue`
    (source ``active_learning``, reason = the strategy, priority = the score,
    suggestion = the champion's most probable class and its probability) and writes
    one audit event ``labeling.sample``.

Work is bounded: at most :data:`MAX_SAMPLE_SIZE` tasks per call and at most
``max_rows`` rows scored (:data:`DEFAULT_MAX_ROWS`, at most :data:`MAX_ROWS`); a
bigger version is scored on a seeded random subset of ``max_rows`` rows (the result
says how many rows were available and how many were scored). When the version has a
split only its ``train`` rows are candidates, so validation and test rows never go
to labeling (and from there into training). The diversity step clusters the
candidates' class-probability vectors: items the model confuses in the same way
(the same question asked again) fall in one cluster, of which one is asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import select

from baryon.core.audit import record_audit
from baryon.core.errors import Conflict, InvalidInput
from baryon.core.jsonvalues import to_jsonable
from baryon.labeling.active import STRATEGIES, score, select_batch
from baryon.labeling.queue import enqueue, get_queue
from baryon.labeling.tables import LabelingTaskRow
from baryon.predictions.log import hash_input

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy.orm import Session

    from baryon.core.clock import Clock
    from baryon.data.versions import DatasetVersion
    from baryon.training.model_versions import ModelVersion
    from baryon.workspace import Workspace

__all__ = [
    "DEFAULT_MAX_ROWS",
    "MAX_ROWS",
    "MAX_SAMPLE_SIZE",
    "SOURCE",
    "SamplePlan",
    "SampleResult",
    "check_request",
    "enqueue_sample",
    "plan_sample",
    "sample_for_labeling",
]

#: ``source`` of the tasks this module queues.
SOURCE = "active_learning"
#: Most tasks one call may queue.
MAX_SAMPLE_SIZE = 1000
#: Rows scored by default; a bigger version is scored on a seeded subset.
DEFAULT_MAX_ROWS = 10_000
#: Most rows one call may score.
MAX_ROWS = 100_000
_BATCH_ROWS = 1024  # rows per predict_proba call (bounds memory)
_HASH_CHUNK = 500  # input hashes per IN (...) lookup
_CLASSIFIER_TASKS = ("classification", "text_classification")


@dataclass(frozen=True)
class SamplePlan:
    """What :func:`plan_sample` chose, ready for :func:`enqueue_sample`.

    Attributes
    ----------
    queue_id, queue_name, org_id : str
    model_name : str
    model_version : int
        The champion version that scored the rows.
    dataset : str
        ``name:version`` of the sampled dataset version.
    strategy : str
    diversity : bool
    seed : int
    n : int
        Tasks asked for.
    counts : dict of str to int
        ``rows_available`` (candidate rows: the train split when there is a split),
        ``rows_scored``, ``already_queued``, ``in_test_split``, ``duplicates``,
        ``empty`` (rows dropped for each reason, among the scored rows).
    items : list of dict
        The picked rows, highest score first: ``input``, ``score``,
        ``suggested_label``, ``confidence``.
    """

    queue_id: str
    queue_name: str
    org_id: str
    model_name: str
    model_version: int
    dataset: str
    strategy: str
    diversity: bool
    seed: int
    n: int
    counts: dict[str, int]
    items: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SampleResult:
    """What a sampling call queued (``POST /v1/labeling/queues/{name}/sample`` answers it).

    Attributes
    ----------
    plan : SamplePlan
    task_ids : list of str
        One per item of ``plan.items``, in the same order.
    """

    plan: SamplePlan
    task_ids: list[str]

    @property
    def enqueued(self) -> int:
        """Tasks queued by this call."""
        return len(self.task_ids)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the request's settings, counts and the queued tasks."""
        p = self.plan
        return {
            "queue": p.queue_name,
            "model": p.model_name,
            "model_version": p.model_version,
            "dataset": p.dataset,
            "strategy": p.strategy,
            "diversity": p.diversity,
            "seed": p.seed,
            "requested": p.n,
            "enqueued": self.enqueued,
            **p.counts,
            "tasks": [
                {"task_id": task_id, **item}
                for task_id, item in zip(self.task_ids, p.items, strict=True)
            ],
        }


def check_request(strategy: str, n: int, max_rows: int) -> None:
    """Refuse a bad strategy, batch size or row cap (before any lookup).

    Raises
    ------
    InvalidInput
        ``invalid_strategy``, ``invalid_sample_size`` (``n`` outside 1 …
        :data:`MAX_SAMPLE_SIZE`), ``invalid_max_rows`` (outside 1 … :data:`MAX_ROWS`).
    """
    if strategy not in STRATEGIES:
        raise InvalidInput(
            f"unknown sampling strategy {strategy!r}; one of {', '.join(STRATEGIES)}",
            code="invalid_strategy",
            details={"strategies": list(STRATEGIES)},
        )
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_SAMPLE_SIZE:
        raise InvalidInput(
            f"n must be an integer from 1 to {MAX_SAMPLE_SIZE}, got {n!r}",
            code="invalid_sample_size",
        )
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or not 1 <= max_rows <= MAX_ROWS:
        raise InvalidInput(
            f"max_rows must be an integer from 1 to {MAX_ROWS}, got {max_rows!r}",
            code="invalid_max_rows",
        )


def _text_column(champion: ModelVersion, version: DatasetVersion) -> str:
    roles = champion.column_roles or {}
    trained = [c for c, role in roles.items() if role == "text"]
    if trained and trained[0] in version.schema:
        return trained[0]
    texts = version.columns_with_role("text")
    if texts:
        return texts[0]
    raise InvalidInput(
        f"{version.ref} has no text column for {champion.name} (trained on "
        f"{trained[0] if trained else 'a text column'!r})",
        code="missing_feature",
        details={"expected": trained[:1]},
    )


def _inputs(champion: ModelVersion, version: DatasetVersion, frame: pd.DataFrame) -> list[Any]:
    """The model's input for each row (``None`` for an empty text)."""
    if champion.task == "text_classification":
        column = _text_column(champion, version)
        out: list[Any] = []
        for value in frame[column].tolist():
            text = "" if value is None or value != value else str(value)  # NaN != NaN
            out.append({"text": text} if text.strip() else None)
        return out
    features = list(champion.feature_columns or ())
    records = frame[features].to_dict(orient="records")
    return [to_jsonable(row, default=str) for row in records]


def _columns(champion: ModelVersion, version: DatasetVersion) -> list[str]:
    if champion.task == "text_classification":
        return [_text_column(champion, version)]
    features = list(champion.feature_columns or ())
    missing = [c for c in features if c not in version.schema]
    if missing or not features:
        raise InvalidInput(
            f"{version.ref} lacks feature(s) {', '.join(missing[:10]) or '?'} of {champion.name}",
            code="missing_feature",
            details={"missing": missing[:50], "expected": features},
        )
    return features


def _candidate_frame(version: DatasetVersion, columns: Sequence[str]) -> pd.DataFrame:
    """The rows to sample from: the train split if the version has a split, else all."""
    split = "train" if version.split_digest is not None else None
    return version.to_pandas(split=split, columns=list(columns))


def _test_hashes(ws: Workspace, champion: ModelVersion) -> set[str]:
    """Input hashes of the champion's test split, when its dataset is readable."""
    from baryon.core.errors import NotFound

    try:
        trained_on = ws.datasets.get_by_id(champion.dataset_version_id)
    except NotFound:  # another organization's model (shared with us): its data is not ours
        return set()
    if trained_on.split_digest is None:
        return set()
    try:
        columns = _columns(champion, trained_on)
    except InvalidInput:
        return set()
    test = trained_on.to_pandas(split="test", columns=columns)
    return {hash_input(x) for x in _inputs(champion, trained_on, test) if x is not None}


def _queued_hashes(session: Session, queue_id: str, hashes: Sequence[str]) -> set[str]:
    found: set[str] = set()
    task = LabelingTaskRow
    for start in range(0, len(hashes), _HASH_CHUNK):
        chunk = list(hashes[start : start + _HASH_CHUNK])
        found.update(
            session.scalars(
                select(task.input_hash).where(task.queue_id == queue_id, task.input_hash.in_(chunk))
            )
        )
    return found


def _predict_proba(
    estimator: Any, task: str, frame: pd.DataFrame, rows: list[int], inputs: list[Any]
) -> np.ndarray:
    """``predict_proba`` of the kept rows, :data:`_BATCH_ROWS` at a time.

    Text models read the input texts; tabular ones the frame's rows as read from the
    version (its own dtypes, not the JSON copies).
    """
    parts = []
    for start in range(0, len(rows), _BATCH_ROWS):
        chunk = rows[start : start + _BATCH_ROWS]
        if task == "text_classification":
            X: Any = [inputs[i]["text"] for i in chunk]
        else:
            X = frame.iloc[chunk].reset_index(drop=True)
        parts.append(np.asarray(estimator.predict_proba(X), dtype=float))
    return np.vstack(parts)


def plan_sample(
    ws: Workspace,
    queue_name: str,
    dataset: str,
    *,
    strategy: str = "margin",
    n: int = 50,
    diversity: bool = False,
    seed: int = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
) -> SamplePlan:
    """Score a dataset version's rows with the queue's champion and pick ``n`` (no writes).

    Parameters
    ----------
    ws : Workspace
        The organization's view (:meth:`Workspace.for_org`): its queues, datasets and
        models (and those shared with it).
    queue_name : str
        The labeling queue.
    dataset : str
        A dataset reference (``NAME``, ``NAME:N``, ``dsv_…``).
    strategy : {"least_confidence", "margin", "entropy", "random"}
        See :mod:`baryon.labeling.active`.
    n : int
        Tasks to queue, 1 … :data:`MAX_SAMPLE_SIZE` (fewer when fewer rows qualify).
    diversity : bool
        Cluster the ``10·n`` best candidates' probability vectors into ``n`` groups
        and take the best of each (:func:`baryon.labeling.active.select_batch`).
    seed : int
        Seed of the row subset, of ``random`` and of k-means.
    max_rows : int
        Most rows scored, 1 … :data:`MAX_ROWS`.

    Returns
    -------
    SamplePlan

    Raises
    ------
    InvalidInput
        ``invalid_strategy``, ``invalid_sample_size``, ``invalid_max_rows``,
        ``invalid_ref``; ``not_a_classifier`` (the champion has no class
        probabilities); ``missing_feature`` (the version lacks the model's columns);
        ``invalid_inputs`` (the model cannot read the rows).
    NotFound
        ``queue_not_found``, ``dataset_not_found``, ``version_not_found``,
        ``model_not_found``.
    ModelNotReady
        The queue's model has no champion.
    """
    check_request(strategy, n, max_rows)
    with ws.db.session(ws.scope) as session:
        queue = get_queue(session, queue_name)
        queue_id, org_id, model_name = queue.id, queue.org_id, queue.model_name
    version = ws.datasets.resolve(dataset)
    loaded = ws.registry.load(model_name)
    champion, estimator = loaded.version, loaded.estimator
    if champion.task not in _CLASSIFIER_TASKS or not hasattr(estimator, "predict_proba"):
        raise InvalidInput(
            f"{model_name} v{champion.version} is a {champion.task} model without class "
            "probabilities; active learning needs a classifier",
            code="not_a_classifier",
        )
    columns = _columns(champion, version)
    frame = _candidate_frame(version, columns)
    available = len(frame)
    if available > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(available, max_rows, replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    inputs = _inputs(champion, version, frame)
    hashes = [None if x is None else hash_input(x) for x in inputs]
    with ws.db.session(ws.scope) as session:
        queued = _queued_hashes(session, queue_id, [h for h in hashes if h is not None])
    in_test = _test_hashes(ws, champion)
    counts = {"empty": 0, "duplicates": 0, "already_queued": 0, "in_test_split": 0}
    seen: set[str] = set()
    keep_rows: list[int] = []
    for i, digest in enumerate(hashes):
        if digest is None:
            counts["empty"] += 1
        elif digest in seen:
            counts["duplicates"] += 1
        elif digest in queued:
            counts["already_queued"] += 1
        elif digest in in_test:
            counts["in_test_split"] += 1
        else:
            keep_rows.append(i)
        if digest is not None:
            seen.add(digest)
    candidates = [inputs[i] for i in keep_rows]
    items: list[dict[str, Any]] = []
    if candidates:
        try:
            proba = _predict_proba(estimator, champion.task, frame, keep_rows, inputs)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidInput(
                f"{model_name} v{champion.version} cannot read the rows of {version.ref} ({exc})",
                code="invalid_inputs",
            ) from None
        classes = list(getattr(estimator, "classes_", champion.classes or ()))
        if len(classes) != proba.shape[1]:
            raise InvalidInput(
                f"{model_name} v{champion.version} gives {proba.shape[1]} probabilities for "
                f"{len(classes)} classes",
                code="not_a_classifier",
            )
        scores = score(proba, strategy, seed=seed)
        picked = select_batch(scores, n, features=proba, diversity=diversity, seed=seed)
        best = proba.argmax(axis=1)
        for i in picked:
            items.append(
                {
                    "input": candidates[i],
                    "score": float(scores[i]),
                    "suggested_label": str(classes[best[i]]),
                    "confidence": float(proba[i, best[i]]),
                }
            )
    return SamplePlan(
        queue_id=queue_id,
        queue_name=queue_name,
        org_id=org_id,
        model_name=model_name,
        model_version=champion.version,
        dataset=version.ref,
        strategy=strategy,
        diversity=diversity,
        seed=seed,
        n=n,
        counts={"rows_available": available, "rows_scored": len(frame), **counts},
        items=items,
    )


def enqueue_sample(session: Session, plan: SamplePlan, *, clock: Clock, actor: str) -> SampleResult:
    """Queue a plan's items in the caller's transaction, with one audit event.

    Parameters
    ----------
    session : Session
        Scoped to the queue's organization.
    plan : SamplePlan
    clock : Clock
    actor : str
        Recorded on the audit event ``labeling.sample``.

    Returns
    -------
    SampleResult

    Raises
    ------
    NotFound
        ``queue_not_found``: the queue is gone.
    Conflict
        ``queue_changed``: the queue was deleted and made again since the plan.
    """
    queue = get_queue(session, plan.queue_name)
    if queue.id != plan.queue_id:
        raise Conflict(
            f"labeling queue {plan.queue_name!r} changed while sampling; try again",
            code="queue_changed",
        )
    task_ids = [
        enqueue(
            session,
            queue,
            input=item["input"],
            source=SOURCE,
            reason=plan.strategy,
            clock=clock,
            priority=item["score"],
            model_version=plan.model_version,
            suggested_label=item["suggested_label"],
            confidence=item["confidence"],
        )
        for item in plan.items
    ]
    record_audit(
        session,
        actor=actor,
        action="labeling.sample",
        object_type="labeling_queue",
        object_id=queue.id,
        org_id=queue.org_id,
        clock=clock,
        details={
            "dataset": plan.dataset,
            "model": plan.model_name,
            "model_version": plan.model_version,
            "strategy": plan.strategy,
            "diversity": plan.diversity,
            "seed": plan.seed,
            "enqueued": len(task_ids),
        },
    )
    return SampleResult(plan=plan, task_ids=task_ids)


def sample_for_labeling(
    ws: Workspace,
    queue_name: str,
    dataset: str,
    *,
    strategy: str = "margin",
    n: int = 50,
    diversity: bool = False,
    seed: int = 0,
    max_rows: int = DEFAULT_MAX_ROWS,
    actor: str = "system",
) -> SampleResult:
    """Score ``dataset`` with the queue's champion and queue the ``n`` best rows.

    :func:`plan_sample` then :func:`enqueue_sample` in one transaction; parameters,
    errors and return value as there.
    """
    plan = plan_sample(
        ws, queue_name, dataset, strategy=strategy, n=n, diversity=diversity, seed=seed,
        max_rows=max_rows,
    )  # fmt: skip
    with ws.db.session(ws.scope) as session:
        return enqueue_sample(session, plan, clock=ws.clock, actor=actor)
