"""Admin-only queries and mutations (FORBIDDEN for other roles)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import admin
from schema.context import GraphQLContext, app_context
from schema.types import Role, User, UserConnection

Ctx = Info[GraphQLContext, None]


@strawberry.type
class AdminQuery:
    @strawberry.field(description="Every account, in email order (admins only).")
    async def users(self, info: Ctx, first: int = 20, after: str | None = None) -> UserConnection:
        return UserConnection.from_result(await admin.users(app_context(info), first, after))


@strawberry.type
class AdminMutation:
    @strawberry.mutation(description="Give an account a role (admins only).")
    async def set_user_role(self, info: Ctx, user_id: strawberry.ID, role: Role) -> User:
        result = await admin.set_user_role(app_context(info), str(user_id), role.value)
        return User.from_result(result)

    @strawberry.mutation(
        description="Disable an account: its sessions end and its tokens stop working at once."
    )
    async def disable_user(self, info: Ctx, user_id: strawberry.ID) -> User:
        return User.from_result(await admin.disable_user(app_context(info), str(user_id)))

    @strawberry.mutation(description="Enable a disabled account again (admins only).")
    async def enable_user(self, info: Ctx, user_id: strawberry.ID) -> User:
        return User.from_result(await admin.enable_user(app_context(info), str(user_id)))
