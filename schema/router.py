"""/graphql over HTTP and WebSocket, with the CSRF guard for uploads."""

from __future__ import annotations

from typing import Any

import strawberry
from fastapi import Request
from starlette.requests import HTTPConnection
from strawberry.fastapi import GraphQLRouter

from resolvers.context import context_from_http
from schema.context import GraphQLContext
from services.container import Services
from services.errors import AppError, ErrorCode

# Requests a browser can send cross-site without a preflight must prove they are not.
SIMPLE_CONTENT_TYPES = {"multipart/form-data", "application/x-www-form-urlencoded", "text/plain"}
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name")


def check_csrf(request: Request) -> None:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if request.method != "POST" or content_type not in SIMPLE_CONTENT_TYPES:
        return
    if not any(request.headers.get(name, "").strip() for name in PREFLIGHT_HEADERS):
        raise AppError(
            ErrorCode.BAD_REQUEST,
            "this request needs a non-empty Apollo-Require-Preflight or "
            "X-Apollo-Operation-Name header (CSRF protection)",
        )


async def get_context(connection: HTTPConnection) -> GraphQLContext:
    services: Services = connection.app.state.services
    ctx = context_from_http(
        services,
        connection.headers,
        client_host=connection.client.host if connection.client else None,
        base_url=str(connection.base_url),
    )
    if isinstance(connection, Request):
        check_csrf(connection)
        if connection.headers.get("content-type", "").startswith("multipart/form-data"):
            # Uploads are parsed before any resolver runs: authenticate first.
            await ctx.require_user()
    return GraphQLContext(app=ctx)


def graphql_router(schema: strawberry.Schema, *, graphiql: bool) -> GraphQLRouter[Any, None]:
    return GraphQLRouter(
        schema,
        context_getter=get_context,
        graphql_ide="graphiql" if graphiql else None,
        multipart_uploads_enabled=True,
    )
