"""``baryon serve``: a real server process on a free loopback port, called over TCP."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from serverkit import free_port, start_server, stop_server, wait_ready

from baryon.cli.main import main

pytestmark = pytest.mark.server


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


@pytest.fixture
def served(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[str, str]]:
    """A home with org ``acme`` (plan ``tiny``: 5 requests/minute) served by 2 workers."""
    home = ["--home", str(cli_home)]
    _cli([*home, "plans", "create", "tiny", "--quota", "100", "--rate", "5"], capsys)
    _cli([*home, "orgs", "create", "acme", "--plan", "tiny"], capsys)
    secret = _cli([*home, "keys", "create", "--org", "acme", "--role", "developer"], capsys)
    port = free_port()
    proc = start_server(cli_home, port, workers=2)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        yield base, secret.strip()
    finally:
        stop_server(proc)


def test_serve_two_workers_share_rate_limit_and_answer_problems_over_tcp(
    served: tuple[str, str],
) -> None:
    base, secret = served
    auth = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{base}/readyz").json()["status"] == "ready"
    assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Baryon API"
    unauth = httpx.get(f"{base}/v1/me")
    assert unauth.status_code == 401
    assert unauth.headers["www-authenticate"].startswith("Bearer")
    statuses = []
    for _ in range(8):  # a new connection each time: spread over both workers
        r = httpx.get(f"{base}/v1/me", headers=auth)
        statuses.append(r.status_code)
    assert statuses == [200] * 5 + [429] * 3  # one limit, shared through the database
    assert "server" not in {k.lower() for k in r.headers}


def test_serve_sigterm_shuts_down_gracefully(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    proc = start_server(cli_home, port, workers=1, level="info")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        missing = httpx.post(f"{base}/v1/models/x/predict", json={"inputs": [1]})
        assert missing.status_code == 401
        proc.send_signal(signal.SIGTERM)
        # uvicorn finishes in-flight work, runs the app's shutdown, then re-raises the
        # signal so the exit status still says "terminated by SIGTERM"
        assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
        log = (cli_home.parent / f"serve-{port}.log").read_text()
        assert "Application shutdown complete" in log
        assert "Traceback" not in log
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{base}/healthz", timeout=1.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_two_workers_metrics_count_every_workers_requests(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``/metrics`` sums both workers (multiprocess mode): whichever worker answers a
    scrape, it counts all the requests. Per-process registries would show about half."""
    home = ["--home", str(cli_home)]
    _cli([*home, "orgs", "create", "platform", "--operator"], capsys)
    secret = _cli([*home, "keys", "create", "--org", "platform", "--role", "admin"], capsys)
    auth = {"Authorization": f"Bearer {secret.strip()}"}
    port = free_port()
    proc = start_server(cli_home, port, workers=2)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc)
        sent = 30
        for _ in range(sent):  # a new connection each time: spread over both workers
            assert httpx.get(f"{base}/healthz").status_code == 200
        line = 'baryon_http_requests_total{method="GET",route="/healthz",status="200"}'
        for _ in range(6):  # several scrapes: both workers answer some of them
            text = httpx.get(f"{base}/metrics", headers=auth).text
            counts = [ln for ln in text.splitlines() if ln.startswith(line)]
            assert counts, text[:2000]
            # wait_ready's own probes count too
            assert float(counts[0].rsplit(" ", 1)[1]) >= sent
    finally:
        stop_server(proc)


def test_serve_warms_champions_before_it_accepts_requests(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The champion is loaded and scored once during start-up: when ``/healthz`` first
    answers, the log already says so (the first request pays no model load)."""
    home = ["--home", str(cli_home)]
    rows = ["x1,x2,label"] + [f"{i % 10},{i * 7 % 10},{'hi' if i % 10 + i * 7 % 10 > 9 else 'lo'}"
                              for i in range(80)]  # fmt: skip
    data = cli_home.parent / "points.csv"
    data.write_text("\n".join(rows) + "\n")
    _cli([*home, "data", "ingest", str(data), "--name", "points", "--role", "label=label"], capsys)
    _cli([*home, "data", "split", "points", "--strategy", "stratified", "--seed", "1"], capsys)
    _cli([*home, "train", "decision_tree", "--dataset", "points", "--register", "points"],
         capsys)  # fmt: skip
    port = free_port()
    proc = start_server(cli_home, port, workers=1, level="info")
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        log = (cli_home.parent / f"serve-{port}.log").read_text()
    finally:
        stop_server(proc)
    assert "warmed 1 champion model(s)" in log, log
    assert log.index("warmed 1 champion model(s)") < log.index("Application startup complete")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["serve", "/no/such/service.py"], "invalid_service"),
        (["--org", "nobody", "serve", "SAMPLES"], "org_not_found"),
    ],
)
def test_serve_refuses_a_service_it_cannot_serve_in_one_line(
    cli_home: Path, capsys: pytest.CaptureFixture[str], args: list[str], code: str
) -> None:
    samples = str(Path(__file__).resolve().parents[1] / "services" / "samples.py")
    argv = ["--home", str(cli_home), *(samples if a == "SAMPLES" else a for a in args)]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error[{code}]:")
    assert "Traceback" not in err
