"""Generations as durable jobs: written before the provider is called, driven to a final
state in the background, resumed after a restart, claimed with a lease so that several
server processes never work on one generation at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import tempfile
import unicodedata
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any
from uuid import UUID, uuid4

import httpx
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import Generation, GenerationStatus, User
from models.generation import FINAL_STATUSES
from services.catalog import Catalog, Feature
from services.clock import utcnow
from services.cursors import decode_cursor, encode_cursor
from services.errors import AppError, ErrorCode
from services.events import GenerationEvents
from services.images import PreparedImage, prepare_image
from services.providers.base import (
    ProviderJob,
    ProviderState,
    ProviderStatus,
    RequestLostError,
    VideoProvider,
)
from services.storage import MEDIA_ROUTE, MediaStorage
from settings import Settings

log = logging.getLogger(__name__)

MAX_PROMPT_LENGTH = 2000
MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_PAGE_SIZE = 100
MAX_POLL_INTERVAL = 5.0
MAX_STATUS_FAILURES = 5  # consecutive failed status polls before a job is given up
MAX_VIDEO_BYTES = 1024 * 1024 * 1024
MAX_LOG_LINES = 200
SUBMIT_GRACE_SECONDS = 30  # how long shutdown waits for a submit to record its request id
UNFINISHED = (GenerationStatus.QUEUED, GenerationStatus.RUNNING)
INTAKE_CONCURRENCY = 2  # photos decoded at once
RESULT_ATTEMPTS = 5  # fetching a finished job's output is free to repeat
DOWNLOAD_SECONDS = 600  # the whole copy of the provider's video
MAX_OUTPUT_BYTES = 64 * 1024  # the provider output we keep
MAX_SEED = 2**63 - 1


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
        self._lease_seconds = settings.generation_lease_seconds
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._submits: set[asyncio.Task[Generation | None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._intake_slots = asyncio.Semaphore(INTAKE_CONCURRENCY)

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
        if key is None:
            await self._check_limits(user)  # refuse cheaply before decoding; checked again below
        async with self._intake_slots:  # a 40-megapixel decode takes hundreds of MB
            prepared = await asyncio.to_thread(
                prepare_image,
                image,
                max_bytes=self._settings.max_upload_bytes,
                max_pixels=self._settings.max_image_pixels,
            )
        input_key = await self._store_input(prepared)
        created = False
        try:
            generation, created = await self._create_row(
                user, feature, effective_prompt, key, prepared, input_key
            )
        finally:
            if not created:  # refused, or answered by an earlier request with the same key
                await asyncio.to_thread(self._storage.delete, input_key)
        if created:
            self.spawn(generation.id)
        return generation

    async def _create_row(
        self,
        user: User,
        feature: Feature,
        prompt: str,
        key: str | None,
        prepared: PreparedImage,
        input_key: str,
    ) -> tuple[Generation, bool]:
        """Check the idempotency key and the limits and insert, one start per user at a
        time (the user's row is locked; SQLite runs one transaction at a time anyway)."""
        async with in_transaction():
            await User.filter(id=user.id).select_for_update().first()
            if key is not None:
                existing = await Generation.get_or_none(user=user, idempotency_key=key)
                if existing is not None:
                    _require_same_request(existing, feature, prompt, prepared)
                    return existing, False
            await self._check_limits(user)
            generation = await Generation.create(
                user=user,
                feature=feature.key,
                prompt=prompt,
                idempotency_key=key,
                provider=self._provider.name,
                model=self._model_for(feature),
                arguments=dict(feature.arguments),
                input_path=input_key,
                input_sha256=prepared.sha256,
                input_size=len(prepared.data),
                seed=random.SystemRandom().randrange(2**31),
            )
            return generation, True

    def _effective_prompt(self, feature: Feature, prompt: str | None) -> str:
        if prompt is None or not prompt.strip():
            return feature.prompt
        return _clean_text(prompt, "prompt", MAX_PROMPT_LENGTH, multiline=True)

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

    async def page_for_user(
        self, user: User, *, first: int, after: str | None, owner_id: str | None = None
    ) -> tuple[list[Generation], bool]:
        """One page of generations, newest first: the caller's own, or (admins) anyone's.
        Returns the page and whether more follow. Cursors are opaque (see `cursor_for`)."""
        if first < 1:
            raise AppError(
                ErrorCode.VALIDATION_FAILED, "first must be at least 1", {"field": "first"}
            )
        first = min(first, MAX_PAGE_SIZE)
        owner: Any = user.id
        if owner_id is not None and owner_id != str(user.id):
            if not _is_admin(user):
                raise AppError(ErrorCode.FORBIDDEN, "only admins may list other users' videos")
            owner = owner_id
        query = Generation.filter(user_id=owner)
        if after:
            anchor = await _get_or_none(decode_cursor("generation", after))
            if anchor is None or str(anchor.user_id) != str(owner):  # type: ignore[attr-defined]
                raise AppError(ErrorCode.VALIDATION_FAILED, "unknown cursor", {"field": "after"})
            query = query.filter(
                Q(created_at__lt=anchor.created_at)
                | Q(created_at=anchor.created_at, id__lt=anchor.id)
            )
        rows = await query.order_by("-created_at", "-id").limit(first + 1)
        return rows[:first], len(rows) > first

    async def find_by_request_id(self, request_id: str) -> Generation | None:
        return await Generation.filter(request_id=request_id).first()

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
            status=GenerationStatus.CANCELED,
            finished_at=utcnow(),
            updated_at=utcnow(),
            queue_position=None,
        )
        generation = await Generation.get(id=generation.id)
        # A submit still in flight records its request id later and cancels it then.
        if updated and generation.request_id:
            await self._cancel_at_provider(generation.model, generation.request_id)
        job = self._tasks.get(str(generation.id))
        if updated and job is not None:
            job.cancel()  # stops a poll or a download in progress
        self._events.publish(generation)
        self._wake(str(generation.id))
        return generation

    async def _cancel_at_provider(self, model: str, request_id: str) -> None:
        try:
            await self._provider.cancel(model, request_id)
        except Exception as error:
            log.warning("provider cancel failed for request %s: %s", request_id, error)

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
        fresh = [row for row in rows if str(row) not in self._tasks]
        for generation_id in fresh:
            self.spawn(generation_id)  # type: ignore[arg-type]
        return len(fresh)

    def start_sweeper(self) -> None:
        """Now and then resume generations whose owner died without handing back its lease
        (a killed process: its leases expire after GENERATION_LEASE_SECONDS)."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="generation-sweeper")

    async def _sweep(self) -> None:
        interval = self._settings.generation_sweep_interval_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                resumed = await self.resume_unfinished()
            except Exception:
                log.exception("resuming unfinished generations failed")
                continue
            if resumed:
                log.info("resumed %d orphaned generations", resumed)

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # A submit the provider may already have accepted must record its request id
        # before the lease goes, or the next owner would submit (and bill) again.
        if self._submits:
            await asyncio.wait(set(self._submits), timeout=SUBMIT_GRACE_SECONDS)
        # Hand the leases back so that another process resumes at once.
        await Generation.filter(lease_owner=self._instance).update(
            lease_owner=None, lease_expires_at=None
        )

    async def _claim(self, generation_id: UUID) -> bool:
        now = utcnow()
        claimed = (
            await Generation.filter(id=generation_id, status__in=UNFINISHED)
            .filter(_lease_free(now) | Q(lease_owner=self._instance))
            .update(
                lease_owner=self._instance,
                lease_expires_at=now + timedelta(seconds=self._lease_seconds),
            )
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
        except Exception:
            log.exception("generation %s failed unexpectedly", generation_id)
            await self._finish_failed(
                generation_id,
                AppError(ErrorCode.INTERNAL, "the video could not be made", {}),
            )
        finally:
            self._wakeups.pop(str(generation_id), None)

    async def _drive(self, generation_id: UUID) -> None:
        generation: Generation | None = await Generation.get(id=generation_id)
        while generation is not None:
            if generation.request_id is None:
                # Shielded: neither a client disconnect nor shutdown may cut it between
                # the provider accepting the job and us recording its request id.
                submit = asyncio.create_task(self._submit(generation))
                self._submits.add(submit)
                submit.add_done_callback(self._forget_submit)
                generation = await asyncio.shield(submit)
                if generation is None:  # canceled while submitting
                    return
            try:
                finished = await self._poll_until_done(generation)
            except RequestLostError:
                if not await self._still_ours(generation):  # canceled: nothing to redo
                    return
                log.info("provider forgot generation %s; submitting again", generation_id)
                generation = await self._update(generation, request_id=None)
                continue
            if finished is None:  # canceled or taken over meanwhile
                return
            output = await self._fetch_result(finished)
            await self._succeed(finished, output)
            return

    async def _fetch_result(self, generation: Generation) -> dict[str, Any]:
        """The finished job's output; a provider hiccup is retried, since the job is paid."""
        for attempt in range(1, RESULT_ATTEMPTS + 1):
            try:
                return await self._provider.result(generation.model, generation.request_id or "")
            except AppError as error:
                if error.code is not ErrorCode.PROVIDER_ERROR or attempt == RESULT_ATTEMPTS:
                    raise
                log.warning("result fetch %d failed for generation %s", attempt, generation.id)
                await asyncio.sleep(min(2.0**attempt / 4, 10.0))
        raise AssertionError("unreachable")

    def _forget_submit(self, task: asyncio.Task[Generation | None]) -> None:
        self._submits.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here; the awaiting job (if any) handles it

    async def _submit(self, generation: Generation) -> Generation | None:
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
        # Recorded whatever happened to the lease meanwhile: the job exists at the provider.
        recorded = await Generation.filter(
            id=generation.id, status__in=UNFINISHED, request_id=None
        ).update(request_id=request_id, updated_at=utcnow())
        if not recorded:
            log.info("generation %s ended while submitting; canceling it", generation.id)
            await self._cancel_at_provider(generation.model, request_id)
            return None
        fresh = await Generation.get(id=generation.id)
        self._events.publish(fresh)
        return fresh

    async def _poll_until_done(self, generation: Generation) -> Generation | None:
        request_id = generation.request_id or ""
        interval: float = getattr(self._provider, "poll_interval", 0.5)
        max_interval: float = getattr(self._provider, "max_poll_interval", MAX_POLL_INTERVAL)
        wakeup = self._wakeups.setdefault(str(generation.id), asyncio.Event())
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + self._lease_seconds / 3
        failures = 0
        while True:
            try:
                status = await self._provider.status(generation.model, request_id)
                failures = 0
            except AppError as error:
                # A status poll is free to repeat: the paid job goes on at the provider.
                failures += 1
                if error.code is not ErrorCode.PROVIDER_ERROR or failures >= MAX_STATUS_FAILURES:
                    raise
                log.warning("status poll %d failed for generation %s", failures, generation.id)
                status = None
            if not await self._still_ours(generation):
                return None
            if status is not None:
                generation = await self._record_progress(generation, status)
                if status.state is ProviderState.COMPLETED:
                    return generation
            if loop.time() >= renew_at:
                if not await self._claim(generation.id):
                    return None
                renew_at = loop.time() + self._lease_seconds / 3
            wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), timeout=interval)
            interval = min(interval * 1.5, max_interval)

    async def _record_progress(self, generation: Generation, status: ProviderStatus) -> Generation:
        """Store (and publish) the provider's state, queue position and logs when they change."""
        changes: dict[str, Any] = {}
        if status.state is ProviderState.QUEUED:
            new_status, position = GenerationStatus.QUEUED, status.queue_position
        else:
            new_status, position = GenerationStatus.RUNNING, None
            if generation.started_at is None:
                changes["started_at"] = utcnow()
        if new_status is not generation.status and status.state is not ProviderState.COMPLETED:
            changes["status"] = new_status
        if position != generation.queue_position:
            changes["queue_position"] = position
        logs = status.logs[-MAX_LOG_LINES:] if status.logs else generation.logs
        if logs != generation.logs:
            changes["logs"] = logs
        if not changes:
            return generation
        return await self._update(generation, **changes)

    async def _still_ours(self, generation: Generation) -> bool:
        return await Generation.filter(
            id=generation.id, status__in=UNFINISHED, lease_owner=self._instance
        ).exists()

    async def _succeed(self, generation: Generation, output: dict[str, Any]) -> None:
        # Copying a long video may outlast the lease: renew it first.
        if not await self._claim(generation.id):
            return
        video = await self._keep_video(output)
        seed = output.get("seed")
        await self._finish(
            generation,
            status=GenerationStatus.SUCCEEDED,
            output=_bounded_output(output),
            video=video,
            seed=seed if isinstance(seed, int) and 0 <= seed <= MAX_SEED else generation.seed,
        )

    async def _keep_video(self, output: dict[str, Any]) -> dict[str, Any]:
        """Copy the provider's video into our storage (provider URLs expire)."""
        video = output.get("video")
        if not isinstance(video, dict) or not isinstance(video.get("url"), str):
            raise AppError(ErrorCode.PROVIDER_ERROR, "the provider returned no video")
        url: str = video["url"]
        ours = self._provider.name == "local" and url.startswith(f"{MEDIA_ROUTE}/")
        if ours or self._settings.keep_provider_video_url:
            return dict(video)
        if not url.startswith(("https://", "http://")):
            raise AppError(ErrorCode.PROVIDER_ERROR, "the provider returned no video URL")
        key = self._storage.new_key("videos", ".mp4")
        size = await self._download(url, key)
        return {
            "url": self._storage.url_path(key),
            "content_type": "video/mp4",
            "file_name": PurePosixPath(key).name,
            "file_size": size,
        }

    async def _download(self, url: str, key: str) -> int:
        """Stream the video into a temporary file next to its final place, then move it
        there atomically: never the whole video in memory, never a half-written file."""
        target = self._storage.path_for(key)
        await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
        fd, tmp = await asyncio.to_thread(tempfile.mkstemp, dir=target.parent, prefix=".dl-")
        size = 0
        try:
            with os.fdopen(fd, "wb") as handle:
                async with (
                    asyncio.timeout(DOWNLOAD_SECONDS),
                    self._http.stream("GET", url) as response,
                ):
                    response.raise_for_status()
                    declared = response.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > MAX_VIDEO_BYTES:
                        raise AppError(
                            ErrorCode.PROVIDER_ERROR, "the provider's video is too large"
                        )
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > MAX_VIDEO_BYTES:
                            raise AppError(
                                ErrorCode.PROVIDER_ERROR, "the provider's video is too large"
                            )
                        await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(os.replace, tmp, target)
        except (httpx.HTTPError, TimeoutError) as error:
            log.warning("downloading the provider's video failed: %s", type(error).__name__)
            raise AppError(
                ErrorCode.PROVIDER_ERROR, "the provider's video could not be fetched"
            ) from error
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return size

    async def _finish_failed(self, generation_id: UUID, error: AppError) -> None:
        generation = await Generation.get_or_none(id=generation_id)
        if generation is None or generation.status in FINAL_STATUSES:
            return
        if generation.request_id is not None:  # don't leave a job running (and billing)
            await self._cancel_at_provider(generation.model, generation.request_id)
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


def _lease_free(now: datetime | None = None) -> Q:
    return Q(lease_owner=None) | Q(lease_expires_at__lt=now or utcnow())


def _bounded_output(output: dict[str, Any]) -> dict[str, Any]:
    """The provider's output as we keep it: all of it, unless it is unreasonably large."""
    if len(json.dumps(output, default=str)) <= MAX_OUTPUT_BYTES:
        return output
    log.warning("the provider's output is over %d bytes: keeping video and seed", MAX_OUTPUT_BYTES)
    return {key: output[key] for key in ("video", "seed") if key in output}


def _require_same_request(
    existing: Generation, feature: Feature, prompt: str, prepared: PreparedImage
) -> None:
    """A key names one request: reusing it for another one is a client bug, not a retry."""
    same = (existing.feature, existing.prompt, existing.input_sha256) == (
        feature.key,
        prompt,
        prepared.sha256,
    )
    if not same:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            "this idempotency key was already used for a different request",
            {"field": "idempotency_key", "id": str(existing.id)},
        )


def _clean_idempotency_key(key: str | None) -> str | None:
    if key is None or not key.strip():
        return None
    return _clean_text(key, "idempotency_key", MAX_IDEMPOTENCY_KEY_LENGTH, multiline=False)


def _clean_text(text: str, field: str, max_length: int, *, multiline: bool) -> str:
    """Trimmed text with line breaks as \\n; control characters and unpaired surrogates
    (which no database can store) are refused."""
    cleaned = text.replace("\r\n", "\n").strip()
    if len(cleaned) > max_length:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            f"the {field.replace('_', ' ')} is longer than {max_length} characters",
            {"field": field, "max_length": max_length},
        )
    allowed = "\n\t" if multiline else ""
    for char in cleaned:
        category = unicodedata.category(char)
        if (category == "Cc" and char not in allowed) or category == "Cs":
            raise AppError(
                ErrorCode.VALIDATION_FAILED,
                f"the {field.replace('_', ' ')} contains control characters or invalid text",
                {"field": field},
            )
    return cleaned


def cursor_for(generation: Generation) -> str:
    return encode_cursor("generation", str(generation.id))


def _is_admin(user: User) -> bool:
    return user.role.value == "admin"


async def _get_or_none(generation_id: str) -> Generation | None:
    try:
        parsed = UUID(generation_id)
    except ValueError:
        return None
    return await Generation.get_or_none(id=parsed)
