"""Reading an uploaded file with a byte limit, whichever transport received it."""

from __future__ import annotations

from typing import Protocol

from services.errors import AppError, ErrorCode

CHUNK = 1024 * 1024


class ReadableUpload(Protocol):
    async def read(self, size: int = -1) -> bytes: ...


async def read_upload(upload: ReadableUpload, max_bytes: int) -> bytes:
    """Read at most `max_bytes`; one byte more is a PAYLOAD_TOO_LARGE."""
    parts: list[bytes] = []
    total = 0
    while chunk := await upload.read(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise too_large(max_bytes)
        parts.append(chunk)
    return b"".join(parts)


def too_large(max_bytes: int) -> AppError:
    return AppError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"the upload is larger than {max_bytes} bytes",
        {"max_bytes": max_bytes},
    )
