"""``baryon licence keygen|issue|verify|install|show``: the vendor's and customer's steps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clikit import run


def test_licence_vendor_to_install(
    cli_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(cli_home)]
    vendor = tmp_path / "vendor"
    assert run(["licence", "keygen", "--out", str(vendor)], capsys)[0] == 0
    assert os.stat(vendor / "vendor.key").st_mode & 0o777 == 0o600
    code, _, err = run(["licence", "keygen", "--out", str(vendor)], capsys)
    assert err.startswith("error[file_exists]")
    lic = tmp_path / "acme.licence"
    code, _, err = run(
        ["licence", "issue", "--key", str(vendor / "vendor.key"), "--licensee", "Acme Bank",
         "--features", "traffic_split,console", "--seats", "25", "--orgs", "3",
         "--expires", "2099-12-31", "-o", str(lic)],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    pub = ["--public-key", str(vendor / "vendor.pub.pem")]
    code, out, _ = run(["licence", "verify", str(lic), *pub, "--json"], capsys)
    assert json.loads(out)["features"] == ["console", "traffic_split"]
    assert run([*home, "licence", "show"], capsys)[1].startswith("open edition")
    assert run([*home, "licence", "install", str(lic), *pub], capsys)[0] == 0
    code, out, _ = run([*home, "licence", "show", "--json"], capsys)
    assert (json.loads(out)["state"], json.loads(out)["orgs"]) == ("active", 3)
    # the operator organization is one of the 3: two more, then the cap
    assert run([*home, "orgs", "create", "one"], capsys)[0] == 0
    assert run([*home, "orgs", "create", "two"], capsys)[0] == 0
    code, _, err = run([*home, "orgs", "create", "three"], capsys)
    assert err.startswith("error[licence_org_limit]")
    text = lic.read_text().strip()
    head, payload, sig = text.split(".")
    lic.write_text(f"{head}.{payload}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}")
    code, _, err = run(["licence", "verify", str(lic), *pub], capsys)
    assert (code, err.split("]")[0]) == (1, "error[licence_bad_signature")
    # an installed licence damaged by hand: serve stops with its code before any worker
    (cli_home / "licence" / "licence.jwt").write_text(lic.read_text())
    code, _, err = run([*home, "serve", "--port", "1"], capsys)
    assert (code, err.strip()) == (1, err.strip().splitlines()[0])
    assert err.startswith("error[licence_bad_signature]")


def _expired_install(home: Path, *, grace_days: int) -> str:
    """Install a licence that expired 10 days ago (issued when it was valid); return
    the expiry date as YYYY-MM-DD."""
    from datetime import UTC, datetime, timedelta

    from baryon.commerce.licences import generate_keys, install_licence, issue_licence
    from baryon.core.clock import FixedClock

    private, public = generate_keys()
    expired = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    then = FixedClock(expired - timedelta(days=30))
    token = issue_licence(
        private, licensee="Acme Bank", features=[], seats=50, orgs=50,
        expires_at=expired, grace_days=grace_days, clock=then,
    )  # fmt: skip
    install_licence(home, token, public, clock=then)
    return expired.date().isoformat()


def test_read_only_install_refuses_cli_changes_but_reads(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(cli_home)]
    assert run([*home, "orgs", "create", "before"], capsys)[0] == 0
    expired = _expired_install(cli_home, grace_days=0)  # read-only since then
    code, _, err = run([*home, "orgs", "create", "after"], capsys)
    assert (code, err.split("]")[0]) == (1, "error[licence_read_only")
    assert "read-only" in err
    assert expired in err
    code, out, _ = run([*home, "orgs", "list", "--json"], capsys)
    assert code == 0
    assert "after" not in [o["name"] for o in json.loads(out)]
    code, _, err = run([*home, "plans", "create", "gold", "--quota", "10", "--rate", "5"], capsys)
    assert err.startswith("error[licence_read_only]")
    code, _, err = run([*home, "billing", "account", "before", "--tax-rate", "20"], capsys)
    assert err.startswith("error[licence_read_only]")
    assert run([*home, "billing", "account", "before"], capsys)[0] == 0  # showing is reading
    code, out, _ = run([*home, "licence", "show", "--json"], capsys)
    assert (code, json.loads(out)["state"]) == (0, "read_only")


def test_expired_install_in_its_grace_period_still_takes_cli_changes(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(cli_home)]
    _expired_install(cli_home, grace_days=30)
    code, _, err = run([*home, "orgs", "create", "after"], capsys)
    assert code == 0, err


def test_every_read_only_command_exists() -> None:
    from typer.main import get_command

    from baryon.cli._common import READ_ONLY_COMMANDS
    from baryon.cli.main import app

    names: set[str] = set()

    def walk(command: object, path: list[str]) -> None:
        subs = getattr(command, "commands", None)
        if subs is None:
            names.add(" ".join(path))
            return
        for name, sub in subs.items():
            walk(sub, [*path, name])

    walk(get_command(app), [])
    assert sorted(READ_ONLY_COMMANDS - names) == []
    assert "orgs create" in names - READ_ONLY_COMMANDS
