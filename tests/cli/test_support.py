"""``baryon support ask``: answer, hand-off, JSON, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baryon.cli.main import app, main
from baryon.core.config import Settings
from baryon.solutions.bundled import load_answers
from baryon.solutions.support.pipeline import SupportPipeline
from baryon.workspace import Workspace

INTENTS = {
    "card_arrival": ["where is my new card", "my card has not arrived", "card delivery late"],
    "lost_or_stolen_card": ["i lost my card", "my card was stolen", "stolen wallet and card"],
}


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with a tiny ``support-intent`` champion (trained once for the module)."""
    base = tmp_path_factory.mktemp("support-cli")
    rows = [f"{t} {n},{i}" for i, texts in INTENTS.items() for t in texts for n in range(4)]
    oos = [f"what is the weather in city {n},oos,oos" for n in range(6)]
    with Workspace.open(Settings(home=base / "home")) as ws:
        SupportPipeline(
            ws,
            params={"model": "logistic", "calibration": None},
            source=_write(base / "b.csv", "text,category", rows),
            calibration=_write(base / "v.csv", "text,intent,domain", oos),
            held_out=_write(base / "t.csv", "text,intent,domain", oos),
        ).run()
    return base / "home"


def test_ask_prints_intent_and_answer(home: Path) -> None:
    result = CliRunner().invoke(app, ["--home", str(home), "support", "ask", "i lost my card"])
    assert result.exit_code == 0, result.output
    assert "lost_or_stolen_card" in result.output
    assert load_answers().answers["lost_or_stolen_card"][:40] in " ".join(result.output.split())


def test_ask_json_has_every_field(home: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["--home", str(home), "support", "ask", "where is my new card", "--json",
         "--conversation-id", "c1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    reply = json.loads(result.output)
    assert reply["intent"] == "card_arrival"
    assert reply["handoff"] is False
    assert set(reply) == {"intent", "confidence", "answer", "handoff", "handoff_reason",
                          "prediction_id", "model", "model_version"}  # fmt: skip


def test_ask_unrelated_text_says_handed_off(home: Path) -> None:
    result = CliRunner().invoke(
        app, ["--home", str(home), "support", "ask", "quantum chromodynamics syllabus", "--json"]
    )
    reply = json.loads(result.output)
    assert reply["handoff"] is True
    human = CliRunner().invoke(app, ["--home", str(home), "support", "ask", "quantum syllabus"])
    assert "handed off to a human" in human.output


@pytest.mark.parametrize(
    ("args", "code"),
    [(["   "], "empty_text"), (["x" * 10_001], "text_too_long"),
     (["card \ud800"], "invalid_unicode"),
     (["card", "--conversation-id", ""], "invalid_conversation_id")],
)  # fmt: skip
def test_ask_bad_input_prints_one_error_line(
    home: Path, args: list[str], code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--home", str(home), "support", "ask", *args])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error[{code}]:")
    assert len(err.strip().splitlines()) == 1


def test_ask_without_model_says_how_to_train(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--home", str(cli_home), "support", "ask", "where is my card"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error[model_not_ready]:")
    assert "baryon demo" in err
