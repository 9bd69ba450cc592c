"""Builds the services once per app lifespan and closes them at its end."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from services.catalog import Catalog, load_catalog
from services.email import EmailService, build_email
from services.events import GenerationEvents
from services.generations import GenerationService
from services.otp import OtpService
from services.passwords import Passwords
from services.providers.base import VideoProvider
from services.providers.local import LocalProvider
from services.ratelimit import RateLimiter
from services.sessions import Sessions
from services.storage import MediaStorage
from services.tokens import Tokens
from services.webhooks import WebhookVerifier
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
    email: EmailService
    otp: OtpService
    ratelimit: RateLimiter
    provider: VideoProvider
    generations: GenerationService
    http: httpx.AsyncClient
    webhooks: WebhookVerifier

    async def aclose(self) -> None:
        await self.generations.aclose()
        await self.email.aclose()
        await self.ratelimit.aclose()
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
        webhook_url=_webhook_url(settings),
    )
    webhooks = WebhookVerifier(http, settings.fal_jwks_url)
    return Services(
        settings=settings,
        catalog=catalog,
        storage=storage,
        events=events,
        passwords=Passwords(),
        tokens=tokens,
        sessions=Sessions(tokens),
        email=build_email(settings),
        otp=OtpService(settings),
        ratelimit=RateLimiter(settings),
        provider=provider,
        generations=generations,
        http=http,
        webhooks=webhooks,
    )


def _build_provider(settings: Settings, storage: MediaStorage) -> VideoProvider:
    if settings.fal_key:
        from services.providers.fal import FalProvider

        return FalProvider(settings)
    return LocalProvider(storage)


def _webhook_url(settings: Settings) -> str | None:
    """fal calls us back only when we are reachable: PUBLIC_BASE_URL is set."""
    base = settings.public_base_url.strip().rstrip("/")
    return f"{base}/webhooks/fal" if base and settings.fal_key else None
