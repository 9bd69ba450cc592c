"""Emailed one-time login codes.

6 digits from `secrets`, stored only as an HMAC (a server key), one live code per email:
a resend replaces the old code, at most one send per email per OTP_RESEND_SECONDS. Every
verification first reserves one attempt with a conditional UPDATE, so even concurrent
guesses get at most OTP_MAX_ATTEMPTS tries at one code; then the code is burned.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from datetime import timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from models import OtpCode
from services.clock import utcnow
from services.ratelimit import rate_limited
from settings import Settings

CODE_DIGITS = 6
KEY_LABEL = b"clipforge/otp-hmac/v1"


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def is_well_formed(code: str) -> bool:
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


class OtpService:
    def __init__(self, settings: Settings):
        self._settings = settings
        secret = settings.otp_secret or settings.jwt_secret
        # A key of its own, derived with a label, so the JWT key never hashes codes directly.
        self._key = hmac.new(secret.encode(), KEY_LABEL, hashlib.sha256).digest()

    def digest(self, email: str, code: str) -> str:
        return hmac.new(self._key, f"{email}\x00{code}".encode(), hashlib.sha256).hexdigest()

    async def issue(self, email: str) -> str:
        """Store a new code for `email` (replacing any other) and return it; RATE_LIMITED
        inside the resend interval. Known or not, every email takes this same path."""
        settings = self._settings
        now = utcnow()
        code = new_code()
        values: dict[str, Any] = {
            "code_hmac": self.digest(email, code),
            "sent_at": now,
            "expires_at": now + timedelta(seconds=settings.otp_ttl_seconds),
            "attempts": 0,
        }
        current = await OtpCode.get_or_none(email=email)
        if current is None:
            try:
                await OtpCode.create(email=email, **values)
            except IntegrityError:  # a concurrent send created it first
                raise rate_limited(settings.otp_resend_seconds) from None
            return code
        wait = settings.otp_resend_seconds - (now - current.sent_at).total_seconds()
        if wait > 0:
            raise rate_limited(math.ceil(wait), "a code was sent recently, try again later")
        # Conditional on the code we saw: of two concurrent resends only one replaces it.
        replaced = await OtpCode.filter(id=current.id, code_hmac=current.code_hmac).update(**values)
        if not replaced:
            raise rate_limited(settings.otp_resend_seconds)
        return code

    async def verify(self, email: str, code: str) -> bool:
        """True once for the right code; each call spends one attempt first."""
        digest = self.digest(email, code.strip())
        current = await OtpCode.get_or_none(email=email)
        if current is None or not is_well_formed(code.strip()):
            return False
        now = utcnow()
        reserved = await OtpCode.filter(
            id=current.id,
            code_hmac=current.code_hmac,
            attempts__lt=self._settings.otp_max_attempts,
            expires_at__gt=now,
        ).update(attempts=F("attempts") + 1)
        if not reserved or not hmac.compare_digest(digest, current.code_hmac):
            return False
        # The right code: burn it (only one caller can). The row stays, so that its
        # `sent_at` keeps holding the resend interval.
        spent = self._settings.otp_max_attempts + 1
        consumed = await OtpCode.filter(
            id=current.id, code_hmac=current.code_hmac, attempts__lt=spent
        ).update(attempts=spent)
        return consumed == 1
