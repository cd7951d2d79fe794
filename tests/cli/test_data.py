"""``baryon data ...``: every command, its output, and one-line errors for bad inputs."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from clikit import run
from s3kit import ACCESS_KEY, REGION, SECRET_KEY, s3_endpoint

from baryon.core.scope import SYSTEM

Data = Callable[..., tuple[int, str, str]]
ID = re.compile(r"dsv_[0-9a-z]{26}")
TICKETS = (
    "id;text;label\n"
    '1;"my card, the new one, has not arrived";card\n'
    "2;please refund me;refund\n"
    "3;please refund me;refund\n"
    "4;mail me at jane@example.com;other\n"
    "5;top up failed;topup\n"
    "6;where is my card;card\n"
)


@pytest.fixture
def data(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> Data:
    """Run ``baryon --home <cli_home> data ...``."""

    def call(*args: str) -> tuple[int, str, str]:
        return run(["--home", str(cli_home), "data", *args], capsys)

    return call


@pytest.fixture
def tickets(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.csv"
    path.write_text(TICKETS)
    return path


def test_ingest_prints_created_version_id_and_roles(data: Data, tickets: Path) -> None:
    code, out, _ = data("ingest", str(tickets), "--name", "tickets")
    assert code == 0
    first = out.splitlines()[0]
    assert first.startswith("created dsv_")
    assert "tickets:1" in first
    assert "6 rows × 3 columns" in first
    assert "delimiter ';'" in out
    assert re.search(r"text\s*│\s*string\s*│\s*text", out)


def test_ingest_audit_actor_names_the_os_user_like_train(
    data: Data, tickets: Path, cli_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # data commands recorded the actor "cli" while train/models record "cli:<os user>"
    import getpass

    from baryon.core.audit import list_audit_events
    from baryon.core.config import Settings
    from baryon.workspace import Workspace

    monkeypatch.setattr(getpass, "getuser", lambda: "alice")
    assert data("ingest", str(tickets), "--name", "tickets")[0] == 0
    with Workspace.open(Settings(home=cli_home)) as ws, ws.db.session(SYSTEM) as session:
        events = list_audit_events(session, object_type="dataset_version")
    assert [e.actor for e in events] == ["cli:alice"]


def test_ingest_mask_pii_masks_before_storing_and_reports(
    data: Data, tmp_path: Path, cli_home: Path
) -> None:
    path = tmp_path / "people.csv"
    path.write_text(
        "id,contact,note\n1,ann@example.com,hi\n2,bob@example.org,call +44 20 7946 0958\n"
    )
    code, out, err = data("ingest", str(path), "--name", "people", "--mask-pii", "contact,note")
    assert code == 0, err
    assert "masked at ingest: contact (2 found), note (1 found)" in out
    stored = b"".join(p.read_bytes() for p in (cli_home / "artifacts").rglob("*") if p.is_file())
    assert b"ann@example.com" not in stored
    assert b"7946" not in stored
    code, _, err = data("ingest", str(path), "--name", "people", "--mask-pii", "nope")
    assert code == 1
    assert err.startswith("error[unknown_column]: --mask-pii")


def test_ingest_twice_prints_unchanged_same_id(data: Data, tickets: Path) -> None:
    _, out1, _ = data("ingest", str(tickets), "--name", "tickets")
    code, out2, _ = data("ingest", str(tickets), "--name", "tickets")
    assert code == 0
    assert out2.startswith("unchanged ")
    assert ID.findall(out1)[0] == ID.findall(out2)[0]


def test_ingest_role_and_type_options(data: Data, tickets: Path) -> None:
    code, out, _ = data(
        "ingest", str(tickets), "--name", "t", "--role", "id=feature", "--type", "id=string",
        "--json",
    )  # fmt: skip
    assert code == 0
    payload = json.loads(out)
    assert payload["roles"]["id"] == "feature"
    assert payload["schema"]["id"] == "string"
    assert ID.fullmatch(payload["id"])


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty_file"),
        (b"a,b\n", "header_only"),
        (bytes(range(256)) * 4, "binary_file"),
        (b"a,b,a\n1,2,3\n", "duplicate_columns"),
        (b"a,b\n1,2,3\n4,5,6\n", "header_mismatch"),
        (b"a,b\n1,2\n3,4,5\n", "ragged_rows"),
    ],
)
def test_ingest_bad_file_prints_one_error_line_and_exits_1(
    data: Data, tmp_path: Path, content: bytes, code: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    exit_code, out, err = data("ingest", str(path), "--name", "bad")
    assert exit_code == 1
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith(f"error[{code}]: ")
    assert "Traceback" not in err + out
    _, listing, _ = data("list")
    assert "no datasets yet" in listing


def test_ingest_bad_role_option_is_an_error_line(data: Data, tickets: Path) -> None:
    code, _, err = data("ingest", str(tickets), "--name", "t", "--role", "text")
    assert code == 1
    assert err.startswith("error[invalid_option]")
    code, _, err = data("ingest", str(tickets), "--name", "t", "--role", "text=body")
    assert err.startswith("error[invalid_role]")


def test_clean_with_steps_prints_new_version_and_step_reports(data: Data, tickets: Path) -> None:
    data("ingest", str(tickets), "--name", "tickets")
    code, out, _ = data(
        "clean", "tickets", "--step", "drop_duplicates:text+label", "--step", "mask_pii:text"
    )
    assert code == 0
    assert out.startswith("created dsv_")
    assert "tickets:2" in out
    assert "drop_duplicates: 6 → 5 rows" in out
    assert "mask_pii: 5 → 5 rows" in out


def test_clean_with_recipe_file(data: Data, tickets: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("steps:\n  - trim\n  - step: drop_duplicates\n")
    data("ingest", str(tickets), "--name", "tickets")
    code, out, _ = data("clean", "tickets:1", "--recipe", str(recipe), "--json")
    assert code == 0
    payload = json.loads(out)
    assert [s["step"] for s in payload["steps"]] == ["trim", "drop_duplicates"]
    assert [e["operation"] for e in payload["lineage"]] == ["ingest", "clean"]
    assert payload["provenance"] == {}


def test_clean_errors(data: Data, tickets: Path) -> None:
    data("ingest", str(tickets), "--name", "tickets")
    code, _, err = data("clean", "tickets")
    assert (code, err.split("]")[0]) == (1, "error[no_steps")
    code, _, err = data("clean", "tickets", "--step", "explode")
    assert err.startswith("error[unknown_step]")
    code, _, err = data("clean", "nope", "--step", "trim")
    assert err.startswith("error[dataset_not_found]")
    code, _, err = data("clean", "tickets@1", "--step", "trim")  # the old version form
    assert code == 1
    assert err.startswith("error[invalid_ref]")
    assert "use tickets:1" in err


def test_split_show_list_history_export(data: Data, tickets: Path, tmp_path: Path) -> None:
    data("ingest", str(tickets), "--name", "tickets")
    code, out, _ = data(
        "split", "tickets", "--strategy", "random", "--test-size", "0.5",
        "--validation-size", "0", "--seed", "3",
    )  # fmt: skip
    assert code == 0
    assert "tickets:2" in out
    assert "train 3  validation 0  test 3" in out
    split_id = ID.findall(out)[0]

    code, out, _ = data("show", "tickets")
    assert code == 0
    assert split_id in out
    assert "lineage: tickets:1 (ingest) → tickets:2 (split)" in out
    assert "split random (seed 3)" in out

    code, out, _ = data("show", "tickets:1", "--json")
    shown = json.loads(out)
    assert shown["version"] == 1
    assert shown["report"]["rows"] == 6

    code, out, _ = data("list", "--json")
    assert [(d["name"], d["version"]) for d in json.loads(out)] == [("tickets", 2)]
    code, out, _ = data("list")
    assert split_id in out

    code, out, _ = data("history", "tickets")
    assert out.count("dsv_") == 2

    target = tmp_path / "test.csv"
    code, out, _ = data("export", "tickets", "--out", str(target), "--split", "test")
    assert code == 0
    assert out.startswith(f"exported {split_id}")
    assert len(target.read_text().splitlines()) == 4


def test_split_without_label_role_is_missing_role(data: Data, tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6\n")
    data("ingest", str(path), "--name", "n", "--role", "b=feature")
    code, _, err = data("split", "n", "--strategy", "stratified")
    assert code == 1
    assert err.startswith("error[missing_role]")


def test_split_negative_seed_is_one_error_line(data: Data, tickets: Path) -> None:
    data("ingest", str(tickets), "--name", "tickets")
    code, _, err = data("split", "tickets", "--strategy", "random", "--seed", "-1")
    assert code == 1
    assert err.startswith("error[invalid_split]")
    assert len(err.strip().splitlines()) == 1


def test_clean_broken_yaml_recipe_is_one_error_line(
    data: Data, tickets: Path, tmp_path: Path
) -> None:
    data("ingest", str(tickets), "--name", "tickets")
    recipe = tmp_path / "broken.yaml"
    recipe.write_text(": : :\n  - [\n")
    code, _, err = data("clean", "tickets", "--recipe", str(recipe))
    assert code == 1
    assert err.startswith("error[invalid_recipe]")
    assert len(err.strip().splitlines()) == 1


def test_show_unknown_dataset(data: Data) -> None:
    code, _, err = data("show", "ghost")
    assert code == 1
    assert err.strip() == "error[dataset_not_found]: no dataset named 'ghost'"


@pytest.mark.s3
def test_ingest_into_missing_bucket_prints_named_error_without_secret(
    data: Data, tickets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BARYON_ARTIFACTS_URL", "s3://baryon-no-such-bucket/prefix")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint())
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    code, out, err = data("ingest", str(tickets), "--name", "tickets")
    assert code == 1
    assert err.startswith("error[artifact_store_unavailable]: artifact store ")
    assert "s3://baryon-no-such-bucket/prefix" in err
    assert "no such bucket" in err
    assert SECRET_KEY not in err + out
    assert ACCESS_KEY not in err + out
    code, out, _ = data("list", "--json")
    assert (code, json.loads(out)) == (0, [])
