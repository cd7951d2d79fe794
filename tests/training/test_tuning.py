"""Hyperparameter search (baryon/training/tuning.py): trials are tracked runs, chosen on
validation metrics, the best registered and offered to the gate."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

from baryon.core.config import Settings
from baryon.core.errors import BaryonError, InvalidInput, MissingDependency
from baryon.training.trainer import Trainer
from baryon.training.tuning import (
    DEFAULT_SPACES,
    Dimension,
    Tuner,
    parse_dimension,
)
from baryon.workspace import Workspace

MakeDataset = Callable[..., Any]  # the conftest fixture's type

ROLES = {"x1": "feature", "x2": "feature", "label": "label"}


def _classes(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "label": np.where(x1 + 0.3 * x2 > 0, "pos", "neg")})


def _values(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": 3 * x1 - x2 + rng.normal(0, 0.1, size=n)})


@pytest.fixture
def sep(make_dataset: MakeDataset) -> Any:
    return make_dataset("sep", _classes(), roles=ROLES, validation_size=0.2)


@pytest.fixture
def tuner(workspace: Workspace) -> Tuner:
    return Tuner(Trainer(workspace, actor="test"))


# ------------------------------------------------------------------ search spaces
@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("2,4,8", Dimension("p", choices=(2, 4, 8))),
        ("svm, logistic", Dimension("p", choices=("svm", "logistic"))),
        ("true,null", Dimension("p", choices=(True, None))),
        ("1..10", Dimension("p", low=1, high=10, integer=True)),
        ("0.01..0.3", Dimension("p", low=0.01, high=0.3)),
        ("log:0.001..1", Dimension("p", low=0.001, high=1, log=True)),
        ("log:1..100", Dimension("p", low=1, high=100, integer=True, log=True)),
    ],
)
def test_parse_dimension_reads_choices_and_ranges(spec: str, expected: Dimension) -> None:
    assert parse_dimension("p", spec) == expected


@pytest.mark.parametrize(
    "spec", ["", "2,,4", "3..1", "1..1", "a..b", "log:0..1", "log:2,4", "1..inf"]
)
def test_parse_dimension_bad_spec_is_invalid_search_space(spec: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_dimension("p", spec)
    assert err.value.code == "invalid_search_space"
    assert "--param p" in err.value.message


def test_dimension_grid_of_int_range_is_every_integer_float_range_refused() -> None:
    assert parse_dimension("n", "2..5").grid() == [2, 3, 4, 5]
    with pytest.raises(InvalidInput) as err:
        parse_dimension("lr", "0.1..0.2").grid()
    assert err.value.code == "invalid_search_space"


def test_dimension_sample_stays_in_range_on_log_scale() -> None:
    rng = random.Random(0)
    dim = parse_dimension("lr", "log:0.001..1")
    draws = [dim.sample(rng) for _ in range(400)]
    assert all(0.001 <= d <= 1 for d in draws)
    # log-uniform: about a third of the draws fall in each decade
    assert 80 < sum(d < 0.01 for d in draws) < 190
    ints = parse_dimension("n", "1..3")
    assert {ints.sample(rng) for _ in range(100)} == {1, 2, 3}


def test_default_spaces_are_valid_for_their_kinds() -> None:
    from baryon.ml.kinds import make_estimator

    for kind, space in DEFAULT_SPACES.items():
        for name, spec in space.items():
            for value in parse_dimension(name, spec).ends():
                make_estimator(kind, **{name: value})


# ------------------------------------------------------------------ searches
def test_grid_search_every_point_a_tagged_run_best_by_validation_accuracy(
    tuner: Tuner, workspace: Workspace, sep: Any
) -> None:
    result = tuner.tune(
        "decision_tree", sep.ref, search="grid", trials=6, space={"max_depth": "1,2,4"}
    )
    assert [t.params for t in result.trials] == [{"max_depth": d} for d in (1, 2, 4)]
    assert result.plan.key == "validation_accuracy"
    assert result.plan.notes == ["the grid has 3 point(s): 3 trial(s), not 6"]
    for trial in result.trials:
        run = workspace.runs.get(trial.run_id)
        assert run.extra["tune_id"] == result.plan.tune_id
        assert run.extra["trial"] == trial.number
        assert run.params == trial.params
        assert trial.value == run.metrics["validation_accuracy"]
    assert result.best is not None
    assert result.best.value == max(t.value for t in result.trials if t.value is not None)
    assert result.registered is None
    assert result.gate is None


def test_regression_default_metric_is_rmse_and_lowest_wins(
    tuner: Tuner, make_dataset: MakeDataset
) -> None:
    roles = {"x1": "feature", "x2": "feature", "y": "label"}
    data = make_dataset("vals", _values(), roles=roles, validation_size=0.2)
    result = tuner.tune(
        "decision_tree", data.ref, search="grid", trials=2, space={"max_depth": "1,6"}
    )
    assert result.plan.metric == "rmse"
    assert result.plan.lower_is_better
    values = [t.value for t in result.trials]
    assert result.best is not None
    assert result.best.value == min(v for v in values if v)
    assert result.best.params == {"max_depth": 6}  # a stump cannot fit 3*x1 - x2


def test_random_search_is_reproducible_with_a_seed(tuner: Tuner, sep: Any) -> None:
    space = {"max_depth": "1..8", "ccp_alpha": "0.0..0.05"}
    first = tuner.tune("decision_tree", sep.ref, search="random", trials=3, space=space, seed=5)
    again = tuner.tune("decision_tree", sep.ref, search="random", trials=3, space=space, seed=5)
    assert [t.params for t in first.trials] == [t.params for t in again.trials]
    assert len({str(t.params) for t in first.trials}) == 3
    assert first.plan.tune_id != again.plan.tune_id


def test_tpe_search_runs_its_trials_with_optuna(tuner: Tuner, sep: Any) -> None:
    pytest.importorskip("optuna")
    result = tuner.tune(
        "decision_tree", sep.ref, search="tpe", trials=4, space={"max_depth": "1..6"}, seed=1
    )
    assert len(result.trials) == 4
    assert all(1 <= t.params["max_depth"] <= 6 for t in result.trials)
    assert result.best is not None


def test_tpe_without_optuna_is_missing_dependency_before_any_run(
    tuner: Tuner, workspace: Workspace, sep: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(MissingDependency) as err:
        tuner.tune("decision_tree", sep.ref, search="tpe", trials=2, space={"max_depth": "1..3"})
    assert err.value.code == "missing_dependency"
    assert "baryon[tune]" in err.value.message
    assert workspace.runs.list() == []


def test_failed_trial_is_a_failed_run_and_tuning_goes_on(
    tuner: Tuner, workspace: Workspace, sep: Any
) -> None:
    # task=regression passes the parameter check; the labels "pos"/"neg" cannot regress
    result = tuner.tune(
        "decision_tree", sep.ref, search="grid", trials=2,
        space={"task": "classification,regression"},
    )  # fmt: skip
    ok, failed = result.trials
    assert ok.status == "succeeded"
    assert ok.value is not None
    assert failed.status in ("failed", "failed_validation")
    assert failed.value is None
    assert failed.error
    assert workspace.runs.get(failed.run_id).status == failed.status
    assert result.best == ok


def test_all_trials_failing_is_all_trials_failed_with_the_runs(
    tuner: Tuner, workspace: Workspace, sep: Any
) -> None:
    with pytest.raises(BaryonError) as err:
        tuner.tune("decision_tree", sep.ref, search="grid", trials=1, space={"task": "regression"})
    assert err.value.code == "all_trials_failed"
    runs = err.value.details["runs"]
    assert len(runs) == 1
    assert workspace.runs.get(runs[0]).status in ("failed", "failed_validation")


def test_no_validation_rows_uses_cv_when_asked_else_refuses(
    tuner: Tuner, make_dataset: MakeDataset
) -> None:
    flat = make_dataset("noval", _classes(), roles=ROLES, validation_size=0.0)
    with pytest.raises(InvalidInput) as err:
        tuner.tune("decision_tree", flat.ref, search="grid", trials=2, space={"max_depth": "1,2"})
    assert err.value.code == "no_validation_rows"
    assert "never chooses on test rows" in err.value.message
    result = tuner.tune(
        "decision_tree", flat.ref, search="grid", trials=2, space={"max_depth": "1,2"}, cv_folds=3
    )
    assert result.plan.key == "cv_accuracy_mean"
    assert all(t.value is not None for t in result.trials)
    with pytest.raises(InvalidInput) as err:
        tuner.tune(
            "decision_tree", flat.ref, search="grid", trials=2, space={"max_depth": "1,2"},
            cv_folds=3, metric="macro_f1",
        )  # fmt: skip
    assert err.value.code == "no_validation_rows"


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("kwargs", "code", "says"),
    [
        ({"kind": "nope"}, "unknown_kind", "nope"),
        ({"space": {"depth": "1,2"}}, "invalid_param", "depth"),
        ({"space": {"max_depth": "0,2"}}, "invalid_param", "max_depth"),
        ({"space": {"max_depth": "1;2"}}, "invalid_param", "max_depth"),
        ({"space": {"max_depth": "2..x"}}, "invalid_search_space", "max_depth"),
        ({"trials": 0}, "invalid_trials", "--trials"),
        ({"search": "bayes"}, "invalid_search", "grid, random, tpe"),
        ({"metric": "rmse"}, "unknown_metric", "accuracy"),
        ({"search": "grid", "space": {"max_depth": "1..5"}, "trials": 3}, "grid_too_large", "5"),
        ({"search": "grid", "space": {"ccp_alpha": "0.0..0.1"}}, "invalid_search_space", "grid"),
        ({"kind": "linear_regression", "space": None}, "no_default_space", "--param"),
    ],
)
def test_bad_input_is_refused_before_any_run(
    tuner: Tuner, workspace: Workspace, sep: Any, kwargs: dict[str, Any], code: str, says: str
) -> None:
    args: dict[str, Any] = {"search": "random", "trials": 2, "space": {"max_depth": "1,2"}}
    args.update(kwargs)
    kind = args.pop("kind", "decision_tree")
    with pytest.raises(InvalidInput) as err:
        tuner.tune(kind, sep.ref, **args)
    assert err.value.code == code
    assert says in err.value.message
    assert workspace.runs.list() == []


def test_grid_too_large_says_the_grid_size(tuner: Tuner, sep: Any) -> None:
    with pytest.raises(InvalidInput) as err:
        tuner.tune("decision_tree", sep.ref, search="grid", trials=3,
                   space={"max_depth": "1,2", "min_samples_leaf": "1,2"})  # fmt: skip
    assert "the grid has 4 points, more than --trials 3" in err.value.message
    assert err.value.details == {"grid_size": 4, "trials": 3}


def test_ray_address_set_is_ray_not_available(settings: Settings, sep: Any) -> None:
    with Workspace.open(settings.model_copy(update={"ray_address": "ray://head:10001"})) as ws:
        with pytest.raises(MissingDependency) as err:
            Tuner(Trainer(ws)).tune("decision_tree", sep.ref, trials=2)
        assert err.value.code == "ray_not_available"
        assert "ray://head:10001" in err.value.message
        assert ws.runs.list() == []


# ------------------------------------------------------------------ the gate
def test_best_is_registered_first_champion_then_offered_to_the_gate(
    tuner: Tuner, workspace: Workspace, sep: Any
) -> None:
    space = {"max_depth": "1,4"}
    first = tuner.tune("decision_tree", sep.ref, search="grid", trials=2, space=space,
                       register="sep-model")  # fmt: skip
    assert first.best is not None
    assert first.registered == {"name": "sep-model", "version": 1}
    assert first.gate is not None
    assert first.gate["outcome"] == "champion"
    assert workspace.runs.get(first.best.run_id).extra["registered"] == first.registered
    assert workspace.registry.get_version("sep-model", alias="champion").version == 1

    offered = tuner.tune("decision_tree", sep.ref, search="grid", trials=1,
                         space={"max_depth": "1"}, register="sep-model")  # fmt: skip
    assert offered.registered == {"name": "sep-model", "version": 2}
    assert offered.gate is not None
    assert offered.gate["outcome"] == "offered"
    assert offered.gate["champion_version"] == 1
    assert workspace.registry.get_version("sep-model", alias="champion").version == 1

    promoted = tuner.tune("decision_tree", sep.ref, search="grid", trials=1,
                          space={"max_depth": "1"}, register="sep-model", promote=True)  # fmt: skip
    gate = promoted.gate
    assert gate is not None
    assert gate["outcome"] in ("promoted", "kept")
    champion = workspace.registry.get_version("sep-model", alias="champion").version
    assert champion == (3 if gate["passed"] else 1)
    assert (gate["outcome"] == "promoted") == gate["passed"]


def test_bad_register_name_is_refused_before_any_run(
    tuner: Tuner, workspace: Workspace, sep: Any
) -> None:
    with pytest.raises(InvalidInput) as err:
        tuner.tune("decision_tree", sep.ref, trials=1, register="bad name!")
    assert err.value.code == "invalid_model_name"
    assert workspace.runs.list() == []


@pytest.mark.filterwarnings("ignore:The Result.tuples:DeprecationWarning")  # grants.py, SA 2.1
def test_trials_belong_to_the_org_and_another_orgs_dataset_is_not_found(
    workspace: Workspace, tmp_path: Any
) -> None:
    from baryon.commerce.orgs import create_org
    from baryon.core.errors import NotFound
    from baryon.core.scope import SYSTEM

    with workspace.db.session(SYSTEM) as s:
        acme = create_org(s, name="acme")
        create_org(s, name="globex")
    owner = workspace.for_org("acme")
    _classes().to_csv(tmp_path / "own.csv", index=False)
    owner.datasets.ingest(tmp_path / "own.csv", name="own", roles=ROLES)
    owner.datasets.split("own", strategy="random", seed=1, validation_size=0.2)
    with pytest.raises(NotFound):
        Tuner(Trainer(workspace.for_org("globex"))).tune("decision_tree", "own", trials=1)
    result = Tuner(Trainer(owner)).tune(
        "decision_tree", "own", search="grid", trials=1, space={"max_depth": "2"}, register="m"
    )
    assert result.best is not None
    assert owner.runs.get(result.best.run_id).extra["tune_id"] == result.plan.tune_id
    assert owner.registry.get_version("m", alias="champion").org_id == acme.id
    with pytest.raises(NotFound):
        workspace.for_org("globex").runs.get(result.best.run_id)
