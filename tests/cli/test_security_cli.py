"""Security suite, command line: traversal names, canary files, per-install secrets.

Every command argument that names a dataset or model gets the traversal corpus
(:mod:`securitykit`): each is refused with one ``error[code]: ...`` line and makes no
file. Pickle, joblib and torch canaries given to ``baryon data ingest`` and ``baryon
models register`` are refused and never loaded. Two fresh installs have different
secrets, and every secret file is mode 0600.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from securitykit import TRAVERSAL, canaries, escaped_files

from baryon.cli.main import main

CSV = "a,b,label\n1,2,x\n2,3,y\n3,4,x\n4,5,y\n5,6,x\n6,7,y\n"


def run(home: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(["--home", str(home), *argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _commands(payload: str, data_file: str, out: str) -> list[list[str]]:
    return [
        ["data", "ingest", data_file, "--name", payload],
        ["data", "show", payload],
        ["data", "history", payload],
        ["data", "export", payload, "--out", out],
        ["data", "clean", payload, "--step", "trim"],
        ["data", "split", payload, "--strategy", "random"],
        ["data", "erase", "--match", "a=1", "--dataset", payload],
        ["models", "show", payload],
        ["models", "register", payload, data_file, "--dataset", "d", "--target", "label"],
        ["train", "decision_tree", "--dataset", payload, "--target", "label"],
    ]


def test_cli_traversal_names_are_refused(
    cli_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_file = tmp_path / "d.csv"
    data_file.write_text(CSV)
    assert run(cli_home, capsys, "data", "ingest", str(data_file), "--name", "d")[0] == 0
    failures = []
    for payload in TRAVERSAL:
        for argv in _commands(payload, str(data_file), str(tmp_path / "out.csv")):
            code, _, err = run(cli_home, capsys, *argv)
            lines = err.strip().splitlines()
            if code == 0 or len(lines) != 1 or not lines[0].startswith("error["):
                failures.append(f"{argv}: exit {code}, {err.strip()[:200]!r}")
    assert failures == []
    assert escaped_files(tmp_path) == []


def test_cli_canaries_are_refused(
    cli_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "canary-ran"
    data_file = tmp_path / "d.csv"
    data_file.write_text(CSV)
    assert run(cli_home, capsys, "data", "ingest", str(data_file), "--name", "d")[0] == 0
    assert run(cli_home, capsys, "data", "split", "d", "--strategy", "random")[0] == 0
    for name, payload in canaries(marker).items():
        path = tmp_path / name
        path.write_bytes(payload)
        for fmt in ([], ["--format", "parquet"], ["--format", "json"]):
            code, _, err = run(cli_home, capsys, "data", "ingest", str(path), "--name", "c", *fmt)
            assert code != 0, (name, fmt)
            assert err.startswith("error["), err
        code, _, err = run(
            cli_home, capsys, "models", "register", "m", str(path), "--dataset", "d",
            "--target", "label",
        )  # fmt: skip
        assert code != 0, name
        assert err.startswith(("error[invalid_model_file]", "error[untrusted_model]")), err
    assert not marker.exists()


def _secrets(home: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in home.iterdir() if p.name in ("audit.key", "kek")}


def test_two_fresh_installs_have_different_secrets_each_0600(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_file = tmp_path / "d.csv"
    data_file.write_text(CSV)
    homes = [tmp_path / "one", tmp_path / "two"]
    for home in homes:
        assert run(home, capsys, "init")[0] == 0
        code, *_ = run(home, capsys, "data", "ingest", str(data_file), "--name", "d", "--sensitive")
        assert code == 0
    first, second = (_secrets(h) for h in homes)
    assert set(first) == set(second) == {"audit.key", "kek"}
    for name in first:
        assert first[name] != second[name], name
    for home in homes:
        for path in home.iterdir():
            if path.name in ("audit.key", "kek") or "secret" in path.name:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
