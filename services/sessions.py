"""Login sessions (refresh token families): issuing, rotating and revoking token pairs, and
checking an access token against its session on every request.

Rotation is race-safe on SQLite and PostgreSQL: the presented token is marked used with a
conditional UPDATE (`WHERE jti = ? AND used_at IS NULL`) in the same transaction that
stores its child, so exactly one caller wins. A loser (or a client retrying) that presents
the immediate parent of the session's live token inside the grace window gets a fresh pair
that REPLACES the live token (we keep only hashes, so the same child cannot be handed out
twice): the live child is retired by the same kind of conditional UPDATE and a new child of
the same parent is stored, so one live refresh token remains per session. Any other used
token presented again is reuse: the whole session is revoked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID, uuid4

from tortoise.transactions import in_transaction

from models import AuthSession, RefreshToken, User
from services.clock import from_timestamp, utcnow
from services.errors import AppError, ErrorCode
from services.tokens import AccessClaims, IssuedToken, Tokens, token_hash

log = logging.getLogger(__name__)

LAST_USED_RESOLUTION = timedelta(seconds=60)
MAX_GRACE_ROUNDS = 32


class RevokeReason:
    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    REVOKED = "revoked_by_user"
    PASSWORD_CHANGED = "password_changed"
    USER_DISABLED = "user_disabled"
    REUSE = "refresh_token_reuse"


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


def invalid_refresh() -> AppError:
    return AppError(ErrorCode.UNAUTHENTICATED, "invalid refresh token")


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
        now = utcnow()
        if now - session.last_used_at > LAST_USED_RESOLUTION:
            await AuthSession.filter(id=session.id).update(last_used_at=now)
        return Principal(user=session.user, session_id=str(session.id), claims=claims)

    # ------------------------------------------------------------------ refresh tokens

    async def _presented(self, refresh_token: str) -> RefreshToken:
        """The stored row of a refresh token (found by its hash), with session and user."""
        claims = self._tokens.decode_refresh(refresh_token)
        row = (
            await RefreshToken.filter(token_hash=token_hash(refresh_token))
            .select_related("session__user")
            .first()
        )
        if (
            row is None
            or row.jti != claims.jti
            or str(row.session.id) != claims.session_id
            or str(row.session.user.id) != claims.user_id
        ):
            raise invalid_refresh()
        return row

    async def rotate(
        self, refresh_token: str, *, user_agent: str, ip: str
    ) -> tuple[User, TokenPair]:
        """Exchange a refresh token for a new pair (see the module docstring)."""
        row = await self._presented(refresh_token)
        session = row.session
        user = session.user
        now = utcnow()
        if session.revoked_at is not None or session.expires_at <= now or not user.is_active:
            raise invalid_refresh()
        if row.used_at is None:
            pair = await self._issue_child(
                session, user, parent_jti=row.jti, retire_jti=row.jti, user_agent=user_agent, ip=ip
            )
            if pair is not None:
                return user, pair
            row = await RefreshToken.get(jti=row.jti)  # lost the race: it is used now
        if row.used_at is None:
            raise invalid_refresh()
        grace = timedelta(seconds=self._tokens.settings.refresh_reuse_grace_seconds)
        if utcnow() - row.used_at <= grace:
            for _ in range(MAX_GRACE_ROUNDS):
                child = await RefreshToken.filter(
                    session_id=session.id, parent_jti=row.jti, used_at__isnull=True
                ).first()
                if child is None:
                    break  # not the immediate parent of the live token: reuse
                pair = await self._issue_child(
                    session,
                    user,
                    parent_jti=row.jti,
                    retire_jti=child.jti,
                    user_agent=user_agent,
                    ip=ip,
                )
                if pair is not None:
                    return user, pair
            else:
                raise AppError(ErrorCode.UNAUTHENTICATED, "refresh token already used")
        await self.revoke(session.id, RevokeReason.REUSE)
        log.warning(
            "refresh token reuse: session %s of user %s revoked (token %s, used %s)",
            session.id,
            user.id,
            row.jti,
            row.used_at.isoformat(),
        )
        raise AppError(
            ErrorCode.UNAUTHENTICATED, "refresh token reused: the session has been revoked"
        )

    async def _issue_child(
        self,
        session: AuthSession,
        user: User,
        *,
        parent_jti: str,
        retire_jti: str,
        user_agent: str,
        ip: str,
    ) -> TokenPair | None:
        """Retire `retire_jti` if still live and store a new child of `parent_jti`, in one
        transaction; None when another caller retired it first."""
        pair = self.issue_pair(user, str(session.id))
        now = utcnow()
        async with in_transaction():
            won = await RefreshToken.filter(jti=retire_jti, used_at__isnull=True).update(
                used_at=now
            )
            if not won:
                return None
            await self.record_refresh(session, pair.refresh, parent_jti=parent_jti)
            await AuthSession.filter(id=session.id).update(
                last_used_at=now,
                expires_at=from_timestamp(pair.refresh.expires_at),
                user_agent=user_agent[:512],
                ip=ip[:64],
            )
        return pair

    async def session_of(self, refresh_token: str) -> AuthSession:
        """The session a (validly signed, known) refresh token belongs to."""
        row = await self._presented(refresh_token)
        return row.session

    # ------------------------------------------------------------------ revocation

    async def revoke(self, session_id: UUID | str, reason: str) -> bool:
        """End one session: its access tokens fail at once (authenticate() checks the row),
        every refresh token of the family is marked used."""
        now = utcnow()
        revoked = await AuthSession.filter(id=session_id, revoked_at__isnull=True).update(
            revoked_at=now, revoked_reason=reason
        )
        await RefreshToken.filter(session_id=session_id, used_at__isnull=True).update(used_at=now)
        return revoked > 0

    async def revoke_all(
        self, user_id: UUID | str, reason: str, *, keep: UUID | str | None = None
    ) -> int:
        """End every live session of a user (except `keep`); returns how many ended."""
        query = AuthSession.filter(user_id=user_id, revoked_at__isnull=True)
        if keep is not None:
            query = query.exclude(id=keep)
        ids = await query.values_list("id", flat=True)
        count = 0
        for session_id in ids:
            count += int(await self.revoke(str(session_id), reason))
        return count

    async def live_sessions(self, user_id: UUID | str) -> list[AuthSession]:
        return (
            await AuthSession.filter(
                user_id=user_id, revoked_at__isnull=True, expires_at__gt=utcnow()
            )
            .order_by("-last_used_at", "-created_at")
            .all()
        )
