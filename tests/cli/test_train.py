"""``baryon train``, ``baryon runs`` and ``baryon models evaluate`` through the entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clikit import run

from baryon.cli.train import parse_params
from baryon.core.config import Settings
from baryon.core.errors import InvalidInput
from baryon.workspace import Workspace


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "label": np.where(x1 > 0, "pos", "neg")})


@pytest.fixture
def home(cli_home: Path, tmp_path: Path) -> Path:
    """A home with dataset "sep" (split) and "flat" (one class, split)."""
    roles = {"x1": "feature", "x2": "feature", "label": "label"}
    with Workspace.open(Settings(home=cli_home)) as ws:
        _frame().to_csv(tmp_path / "sep.csv", index=False)
        ws.datasets.ingest(tmp_path / "sep.csv", name="sep", roles=roles)
        ws.datasets.split("sep", strategy="random", seed=1)
        flat = _frame().assign(label="same")
        flat.to_csv(tmp_path / "flat.csv", index=False)
        ws.datasets.ingest(tmp_path / "flat.csv", name="flat", roles=roles)
        ws.datasets.split("flat", strategy="random", seed=1)
    return cli_home


def test_train_json_succeeds_and_registers(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep:2"]
    argv += ["--param", "max_depth=2", "--register", "sep-model", "--json"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["status"] == "succeeded"
    assert data["params"] == {"max_depth": 2}
    assert data["extra"]["registered"] == {"name": "sep-model", "version": 1}
    assert 0.0 <= data["metrics"]["accuracy"] <= 1.0


def test_train_human_output_shows_metrics(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--home", str(home), "train", "decision_tree", "--dataset", "sep"], capsys)
    assert code == 0
    assert "succeeded" in out
    assert "accuracy" in out


def test_train_failed_validation_one_line_and_exit_1(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["--home", str(home), "train", "decision_tree", "--dataset", "flat"], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error[failed_validation]: run run_")
    assert "single class" in lines[0]


def test_train_failed_fit_one_line_and_exit_1(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), "train", "linear_regression_gd", "--dataset", "sep"]
    argv += ["--target", "x2", "--param", "learning_rate=50", "--param", "max_iter=200"]
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 1
    assert json.loads(out)["status"] == "failed"
    assert err.startswith("error[run_failed]:")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_train_bad_param_one_line_error_and_no_run(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep"]
    code, _, err = run([*argv, "--param", "max_depth=deep"], capsys)
    assert code == 1
    assert err.startswith("error[invalid_param]:")
    assert len(err.strip().splitlines()) == 1
    assert run(["--home", str(home), "runs", "list", "--json"], capsys)[1].strip() == "[]"


def test_train_unknown_kind_one_line_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--home", str(home), "train", "nope", "--dataset", "sep"], capsys)
    assert code == 1
    assert err.startswith("error[unknown_kind]:")


def test_runs_list_and_show_json(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(["--home", str(home), "train", "decision_tree", "--dataset", "sep"], capsys)
    run(["--home", str(home), "train", "decision_tree", "--dataset", "flat"], capsys)
    code, out, _ = run(["--home", str(home), "runs", "list", "--json"], capsys)
    assert code == 0
    runs = json.loads(out)
    assert [r["status"] for r in runs] == ["failed_validation", "succeeded"]
    code, out, _ = run(["--home", str(home), "runs", "show", runs[1]["id"], "--json"], capsys)
    assert code == 0
    shown = json.loads(out)
    assert shown["id"] == runs[1]["id"]
    assert {"model", "manifest", "report", "confusion_matrix"} <= set(shown["artifacts"])
    code, out, _ = run(["--home", str(home), "runs", "list", "--status", "succeeded"], capsys)
    assert code == 0
    assert runs[1]["id"] in out
    code, out, _ = run(["--home", str(home), "runs", "show", runs[0]["id"]], capsys)
    assert "single_class" in out


def test_runs_show_unknown_one_line_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--home", str(home), "runs", "show", "run_nope"], capsys)
    assert code == 1
    assert err.startswith("error[run_not_found]:")


def test_train_background_queues_then_worker_burst_trains_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep", "--background"]
    code, out, err = run([*argv, "--param", "max_depth=2", "--register", "sep", "--json"], capsys)
    assert code == 0, err
    submitted = json.loads(out)
    assert submitted["status"] == "queued"
    run_id = submitted["run_id"]
    code, out, _ = run(["--home", str(home), "runs", "show", run_id], capsys)
    assert "status queued" in out
    assert f"job       {submitted['job_id']} (queued, attempt 0 of 2)  stage - 0%" in out
    code, out, _ = run(["--home", str(home), "runs", "list"], capsys)
    assert "queued" in out
    code, _, err = run(["--home", str(home), "worker", "--burst"], capsys)
    assert code == 0, err
    code, out, _ = run(["--home", str(home), "runs", "show", run_id, "--json"], capsys)
    shown = json.loads(out)
    assert (shown["status"], shown["job_status"], shown["progress"]) == (
        "succeeded",
        "succeeded",
        100.0,
    )
    assert shown["extra"]["registered"] == {"name": "sep", "version": 1}
    code, out, _ = run(["--home", str(home), "runs", "show", run_id], capsys)
    assert "registered as sep:1" in out


def test_train_background_bad_input_refused_without_run(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "nope", "--background"]
    code, _, err = run(argv, capsys)
    assert (code, err.split(":")[0]) == (1, "error[dataset_not_found]")
    assert run(["--home", str(home), "runs", "list", "--json"], capsys)[1].strip() == "[]"


def test_runs_cancel_background_run_and_refuse_foreground_one(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep"]
    code, out, _ = run([*argv, "--background", "--json"], capsys)
    run_id = json.loads(out)["run_id"]
    code, out, err = run(["--home", str(home), "runs", "cancel", run_id], capsys)
    assert (code, out.strip()) == (0, f"run {run_id} cancelled"), err
    code, out, _ = run(["--home", str(home), "runs", "cancel", run_id, "--json"], capsys)
    assert json.loads(out)["status"] == "cancelled"
    code, out, _ = run([*argv, "--json"], capsys)
    foreground = json.loads(out)["id"]
    code, _, err = run(["--home", str(home), "runs", "cancel", foreground], capsys)
    assert (code, err.split(":")[0]) == (1, "error[run_finished]")


def test_runs_compare_table_marks_differences_and_json(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = []
    for depth in (1, 3):
        argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep"]
        code, out, _ = run([*argv, "--param", f"max_depth={depth}", "--json"], capsys)
        ids.append(json.loads(out)["id"])
    code, out, err = run(["--home", str(home), "runs", "compare", *ids], capsys)
    assert code == 0, err
    assert "max_depth *" in out
    assert "accuracy" in out
    assert "differ: max_depth" in out
    code, out, _ = run(["--home", str(home), "runs", "compare", *ids, "--json"], capsys)
    data = json.loads(out)
    assert (data["run_ids"], data["differing_params"]) == (ids, ["max_depth"])
    code, _, err = run(["--home", str(home), "runs", "compare", ids[0]], capsys)
    assert (code, err.split(":")[0]) == (1, "error[invalid_run_ids]")


def test_models_evaluate_external_file_flat_metrics(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep", "--register", "m"]
    assert run(argv, capsys)[0] == 0
    external = _frame(30, seed=9).rename(columns={"label": "truth"})
    external.to_csv(tmp_path / "ext.csv", index=False)
    argv = ["--home", str(home), "models", "evaluate", "m@champion", "--data"]
    argv += [str(tmp_path / "ext.csv"), "--role", "truth=label", "--json"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert (data["model"], data["version"], data["task"]) == ("m", 1, "classification")
    assert set(data["metrics"]) == {"accuracy", "macro_f1", "log_loss", "ece"}
    assert data["report"]["n_rows"] == 30
    code, out, _ = run([*argv[:-1]], capsys)  # human output
    assert code == 0
    assert "accuracy" in out


def test_models_evaluate_missing_column_one_line_error(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep", "--register", "m"]
    assert run(argv, capsys)[0] == 0
    pd.DataFrame({"x1": [1.0], "label": ["pos"]}).to_csv(tmp_path / "bad.csv", index=False)
    argv = ["--home", str(home), "models", "evaluate", "m:1", "--data", str(tmp_path / "bad.csv")]
    code, _, err = run(argv, capsys)
    assert code == 1
    assert err.startswith("error[missing_column]:")
    assert "'x2'" in err


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["max_depth=3"], {"max_depth": 3}),
        (["alpha=0.5", "solver=adam"], {"alpha": 0.5, "solver": "adam"}),
        (
            ["sizes=[64, 32]", "flag=true", "none=null"],
            {"sizes": [64, 32], "flag": True, "none": None},
        ),
        (["expr=a=b"], {"expr": "a=b"}),
        (None, {}),
    ],
)
def test_parse_params_json_literals_when_possible(
    items: list[str] | None, expected: dict[str, object]
) -> None:
    assert parse_params(items) == expected


@pytest.mark.parametrize("item", ["novalue", "=3"])
def test_parse_params_malformed_refused(item: str) -> None:
    with pytest.raises(InvalidInput):
        parse_params([item])


def test_train_param_nested_ten_thousand_deep_too_deep_one_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Broke as "error[internal_error]: RecursionError" (json.loads recursed).
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep"]
    code, _, err = run([*argv, "--param", "max_depth=" + "[" * 10_000 + "]" * 10_000], capsys)
    assert code == 1
    assert err.startswith("error[too_deep]: --param max_depth nests")
    assert len(err.strip().splitlines()) == 1


def test_parse_params_deep_value_refused_not_kept_as_text() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_params(["x=" + "[" * 65])  # not even valid JSON: still refused for its depth
    assert info.value.code == "too_deep"


@pytest.mark.parametrize(
    ("option", "missing"), [([], "strict"), (["--missing", "impute"], "impute")]
)
def test_train_missing_policy_recorded_with_the_version(
    home: Path, capsys: pytest.CaptureFixture[str], option: list[str], missing: str
) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep"]
    code, _, err = run([*argv, "--register", "m", *option], capsys)
    assert code == 0, err
    with Workspace.open(Settings(home=home)) as ws:
        inputs = ws.registry.get_version("m").extra["inputs"]
    assert inputs["missing"] == missing
    assert inputs["types"] == {"x1": "number", "x2": "number"}


def test_train_unknown_missing_policy_one_line_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--home", str(home), "train", "decision_tree", "--dataset", "sep", "--missing", "drop"]
    code, _, err = run(argv, capsys)
    assert code == 1
    assert err.startswith("error[invalid_missing_policy]:")
