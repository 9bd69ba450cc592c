"""Every way a session ends makes its access AND refresh tokens fail on the next request."""

from __future__ import annotations

from typing import Any

from tests.auth.conftest import LOGIN, error_code, gql, me_status, rest_login, rest_refresh
from tests.conftest import PASSWORD

LOGOUT = "mutation($t: String!) { logout(refreshToken: $t) { message revokedSessions } }"
LOGOUT_ALL = "mutation { logoutAll { message revokedSessions } }"
SESSIONS = "{ sessions { id createdAt lastUsedAt expiresAt userAgent ip current } }"
REVOKE = "mutation($id: ID!) { revokeSession(id: $id) { message revokedSessions } }"
CHANGE = """mutation($c: String!, $n: String!) {
  changePassword(currentPassword: $c, newPassword: $n) { message revokedSessions }
}"""
DISABLE = "mutation($id: ID!) { disableUser(userId: $id) { id isActive } }"
NEW_PASSWORD = "a brand new passphrase"


async def assert_dead(client, login: dict[str, Any]) -> None:
    assert await me_status(client, login["accessToken"]) == (200, "UNAUTHENTICATED")
    response = await rest_refresh(client, login["refreshToken"])
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")


async def assert_alive(client, login: dict[str, Any]) -> dict[str, Any]:
    assert await me_status(client, login["accessToken"]) == (200, None)
    response = await rest_refresh(client, login["refreshToken"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_rest_logout(client, user):
    login = await rest_login(client)
    other = await rest_login(client)
    response = await client.post("/auth/logout", json={"refreshToken": login["refreshToken"]})
    assert response.status_code == 200 and response.json() == {"message": "Logged out"}
    await assert_dead(client, login)
    await assert_alive(client, other)


async def test_graphql_logout(client, user):
    login = await rest_login(client)
    response = await gql(client, LOGOUT, {"t": login["refreshToken"]})
    assert response.json()["data"]["logout"]["revokedSessions"] == 1
    await assert_dead(client, login)


async def test_logout_with_a_bad_token_is_401(client, user):
    response = await client.post("/auth/logout", json={"refreshToken": "x.y.z"})
    assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")
    missing = await client.post("/auth/logout", json={})
    assert (missing.status_code, missing.json()["code"]) == (422, "VALIDATION_FAILED")


async def test_logout_all(client, user, make_user):
    phone = await rest_login(client)
    laptop = await rest_login(client)
    await make_user("other@example.com")
    stranger = await rest_login(client, "other@example.com")
    response = await gql(client, LOGOUT_ALL, token=laptop["accessToken"])
    assert response.json()["data"]["logoutAll"]["revokedSessions"] == 2
    await assert_dead(client, phone)
    await assert_dead(client, laptop)
    await assert_alive(client, stranger)
    assert error_code(await gql(client, LOGOUT_ALL)) == "UNAUTHENTICATED"


async def test_sessions_and_revoke_session(client, user, make_user):
    phone = await rest_login(client)
    laptop = (
        await client.post(
            "/auth/login",
            json={"email": "user@example.com", "password": PASSWORD},
            headers={"User-Agent": "Laptop/1.0"},
        )
    ).json()
    listed = (await gql(client, SESSIONS, token=laptop["accessToken"])).json()["data"]["sessions"]
    assert len(listed) == 2
    current = [s for s in listed if s["current"]]
    assert len(current) == 1 and current[0]["userAgent"] == "Laptop/1.0"
    assert all(s["ip"] == "127.0.0.1" and s["lastUsedAt"] for s in listed)
    phone_id = next(s["id"] for s in listed if not s["current"])
    # someone else cannot revoke it
    await make_user("other@example.com")
    stranger = await rest_login(client, "other@example.com")
    foreign = await gql(client, REVOKE, {"id": phone_id}, token=stranger["accessToken"])
    assert error_code(foreign) == "NOT_FOUND"
    await assert_alive(client, phone)
    response = await gql(client, REVOKE, {"id": phone_id}, token=laptop["accessToken"])
    assert response.json()["data"]["revokeSession"]["revokedSessions"] == 1
    # the phone's (rotated) family is dead, the laptop lives
    listed = (await gql(client, SESSIONS, token=laptop["accessToken"])).json()["data"]["sessions"]
    assert [s["current"] for s in listed] == [True]
    assert await me_status(client, laptop["accessToken"]) == (200, None)
    assert (
        error_code(await gql(client, REVOKE, {"id": "not-a-uuid"}, token=laptop["accessToken"]))
        == "NOT_FOUND"
    )


async def test_revoke_session_kills_its_tokens_at_once(client, user):
    phone = await rest_login(client)
    laptop = await rest_login(client)
    listed = (await gql(client, SESSIONS, token=laptop["accessToken"])).json()["data"]["sessions"]
    phone_id = next(s["id"] for s in listed if not s["current"])
    await gql(client, REVOKE, {"id": phone_id}, token=laptop["accessToken"])
    await assert_dead(client, phone)
    await assert_alive(client, laptop)


async def test_password_change_revokes_the_other_sessions_and_keeps_this_one(client, user):
    phone = await rest_login(client)
    laptop = await rest_login(client)
    response = await gql(
        client, CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}, token=laptop["accessToken"]
    )
    assert response.json()["data"]["changePassword"]["revokedSessions"] == 1
    await assert_dead(client, phone)
    await assert_alive(client, laptop)
    old = await client.post("/auth/login", json={"email": "user@example.com", "password": PASSWORD})
    assert old.status_code == 401
    await rest_login(client, password=NEW_PASSWORD)


async def test_password_change_needs_the_current_password_and_a_long_new_one(client, user):
    login = await rest_login(client)
    wrong = await gql(
        client, CHANGE, {"c": "not it at all", "n": NEW_PASSWORD}, token=login["accessToken"]
    )
    assert error_code(wrong) == "UNAUTHENTICATED"
    short = await gql(client, CHANGE, {"c": PASSWORD, "n": "short"}, token=login["accessToken"])
    assert error_code(short) == "VALIDATION_FAILED"
    assert short.json()["errors"][0]["extensions"]["details"]["min_length"] == 8
    assert (
        error_code(await gql(client, CHANGE, {"c": PASSWORD, "n": NEW_PASSWORD}))
        == "UNAUTHENTICATED"
    )
    await assert_alive(client, login)


async def test_disable_user_kills_every_token_at_once(client, user, make_user):
    await make_user("admin@example.com", role="admin")
    admin = await rest_login(client, "admin@example.com")
    phone = await rest_login(client)
    laptop = await rest_login(client)
    response = await gql(client, DISABLE, {"id": user.id}, token=admin["accessToken"])
    assert response.json()["data"]["disableUser"] == {"id": user.id, "isActive": False}
    await assert_dead(client, phone)
    await assert_dead(client, laptop)
    login = await client.post(
        "/auth/login", json={"email": "user@example.com", "password": PASSWORD}
    )
    assert (login.status_code, login.json()["error"]) == (401, "wrong email or password")
    graphql_login = await gql(client, LOGIN, {"email": "user@example.com", "password": PASSWORD})
    assert error_code(graphql_login) == "UNAUTHENTICATED"
    await assert_alive(client, admin)
