"""Request rate limits (the `limits` library): in memory, or in Redis when REDIS_URL is set
so that several server processes share the counters."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from services.errors import AppError, ErrorCode
from settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit to hit: `name` groups the counters, `key` is whose (an email, an IP)."""

    name: str
    rate: str
    key: str


def rate_limited(retry_after: int, message: str = "too many requests, try again later") -> AppError:
    return AppError(ErrorCode.RATE_LIMITED, message, {"retry_after": max(1, retry_after)})


class RateLimiter:
    def __init__(self, settings: Settings):
        self._storage: Storage
        if settings.redis_url:
            self._storage = RedisStorage(
                f"async+{settings.redis_url}",
                implementation="redispy",
                key_prefix=settings.rate_limit_prefix,
            )
        else:
            self._storage = MemoryStorage()
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._items: dict[str, RateLimitItem] = {}

    @property
    def backend(self) -> str:
        return "redis" if isinstance(self._storage, RedisStorage) else "memory"

    def _item(self, rate: str) -> RateLimitItem:
        item = self._items.get(rate)
        if item is None:
            item = self._items[rate] = parse(rate)
        return item

    async def hit(self, *limits: Limit) -> None:
        """Count one request against every limit, in order; the first one exhausted raises
        RATE_LIMITED with the seconds until it frees up (`retry_after`)."""
        for limit in limits:
            item = self._item(limit.rate)
            key = _opaque(limit.key)
            if not await self._strategy.hit(item, limit.name, key):
                stats = await self._strategy.get_window_stats(item, limit.name, key)
                raise rate_limited(math.ceil(stats.reset_time - time.time()))

    async def aclose(self) -> None:
        if isinstance(self._storage, RedisStorage):
            client: Any = getattr(self._storage.bridge, "storage", None)
            if client is not None:
                await client.aclose()
        else:
            timer = getattr(self._storage, "timer", None)
            if timer is not None and not timer.done():
                timer.cancel()


def _opaque(key: str) -> str:
    """Emails and IPs are not kept in the limiter's storage as they are."""
    return hashlib.sha256(key.encode()).hexdigest()[:32]
