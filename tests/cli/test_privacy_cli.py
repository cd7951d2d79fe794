"""``baryon data erase``, ``baryon data ingest --sensitive``, ``baryon encryption rotate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baryon.cli.main import main

CSV = "id,email,label\n1,ann@example.com,a\n2,bob@example.org,b\n3,cy@example.net,a\n"


def run(home: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(["--home", str(home), *argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_erase_and_rotate(
    cli_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(CSV)
    code, out, _ = run(cli_home, capsys, "data", "ingest", str(path), "--name", "people",
                       "--sensitive", "--json")  # fmt: skip
    assert code == 0
    code, out, _ = run(cli_home, capsys, "data", "erase", "--match", "email=ann@example.com")
    assert code == 0, out
    assert "people: 1 row(s) removed, version(s) 1 erased; new version 2" in out
    code, out, _ = run(cli_home, capsys, "encryption", "rotate", "--json")
    assert code == 0
    assert json.loads(out)["rewrapped"] >= 2
    code, out, err = run(
        cli_home, capsys, "data", "export", "people:1", "--out", str(tmp_path / "o.csv")
    )
    assert code != 0
    assert "error[version_erased]" in err
    code, out, _ = run(
        cli_home, capsys, "data", "export", "people", "--out", str(tmp_path / "n.csv")
    )
    assert code == 0
    assert "ann@" not in (tmp_path / "n.csv").read_text()


@pytest.mark.parametrize("match", ["email", "=x", "email="])
def test_cli_erase_bad_match_is_one_line_error(
    cli_home: Path, capsys: pytest.CaptureFixture[str], match: str
) -> None:
    code, _, err = run(cli_home, capsys, "data", "erase", "--match", match)
    assert code != 0
    assert err.strip().startswith("error[invalid_match]")
    assert len(err.strip().splitlines()) == 1


def test_cli_erase_unknown_dataset(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(cli_home, capsys, "data", "erase", "--match", "a=1", "--dataset", "nope")
    assert code != 0
    assert "error[dataset_not_found]" in err
