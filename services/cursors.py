"""Opaque pagination cursors: a kind and a value, base64-encoded."""

from __future__ import annotations

import base64
import binascii

from services.errors import AppError, ErrorCode


def encode_cursor(kind: str, value: str) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode()


def decode_cursor(kind: str, cursor: str) -> str:
    """The value of a cursor of this kind; anything else is a VALIDATION_FAILED."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith(f"{kind}:"):
        raise AppError(ErrorCode.VALIDATION_FAILED, "malformed cursor", {"field": "after"})
    return text.removeprefix(f"{kind}:")
