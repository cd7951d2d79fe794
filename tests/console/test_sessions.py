"""Tests of baryon.tenancy.sessions: opening, closing, and ending with the key."""

from __future__ import annotations

from datetime import timedelta

import pytest
from consolekit import Tenants
from sqlalchemy import select

from baryon.core.audit import AuditEvent
from baryon.core.errors import InvalidInput
from baryon.core.scope import SYSTEM
from baryon.tenancy.keys import hash_secret, revoke_key
from baryon.tenancy.sessions import close_session, open_session
from baryon.tenancy.tables import ConsoleSessionRow
from baryon.workspace import Workspace


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(seconds=-1), timedelta(days=31)])
def test_open_session_with_a_lifetime_out_of_range_is_refused(
    ws: Workspace, tenants: Tenants, lifetime: timedelta
) -> None:
    with ws.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        open_session(s, org_id=tenants.org_ids["acme"], key_id=tenants.key_ids["acme:admin"],
                     lifetime=lifetime, clock=ws.clock)  # fmt: skip
    assert err.value.code == "invalid_session_lifetime"
    with ws.db.session(SYSTEM) as s:
        assert s.scalars(select(ConsoleSessionRow)).all() == []


def test_open_and_close_are_audited_and_the_token_is_not_stored(
    ws: Workspace, tenants: Tenants
) -> None:
    with ws.db.session(SYSTEM) as s:
        opened = open_session(
            s, org_id=tenants.org_ids["acme"], key_id=tenants.key_ids["acme:admin"],
            lifetime=timedelta(hours=1), clock=ws.clock,
        )  # fmt: skip
    assert len(opened.token) >= 43
    with ws.db.session(SYSTEM) as s:
        row = s.scalars(select(ConsoleSessionRow)).one()
        assert row.token_sha256 == hash_secret(opened.token)
        assert opened.token not in (row.id, row.token_sha256)
        assert close_session(s, opened.token, clock=ws.clock) is True
        assert close_session(s, opened.token, clock=ws.clock) is False
    with ws.db.session(SYSTEM) as s:
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.at))]
        assert "session.open" in actions
        assert "session.close" in actions


def test_revoking_the_key_deletes_only_its_sessions(ws: Workspace, tenants: Tenants) -> None:
    with ws.db.session(SYSTEM) as s:
        for who in ("acme:admin", "acme:admin", "acme:viewer"):
            open_session(s, org_id=tenants.org_ids["acme"], key_id=tenants.key_ids[who],
                         lifetime=timedelta(hours=1), clock=ws.clock)  # fmt: skip
    with ws.db.session(SYSTEM) as s:
        revoke_key(s, tenants.key_ids["acme:admin"], clock=ws.clock)
    with ws.db.session(SYSTEM) as s:
        left = [r.key_id for r in s.scalars(select(ConsoleSessionRow))]
    assert left == [tenants.key_ids["acme:viewer"]]
