"""Account use cases: logging in, the current user, creating accounts."""

from __future__ import annotations

import re

from tortoise.exceptions import IntegrityError

from models import Role, User
from resolvers.context import RequestContext
from resolvers.results import AuthResult, UserResult
from services.container import Services
from services.errors import AppError, ErrorCode
from services.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from services.sessions import TokenPair

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
BAD_CREDENTIALS = "wrong email or password"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def user_result(user: User) -> UserResult:
    return UserResult(
        id=str(user.id), email=user.email, role=user.role.value, created_at=user.created_at
    )


def auth_result(user: User, pair: TokenPair, services: Services) -> AuthResult:
    return AuthResult(
        user=user_result(user),
        access_token=pair.access.token,
        refresh_token=pair.refresh.token,
        expires_in=services.settings.access_token_ttl_seconds,
    )


async def login(ctx: RequestContext, email: str, password: str) -> AuthResult:
    services = ctx.services
    user = await User.get_or_none(email=normalise_email(email))
    verification = await services.passwords.verify(user.password_hash if user else None, password)
    if user is None or not verification.ok or not user.is_active:
        raise AppError(ErrorCode.UNAUTHENTICATED, BAD_CREDENTIALS)
    if verification.new_hash is not None:
        user.password_hash = verification.new_hash
        await user.save(update_fields=["password_hash", "updated_at"])
    pair = await services.sessions.open(user, user_agent=ctx.user_agent, ip=ctx.client_ip)
    return auth_result(user, pair, services)


async def me(ctx: RequestContext) -> UserResult | None:
    user = await ctx.user()
    return user_result(user) if user else None


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
