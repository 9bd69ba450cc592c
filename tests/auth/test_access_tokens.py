"""Access tokens: expiry (403 TOKEN_EXPIRED), and every forged or wrong token (401)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import jwt
import pytest

from tests.auth.conftest import ME, error_code, gql, me_status, rest_login
from tests.conftest import bearer

ACCESS_SECRET = "test-access-secret-" + "a" * 32
REFRESH_SECRET = "test-refresh-secret-" + "b" * 32


def claims(login: dict[str, Any], **extra: Any) -> dict[str, Any]:
    payload = jwt.decode(login["accessToken"], options={"verify_signature": False})
    return {**payload, **extra}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def generations_status(client, token: str):
    # A REST route that needs a token: an unknown generation id with a valid token is 404.
    return await client.get(
        "/api/generations/00000000-0000-0000-0000-000000000000", headers=bearer(token)
    )


class TestExpiry:
    @pytest.fixture
    def settings_overrides(self):
        return {"access_token_ttl_seconds": 3}  # long enough to be used once on a busy machine

    async def test_expired_access_token_is_403_token_expired_on_both_transports(self, client, user):
        login = await rest_login(client)
        assert login["expiresIn"] == 3
        assert await me_status(client, login["accessToken"]) == (200, None)
        await asyncio.sleep(3.1)
        response = await generations_status(client, login["accessToken"])
        assert response.status_code == 403
        assert response.json()["code"] == "TOKEN_EXPIRED"
        graphql = await gql(client, ME, token=login["accessToken"])
        assert error_code(graphql) == "TOKEN_EXPIRED"
        # the refresh token still works and gives a fresh access token
        refreshed = await client.post("/auth/refresh", json={"refreshToken": login["refreshToken"]})
        assert refreshed.status_code == 200
        assert await me_status(client, refreshed.json()["accessToken"]) == (200, None)


async def test_crafted_expired_token_is_token_expired(client, user):
    login = await rest_login(client)
    now = int(time.time())
    token = jwt.encode(
        claims(login, iat=now - 1000, exp=now - 100),
        ACCESS_SECRET,
        algorithm="HS256",
        headers={"typ": "at+jwt"},
    )
    response = await generations_status(client, token)
    assert (response.status_code, response.json()["code"]) == (403, "TOKEN_EXPIRED")


async def forged_tokens(login: dict[str, Any]) -> dict[str, str]:
    good = login["accessToken"]
    header, payload, signature = good.split(".")
    tampered_payload = b64(claims(login, role="admin"))
    return {
        "tampered payload": f"{header}.{tampered_payload}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "signed with the refresh secret": jwt.encode(
            claims(login), REFRESH_SECRET, algorithm="HS256", headers={"typ": "at+jwt"}
        ),
        "alg none": f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}.",
        "alg none with a signature": (
            f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{payload}.{signature}"
        ),
        "HS512": jwt.encode(
            claims(login), ACCESS_SECRET, algorithm="HS512", headers={"typ": "at+jwt"}
        ),
        "refresh token as access token": login["refreshToken"],
        "wrong typ": jwt.encode(
            claims(login), ACCESS_SECRET, algorithm="HS256", headers={"typ": "rt+jwt"}
        ),
        "no typ": jwt.encode(claims(login), ACCESS_SECRET, algorithm="HS256"),
        "wrong audience": jwt.encode(
            claims(login, aud="someone-else"),
            ACCESS_SECRET,
            algorithm="HS256",
            headers={"typ": "at+jwt"},
        ),
        "missing sid": jwt.encode(
            {k: v for k, v in claims(login).items() if k != "sid"},
            ACCESS_SECRET,
            algorithm="HS256",
            headers={"typ": "at+jwt"},
        ),
        "garbage": "not-a-jwt",
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_forged_and_wrong_tokens_are_401_on_both_transports(client, user):
    login = await rest_login(client)
    for name, token in (await forged_tokens(login)).items():
        response = await generations_status(client, token)
        assert response.status_code == 401, name
        assert response.json()["code"] == "UNAUTHENTICATED", name
        assert error_code(await gql(client, ME, token=token)) == "UNAUTHENTICATED", name
    # the genuine token still works: the failures above were the tokens' fault
    assert await me_status(client, login["accessToken"]) == (200, None)


async def test_access_token_is_not_a_refresh_token(client, user):
    login = await rest_login(client)
    response = await client.post("/auth/refresh", json={"refreshToken": login["accessToken"]})
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")


async def test_missing_token_is_401_and_no_token_is_anonymous_in_graphql(client, user):
    response = await client.get("/api/generations/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 401
    anonymous = await gql(client, ME)
    assert anonymous.json() == {"data": {"me": None}}
