"""What the four solution pipelines share: recipes, reuse and the champion.

A pipeline run again on the same workspace creates nothing: a model version (or
run) carries the *recipe* it was trained from in its ``extra["recipe"]`` and is
found again by it. The recipe is a short digest of what determines the training
(dataset version ids, kind, parameters, seed, …), computed by :func:`recipe_digest`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from baryon.core.errors import Conflict, InvalidInput, NotFound
from baryon.core.jsonvalues import canonical_bytes

if TYPE_CHECKING:
    from baryon.data.versions import DatasetVersion
    from baryon.training.promotion import Promoter
    from baryon.training.registry import ModelRegistry, ModelVersion
    from baryon.training.runs import Run, RunStore

__all__ = [
    "ProgressCallback",
    "champion_or_none",
    "check_unicode",
    "find_version_by_recipe",
    "load_run_estimator",
    "majority_accuracy",
    "promote_or_note",
    "recipe_digest",
]

#: ``progress(message, fraction_done)``: called at each step; fraction in [0, 1].
ProgressCallback = Callable[[str, float], None]


def check_unicode(text: str) -> None:
    """Refuse a text that is not valid Unicode (a lone surrogate, e.g. from a shell).

    The HTTP API refuses such bodies in its middleware; this is the same rule for
    texts that reach a service another way (the CLI).

    Raises
    ------
    InvalidInput
        ``invalid_unicode``.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"text is not valid Unicode at character {exc.start} (a lone surrogate)",
            code="invalid_unicode",
            details={"position": exc.start},
        ) from None


def recipe_digest(**parts: Any) -> str:
    """Identify a training by what determines it.

    Parameters
    ----------
    **parts : JSON-serializable
        Dataset version ids, kind, parameters, seed, …; key order does not matter.

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256 of the canonical JSON of ``parts``
        (sorted keys, no spaces).

    Raises
    ------
    TypeError
        A part is not JSON-serializable.
    """
    return hashlib.sha256(canonical_bytes(parts, ensure_ascii=True)).hexdigest()[:16]


def find_version_by_recipe(registry: ModelRegistry, model: str, recipe: str) -> ModelVersion | None:
    """Return the first version of ``model`` whose ``extra["recipe"]`` is ``recipe``.

    Parameters
    ----------
    registry : ModelRegistry
    model : str
        Registered model name.
    recipe : str
        A :func:`recipe_digest`.

    Returns
    -------
    ModelVersion or None
        None when the model does not exist or no version has that recipe.
    """
    try:
        versions = registry.list_versions(model)
    except NotFound:
        return None
    return next((v for v in versions if v.extra.get("recipe") == recipe), None)


def champion_or_none(registry: ModelRegistry, model: str) -> ModelVersion | None:
    """Return the champion of ``model``, or None when there is no model or no champion."""
    try:
        return registry.get_version(model, alias="champion")
    except (NotFound, LookupError):
        return None


def promote_or_note(
    promotion: Promoter,
    model: str,
    version: ModelVersion,
    *,
    actor: str,
    reason: str,
    label: str | None = None,
    evaluation_dataset: str | None = None,
) -> str | None:
    """Promote ``version`` through the gate; a note instead of an error if refused.

    Parameters
    ----------
    promotion : Promoter
        The workspace's promotion policy (``workspace.promotion``).
    model : str
    version : ModelVersion
    actor, reason : str
        Recorded with the promotion.
    label : str, optional
        Shown in brackets after the version reference in the note.
    evaluation_dataset : str, optional
        ``name:version`` the gate evaluates on (see :meth:`Promoter.promote`).

    Returns
    -------
    str or None
        ``"<ref> stays challenger: <gate message>"`` when the gate refused, else None.

    Raises
    ------
    Conflict
        Any conflict other than a gate refusal (code ``gate_refused``).
    """
    try:
        promotion.promote(
            model,
            version.version,
            actor=actor,
            reason=reason,
            evaluation_dataset=evaluation_dataset,
        )
    except Conflict as exc:
        if exc.code != "gate_refused":
            raise
        ref = version.ref if label is None else f"{version.ref} ({label})"
        return f"{ref} stays challenger: {exc.message}"
    return None


def load_run_estimator(runs: RunStore, run: Run) -> Any:
    """Rebuild the fitted estimator of ``run`` from its artifacts (hash-verified).

    Parameters
    ----------
    runs : RunStore
        The workspace's run store (``workspace.runs``).
    run : Run
        A succeeded run with ``manifest`` and ``model`` artifacts.

    Returns
    -------
    object
        The estimator, as :func:`baryon.ml.persistence.load_model` returns it.
    """
    from baryon.ml.persistence import load_model

    manifest = json.loads(runs.artifact(run.id, "manifest"))
    return load_model(runs.artifact(run.id, "model"), manifest)


def majority_accuracy(dataset: DatasetVersion, label: str, *, as_text: bool = False) -> float:
    """Test accuracy of always answering the most frequent training value of ``label``.

    Parameters
    ----------
    dataset : DatasetVersion
        A split version (train and test splits).
    label : str
        The label column; only this column is read.
    as_text : bool
        Compare the labels as strings.

    Returns
    -------
    float
        Share of test rows equal to the training majority (ties: the value seen first);
        NaN for an empty test split.

    Raises
    ------
    InvalidInput
        ``no_split`` or ``unknown_column`` (from :meth:`DatasetVersion.to_pandas`).
    """
    train = dataset.to_pandas(split="train", columns=[label])[label]
    test = dataset.to_pandas(split="test", columns=[label])[label]
    if as_text:
        train, test = train.astype(str), test.astype(str)
    majority = train.value_counts().idxmax()
    return float((test == majority).mean())
