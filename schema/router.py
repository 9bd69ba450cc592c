"""/graphql over HTTP and WebSocket, with the CSRF guard for uploads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from cross_web import HTTPException as StrawberryHTTPException
from fastapi import Request
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import SchemaExtension
from strawberry.fastapi import GraphQLRouter
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from resolvers.context import bearer_token, context_from_http
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


class ClipforgeGraphQLRouter(GraphQLRouter[Any, None]):
    async def parse_http_body(self, request: Any) -> Any:
        """Every malformed request body is a coded 400 in GraphQL's shape, never a 500 or a
        plain-text answer (odd JSON such as `42`, a multipart `map` that is no object)."""
        try:
            data = await super().parse_http_body(request)
        except StrawberryHTTPException as error:
            raise AppError(ErrorCode.BAD_REQUEST, error.reason) from error
        except (
            AttributeError,
            TypeError,
            IndexError,
            KeyError,
            ValueError,
            RecursionError,
        ) as error:
            raise AppError(ErrorCode.BAD_REQUEST, "the GraphQL request is malformed") from error
        for item in data if isinstance(data, list) else [data]:
            if not _storable(item.query) or not _storable(item.variables):
                raise AppError(
                    ErrorCode.BAD_REQUEST, "the GraphQL request holds text that is not valid UTF-8"
                )
        return data

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        """graphql-transport-ws: the token comes in connection_init's payload, as
        `{"Authorization": "Bearer ..."}` or `{"authToken": "..."}` (browsers cannot set
        headers on a WebSocket). A missing or bad token closes the socket (4403)."""
        assert isinstance(context, GraphQLContext)
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        token = _connection_token(params) or context.app.access_token
        if token is None:
            raise ConnectionRejectionError({"code": ErrorCode.UNAUTHENTICATED.value})
        context.app.access_token = token
        try:
            await context.app.principal()
        except AppError as error:
            raise ConnectionRejectionError({"code": error.code.value}) from error
        return {"authenticated": True}


def _storable(value: object) -> bool:
    """False for text with unpaired surrogates (JSON allows them, UTF-8 and databases don't)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def _connection_token(params: dict[str, Any]) -> str | None:
    for name in ("Authorization", "authorization"):
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            return bearer_token(value)
    token = params.get("authToken")
    return token.strip() if isinstance(token, str) and token.strip() else None


class FreshWebSocketAuth(SchemaExtension):
    """The WebSocket context is built once per connection, which may outlive its access
    token: forget the checked caller before every operation so it is checked again."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, GraphQLContext) and context.connection_params is not None:
            context.app.forget_caller()
        yield


def graphql_router(schema: strawberry.Schema, *, graphiql: bool) -> GraphQLRouter[Any, None]:
    return ClipforgeGraphQLRouter(
        schema,
        context_getter=get_context,
        graphql_ide="graphiql" if graphiql else None,
        multipart_uploads_enabled=True,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
