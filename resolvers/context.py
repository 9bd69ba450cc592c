"""The plain request context every resolver takes, whichever transport built it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from models import Role, User
from services.container import Services
from services.errors import AppError, ErrorCode
from services.sessions import Principal


@dataclass
class RequestContext:
    services: Services
    client_ip: str = ""
    user_agent: str = ""
    base_url: str = ""
    access_token: str | None = None
    acting_user: User | None = None  # the command line's own account; never set over HTTP
    _principal: Principal | None = field(default=None, repr=False)

    async def principal(self) -> Principal | None:
        """The caller, or None without a token; a bad token is an error, never anonymous."""
        if self._principal is None and self.access_token is not None:
            self._principal = await self.services.sessions.authenticate(self.access_token)
        return self._principal

    def forget_caller(self) -> None:
        """Check the token again on the next call (a WebSocket outlives its token)."""
        self._principal = None

    async def user(self) -> User | None:
        principal = await self.principal()
        return principal.user if principal else self.acting_user

    async def require_user(self) -> User:
        user = await self.user()
        if user is None:
            raise AppError(ErrorCode.UNAUTHENTICATED, "authentication required")
        return user

    async def require_admin(self) -> User:
        user = await self.require_user()
        if user.role is not Role.ADMIN:
            raise AppError(ErrorCode.FORBIDDEN, "this needs the admin role")
        return user

    def absolute_url(self, url: str) -> str:
        if url.startswith(("http://", "https://")):
            return url
        base = self.services.settings.public_base_url.rstrip("/") or self.base_url.rstrip("/")
        return f"{base}{url}"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header. Another scheme, or none,
    gives an empty token that fails as invalid instead of passing as anonymous."""
    if authorization is None or not authorization.strip():
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def context_from_http(
    services: Services,
    headers: Mapping[str, str],
    *,
    client_host: str | None,
    base_url: str,
) -> RequestContext:
    return RequestContext(
        services=services,
        client_ip=client_host or "",
        user_agent=headers.get("user-agent", "")[:512],
        base_url=_http_base(base_url),
        access_token=bearer_token(headers.get("authorization")),
    )


def _http_base(base_url: str) -> str:
    """A WebSocket's base URL is ws(s)://; media links for its clients are http(s)://."""
    for socket_scheme, http_scheme in (("ws://", "http://"), ("wss://", "https://")):
        if base_url.startswith(socket_scheme):
            return http_scheme + base_url.removeprefix(socket_scheme)
    return base_url
