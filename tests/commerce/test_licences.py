"""Licences: signing, offline verification, each way a token can be wrong, states."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from baryon.commerce.licences import (
    LicenceError,
    generate_keys,
    install_licence,
    issue_licence,
    licence_dir,
    load_installed_licence,
    require_feature,
    require_writable,
    verify_licence,
)
from baryon.core.clock import FixedClock
from baryon.core.errors import InvalidInput

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys() -> tuple[bytes, bytes]:
    return generate_keys()


def _issue(keys: tuple[bytes, bytes], **kw: object) -> str:
    args: dict[str, object] = {
        "licensee": "Acme Bank", "features": ["traffic_split"], "seats": 5, "orgs": 2,
        "expires_at": NOW + timedelta(days=365), "clock": FixedClock(NOW),
    }  # fmt: skip
    args.update(kw)
    return issue_licence(keys[0], **args)  # type: ignore[arg-type]


def _code(token: str, public: bytes, at: datetime = NOW, **kw: object) -> str:
    with pytest.raises(LicenceError) as err:
        verify_licence(token, public, clock=FixedClock(at), **kw)  # type: ignore[arg-type]
    return err.value.code


def test_issue_then_verify_round_trips(keys: tuple[bytes, bytes]) -> None:
    licence = verify_licence(_issue(keys), keys[1], clock=FixedClock(NOW))
    assert (licence.licensee, licence.seats, licence.orgs) == ("Acme Bank", 5, 2)
    assert licence.allows("traffic_split")
    assert not licence.allows("console")
    assert licence.state(NOW) == "active"


def test_issue_refuses_a_feature_name_baryon_does_not_know(keys: tuple[bytes, bytes]) -> None:
    with pytest.raises(InvalidInput) as err:
        _issue(keys, features=["console", "traffic-split"])  # a typo of traffic_split
    assert err.value.code == "unknown_feature"
    assert err.value.details["unknown"] == ["traffic-split"]


def test_one_byte_changed_is_a_bad_signature(keys: tuple[bytes, bytes]) -> None:
    token = _issue(keys)
    header, payload, signature = token.split(".")
    middle = len(payload) // 2
    swapped = "A" if payload[middle] != "A" else "B"
    tampered = f"{header}.{payload[:middle]}{swapped}{payload[middle + 1 :]}.{signature}"
    assert _code(tampered, keys[1]) == "licence_bad_signature"
    sig = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert _code(f"{header}.{payload}.{sig}", keys[1]) == "licence_bad_signature"


def test_token_signed_by_another_key_is_refused(keys: tuple[bytes, bytes]) -> None:
    other = generate_keys()
    assert _code(_issue(other), keys[1]) == "licence_unknown_key"


def test_expired_and_not_yet_valid(keys: tuple[bytes, bytes]) -> None:
    token = _issue(keys, expires_at=NOW + timedelta(days=30))
    assert _code(token, keys[1], NOW + timedelta(days=31)) == "licence_expired"
    late = _issue(keys, not_before=NOW + timedelta(days=2))
    assert _code(late, keys[1]) == "licence_not_yet_valid"


def test_clock_skew_within_the_leeway_is_accepted(keys: tuple[bytes, bytes]) -> None:
    soon = _issue(keys, not_before=NOW + timedelta(seconds=120))
    assert verify_licence(soon, keys[1], clock=FixedClock(NOW)).licensee == "Acme Bank"
    ends = NOW + timedelta(days=1)
    token = _issue(keys, expires_at=ends)
    at = ends + timedelta(seconds=120)  # the install's clock runs 2 minutes ahead
    assert verify_licence(token, keys[1], clock=FixedClock(at)).id
    assert _code(token, keys[1], ends + timedelta(seconds=301)) == "licence_expired"


def test_malformed_tokens_and_keys(keys: tuple[bytes, bytes]) -> None:
    assert _code("not-a-token", keys[1]) == "licence_malformed"
    with pytest.raises(InvalidInput) as err:
        verify_licence(_issue(keys), b"-----BEGIN PUBLIC KEY-----\nxx\n", clock=FixedClock(NOW))
    assert err.value.code == "invalid_key_file"
    for bad in ({"seats": 0}, {"licensee": ""}, {"expires_at": NOW - timedelta(days=1)}):
        with pytest.raises(InvalidInput) as err:
            _issue(keys, **bad)
        assert err.value.code == "invalid_licence"


def test_states_through_grace_to_read_only(keys: tuple[bytes, bytes]) -> None:
    ends = NOW + timedelta(days=10)
    licence = verify_licence(_issue(keys, expires_at=ends, grace_days=7), keys[1],
                             clock=FixedClock(NOW))  # fmt: skip
    assert licence.state(ends - timedelta(seconds=1)) == "active"
    assert licence.state(ends + timedelta(days=6)) == "grace"
    assert licence.state(ends + timedelta(days=7)) == "read_only"
    licence.require_writable(ends + timedelta(days=6))
    with pytest.raises(LicenceError) as err:
        licence.require_writable(ends + timedelta(days=8))
    assert err.value.code == "licence_read_only"
    with pytest.raises(LicenceError) as err:
        licence.require("console")
    assert err.value.code == "licence_feature"


def test_install_then_load_and_a_tampered_install_refuses(
    keys: tuple[bytes, bytes], tmp_path: Path
) -> None:
    assert load_installed_licence(tmp_path) is None  # the open edition
    install_licence(tmp_path, _issue(keys), keys[1], clock=FixedClock(NOW))
    token_file = licence_dir(tmp_path) / "licence.jwt"
    assert os.stat(token_file).st_mode & 0o777 == 0o600
    assert load_installed_licence(tmp_path, clock=FixedClock(NOW)) is not None
    header, payload, sig = token_file.read_text().split(".")
    token_file.write_text(f"{header}.{payload}.{sig[:-6]}AAAAAA")
    with pytest.raises(LicenceError) as err:
        load_installed_licence(tmp_path, clock=FixedClock(NOW))
    assert err.value.code == "licence_bad_signature"


def test_require_feature_gates_each_feature_and_the_open_edition_has_all(
    keys: tuple[bytes, bytes],
) -> None:
    for feature in ("traffic_split", "console", "federated"):
        require_feature(None, feature)  # the open edition
        without = verify_licence(_issue(keys, features=[]), keys[1], clock=FixedClock(NOW))
        with pytest.raises(LicenceError) as err:
            require_feature(without, feature)
        assert (err.value.code, err.value.http_status) == ("licence_feature", 403)
        assert err.value.details == {"feature": feature}
        granted = verify_licence(_issue(keys, features=[feature]), keys[1], clock=FixedClock(NOW))
        require_feature(granted, feature)
    with pytest.raises(ValueError, match="unknown licence feature"):
        require_feature(None, "teleport")  # a caller's typo is not silently open


def test_require_writable_only_past_expiry_and_grace(keys: tuple[bytes, bytes]) -> None:
    licence = verify_licence(
        _issue(keys, expires_at=NOW + timedelta(days=10), grace_days=5), keys[1],
        clock=FixedClock(NOW),
    )  # fmt: skip
    require_writable(None, NOW + timedelta(days=1000))
    require_writable(licence, NOW + timedelta(days=14, hours=23))
    with pytest.raises(LicenceError) as err:
        require_writable(licence, NOW + timedelta(days=15))
    assert err.value.code == "licence_read_only"
