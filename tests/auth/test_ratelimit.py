"""Rate limits: 429 RATE_LIMITED with Retry-After on both transports; Redis shares them."""

from __future__ import annotations

import uuid

import httpx
import pytest
import redis.asyncio as aioredis

from main import create_app
from resolvers.auth import create_user
from tests.auth.conftest import LOGIN, error_code, gql
from tests.conftest import PASSWORD, TEST_DATABASE_URL, _empty_tables

LOGIN_OTP = "mutation($e: String!, $o: String!) { loginOtp(email: $e, otp: $o) { accessToken } }"
REDIS_URL = "redis://127.0.0.1:6379/15"


def assert_limited(response: httpx.Response) -> int:
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    return retry_after


class TestLoginLimits:
    @pytest.fixture
    def settings_overrides(self):
        return {"login_rate_limit": "3/minute", "login_ip_rate_limit": "5/minute"}

    async def test_per_email_on_rest_and_graphql(self, client, user):
        for _ in range(2):
            response = await client.post(
                "/auth/login", json={"email": "user@example.com", "password": "wrong-one"}
            )
            assert response.status_code == 401
        graphql = await gql(client, LOGIN, {"email": "user@example.com", "password": "wrong-one"})
        assert error_code(graphql) == "UNAUTHENTICATED"
        # the fourth attempt on this email is limited, even with the right password
        limited = await client.post(
            "/auth/login", json={"email": "USER@example.com", "password": PASSWORD}
        )
        retry_after = assert_limited(limited)
        assert limited.json() == {
            "error": "too many requests, try again later",
            "code": "RATE_LIMITED",
            "details": {"retry_after": retry_after},
        }
        assert 1 <= retry_after <= 60
        graphql = await gql(client, LOGIN, {"email": "user@example.com", "password": PASSWORD})
        assert_limited(graphql)
        assert error_code(graphql) == "RATE_LIMITED"
        assert graphql.json()["errors"][0]["extensions"]["details"]["retry_after"] >= 1
        assert graphql.json()["data"] is None

    async def test_per_ip_across_emails(self, client, user):
        for n in range(5):
            response = await client.post(
                "/auth/login", json={"email": f"n{n}@example.com", "password": "wrong-one"}
            )
            assert response.status_code == 401
        assert_limited(
            await client.post(
                "/auth/login", json={"email": "user@example.com", "password": PASSWORD}
            )
        )


class TestCodeLoginLimits:
    @pytest.fixture
    def settings_overrides(self):
        return {"login_otp_rate_limit": "2/minute", "login_otp_ip_rate_limit": "4/minute"}

    async def test_login_otp_per_email_and_per_ip(self, client, user):
        for _ in range(2):
            response = await client.post(
                "/auth/login-otp", json={"email": "user@example.com", "otp": "000000"}
            )
            assert response.status_code == 401
        assert_limited(
            await client.post(
                "/auth/login-otp", json={"email": "user@example.com", "otp": "000000"}
            )
        )
        # the IP has spent 3 of its 4 hits (a request limited by its email still counts)
        ok = await gql(client, LOGIN_OTP, {"e": "other@example.com", "o": "000000"})
        assert error_code(ok) == "UNAUTHENTICATED"
        limited = await gql(client, LOGIN_OTP, {"e": "third@example.com", "o": "000000"})
        assert error_code(limited) == "RATE_LIMITED"
        assert_limited(limited)


class TestSendOtpIpLimit:
    @pytest.fixture
    def settings_overrides(self):
        return {"send_otp_ip_rate_limit": "2/hour"}

    async def test_send_otp_per_ip(self, client):
        for n in range(2):
            response = await client.post("/auth/send-otp", json={"email": f"s{n}@example.com"})
            assert response.status_code == 200
        retry_after = assert_limited(
            await client.post("/auth/send-otp", json={"email": "s9@example.com"})
        )
        assert retry_after > 60


async def test_redis_limits_are_shared_between_server_processes(make_settings) -> None:
    """Two app instances (as two processes would be) share one Redis: the counts add up."""
    prefix = f"clipforge-test-{uuid.uuid4().hex[:12]}"
    settings = make_settings(
        redis_url=REDIS_URL, rate_limit_prefix=prefix, login_rate_limit="3/minute"
    )
    redis = aioredis.from_url(REDIS_URL)
    statuses: list[int] = []
    try:
        for instance in range(2):
            app = create_app(settings)
            async with app.router.lifespan_context(app):
                assert app.state.services.ratelimit.backend == "redis"
                if instance == 0:
                    if TEST_DATABASE_URL:
                        await _empty_tables()
                    await create_user(app.state.services, "user@example.com", PASSWORD)
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    for _ in range(2):
                        response = await client.post(
                            "/auth/login",
                            json={"email": "user@example.com", "password": PASSWORD},
                        )
                        statuses.append(response.status_code)
                        if response.status_code == 429:
                            assert int(response.headers["Retry-After"]) >= 1
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        assert keys, "no limiter keys in Redis"
        assert not any(b"user@example.com" in key for key in keys)  # emails are hashed
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    assert statuses == [200, 200, 200, 429]
