"""Account queries and mutations."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import auth
from schema.context import GraphQLContext, app_context
from schema.types import AuthPayload, User


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The caller, or null without a token.")
    async def me(self, info: Info[GraphQLContext, None]) -> User | None:
        result = await auth.me(app_context(info))
        return User.from_result(result) if result else None


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Log in with email and password.")
    async def login(
        self, info: Info[GraphQLContext, None], email: str, password: str
    ) -> AuthPayload:
        return AuthPayload.from_result(await auth.login(app_context(info), email, password))
