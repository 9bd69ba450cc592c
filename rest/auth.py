"""POST /auth/*: the legacy account routes (JSON or form bodies), answers as DESIGN.md §3."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from resolvers import auth
from resolvers.context import RequestContext
from resolvers.results import AuthResult
from rest.deps import read_body, request_context

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


class SendOtpBody(BaseModel):
    email: str = Field(max_length=320)


class LoginOtpBody(BaseModel):
    email: str = Field(max_length=320)
    otp: str = Field(max_length=32)


class RefreshBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    refresh_token: str = Field(alias="refreshToken", max_length=4096)


def documented(model: type[BaseModel]) -> dict[str, Any]:
    """The body in the OpenAPI document (it is read by `read_body`, JSON or form)."""
    schema = model.model_json_schema(by_alias=True)
    content = {kind: {"schema": schema} for kind in JSON_OR_FORM}
    return {"requestBody": {"required": True, "content": content}}


JSON_OR_FORM = ("application/json", "application/x-www-form-urlencoded")


def token_fields(result: AuthResult) -> dict[str, Any]:
    return {
        "accessToken": result.access_token,
        "refreshToken": result.refresh_token,
        "tokenType": result.token_type,
        "expiresIn": result.expires_in,
    }


def login_body(result: AuthResult, message: str) -> dict[str, Any]:
    user = result.user
    return {
        "message": message,
        "user": {"id": user.id, "email": user.email, "role": user.role},
        **token_fields(result),
    }


@router.post(
    "/login", summary="Log in with email and password", openapi_extra=documented(LoginBody)
)
async def login(request: Request, ctx: RequestContext = Depends(request_context)) -> dict[str, Any]:
    body = await read_body(request, LoginBody)
    return login_body(await auth.login(ctx, body.email, body.password), "Login successful")


@router.post(
    "/signup",
    summary="Create an account (403 unless SIGNUP_ENABLED)",
    openapi_extra=documented(LoginBody),
)
async def signup(
    request: Request, ctx: RequestContext = Depends(request_context)
) -> dict[str, Any]:
    body = await read_body(request, LoginBody)
    return login_body(await auth.signup(ctx, body.email, body.password), "Account created")


@router.post(
    "/send-otp",
    summary="Email a one-time login code (same answer for any email)",
    openapi_extra=documented(SendOtpBody),
)
async def send_otp(
    request: Request, ctx: RequestContext = Depends(request_context)
) -> dict[str, Any]:
    body = await read_body(request, SendOtpBody)
    result = await auth.send_otp(ctx, body.email)
    return {"message": result.message}


@router.post(
    "/login-otp",
    summary="Log in with an emailed one-time code",
    openapi_extra=documented(LoginOtpBody),
)
async def login_otp(
    request: Request, ctx: RequestContext = Depends(request_context)
) -> dict[str, Any]:
    body = await read_body(request, LoginOtpBody)
    return login_body(await auth.login_otp(ctx, body.email, body.otp), "Login successful")


@router.post(
    "/refresh",
    summary="Exchange a refresh token for a new pair (rotation)",
    openapi_extra=documented(RefreshBody),
)
async def refresh(
    request: Request, ctx: RequestContext = Depends(request_context)
) -> dict[str, Any]:
    body = await read_body(request, RefreshBody)
    return token_fields(await auth.refresh(ctx, body.refresh_token))


@router.post(
    "/logout", summary="End the session of a refresh token", openapi_extra=documented(RefreshBody)
)
async def logout(
    request: Request, ctx: RequestContext = Depends(request_context)
) -> dict[str, Any]:
    body = await read_body(request, RefreshBody)
    result = await auth.logout(ctx, body.refresh_token)
    return {"message": result.message}
