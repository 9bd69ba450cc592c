"""Database configuration, migrations and the startup ping."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.api import migrate

from models import MODEL_MODULES
from settings import Settings


class DatabaseUnavailableError(RuntimeError):
    """The configured database cannot be reached or used."""


def tortoise_config(settings: Settings, *, url: str | None = None) -> dict[str, Any]:
    db_url = url or settings.effective_database_url
    connection: str | dict[str, Any] = db_url
    if db_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        connection = _postgres_connection(db_url, settings.db_pool_size)
    return {
        "connections": {"default": connection},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _postgres_connection(url: str, pool_size: int) -> dict[str, Any]:
    from tortoise.backends.base.config_generator import expand_db_url

    config = expand_db_url(url.replace("postgresql://", "postgres://", 1))
    config["engine"] = "tortoise.backends.asyncpg"
    config["credentials"]["minsize"] = 1
    config["credentials"]["maxsize"] = pool_size
    return config


async def apply_migrations(settings: Settings) -> None:
    """Bring the schema up to date (DIRECT_URL is used for this when set)."""
    config = tortoise_config(settings, url=settings.direct_url or None)
    try:
        await migrate(config=config)
    except OSError as error:
        raise DatabaseUnavailableError(_describe(settings, error)) from error
    finally:
        await Tortoise.close_connections()


async def ping() -> None:
    """Run one query now, since Tortoise connects lazily."""
    await get_connection("default").execute_query("SELECT 1")


def _describe(settings: Settings, error: BaseException) -> str:
    url = settings.direct_url or settings.effective_database_url
    safe = url.split("@")[-1] if "@" in url else url
    return f"cannot reach the database at {safe}: {error}"


def __getattr__(name: str) -> dict[str, Any]:
    # `tortoise -c services.database.TORTOISE_ORM makemigrations` reads the live settings.
    if name == "TORTOISE_ORM":
        return tortoise_config(Settings().prepare())
    raise AttributeError(name)
