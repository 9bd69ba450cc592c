"""Video generation use cases: start, wait, read, cancel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from models import Generation, GenerationStatus, User
from models.generation import FINAL_STATUSES
from resolvers.context import RequestContext
from resolvers.features import require_feature
from resolvers.results import GenerationPage, GenerationResult, VideoResult
from services.errors import AppError, ErrorCode
from services.generations import cursor_for

# A subscription re-reads the row this often without events: another server process
# may be the one driving the generation.
UPDATES_REREAD_SECONDS = 2.0


def generation_result(ctx: RequestContext, generation: Generation) -> GenerationResult:
    video = None
    output: dict[str, Any] | None = None
    if generation.status is GenerationStatus.SUCCEEDED and isinstance(generation.video, dict):
        stored = generation.video
        video = VideoResult(
            url=ctx.absolute_url(str(stored["url"])),
            content_type=str(stored.get("content_type") or "video/mp4"),
            file_name=str(stored.get("file_name") or ""),
            file_size=int(stored.get("file_size") or 0),
        )
        output = {
            **(generation.output or {}),
            "video": {
                "url": video.url,
                "content_type": video.content_type,
                "file_name": video.file_name,
                "file_size": video.file_size,
            },
        }
    return GenerationResult(
        id=str(generation.id),
        feature=generation.feature,
        prompt=generation.prompt,
        status=generation.status.value,
        provider=generation.provider,
        model=generation.model,
        video=video,
        seed=generation.seed,
        error_code=generation.error_code,
        error_message=generation.error_message,
        error_details=generation.error_details,
        queue_position=generation.queue_position,
        logs=[str(line) for line in generation.logs or []],
        created_at=generation.created_at,
        updated_at=generation.updated_at,
        started_at=generation.started_at,
        finished_at=generation.finished_at,
        output=output,
    )


async def generate_video(
    ctx: RequestContext,
    *,
    feature_key: str,
    image: bytes,
    prompt: str | None,
    wait: bool = True,
    idempotency_key: str | None = None,
) -> GenerationResult:
    user = await ctx.require_user()
    feature = require_feature(ctx, feature_key)
    generations = ctx.services.generations
    generation = await generations.start(
        user, feature, image=image, prompt=prompt, idempotency_key=idempotency_key
    )
    if wait:
        timeout = ctx.services.settings.generation_timeout_seconds
        generation = await generations.wait(generation.id, timeout)
        raise_if_failed(generation)
    return generation_result(ctx, generation)


def raise_if_failed(generation: Generation) -> None:
    if generation.status is not GenerationStatus.FAILED:
        return
    code = ErrorCode(generation.error_code or ErrorCode.PROVIDER_ERROR.value)
    details = {**(generation.error_details or {}), "id": str(generation.id)}
    raise AppError(code, generation.error_message or "the video could not be made", details)


async def get_generation(ctx: RequestContext, generation_id: str) -> GenerationResult:
    user = await ctx.require_user()
    generation = await ctx.services.generations.get_for_user(user, generation_id)
    return generation_result(ctx, generation)


async def cancel_generation(ctx: RequestContext, generation_id: str) -> GenerationResult:
    user = await ctx.require_user()
    generation = await ctx.services.generations.cancel(user, generation_id)
    return generation_result(ctx, generation)


async def list_generations(
    ctx: RequestContext, *, first: int, after: str | None, user_id: str | None = None
) -> GenerationPage:
    user = await ctx.require_user()
    rows, has_next = await ctx.services.generations.page_for_user(
        user, first=first, after=after, owner_id=user_id
    )
    edges = [(cursor_for(row), generation_result(ctx, row)) for row in rows]
    return GenerationPage(
        generations=edges,
        has_next_page=has_next,
        end_cursor=edges[-1][0] if edges else None,
    )


async def generation_updates(
    ctx: RequestContext, generation_id: str
) -> AsyncIterator[GenerationResult]:
    """The generation now, then every change of status, queue position, logs or output,
    until it is final. The token is checked again for every subscription (a WebSocket
    connection lives longer than an access token)."""
    user = await _fresh_user(ctx)
    service = ctx.services.generations
    generation = await service.get_for_user(user, generation_id)
    async with ctx.services.events.subscribe(str(generation.id)) as updates:
        generation = await service.get_for_user(user, generation_id)  # nothing missed
        last = _progress(generation)
        yield generation_result(ctx, generation)
        while generation.status not in FINAL_STATUSES:
            try:
                generation = await asyncio.wait_for(updates.get(), UPDATES_REREAD_SECONDS)
            except TimeoutError:
                generation = await service.get_for_user(user, generation_id)
            if _progress(generation) != last:
                await _fresh_user(ctx)  # a logout or an expired token ends the stream
                last = _progress(generation)
                yield generation_result(ctx, generation)


def _progress(generation: Generation) -> tuple[object, ...]:
    return (
        generation.status,
        generation.queue_position,
        tuple(generation.logs or ()),
    )


async def _fresh_user(ctx: RequestContext) -> User:
    if ctx.access_token is None:
        return await ctx.require_user()  # the command line's user, or UNAUTHENTICATED
    principal = await ctx.services.sessions.authenticate(ctx.access_token)
    return principal.user
