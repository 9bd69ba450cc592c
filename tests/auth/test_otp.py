"""One-time codes: the outbox, login with a code, attempts, resend rules, no enumeration."""

from __future__ import annotations

import asyncio

import pytest

from models import OtpCode, User
from tests.auth.conftest import (
    code_in,
    error_code,
    gql,
    me_status,
    outbox_files,
    read_mail,
    rest_refresh,
    wait_for_mail,
)

EMAIL = "user@example.com"
SEND_OTP = "mutation($email: String!) { sendOtp(email: $email) { message } }"
LOGIN_OTP = """mutation($email: String!, $otp: String!) {
  loginOtp(email: $email, otp: $otp) { accessToken refreshToken tokenType expiresIn user { email } }
}"""
LOGOUT = "mutation($token: String!) { logout(refreshToken: $token) { message } }"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def send(client, email: str = EMAIL):
    return await client.post("/auth/send-otp", json={"email": email})


async def login_otp(client, code: str, email: str = EMAIL):
    return await client.post("/auth/login-otp", json={"email": email, "otp": code})


async def test_rest_code_login_end_to_end(client, settings, user):
    response = await send(client)
    assert response.status_code == 200
    assert set(response.json()) == {"message"}
    [mail] = await wait_for_mail(settings, 1)
    message = read_mail(mail)
    assert message["To"] == EMAIL and "code" in message["Subject"].lower()
    code = code_in(mail)
    login = await login_otp(client, code)
    assert login.status_code == 200, login.text
    body = login.json()
    assert body["user"]["email"] == EMAIL and body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 900 and body["message"]
    assert await me_status(client, body["accessToken"]) == (200, None)
    # single use, and the resend interval still holds after a successful login
    again = await login_otp(client, code)
    assert (again.status_code, again.json()["code"]) == (401, "UNAUTHENTICATED")
    assert (await send(client)).status_code == 429
    # refresh rotates, logout ends the session
    refreshed = (await rest_refresh(client, body["refreshToken"])).json()
    logout = await client.post("/auth/logout", json={"refreshToken": refreshed["refreshToken"]})
    assert logout.status_code == 200 and set(logout.json()) == {"message"}
    assert await me_status(client, refreshed["accessToken"]) == (200, "UNAUTHENTICATED")


async def test_form_bodies_work_for_codes(client, settings, user):
    assert (await client.post("/auth/send-otp", data={"email": EMAIL})).status_code == 200
    [mail] = await wait_for_mail(settings, 1)
    response = await client.post("/auth/login-otp", data={"email": EMAIL, "otp": code_in(mail)})
    assert response.status_code == 200, response.text


async def test_graphql_code_login_end_to_end(client, settings, user):
    sent = await gql(client, SEND_OTP, {"email": EMAIL.upper()})
    assert sent.json()["data"]["sendOtp"]["message"]
    [mail] = await wait_for_mail(settings, 1)
    response = await gql(client, LOGIN_OTP, {"email": EMAIL, "otp": code_in(mail)})
    payload = response.json()["data"]["loginOtp"]
    assert payload["user"]["email"] == EMAIL
    logout = await gql(client, LOGOUT, {"token": payload["refreshToken"]})
    assert logout.json()["data"]["logout"]["message"]
    assert await me_status(client, payload["accessToken"]) == (200, "UNAUTHENTICATED")


async def test_five_wrong_codes_burn_the_code_and_a_new_send_inside_60s_is_limited(
    client, settings, user
):
    await send(client)
    [mail] = await wait_for_mail(settings, 1)
    code = code_in(mail)
    for _ in range(5):
        response = await login_otp(client, wrong(code))
        assert (response.status_code, response.json()["code"]) == (401, "UNAUTHENTICATED")
    burned = await login_otp(client, code)
    assert burned.status_code == 401
    assert (await OtpCode.get(email=EMAIL)).attempts == 5
    resend = await send(client)
    assert resend.status_code == 429
    assert resend.json()["code"] == "RATE_LIMITED"
    assert 1 <= int(resend.headers["Retry-After"]) <= 60
    assert resend.json()["details"]["retry_after"] == int(resend.headers["Retry-After"])
    graphql = await gql(client, SEND_OTP, {"email": EMAIL})
    assert graphql.status_code == 429 and error_code(graphql) == "RATE_LIMITED"
    assert int(graphql.headers["Retry-After"]) >= 1
    assert len(outbox_files(settings)) == 1


class TestConcurrentGuesses:
    @pytest.fixture
    def settings_overrides(self):
        return {"login_otp_rate_limit": "1000/minute"}

    async def test_concurrent_wrong_guesses_count_exactly_five_then_the_code_is_burned(
        self, client, settings, user
    ):
        await send(client)
        [mail] = await wait_for_mail(settings, 1)
        code = code_in(mail)
        guesses = [f"{n:06d}" for n in range(21) if f"{n:06d}" != code][:20]
        responses = await asyncio.gather(*(login_otp(client, guess) for guess in guesses))
        assert [r.status_code for r in responses] == [401] * 20
        assert (await OtpCode.get(email=EMAIL)).attempts == 5
        assert (await login_otp(client, code)).status_code == 401


class TestResend:
    @pytest.fixture
    def settings_overrides(self):
        return {"otp_resend_seconds": 0}

    async def test_a_resend_replaces_the_old_code(self, client, settings, user):
        await send(client)
        [first] = await wait_for_mail(settings, 1)
        await send(client)
        files = await wait_for_mail(settings, 2)
        assert len(files) == 2
        second = next(path for path in files if path != first)
        old, new = code_in(first), code_in(second)
        if old != new:
            assert (await login_otp(client, old)).status_code == 401
        assert (await login_otp(client, new)).status_code == 200

    async def test_the_sixth_send_within_the_hour_is_limited(self, client, settings, user):
        for _ in range(5):
            assert (await send(client)).status_code == 200
        sixth = await send(client)
        assert sixth.status_code == 429 and sixth.json()["code"] == "RATE_LIMITED"
        assert int(sixth.headers["Retry-After"]) > 60


async def test_known_and_unknown_emails_get_the_same_answer(client, settings, user):
    known = await send(client, EMAIL)
    unknown = await send(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert known.json() == unknown.json()
    assert (await send(client, EMAIL)).json() == (await send(client, "nobody@example.com")).json()
    graphql_known = await gql(client, SEND_OTP, {"email": "second@example.com"})
    graphql_unknown = await gql(client, SEND_OTP, {"email": "third@example.com"})
    assert graphql_known.json() == graphql_unknown.json()
    await asyncio.sleep(0.3)
    # the same rows were written, but only the account received an email
    assert await OtpCode.filter(email="nobody@example.com").exists()
    files = await wait_for_mail(settings, 1)
    assert [read_mail(path)["To"] for path in files] == [EMAIL]
    assert (await login_otp(client, "123456", "nobody@example.com")).status_code == 401


async def test_disabled_user_gets_no_code_and_cannot_log_in(client, settings, user):
    await User.filter(email=EMAIL).update(is_active=False)
    assert (await send(client)).status_code == 200
    await asyncio.sleep(0.3)
    assert outbox_files(settings) == []


async def test_malformed_email_is_a_validation_error(client):
    response = await send(client, "not-an-email")
    assert (response.status_code, response.json()["code"]) == (422, "VALIDATION_FAILED")


class TestOtpSignup:
    @pytest.fixture
    def settings_overrides(self):
        return {"otp_signup": True}

    async def test_first_code_login_creates_the_account(self, client, settings):
        assert (await send(client, "new@example.com")).status_code == 200
        [mail] = await wait_for_mail(settings, 1)
        response = await login_otp(client, code_in(mail), "new@example.com")
        assert response.status_code == 200, response.text
        user = await User.get(email="new@example.com")
        assert user.password_hash is None and user.role.value == "user"
        # code-only account: a password login fails with the generic message
        login = await client.post(
            "/auth/login", json={"email": "new@example.com", "password": "whatever-123"}
        )
        assert login.status_code == 401


async def test_without_otp_signup_unknown_emails_get_no_account(client, settings):
    assert (await send(client, "new@example.com")).status_code == 200
    await asyncio.sleep(0.3)
    assert outbox_files(settings) == []
    assert not await User.filter(email="new@example.com").exists()
