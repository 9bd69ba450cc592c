"""Builds the services once per app lifespan and closes them at its end."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.catalog import Catalog, load_catalog
from services.events import GenerationEvents
from services.generations import GenerationService
from services.passwords import Passwords
from services.providers.base import VideoProvider
from services.providers.local import LocalProvider
from services.sessions import Sessions
from services.storage import MediaStorage
from services.tokens import Tokens
from settings import Settings


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    storage: MediaStorage
    events: GenerationEvents
    passwords: Passwords
    tokens: Tokens
    sessions: Sessions
    provider: VideoProvider
    generations: GenerationService
    http: httpx.AsyncClient

    async def aclose(self) -> None:
        await self.generations.aclose()
        await self.provider.aclose()
        await self.http.aclose()


def build_services(settings: Settings, catalog: Catalog | None = None) -> Services:
    catalog = catalog or load_catalog(settings.features_file)
    storage = MediaStorage(settings.effective_media_dir)
    events = GenerationEvents()
    tokens = Tokens(settings)
    http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=True)
    provider = _build_provider(settings, storage)
    generations = GenerationService(
        settings=settings,
        catalog=catalog,
        provider=provider,
        storage=storage,
        events=events,
        http=http,
    )
    return Services(
        settings=settings,
        catalog=catalog,
        storage=storage,
        events=events,
        passwords=Passwords(),
        tokens=tokens,
        sessions=Sessions(tokens),
        provider=provider,
        generations=generations,
        http=http,
    )


def _build_provider(settings: Settings, storage: MediaStorage) -> VideoProvider:
    return LocalProvider(storage)
