"""The fal.ai provider: the real `fal_client.AsyncClient`, queue API only.

One client per app (it keeps one HTTP connection pool and binds to the running loop).
Every fal failure is mapped to the error taxonomy here; no fal URL, key or stack trace
leaves this module in an error message.
"""

from __future__ import annotations

import logging
from typing import Any

import fal_client
import fal_client.client as fal_http
import httpx
from fal_client.auth import MissingCredentialsError

from services.errors import AppError, ErrorCode
from services.providers.base import ProviderJob, ProviderState, ProviderStatus
from settings import Settings

log = logging.getLogger(__name__)

MAX_LOG_LINES = 200
MAX_FIELD_ERRORS = 20

# The client's own endpoints, kept so that an app without FAL_BASE_URL gets them back
# after another app in the same process pointed them elsewhere (tests, gateways).
_DEFAULT_URLS = {
    "QUEUE_URL_FORMAT": fal_http.QUEUE_URL_FORMAT,
    "RUN_URL_FORMAT": fal_http.RUN_URL_FORMAT,
    "REST_URL": fal_http.REST_URL,
    "CDN_URL": fal_http.CDN_URL,
}


def point_fal_client_at(base_url: str) -> None:
    """Send all fal traffic (queue, run, storage/REST, CDN) to one base URL, or restore
    fal's own endpoints when `base_url` is empty. These are module-level names of
    fal-client 1.0.3 (FAL_PROTOCOL.md); they are read at call time."""
    base = base_url.strip().rstrip("/")
    if not base:
        for name, value in _DEFAULT_URLS.items():
            setattr(fal_http, name, value)
        return
    fal_http.QUEUE_URL_FORMAT = f"{base}/"
    fal_http.RUN_URL_FORMAT = f"{base}/"
    fal_http.REST_URL = base
    fal_http.CDN_URL = base


class FalProvider:
    name = "fal"

    def __init__(self, settings: Settings):
        # Before the client exists: its CDN token manager remembers the REST URL it saw.
        point_fal_client_at(settings.fal_base_url)
        self.poll_interval = settings.fal_poll_interval_seconds
        self.max_poll_interval = settings.fal_max_poll_interval_seconds
        self._client = fal_client.AsyncClient(
            key=settings.fal_key, default_timeout=settings.fal_timeout_seconds
        )

    async def submit(self, job: ProviderJob, *, webhook_url: str | None = None) -> str:
        image_url = job.image_url or await self._upload(job)
        arguments = {**job.arguments, "prompt": job.prompt, "image_url": image_url}
        try:
            handle = await self._client.submit(job.model, arguments, webhook_url=webhook_url)
        except Exception as error:
            raise _mapped(error, "submit") from error
        return str(handle.request_id)

    async def status(self, model: str, request_id: str) -> ProviderStatus:
        try:
            status = await self._client.status(model, request_id, with_logs=True)
        except Exception as error:
            raise _mapped(error, "status") from error
        if isinstance(status, fal_client.Queued):
            position = status.position if isinstance(status.position, int) else None
            return ProviderStatus(ProviderState.QUEUED, queue_position=position)
        logs = _log_lines(getattr(status, "logs", None))
        if isinstance(status, fal_client.Completed):
            return ProviderStatus(ProviderState.COMPLETED, logs=logs)
        return ProviderStatus(ProviderState.RUNNING, logs=logs)

    async def result(self, model: str, request_id: str) -> dict[str, Any]:
        try:
            output = await self._client.result(model, request_id)
        except Exception as error:
            raise _mapped(error, "result") from error
        if not isinstance(output, dict):
            raise AppError(ErrorCode.PROVIDER_ERROR, "the video provider sent no output")
        return output

    async def cancel(self, model: str, request_id: str) -> None:
        try:
            await self._client.cancel(model, request_id)
        except Exception as error:
            raise _mapped(error, "cancel") from error

    async def aclose(self) -> None:
        # The client creates its httpx pool lazily, on first use (a cached property).
        if "_client" in vars(self._client):
            client = await self._client._client
            await client.aclose()

    async def _upload(self, job: ProviderJob) -> str:
        extension = "png" if job.image_content_type == "image/png" else "jpg"
        try:
            url = await self._client.upload(
                job.image, job.image_content_type, f"{job.generation_id}.{extension}"
            )
        except Exception as error:
            mapped = _mapped(error, "upload")
            status = _http_status(error)
            if status is not None and 400 <= status < 500 and status not in (401, 403, 429):
                # DESIGN.md section 2: an upload the provider refuses is a validation failure.
                raise AppError(
                    ErrorCode.VALIDATION_FAILED,
                    "the photo could not be uploaded to the video provider",
                    {"provider_status": status},
                ) from error
            raise mapped from error
        return str(url)


def _log_lines(entries: object) -> list[str]:
    if not isinstance(entries, list):
        return []
    lines = []
    for entry in entries[-MAX_LOG_LINES:]:
        message = entry.get("message") if isinstance(entry, dict) else entry
        if isinstance(message, str) and message.strip():
            lines.append(message.strip()[:1000])
    return lines


def _http_status(error: BaseException) -> int | None:
    if isinstance(error, fal_client.FalClientHTTPError):
        return int(error.status_code)
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code
    return None


def _mapped(error: BaseException, operation: str) -> AppError:
    """One fal failure as an AppError whose message and details are safe to show."""
    if isinstance(error, AppError):
        return error
    if isinstance(error, MissingCredentialsError):
        log.error("fal %s failed: no fal key is configured (set FAL_KEY)", operation)
        return _unavailable()
    if isinstance(error, fal_client.FalClientTimeoutError | httpx.TimeoutException):
        log.warning("fal %s timed out (%s)", operation, type(error).__name__)
        return AppError(ErrorCode.PROVIDER_ERROR, "the video provider did not answer in time")
    status = _http_status(error)
    if status is None:
        # Connection failures after the client's own retries, malformed replies.
        log.warning("fal %s failed: %s", operation, type(error).__name__)
        return _unavailable()
    error_type = getattr(error, "error_type", None)
    if status in (401, 403):
        log.error(
            "fal rejected the API key on %s (HTTP %d): FAL_KEY is invalid, revoked or "
            "lacks access to this model; set a valid FAL_KEY",
            operation,
            status,
        )
        return _unavailable()
    if status == 422:
        fields = _field_errors(getattr(error, "message", None))
        return AppError(
            ErrorCode.VALIDATION_FAILED,
            "the video model rejected the input",
            {"fields": fields} if fields else {},
        )
    if status == 504 and error_type == "request_timeout":
        log.warning("fal %s: the request timed out at fal", operation)
        return AppError(ErrorCode.PROVIDER_TIMEOUT, "the video provider timed out")
    log.warning("fal %s failed with HTTP %d (%s)", operation, status, error_type or "-")
    details: dict[str, Any] = {"provider_status": status}
    if isinstance(error_type, str) and error_type.isidentifier():
        details["provider_error_type"] = error_type
    return AppError(ErrorCode.PROVIDER_ERROR, "the video provider failed", details)


def _unavailable() -> AppError:
    return AppError(ErrorCode.PROVIDER_ERROR, "the video provider is not available")


def _field_errors(detail: object) -> list[dict[str, Any]]:
    """fal's model validation errors, `[{loc, msg, type}]`, reduced to plain strings."""
    if not isinstance(detail, list):
        return []
    fields = []
    for item in detail[:MAX_FIELD_ERRORS]:
        if not isinstance(item, dict):
            continue
        loc = item.get("loc")
        fields.append(
            {
                "loc": [str(part) for part in loc] if isinstance(loc, list) else [],
                "msg": str(item.get("msg", ""))[:500],
                "type": str(item.get("type", ""))[:100],
            }
        )
    return fields
