"""API keys: shape, storage (hash and prefix only), expiry, revocation, role caps."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import text

from baryon.commerce.orgs import create_org
from baryon.core.audit import list_audit_events
from baryon.core.clock import FixedClock
from baryon.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from baryon.core.scope import SYSTEM
from baryon.tenancy.keys import (
    create_key,
    generate_secret,
    get_key,
    hash_secret,
    list_keys,
    looks_like_key,
    parse_duration,
    revoke_key,
)
from baryon.tenancy.users import create_user, disable_user, get_user
from baryon.workspace import Workspace


@pytest.fixture
def org_id(ws: Workspace, clock: FixedClock) -> str:
    with ws.db.session(SYSTEM) as s:
        return create_org(s, name="acme", clock=clock).id


def test_generate_secret_prefixed_32_random_bytes() -> None:
    secrets = {generate_secret() for _ in range(200)}
    assert len(secrets) == 200
    for secret in secrets:
        assert secret.startswith("bry_")
        raw = base64.urlsafe_b64decode(secret[4:] + "=")
        assert len(raw) == 32
        assert looks_like_key(secret)


@pytest.mark.parametrize(
    "candidate", ["", "bry_", "bry_short", "xyz_" + "A" * 43, "bry_" + "A" * 44, "bry_" + "!" * 43]
)
def test_looks_like_key_refuses_malformed(candidate: str) -> None:
    assert not looks_like_key(candidate)


def test_create_key_stores_only_hash_and_prefix(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s:
        created = create_key(s, org_id=org_id, role="developer", name="ci", actor="cli:t")
    assert created.key.prefix == created.secret[:12]
    with ws.db.connect() as conn:
        rows = conn.execute(text("SELECT * FROM api_keys")).mappings().all()
        audit = conn.execute(text("SELECT * FROM audit_events")).mappings().all()
    dump = repr(rows) + repr(audit)
    assert created.secret not in dump
    assert created.secret[12:] not in dump
    assert rows[0]["secret_sha256"] == hashlib.sha256(created.secret.encode()).hexdigest()
    assert hash_secret(created.secret) == rows[0]["secret_sha256"]


def test_create_key_audited_in_same_transaction(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s:
        created = create_key(s, org_id=org_id, role="viewer", actor="key:k1")
    with ws.db.session(SYSTEM) as s:
        events = list_audit_events(s, object_id=created.key.id)
    assert [(e.action, e.actor, e.org_id) for e in events] == [("key.create", "key:k1", org_id)]


def test_create_key_expiry_in_past_refused(ws: Workspace, org_id: str, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_key(s, org_id=org_id, role="viewer", expires_at=clock.now(), clock=clock)
    assert err.value.code == "invalid_expiry"


def test_key_status_expired_after_expiry(ws: Workspace, org_id: str, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        created = create_key(
            s, org_id=org_id, role="viewer", expires_at=clock.now() + timedelta(days=1), clock=clock
        )
    assert created.key.status(clock.now()) == "active"
    assert created.key.status(clock.now() + timedelta(days=1)) == "expired"


def test_create_key_unknown_role_refused(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s, pytest.raises(InvalidInput) as err:
        create_key(s, org_id=org_id, role="superuser")
    assert err.value.code == "invalid_role"


def test_create_key_above_granting_role_forbidden(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s, pytest.raises(Forbidden) as err:
        create_key(s, org_id=org_id, role="owner", granted_by="admin")
    assert err.value.code == "role_too_high"


def test_create_key_above_users_role_forbidden(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s:
        user = create_user(s, org_id=org_id, email="a@acme.test", role="annotator")
    with ws.db.session(SYSTEM) as s, pytest.raises(Forbidden):
        create_key(s, org_id=org_id, role="developer", user_id=user.id)
    with ws.db.session(SYSTEM) as s:
        assert create_key(s, org_id=org_id, role="viewer", user_id=user.id).key.user_id == user.id


def test_create_key_other_orgs_user_not_found(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s:
        other = create_org(s, name="globex")
        user = create_user(s, org_id=other.id, email="a@globex.test", role="owner")
    with ws.db.session(SYSTEM) as s, pytest.raises(NotFound):
        create_key(s, org_id=org_id, role="viewer", user_id=user.id)


def test_revoke_key_idempotent_audited_once(ws: Workspace, org_id: str, clock: FixedClock) -> None:
    with ws.db.session(SYSTEM) as s:
        created = create_key(s, org_id=org_id, role="viewer", clock=clock)
    with ws.db.session(SYSTEM) as s:
        first = revoke_key(s, created.key.id, clock=clock)
    clock.advance(60)
    with ws.db.session(SYSTEM) as s:
        second = revoke_key(s, created.key.id, clock=clock)
        actions = [e.action for e in list_audit_events(s, object_id=created.key.id)]
    assert first.revoked_at == second.revoked_at
    assert sorted(actions) == ["key.create", "key.revoke"]  # same frozen instant: any order


def test_revoke_key_of_other_org_not_found(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s:
        other = create_org(s, name="globex")
        created = create_key(s, org_id=other.id, role="viewer")
    with ws.db.session(SYSTEM) as s, pytest.raises(NotFound):
        revoke_key(s, created.key.id, org_id=org_id)
    with ws.db.session(SYSTEM) as s, pytest.raises(NotFound):
        get_key(s, created.key.id, org_id=org_id)


def test_revoke_key_of_higher_role_forbidden(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s:
        created = create_key(s, org_id=org_id, role="owner")
    with ws.db.session(SYSTEM) as s, pytest.raises(Forbidden):
        revoke_key(s, created.key.id, org_id=org_id, granted_by="admin")


def test_disable_user_revokes_their_keys(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s:
        user = create_user(s, org_id=org_id, email="a@acme.test", role="developer")
        k1 = create_key(s, org_id=org_id, role="developer", user_id=user.id)
        k2 = create_key(s, org_id=org_id, role="viewer")
    with ws.db.session(SYSTEM) as s:
        disable_user(s, user.id, org_id=org_id)
        keys = {k.id: k for k in list_keys(s, org_id)}
    assert keys[k1.key.id].revoked_at is not None
    assert keys[k2.key.id].revoked_at is None


@pytest.mark.parametrize(
    ("text_", "seconds"), [("30d", 30 * 86400), ("12h", 43200), ("90m", 5400), ("2w", 1209600)]
)
def test_parse_duration_valid(text_: str, seconds: int) -> None:
    assert parse_duration(text_).total_seconds() == seconds


# "99999999d" overflowed datetime (OverflowError reached the CLI as internal_error)
@pytest.mark.parametrize(
    "text_", ["", "0d", "30", "d", "-1d", "1.5d", "30 days", "1y", "99999999d", "36700d"]
)
def test_parse_duration_invalid_refused(text_: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_duration(text_)
    assert err.value.code == "invalid_duration"


def test_revoke_key_last_admin_conflict_unless_forced(ws: Workspace, org_id: str) -> None:
    with ws.db.session(SYSTEM) as s:
        owner = create_key(s, org_id=org_id, role="owner")
        viewer = create_key(s, org_id=org_id, role="viewer")
    with ws.db.session(SYSTEM) as s, pytest.raises(Conflict) as info:
        revoke_key(s, owner.key.id, org_id=org_id)
    assert info.value.code == "last_admin"
    assert info.value.http_status == 409
    with ws.db.session(SYSTEM) as s:
        assert revoke_key(s, viewer.key.id).revoked_at is not None  # not owner-capable
        assert get_key(s, owner.key.id).revoked_at is None
        assert revoke_key(s, owner.key.id, force=True).revoked_at is not None


def test_disable_user_holding_last_admin_key_conflict_nothing_written(
    ws: Workspace, org_id: str
) -> None:
    with ws.db.session(SYSTEM) as s:
        user = create_user(s, org_id=org_id, email="boss@acme.test", role="owner")
        first = create_key(s, org_id=org_id, role="owner", user_id=user.id)
        second = create_key(s, org_id=org_id, role="admin", user_id=user.id)
    with ws.db.session(SYSTEM) as s, pytest.raises(Conflict) as info:
        disable_user(s, user.id, org_id=org_id)
    assert info.value.code == "last_admin"
    with ws.db.session(SYSTEM) as s:
        assert get_user(s, user.id, org_id=org_id).disabled_at is None
        assert {k.id: k.revoked_at for k in list_keys(s, org_id)} == {
            first.key.id: None,
            second.key.id: None,
        }
        create_key(s, org_id=org_id, role="admin")  # a service key keeps the org manageable
    with ws.db.session(SYSTEM) as s:
        assert disable_user(s, user.id, org_id=org_id).disabled_at is not None
