"""GraphQL object types, each built from a plain resolver result."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import cast

import strawberry
from strawberry.scalars import JSON

from resolvers.results import (
    AuthResult,
    FeatureResult,
    GenerationResult,
    UserResult,
    VideoResult,
)


@strawberry.enum
class Role(Enum):
    USER = "user"
    ADMIN = "admin"


@strawberry.enum
class GenerationStatus(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


@strawberry.type
class User:
    id: strawberry.ID
    email: str
    role: Role
    created_at: datetime

    @classmethod
    def from_result(cls, result: UserResult) -> User:
        return cls(
            id=strawberry.ID(result.id),
            email=result.email,
            role=Role(result.role),
            created_at=result.created_at,
        )


@strawberry.type
class AuthPayload:
    user: User
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")

    @classmethod
    def from_result(cls, result: AuthResult) -> AuthPayload:
        return cls(
            user=User.from_result(result.user),
            access_token=result.access_token,
            refresh_token=result.refresh_token,
            token_type=result.token_type,
            expires_in=result.expires_in,
        )


@strawberry.type
class FeatureInfo:
    key: str = strawberry.field(description="The REST route is /api/<key>.")
    title: str
    category: str
    default_prompt: str
    model: str

    @classmethod
    def from_result(cls, result: FeatureResult) -> FeatureInfo:
        return cls(
            key=result.key,
            title=result.title,
            category=result.category,
            default_prompt=result.default_prompt,
            model=result.model,
        )


@strawberry.type
class Video:
    url: str
    content_type: str
    file_name: str
    file_size: int

    @classmethod
    def from_result(cls, result: VideoResult) -> Video:
        return cls(
            url=result.url,
            content_type=result.content_type,
            file_name=result.file_name,
            file_size=result.file_size,
        )


@strawberry.type
class GenerationError:
    code: str
    message: str
    details: JSON | None


@strawberry.type
class Generation:
    id: strawberry.ID
    feature: str = strawberry.field(description="The feature key, e.g. ai-dance.")
    prompt: str
    status: GenerationStatus
    provider: str
    model: str
    video: Video | None
    seed: str | None = strawberry.field(description="The seed, as a string (64-bit).")
    error: GenerationError | None
    queue_position: int | None
    logs: list[str]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_result(cls, result: GenerationResult) -> Generation:
        error = None
        if result.error_code:
            error = GenerationError(
                code=result.error_code,
                message=result.error_message or "",
                details=cast(JSON, result.error_details),
            )
        return cls(
            id=strawberry.ID(result.id),
            feature=result.feature,
            prompt=result.prompt,
            status=GenerationStatus(result.status),
            provider=result.provider,
            model=result.model,
            video=Video.from_result(result.video) if result.video else None,
            seed=str(result.seed) if result.seed is not None else None,
            error=error,
            queue_position=result.queue_position,
            logs=result.logs,
            created_at=result.created_at,
            updated_at=result.updated_at,
            started_at=result.started_at,
            finished_at=result.finished_at,
        )
