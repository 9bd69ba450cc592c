"""Fixtures: a fresh app per test on a real database, driven over HTTP (ASGI).

The database is SQLite in the test's own folder, or PostgreSQL when TEST_DATABASE_URL
is set (its tables are emptied before every test). Run one pytest process per backend.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tortoise.connection import get_connection

from main import create_app
from models import Role
from resolvers.auth import create_user
from settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TABLES = ["refresh_tokens", "auth_sessions", "otp_codes", "generations", "users"]
PASSWORD = "correct horse battery"


def sample(name: str) -> Path:
    return SAMPLES / name


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change settings for its apps."""
    return {}


@pytest.fixture
def make_settings(tmp_path: Path, settings_overrides: dict[str, Any]) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "var_dir": tmp_path / "var",
            "database_url": TEST_DATABASE_URL or f"sqlite://{tmp_path / 'var' / 'test.sqlite3'}",
            "jwt_secret": "test-access-secret-" + "a" * 32,
            "jwt_refresh_secret": "test-refresh-secret-" + "b" * 32,
            "fal_key": "",
            "sendgrid_api_key": "",
            "redis_url": "",
            "public_base_url": "",
            **settings_overrides,
            **overrides,
        }
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


async def _empty_tables() -> None:
    await get_connection("default").execute_script(
        f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"
    )


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        if TEST_DATABASE_URL:
            await _empty_tables()
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def make_user(app: FastAPI) -> Callable[..., Any]:
    async def make(email: str = "user@example.com", password: str = PASSWORD, role: str = "user"):
        return await create_user(app.state.services, email, password, Role(role))

    return make


@pytest.fixture
async def user_token(make_user: Callable[..., Any], client: httpx.AsyncClient) -> str:
    await make_user()
    response = await client.post(
        "/auth/login", json={"email": "user@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["accessToken"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
