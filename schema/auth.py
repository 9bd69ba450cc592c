"""Account queries and mutations. Failures are coded errors (`extensions.code`)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import auth
from schema.context import GraphQLContext, app_context
from schema.types import (
    AuthPayload,
    ChangePasswordPayload,
    LogoutPayload,
    SendOtpPayload,
    Session,
    User,
)

Ctx = Info[GraphQLContext, None]


@strawberry.type
class AuthQuery:
    @strawberry.field(description="The caller, or null without a token.")
    async def me(self, info: Ctx) -> User | None:
        result = await auth.me(app_context(info))
        return User.from_result(result) if result else None

    @strawberry.field(description="The caller's live sessions (logged-in devices).")
    async def sessions(self, info: Ctx) -> list[Session]:
        return [Session.from_result(s) for s in await auth.sessions(app_context(info))]


@strawberry.type
class AuthMutation:
    @strawberry.mutation(description="Log in with email and password.")
    async def login(self, info: Ctx, email: str, password: str) -> AuthPayload:
        return AuthPayload.from_result(await auth.login(app_context(info), email, password))

    @strawberry.mutation(
        description="Create an account with a password (FORBIDDEN unless sign-up is enabled)."
    )
    async def signup(self, info: Ctx, email: str, password: str) -> AuthPayload:
        return AuthPayload.from_result(await auth.signup(app_context(info), email, password))

    @strawberry.mutation(
        description="Email a one-time login code. The answer is the same for every address."
    )
    async def send_otp(self, info: Ctx, email: str) -> SendOtpPayload:
        return SendOtpPayload.from_result(await auth.send_otp(app_context(info), email))

    @strawberry.mutation(description="Log in with an emailed one-time code.")
    async def login_otp(self, info: Ctx, email: str, otp: str) -> AuthPayload:
        return AuthPayload.from_result(await auth.login_otp(app_context(info), email, otp))

    @strawberry.mutation(description="Exchange a refresh token for a new pair (rotation).")
    async def refresh(self, info: Ctx, refresh_token: str) -> AuthPayload:
        return AuthPayload.from_result(await auth.refresh(app_context(info), refresh_token))

    @strawberry.mutation(description="End the session of this refresh token.")
    async def logout(self, info: Ctx, refresh_token: str) -> LogoutPayload:
        return LogoutPayload.from_result(await auth.logout(app_context(info), refresh_token))

    @strawberry.mutation(description="End every session of the caller, this one included.")
    async def logout_all(self, info: Ctx) -> LogoutPayload:
        return LogoutPayload.from_result(await auth.logout_all(app_context(info)))

    @strawberry.mutation(description="End one of the caller's sessions.")
    async def revoke_session(self, info: Ctx, id: strawberry.ID) -> LogoutPayload:
        return LogoutPayload.from_result(await auth.revoke_session(app_context(info), str(id)))

    @strawberry.mutation(
        description="Change the password; every other session of the caller is logged out."
    )
    async def change_password(
        self, info: Ctx, current_password: str, new_password: str
    ) -> ChangePasswordPayload:
        result = await auth.change_password(app_context(info), current_password, new_password)
        return ChangePasswordPayload.from_result(result)
