"""Generation queries, mutations and the progress subscription.

Built by a factory because the `Feature` argument type is generated from the catalog
(so this module evaluates its annotations eagerly: no `from __future__ import annotations`).
"""

from enum import Enum
from typing import Any

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from resolvers import generation
from schema.context import GraphQLContext, app_context
from schema.types import Generation
from services.errors import AppError, ErrorCode
from services.uploads import read_upload


async def _image_bytes(info: Info[GraphQLContext, None], image: Any) -> bytes:
    # The Upload scalar accepts any JSON value: only a real file part is an image.
    if not isinstance(image, UploadFile):
        raise AppError(
            ErrorCode.BAD_REQUEST,
            "image must be a file sent with the GraphQL multipart request spec",
            {"field": "image"},
        )
    return await read_upload(image, app_context(info).services.settings.max_upload_bytes)


def generation_types(feature: type[Enum]) -> tuple[type, type]:
    @strawberry.type
    class GenerationQuery:
        @strawberry.field(description="One of the caller's generations.")
        async def generation(
            self, info: Info[GraphQLContext, None], id: strawberry.ID
        ) -> Generation | None:
            result = await generation.get_generation(app_context(info), str(id))
            return Generation.from_result(result)

    @strawberry.type
    class GenerationMutation:
        @strawberry.mutation(
            description=(
                "Turn a photo into a video. With wait (the default) answer when the video is "
                "ready; with wait: false answer at once and follow generationUpdates."
            )
        )
        async def generate_video(
            self,
            info: Info[GraphQLContext, None],
            feature: feature,  # type: ignore[valid-type]
            image: Upload,
            prompt: str | None = None,
            wait: bool = True,
            idempotency_key: str | None = None,
        ) -> Generation:
            data = await _image_bytes(info, image)
            result = await generation.generate_video(
                app_context(info),
                feature_key=str(feature.value),  # type: ignore[attr-defined]
                image=data,
                prompt=prompt,
                wait=wait,
                idempotency_key=idempotency_key,
            )
            return Generation.from_result(result)

        @strawberry.mutation(description="Cancel one of the caller's unfinished generations.")
        async def cancel_generation(
            self, info: Info[GraphQLContext, None], id: strawberry.ID
        ) -> Generation:
            result = await generation.cancel_generation(app_context(info), str(id))
            return Generation.from_result(result)

    return GenerationQuery, GenerationMutation
