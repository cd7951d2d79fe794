"""``baryon sources add|list|show|run|remove`` and ``baryon sentiment subscribe`` in process,
against a loopback origin (``BARYON_FETCH_ALLOW`` lets the workspace reach it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from clikit import run
from originkit import Origin

RSS = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    "<item><guid>a</guid><title>one</title></item><item><guid>a</guid><title>one</title></item>"
    "<item><title>no id</title></item></channel></rss>"
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BARYON_FETCH_ALLOW", '["127.0.0.1/32"]')
    monkeypatch.setenv("NEWS_TOKEN", "tok-secret-123")
    return tmp_path / "home"


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as server:
        server.static("/rss", RSS.encode(), "application/rss+xml")
        yield server


def test_cli_sources_lifecycle_prints_report(
    home: Path, origin: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    h = ["--home", str(home)]
    code, out, _ = run([*h, "sources", "add", "news", "--kind", "feed", "--url", origin.url("/rss"),
                        "--every", "15m"], capsys)  # fmt: skip
    assert code == 0
    assert "schedule source-news: every 15m" in out
    code, out, _ = run([*h, "sources", "run", "news"], capsys)
    assert code == 0
    assert "fetched 3, new 1, duplicate 1, failed 1" in out
    assert "no_identity" in out
    code, out, _ = run([*h, "sources", "show", "news", "--json"], capsys)
    shown = json.loads(out)
    assert (shown["runs"][0]["new"], shown["runs"][0]["trigger"]) == (1, "cli")
    code, out, _ = run([*h, "sources", "list"], capsys)
    assert "news" in out
    assert "last succeeded" in out
    code, out, _ = run([*h, "sources", "remove", "news"], capsys)
    assert code == 0
    code, _, err = run([*h, "sources", "show", "news"], capsys)
    assert code == 1
    assert err.startswith("error[source_not_found]")


def test_cli_sources_secret_from_env_never_printed(
    home: Path, origin: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    h = ["--home", str(home)]
    code, out, _ = run([*h, "sources", "add", "api", "--kind", "http_api", "--url",
                        origin.url("/api"), "--auth", "bearer", "--secret-env", "NEWS_TOKEN",
                        "--json"], capsys)  # fmt: skip
    assert code == 0
    assert "tok-secret-123" not in out
    assert json.loads(out)["auth"] == {"type": "bearer"}
    code, out, _ = run([*h, "sources", "show", "api"], capsys)
    assert "tok-secret-123" not in out
    assert "bearer (stored, not shown)" in out
    assert "tok-secret-123" not in (home / "baryon.db").read_bytes().decode("latin-1")


def test_cli_sources_bad_input_one_line_and_nothing_written(
    home: Path, origin: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    h = ["--home", str(home)]
    cases = [
        (["--kind", "feed", "--url", "http://0x7f000001/"], "ambiguous_host"),
        (
            ["--kind", "feed", "--url", origin.url("/rss"), "--config", "[1]"],
            "invalid_source_config",
        ),
        (["--kind", "feed", "--url", origin.url("/rss"), "--every", "10s"], "interval_too_short"),
        (["--kind", "nope", "--url", origin.url("/rss")], "invalid_source_kind"),
    ]
    for args, code_name in cases:
        code, _, err = run([*h, "sources", "add", "x", *args], capsys)
        assert code == 1, args
        assert err.strip().splitlines()[0].startswith(f"error[{code_name}]"), err
    code, out, _ = run([*h, "sources", "list", "--json"], capsys)
    assert json.loads(out) == []


def test_cli_source_run_failure_exits_1_with_code(
    home: Path, origin: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    origin.route("/rss", lambda _r: (302, {"Location": "http://169.254.169.254/"}, b""))
    h = ["--home", str(home)]
    run([*h, "sources", "add", "news", "--kind", "feed", "--url", origin.url("/rss")], capsys)
    code, out, _ = run([*h, "sources", "run", "news"], capsys)
    assert code == 1
    assert "error[address_refused]" in out


def test_cli_sentiment_subscribe_bad_interval_and_no_model(
    home: Path, origin: Origin, capsys: pytest.CaptureFixture[str]
) -> None:
    h = ["--home", str(home)]
    code, _, err = run([*h, "sentiment", "subscribe", origin.url("/rss"), "--every", "5s"], capsys)
    assert code == 1
    assert err.startswith("error[interval_too_short]")
    code, out, _ = run([*h, "sentiment", "subscribe", origin.url("/rss"), "--every", "5m",
                        "--tickers", "AAPL", "--name", "wire", "--json"], capsys)  # fmt: skip
    made = json.loads(out)
    assert (made["source"]["config"]["tickers"], made["schedule"]["every"]) == (["AAPL"], "5m")
    assert made["run"]["status"] == "failed"  # no sentiment champion in a fresh home
    assert made["run"]["error_code"] in {"model_not_found", "model_not_ready"}
