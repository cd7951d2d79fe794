"""``baryon billing|invoices|plans update``: close a period, reconcile, documents, states."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clikit import run

from baryon.commerce.metering import record_usage
from baryon.commerce.orgs import create_org
from baryon.commerce.plans import create_plan
from baryon.core.clock import FixedClock
from baryon.core.config import Settings
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace

JAN = datetime(2026, 1, 1, tzinfo=UTC)


def _january(home: Path, units: list[int]) -> str:
    """acme on plan team from 2026-01-01, with usage records of ``units`` in January."""
    clock = FixedClock(JAN)
    with Workspace.open(Settings(home=home), clock=clock) as ws, ws.db.session(SYSTEM) as s:
        create_plan(
            s, name="team", quota=100, rate_per_minute=60, monthly_price="49.00",
            overage_price="0.0100", features=["overage"], clock=clock,
        )  # fmt: skip
        org = create_org(s, name="acme", plan="team", clock=clock)
        for day, n in enumerate(units):
            record_usage(
                s, org_id=org.id, key_id=None, endpoint="/v1/support/answer", units=n,
                status=200, latency_ms=1.0, period_start=JAN,
                clock=FixedClock(JAN + timedelta(days=day)),
            )  # fmt: skip
        return org.id


def test_billing_close_reconcile_and_pdf(
    cli_home: Path,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pypdf import PdfReader

    org_id = _january(cli_home, [60, 50, 7])  # 117 units: 17 over at 0.01 = 0.17
    home = ["--home", str(cli_home)]
    code, out, err = run([*home, "billing", "close", "--period", "2026-01", "--json"], capsys)
    assert code == 0, err
    (made,) = [i for i in json.loads(out)["created"] if i["org_name"] == "acme"]
    assert (made["number"], made["units"], made["total"]) == ("INV-000001", 117, "49.17")
    code, out, _ = run([*home, "billing", "close", "--period", "2026-01", "--json"], capsys)
    assert json.loads(out)["created"] == []
    code, out, _ = run([*home, "billing", "reconcile", "--period", "2026-01"], capsys)
    assert code == 0
    assert "0 with a difference" in out
    pdf = tmp_path / "inv.pdf"
    code, out, _ = run([*home, "invoices", "pdf", made["id"], "-o", str(pdf)], capsys)
    assert code == 0
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "INV-000001" in text
    assert "49.17" in text
    assert "acme" in text
    for bad in (tmp_path / "no" / "such" / "x.pdf", tmp_path):  # a missing folder; a folder
        code, _, err = run([*home, "invoices", "pdf", made["id"], "-o", str(bad)], capsys)
        assert (code, err.startswith("error[invalid_path]")) == (1, True), err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    code, out, _ = run([*home, "invoices", "show", made["id"], "--html"], capsys)
    assert "<strong>49.17</strong>" in out
    code, out, _ = run([*home, "invoices", "list", "--org", "acme", "--json"], capsys)
    assert [i["id"] for i in json.loads(out)] == [made["id"]]
    monkeypatch.setenv("COLUMNS", "80")  # the table's ids are whole in 80 columns
    code, out, _ = run([*home, "invoices", "list", "--org", "acme"], capsys)
    assert (made["id"] in out, "INV-000001" in out) == (True, True), out
    # a usage record written after the close: reconcile reports it and exits 1
    with Workspace.open(Settings(home=cli_home)) as ws, ws.db.session(SYSTEM) as s:
        record_usage(
            s, org_id=org_id, key_id=None, endpoint="/v1/x", units=4, status=200,
            latency_ms=1.0, period_start=JAN, clock=FixedClock(JAN + timedelta(days=9)),
        )  # fmt: skip
    code, out, _ = run([*home, "billing", "reconcile", "--period", "2026-01"], capsys)
    assert code == 1, out
    assert "difference +4" in out


def test_invoice_void_twice_and_reissue(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _january(cli_home, [1])
    home = ["--home", str(cli_home)]
    code, out, _ = run([*home, "billing", "close", "--period", "2026-01", "--json"], capsys)
    (made,) = json.loads(out)["created"]
    code, out, _ = run([*home, "invoices", "void", made["id"], "--reason", "typo"], capsys)
    assert code == 0
    assert "is void" in out
    code, _, err = run([*home, "invoices", "void", made["id"], "--reason", "again"], capsys)
    assert code == 1
    assert err.startswith("error[invoice_void]")
    code, out, _ = run([*home, "invoices", "reissue", made["id"]], capsys)
    assert code == 0
    assert out.startswith("INV-000002")


def test_billing_bad_periods(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(cli_home)]
    code, _, err = run([*home, "billing", "close", "--period", "2999-01"], capsys)
    assert (code, err.split("]")[0]) == (1, "error[period_in_future")
    code, _, err = run([*home, "billing", "close", "--period", "01-2026"], capsys)
    assert (code, err.split("]")[0]) == (1, "error[invalid_period")


def test_plans_update_archive_prices(cli_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ["--home", str(cli_home)]
    code, _, err = run(
        [*home, "plans", "create", "team", "--quota", "10", "--rate", "5", "--price", "9.00",
         "--currency", "EUR", "--trial-days", "7",
         "--route-price", "/v1/support/answer=0.002"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run([*home, "plans", "update", "team", "--price", "12.00", "--json"], capsys)
    assert (json.loads(out)["price_version"], json.loads(out)["currency"]) == (2, "EUR")
    code, out, _ = run([*home, "plans", "prices", "team", "--json"], capsys)
    assert [v["monthly_price"] for v in json.loads(out)] == ["9.00", "12.00"]
    code, _, err = run([*home, "plans", "create", "x", "--quota", "1", "--rate", "1",
                        "--currency", "ABC"], capsys)  # fmt: skip
    assert err.startswith("error[unknown_currency]")
    code, _, err = run([*home, "plans", "create", "y", "--quota", "0", "--rate", "1"], capsys)
    assert err.startswith("error[invalid_quota]")
    code, _, err = run([*home, "plans", "create", "z", "--quota", "1", "--rate", "1",
                        "--price", "-3"], capsys)  # fmt: skip
    assert err.startswith("error[invalid_price]")
    assert run([*home, "plans", "archive", "team"], capsys)[0] == 0
    code, _, err = run([*home, "plans", "archive", "team"], capsys)
    assert err.startswith("error[plan_archived]")


def test_export_stripe_is_deterministic_and_skips_unmapped(
    cli_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _january(cli_home, [3, 0, 5])
    home = ["--home", str(cli_home)]
    code, out, err = run([*home, "billing", "export-stripe", "--period", "2026-01"], capsys)
    assert (code, out) == (0, "")
    assert "acme has usage but no Stripe customer id" in err
    code, _, _ = run([*home, "billing", "account", "acme", "--stripe-customer", "cus_A1"], capsys)
    assert code == 0
    code, first, _ = run([*home, "billing", "export-stripe", "--period", "2026-01"], capsys)
    events = [json.loads(line) for line in first.splitlines()]
    assert [e["payload"] for e in events] == [
        {"stripe_customer_id": "cus_A1", "value": "3"},
        {"stripe_customer_id": "cus_A1", "value": "5"},  # the 0-unit record is left out
    ]
    assert events[0]["event_name"] == "baryon_units"
    assert events[0]["identifier"].startswith("baryon:use_")
    assert events[1]["timestamp"] - events[0]["timestamp"] == 2 * 86400
    code, again, _ = run([*home, "billing", "export-stripe", "--period", "2026-01"], capsys)
    assert again == first  # the same identifiers: a re-export is idempotent in Stripe
    code, _, err = run([*home, "billing", "export-stripe"], capsys)
    assert err.startswith("error[invalid_period]")


def test_billing_preview_of_the_running_period(
    cli_home: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    home = ["--home", str(cli_home)]
    assert run([*home, "orgs", "create", "demo", "--plan", "pro"], capsys)[0] == 0
    pdf = tmp_path / "preview.pdf"
    code, out, err = run([*home, "billing", "preview", "demo", "--pdf", str(pdf), "--json"],
                         capsys)  # fmt: skip
    assert code == 0, err
    preview = json.loads(out)
    assert (preview["status"], preview["number"], preview["units"]) == ("preview", None, 0)
    assert preview["total"] == "49.00"  # pro, a whole period on its price
    assert pdf.read_bytes().startswith(b"%PDF")
    code, out, _ = run([*home, "invoices", "list", "--json"], capsys)
    assert json.loads(out) == []  # nothing written
