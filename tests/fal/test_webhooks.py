"""fal's signed completion webhooks: delivered by the fake to the app under a real uvicorn."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from models import Generation, GenerationStatus
from tests.fakes.fal_server import Script
from tests.fal.conftest import eventually, fal_settings, rest_generate, serve


@pytest.fixture
def settings_overrides(fal, app_port):
    # Polling is slowed to 30 s: a generation that finishes quickly was finished by its
    # webhook. PUBLIC_BASE_URL makes the service register the webhook with fal.
    return fal_settings(
        fal,
        public_base_url=f"http://127.0.0.1:{app_port}",
        fal_poll_interval_seconds=30,
        fal_max_poll_interval_seconds=30,
    )


async def started_generation(app, app_port, user_token, fal) -> tuple[str, str]:
    async with serve(app, app_port) as base, httpx.AsyncClient(base_url=base) as http:
        response = await rest_generate(http, user_token, headers={"Prefer": "respond-async"})
    assert response.status_code == 202, response.text
    await eventually(lambda: len(fal.submits) == 1, 10, "the submit")
    return response.json()["id"], fal.submits[0].request_id


async def row_status(generation_id: str) -> GenerationStatus:
    return (await Generation.get(id=generation_id)).status


async def test_a_valid_webhook_finishes_the_generation(app, app_port, user_token, fal):
    fal.script = Script(logs=["a", "b"], step_seconds=0.05, webhook_deliveries=2)
    async with serve(app, app_port) as base, httpx.AsyncClient(base_url=base) as http:
        response = await rest_generate(http, user_token)  # waits for the video
        assert response.status_code == 200, response.text
        served = await http.get(response.json()["video"]["url"])
        assert served.content == fal.video
        await eventually(lambda: len(fal.webhooks_sent) == 2, 10, "both deliveries")
    job = fal.submits[0]
    assert job.webhook_url == f"{base}/webhooks/fal"
    # The photo is not uploaded to fal: fal reads our copy under PUBLIC_BASE_URL.
    assert job.arguments["image_url"].startswith(f"{base}/media/inputs/")
    assert fal.uploads == {}
    # Delivered twice (fal retries): both acknowledged, processed once.
    assert fal.webhooks_sent == [(job.request_id, 200), (job.request_id, 200)]
    assert fal.result_fetches == {job.request_id: 1}
    assert fal.jwks_fetches == 1  # cached


async def test_duplicate_delivery_is_acknowledged_and_changes_nothing(
    app, app_port, client, user_token, fal
):
    fal.script = Script(logs=["a"], completes=False)
    generation_id, request_id = await started_generation(app, app_port, user_token, fal)
    fal.complete(request_id)  # no server is listening now: deliver by hand below
    body = fal.webhook_body(fal.jobs[request_id])
    first = await client.post("/webhooks/fal", content=body, headers=fal.sign(body, request_id))
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "accepted"
    await eventually(lambda: _succeeded(generation_id), 10, "success")
    again = await client.post("/webhooks/fal", content=body, headers=fal.sign(body, request_id))
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert fal.result_fetches == {request_id: 1}
    assert fal.media_fetches == 1


async def _succeeded(generation_id: str) -> bool:
    return await row_status(generation_id) is GenerationStatus.SUCCEEDED


@pytest.mark.parametrize("forgery", ["tampered_body", "wrong_key", "stale_timestamp", "unsigned"])
async def test_forged_webhooks_are_rejected(app, app_port, client, user_token, fal, forgery):
    fal.script = Script(logs=["a"], completes=False)
    generation_id, request_id = await started_generation(app, app_port, user_token, fal)
    # The job's first status poll comes right after the submit; later ones 30 s apart.
    await eventually(lambda: fal.status_calls.get(request_id, 0) >= 1, 10, "the first poll")
    fal.complete(request_id)
    body = fal.webhook_body(fal.jobs[request_id])
    headers = fal.sign(body, request_id)
    if forgery == "tampered_body":
        data = json.loads(body)
        data["payload"]["video"]["url"] = "http://127.0.0.1:9/evil.mp4"
        body = json.dumps(data).encode()
    elif forgery == "wrong_key":
        headers = fal.sign(body, request_id, key=Ed25519PrivateKey.generate())
    elif forgery == "stale_timestamp":
        headers = fal.sign(body, request_id, timestamp=int(time.time()) - 301)
    else:
        headers = {"Content-Type": "application/json"}
    response = await client.post("/webhooks/fal", content=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "UNAUTHENTICATED"
    # Nothing happened: no status poll was triggered, the job still waits for fal.
    polls = fal.status_calls.get(request_id, 0)
    await asyncio.sleep(0.3)
    assert fal.status_calls.get(request_id, 0) == polls
    assert fal.result_fetches == {}
    assert await row_status(generation_id) in {GenerationStatus.QUEUED, GenerationStatus.RUNNING}
    # The genuine delivery still works afterwards.
    good = fal.webhook_body(fal.jobs[request_id])
    accepted = await client.post("/webhooks/fal", content=good, headers=fal.sign(good, request_id))
    assert accepted.status_code == 200, accepted.text
    await eventually(lambda: _succeeded(generation_id), 10, "success")


async def test_a_timestamp_within_five_minutes_is_accepted(app, app_port, client, user_token, fal):
    fal.script = Script(logs=["a"], completes=False)
    generation_id, request_id = await started_generation(app, app_port, user_token, fal)
    fal.complete(request_id)
    body = fal.webhook_body(fal.jobs[request_id])
    headers = fal.sign(body, request_id, timestamp=int(time.time()) - 240)
    response = await client.post("/webhooks/fal", content=body, headers=headers)
    assert response.status_code == 200, response.text
    await eventually(lambda: _succeeded(generation_id), 10, "success")


async def test_forged_webhooks_cannot_make_us_fetch_the_keys_each_time(client, fal):
    fal.jwks_fails = True  # fal's key list is unreachable: every forgery would refetch it
    body = json.dumps({"request_id": "forged", "status": "OK", "payload": {}}).encode()
    for _ in range(3):
        headers = fal.sign(body, "forged", key=Ed25519PrivateKey.generate())
        response = await client.post("/webhooks/fal", content=body, headers=headers)
        assert response.status_code == 502
        assert response.json()["code"] == "PROVIDER_ERROR"
    assert fal.jwks_fetches == 1
