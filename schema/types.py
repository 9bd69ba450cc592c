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
    MessageResult,
    SessionResult,
    UserPage,
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
    is_active: bool = strawberry.field(description="False once an admin disabled the account.")

    @classmethod
    def from_result(cls, result: UserResult) -> User:
        return cls(
            id=strawberry.ID(result.id),
            email=result.email,
            role=Role(result.role),
            created_at=result.created_at,
            is_active=result.is_active,
        )


@strawberry.type(description="Relay-style page information of a cursor connection.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo

    @classmethod
    def from_result(cls, result: UserPage) -> UserConnection:
        return cls(
            edges=[
                UserEdge(cursor=cursor, node=User.from_result(user))
                for cursor, user in result.users
            ],
            page_info=PageInfo(has_next_page=result.has_next_page, end_cursor=result.end_cursor),
        )


@strawberry.type(description="One logged-in device (a refresh token family).")
class Session:
    id: strawberry.ID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime = strawberry.field(description="When the refresh token lapses.")
    user_agent: str
    ip: str
    current: bool = strawberry.field(description="True for the session of this request's token.")

    @classmethod
    def from_result(cls, result: SessionResult) -> Session:
        return cls(
            id=strawberry.ID(result.id),
            created_at=result.created_at,
            last_used_at=result.last_used_at,
            expires_at=result.expires_at,
            user_agent=result.user_agent,
            ip=result.ip,
            current=result.current,
        )


@strawberry.type
class SendOtpPayload:
    message: str

    @classmethod
    def from_result(cls, result: MessageResult) -> SendOtpPayload:
        return cls(message=result.message)


@strawberry.type
class LogoutPayload:
    message: str
    revoked_sessions: int = strawberry.field(description="How many sessions this ended.")

    @classmethod
    def from_result(cls, result: MessageResult) -> LogoutPayload:
        return cls(message=result.message, revoked_sessions=result.count)


@strawberry.type
class ChangePasswordPayload:
    message: str
    revoked_sessions: int = strawberry.field(
        description="How many other sessions were logged out (the current one stays)."
    )

    @classmethod
    def from_result(cls, result: MessageResult) -> ChangePasswordPayload:
        return cls(message=result.message, revoked_sessions=result.count)


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
