"""Benchmark: local rendering, the generation route end to end, a small GraphQL query,
and memory, on the embedded default (SQLite, local renderer). Prints its figures.

    .venv/bin/python bench/generate_bench.py [--requests N] [--concurrency C]

Bounded in count and time; all traffic stays inside the process (ASGI, no sockets).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from main import create_app
from models import Role
from resolvers.auth import create_user
from services.images import prepare_image
from services.providers.local_renderer import render_video
from settings import Settings

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
PHOTOS = ["portrait.jpg", "rocket.jpg", "cat.png", "portrait.heic"]
PASSWORD = "benchmark password"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def bench_render(workdir: Path) -> None:
    print("== local renderer (one thread) ==")
    for name in PHOTOS:
        raw = (SAMPLES / name).read_bytes()
        start = time.perf_counter()
        image = prepare_image(raw, max_bytes=20 * 2**20, max_pixels=40_000_000)
        intake = time.perf_counter() - start
        start = time.perf_counter()
        result = render_video(image.data, workdir / f"{name}.mp4", category="dance", seed=7)
        render = time.perf_counter() - start
        print(
            f"{name:16} intake {intake * 1000:6.1f} ms  render {render:5.2f} s  "
            f"{result.width}x{result.height} {result.frames} frames  "
            f"{result.file_size / 1024:.0f} KiB"
        )


async def bench_http(workdir: Path, requests: int, concurrency: int) -> None:
    settings = Settings(
        _env_file=None,
        var_dir=workdir / "var",
        max_generations_in_flight=concurrency,
        daily_generation_quota=10_000,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await create_user(app.state.services, "bench@example.com", PASSWORD, Role.USER)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", timeout=120
        ) as client:
            login = await client.post(
                "/auth/login", json={"email": "bench@example.com", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
            await bench_graphql(client, headers)
            await bench_generate(client, headers, requests, concurrency)
            await bench_big_upload(client, headers, settings.max_upload_bytes)


async def bench_graphql(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    query = {"query": '{ me { email } features(category: "dance") { key title } }'}
    for _ in range(20):
        await client.post("/graphql", json=query, headers=headers)
    count = 500
    start = time.perf_counter()
    for _ in range(count):
        response = await client.post("/graphql", json=query, headers=headers)
        assert response.status_code == 200
    elapsed = time.perf_counter() - start
    print("== GraphQL query (me + features), sequential, in-process ==")
    print(f"{count} requests  {count / elapsed:7.0f} req/s  {elapsed / count * 1000:.2f} ms each")


async def bench_generate(
    client: httpx.AsyncClient, headers: dict[str, str], requests: int, concurrency: int
) -> None:
    photo = (SAMPLES / "portrait.jpg").read_bytes()
    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one() -> None:
        async with gate:
            start = time.perf_counter()
            response = await client.post(
                "/api/ai-dance", files={"image": ("p.jpg", photo)}, headers=headers
            )
            assert response.status_code == 200, response.text
            latencies.append(time.perf_counter() - start)

    start = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    elapsed = time.perf_counter() - start
    print(f"== POST /api/ai-dance end to end, {requests} requests, {concurrency} at once ==")
    print(
        f"p50 {statistics.median(latencies):.2f} s  p95 {percentile(latencies, 95):.2f} s  "
        f"throughput {requests / elapsed * 60:.1f} videos/min"
    )


async def bench_big_upload(client: httpx.AsyncClient, headers: dict[str, str], limit: int) -> None:
    before = peak_rss_mib()
    big = b"\xff\xd8" + b"\0" * (limit * 3)
    response = await client.post(
        "/api/ai-dance", files={"image": ("big.jpg", big)}, headers=headers
    )
    print("== upload three times over the limit ==")
    print(
        f"status {response.status_code} ({response.json()['code']}), peak RSS grew "
        f"{peak_rss_mib() - before:.0f} MiB (the {len(big) / 2**20:.0f} MiB body itself is "
        "held by the benchmark's client)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        bench_render(workdir)
        asyncio.run(bench_http(workdir, min(args.requests, 50), min(args.concurrency, 8)))
    print(f"== peak RSS {peak_rss_mib():.0f} MiB ==")


if __name__ == "__main__":
    main()
