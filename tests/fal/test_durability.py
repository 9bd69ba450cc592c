"""Nothing paid for is lost: restarts, killed servers and two servers on one database.

The servers here are real processes (`uvicorn main:app`) on 127.0.0.1 sharing the test's
database; the in-process app only creates the account and reads rows."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from models import Generation, GenerationStatus
from tests.conftest import PASSWORD, bearer
from tests.fakes.fal_server import Script, free_port
from tests.fal.conftest import eventually, photo

REPO = Path(__file__).resolve().parents[2]
FINAL = {GenerationStatus.SUCCEEDED, GenerationStatus.FAILED, GenerationStatus.CANCELED}


class Server:
    """One Clipforge server process, configured like the test's own settings."""

    def __init__(self, settings, log_dir: Path, name: str, **extra: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{name}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.effective_database_url,
            "VAR_DIR": str(settings.var_dir),
            "JWT_SECRET": settings.jwt_secret,
            "JWT_REFRESH_SECRET": settings.jwt_refresh_secret,
            "FAL_KEY": settings.fal_key,
            "FAL_BASE_URL": settings.fal_base_url,
            "FAL_JWKS_URL": settings.fal_jwks_url,
            "FAL_POLL_INTERVAL_SECONDS": "0.02",
            "FAL_MAX_POLL_INTERVAL_SECONDS": "0.1",
            "MAX_GENERATIONS_IN_FLIGHT": "20",
            "PUBLIC_BASE_URL": "",
            "SENDGRID_API_KEY": "",
            "REDIS_URL": "",
            **extra,
        }
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> Server:
        log = self.log_path.open("ab")
        self.process = await asyncio.to_thread(
            subprocess.Popen,
            [
                sys.executable,
                "-m",
                "uvicorn",
                "main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

        async def healthy() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log()
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.url}/healthz", timeout=1)).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(healthy, 30, f"server {self.log_path.stem} to start")
        return self

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        """SIGTERM: a graceful stop (leases handed back); SIGKILL: a crash."""
        assert self.process is not None
        self.process.send_signal(sig)
        await asyncio.to_thread(self.process.wait, 20)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
async def servers(settings, tmp_path):
    started: list[Server] = []

    async def start(name: str, **extra: str) -> Server:
        server = await Server(settings, tmp_path, name, **extra).start()
        started.append(server)
        return server

    yield start
    for server in started:
        if server.process is not None and server.process.poll() is None:
            server.process.kill()
            await asyncio.to_thread(server.process.wait, 20)


@pytest.fixture
async def token(make_user, client) -> str:
    await make_user(email="durable@example.com")
    response = await client.post(
        "/auth/login", json={"email": "durable@example.com", "password": PASSWORD}
    )
    return str(response.json()["accessToken"])


async def submit_async(server: Server, token: str) -> str:
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        response = await http.post(
            "/api/ai-dance",
            files={"image": ("portrait.jpg", photo(), "image/jpeg")},
            headers={**bearer(token), "Prefer": "respond-async"},
        )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


async def recorded_request_ids(ids: list[str]) -> dict[str, str]:
    rows = await Generation.filter(id__in=ids, request_id__not_isnull=True)
    return {str(row.id): str(row.request_id) for row in rows}


async def wait_final(ids: list[str], timeout: float = 30) -> list[Generation]:
    async def all_final() -> bool:
        return await Generation.filter(id__in=ids, status__in=list(FINAL)).count() == len(ids)

    await eventually(all_final, timeout, "every generation to finish")
    return await Generation.filter(id__in=ids)


async def fetch_video(server: Server, url: str) -> bytes:
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        response = await http.get(url)
    assert response.status_code == 200
    return response.content


@pytest.mark.parametrize("how", ["graceful", "killed"])
async def test_a_new_server_finishes_what_a_stopped_one_started(servers, token, fal, how):
    fal.script = Script(queue_positions=[0], logs=["working"], completes=False)
    first = await servers("first", GENERATION_LEASE_SECONDS="1")
    generation_id = await submit_async(first, token)
    await eventually(lambda: len(fal.submits) == 1, 15, "the submit")
    request_id = fal.submits[0].request_id
    await eventually(lambda: fal.status_calls.get(request_id, 0) >= 2, 15, "status polls")
    assert (await recorded_request_ids([generation_id])) == {generation_id: request_id}

    await first.stop(signal.SIGTERM if how == "graceful" else signal.SIGKILL)
    row = await Generation.get(id=generation_id)
    assert row.status in {GenerationStatus.QUEUED, GenerationStatus.RUNNING}
    if how == "graceful":
        assert row.lease_owner is None  # handed back at shutdown
    else:
        assert row.lease_owner is not None  # a crash leaves the lease to expire

    fal.complete(request_id)
    second = await servers(
        "second", GENERATION_LEASE_SECONDS="1", GENERATION_SWEEP_INTERVAL_SECONDS="0.2"
    )
    (row,) = await wait_final([generation_id])
    assert row.status is GenerationStatus.SUCCEEDED, (row.error_code, second.log())
    assert len(fal.submits) == 1  # resumed by its request id, never submitted again
    assert fal.result_fetches == {request_id: 1}
    assert await fetch_video(second, row.video["url"]) == fal.video


async def test_two_servers_resume_unfinished_generations_once_each(servers, token, fal):
    count = 6
    fal.script = Script(queue_positions=[0], logs=["working"], completes=False)
    first = await servers("first")
    ids = [await submit_async(first, token) for _ in range(count)]

    async def all_recorded() -> bool:
        recorded = await recorded_request_ids(ids)
        return bool(len(recorded) == count)

    await eventually(all_recorded, 20, "every request id")
    await first.stop()

    # Two servers start together on one database and both try to resume everything.
    second, third = await asyncio.gather(servers("second"), servers("third"))
    for job in fal.submits:
        fal.complete(job.request_id)
    rows = await wait_final(ids)
    assert all(row.status is GenerationStatus.SUCCEEDED for row in rows), (
        [row.error_code for row in rows],
        second.log(),
        third.log(),
    )
    request_ids = await recorded_request_ids(ids)
    assert sorted(job.request_id for job in fal.submits) == sorted(request_ids.values())
    assert fal.result_fetches == {request_id: 1 for request_id in request_ids.values()}
    assert fal.media_fetches == count  # each video copied exactly once
    assert len({row.video["url"] for row in rows}) == count
