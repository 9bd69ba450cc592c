"""Plain results the resolvers return; each transport renders them its own way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class UserResult:
    id: str
    email: str
    role: str
    created_at: datetime
    is_active: bool = True


@dataclass(frozen=True, slots=True)
class MessageResult:
    message: str
    count: int = 0  # how many sessions a logout/revocation ended, where that applies


@dataclass(frozen=True, slots=True)
class SessionResult:
    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str
    ip: str
    current: bool


@dataclass(frozen=True, slots=True)
class UserPage:
    """One page of a cursor connection over users."""

    users: list[tuple[str, UserResult]]  # (cursor, user)
    has_next_page: bool
    end_cursor: str | None


@dataclass(frozen=True, slots=True)
class AuthResult:
    user: UserResult
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True, slots=True)
class FeatureResult:
    key: str
    title: str
    category: str
    default_prompt: str
    model: str


@dataclass(frozen=True, slots=True)
class VideoResult:
    url: str
    content_type: str
    file_name: str
    file_size: int


@dataclass(frozen=True, slots=True)
class GenerationResult:
    id: str
    feature: str
    prompt: str
    status: str
    provider: str
    model: str
    video: VideoResult | None
    seed: int | None
    error_code: str | None
    error_message: str | None
    error_details: dict[str, Any] | None
    queue_position: int | None
    logs: list[str]
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    output: dict[str, Any] | None  # the provider's output, video URL pointing at our copy

    @property
    def is_final(self) -> bool:
        return self.status in {"succeeded", "failed", "canceled"}


@dataclass(frozen=True, slots=True)
class GenerationPage:
    """One page of a cursor connection over generations, newest first."""

    generations: list[tuple[str, GenerationResult]]  # (cursor, generation)
    has_next_page: bool
    end_cursor: str | None
