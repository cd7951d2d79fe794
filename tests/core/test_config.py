from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from baryon.core.config import Settings, limits_redis_url, redact_url


def test_settings_defaults_derive_from_home(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    assert s.resolved_database_url == f"sqlite:///{tmp_path / 'baryon.db'}"
    assert s.resolved_artifact_root == str(tmp_path / "artifacts")
    assert s.host == "127.0.0.1"


def test_settings_read_baryon_prefixed_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BARYON_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("BARYON_DATABASE_URL", "postgresql://u:p@db/x")
    s = Settings()
    assert s.home == tmp_path / "h"
    assert s.resolved_database_url == "postgresql://u:p@db/x"


def test_settings_home_tilde_is_expanded() -> None:
    assert "~" not in str(Settings(home=Path("~/x")).home)


def test_settings_bad_port_is_rejected() -> None:
    with pytest.raises(ValidationError):
        Settings(port=70000)


def test_redact_url_hides_password() -> None:
    assert redact_url("postgresql://bob:secret@db/baryon") == "postgresql://bob:***@db/baryon"
    assert "secret" not in redact_url("postgresql+psycopg://bob:secret@db:5432/baryon")
    assert redact_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


@pytest.mark.parametrize(
    ("value", "networks"),
    [
        ("127.0.0.1/32", ["127.0.0.1/32"]),
        ("127.0.0.1/32, 10.0.0.0/8", ["127.0.0.1/32", "10.0.0.0/8"]),
        ('["127.0.0.1/32"]', ["127.0.0.1/32"]),
        ("", []),
    ],
)
def test_fetch_allow_from_the_environment_is_a_comma_list_or_json(
    monkeypatch: pytest.MonkeyPatch, value: str, networks: list[str]
) -> None:
    monkeypatch.setenv("BARYON_FETCH_ALLOW", value)
    assert Settings().fetch_allow == networks


@pytest.mark.parametrize(
    ("limits", "redis_url", "wanted"),
    [
        ("database", None, None),
        ("memory", None, None),
        ("redis", "redis://r:6379/0", "redis://r:6379/0"),
        ("rediss://s:6380/1", None, "rediss://s:6380/1"),
    ],
)
def test_settings_limits_name_the_redis_they_use(
    tmp_path: Path, limits: str, redis_url: str | None, wanted: str | None
) -> None:
    settings = Settings(home=tmp_path, limits=limits, redis_url=redis_url)
    assert limits_redis_url(settings.limits, settings.redis_url) == wanted


@pytest.mark.parametrize(
    ("limits", "redis_url"),
    [("redis", None), ("bogus", None), ("Redis", "redis://r:6379/0"), ("", None)],
)
def test_settings_limits_unknown_or_redis_without_url_refused(
    tmp_path: Path, limits: str, redis_url: str | None
) -> None:
    with pytest.raises(ValidationError) as err:
        Settings(home=tmp_path, limits=limits, redis_url=redis_url)
    assert err.value.errors()[0]["loc"] == ("limits",)


def test_artifacts_url_is_read_under_both_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BARYON_ARTIFACT_ROOT", "s3://old-name/prefix")
    assert Settings(home=tmp_path).resolved_artifact_root == "s3://old-name/prefix"
    monkeypatch.setenv("BARYON_ARTIFACTS_URL", "s3://new-name/prefix")
    assert Settings(home=tmp_path).resolved_artifact_root == "s3://new-name/prefix"
    assert Settings(home=tmp_path, artifact_root="/srv/a").resolved_artifact_root == "/srv/a"


def test_artifacts_url_unprefixed_variable_is_not_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ARTIFACT_ROOT", "s3://someone-else/x")
    assert Settings(home=tmp_path).resolved_artifact_root == str(tmp_path / "artifacts")


def test_artifact_storage_options_are_json_and_never_shown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "BARYON_ARTIFACT_STORAGE_OPTIONS",
        '{"endpoint_url": "http://127.0.0.1:9000", "secret": "s3cr3t-value"}',
    )
    s = Settings(home=tmp_path)
    assert s.artifact_storage_options["endpoint_url"] == "http://127.0.0.1:9000"
    assert "s3cr3t-value" not in repr(s)
