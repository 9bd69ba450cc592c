"""fal's completion webhooks: Ed25519 signatures checked against fal's JWKS.

The signed message is the request id, the user id, the timestamp and the hex SHA-256 of
the raw body, joined by newlines; the signature header is hex. The JWKS is cached and
fetched again when no cached key verifies a signature (key rotation), at most once per
REFRESH_MIN_SECONDS so forged requests cannot hammer it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from services.errors import AppError, ErrorCode

log = logging.getLogger(__name__)

MAX_SKEW_SECONDS = 300
CACHE_SECONDS = 24 * 3600
REFRESH_MIN_SECONDS = 10


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    request_id: str
    status: str  # "OK" | "ERROR"
    payload: Any


class WebhookVerifier:
    def __init__(self, http: httpx.AsyncClient, jwks_url: str):
        self._http = http
        self._jwks_url = jwks_url
        self._keys: list[Ed25519PublicKey] = []
        self._fetched_at: float | None = None  # last successful fetch
        self._attempted_at: float | None = None  # last fetch, successful or not
        self._lock = asyncio.Lock()

    async def verify(self, headers: Mapping[str, str], body: bytes) -> WebhookDelivery:
        """The delivery, or UNAUTHENTICATED when it is not fal's, or is too old."""
        request_id = _header(headers, "x-fal-webhook-request-id")
        user_id = _header(headers, "x-fal-webhook-user-id")
        timestamp = _header(headers, "x-fal-webhook-timestamp")
        try:
            signature = bytes.fromhex(_header(headers, "x-fal-webhook-signature"))
            sent_at = int(timestamp)
        except ValueError as error:
            raise _rejected("malformed webhook signature headers") from error
        if abs(time.time() - sent_at) > MAX_SKEW_SECONDS:
            raise _rejected("the webhook timestamp is too far from now")
        digest = hashlib.sha256(body).hexdigest()
        message = "\n".join([request_id, user_id, timestamp, digest]).encode()
        if not await self._verified(signature, message):
            raise _rejected("invalid webhook signature")
        try:
            data = json.loads(body)
        except ValueError as error:
            raise AppError(ErrorCode.BAD_REQUEST, "the webhook body is not JSON") from error
        if not isinstance(data, dict) or data.get("request_id", request_id) != request_id:
            raise AppError(ErrorCode.BAD_REQUEST, "the webhook body does not match its headers")
        return WebhookDelivery(
            request_id=request_id, status=str(data.get("status", "")), payload=data.get("payload")
        )

    async def _verified(self, signature: bytes, message: bytes) -> bool:
        keys = await self._current_keys()
        if _any_verifies(keys, signature, message):
            return True
        # Perhaps fal rotated its keys: fetch the JWKS again (rate-limited).
        refreshed = await self._current_keys(refresh=True)
        return refreshed is not keys and _any_verifies(refreshed, signature, message)

    async def _current_keys(self, *, refresh: bool = False) -> list[Ed25519PublicKey]:
        async with self._lock:
            now = time.monotonic()
            stale = self._fetched_at is None or now - self._fetched_at > CACHE_SECONDS
            recent = (
                self._attempted_at is not None and now - self._attempted_at < REFRESH_MIN_SECONDS
            )
            if (stale or refresh) and not recent:
                # Failed fetches count too: forged requests cannot make us fetch each time.
                self._attempted_at = now
                fetched = await self._fetch()
                if fetched is not None:
                    self._keys, self._fetched_at = fetched, now
            if not self._keys:
                raise AppError(
                    ErrorCode.PROVIDER_ERROR, "webhook keys are not available; retry later"
                )
            return self._keys

    async def _fetch(self) -> list[Ed25519PublicKey] | None:
        try:
            response = await self._http.get(self._jwks_url, timeout=10)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as error:
            log.error("cannot fetch fal's webhook keys (FAL_JWKS_URL): %s", type(error).__name__)
            return None
        keys = []
        for entry in data.get("keys", []) if isinstance(data, dict) else []:
            if not isinstance(entry, dict) or entry.get("kty") != "OKP":
                continue
            if entry.get("crv") != "Ed25519" or not isinstance(entry.get("x"), str):
                continue
            try:
                raw = base64.urlsafe_b64decode(entry["x"] + "=" * (-len(entry["x"]) % 4))
                keys.append(Ed25519PublicKey.from_public_bytes(raw))
            except (ValueError, binascii.Error):
                log.warning("skipping a malformed key in fal's JWKS")
        return keys


def _any_verifies(keys: list[Ed25519PublicKey], signature: bytes, message: bytes) -> bool:
    for key in keys:
        try:
            key.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if not value or not value.strip():
        raise _rejected(f"missing {name} header")
    return value.strip()


def _rejected(message: str) -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, message)
