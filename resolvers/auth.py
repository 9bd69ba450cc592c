"""Account use cases: password and code login, token refresh and logout, sessions, sign-up,
password change. Both transports call these; failures are AppErrors."""

from __future__ import annotations

import re
from uuid import UUID

from tortoise.exceptions import IntegrityError

from models import AuthSession, Role, User
from resolvers.context import RequestContext
from resolvers.results import AuthResult, MessageResult, SessionResult, UserResult
from services.clock import utcnow
from services.container import Services
from services.email import EmailMessage
from services.errors import AppError, ErrorCode
from services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from services.ratelimit import Limit
from services.sessions import RevokeReason, TokenPair

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
BAD_CREDENTIALS = "wrong email or password"
BAD_CODE = "wrong or expired code"
OTP_SENT = "If this address can receive email, a login code is on its way."
OTP_SUBJECT = "Your Clipforge login code"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_result(user: User) -> UserResult:
    return UserResult(
        id=str(user.id),
        email=user.email,
        role=user.role.value,
        created_at=user.created_at,
        is_active=user.is_active,
    )


def auth_result(user: User, pair: TokenPair, services: Services) -> AuthResult:
    return AuthResult(
        user=user_result(user),
        access_token=pair.access.token,
        refresh_token=pair.refresh.token,
        expires_in=services.settings.access_token_ttl_seconds,
    )


def session_result(session: AuthSession, current_id: str | None) -> SessionResult:
    return SessionResult(
        id=str(session.id),
        created_at=session.created_at,
        last_used_at=session.last_used_at,
        expires_at=session.expires_at,
        user_agent=session.user_agent,
        ip=session.ip,
        current=str(session.id) == current_id,
    )


# ---------------------------------------------------------------------- password login


async def login(ctx: RequestContext, email: str, password: str) -> AuthResult:
    services = ctx.services
    settings = services.settings
    normalised = normalise_email(email)
    await services.ratelimit.hit(
        Limit("login:ip", settings.login_ip_rate_limit, ctx.client_ip),
        Limit("login:email", settings.login_rate_limit, normalised),
    )
    user = await User.get_or_none(email=normalised)
    # An unknown email (or a code-only account) still pays one hash: no timing oracle.
    verification = await services.passwords.verify(user.password_hash if user else None, password)
    if user is None or not verification.ok or not user.is_active:
        raise AppError(ErrorCode.UNAUTHENTICATED, BAD_CREDENTIALS)
    if verification.new_hash is not None:
        user.password_hash = verification.new_hash
        await user.save(update_fields=["password_hash", "updated_at"])
    pair = await services.sessions.open(user, user_agent=ctx.user_agent, ip=ctx.client_ip)
    return auth_result(user, pair, services)


async def signup(ctx: RequestContext, email: str, password: str) -> AuthResult:
    """Open sign-up, only when SIGNUP_ENABLED; otherwise FORBIDDEN on both transports."""
    services = ctx.services
    settings = services.settings
    if not settings.signup_enabled:
        raise AppError(ErrorCode.FORBIDDEN, "sign-up is disabled on this server")
    await services.ratelimit.hit(Limit("signup:ip", settings.login_ip_rate_limit, ctx.client_ip))
    created = await create_user(services, email, password)
    user = await User.get(id=created.id)
    pair = await services.sessions.open(user, user_agent=ctx.user_agent, ip=ctx.client_ip)
    return auth_result(user, pair, services)


# ---------------------------------------------------------------------- one-time codes


def otp_email(email: str, code: str, ttl_seconds: int) -> EmailMessage:
    minutes = max(1, ttl_seconds // 60)
    text = (
        f"Your Clipforge login code is {code}\n\n"
        f"It works once and expires in {minutes} minutes.\n"
        "If you did not ask for it, ignore this email.\n"
    )
    return EmailMessage(to=email, subject=OTP_SUBJECT, text=text)


async def send_otp(ctx: RequestContext, email: str) -> MessageResult:
    """The same answer and the same work for every well-formed email: a code row is stored
    and a background send is scheduled either way; only an email with an active account
    (or any email when OTP_SIGNUP is on) actually receives the code."""
    services = ctx.services
    settings = services.settings
    normalised = validate_email(email)
    await services.ratelimit.hit(
        Limit("send_otp:ip", settings.send_otp_ip_rate_limit, ctx.client_ip),
        Limit("send_otp:email", settings.send_otp_rate_limit, normalised),
    )
    code = await services.otp.issue(normalised)
    user = await User.get_or_none(email=normalised)
    deliver = user.is_active if user is not None else settings.otp_signup
    message = otp_email(normalised, code, settings.otp_ttl_seconds) if deliver else None
    services.email.send_in_background(message)
    return MessageResult(message=OTP_SENT)


async def login_otp(ctx: RequestContext, email: str, otp: str) -> AuthResult:
    services = ctx.services
    settings = services.settings
    normalised = normalise_email(email)
    await services.ratelimit.hit(
        Limit("login_otp:ip", settings.login_otp_ip_rate_limit, ctx.client_ip),
        Limit("login_otp:email", settings.login_otp_rate_limit, normalised),
    )
    if not await services.otp.verify(normalised, otp):
        raise AppError(ErrorCode.UNAUTHENTICATED, BAD_CODE)
    user = await User.get_or_none(email=normalised)
    if user is None and settings.otp_signup:
        user, _ = await User.get_or_create(email=normalised)  # first code login makes it
    if user is None or not user.is_active:
        raise AppError(ErrorCode.UNAUTHENTICATED, BAD_CODE)
    pair = await services.sessions.open(user, user_agent=ctx.user_agent, ip=ctx.client_ip)
    return auth_result(user, pair, services)


# ---------------------------------------------------------------------- tokens and sessions


async def refresh(ctx: RequestContext, refresh_token: str) -> AuthResult:
    services = ctx.services
    user, pair = await services.sessions.rotate(
        refresh_token.strip(), user_agent=ctx.user_agent, ip=ctx.client_ip
    )
    return auth_result(user, pair, services)


async def logout(ctx: RequestContext, refresh_token: str) -> MessageResult:
    """End the session the refresh token belongs to (idempotent for an ended session)."""
    sessions = ctx.services.sessions
    session = await sessions.session_of(refresh_token.strip())
    ended = await sessions.revoke(session.id, RevokeReason.LOGOUT)
    return MessageResult(message="Logged out", count=int(ended))


async def logout_all(ctx: RequestContext) -> MessageResult:
    user = await ctx.require_user()
    ended = await ctx.services.sessions.revoke_all(user.id, RevokeReason.LOGOUT_ALL)
    return MessageResult(message="Logged out of every session", count=ended)


async def current_session_id(ctx: RequestContext) -> str | None:
    principal = await ctx.principal()
    return principal.session_id if principal else None


async def sessions(ctx: RequestContext) -> list[SessionResult]:
    user = await ctx.require_user()
    current = await current_session_id(ctx)
    live = await ctx.services.sessions.live_sessions(user.id)
    return [session_result(session, current) for session in live]


async def revoke_session(ctx: RequestContext, session_id: str) -> MessageResult:
    """End one of the caller's own sessions (possibly the current one)."""
    user = await ctx.require_user()
    try:
        wanted = UUID(session_id)
    except ValueError:
        raise AppError(ErrorCode.NOT_FOUND, "no such session") from None
    session = await AuthSession.get_or_none(id=wanted, user_id=user.id, revoked_at__isnull=True)
    if session is None:
        raise AppError(ErrorCode.NOT_FOUND, "no such session")
    ended = await ctx.services.sessions.revoke(session.id, RevokeReason.REVOKED)
    return MessageResult(message="Session revoked", count=int(ended))


async def change_password(
    ctx: RequestContext, current_password: str, new_password: str
) -> MessageResult:
    """Needs the current password; every OTHER session of the user is revoked at once,
    the caller's own session stays logged in."""
    services = ctx.services
    principal = await ctx.principal()
    if principal is None:
        raise AppError(ErrorCode.UNAUTHENTICATED, "authentication required")
    user = principal.user
    await services.ratelimit.hit(
        Limit("login:email", services.settings.login_rate_limit, user.email)
    )
    validate_new_password(new_password)
    verification = await services.passwords.verify(user.password_hash, current_password)
    if not verification.ok:
        raise AppError(ErrorCode.UNAUTHENTICATED, "the current password is wrong")
    user.password_hash = await services.passwords.hash(new_password)
    user.password_changed_at = utcnow()
    await user.save(update_fields=["password_hash", "password_changed_at", "updated_at"])
    ended = await services.sessions.revoke_all(
        user.id, RevokeReason.PASSWORD_CHANGED, keep=principal.session_id
    )
    return MessageResult(
        message="Password changed; your other sessions were logged out", count=ended
    )


async def me(ctx: RequestContext) -> UserResult | None:
    user = await ctx.user()
    return user_result(user) if user else None


# ---------------------------------------------------------------------- accounts


def validate_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            {"field": "password", "min_length": MIN_PASSWORD_LENGTH},
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            f"the password must have at most {MAX_PASSWORD_LENGTH} characters",
            {"field": "password", "max_length": MAX_PASSWORD_LENGTH},
        )


def validate_email(email: str) -> str:
    normalised = normalise_email(email)
    if len(normalised) > 320 or not EMAIL_PATTERN.fullmatch(normalised):
        raise AppError(ErrorCode.VALIDATION_FAILED, "not a valid email address", {"field": "email"})
    return normalised


async def create_user(
    services: Services, email: str, password: str | None, role: Role = Role.USER
) -> UserResult:
    """Create an account (CLI, admins, sign-up); a password is optional for code-only login."""
    normalised = validate_email(email)
    password_hash = None
    if password is not None:
        validate_new_password(password)
        password_hash = await services.passwords.hash(password)
    try:
        user = await User.create(email=normalised, password_hash=password_hash, role=role)
    except IntegrityError as error:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            "an account with this email already exists",
            {"field": "email"},
        ) from error
    return user_result(user)
