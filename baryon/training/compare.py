"""Compare runs side by side: their settings, parameters and metrics, and what differs.

::

    comparison = compare_runs(ws.runs, ["run_01...", "run_02..."])
    comparison.differing_params        # ['max_depth']
    for row in comparison.metrics:
        print(row.name, row.values)    # accuracy (0.75, 1.0)

The parameter rows start with the run settings (``kind``, ``dataset``, ``target``,
``seed``, ``cv_folds``), then every estimator parameter any of the runs set, by name
(a parameter a run did not set is ``None``: the estimator's default). The metric rows
are every metric any of the runs recorded, in the order the runs recorded them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from baryon.core.errors import InvalidInput
from baryon.training.runs import Run, RunStore

__all__ = ["MAX_COMPARED", "MIN_COMPARED", "ComparisonRow", "RunComparison", "compare_runs"]

#: Fewest and most runs one comparison takes.
MIN_COMPARED, MAX_COMPARED = 2, 5
_SETTINGS = ("kind", "dataset", "target", "seed", "cv_folds")


@dataclass(frozen=True)
class ComparisonRow:
    """One parameter or metric across the compared runs.

    Attributes
    ----------
    name : str
    values : tuple
        One value per run, in the order the runs were given (``None``: not set or
        not recorded).
    differs : bool
        Whether the values are not all equal.
    """

    name: str
    values: tuple[Any, ...]
    differs: bool

    def to_dict(self) -> dict[str, Any]:
        """``{"name", "values", "differs"}``."""
        return {"name": self.name, "values": list(self.values), "differs": self.differs}


@dataclass(frozen=True)
class RunComparison:
    """Runs side by side (the output of :func:`compare_runs`).

    Attributes
    ----------
    runs : tuple of Run
        In the order asked for.
    params : tuple of ComparisonRow
        Settings, then estimator parameters.
    metrics : tuple of ComparisonRow
    """

    runs: tuple[Run, ...]
    params: tuple[ComparisonRow, ...]
    metrics: tuple[ComparisonRow, ...]

    @property
    def differing_params(self) -> list[str]:
        """Names of the settings and parameters whose values differ between the runs."""
        return [row.name for row in self.params if row.differs]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: ``run_ids``, ``params``, ``metrics``, ``differing_params``."""
        return {
            "run_ids": [run.id for run in self.runs],
            "params": [row.to_dict() for row in self.params],
            "metrics": [row.to_dict() for row in self.metrics],
            "differing_params": self.differing_params,
        }


def compare_runs(store: RunStore, run_ids: Sequence[str]) -> RunComparison:
    """Put 2 to 5 runs side by side.

    Parameters
    ----------
    store : RunStore
        The caller's runs (another organization's run is not found).
    run_ids : sequence of str
        Distinct run ids, 2 to 5 of them.

    Returns
    -------
    RunComparison

    Raises
    ------
    InvalidInput
        ``invalid_run_ids``: fewer than 2 or more than 5 ids, or a repeated one.
    NotFound
        ``run_not_found``: one of the runs does not exist.
    """
    ids = list(run_ids) if not isinstance(run_ids, str) else [run_ids]
    if not MIN_COMPARED <= len(ids) <= MAX_COMPARED or not all(isinstance(i, str) for i in ids):
        raise InvalidInput(
            f"compare {MIN_COMPARED} to {MAX_COMPARED} runs, got {len(ids)}",
            code="invalid_run_ids",
        )
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InvalidInput(
            f"run {', '.join(repeated)} is given more than once", code="invalid_run_ids"
        )
    runs = tuple(store.get(run_id) for run_id in ids)
    settings = [_row(name, [_setting(run, name) for run in runs]) for name in _SETTINGS]
    param_names = sorted(_union(run.params for run in runs))
    params = [
        _row(
            f"params.{name}" if name in _SETTINGS else name, [run.params.get(name) for run in runs]
        )
        for name in param_names
    ]
    metrics = [
        _row(name, [run.metrics.get(name) for run in runs])
        for name in _union(run.metrics for run in runs)
    ]
    return RunComparison(runs=runs, params=(*settings, *params), metrics=tuple(metrics))


def _setting(run: Run, name: str) -> Any:
    return run.dataset_ref if name == "dataset" else getattr(run, name)


def _union(mappings: Any) -> list[str]:
    names: dict[str, None] = {}
    for mapping in mappings:
        names.update(dict.fromkeys(mapping))
    return list(names)


def _row(name: str, values: list[Any]) -> ComparisonRow:
    first = values[0]
    return ComparisonRow(
        name=name, values=tuple(values), differs=any(v != first for v in values[1:])
    )
