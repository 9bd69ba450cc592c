"""Administration: listing accounts, roles, disabling accounts (GraphQL for admins, and the
command line acting as the operator)."""

from __future__ import annotations

from uuid import UUID

from models import Role, User
from resolvers.auth import normalise_email, user_result
from resolvers.context import RequestContext
from resolvers.results import UserPage, UserResult
from services.container import Services
from services.cursors import decode_cursor, encode_cursor
from services.errors import AppError, ErrorCode
from services.sessions import RevokeReason

MAX_PAGE = 100


async def users(ctx: RequestContext, first: int = 20, after: str | None = None) -> UserPage:
    """Accounts in email order, a keyset page after the `after` cursor."""
    await ctx.require_admin()
    if not 1 <= first <= MAX_PAGE:
        raise AppError(
            ErrorCode.VALIDATION_FAILED,
            f"first must be between 1 and {MAX_PAGE}",
            {"field": "first", "max": MAX_PAGE},
        )
    query = User.all()
    if after:
        query = query.filter(email__gt=decode_cursor("user", after))
    rows = await query.order_by("email").limit(first + 1)
    page = rows[:first]
    edges = [(encode_cursor("user", user.email), user_result(user)) for user in page]
    return UserPage(
        users=edges,
        has_next_page=len(rows) > first,
        end_cursor=edges[-1][0] if edges else None,
    )


async def _target(user_id: str) -> User:
    try:
        wanted = UUID(user_id)
    except ValueError:
        raise AppError(ErrorCode.NOT_FOUND, "no such user") from None
    user = await User.get_or_none(id=wanted)
    if user is None:
        raise AppError(ErrorCode.NOT_FOUND, "no such user")
    return user


def _not_self(admin: User, target: User, what: str) -> None:
    if admin.id == target.id:
        raise AppError(ErrorCode.VALIDATION_FAILED, f"admins cannot {what} their own account")


async def apply_role(user: User, role: Role) -> UserResult:
    """A new role takes effect on the next request (roles are read from the user row)."""
    if user.role is not role:
        user.role = role
        await user.save(update_fields=["role", "updated_at"])
    return user_result(user)


async def apply_disable(services: Services, user: User) -> UserResult:
    """Disable an account: every session ends, its tokens fail on the next request."""
    if user.is_active:
        user.is_active = False
        await user.save(update_fields=["is_active", "updated_at"])
    await services.sessions.revoke_all(user.id, RevokeReason.USER_DISABLED)
    return user_result(user)


async def apply_enable(user: User) -> UserResult:
    if not user.is_active:
        user.is_active = True
        await user.save(update_fields=["is_active", "updated_at"])
    return user_result(user)


async def set_user_role(ctx: RequestContext, user_id: str, role: str) -> UserResult:
    admin = await ctx.require_admin()
    target = await _target(user_id)
    _not_self(admin, target, "change the role of")
    return await apply_role(target, Role(role))


async def disable_user(ctx: RequestContext, user_id: str) -> UserResult:
    admin = await ctx.require_admin()
    target = await _target(user_id)
    _not_self(admin, target, "disable")
    return await apply_disable(ctx.services, target)


async def enable_user(ctx: RequestContext, user_id: str) -> UserResult:
    await ctx.require_admin()
    return await apply_enable(await _target(user_id))


# ---------------------------------------------------------------------- command line


async def _by_email(email: str) -> User:
    user = await User.get_or_none(email=normalise_email(email))
    if user is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no account with the email {email}")
    return user


async def set_role_by_email(email: str, role: Role) -> UserResult:
    return await apply_role(await _by_email(email), role)


async def disable_by_email(services: Services, email: str) -> UserResult:
    return await apply_disable(services, await _by_email(email))


async def enable_by_email(email: str) -> UserResult:
    return await apply_enable(await _by_email(email))
