"""The command line's use cases, run in-process through the same resolvers."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from models import User
from resolvers import generation
from resolvers.context import RequestContext
from services.container import Services
from services.errors import AppError, ErrorCode
from services.storage import MEDIA_ROUTE

CLI_ACCOUNT = "cli@clipforge.local"


async def cli_user() -> User:
    """The local account the command line acts as (it has no password: no login)."""
    user, _ = await User.get_or_create(email=CLI_ACCOUNT)
    return user


async def generate_to_file(
    services: Services, *, feature_key: str, image: Path, prompt: str | None, out: Path | None
) -> Path:
    try:
        data = await asyncio.to_thread(image.read_bytes)
    except OSError as error:
        raise AppError(ErrorCode.BAD_REQUEST, f"cannot read {image}: {error.strerror}") from error
    ctx = RequestContext(services=services, acting_user=await cli_user())
    result = await generation.generate_video(
        ctx, feature_key=feature_key, image=data, prompt=prompt, wait=True
    )
    if result.video is None:
        raise AppError(ErrorCode.PROVIDER_ERROR, f"the generation ended {result.status}")
    url = result.video.url
    if not url.startswith(f"{MEDIA_ROUTE}/"):
        raise AppError(ErrorCode.PROVIDER_ERROR, f"the video is at {url}, not in our storage")
    source = services.storage.path_for(url.removeprefix(f"{MEDIA_ROUTE}/"))
    target = out or Path(f"{result.feature}-{result.id}.mp4")
    await asyncio.to_thread(shutil.copyfile, source, target)
    return target
