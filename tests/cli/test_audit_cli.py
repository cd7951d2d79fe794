"""``baryon audit list|export|verify`` and the key file's checks, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import run
from sqlalchemy import create_engine, text


@pytest.fixture
def home(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    for argv in (
        ["orgs", "create", "acme"],
        ["orgs", "create", "globex"],
        ["keys", "create", "--org", "acme", "--role", "admin"],
        ["keys", "create", "--org", "globex", "--role", "viewer"],
    ):
        code, _, err = run(["--home", str(cli_home), *argv], capsys)
        assert code == 0, err
    return cli_home


def _sql(home: Path, statement: str) -> None:
    engine = create_engine(f"sqlite:///{home / 'baryon.db'}")
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_audit_verify_ok_prints_the_head_as_an_anchor(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["--home", str(home), "audit", "verify"], capsys)
    assert code == 0
    assert out.startswith("audit chain ok: 4 events; head 4:")
    anchor = out.split("head ", 1)[1].split()[0]
    code, _, err = run(["--home", str(home), "audit", "verify", "--anchor", anchor], capsys)
    assert code == 0, err


def test_audit_verify_hand_edited_row_exits_1_naming_it(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql(home, "UPDATE audit_events SET actor = 'cli:someone-else' WHERE seq = 3")
    code, out, err = run(["--home", str(home), "audit", "verify"], capsys)
    assert code == 1
    assert out == ""
    assert err.startswith("error[audit_chain_broken]: audit event #3 (aud_")
    assert "key.create" in err
    code, out, _ = run(["--home", str(home), "audit", "verify", "--json"], capsys)
    assert code == 1
    report = json.loads(out)
    assert (report["ok"], report["problem"]["seq"], report["problem"]["kind"]) == (
        False, 3, "altered",
    )  # fmt: skip


def test_audit_verify_deleted_row_exits_1(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _sql(home, "DELETE FROM audit_events WHERE seq = 2")
    code, _, err = run(["--home", str(home), "audit", "verify"], capsys)
    assert code == 1
    assert err.startswith("error[audit_chain_broken]: audit event #2 is missing")


def test_audit_verify_bad_anchor_named_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["--home", str(home), "audit", "verify", "--anchor", "3:xyz"], capsys)
    assert code == 1
    assert err.startswith("error[invalid_anchor]:")


def test_audit_list_filters_and_org_scope(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--home", str(home), "audit", "list", "--json"], capsys)
    assert code == 0
    events = json.loads(out)
    assert [e["seq"] for e in events] == [4, 3, 2, 1]  # operator: every org, newest first
    code, out, _ = run(
        ["--home", str(home), "audit", "list", "--json", "--action", "key.*"], capsys
    )
    assert [e["action"] for e in json.loads(out)] == ["key.create", "key.create"]
    code, out, _ = run(["--home", str(home), "--org", "globex", "audit", "list", "--json"], capsys)
    globex = json.loads(out)
    assert [e["seq"] for e in globex] == [4, 2]
    assert {e["org_id"] for e in globex} == {events[2]["org_id"]}
    code, out, _ = run(
        ["--home", str(home), "audit", "list", "--json", "--since", "2999-01-01"], capsys
    )
    assert json.loads(out) == []
    code, out, _ = run(["--home", str(home), "audit", "list", "--limit", "1"], capsys)
    assert code == 0
    assert "key.create" in out


def test_audit_list_bad_time_named_error(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--home", str(home), "audit", "list", "--since", "yesterday"], capsys)
    assert code == 1
    assert err.startswith("error[invalid_time]: --since")


def test_audit_export_jsonl_with_chain_values(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "audit.jsonl"
    code, _, err = run(
        ["--home", str(home), "audit", "export", "--object-type", "api_key", "-o", str(target)],
        capsys,
    )
    assert code == 0, err
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    assert [e["seq"] for e in lines] == [3, 4]
    assert all(len(e["chain"]) == 64 for e in lines)
    code, out, _ = run(["--home", str(home), "audit", "export"], capsys)
    assert [json.loads(line)["seq"] for line in out.splitlines()] == [1, 2, 3, 4]


def test_workspace_with_readable_key_file_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (home / "audit.key").chmod(0o644)
    code, _, err = run(["--home", str(home), "info"], capsys)
    assert code == 1
    assert err.startswith("error[key_file_insecure]:")
    assert "chmod 600" in err


def test_orgs_update_inputs_is_audited_and_bad_mode_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["--home", str(home), "orgs", "list", "--json"], capsys)
    assert {o["name"]: o["prediction_inputs"] for o in json.loads(out)}["acme"] == "masked"
    code, out, err = run(
        ["--home", str(home), "orgs", "update", "acme", "--inputs", "none"], capsys
    )
    assert code == 0, err
    assert out.strip() == "acme: prediction inputs none"
    code, out, _ = run(
        ["--home", str(home), "audit", "list", "--json", "--action", "org.update"], capsys
    )
    [event] = json.loads(out)
    assert event["details"] == {"prediction_inputs": ["masked", "none"]}
    code, _, err = run(["--home", str(home), "orgs", "update", "acme", "--inputs", "all"], capsys)
    assert code == 1
    assert err.startswith("error[invalid_input]: prediction_inputs must be one of full, masked")
