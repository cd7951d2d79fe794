"""``baryon licence keygen|issue|verify|install|show``: the vendor's and customer's steps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from baryon.cli.main import main


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


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
