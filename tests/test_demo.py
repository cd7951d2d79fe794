"""``baryon demo``: the whole flywheel on the bundled data, idempotent, serving every route."""

from __future__ import annotations

import math
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serving.servingkit import PortalTransport  # tests/serving, as in test_client.py
from sqlalchemy.orm import Session

from baryon.cli.main import main
from baryon.core.config import Settings
from baryon.core.errors import InvalidHome
from baryon.core.scope import SYSTEM
from baryon.demo import Demo, DemoResult, results_markdown
from baryon.ml import encoders
from baryon.serving.app import create_app
from baryon.solutions.sentiment.pipeline import FALLBACK_KIND
from baryon.workspace import Workspace


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "home"


@pytest.fixture(scope="module")
def first_run(demo_home: Path) -> Iterator[tuple[Workspace, DemoResult]]:
    """The demo on the bundled data, with TF-IDF text models.

    The pretrained encoder runs at a few texts per second on the two-core CPUs the
    test suite runs on (embedding Banking77 and CLINC150 for the support model alone
    took tens of minutes), so the demo's tests train the TF-IDF fallbacks, as
    ``baryon demo`` does without the ``nlp`` extra; the encoder paths are tested on
    small data in ``tests/ml``.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoders, "nlp_available", lambda name="all-MiniLM-L6-v2": False)
        ws = Workspace.open(Settings(home=demo_home))
        try:
            yield ws, Demo(ws).run()
        finally:
            ws.close()


@pytest.mark.slow
def test_demo_first_run_reports_every_solution_on_held_out_data(
    first_run: tuple[Workspace, DemoResult],
) -> None:
    _, result = first_run
    models = [row.model.split(" ")[0] for row in result.rows]
    assert models == ["concrete-strength", "support-intent", "sentiment", "topic", "recommender"]
    for row in result.rows:
        assert math.isfinite(row.value)
        assert math.isfinite(row.baseline_value)
        assert row.value > row.baseline_value, row
        if row.solution not in ("support", "sentiment"):  # text targets need the encoder
            assert row.met, row  # issue 6's quality targets, on held-out test splits
    table = results_markdown(result.rows, result.seconds)
    assert "Casanueva" in table
    assert result.feed["accepted"] == result.feed["items"] > 0


# The demo trains every solution on its full bundled data once; the solutions' own
# quality checks on that data run here, on the demo's workspace (each pipeline's
# second run reuses what the demo trained, so nothing is trained twice).
@pytest.mark.slow
def test_demo_support_model_hands_off_out_of_scope_and_meets_accuracy(
    first_run: tuple[Workspace, DemoResult],
) -> None:
    from baryon.solutions.support.pipeline import SupportPipeline

    result = SupportPipeline(first_run[0]).run()
    assert not result.created
    assert 0 < result.handoff.threshold < 1
    assert result.held_out["oos_recall"] >= 0.85
    assert result.held_out["in_scope_accuracy"] >= 0.8
    assert result.handoff.at_threshold.answered_accuracy >= 0.95  # type: ignore[operator]
    # TF-IDF alone (as here) reached 0.908; with all-MiniLM-L6-v2 embeddings (the nlp
    # extra) 0.932 and the 0.91 target.
    assert result.accuracy >= 0.89


@pytest.mark.slow
def test_demo_sentiment_models_beat_majority_on_held_out_tweets(
    first_run: tuple[Workspace, DemoResult],
) -> None:
    from baryon.solutions.sentiment.pipeline import SentimentPipeline

    pipeline = SentimentPipeline(first_run[0])
    result = pipeline.run()
    assert not result.created
    assert pipeline.kind == FALLBACK_KIND  # TF-IDF: see first_run
    # docs/solutions/sentiment.md: 0.818 and 0.824 measured (the fine-tuned encoder
    # reaches issue 6's 0.85 and 0.86)
    assert result.sentiment.accuracy >= 0.80
    assert result.topic.accuracy >= 0.80
    assert result.sentiment.accuracy > result.sentiment.baseline["majority_accuracy"] + 0.1
    assert result.topic.accuracy > result.topic.baseline["majority_accuracy"] + 0.5


@pytest.mark.slow
def test_demo_recommender_beats_twice_popularity(first_run: tuple[Workspace, DemoResult]) -> None:
    from baryon.solutions.recommender.pipeline import TARGET_RATIO, RecommenderPipeline

    result = RecommenderPipeline(first_run[0]).run()
    assert not result.created
    assert result.champion_kind == "itemknn_cosine"
    assert result.ratio >= TARGET_RATIO  # measured: 0.124 vs 0.055, 2.28x
    assert result.rows == {"train": 83360, "validation": 12620, "test": 24084}


@pytest.mark.slow
def test_demo_concrete_model_meets_r2_target(first_run: tuple[Workspace, DemoResult]) -> None:
    from baryon.solutions.tabular.pipeline import TabularPipeline

    result = TabularPipeline(first_run[0]).run()
    assert result.metrics["r2"] >= 0.90, result.table()
    assert result.gd_vs_closed_form["max_prediction_gap"] < 0.01


@pytest.mark.slow
def test_demo_key_is_kept_0600_and_printed_once(first_run: tuple[Workspace, DemoResult]) -> None:
    _, result = first_run
    assert result.api_key_new is True
    assert result.api_key is not None
    assert result.api_key.startswith("bry_")
    path = Path(result.api_key_file)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == result.api_key


@pytest.mark.slow
def test_demo_serves_all_four_solutions_with_the_demo_key(
    first_run: tuple[Workspace, DemoResult],
) -> None:
    ws, result = first_run
    auth = {"Authorization": f"Bearer {result.api_key}"}
    transport = PortalTransport(create_app(ws.settings, workspace=ws))
    with httpx.Client(transport=transport, base_url="http://demo") as client:
        r = client.post(
            "/v1/support/answer", json={"text": "my card has not arrived"}, headers=auth
        )
        assert r.status_code == 200, r.text
        assert {"intent", "confidence", "answer", "handoff", "prediction_id"} <= r.json().keys()
        r = client.post("/v1/sentiment/analyze", json={"texts": ["$AAPL jumps"]}, headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["results"][0]["label"] in {"Bearish", "Bullish", "Neutral"}
        r = client.get("/v1/sentiment/alerts", headers=auth)
        assert r.status_code == 200, r.text
        r = client.get("/v1/recommendations/1356810?n=5", headers=auth)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == 5
        row = {
            "cement": 540, "blast_furnace_slag": 0, "fly_ash": 0, "water": 162,
            "superplasticizer": 2.5, "coarse_aggregate": 1040, "fine_aggregate": 676,
            "age_days": 28,
        }  # fmt: skip
        r = client.post(
            "/v1/models/concrete-strength/predict", json={"inputs": [row]}, headers=auth
        )
        assert r.status_code == 200, r.text
        assert 0 < r.json()["outputs"][0]["value"] < 120  # MPa
        r = client.get("/v1/usage?group_by=endpoint", headers=auth)
        assert r.json()["total"]["requests"] == 4  # alerts is a read: not metered
    transport.shutdown()


@pytest.mark.slow
def test_demo_second_run_changes_nothing(
    first_run: tuple[Workspace, DemoResult], demo_home: Path
) -> None:
    ws, first = first_run
    ignore = {
        "audit_events",
        "usage_records",
        "usage_hours",
        "prediction_log",
        "rate_limits",
        "api_keys",
    }
    before = {k: v for k, v in ws.db.table_counts().items() if k not in ignore}
    artifacts_before = set(ws.artifacts.digests())
    again = Demo(ws).run()
    after = {k: v for k, v in ws.db.table_counts().items() if k not in ignore}
    assert after == before
    assert set(ws.artifacts.digests()) == artifacts_before
    assert again.api_key == first.api_key
    assert again.api_key_new is False
    assert again.feed["accepted"] == 0
    assert [r.value for r in again.rows] == [r.value for r in first.rows]


@pytest.mark.slow
def test_demo_cli_table_says_met_and_names_the_missing_nlp_extra(
    first_run: tuple[Workspace, DemoResult],
    demo_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import baryon.cli.demo as cli_demo

    monkeypatch.setattr(cli_demo, "nlp_available", lambda: False)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["demo", "--home", str(demo_home), "--no-serve"]) in (0, None)
    out = capsys.readouterr().out
    assert "met" in out  # the column, readable without colour
    assert "yes" in out
    assert "nlp extra is not installed" in out
    assert "baryon[nlp]" in out
    assert "billing close --period" in out  # the demo org's invoice, how to make it


def test_demo_port_in_use_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit) as info:
            main(["demo", "--home", str(tmp_path / "h"), "--port", str(port)])
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error[port_in_use]:")


def test_demo_tenant_reuses_a_valid_key_and_replaces_a_revoked_one(workspace: Workspace) -> None:
    from baryon.tenancy.keys import list_keys, revoke_key

    demo = Demo(workspace)
    first, new, path = demo.tenant()
    assert new is True
    assert demo.tenant() == (first, False, path)
    with workspace.db.session(SYSTEM) as s:
        (key,) = list_keys(s, _org_id(s))
        revoke_key(s, key.id, org_id=key.org_id, force=True)  # its only (admin) key
    second, new, _ = demo.tenant()
    assert new is True
    assert second != first


def test_demo_tenant_key_file_unwritable_keeps_no_key(workspace: Workspace) -> None:
    from sqlalchemy import func, select

    from baryon.tenancy.tables import ApiKeyRow

    (workspace.settings.home / "demo_api_key").mkdir()  # a directory where the file goes
    with pytest.raises(InvalidHome) as err:
        Demo(workspace).tenant()
    assert err.value.code == "key_file_unwritable"
    with workspace.db.session(SYSTEM) as s:
        assert s.scalar(select(func.count()).select_from(ApiKeyRow)) == 0
    assert not (workspace.settings.home / "demo_api_key").is_file()
    assert [p.name for p in workspace.settings.home.glob(".demo_api_key*")] == []  # no temp left


def _org_id(session: Session) -> str:
    from baryon.commerce.orgs import get_org

    return get_org(session, "demo").id
