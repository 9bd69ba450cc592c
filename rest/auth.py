"""POST /auth/*: the legacy account routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from resolvers import auth
from resolvers.context import RequestContext
from resolvers.results import AuthResult
from rest.deps import read_body, request_context

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginBody(BaseModel):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)


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


@router.post("/login", summary="Log in with email and password")
async def login(request: Request, ctx: RequestContext = Depends(request_context)) -> dict[str, Any]:
    body = await read_body(request, LoginBody)
    return login_body(await auth.login(ctx, body.email, body.password), "Login successful")
