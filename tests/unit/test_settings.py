"""Embedded defaults and the production guard."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from settings import Settings, SettingsError


def test_development_secrets_are_made_once_and_kept_private(tmp_path: Path):
    first = Settings(_env_file=None, var_dir=tmp_path).prepare()
    second = Settings(_env_file=None, var_dir=tmp_path).prepare()
    assert len(first.jwt_secret) >= 32
    assert first.jwt_secret != first.jwt_refresh_secret
    assert (first.jwt_secret, first.jwt_refresh_secret) == (
        second.jwt_secret,
        second.jwt_refresh_secret,
    )
    mode = stat.S_IMODE((tmp_path / "dev-secrets.json").stat().st_mode)
    assert mode == 0o600


def test_embedded_defaults(tmp_path: Path):
    settings = Settings(_env_file=None, var_dir=tmp_path).prepare()
    assert settings.effective_database_url == f"sqlite://{tmp_path / 'clipforge.sqlite3'}"
    assert settings.effective_media_dir == tmp_path / "media"
    assert not settings.uses_sendgrid
    assert settings.graphiql and settings.introspection


@pytest.mark.parametrize(
    ("access", "refresh", "message"),
    [
        ("", "", "JWT_SECRET must be set"),
        ("x" * 40, "short", "JWT_REFRESH_SECRET must be set"),
        ("x" * 40, "x" * 40, "must differ"),
    ],
)
def test_production_refuses_missing_or_weak_secrets(tmp_path, access, refresh, message):
    settings = Settings(
        _env_file=None,
        var_dir=tmp_path,
        environment="production",
        jwt_secret=access,
        jwt_refresh_secret=refresh,
    )
    with pytest.raises(SettingsError, match=message):
        settings.prepare()


def test_production_turns_graphiql_and_introspection_off(tmp_path: Path):
    settings = Settings(
        _env_file=None,
        var_dir=tmp_path,
        environment="production",
        jwt_secret="a" * 40,
        jwt_refresh_secret="b" * 40,
    ).prepare()
    assert not settings.graphiql
    assert not settings.introspection
