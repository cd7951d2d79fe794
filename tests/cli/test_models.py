"""``baryon models list|show|promote|rollback|evaluate`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import run

from baryon.core.config import Settings
from baryon.workspace import Workspace


def _fake_run(ws: Workspace, value: float) -> str:
    run = ws.runs.start(
        kind="decision_tree",
        task="classification",
        params={},
        seed=0,
        dataset_version_id="dsv_a",
        dataset_name="d",
        dataset_version=1,
    )
    ws.runs.put_artifact(run.id, "model", f"model {run.id}".encode())
    ws.runs.update(run.id, metrics={"accuracy": value})
    return ws.runs.finish(run.id, status="succeeded").id


@pytest.fixture
def home_with_model(cli_home: Path) -> Path:
    """A home where model "m" has v1 (champion, 0.8) and v2 (challenger, 0.6)."""
    with Workspace.open(Settings(home=cli_home)) as ws:
        for value in (0.8, 0.6, 0.9):
            ws.registry.register(_fake_run(ws, value), "m")
    return cli_home


def test_models_list_json_shows_aliases(
    home_with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["--home", str(home_with_model), "models", "list", "--json"], capsys)
    assert code == 0
    [model] = json.loads(out)
    assert model["name"] == "m"
    assert model["latest_version"] == 3
    assert model["aliases"] == {"challenger": 3, "champion": 1}


def test_models_list_table_names_model(
    home_with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["--home", str(home_with_model), "models", "list"], capsys)
    assert code == 0
    assert "accuracy" in out


def test_models_show_json_has_versions_and_alias_history(
    home_with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["--home", str(home_with_model), "models", "show", "m", "--json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert [v["version"] for v in data["versions"]] == [1, 2, 3]
    assert data["versions"][0]["primary_value"] == pytest.approx(0.8)
    assert data["alias_history"][0]["alias"] == "champion"


def test_models_promote_worse_refused_one_line_with_both_numbers(
    home_with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["--home", str(home_with_model), "models", "promote", "m", "2"], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error[gate_refused]:")
    assert "0.6000" in lines[0]
    assert "0.8000" in lines[0]


def test_models_promote_better_then_rollback(
    home_with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(home_with_model)
    code, out, _ = run(
        ["--home", home, "models", "promote", "m", "3", "--min-delta", "0.05", "--json"], capsys
    )
    assert code == 0
    move = json.loads(out)
    assert (move["from_version"], move["to_version"], move["forced"]) == (1, 3, False)
    assert move["actor"].startswith("cli")
    code, out, _ = run(["--home", home, "models", "rollback", "m"], capsys)
    assert code == 0
    assert "v3 -> v1" in out
    code, out, err = run(["--home", home, "models", "rollback", "m"], capsys)
    assert code == 1
    assert err.startswith("error[no_previous_champion]:")


def test_models_promote_force_recorded(
    home_with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(home_with_model)
    code, out, _ = run(
        ["--home", home, "models", "promote", "m", "2", "--force", "--reason", "hotfix"], capsys
    )
    assert code == 0
    assert "forced" in out
    code, out, _ = run(["--home", home, "models", "show", "m", "--json"], capsys)
    last = json.loads(out)["alias_history"][-1]
    assert (last["forced"], last["reason"], last["to_version"]) == (True, "hotfix", 2)


def test_models_show_unknown_model_one_line_error(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["--home", str(cli_home), "models", "show", "nope"], capsys)
    assert code == 1
    assert err.startswith("error[model_not_found]:")


def test_models_evaluate_bad_reference_one_line_error(
    home_with_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "x.csv"
    data.write_text("a,b\n1,2\n")
    code, _, err = run(
        ["--home", str(home_with_model), "models", "evaluate", "m@staging", "--data", str(data)],
        capsys,
    )
    assert code == 1
    assert err.startswith("error[invalid_ref]:")


@pytest.fixture
def home_with_points(cli_home: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A home with dataset "points" (split) and a .skops logistic regression fitted on it."""
    import numpy as np
    import pandas as pd
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.random((120, 2)), columns=["x1", "x2"]).round(4)
    frame["label"] = np.where(frame["x1"] + frame["x2"] > 1, "hi", "lo")
    csv = tmp_path / "points.csv"
    frame.to_csv(csv, index=False)
    with Workspace.open(Settings(home=cli_home)) as ws:
        ws.datasets.ingest(csv, name="points", roles={"label": "label"})
        train = ws.datasets.split("points", strategy="random", seed=1).to_pandas(split="train")
    model = tmp_path / "lr.skops"
    sio.dump(LogisticRegression(C=10.0).fit(train[["x1", "x2"]], train["label"]), model)
    return cli_home, model


def test_models_register_skops_file_then_again_same_version(
    home_with_points: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    home, model = home_with_points
    argv = ["--home", str(home), "models", "register", "points", str(model)]
    argv += ["--dataset", "points", "--target", "label"]
    code, out, err = run([*argv, "--json"], capsys)
    assert code == 0, err
    made = json.loads(out)
    assert made["created"] is True
    assert (made["version"]["version"], made["version"]["aliases"]) == (1, ["champion"])
    assert made["run"]["kind"] == "external_sklearn"
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert "already registered as points:1 (champion)" in out


def test_models_register_pickle_one_line_error_nothing_made(
    home_with_points: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pickle

    home, _ = home_with_points
    bad = tmp_path / "model.pkl"
    bad.write_bytes(pickle.dumps({"not": "allowed"}))
    code, _, err = run(
        ["--home", str(home), "models", "register", "m", str(bad), "--dataset", "points",
         "--target", "label"],
        capsys,
    )  # fmt: skip
    assert code == 1
    assert err.startswith("error[invalid_model_file]:")
    assert len(err.strip().splitlines()) == 1
    with Workspace.open(Settings(home=home)) as ws:
        assert ws.registry.list_models() == []
        assert ws.runs.list() == []
