"""Generation queries, mutations and the progress subscription.

Built by a factory because the `Feature` argument type is generated from the catalog
(so this module evaluates its annotations eagerly: no `from __future__ import annotations`).
"""

from collections.abc import AsyncGenerator
from enum import Enum
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from resolvers import generation
from resolvers.results import GenerationPage
from schema.context import GraphQLContext, app_context
from schema.types import Generation, PageInfo
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


@strawberry.type
class GenerationEdge:
    cursor: str
    node: Generation


@strawberry.type(description="Relay-style connection over generations, newest first.")
class GenerationConnection:
    edges: list[GenerationEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: GenerationPage) -> "GenerationConnection":
        return cls(
            edges=[
                GenerationEdge(cursor=cursor, node=Generation.from_result(result))
                for cursor, result in page.generations
            ],
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=page.end_cursor),
        )


@strawberry.type
class GenerationSubscription:
    @strawberry.subscription(
        description=(
            "The generation now, then every change of status, queue position and logs, "
            "until it is final (graphql-transport-ws; authenticate in connection_init)."
        )
    )
    async def generation_updates(
        self, info: Info[GraphQLContext, None], id: strawberry.ID
    ) -> AsyncGenerator[Generation, None]:
        # Subscription results skip the ErrorCodes extension: code the error here.
        try:
            async for result in generation.generation_updates(app_context(info), str(id)):
                yield Generation.from_result(result)
        except AppError as error:
            extensions = {"code": error.code.value, "details": error.details}
            raise GraphQLError(error.message, extensions=extensions) from error


def generation_types(feature: type[Enum]) -> tuple[type, type]:
    @strawberry.type
    class GenerationQuery:
        @strawberry.field(description="One of the caller's generations.")
        async def generation(
            self, info: Info[GraphQLContext, None], id: strawberry.ID
        ) -> Generation | None:
            result = await generation.get_generation(app_context(info), str(id))
            return Generation.from_result(result)

        @strawberry.field(
            description=(
                "The caller's generations, newest first. Admins may pass userId to list "
                "another user's."
            )
        )
        async def generations(
            self,
            info: Info[GraphQLContext, None],
            first: int = 20,
            after: str | None = None,
            user_id: strawberry.ID | None = None,
        ) -> GenerationConnection:
            page = await generation.list_generations(
                app_context(info),
                first=first,
                after=after,
                user_id=str(user_id) if user_id is not None else None,
            )
            return GenerationConnection.from_page(page)

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
