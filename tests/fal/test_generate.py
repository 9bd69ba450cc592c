"""Generations through the real fal_client against the fake fal: success, errors, modes."""

from __future__ import annotations

import asyncio
import io
import logging

from PIL import Image

from models import Generation, GenerationStatus
from tests.conftest import bearer
from tests.fakes.fal_server import Script
from tests.fal.conftest import eventually, graphql_generate, rest_generate, status_of

HAILUO = "fal-ai/minimax/hailuo-02/standard/image-to-video"


async def test_rest_success_copies_the_video_into_our_storage(client, user_token, fal):
    fal.script = Script(queue_positions=[1, 0], logs=["loading", "rendering"])
    response = await rest_generate(client, user_token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"video", "seed"}  # the provider's output shape, exactly
    assert body["seed"] == 142263008
    video = body["video"]
    assert video["url"].startswith("http://testserver/media/videos/")
    assert fal.base_url not in response.text
    served = await client.get(video["url"])
    assert served.status_code == 200
    assert served.content == fal.video
    assert video["file_size"] == len(fal.video)

    # What fal received: one queue submit of the catalog's model, with the photo we
    # uploaded through the client's CDN upload, authenticated with the key.
    assert len(fal.submits) == 1
    job = fal.submits[0]
    assert job.endpoint == HAILUO
    assert job.arguments["prompt"] == "a person dancing"
    upload_id = job.arguments["image_url"].split("/")[-2]
    uploaded, content_type = fal.uploads[upload_id]
    assert content_type == "image/jpeg"
    assert Image.open(io.BytesIO(uploaded)).format == "JPEG"
    assert job.webhook_url is None  # no PUBLIC_BASE_URL: we poll
    queue_calls = [h for _, path, h in fal.requests if "/requests/" in path]
    assert queue_calls and all(h["user-agent"].startswith("fal-client/") for h in queue_calls)
    assert all(h["authorization"] == f"Key {fal.key}" for h in queue_calls)

    row = await Generation.get(id=response.headers["X-Generation-Id"])
    assert row.status is GenerationStatus.SUCCEEDED
    assert row.provider == "fal" and row.model == HAILUO
    assert row.request_id == job.request_id
    assert row.logs == ["loading", "rendering"]
    assert row.queue_position is None and row.started_at is not None
    assert row.output["video"]["url"].startswith(fal.base_url)  # kept for the record
    assert row.video["url"].startswith("/media/videos/")


async def test_graphql_multipart_success(client, user_token, fal):
    response = await graphql_generate(client, user_token)
    assert response.status_code == 200, response.text
    result = response.json()
    assert "errors" not in result, result
    generation = result["data"]["generateVideo"]
    assert generation["status"] == "SUCCEEDED"
    assert generation["video"]["contentType"] == "video/mp4"
    served = await client.get(generation["video"]["url"])
    assert served.content == fal.video
    assert generation["video"]["fileSize"] == len(fal.video)


async def test_catalog_model_and_arguments_reach_fal(client, user_token, fal):
    files = {"image": ("p.jpg", open_sample(), "image/jpeg")}
    response = await client.post("/api/ai-salsa", files=files, headers=bearer(user_token))
    assert response.status_code == 200, response.text
    arguments = fal.submits[0].arguments
    assert fal.submits[0].endpoint == HAILUO
    assert arguments["duration"] == "6" and arguments["resolution"] == "768P"
    assert arguments["prompt_optimizer"] is True


def open_sample() -> bytes:
    from tests.fal.conftest import photo

    return photo()


async def test_storage_upload_falls_back_when_the_cdn_fails(client, user_token, fal):
    fal.cdn_fails = True
    response = await rest_generate(client, user_token)
    assert response.status_code == 200, response.text
    paths = [path for _, path, _ in fal.requests]
    assert "/storage/upload/initiate" in paths
    assert any(path.startswith("/gcs-upload/") for path in paths)
    assert fal.submits[0].arguments["image_url"].startswith(f"{fal.base_url}/files/uploads/")


async def test_model_422_answers_validation_failed_with_fals_field_messages(
    client, user_token, fal
):
    detail = [
        {
            "loc": ["body", "prompt"],
            "msg": "The prompt is flagged by the content checker",
            "type": "content_policy_violation",
        }
    ]
    fal.script = Script(result_error=(422, {"detail": detail}))
    response = await rest_generate(client, user_token)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["code"] == "VALIDATION_FAILED"
    assert body["details"]["fields"] == detail
    assert body["details"]["id"] == response.headers.get("X-Generation-Id", body["details"]["id"])
    row = await Generation.get(id=body["details"]["id"])
    assert row.status is GenerationStatus.FAILED
    assert row.error_code == "VALIDATION_FAILED"
    assert row.error_details == {"fields": detail}


async def test_graphql_reports_the_model_422_as_a_coded_error(client, user_token, fal):
    detail = [{"loc": ["body", "image_url"], "msg": "image too small", "type": "value_error"}]
    fal.script = Script(result_error=(422, {"detail": detail}))
    response = await graphql_generate(client, user_token)
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_FAILED"
    assert error["extensions"]["details"]["fields"] == detail


async def test_fal_500_on_submit_answers_502_without_leaking(client, user_token, fal):
    fal.script = Script(submit_error=(500, {"detail": f"boom at {fal.base_url}/internal"}))
    response = await rest_generate(client, user_token)
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["code"] == "PROVIDER_ERROR"
    assert "127.0.0.1" not in response.text and "Traceback" not in response.text
    assert fal.key not in response.text
    row = await Generation.get(id=body["details"]["id"])
    assert row.status is GenerationStatus.FAILED and row.request_id is None


async def test_fal_500_on_result_answers_502(client, user_token, fal):
    fal.script = Script(result_error=(500, {"detail": "Internal server error"}))
    response = await rest_generate(client, user_token)
    assert response.status_code == 502, response.text
    assert response.json()["code"] == "PROVIDER_ERROR"
    # The client does not retry a 500; we do (the job is paid), then give up and cancel it.
    assert sum(fal.result_fetches.values()) == 5
    assert fal.cancels == [fal.submits[0].request_id]


async def test_one_failed_result_fetch_is_retried(client, user_token, fal):
    fal.script = Script(result_error=(500, {"detail": "hiccup"}), result_error_times=1)
    response = await rest_generate(client, user_token)
    assert response.status_code == 200, response.text
    assert sum(fal.result_fetches.values()) == 2


async def test_bad_key_answers_502_and_logs_the_key_problem(client, user_token, fal, caplog):
    fal.key = "another-valid-key:secret"  # the app's FAL_KEY is no longer accepted
    with caplog.at_level(logging.ERROR, logger="services.providers.fal"):
        response = await rest_generate(client, user_token)
    assert response.status_code == 502, response.text
    body = response.json()
    assert body["code"] == "PROVIDER_ERROR"
    assert "key" not in body["error"].lower()
    assert "fake-key" not in response.text
    messages = [record.getMessage() for record in caplog.records]
    assert any("FAL_KEY" in message and "401" in message for message in messages), messages
    assert not any("fake-key" in message for message in messages)
    assert fal.submits == []


async def test_timeout_answers_504_with_the_id_then_finishes_in_the_background(
    app, client, user_token, fal
):
    app.state.services.settings.generation_timeout_seconds = 0.3
    fal.script = Script(queue_positions=[0], logs=["working"], completes=False)
    response = await rest_generate(client, user_token)
    assert response.status_code == 504, response.text
    body = response.json()
    assert body["code"] == "PROVIDER_TIMEOUT"
    generation_id = body["details"]["id"]
    assert response.headers["X-Generation-Id"] == generation_id
    assert (await status_of(client, user_token, generation_id))["status"] in {"queued", "running"}

    fal.complete(fal.submits[0].request_id)

    async def succeeded() -> bool:
        return bool((await status_of(client, user_token, generation_id))["status"] == "succeeded")

    await eventually(succeeded, 10, "the generation to finish")
    status = await status_of(client, user_token, generation_id)
    served = await client.get(status["output"]["video"]["url"])
    assert served.content == fal.video
    assert len(fal.submits) == 1


async def test_respond_async_answers_202_with_a_location(client, user_token, fal):
    fal.script = Script(queue_positions=[2, 1, 0], logs=["a", "b"])
    response = await rest_generate(client, user_token, headers={"Prefer": "respond-async"})
    assert response.status_code == 202, response.text
    location = response.headers["Location"]
    assert response.json()["status"] in {"queued", "running"}

    async def done() -> bool:
        polled = await client.get(location, headers=bearer(user_token))
        return bool(polled.json()["status"] == "succeeded")

    await eventually(done, 10, "the generation to finish")


async def test_cancel_through_rest_reaches_fal(client, user_token, fal):
    fal.script = Script(queue_positions=[3], completes=False)
    response = await rest_generate(client, user_token, headers={"Prefer": "respond-async"})
    generation_id = response.json()["id"]
    await eventually(lambda: len(fal.submits) == 1, 10, "the submit")
    await eventually(
        lambda: fal.status_calls.get(fal.submits[0].request_id, 0) > 0, 10, "a status poll"
    )
    canceled = await client.delete(f"/api/generations/{generation_id}", headers=bearer(user_token))
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert fal.cancels == [fal.submits[0].request_id]
    await asyncio.sleep(0.2)  # the job notices and stops polling
    polls = fal.status_calls[fal.submits[0].request_id]
    await asyncio.sleep(0.2)
    assert fal.status_calls[fal.submits[0].request_id] == polls
    assert (await status_of(client, user_token, generation_id))["status"] == "canceled"


async def test_cancel_generation_mutation_reaches_fal(client, user_token, fal):
    fal.script = Script(logs=["x"], completes=False)
    started = await graphql_generate(client, user_token, wait=False)
    generation = started.json()["data"]["generateVideo"]
    await eventually(lambda: len(fal.submits) == 1, 10, "the submit")

    async def has_request_id() -> bool:
        row = await Generation.get(id=generation["id"])
        return row.request_id is not None

    await eventually(has_request_id, 10, "the request id")
    response = await client.post(
        "/graphql",
        json={
            "query": "mutation($id: ID!) { cancelGeneration(id: $id) { id status } }",
            "variables": {"id": generation["id"]},
        },
        headers=bearer(user_token),
    )
    assert response.json()["data"]["cancelGeneration"]["status"] == "CANCELED", response.text
    assert fal.cancels == [fal.submits[0].request_id]


async def test_a_client_that_disconnects_mid_wait_still_gets_its_video(client, user_token, fal):
    fal.script = Script(queue_positions=[1, 0], logs=["a", "b", "c", "d", "e", "f"])
    request = asyncio.create_task(rest_generate(client, user_token))
    await eventually(lambda: len(fal.submits) == 1, 10, "the submit")
    request.cancel()  # the client goes away while the request waits
    await asyncio.gather(request, return_exceptions=True)
    assert request.cancelled()

    async def finished() -> bool:
        row = await Generation.filter(request_id=fal.submits[0].request_id).first()
        return row is not None and row.status is GenerationStatus.SUCCEEDED

    await eventually(finished, 10, "the generation to finish")
    row = await Generation.get(request_id=fal.submits[0].request_id)
    served = await client.get(row.video["url"])
    assert served.content == fal.video
