"""Sealed secrets: one format for sources' credentials and alert channels' secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from baryon.core.config import Settings
from baryon.core.errors import InvalidInput
from baryon.core.secrets import SEALED_PREFIX, open_secret, seal_secret


def test_seal_round_trip_is_randomized_and_hides_the_secret(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    one = seal_secret(settings, "whsec_abc", context="chn_1")
    two = seal_secret(settings, "whsec_abc", context="chn_1")
    assert one.startswith(SEALED_PREFIX)
    assert one != two  # a fresh nonce each time
    assert "whsec_abc" not in one
    assert open_secret(settings, one, context="chn_1") == "whsec_abc"
    assert (tmp_path / "secrets.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("case", ["other_context", "other_key", "damaged", "no_prefix"])
def test_a_sealed_value_opens_only_under_its_key_and_context(tmp_path: Path, case: str) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    settings = Settings(home=tmp_path / "a")
    sealed = seal_secret(settings, "tok", context="org_1")
    context = "org_1"
    if case == "other_context":
        context = "org_2"
    elif case == "other_key":
        settings = Settings(home=tmp_path / "b")
    elif case == "damaged":
        sealed = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    else:
        sealed = sealed.removeprefix(SEALED_PREFIX)
    with pytest.raises(InvalidInput) as info:
        open_secret(settings, sealed, context=context)
    assert info.value.code == "secret_unreadable"
