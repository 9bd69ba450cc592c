"""Fixtures for the fal tests: a fake fal on 127.0.0.1 driven by the real fal_client
(through FAL_BASE_URL), the app in-process over ASGI or under a real uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import fal_client.client as fal_http
import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from tests.conftest import bearer, sample
from tests.fakes.fal_server import FakeFal, free_port

GENERATE = (
    "mutation($image: Upload!, $wait: Boolean) { generateVideo(feature: AI_DANCE, "
    "image: $image, wait: $wait) { id status queuePosition logs "
    "video { url contentType fileName fileSize } error { code message details } } }"
)


@pytest.fixture
def fal() -> Iterator[FakeFal]:
    fake = FakeFal().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def app_port() -> int:
    return free_port()


@pytest.fixture
def settings_overrides(fal: FakeFal) -> dict[str, Any]:
    return fal_settings(fal)


def fal_settings(fal: FakeFal, **extra: Any) -> dict[str, Any]:
    return {
        "fal_key": fal.key,
        "fal_base_url": fal.base_url,
        "fal_jwks_url": f"{fal.base_url}/.well-known/jwks.json",
        "fal_timeout_seconds": 10,
        "fal_poll_interval_seconds": 0.02,
        "fal_max_poll_interval_seconds": 0.1,
        "generation_timeout_seconds": 20,
        "generation_sweep_interval_seconds": 300,
        "max_generations_in_flight": 20,
        **extra,
    }


@pytest.fixture(autouse=True)
def _fal_stays_local(request: pytest.FixtureRequest) -> Iterator[None]:
    """No fal test may reach the real fal: every endpoint must point at 127.0.0.1."""
    yield
    for name in ("QUEUE_URL_FORMAT", "RUN_URL_FORMAT", "REST_URL", "CDN_URL"):
        value = getattr(fal_http, name)
        assert value.startswith("http://127.0.0.1:"), f"{name} = {value}"


def photo(name: str = "portrait.jpg") -> bytes:
    return sample(name).read_bytes()


async def rest_generate(
    client: httpx.AsyncClient, token: str, *, headers: dict[str, str] | None = None
) -> httpx.Response:
    files = {"image": ("portrait.jpg", photo(), "image/jpeg")}
    return await client.post(
        "/api/ai-dance", files=files, headers={**bearer(token), **(headers or {})}
    )


async def graphql_generate(
    client: httpx.AsyncClient, token: str, *, wait: bool = True
) -> httpx.Response:
    operations = {"query": GENERATE, "variables": {"image": None, "wait": wait}}
    return await client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.image"]})},
        files={"0": ("portrait.jpg", photo(), "image/jpeg")},
        headers={**bearer(token), "Apollo-Require-Preflight": "true"},
    )


async def eventually(
    check: Callable[[], Awaitable[bool] | bool], timeout: float = 10.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.02)


async def status_of(client: httpx.AsyncClient, token: str, generation_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/generations/{generation_id}", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@contextlib.asynccontextmanager
async def serve(app: FastAPI, port: int) -> AsyncIterator[str]:
    """The (already started) app under a real uvicorn on 127.0.0.1, in this event loop."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started, 10, "uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
