"""Where distributed work runs (baryon/core/engines.py)."""

from __future__ import annotations

import pytest

from baryon.core.config import Settings
from baryon.core.engines import LOCAL, engine_for
from baryon.core.errors import MissingDependency


def test_engine_for_without_ray_address_is_local(settings: Settings) -> None:
    assert engine_for(settings, "baryon tune") == LOCAL
    assert engine_for(None, "baryon tune") == LOCAL


def test_engine_for_with_ray_address_refuses_naming_it_without_password(
    settings: Settings,
) -> None:
    ray = settings.model_copy(update={"ray_address": "ray://bob:secret@head:10001"})
    with pytest.raises(MissingDependency) as err:
        engine_for(ray, "baryon score")
    assert err.value.code == "ray_not_available"
    assert err.value.message.startswith("baryon score: BARYON_RAY_ADDRESS is set")
    assert "head:10001" in err.value.message
    assert "secret" not in err.value.message
    assert err.value.details == {"address": "ray://bob:***@head:10001"}
