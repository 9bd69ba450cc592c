"""JWT access and refresh tokens: typed, pinned to HS256, with required claims."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from services.errors import AppError, ErrorCode
from settings import Settings

ALGORITHM = "HS256"
ACCESS_TYPE = "at+jwt"
REFRESH_TYPE = "rt+jwt"
ACCESS_CLAIMS = ["sub", "role", "sid", "jti", "iat", "exp", "iss", "aud"]
REFRESH_CLAIMS = ["sub", "sid", "jti", "iat", "exp", "iss", "aud"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    role: str
    session_id: str
    jti: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    user_id: str
    session_id: str
    jti: str
    issued_at: int
    expires_at: int


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    jti: str
    issued_at: int
    expires_at: int


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    def __init__(self, settings: Settings):
        self._settings = settings

    @property
    def settings(self) -> Settings:
        return self._settings

    def issue_access(self, *, user_id: str, role: str, session_id: str) -> IssuedToken:
        claims = {"sub": user_id, "role": role, "sid": session_id}
        ttl = self._settings.access_token_ttl_seconds
        return self._issue(claims, ttl, self._settings.jwt_secret, ACCESS_TYPE)

    def issue_refresh(self, *, user_id: str, session_id: str) -> IssuedToken:
        claims = {"sub": user_id, "sid": session_id}
        ttl = self._settings.refresh_token_ttl_seconds
        return self._issue(claims, ttl, self._settings.jwt_refresh_secret, REFRESH_TYPE)

    def _issue(self, claims: dict[str, Any], ttl: int, key: str, typ: str) -> IssuedToken:
        now = int(time.time())
        jti = secrets.token_urlsafe(16)
        payload = {
            **claims,
            "jti": jti,
            "iat": now,
            "exp": now + ttl,
            "iss": self._settings.jwt_issuer,
            "aud": self._settings.jwt_audience,
        }
        token = jwt.encode(payload, key, algorithm=ALGORITHM, headers={"typ": typ})
        return IssuedToken(token=token, jti=jti, issued_at=now, expires_at=now + ttl)

    def decode_access(self, token: str) -> AccessClaims:
        payload = self._decode(token, self._settings.jwt_secret, ACCESS_TYPE, ACCESS_CLAIMS)
        return AccessClaims(
            user_id=str(payload["sub"]),
            role=str(payload["role"]),
            session_id=str(payload["sid"]),
            jti=str(payload["jti"]),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
        )

    def decode_refresh(self, token: str) -> RefreshClaims:
        payload = self._decode(
            token, self._settings.jwt_refresh_secret, REFRESH_TYPE, REFRESH_CLAIMS
        )
        return RefreshClaims(
            user_id=str(payload["sub"]),
            session_id=str(payload["sid"]),
            jti=str(payload["jti"]),
            issued_at=int(payload["iat"]),
            expires_at=int(payload["exp"]),
        )

    def _decode(self, token: str, key: str, typ: str, required: list[str]) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != typ:
                raise _invalid()
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._settings.jwt_audience,
                issuer=self._settings.jwt_issuer,
                options={"require": required},
            )
        except jwt.ExpiredSignatureError as error:
            if typ == ACCESS_TYPE:
                raise AppError(ErrorCode.TOKEN_EXPIRED, "the access token has expired") from error
            raise AppError(ErrorCode.UNAUTHENTICATED, "the refresh token has expired") from error
        except jwt.PyJWTError as error:
            raise _invalid() from error
        return payload


def _invalid() -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, "invalid token")
