"""Generations as durable jobs: written before the provider is called, driven to a final
state in the background, resumed after a restart, claimed with a lease so that several
server processes never work on one generation at once."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID, uuid4

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models import Generation, GenerationStatus, User
from models.generation import FINAL_STATUSES
from services.catalog import Catalog, Feature
from services.clock import utcnow
from services.errors import AppError, ErrorCode
from services.events import GenerationEvents
from services.images import PreparedImage, prepare_image
from services.providers.base import ProviderJob, ProviderState, RequestLostError, VideoProvider
from services.storage import MEDIA_ROUTE, MediaStorage
from settings import Settings

log = logging.getLogger(__name__)

MAX_PROMPT_LENGTH = 2000
LEASE_SECONDS = 60
MAX_POLL_INTERVAL = 5.0
MAX_VIDEO_BYTES = 1024 * 1024 * 1024
UNFINISHED = (GenerationStatus.QUEUED, GenerationStatus.RUNNING)


class GenerationService:
    def __init__(
        self,
        *,
        settings: Settings,
        catalog: Catalog,
        provider: VideoProvider,
        storage: MediaStorage,
        events: GenerationEvents,
        http: httpx.AsyncClient,
        webhook_url: str | None = None,
    ):
        self._settings = settings
        self._catalog = catalog
        self._provider = provider
        self._storage = storage
        self._events = events
        self._http = http
        self._webhook_url = webhook_url
        self._instance = uuid4().hex
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}

    @property
    def provider_name(self) -> str:
        return self._provider.name

    # ----------------------------------------------------------------- starting

    async def start(
        self,
        user: User,
        feature: Feature,
        *,
        image: bytes,
        prompt: str | None,
        idempotency_key: str | None,
    ) -> Generation:
        """Validate, store the photo, write the row, and start the job in the background."""
        effective_prompt = self._effective_prompt(feature, prompt)
        key = _clean_idempotency_key(idempotency_key)
        if key is not None:
            existing = await Generation.get_or_none(user=user, idempotency_key=key)
            if existing is not None:
                return existing
        await self._check_limits(user)
        prepared = await asyncio.to_thread(
            prepare_image,
            image,
            max_bytes=self._settings.max_upload_bytes,
            max_pixels=self._settings.max_image_pixels,
        )
        input_key = await self._store_input(prepared)
        try:
            generation = await Generation.create(
                user=user,
                feature=feature.key,
                prompt=effective_prompt,
                idempotency_key=key,
                provider=self._provider.name,
                model=self._model_for(feature),
                arguments=dict(feature.arguments),
                input_path=input_key,
                input_sha256=prepared.sha256,
                input_size=len(prepared.data),
                seed=random.SystemRandom().randrange(2**31),
            )
        except IntegrityError:
            # The same idempotency key raced us: answer with the row that won.
            if key is None:
                raise
            return await Generation.get(user=user, idempotency_key=key)
        self.spawn(generation.id)
        return generation

    def _effective_prompt(self, feature: Feature, prompt: str | None) -> str:
        if prompt is None or not prompt.strip():
            return feature.prompt
        cleaned = prompt.strip()
        if len(cleaned) > MAX_PROMPT_LENGTH:
            raise AppError(
                ErrorCode.VALIDATION_FAILED,
                f"the prompt is longer than {MAX_PROMPT_LENGTH} characters",
                {"field": "prompt", "max_length": MAX_PROMPT_LENGTH},
            )
        if any(ord(ch) < 32 and ch not in "\n\t" for ch in cleaned):
            raise AppError(
                ErrorCode.VALIDATION_FAILED,
                "the prompt contains control characters",
                {"field": "prompt"},
            )
        return cleaned

    def _model_for(self, feature: Feature) -> str:
        if self._provider.name == "local":
            from services.providers.local import LOCAL_MODEL

            return LOCAL_MODEL
        return feature.model or self._settings.fal_model

    async def _check_limits(self, user: User) -> None:
        in_flight = await Generation.filter(user=user, status__in=UNFINISHED).count()
        limit = self._settings.max_generations_in_flight
        if in_flight >= limit:
            raise AppError(
                ErrorCode.RATE_LIMITED,
                f"at most {limit} generations may run at once; wait for one to finish",
                {"retry_after": 10, "limit": limit},
            )
        day_start = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        today = await Generation.filter(user=user, created_at__gte=day_start).count()
        quota = self._settings.daily_generation_quota
        if today >= quota:
            retry_after = int((day_start + timedelta(days=1) - utcnow()).total_seconds()) + 1
            raise AppError(
                ErrorCode.RATE_LIMITED,
                f"the daily quota of {quota} generations is used up",
                {"retry_after": retry_after, "limit": quota},
            )

    async def _store_input(self, prepared: PreparedImage) -> str:
        key = self._storage.new_key("inputs", ".jpg")
        await asyncio.to_thread(self._storage.write_bytes, key, prepared.data)
        return key

    # ------------------------------------------------------------- reading

    async def get_for_user(self, user: User, generation_id: str) -> Generation:
        generation = await _get_or_none(generation_id)
        if generation is None or (generation.user_id != user.id and not _is_admin(user)):  # type: ignore[attr-defined]
            raise AppError(ErrorCode.NOT_FOUND, "no such generation")
        return generation

    async def wait(self, generation_id: UUID, timeout: float) -> Generation:
        """Wait for a final state; past `timeout` answer PROVIDER_TIMEOUT (the job goes on)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with self._events.subscribe(str(generation_id)) as updates:
            while True:
                generation = await Generation.get(id=generation_id)
                if generation.status in FINAL_STATUSES:
                    return generation
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise AppError(
                        ErrorCode.PROVIDER_TIMEOUT,
                        "the video is not ready yet; the generation goes on",
                        {"id": str(generation_id), "status": generation.status.value},
                    )
                # Another process may own the job: re-read now and then even without events.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(updates.get(), timeout=min(remaining, 1.0))

    # ------------------------------------------------------------- control

    async def cancel(self, user: User, generation_id: str) -> Generation:
        generation = await self.get_for_user(user, generation_id)
        if generation.status in FINAL_STATUSES:
            return generation
        updated = await Generation.filter(id=generation.id, status__in=UNFINISHED).update(
            status=GenerationStatus.CANCELED, finished_at=utcnow(), queue_position=None
        )
        if updated and generation.request_id:
            try:
                await self._provider.cancel(generation.model, generation.request_id)
            except Exception:
                log.warning("provider cancel failed for generation %s", generation.id)
        generation = await Generation.get(id=generation.id)
        self._events.publish(generation)
        self._wake(str(generation.id))
        return generation

    def notify_completed(self, generation_id: str) -> None:
        """A webhook said the provider finished: poll it now instead of at the next tick."""
        self._wake(generation_id)
        if generation_id not in self._tasks:
            self.spawn(UUID(generation_id))

    # ------------------------------------------------------------- background work

    def spawn(self, generation_id: UUID) -> None:
        key = str(generation_id)
        if key in self._tasks:
            return
        task = asyncio.create_task(self._process(generation_id), name=f"generation-{key}")
        self._tasks[key] = task
        task.add_done_callback(lambda _: self._tasks.pop(key, None))

    async def resume_unfinished(self) -> int:
        """Pick up every unfinished generation whose lease is free (after a restart)."""
        rows = (
            await Generation.filter(status__in=UNFINISHED)
            .filter(_lease_free())
            .values_list("id", flat=True)
        )
        for generation_id in rows:
            self.spawn(generation_id)  # type: ignore[arg-type]
        return len(rows)

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # Hand the leases back so that another process resumes at once.
        await Generation.filter(lease_owner=self._instance).update(
            lease_owner=None, lease_expires_at=None
        )

    async def _claim(self, generation_id: UUID) -> bool:
        now = utcnow()
        claimed = (
            await Generation.filter(id=generation_id, status__in=UNFINISHED)
            .filter(_lease_free(now) | Q(lease_owner=self._instance))
            .update(lease_owner=self._instance, lease_expires_at=now + _lease())
        )
        return claimed == 1

    async def _process(self, generation_id: UUID) -> None:
        if not await self._claim(generation_id):
            return
        try:
            await self._drive(generation_id)
        except asyncio.CancelledError:
            raise
        except AppError as error:
            await self._finish_failed(generation_id, error)
        except Exception as error:
            log.exception("generation %s failed unexpectedly", generation_id)
            await self._finish_failed(
                generation_id,
                AppError(ErrorCode.INTERNAL, "the video could not be made", {}),
                cause=error,
            )
        finally:
            self._wakeups.pop(str(generation_id), None)

    async def _drive(self, generation_id: UUID) -> None:
        generation = await Generation.get(id=generation_id)
        while True:
            if generation.request_id is None:
                generation = await self._submit(generation)
            try:
                finished = await self._poll_until_done(generation)
            except RequestLostError:
                log.info("provider forgot generation %s; submitting again", generation_id)
                await self._update(generation, request_id=None)
                continue
            if finished is None:  # canceled or taken over meanwhile
                return
            output = await self._provider.result(generation.model, finished.request_id or "")
            await self._succeed(finished, output)
            return

    async def _submit(self, generation: Generation) -> Generation:
        image = await asyncio.to_thread(self._storage.read_bytes, generation.input_path)
        feature = self._catalog.get(generation.feature)
        job = ProviderJob(
            generation_id=str(generation.id),
            model=generation.model,
            prompt=generation.prompt,
            arguments=dict(generation.arguments or {}),
            image=image,
            image_content_type="image/jpeg",
            image_url=self._public_url(self._storage.url_path(generation.input_path)),
            category=feature.category if feature else "",
            seed=int(generation.seed or 0),
        )
        request_id = await self._provider.submit(job, webhook_url=self._webhook_url)
        return await self._update(
            generation,
            request_id=request_id,
            status=GenerationStatus.RUNNING,
            started_at=generation.started_at or utcnow(),
        )

    async def _poll_until_done(self, generation: Generation) -> Generation | None:
        request_id = generation.request_id or ""
        interval = getattr(self._provider, "poll_interval", 0.5)
        wakeup = self._wakeups.setdefault(str(generation.id), asyncio.Event())
        renew_at = asyncio.get_running_loop().time() + LEASE_SECONDS / 3
        while True:
            status = await self._provider.status(generation.model, request_id)
            if not await self._still_ours(generation):
                return None
            logs = status.logs or generation.logs
            if status.queue_position != generation.queue_position or logs != generation.logs:
                generation = await self._update(
                    generation, queue_position=status.queue_position, logs=logs
                )
            if status.state is ProviderState.COMPLETED:
                return generation
            if asyncio.get_running_loop().time() >= renew_at:
                if not await self._claim(generation.id):
                    return None
                renew_at = asyncio.get_running_loop().time() + LEASE_SECONDS / 3
            wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=interval)
            interval = min(interval * 1.5, MAX_POLL_INTERVAL)

    async def _still_ours(self, generation: Generation) -> bool:
        return await Generation.filter(
            id=generation.id, status__in=UNFINISHED, lease_owner=self._instance
        ).exists()

    async def _succeed(self, generation: Generation, output: dict[str, Any]) -> None:
        video = await self._keep_video(output)
        seed = output.get("seed")
        await self._finish(
            generation,
            status=GenerationStatus.SUCCEEDED,
            output=output,
            video=video,
            seed=seed if isinstance(seed, int) else generation.seed,
        )

    async def _keep_video(self, output: dict[str, Any]) -> dict[str, Any]:
        """Copy the provider's video into our storage (provider URLs expire)."""
        video = output.get("video")
        if not isinstance(video, dict) or not isinstance(video.get("url"), str):
            raise AppError(ErrorCode.PROVIDER_ERROR, "the provider returned no video")
        url: str = video["url"]
        if url.startswith(f"{MEDIA_ROUTE}/") or self._settings.keep_provider_video_url:
            return dict(video)
        key = self._storage.new_key("videos", ".mp4")
        size = await self._download(url, key)
        return {
            "url": self._storage.url_path(key),
            "content_type": video.get("content_type") or "video/mp4",
            "file_name": video.get("file_name") or PurePosixPath(key).name,
            "file_size": size,
        }

    async def _download(self, url: str, key: str) -> int:
        digest = hashlib.sha256()
        chunks: list[bytes] = []
        size = 0
        try:
            async with self._http.stream("GET", url) as response:
                response.raise_for_status()
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_VIDEO_BYTES:
                        raise AppError(
                            ErrorCode.PROVIDER_ERROR, "the provider's video is too large"
                        )
                    digest.update(chunk)
                    chunks.append(chunk)
        except httpx.HTTPError as error:
            log.warning("downloading the provider's video failed: %s", type(error).__name__)
            raise AppError(
                ErrorCode.PROVIDER_ERROR, "the provider's video could not be fetched"
            ) from error
        await asyncio.to_thread(self._storage.write_bytes, key, b"".join(chunks))
        return size

    async def _finish_failed(
        self, generation_id: UUID, error: AppError, cause: BaseException | None = None
    ) -> None:
        generation = await Generation.get_or_none(id=generation_id)
        if generation is None or generation.status in FINAL_STATUSES:
            return
        await self._finish(
            generation,
            status=GenerationStatus.FAILED,
            error_code=error.code.value,
            error_message=error.message,
            error_details=error.details or None,
        )

    async def _finish(self, generation: Generation, **changes: Any) -> None:
        now = utcnow()
        updated = await Generation.filter(
            id=generation.id, status__in=UNFINISHED, lease_owner=self._instance
        ).update(
            **changes,
            finished_at=now,
            updated_at=now,
            queue_position=None,
            lease_owner=None,
            lease_expires_at=None,
        )
        if updated:
            self._events.publish(await Generation.get(id=generation.id))

    async def _update(self, generation: Generation, **changes: Any) -> Generation:
        now = utcnow()
        await Generation.filter(
            id=generation.id, status__in=UNFINISHED, lease_owner=self._instance
        ).update(**changes, updated_at=now)
        fresh = await Generation.get(id=generation.id)
        self._events.publish(fresh)
        return fresh

    def _wake(self, generation_id: str) -> None:
        event = self._wakeups.get(generation_id)
        if event is not None:
            event.set()

    def _public_url(self, path: str) -> str | None:
        base = self._settings.public_base_url.rstrip("/")
        return f"{base}{path}" if base else None


def _lease() -> timedelta:
    return timedelta(seconds=LEASE_SECONDS)


def _lease_free(now: datetime | None = None) -> Q:
    return Q(lease_owner=None) | Q(lease_expires_at__lt=now or utcnow())


def _clean_idempotency_key(key: str | None) -> str | None:
    if key is None or not key.strip():
        return None
    cleaned = key.strip()
    if len(cleaned) > 255:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            "the idempotency key is longer than 255 characters",
            {"field": "idempotency_key"},
        )
    return cleaned


def _is_admin(user: User) -> bool:
    return user.role.value == "admin"


async def _get_or_none(generation_id: str) -> Generation | None:
    try:
        parsed = UUID(generation_id)
    except ValueError:
        return None
    return await Generation.get_or_none(id=parsed)


Waiter = Callable[[UUID, float], Awaitable[Generation]]
