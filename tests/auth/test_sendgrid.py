"""The real `sendgrid` client against a fake SendGrid API on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest

from services.email import EmailMessage, SendGridBackend
from services.errors import AppError
from tests.auth import fake_sendgrid
from tests.auth.conftest import outbox_files

API_KEY = "SG.test-key"
FROM = "codes@clipforge.test"


@pytest.fixture
def sendgrid():
    fake, server = fake_sendgrid.start(API_KEY)
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings_overrides(sendgrid):
    return {
        "email_backend": "sendgrid",
        "sendgrid_api_key": API_KEY,
        "sendgrid_from_email": FROM,
        "sendgrid_host": sendgrid.url,
    }


async def wait_for(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_send_otp_calls_sendgrid_with_to_from_subject_and_code(
    client, settings, sendgrid, make_user
):
    await make_user()
    response = await client.post("/auth/send-otp", json={"email": "user@example.com"})
    assert response.status_code == 200
    await wait_for(lambda: len(sendgrid.mails()) == 1)
    request = sendgrid.requests[0]
    assert request["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert request["headers"]["user-agent"].startswith("sendgrid/")
    body = request["body"]
    assert body["from"]["email"] == FROM
    assert body["personalizations"][0]["to"] == [{"email": "user@example.com"}]
    assert "code" in body["subject"].lower()
    text = body["content"][0]["value"]
    code = re.search(r"\b(\d{6})\b", text).group(1)
    assert outbox_files(settings) == []  # no file outbox with SendGrid configured
    login = await client.post("/auth/login-otp", json={"email": "user@example.com", "otp": code})
    assert login.status_code == 200, login.text


async def test_a_sendgrid_failure_is_logged_with_its_status_and_not_shown(
    client, sendgrid, make_user, caplog
):
    await make_user()
    sendgrid.status = 500
    caplog.set_level(logging.ERROR, logger="services.email")
    response = await client.post("/auth/send-otp", json={"email": "user@example.com"})
    assert response.status_code == 200
    assert "Traceback" not in response.text
    await wait_for(lambda: any("HTTP 500" in r.getMessage() for r in caplog.records))
    assert all(r.exc_info is None for r in caplog.records)


async def test_a_direct_send_failure_is_a_provider_error(settings, sendgrid):
    backend = SendGridBackend(settings)
    sendgrid.status = 400
    message = EmailMessage(to="x@example.com", subject="s", text="t")
    with pytest.raises(AppError) as raised:
        await backend.send(message)
    assert raised.value.code.value == "PROVIDER_ERROR"
    assert raised.value.details == {"status": 400}
    assert raised.value.http_status == 502
    sendgrid.status = 202
    await backend.send(message)
    assert sendgrid.mails()[-1]["personalizations"][0]["to"] == [{"email": "x@example.com"}]


async def test_an_unreachable_sendgrid_is_a_provider_error(make_settings):
    settings = make_settings(
        email_backend="sendgrid", sendgrid_api_key=API_KEY, sendgrid_host="http://127.0.0.1:9"
    )
    with pytest.raises(AppError) as raised:
        await SendGridBackend(settings).send(
            EmailMessage(to="x@example.com", subject="s", text="t")
        )
    assert raised.value.code.value == "PROVIDER_ERROR"
