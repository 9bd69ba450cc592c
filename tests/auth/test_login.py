"""Password login and sign-up on both transports."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from models import User
from tests.auth.conftest import LOGIN, ME, error_code, gql, me_status
from tests.conftest import PASSWORD

SIGNUP = """mutation($email: String!, $password: String!) {
  signup(email: $email, password: $password) { accessToken refreshToken user { email role } }
}"""


async def test_rest_login_answers_the_documented_body(client, user):
    response = await client.post(
        "/auth/login", json={"email": " User@Example.com ", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "user", "accessToken", "refreshToken", "tokenType", "expiresIn"}
    assert body["user"] == {"id": user.id, "email": "user@example.com", "role": "user"}
    assert body["tokenType"] == "Bearer" and body["expiresIn"] == 900
    assert await me_status(client, body["accessToken"]) == (200, None)


async def test_rest_login_accepts_a_form_body(client, user):
    response = await client.post(
        "/auth/login", data={"email": "user@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text


async def test_graphql_login_and_me(client, user):
    response = await gql(client, LOGIN, {"email": "user@example.com", "password": PASSWORD})
    payload = response.json()["data"]["login"]
    assert payload["tokenType"] == "Bearer" and payload["expiresIn"] == 900
    me = await gql(client, ME, token=payload["accessToken"])
    assert me.json()["data"]["me"] == {
        "id": user.id,
        "email": "user@example.com",
        "role": "USER",
        "isActive": True,
    }


async def test_every_login_failure_is_the_same_401(client, user, make_user):
    await make_user("codeonly@example.com", password=None)
    await make_user("disabled@example.com")
    await User.filter(email="disabled@example.com").update(is_active=False)
    attempts = [
        ("user@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
        ("codeonly@example.com", PASSWORD),
        ("disabled@example.com", PASSWORD),
        ("user@example.com", ""),
    ]
    bodies = []
    for email, password in attempts:
        response = await client.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 401
        bodies.append(response.json())
        graphql = await gql(client, LOGIN, {"email": email, "password": password})
        assert error_code(graphql) == "UNAUTHENTICATED"
        assert graphql.json()["errors"][0]["message"] == "wrong email or password"
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0] == {
        "error": "wrong email or password",
        "code": "UNAUTHENTICATED",
        "details": {},
    }


async def test_a_hash_with_old_parameters_is_upgraded_on_login(client, make_user):
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    await User.create(email="old@example.com", password_hash=weak.hash(PASSWORD))
    response = await client.post(
        "/auth/login", json={"email": "old@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    upgraded = (await User.get(email="old@example.com")).password_hash
    assert upgraded.startswith("$argon2id$") and not PasswordHasher().check_needs_rehash(upgraded)
    again = await client.post(
        "/auth/login", json={"email": "old@example.com", "password": PASSWORD}
    )
    assert again.status_code == 200


async def test_signup_is_forbidden_when_disabled(client):
    response = await client.post(
        "/auth/signup", json={"email": "new@example.com", "password": PASSWORD}
    )
    assert (response.status_code, response.json()["code"]) == (403, "FORBIDDEN")
    graphql = await gql(client, SIGNUP, {"email": "new@example.com", "password": PASSWORD})
    assert error_code(graphql) == "FORBIDDEN"
    assert not await User.filter(email="new@example.com").exists()


class TestSignupEnabled:
    @pytest.fixture
    def settings_overrides(self):
        return {"signup_enabled": True}

    async def test_rest_signup(self, client):
        response = await client.post(
            "/auth/signup", json={"email": "New@Example.com", "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user"]["email"] == "new@example.com" and body["user"]["role"] == "user"
        assert await me_status(client, body["accessToken"]) == (200, None)
        duplicate = await client.post(
            "/auth/signup", json={"email": "new@example.com", "password": PASSWORD}
        )
        assert (duplicate.status_code, duplicate.json()["code"]) == (422, "VALIDATION_FAILED")

    async def test_graphql_signup_and_the_password_minimum(self, client):
        short = await gql(client, SIGNUP, {"email": "a@example.com", "password": "1234567"})
        assert error_code(short) == "VALIDATION_FAILED"
        ok = await gql(client, SIGNUP, {"email": "a@example.com", "password": "12345678"})
        assert ok.json()["data"]["signup"]["user"] == {"email": "a@example.com", "role": "USER"}
        rest_short = await client.post(
            "/auth/signup", json={"email": "b@example.com", "password": "short"}
        )
        assert rest_short.status_code == 422
