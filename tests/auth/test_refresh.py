"""Refresh token rotation, the grace window, reuse detection and concurrent refreshes."""

from __future__ import annotations

import asyncio

import pytest

from models import AuthSession, RefreshToken
from services.tokens import token_hash
from tests.auth.conftest import (
    REFRESH,
    error_code,
    gql,
    live_tokens,
    me_status,
    rest_login,
    rest_refresh,
    session_of,
)


async def test_rest_refresh_rotates_and_answers_the_token_fields(client, user):
    login = await rest_login(client)
    response = await rest_refresh(client, login["refreshToken"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["tokenType"] == "Bearer" and body["expiresIn"] == 900
    assert body["refreshToken"] != login["refreshToken"]
    assert await me_status(client, body["accessToken"]) == (200, None)
    # the old row is marked used, the new one is its child, one live token remains
    old = await RefreshToken.get(token_hash=token_hash(login["refreshToken"]))
    new = await RefreshToken.get(token_hash=token_hash(body["refreshToken"]))
    assert old.used_at is not None and new.parent_jti == old.jti and new.used_at is None
    assert len(await live_tokens(str(new.session_id))) == 1  # type: ignore[attr-defined]


async def test_form_body_is_accepted(client, user):
    login = await rest_login(client)
    response = await client.post("/auth/refresh", data={"refreshToken": login["refreshToken"]})
    assert response.status_code == 200, response.text


async def test_graphql_refresh_rotates(client, user):
    login = await rest_login(client)
    response = await gql(client, REFRESH, {"token": login["refreshToken"]})
    payload = response.json()["data"]["refresh"]
    assert payload["tokenType"] == "Bearer" and payload["user"]["email"] == "user@example.com"
    again = await gql(client, REFRESH, {"token": payload["refreshToken"]})
    assert again.json()["data"]["refresh"]["refreshToken"] != payload["refreshToken"]


async def test_garbage_refresh_token_is_401(client, user):
    response = await rest_refresh(client, "nope")
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")
    assert error_code(await gql(client, REFRESH, {"token": "nope"})) == "UNAUTHENTICATED"


class TestReuseAfterGrace:
    @pytest.fixture
    def settings_overrides(self):
        return {"refresh_reuse_grace_seconds": 1}

    async def test_replaying_r1_after_the_grace_window_revokes_r3(self, client, user):
        login = await rest_login(client)
        r1 = login["refreshToken"]
        second = (await rest_refresh(client, r1)).json()
        r2 = second["refreshToken"]
        third = (await rest_refresh(client, r2)).json()
        r3, access3 = third["refreshToken"], third["accessToken"]
        assert await me_status(client, access3) == (200, None)
        await asyncio.sleep(1.2)
        replay = await rest_refresh(client, r1)
        assert (replay.status_code, replay.json()["code"]) == (401, "UNAUTHENTICATED")
        # the whole family is dead: R3 and the session's access tokens fail at once
        assert (await rest_refresh(client, r3)).status_code == 401
        assert await me_status(client, access3) == (200, "UNAUTHENTICATED")
        session = await AuthSession.get(id=(await session_of(r3)).id)
        assert session.revoked_reason == "refresh_token_reuse"
        assert await live_tokens(str(session.id)) == []

    async def test_a_graphql_replay_revokes_too(self, client, user):
        login = await rest_login(client)
        r1 = login["refreshToken"]
        r2 = (await gql(client, REFRESH, {"token": r1})).json()["data"]["refresh"]["refreshToken"]
        await asyncio.sleep(1.2)
        assert error_code(await gql(client, REFRESH, {"token": r1})) == "UNAUTHENTICATED"
        assert error_code(await gql(client, REFRESH, {"token": r2})) == "UNAUTHENTICATED"

    async def test_other_sessions_survive_a_reuse_revocation(self, client, user):
        phone = await rest_login(client)
        laptop = await rest_login(client)
        await rest_refresh(client, phone["refreshToken"])
        await asyncio.sleep(1.2)
        assert (await rest_refresh(client, phone["refreshToken"])).status_code == 401
        assert await me_status(client, laptop["accessToken"]) == (200, None)
        assert (await rest_refresh(client, laptop["refreshToken"])).status_code == 200


async def test_inside_the_grace_window_the_immediate_parent_gets_a_replacement(client, user):
    login = await rest_login(client)
    r1 = login["refreshToken"]
    r2 = (await rest_refresh(client, r1)).json()["refreshToken"]
    retry = await rest_refresh(client, r1)  # e.g. the first answer was lost on the way
    assert retry.status_code == 200, retry.text
    r2b = retry.json()["refreshToken"]
    assert r2b != r2
    session = await session_of(r2b)
    live = await live_tokens(str(session.id))
    assert [row.token_hash for row in live] == [token_hash(r2b)]  # r2 was replaced
    assert (await rest_refresh(client, r2b)).status_code == 200


async def test_grandparent_inside_the_grace_window_is_reuse(client, user):
    login = await rest_login(client)
    r1 = login["refreshToken"]
    r2 = (await rest_refresh(client, r1)).json()["refreshToken"]
    r3 = (await rest_refresh(client, r2)).json()["refreshToken"]
    assert (await rest_refresh(client, r1)).status_code == 401  # not the immediate parent
    assert (await rest_refresh(client, r3)).status_code == 401


async def test_ten_concurrent_refreshes_leave_exactly_one_live_token(client, user):
    login = await rest_login(client)
    session = await session_of(login["refreshToken"])
    responses = await asyncio.gather(
        *(rest_refresh(client, login["refreshToken"]) for _ in range(10))
    )
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    issued = [r.json()["refreshToken"] for r in responses]
    assert len(set(issued)) == 10
    live = await live_tokens(str(session.id))
    assert len(live) == 1
    usable = [token for token in issued if token_hash(token) == live[0].token_hash]
    assert len(usable) == 1
    # the one live token works; any other one is reuse and ends the session
    rotated = await rest_refresh(client, usable[0])
    assert rotated.status_code == 200
    stale = next(token for token in issued if token != usable[0])
    assert (await rest_refresh(client, stale)).status_code == 401
    assert (await rest_refresh(client, rotated.json()["refreshToken"])).status_code == 401


async def test_ten_concurrent_graphql_refreshes_leave_exactly_one_live_token(client, user):
    login = await rest_login(client)
    session = await session_of(login["refreshToken"])
    responses = await asyncio.gather(
        *(gql(client, REFRESH, {"token": login["refreshToken"]}) for _ in range(10))
    )
    issued = [r.json()["data"]["refresh"]["refreshToken"] for r in responses]
    live = await live_tokens(str(session.id))
    assert len(live) == 1
    assert sum(token_hash(token) == live[0].token_hash for token in issued) == 1
