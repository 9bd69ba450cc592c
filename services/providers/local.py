"""The offline provider: renders a real MP4 from the photo with a camera motion.

It is a local preview, labelled as such, never passed off as an AI model.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import PurePosixPath
from typing import Any
from uuid import uuid4

from services.providers.base import (
    ProviderJob,
    ProviderState,
    ProviderStatus,
    RequestLostError,
)
from services.providers.local_renderer import render_video
from services.storage import MediaStorage

LOCAL_MODEL = "clipforge/local-preview"


class LocalProvider:
    name = "local"
    poll_interval = 0.05

    def __init__(self, storage: MediaStorage, *, workers: int | None = None):
        self._storage = storage
        self._jobs: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self._workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        # Rendering holds the GIL most of the time: worker processes use every core.
        # Started on first use, so an app that never renders never forks.
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=context)
        return self._pool

    async def submit(self, job: ProviderJob, *, webhook_url: str | None = None) -> str:
        request_id = uuid4().hex
        self._jobs[request_id] = asyncio.create_task(self._render(job))
        return request_id

    async def status(self, model: str, request_id: str) -> ProviderStatus:
        task = self._task(request_id)
        state = ProviderState.COMPLETED if task.done() else ProviderState.RUNNING
        return ProviderStatus(state=state)

    async def result(self, model: str, request_id: str) -> dict[str, Any]:
        task = self._task(request_id)
        try:
            return await task
        finally:
            self._jobs.pop(request_id, None)

    async def cancel(self, model: str, request_id: str) -> None:
        task = self._jobs.pop(request_id, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        for task in self._jobs.values():
            task.cancel()
        await asyncio.gather(*self._jobs.values(), return_exceptions=True)
        self._jobs.clear()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            # Waiting lets the workers exit cleanly (no leaked semaphores at shutdown).
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    def _task(self, request_id: str) -> asyncio.Task[dict[str, Any]]:
        task = self._jobs.get(request_id)
        if task is None:
            raise RequestLostError(request_id)
        return task

    async def _render(self, job: ProviderJob) -> dict[str, Any]:
        key = self._storage.new_key("videos", ".mp4")
        render = partial(
            render_video,
            job.image,
            self._storage.path_for(key),
            category=job.category,
            seed=job.seed,
        )
        rendered = await asyncio.get_running_loop().run_in_executor(self._executor(), render)
        return {
            "video": {
                "url": self._storage.url_path(key),
                "content_type": "video/mp4",
                "file_name": PurePosixPath(key).name,
                "file_size": rendered.file_size,
            },
            "seed": job.seed,
        }
