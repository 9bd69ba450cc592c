"""Video generation use cases: start, wait, read, cancel."""

from __future__ import annotations

from typing import Any

from models import Generation, GenerationStatus
from resolvers.context import RequestContext
from resolvers.features import require_feature
from resolvers.results import GenerationResult, VideoResult
from services.errors import AppError, ErrorCode


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
