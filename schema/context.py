"""The GraphQL context: the plain resolver context plus the HTTP/WebSocket request."""

from __future__ import annotations

from dataclasses import dataclass

from strawberry.fastapi import BaseContext
from strawberry.types import Info

from resolvers.context import RequestContext


@dataclass
class GraphQLContext(BaseContext):
    app: RequestContext

    def __post_init__(self) -> None:
        super().__init__()


def app_context(info: Info[GraphQLContext, None]) -> RequestContext:
    return info.context.app
