"""``baryon sentiment``: analyze, feed, replay (alerts printed as they fire)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from baryon.cli.main import app, main
from baryon.core.config import Settings
from baryon.solutions.sentiment.pipeline import SentimentPipeline
from baryon.workspace import Workspace

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WORDS = {0: ["plunges", "slumps", "misses"], 1: ["soars", "jumps", "beats"], 2: ["files", "holds"]}


def _csv(path: Path, rows: list[tuple[str, int]]) -> Path:
    path.write_text(
        "text,label\n" + "".join(f'"{t}",{label}\n' for t, label in rows), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with tiny sentiment and topic models (trained once for this module)."""
    base = tmp_path_factory.mktemp("sentiment-cli")
    rng = random.Random(0)
    sentiment = [(f"$TSLA {rng.choice(WORDS[k % 3])} {k}", k % 3) for k in range(60)]
    topic = [(f"{['earnings call', 'fed minutes'][k % 2]} {k}", k % 2) for k in range(40)]
    with Workspace.open(Settings(home=base / "home")) as ws:
        SentimentPipeline(
            ws,
            kind="text_classifier",
            params={"preprocess": "finance", "cv": 2},
            sources={
                "sentiment": _csv(base / "s.csv", sentiment),
                "topic": _csv(base / "t.csv", topic),
            },
            label_names={
                "sentiment": {"0": "Bearish", "1": "Bullish", "2": "Neutral"},
                "topic": {"0": "Earnings", "1": "Fed | Central Banks"},
            },
        ).run()
    return base / "home"


def _feed(path: Path, texts: list[str], *, step_minutes: float = 1.0) -> Path:
    lines = [
        json.dumps(
            {
                "id": f"n{k}",
                "published_at": (T0 + timedelta(minutes=step_minutes * k)).isoformat(),
                "source": "wire",
                "text": text,
            }
        )
        for k, text in enumerate(texts)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_replay_prints_alerts_as_they_fire(home: Path, tmp_path: Path) -> None:
    feed = _feed(tmp_path / "f.jsonl", ["$TSLA files"] * 3 + ["$TSLA plunges"] * 4)
    result = CliRunner().invoke(
        app, ["--home", str(home), "sentiment", "replay", str(feed), "--min-items", "3"]
    )
    assert result.exit_code == 0, result.output
    alerts = [line for line in result.stdout.splitlines() if "ALERT" in line]
    # all items and $TSLA: 3 neutral then 2 bearish give -2/5 = -0.40 < -0.3 at minute 4
    assert len(alerts) == 2
    assert alerts[0].startswith((T0 + timedelta(minutes=4)).isoformat())
    assert "mood index below -0.3: -0.40" in alerts[0]
    assert "$TSLA" in alerts[1]
    assert "replayed 7 items" in result.stderr


def test_replay_json_summary_counts_labels_and_duplicates(home: Path, tmp_path: Path) -> None:
    feed = _feed(tmp_path / "f.jsonl", ["$TSLA soars", "$TSLA files"])
    with feed.open("a", encoding="utf-8") as fh:  # the first item again
        fh.write(feed.read_text(encoding="utf-8").splitlines()[0] + "\n")
    result = CliRunner().invoke(
        app, ["--home", str(home), "sentiment", "replay", str(feed), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["items"], summary["duplicates"]) == (2, 1)
    assert summary["labels"] == {"Bearish": 0, "Bullish": 1, "Neutral": 1}
    assert summary["alerts"] == []
    assert summary["index"]["n"] == 2


def test_replay_speed_waits_between_items(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    monkeypatch.setattr("time.sleep", waits.append)
    feed = _feed(tmp_path / "f.jsonl", ["$TSLA files"] * 3, step_minutes=2)
    result = CliRunner().invoke(
        app, ["--home", str(home), "sentiment", "replay", str(feed), "--speed", "60"]
    )
    assert result.exit_code == 0, result.output
    assert waits == [2.0, 2.0]  # 120 s of feed time at 60x


def _fail(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the real entry point; return stderr of a failing command."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1  # one line, no traceback
    return err


@pytest.mark.parametrize(
    ("content", "code"),
    [("{not json\n", "invalid_json"), ("\n", "empty_file"), ('{"id": "a"}\n', "invalid_item")],
)
def test_replay_bad_feed_prints_one_error_line(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, code: str
) -> None:
    feed = tmp_path / "bad.jsonl"
    feed.write_text(content, encoding="utf-8")
    err = _fail(["--home", str(home), "sentiment", "replay", str(feed)], capsys)
    assert err.startswith(f"error[{code}]")


def test_replay_unknown_window_and_missing_file_fail(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _feed(tmp_path / "f.jsonl", ["$TSLA files"])
    argv = ["--home", str(home), "sentiment", "replay"]
    assert _fail([*argv, str(feed), "--window", "2h"], capsys).startswith("error[unknown_window]")
    assert _fail([*argv, "nope.jsonl"], capsys).startswith("error[file_not_found]")


def test_replay_without_models_is_model_not_ready(
    cli_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed = _feed(tmp_path / "f.jsonl", ["$TSLA files"])
    err = _fail(["--home", str(cli_home), "sentiment", "replay", str(feed)], capsys)
    assert err.startswith(("error[model_not_ready]", "error[not_found]", "error[model_not_found]"))


def test_analyze_prints_label_and_topic(home: Path) -> None:
    result = CliRunner().invoke(
        app, ["--home", str(home), "sentiment", "analyze", "$TSLA soars", "--json"]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["results"][0]["label"] == "Bullish"
    assert body["results"][0]["topic"] in ("Earnings", "Fed | Central Banks")


def test_feed_writes_held_out_items_with_synthetic_times(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "feed.jsonl"
    result = CliRunner().invoke(
        app, ["--home", str(home), "sentiment", "feed", str(out), "--n", "4", "--interval", "30"]
    )
    assert result.exit_code == 0, result.output
    items = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(items) == 4
    times = [datetime.fromisoformat(i["published_at"]) for i in items]
    assert times[1] - times[0] == timedelta(seconds=30)
    assert "synthetic" in result.stderr


def test_analyze_empty_text_is_refused_like_the_http_route() -> None:
    # `baryon sentiment analyze ""` scored the empty text (exit 0); the API says empty_text.
    from baryon.core.errors import InvalidInput
    from baryon.solutions.sentiment.service import SentimentScorer

    scorer = SentimentScorer.__new__(SentimentScorer)  # the check runs before any model
    with pytest.raises(InvalidInput) as err:
        scorer.analyze(["fine", "  "])
    assert err.value.code == "empty_text"


def test_analyze_lone_surrogate_is_invalid_unicode_not_internal_error() -> None:
    # `baryon sentiment analyze "$(printf 'x \xed\xa0\x80')"` printed internal_error.
    from baryon.core.errors import InvalidInput
    from baryon.solutions.sentiment.service import SentimentScorer

    scorer = SentimentScorer.__new__(SentimentScorer)  # the check runs before any model
    with pytest.raises(InvalidInput) as err:
        scorer.analyze(["fine", "x \ud800"])
    assert err.value.code == "invalid_unicode"
