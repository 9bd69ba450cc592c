"""The main job end to end on the embedded default: a photo in, a playable MP4 out."""

from __future__ import annotations

import io
import json

import av
import httpx
import pytest
from PIL import Image

from models import Generation, GenerationStatus
from tests.conftest import bearer, sample

GOOD_SAMPLES = [
    "portrait.jpg",
    "portrait.heic",
    "portrait.webp",
    "portrait-exif-rotated.jpg",
    "portrait-cmyk.jpg",
    "camera-gray.png",
    "logo-rgba.png",
]
BAD_SAMPLES = ["empty.jpg", "not-an-image.jpg", "truncated.jpg"]
GENERATE = (
    "mutation($image: Upload!, $prompt: String) { generateVideo(feature: AI_DANCE, "
    "image: $image, prompt: $prompt) { id status prompt video { url contentType fileName "
    "fileSize } error { code } } }"
)


def probe(data: bytes) -> dict[str, float]:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.duration is not None and stream.time_base is not None
        duration = float(stream.duration * stream.time_base)
        first = frames[0].to_image()
        return {
            "width": first.width,
            "height": first.height,
            "fps": float(stream.average_rate or 0),
            "duration": duration,
            "frames": len(frames),
        }


def assert_playable(data: bytes) -> dict[str, float]:
    info = probe(data)
    assert 3.0 <= info["duration"] <= 5.0
    assert info["fps"] >= 24
    assert info["width"] % 2 == 0 and info["height"] % 2 == 0
    assert max(info["width"], info["height"]) <= 720
    return info


async def rest_generate(client: httpx.AsyncClient, token: str, name: str, **data: str):
    with open(sample(name), "rb") as handle:
        files = {"image": (name, handle.read(), "application/octet-stream")}
    return await client.post("/api/ai-dance", files=files, data=data, headers=bearer(token))


async def graphql_generate(client: httpx.AsyncClient, token: str, name: str, prompt=None):
    operations = {"query": GENERATE, "variables": {"image": None, "prompt": prompt}}
    with open(sample(name), "rb") as handle:
        files = {"0": (name, handle.read(), "image/jpeg")}
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.image"]})},
        files=files,
        headers={**bearer(token), "Apollo-Require-Preflight": "true"},
    )


async def test_rest_generates_a_playable_video(client, user_token):
    response = await rest_generate(client, user_token, "portrait.jpg")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"video", "seed"}
    assert set(body["video"]) == {"url", "content_type", "file_name", "file_size"}
    assert body["video"]["content_type"] == "video/mp4"
    assert isinstance(body["seed"], int)
    video = await client.get(body["video"]["url"])
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert len(video.content) == body["video"]["file_size"]
    assert_playable(video.content)
    row = await Generation.get(id=response.headers["X-Generation-Id"])
    assert row.status is GenerationStatus.SUCCEEDED
    assert row.prompt == "a person dancing"
    assert row.finished_at is not None and row.input_size > 0


async def test_graphql_multipart_generates_a_playable_video(client, user_token):
    response = await graphql_generate(client, user_token, "portrait.jpg", prompt="a slow waltz")
    assert response.status_code == 200, response.text
    result = response.json()
    assert "errors" not in result, result
    generation = result["data"]["generateVideo"]
    assert generation["status"] == "SUCCEEDED"
    assert generation["prompt"] == "a slow waltz"
    video = await client.get(generation["video"]["url"])
    assert len(video.content) == generation["video"]["fileSize"]
    assert_playable(video.content)


@pytest.mark.parametrize("name", GOOD_SAMPLES)
async def test_every_sample_photo_makes_a_video(client, user_token, name):
    response = await rest_generate(client, user_token, name)
    assert response.status_code == 200, response.text
    video = await client.get(response.json()["video"]["url"])
    info = assert_playable(video.content)
    if name.startswith("portrait"):
        assert info["width"] == info["height"]  # the square portrait stays square


async def test_exif_rotated_photo_comes_out_upright(client, user_token):
    upright = await rest_generate(client, user_token, "portrait.jpg")
    rotated = await rest_generate(client, user_token, "portrait-exif-rotated.jpg")
    frames = []
    for response in (upright, rotated):
        video = await client.get(response.json()["video"]["url"])
        with av.open(io.BytesIO(video.content), mode="r") as container:
            frame = next(container.decode(video=0)).to_image()
        frames.append(frame.convert("L").resize((32, 32)))
    straight = _difference(frames[0], frames[1])
    turned = _difference(frames[0], frames[1].rotate(90))
    assert straight < turned / 2


def _difference(a: Image.Image, b: Image.Image) -> float:
    pixels = zip(a.tobytes(), b.tobytes(), strict=True)
    return sum(abs(x - y) for x, y in pixels) / (a.width * a.height)


@pytest.mark.parametrize("name", BAD_SAMPLES)
async def test_broken_uploads_answer_bad_request_on_rest(client, user_token, name):
    response = await rest_generate(client, user_token, name)
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"
    assert await Generation.exclude(status__in=["succeeded", "failed", "canceled"]).count() == 0


@pytest.mark.parametrize("name", BAD_SAMPLES)
async def test_broken_uploads_answer_bad_request_on_graphql(client, user_token, name):
    response = await graphql_generate(client, user_token, name)
    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_REQUEST"
    assert await Generation.exclude(status__in=["succeeded", "failed", "canceled"]).count() == 0
