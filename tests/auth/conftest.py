"""Helpers for the account tests: GraphQL calls, the file outbox, token-family rows."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from models import AuthSession, RefreshToken
from services.tokens import token_hash
from settings import Settings
from tests.conftest import PASSWORD, bearer

CODE = re.compile(r"\b(\d{6})\b")

LOGIN = """mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    accessToken refreshToken tokenType expiresIn user { id email role }
  }
}"""
REFRESH = """mutation($token: String!) {
  refresh(refreshToken: $token) { accessToken refreshToken tokenType expiresIn user { email } }
}"""
ME = "{ me { id email role isActive } }"


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
) -> httpx.Response:
    headers = bearer(token) if token else {}
    return await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


def error_code(response: httpx.Response) -> str | None:
    errors = response.json().get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def rest_login(
    client: httpx.AsyncClient, email: str = "user@example.com", password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def me_status(client: httpx.AsyncClient, access: str) -> tuple[int, str | None]:
    """(HTTP status, error code) of `me` with this access token, over GraphQL."""
    response = await gql(client, ME, token=access)
    return response.status_code, error_code(response)


async def rest_refresh(client: httpx.AsyncClient, refresh: str) -> httpx.Response:
    return await client.post("/auth/refresh", json={"refreshToken": refresh})


def outbox_files(settings: Settings) -> list[Path]:
    folder = settings.effective_outbox_dir
    return sorted(folder.glob("*.eml")) if folder.exists() else []


async def wait_for_mail(settings: Settings, count: int, timeout: float = 5.0) -> list[Path]:
    """The outbox once it holds `count` messages (emails are sent in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        files = outbox_files(settings)
        if len(files) >= count or loop.time() > deadline:
            return files
        await asyncio.sleep(0.02)


def read_mail(path: Path) -> email.message.EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def code_in(path: Path) -> str:
    body = read_mail(path).get_body(preferencelist=("plain",))
    assert body is not None
    match = CODE.search(body.get_content())
    assert match, "no code in the email"
    return match.group(1)


async def live_tokens(session_id: str) -> list[RefreshToken]:
    return await RefreshToken.filter(session_id=session_id, used_at__isnull=True).all()


async def session_of(refresh: str) -> AuthSession:
    row = await RefreshToken.get(token_hash=token_hash(refresh)).prefetch_related("session")
    return row.session


@pytest.fixture
async def user(make_user):
    return await make_user()
