"""The CLI skeleton: version, help, init, info, error output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from clikit import run

from baryon import __version__


def test_version_prints_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0
    assert out.strip() == f"baryon {__version__}"


def test_help_lists_init_and_info(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    assert "init" in out
    assert "info" in out


def test_init_then_info_json_reports_schema(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["--home", str(cli_home), "init"], capsys)
    assert code == 0
    assert str(cli_home) in out
    code, out, _ = run(["--home", str(cli_home), "info", "--json"], capsys)
    assert code == 0
    info = json.loads(out)
    assert info["home"] == str(cli_home)
    assert info["schema_version"] == info["schema_head"]
    assert isinstance(info["counts"], dict)


def test_init_home_option_after_command_is_accepted(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(["init", "--home", str(cli_home)], capsys)
    assert code == 0
    assert (cli_home / "baryon.db").is_file()


def test_home_is_file_prints_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "f"
    home.write_text("x")
    code, out, err = run(["--home", str(home), "init"], capsys)
    assert code == 1
    assert err.strip().startswith("error[invalid_home]:")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err + out


def test_corrupt_database_error_is_one_line_and_file_untouched(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_home.mkdir()
    (cli_home / "baryon.db").write_bytes(b"garbage" * 10)
    code, _, err = run(["--home", str(cli_home), "info"], capsys)
    assert code == 1
    assert err.startswith("error[database_corrupt]:")
    assert (cli_home / "baryon.db").read_bytes() == b"garbage" * 10


def test_debug_flag_shows_traceback(tmp_path: Path) -> None:
    home = tmp_path / "f"
    home.write_text("x")
    out = subprocess.run(
        [sys.executable, "-m", "baryon", "--debug", "--home", str(home), "init"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode != 0
    assert "Traceback" in out.stderr


def test_unknown_option_is_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["info", "--bogus"], capsys)
    assert code == 2
    assert "No such option" in err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["plans", "create", "team", "--quota", "abc", "--rate", "1"], "'--quota'"),
        (["plans", "create", "team", "--rate", "1"], "Missing option '--quota'"),
        (["info", "--bogus"], "No such option: --bogus"),
        (["no-such-noun"], "No such command 'no-such-noun'"),
        (["keys", "create", "--org"], "Option '--org' requires an argument"),
    ],
)
def test_usage_error_is_one_line_error_usage_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    # `plans create --quota abc` used to print click's usage block and "Error: ..."
    code, out, err = run(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("error[usage]: ")
    assert says in err
    assert len(err.strip().splitlines()) == 1
    assert "Usage:" not in err


def test_usage_error_names_the_command_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["plans", "create", "team", "--quota", "x", "--rate", "1"], capsys)
    assert code == 2
    assert err.strip().endswith("(see 'baryon plans create --help')")


def test_help_of_a_command_still_prints_usage_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["plans", "create", "--help"], capsys)
    assert code == 0
    assert "--quota" in out
    assert "error[" not in out + err


def test_usage_error_from_the_installed_entry_point_is_one_line(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "baryon", "plans", "create", "t", "--quota", "1.5", "--rate", "1"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error[usage]: ")
    assert len(out.stderr.strip().splitlines()) == 1


def test_empty_home_option_is_refused_not_the_current_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["--home", "", "info"], capsys)
    assert code == 1
    assert err.startswith("error[invalid_home]:")
    assert list(tmp_path.iterdir()) == []


def test_empty_home_variable_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BARYON_HOME", "")
    code, _, err = run(["info"], capsys)
    assert code == 1
    assert err.startswith("error[invalid_setting]:")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "value"),
    [("PORT", "abc"), ("SQLITE_BUSY_TIMEOUT", "-1"), ("FETCH_ALLOW", "[127.0.0.1/32")],
)
def test_bad_setting_is_one_line_error(
    cli_home: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
) -> None:
    monkeypatch.setenv(f"BARYON_{name}", value)
    code, _, err = run(["--home", str(cli_home), "info"], capsys)
    assert code == 1
    assert err.startswith("error[invalid_setting]:")
    assert f"BARYON_{name}" in err
    assert len(err.strip().splitlines()) == 1


def test_source_secrets_not_json_is_one_line_error(
    cli_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARYON_SOURCE_SECRETS", "token=abc")  # a JSON object is read
    code, _, err = run(["--home", str(cli_home), "info"], capsys)
    assert (code, err.startswith("error[invalid_setting]:")) == (1, True), err
    assert len(err.strip().splitlines()) == 1


def test_database_in_missing_directory_is_refused_and_not_created(
    cli_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    monkeypatch.setenv("BARYON_DATABASE_URL", f"sqlite:///{missing / 'x.db'}")
    code, _, err = run(["--home", str(cli_home), "info"], capsys)
    assert code == 1
    assert err.startswith("error[database_unavailable]:")
    assert not (tmp_path / "no").exists()


def test_unreachable_database_server_is_one_line_without_password(
    cli_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARYON_DATABASE_URL", "postgresql+psycopg://u:s3cret@127.0.0.1:1/db")
    code, _, err = run(["--home", str(cli_home), "info"], capsys)
    assert code == 1
    assert err.startswith("error[database_unavailable]:")
    assert "s3cret" not in err
    assert len(err.strip().splitlines()) == 1


def test_multiline_error_message_is_printed_on_one_line(
    cli_home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # an error message with newlines (e.g. from a library) used to print several lines
    from baryon.core.errors import InvalidFile
    from baryon.workspace import Workspace

    def broken(*args: object, **kwargs: object) -> None:
        raise InvalidFile("first line\n  second line\n", code="invalid_recipe")

    monkeypatch.setattr(Workspace, "info", broken)
    code, _, err = run(["--home", str(cli_home), "info"], capsys)
    assert code == 1
    assert err.strip() == "error[invalid_recipe]: first line second line"
