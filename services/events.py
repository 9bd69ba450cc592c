"""In-process pub/sub of generation changes, for waiting requests and subscriptions."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from models import Generation

QUEUE_SIZE = 64


class GenerationEvents:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[Generation]]] = defaultdict(set)

    def publish(self, generation: Generation) -> None:
        for queue in tuple(self._subscribers.get(str(generation.id), ())):
            if queue.full():  # a slow reader keeps the newest state, not a backlog
                queue.get_nowait()
            queue.put_nowait(generation)

    @asynccontextmanager
    async def subscribe(self, generation_id: str) -> AsyncIterator[asyncio.Queue[Generation]]:
        queue: asyncio.Queue[Generation] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self._subscribers[generation_id].add(queue)
        try:
            yield queue
        finally:
            subscribers = self._subscribers.get(generation_id)
            if subscribers is not None:
                subscribers.discard(queue)
                if not subscribers:
                    del self._subscribers[generation_id]
