"""Login sessions: issuing token pairs and checking an access token against its session."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from models import AuthSession, RefreshToken, User
from services.clock import from_timestamp, utcnow
from services.errors import AppError, ErrorCode
from services.tokens import AccessClaims, IssuedToken, Tokens, token_hash


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: IssuedToken
    refresh: IssuedToken
    session_id: str


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind a valid access token."""

    user: User
    session_id: str
    claims: AccessClaims


class Sessions:
    def __init__(self, tokens: Tokens):
        self._tokens = tokens

    async def open(self, user: User, *, user_agent: str, ip: str) -> TokenPair:
        """Start a new session (one per device) and issue its first token pair."""
        now = utcnow()
        session_id = uuid4()
        pair = self.issue_pair(user, str(session_id))
        session = await AuthSession.create(
            id=session_id,
            user=user,
            last_used_at=now,
            expires_at=from_timestamp(pair.refresh.expires_at),
            user_agent=user_agent[:512],
            ip=ip[:64],
        )
        await self.record_refresh(session, pair.refresh, parent_jti=None)
        return pair

    def issue_pair(self, user: User, session_id: str) -> TokenPair:
        access = self._tokens.issue_access(
            user_id=str(user.id), role=user.role.value, session_id=session_id
        )
        refresh = self._tokens.issue_refresh(user_id=str(user.id), session_id=session_id)
        return TokenPair(access=access, refresh=refresh, session_id=session_id)

    @staticmethod
    async def record_refresh(
        session: AuthSession, refresh: IssuedToken, *, parent_jti: str | None
    ) -> RefreshToken:
        return await RefreshToken.create(
            jti=refresh.jti,
            session=session,
            token_hash=token_hash(refresh.token),
            parent_jti=parent_jti,
            issued_at=from_timestamp(refresh.issued_at),
            expires_at=from_timestamp(refresh.expires_at),
        )

    async def authenticate(self, access_token: str) -> Principal:
        """Check signature, type, expiry, then the session and the user rows (every request)."""
        claims = self._tokens.decode_access(access_token)
        session = (
            await AuthSession.filter(id=claims.session_id, user_id=claims.user_id)
            .select_related("user")
            .first()
        )
        if session is None or session.revoked_at is not None or not session.user.is_active:
            raise AppError(ErrorCode.UNAUTHENTICATED, "invalid token")
        return Principal(user=session.user, session_id=str(session.id), claims=claims)
