"""Invoices: closing periods, numbering, states, immutability, credit, reconciliation."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from baryon.commerce.accounts import credit_balance, grant_credit, set_billing_account
from baryon.commerce.billing import (
    billing_close_job,
    billing_handlers,
    close_billing,
    org_periods,
    parse_month,
    reconcile,
)
from baryon.commerce.invoices import (
    get_invoice,
    issue_invoice,
    pay_invoice,
    reissue_invoice,
    void_invoice,
)
from baryon.commerce.metering import record_usage
from baryon.commerce.orgs import create_org, subscribe
from baryon.commerce.plans import create_plan
from baryon.commerce.tables import InvoiceLineRow, InvoiceRow
from baryon.core.audit import list_audit_events
from baryon.core.clock import FixedClock
from baryon.core.db import Database
from baryon.core.errors import Conflict, InvalidInput
from baryon.core.scope import SYSTEM
from baryon.workspace import Workspace

JAN = datetime(2026, 1, 1, tzinfo=UTC)
FEB = datetime(2026, 2, 1, tzinfo=UTC)


def _use(db: Database, org_id: str, at: datetime, units: int, *, endpoint: str = "/v1/x",
         status: int = 200) -> None:  # fmt: skip
    with db.session(SYSTEM) as s:
        record_usage(
            s, org_id=org_id, key_id=None, endpoint=endpoint, units=units, status=status,
            latency_ms=1.0, period_start=JAN, clock=FixedClock(at),
        )  # fmt: skip


def _setup(ws: Workspace, clock: FixedClock, *names: str) -> dict[str, str]:
    with ws.db.session(SYSTEM) as s:
        create_plan(
            s, name="team", quota=100, rate_per_minute=60, monthly_price="49.00",
            overage_price="0.0010", features=["overage"], clock=clock,
        )  # fmt: skip
        create_plan(s, name="big", quota=10_000, rate_per_minute=60, monthly_price="990.00",
                    clock=clock)  # fmt: skip
        return {n: create_org(s, name=n, plan="team", clock=clock).id for n in names or ("acme",)}


def test_close_period_invoices_each_org_once(workspace: Workspace, clock: FixedClock) -> None:
    orgs = _setup(workspace, clock, "acme", "globex")
    _use(workspace.db, orgs["acme"], JAN + timedelta(days=3), 80)
    _use(workspace.db, orgs["acme"], JAN + timedelta(days=9), 45)  # 25 over: 0.025 -> 0.02
    _use(workspace.db, orgs["acme"], JAN + timedelta(days=9), 0, status=503)  # failed: 0 units
    clock.advance(31 * 86400)
    report = close_billing(workspace.db, period="2026-01", clock=clock)
    assert sorted(i.org_name for i in report.created) == ["acme", "globex"]
    acme = next(i for i in report.created if i.org_name == "acme")
    assert (acme.status, acme.units, acme.currency) == ("issued", 125, "USD")
    assert (acme.subtotal, acme.total) == (Decimal("49.02"), Decimal("49.02"))
    assert {i.number_text for i in report.created} == {"INV-000001", "INV-000002"}
    again = close_billing(workspace.db, period="2026-01", clock=clock)
    assert again.created == []
    assert sorted(i.id for i in again.existing) == sorted(i.id for i in report.created)
    assert workspace.db.table_counts()["invoices"] == 2


def test_close_future_or_bad_period_refused(workspace: Workspace, clock: FixedClock) -> None:
    _setup(workspace, clock)
    for period, code in (("2026-02", "period_in_future"), ("2026-13", "invalid_period"),
                         ("jan", "invalid_period")):  # fmt: skip
        with pytest.raises(InvalidInput) as err:
            close_billing(workspace.db, period=period, clock=clock)
        assert err.value.code == code
    clock.advance(10 * 86400)  # January has started, not ended: open, nothing made
    report = close_billing(workspace.db, period="2026-01", clock=clock)
    assert report.created == []
    assert [o["org"] for o in report.open] == ["acme"]
    assert workspace.db.table_counts()["invoices"] == 0


def test_mid_period_plan_change_prorates_both_plans(
    workspace: Workspace, clock: FixedClock
) -> None:
    orgs = _setup(workspace, clock)
    clock.advance(15 * 86400)
    with workspace.db.session(SYSTEM) as s:
        subscribe(s, orgs["acme"], "big", clock=clock)
    clock.advance(17 * 86400)
    (invoice,) = close_billing(workspace.db, clock=clock, org="acme").created
    bases = [(line.plan_name, line.amount) for line in invoice.lines if line.kind == "base"]
    # 49 x 15/31 = 23.71 ; 990 x 16/31 = 510.97
    assert bases == [("team", Decimal("23.71")), ("big", Decimal("510.97"))]
    assert invoice.total == Decimal("534.68")


def test_void_twice_refused_reissue_gets_a_new_number(
    workspace: Workspace, clock: FixedClock
) -> None:
    orgs = _setup(workspace, clock)
    clock.advance(31 * 86400)
    (first,) = close_billing(workspace.db, org="acme", clock=clock).created
    with workspace.db.session(SYSTEM) as s:
        void_invoice(s, first.id, reason="wrong tax", actor="cli:t", clock=clock)
    with workspace.db.session(SYSTEM) as s, pytest.raises(Conflict) as err:
        void_invoice(s, first.id, reason="again", clock=clock)
    assert err.value.code == "invoice_void"
    with workspace.db.session(SYSTEM) as s:
        set_billing_account(s, orgs["acme"], tax_rate="20", clock=clock)
        second = reissue_invoice(s, first.id, actor="cli:t", clock=clock)
    assert (second.number_text, second.replaces_id) == ("INV-000002", first.id)
    assert second.total == Decimal("58.80")  # 49.00 + 20%
    with workspace.db.session(SYSTEM) as s:
        assert get_invoice(s, first.id).status == "void"
        with pytest.raises(Conflict) as err:
            reissue_invoice(s, first.id, clock=clock)
        assert err.value.code == "invoice_exists"
        actions = [e.action for e in list_audit_events(s, object_type="invoice")]
    assert actions.count("invoice.void") == 1
    assert actions.count("invoice.reissue") == 1
    assert close_billing(workspace.db, org="acme", clock=clock).created == []


def test_issued_invoice_is_immutable(workspace: Workspace, clock: FixedClock) -> None:
    _setup(workspace, clock)
    clock.advance(31 * 86400)
    (invoice,) = close_billing(workspace.db, org="acme", clock=clock).created
    with workspace.db.session(SYSTEM) as s:
        row = s.get(InvoiceRow, invoice.id)
        assert row is not None
        row.total = Decimal("1.00")
        with pytest.raises(Conflict) as err:
            s.flush()
        s.rollback()
    assert err.value.code == "invoice_immutable"
    with workspace.db.session(SYSTEM) as s:
        line = s.scalars(select(InvoiceLineRow).where(InvoiceLineRow.invoice_id == invoice.id))
        s.delete(next(iter(line)))
        with pytest.raises(Conflict):
            s.flush()
        s.rollback()
    with workspace.db.session(SYSTEM) as s:
        assert get_invoice(s, invoice.id).total == invoice.total
        paid = pay_invoice(s, invoice.id, clock=clock)  # a state change is allowed
        assert paid.status == "paid"
        with pytest.raises(Conflict) as err:
            void_invoice(s, invoice.id, reason="late", clock=clock)
        assert err.value.code == "invoice_paid"


def test_draft_then_issue(workspace: Workspace, clock: FixedClock) -> None:
    _setup(workspace, clock)
    clock.advance(31 * 86400)
    (draft,) = close_billing(workspace.db, org="acme", issue=False, clock=clock).created
    assert (draft.status, draft.number) == ("draft", None)
    with workspace.db.session(SYSTEM) as s:
        issued = issue_invoice(s, draft.id, clock=clock)
        with pytest.raises(Conflict) as err:
            issue_invoice(s, draft.id, clock=clock)
    assert (issued.status, issued.number_text) == ("issued", "INV-000001")
    assert err.value.code == "invoice_issued"


def test_credit_bigger_than_invoice_carries_forward(
    workspace: Workspace, clock: FixedClock
) -> None:
    orgs = _setup(workspace, clock)
    with workspace.db.session(SYSTEM) as s:
        assert grant_credit(s, orgs["acme"], "60.00", reason="goodwill", clock=clock) == Decimal(
            "60.00"
        )
        with pytest.raises(InvalidInput):
            grant_credit(s, orgs["acme"], "-5", reason="no", clock=clock)
        for reason in ("", "  "):  # the audit log keeps why: a credit needs a reason
            with pytest.raises(InvalidInput) as err:
                grant_credit(s, orgs["acme"], "5", reason=reason, clock=clock)
            assert err.value.code == "invalid_reason"
        assert credit_balance(s, orgs["acme"], "USD") == Decimal("60.00")
    clock.advance(31 * 86400)
    (jan,) = close_billing(workspace.db, org="acme", clock=clock).created
    assert (jan.credit_applied, jan.total) == (Decimal("49.00"), Decimal("0.00"))
    with workspace.db.session(SYSTEM) as s:
        assert credit_balance(s, orgs["acme"], "USD") == Decimal("11.00")
    clock.advance(28 * 86400)
    (feb,) = close_billing(workspace.db, org="acme", clock=clock).created
    assert (feb.credit_applied, feb.total) == (Decimal("11.00"), Decimal("38.00"))
    with workspace.db.session(SYSTEM) as s:
        void_invoice(s, jan.id, reason="test", clock=clock)
        assert credit_balance(s, orgs["acme"], "USD") == Decimal("49.00")


def test_reconcile_zero_then_reports_an_injected_difference(
    workspace: Workspace, clock: FixedClock
) -> None:
    orgs = _setup(workspace, clock)
    for day in range(5):
        _use(workspace.db, orgs["acme"], JAN + timedelta(days=day), 3)
    clock.advance(31 * 86400)
    close_billing(workspace.db, period="2026-01", clock=clock)
    assert [d.difference for d in reconcile(workspace.db, period="2026-01", clock=clock)] == [0]
    _use(workspace.db, orgs["acme"], JAN + timedelta(days=20), 2)  # written after the close
    (diff,) = reconcile(workspace.db, clock=clock)
    assert (diff.invoice_units, diff.usage_units, diff.difference) == (15, 17, 2)


def test_org_periods_by_month_and_since_anchor() -> None:
    anchor = datetime(2026, 1, 31, tzinfo=UTC)
    now = datetime(2026, 4, 1, tzinfo=UTC)
    ended, still_open = org_periods(anchor, now=now)
    assert [s.date().isoformat() for s, _ in ended] == ["2026-01-31", "2026-02-28"]
    assert [s.date().isoformat() for s, _ in still_open] == ["2026-03-31"]
    feb, _ = org_periods(anchor, now=now, month=parse_month("2026-02"))
    assert feb == [(datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))]
    assert org_periods(anchor, now=now, month=parse_month("2025-12")) == ([], [])


def test_billing_close_is_a_registered_job_kind(workspace: Workspace, clock: FixedClock) -> None:
    from baryon.jobs import JobQueue, Worker

    _setup(workspace, clock)
    clock.advance(31 * 86400)
    assert billing_handlers() == {"billing_close": billing_close_job}
    from baryon.cli.worker import load_handlers

    assert load_handlers(None)["billing_close"] is billing_close_job  # baryon worker runs it
    from baryon.core.scope import OPERATOR_ORG_ID

    queue = JobQueue(workspace.db, workspace.clock)
    job = queue.enqueue("billing_close", {"period": "2026-01"}, org_id=OPERATOR_ORG_ID)
    Worker(workspace, billing_handlers(), queue=queue).run_once()
    done = queue.get(job.id, org_id=None)
    assert done.status == "succeeded", done
    assert len(done.result["created"]) == 1


def test_concurrent_closes_number_without_gaps(workspace: Workspace, clock: FixedClock) -> None:
    names = [f"org{i}" for i in range(6)]
    orgs = _setup(workspace, clock, *names)
    clock.advance(31 * 86400)
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            close_billing(workspace.db, org=name, clock=clock)
            close_billing(workspace.db, org=name, clock=clock)  # a repeat makes nothing
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with workspace.db.session(SYSTEM) as s:
        numbers = sorted(n for n in s.scalars(select(InvoiceRow.number)) if n is not None)
    assert numbers == list(range(1, len(orgs) + 1))


def test_documents_escape_text_and_carry_the_totals(
    workspace: Workspace, clock: FixedClock
) -> None:
    from pypdf import PdfReader

    from baryon.commerce.documents import invoice_html, invoice_pdf

    _setup(workspace, clock)
    clock.advance(31 * 86400)
    (invoice,) = close_billing(workspace.db, org="acme", clock=clock).created
    with workspace.db.session(SYSTEM) as s:
        void = void_invoice(s, invoice.id, reason="<script>alert(1)</script>", clock=clock)
    html = invoice_html(void)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    pdf = invoice_pdf(void)
    assert pdf == invoice_pdf(void)  # invariant: same invoice, same bytes
    import io

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "49.00" in text
    assert "INV-000001" in text
    assert "<script>alert(1)</script>" in text  # as text, not markup


def test_billing_close_job_bad_payload_fails_with_its_code(
    workspace: Workspace, clock: FixedClock
) -> None:
    from baryon.core.scope import OPERATOR_ORG_ID
    from baryon.jobs import JobQueue, Worker

    queue = JobQueue(workspace.db, workspace.clock)
    job = queue.enqueue("billing_close", {"period": 202601}, org_id=OPERATOR_ORG_ID)
    Worker(workspace, billing_handlers(), queue=queue).run_once()
    done = queue.get(job.id, org_id=None)
    assert done.status == "failed"
    assert done.error_code == "invalid_job_payload"
    assert workspace.db.table_counts()["invoices"] == 0
