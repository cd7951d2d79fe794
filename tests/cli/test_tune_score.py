"""``baryon tune`` and ``baryon score`` through the entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from clikit import run

from baryon.core.config import Settings
from baryon.workspace import Workspace


@pytest.fixture
def home(cli_home: Path, tmp_path: Path) -> Path:
    """A home with dataset "sep": v1 raw, v2 split with validation rows."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=100), rng.normal(size=100)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "label": np.where(x1 > 0, "pos", "neg")})
    frame.to_csv(tmp_path / "sep.csv", index=False)
    roles = {"x1": "feature", "x2": "feature", "label": "label"}
    with Workspace.open(Settings(home=cli_home)) as ws:
        ws.datasets.ingest(tmp_path / "sep.csv", name="sep", roles=roles)
        ws.datasets.split("sep", strategy="random", seed=1, validation_size=0.2)
    return cli_home


def test_tune_prints_trials_best_and_gate(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--home", str(home), "tune", "decision_tree", "--dataset", "sep:2"]
    argv += ["--search", "grid", "--trials", "2", "--param", "max_depth=1,3", "--register", "m"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    out = " ".join(out.split())  # Rich wraps long lines
    assert "grid, 2 trial(s), validation_accuracy (higher is better)" in out
    assert "max_depth" in out
    assert "succeeded" in out
    assert "best: trial" in out
    assert "registered as m:1" in out
    assert "gate: champion (first version)" in out


def test_tune_json_second_registration_is_offered_to_the_gate(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--home", str(home), "tune", "decision_tree", "--dataset", "sep:2", "--search"]
    base += ["random", "--trials", "2", "--param", "max_depth=1..4", "--register", "m", "--json"]
    assert run(base, capsys)[0] == 0
    code, out, err = run(base, capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["registered"] == {"name": "m", "version": 2}
    assert data["gate"]["outcome"] == "offered"
    assert data["metric_key"] == "validation_accuracy"
    assert [t["status"] for t in data["trials"]] == ["succeeded", "succeeded"]


@pytest.mark.parametrize(
    ("extra", "code_line"),
    [
        (["--search", "grid", "--trials", "1", "--param", "max_depth=1,2"], "grid_too_large"),
        (["--param", "max_depth"], "invalid_option"),
        (["--param", "depth=1,2"], "invalid_param"),
        (["--trials", "0"], "invalid_trials"),
    ],
)
def test_tune_bad_input_is_one_error_line(
    home: Path, capsys: pytest.CaptureFixture[str], extra: list[str], code_line: str
) -> None:
    argv = ["--home", str(home), "tune", "decision_tree", "--dataset", "sep:2", *extra]
    code, _out, err = run(argv, capsys)
    assert code == 1
    assert err.startswith(f"error[{code_line}]")
    assert "Traceback" not in err


def test_tune_every_trial_failing_prints_the_runs_then_the_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the labels "pos"/"neg" cannot be regressed: the one trial fails
    argv = ["--home", str(home), "tune", "decision_tree", "--dataset", "sep:2"]
    argv += ["--search", "grid", "--trials", "1", "--param", "task=regression"]
    code, out, err = run(argv, capsys)
    assert code == 1
    assert err.startswith("error[all_trials_failed]")
    assert "run_" in out
    assert "failed" in out


def test_score_writes_a_new_version_and_json(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = ["--home", str(home), "train", "decision_tree", "--dataset", "sep:2"]
    assert run([*train, "--register", "m"], capsys)[0] == 0
    argv = ["--home", str(home), "score", "m", "--dataset", "sep:1", "--batch-rows", "30"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    assert "scored 100 row(s) of sep:1 with m:1 -> sep-scored:1" in out
    code, out, err = run([*argv, "--output", "scored", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["name"] == "scored"
    assert data["operation"] == "score"
    assert data["rows"] == 100
    assert data["lineage"]["model"] == "m"


def test_score_bad_batch_rows_is_one_error_line(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    train = ["--home", str(home), "train", "decision_tree", "--dataset", "sep:2"]
    assert run([*train, "--register", "m"], capsys)[0] == 0
    argv = ["--home", str(home), "score", "m", "--dataset", "sep:1", "--batch-rows", "0"]
    code, _, err = run(argv, capsys)
    assert code == 1
    assert err.startswith("error[invalid_batch_rows]")


def test_docs_list_every_tune_and_score_option_and_default_space() -> None:
    import typer

    from baryon.cli import score, tune
    from baryon.training.tuning import DEFAULT_SPACES

    repo = Path(__file__).resolve().parents[2]
    docs = {
        "tune": (repo / "docs" / "training.md").read_text(encoding="utf-8"),
        "score": (repo / "docs" / "datasets.md").read_text(encoding="utf-8"),
    }
    readme = (repo / "README.md").read_text(encoding="utf-8")
    for name, module in (("tune", tune), ("score", score)):
        single = typer.Typer(add_completion=False)
        single.command(name)(module.command)
        command = typer.main.get_command(single)
        options = [o for p in command.params for o in p.opts if o.startswith("--")]
        assert options
        for option in options:
            assert option in docs[name], f"baryon {name} {option}"
        assert f"`baryon {name} " in readme
    for kind, space in DEFAULT_SPACES.items():
        row = next(line for line in docs["tune"].splitlines() if line.startswith(f"| `{kind}`"))
        for param, spec in space.items():
            assert f"`{param}={spec}`" in row, (kind, param)
