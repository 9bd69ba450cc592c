"""The interface every video provider implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol


class ProviderState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"


@dataclass(frozen=True, slots=True)
class ProviderStatus:
    state: ProviderState
    queue_position: int | None = None
    logs: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ProviderJob:
    """Everything a provider needs to start one video."""

    generation_id: str
    model: str
    prompt: str
    arguments: dict[str, Any]
    image: bytes
    image_content_type: str
    image_url: str | None
    category: str
    seed: int


class RequestLostError(Exception):
    """The provider no longer knows the request (only the local renderer forgets)."""


class VideoProvider(Protocol):
    name: str

    async def submit(self, job: ProviderJob, *, webhook_url: str | None = None) -> str:
        """Start the job; return the provider's request id."""

    async def status(self, model: str, request_id: str) -> ProviderStatus: ...

    async def result(self, model: str, request_id: str) -> dict[str, Any]:
        """The model output: {"video": {"url", "content_type", "file_name", "file_size"}, ...}."""

    async def cancel(self, model: str, request_id: str) -> None: ...

    async def aclose(self) -> None: ...
