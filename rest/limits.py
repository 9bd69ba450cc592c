"""Request body limits, enforced while the body streams in (Starlette sets none): uploads
(multipart) may carry a photo, every other body (JSON, forms, webhooks) is small."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.errors import HTTP_STATUS, AppError, ErrorCode
from services.uploads import too_large


class BodyTooLargeError(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_upload_bytes: int, form_overhead_bytes: int, max_other_bytes: int
    ):
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.max_multipart_bytes = max_upload_bytes + form_overhead_bytes
        self.max_other_bytes = max_other_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        multipart = _header(scope, b"content-type").lower().startswith("multipart/")
        limit = self.max_multipart_bytes if multipart else self.max_other_bytes
        error = too_large(self.max_upload_bytes) if multipart else _body_too_large(limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _reject(send, error)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await _reject(send, error)


def _body_too_large(limit: int) -> AppError:
    return AppError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"the request body is larger than {limit} bytes",
        {"max_bytes": limit},
    )


async def _reject(send: Send, error: AppError) -> None:
    body = json.dumps(
        {"error": error.message, "code": error.code.value, "details": error.details}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": HTTP_STATUS[error.code],
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return ""


def _content_length(scope: Scope) -> int | None:
    try:
        return int(_header(scope, b"content-length"))
    except ValueError:
        return None
