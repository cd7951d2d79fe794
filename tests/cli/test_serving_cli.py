"""``baryon plans|orgs|keys|usage``: the operator's commands, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clikit import run


def test_plans_list_shows_builtins(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--home", str(cli_home), "plans", "list", "--json"], capsys)
    assert code == 0
    plans = {p["name"]: p for p in json.loads(out)}
    assert set(plans) == {"free", "pro", "enterprise"}
    assert plans["pro"]["monthly_price"] == "49.00"
    code, out, _ = run(["--home", str(cli_home), "plans", "list"], capsys)
    assert "enterprise" in out


def test_plans_create_then_refuse_bad_limits(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(cli_home)]
    code, out, _ = run(
        [*home, "plans", "create", "team", "--quota", "500", "--rate", "30", "--price", "19.00",
         "--overage-price", "0.01", "--feature", "overage", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["overage_price"] == "0.01"
    code, _, err = run([*home, "plans", "create", "neg", "--quota", "-1", "--rate", "5"], capsys)
    assert code == 1
    assert err.startswith("error[invalid_limit]")
    code, _, err = run([*home, "plans", "create", "frac", "--quota", "1.5", "--rate", "5"], capsys)
    assert code == 2
    code, _, err = run([*home, "plans", "create", "team", "--quota", "1", "--rate", "5"], capsys)
    assert code == 1
    assert "error[plan_exists]" in err


def test_plans_create_with_unit_weights(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(cli_home)]
    code, out, _ = run(
        [*home, "plans", "create", "heavy", "--quota", "500", "--rate", "30",
         "--unit-weight", "/v1/sentiment/analyze=3",
         "--unit-weight", "/v1/recommendations/{user_id}=2", "--json"],
        capsys,
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["unit_weights"] == {
        "/v1/recommendations/{user_id}": 2,
        "/v1/sentiment/analyze": 3,
    }
    code, out, _ = run([*home, "plans", "list"], capsys)
    assert "heavy: 3 units per input on /v1/sentiment/analyze" in out


@pytest.mark.parametrize(
    ("weight", "code"),
    [
        ("/v1/sentiment/analyze=0", "invalid_unit_weight"),
        ("/v1/sentiment/analyze=1.5", "invalid_unit_weight"),
        ("/v1/sentiment/analyze", "invalid_unit_weight"),
        ("=2", "invalid_unit_weight"),
        ("/v1/events=2", "unknown_metered_route"),
    ],
)
def test_plans_create_bad_unit_weight_refused(
    cli_home: Path, capsys: pytest.CaptureFixture[str], weight: str, code: str
) -> None:
    home = ["--home", str(cli_home)]
    argv = [*home, "plans", "create", "bad", "--quota", "5", "--rate", "5", "--unit-weight", weight]
    code_, _, err = run(argv, capsys)
    assert code_ == 1
    assert err.startswith(f"error[{code}]")
    code_, out, _ = run([*home, "plans", "list", "--json"], capsys)
    assert "bad" not in {p["name"] for p in json.loads(out)}


def test_plans_create_same_route_twice_refused(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twice = ["--unit-weight", "/v1/support/answer=2", "--unit-weight", "/v1/support/answer=3"]
    argv = ["--home", str(cli_home), "plans", "create", "twice", "--quota", "5", "--rate", "5"]
    argv += twice
    code, _, err = run(argv, capsys)
    assert code == 1
    assert "error[invalid_unit_weight]" in err


def test_orgs_keys_usage_walkthrough(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(cli_home)]
    code, out, _ = run([*home, "orgs", "create", "acme", "--plan", "pro", "--json"], capsys)
    assert code == 0
    org = json.loads(out)
    assert org["subscription"]["plan"]["name"] == "pro"
    code, out, err = run([*home, "keys", "create", "--org", "acme", "--role", "developer",
                          "--expires", "30d"], capsys)  # fmt: skip
    assert code == 0
    secret = out.strip()
    assert secret.startswith("bry_")
    assert "not shown again" in err
    code, out, _ = run([*home, "keys", "list", "--org", "acme", "--json"], capsys)
    keys = json.loads(out)
    assert len(keys) == 1
    assert secret not in out
    assert keys[0]["prefix"] == secret[:12]
    assert keys[0]["expires_at"] is not None
    code, out, _ = run([*home, "keys", "create", "--org", "acme", "--role", "viewer", "--json"],
                       capsys)  # fmt: skip
    viewer = json.loads(out)
    assert viewer["secret"].startswith("bry_")
    code, out, _ = run([*home, "keys", "revoke", viewer["id"]], capsys)
    assert code == 0
    assert "Revoked" in out
    code, out, _ = run([*home, "orgs", "list", "--json"], capsys)
    listed = [(o["name"], o["plan"]) for o in json.loads(out)]
    assert sorted(listed) == [("acme", "pro"), ("operator", "enterprise")]
    code, out, _ = run([*home, "orgs", "subscribe", "acme", "enterprise"], capsys)
    assert "enterprise" in out
    code, out, _ = run([*home, "usage", "--org", "acme", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["period"]["plan"] == "enterprise"
    assert report["period"]["used"] == 0
    assert report["groups"] == []
    code, out, _ = run([*home, "usage", "--org", "acme", "--group-by", "day"], capsys)
    assert "0 of 1000000" in out
    code, out, _ = run([*home, "orgs", "show", "acme"], capsys)
    assert "enterprise" in out


@pytest.mark.parametrize(
    ("argv", "code_"),
    [
        (["orgs", "create", "Bad Name"], "invalid_name"),
        (["orgs", "create", "acme", "--plan", "platinum"], "plan_not_found"),
        (["keys", "create", "--org", "nobody", "--role", "viewer"], "org_not_found"),
        (["keys", "revoke", "key_nope"], "key_not_found"),
        (["usage", "--org", "nobody"], "org_not_found"),
    ],
)
def test_cli_errors_one_line_with_code(
    cli_home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code_: str
) -> None:
    code, _, err = run(["--home", str(cli_home), *argv], capsys)
    assert code == 1
    assert err.strip().startswith(f"error[{code_}]")
    assert "Traceback" not in err


def test_keys_create_bad_role_and_expiry(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(cli_home)]
    run([*home, "orgs", "create", "acme"], capsys)
    code, _, err = run([*home, "keys", "create", "--org", "acme", "--role", "root"], capsys)
    assert "error[invalid_role]" in err
    code, _, err = run(
        [*home, "keys", "create", "--org", "acme", "--role", "viewer", "--expires", "soon"], capsys
    )
    assert code == 1
    assert "error[invalid_duration]" in err


def test_keys_revoke_last_owner_key_refused_then_recovered(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(cli_home)]
    run([*home, "orgs", "create", "acme"], capsys)
    code, out, _ = run([*home, "keys", "create", "--org", "acme", "--role", "owner", "--json"],
                       capsys)  # fmt: skip
    owner = json.loads(out)
    code, _, err = run([*home, "keys", "revoke", owner["id"]], capsys)
    assert code == 1
    assert err.startswith("error[last_admin]: ")
    assert len(err.strip().splitlines()) == 1
    # the documented recovery path: the operator makes another owner key first
    code, out, _ = run([*home, "keys", "create", "--org", "acme", "--role", "owner"], capsys)
    assert code == 0
    code, out, _ = run([*home, "keys", "revoke", owner["id"]], capsys)
    assert (code, out.startswith("Revoked")) == (0, True)


def test_keys_revoke_force_revokes_the_last_owner_key(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(cli_home)]
    run([*home, "orgs", "create", "acme"], capsys)
    _, out, _ = run([*home, "keys", "create", "--org", "acme", "--role", "admin", "--json"], capsys)
    admin = json.loads(out)
    code, _, _ = run([*home, "keys", "revoke", admin["id"], "--force"], capsys)
    assert code == 0
    _, out, _ = run([*home, "keys", "list", "--org", "acme", "--json"], capsys)
    assert [k["status"] for k in json.loads(out)] == ["revoked"]
