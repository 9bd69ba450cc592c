"""A fake fal.ai on 127.0.0.1, speaking what fal-client 1.0.3 sends (FAL_PROTOCOL.md).

A real HTTP server (uvicorn serving a small Starlette app in a background thread): the
queue (submit, status, result, cancel), CDN token + upload, the GCS-style fallback
upload, a `/files/...` route serving real media, signed webhooks with its own Ed25519
key and a JWKS route. Each test scripts how the next submitted requests behave.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import av
import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FAKE_KEY = "fake-key-id:fake-key-secret"
FAKE_USER_ID = "fake-fal-user"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_mp4(frames: int = 12, size: int = 64) -> bytes:
    """A small real H.264 MP4 (what fal's CDN would serve)."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width = size
        stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            image = Image.new("RGB", (size, size), (index * 20 % 256, 80, 160))
            for packet in stream.encode(av.VideoFrame.from_image(image)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


@dataclass
class Script:
    """How a submitted request behaves.

    Without `step_seconds` every status poll advances one step (so a poller sees each
    queue position and each log line); with it the request advances on its own clock
    (for webhook-driven tests, where nobody polls)."""

    queue_positions: list[int] = field(default_factory=list)
    logs: list[str] = field(default_factory=lambda: ["starting", "rendering"])
    step_seconds: float | None = None
    completes: bool = True  # False: stays IN_PROGRESS until FakeFal.complete()
    submit_error: tuple[int, Any] | None = None  # (HTTP status, JSON body)
    result_error: tuple[int, Any] | None = None
    result_error_times: int | None = None  # the result fails this many times, then works
    response_delay: float = 0.0  # every queue reply waits this long ("slow")
    webhook_deliveries: int = 1  # >1: the same webhook is delivered again


@dataclass
class Job:
    request_id: str
    endpoint: str
    arguments: dict[str, Any]
    script: Script
    webhook_url: str | None
    created: float = field(default_factory=time.monotonic)
    polls: int = 0
    canceled: bool = False
    forced_complete: bool = False
    webhook_sent: bool = False

    @property
    def steps(self) -> list[dict[str, Any]]:
        states: list[dict[str, Any]] = [
            {"status": "IN_QUEUE", "queue_position": position}
            for position in self.script.queue_positions
        ]
        for count in range(1, len(self.script.logs) + 1):
            states.append({"status": "IN_PROGRESS", "logs": _log_entries(self.script.logs[:count])})
        if not states:
            states.append({"status": "IN_PROGRESS", "logs": []})
        return states

    def completed(self) -> bool:
        if self.canceled or self.forced_complete:
            return True
        if not self.script.completes:
            return False
        return self._step() >= len(self.steps)

    def _step(self) -> int:
        if self.script.step_seconds is not None:
            return int((time.monotonic() - self.created) / self.script.step_seconds)
        return self.polls

    def status_body(self) -> dict[str, Any]:
        if self.completed():
            body: dict[str, Any] = {
                "status": "COMPLETED",
                "logs": _log_entries(self.script.logs),
                "metrics": {"inference_time": 0.1},
            }
            if self.script.result_error is not None:
                body["error"] = "the model failed"
                body["error_type"] = "model_error"
            return body
        steps = self.steps
        return steps[min(self._step(), len(steps) - 1)]


def _log_entries(lines: list[str]) -> list[dict[str, Any]]:
    return [
        {"message": line, "level": "INFO", "source": "user", "timestamp": "2025-01-01T00:00:00"}
        for line in lines
    ]


class FakeFal:
    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.key = FAKE_KEY
        self.script = Script()
        self.video = make_mp4()
        self.signing_key = Ed25519PrivateKey.generate()
        self.jobs: dict[str, Job] = {}
        self.uploads: dict[str, tuple[bytes, str]] = {}
        self.submits: list[Job] = []
        self.status_calls: dict[str, int] = {}
        self.result_fetches: dict[str, int] = {}
        self.cancels: list[str] = []
        self.media_fetches = 0
        self.webhooks_sent: list[tuple[str, int]] = []  # (request id, our HTTP status)
        self.cdn_fails = False
        self._running = threading.Event()  # cleared: status replies wait (see `paused`)
        self._running.set()
        self.jwks_fetches = 0
        self.jwks_fails = False
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # method, path, headers
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeFal:
        config = uvicorn.Config(
            self._app(), host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-fal", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake fal server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    # ------------------------------------------------------------ test controls

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    @paused.setter
    def paused(self, value: bool) -> None:
        """While paused, status replies wait: the request makes no visible progress."""
        if value:
            self._running.clear()
        else:
            self._running.set()

    def complete(self, request_id: str) -> None:
        """Finish a request scripted with `completes=False` (and send its webhook)."""
        job = self.jobs[request_id]
        job.forced_complete = True
        if job.webhook_url and self._loop is not None:
            self._loop.call_soon_threadsafe(self._schedule_webhook, job)

    def submits_for(self, request_id: str) -> int:
        return sum(1 for job in self.submits if job.request_id == request_id)

    def sign(
        self,
        body: bytes,
        request_id: str,
        *,
        timestamp: int | None = None,
        key: Ed25519PrivateKey | None = None,
        user_id: str = FAKE_USER_ID,
    ) -> dict[str, str]:
        """fal's webhook headers for `body` (FAL_PROTOCOL.md, "Webhooks")."""
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        digest = hashlib.sha256(body).hexdigest()
        message = "\n".join([request_id, user_id, stamp, digest]).encode()
        signature = (key or self.signing_key).sign(message).hex()
        return {
            "Content-Type": "application/json",
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": user_id,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": signature,
        }

    def webhook_body(self, job: Job) -> bytes:
        if job.script.result_error is not None:
            status, detail = job.script.result_error
            payload = {"request_id": job.request_id, "status": "ERROR", "payload": detail}
            payload["error"] = f"Invalid status code: {status}"
        else:
            payload = {
                "request_id": job.request_id,
                "gateway_request_id": job.request_id,
                "status": "OK",
                "payload": self.output(job.request_id),
            }
        return json.dumps(payload).encode()

    def output(self, request_id: str) -> dict[str, Any]:
        return {
            "video": {
                "url": f"{self.base_url}/files/output/{request_id}.mp4",
                "content_type": "video/mp4",
                "file_name": "output.mp4",
                "file_size": len(self.video),
            },
            "seed": 142263008,
        }

    # ------------------------------------------------------------ HTTP app

    def _app(self) -> Starlette:
        routes = [
            Route("/.well-known/jwks.json", self._jwks, methods=["GET"]),
            Route("/storage/auth/token", self._cdn_token, methods=["POST"]),
            Route("/files/upload", self._cdn_upload, methods=["POST"]),
            Route("/storage/upload/initiate", self._gcs_initiate, methods=["POST"]),
            Route("/gcs-upload/{upload_id}", self._gcs_put, methods=["PUT"]),
            Route("/files/uploads/{upload_id}/{name}", self._uploaded_file, methods=["GET"]),
            Route("/files/output/{name}", self._media, methods=["GET"]),
            Route("/{owner}/{alias}/requests/{rid}/status", self._status, methods=["GET"]),
            Route("/{owner}/{alias}/requests/{rid}/cancel", self._cancel, methods=["PUT"]),
            Route("/{owner}/{alias}/requests/{rid}", self._result, methods=["GET"]),
            Route("/{endpoint:path}", self._submit, methods=["POST"]),
        ]
        return Starlette(routes=routes)

    def _authorized(self, request: Request) -> bool:
        self._loop = asyncio.get_running_loop()
        with self._lock:
            self.requests.append((request.method, request.url.path, dict(request.headers)))
        return request.headers.get("authorization") == f"Key {self.key}"

    @staticmethod
    def _unauthorized() -> JSONResponse:
        return JSONResponse({"detail": "No user found for Key ID and Secret"}, status_code=401)

    async def _jwks(self, request: Request) -> JSONResponse:
        self.jwks_fetches += 1
        if self.jwks_fails:
            return JSONResponse({"detail": "unavailable"}, status_code=500)
        raw = self.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return JSONResponse({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "fake"}]})

    async def _cdn_token(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._unauthorized()
        if self.cdn_fails:
            return JSONResponse({"detail": "cdn unavailable"}, status_code=500)
        expires = datetime.now(UTC) + timedelta(hours=1)
        return JSONResponse(
            {
                "token": "cdn-token",
                "token_type": "Bearer",
                "base_url": self.base_url,
                "expires_at": expires.isoformat(),
            }
        )

    async def _cdn_upload(self, request: Request) -> JSONResponse:
        self._authorized(request)
        if request.headers.get("authorization") != "Bearer cdn-token":
            return JSONResponse({"detail": "bad token"}, status_code=401)
        name = request.headers.get("x-fal-file-name", "upload.bin")
        upload_id = uuid.uuid4().hex
        self.uploads[upload_id] = (await request.body(), request.headers["content-type"])
        return JSONResponse({"access_url": f"{self.base_url}/files/uploads/{upload_id}/{name}"})

    async def _gcs_initiate(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._unauthorized()
        data = await request.json()
        upload_id = uuid.uuid4().hex
        name = data.get("file_name") or "upload.bin"
        return JSONResponse(
            {
                "upload_url": f"{self.base_url}/gcs-upload/{upload_id}",
                "file_url": f"{self.base_url}/files/uploads/{upload_id}/{name}",
            }
        )

    async def _gcs_put(self, request: Request) -> Response:
        self._authorized(request)
        upload_id = request.path_params["upload_id"]
        self.uploads[upload_id] = (await request.body(), request.headers["content-type"])
        return Response(status_code=200)

    async def _uploaded_file(self, request: Request) -> Response:
        data, content_type = self.uploads[request.path_params["upload_id"]]
        return Response(data, media_type=content_type)

    async def _media(self, request: Request) -> Response:
        with self._lock:
            self.media_fetches += 1
        return Response(self.video, media_type="video/mp4")

    async def _submit(self, request: Request) -> JSONResponse:
        if not self._authorized(request):
            return self._unauthorized()
        script = self.script
        await asyncio.sleep(script.response_delay)
        if script.submit_error is not None:
            status, body = script.submit_error
            return JSONResponse(body, status_code=status)
        endpoint = request.path_params["endpoint"]
        parts = endpoint.split("/")
        owner, alias = parts[0], parts[1]
        arguments = await request.json()
        request_id = str(uuid.uuid4())
        job = Job(
            request_id=request_id,
            endpoint=endpoint,
            arguments=arguments,
            script=script,
            webhook_url=request.query_params.get("fal_webhook"),
        )
        with self._lock:
            self.jobs[request_id] = job
            self.submits.append(job)
        if job.webhook_url and script.step_seconds is not None and script.completes:
            delay = script.step_seconds * (len(job.steps) + 1)
            asyncio.get_running_loop().call_later(delay, self._schedule_webhook, job)
        base = f"{self.base_url}/{owner}/{alias}/requests/{request_id}"
        return JSONResponse(
            {
                "request_id": request_id,
                "response_url": base,
                "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel",
                "queue_position": script.queue_positions[0] if script.queue_positions else 0,
            }
        )

    def _job(self, request: Request) -> Job | JSONResponse:
        """The request's job, or fal's answer when the key or the request id is wrong."""
        if not self._authorized(request):
            return self._unauthorized()
        job = self.jobs.get(request.path_params["rid"])
        return job or JSONResponse({"detail": "Request not found"}, status_code=404)

    async def _status(self, request: Request) -> JSONResponse:
        job = self._job(request)
        if not isinstance(job, Job):
            return job
        await asyncio.sleep(job.script.response_delay)
        if not self._running.is_set():
            await asyncio.to_thread(self._running.wait, 30)
        with self._lock:
            self.status_calls[job.request_id] = self.status_calls.get(job.request_id, 0) + 1
            body = job.status_body()
            job.polls += 1
        if request.query_params.get("logs") not in ("1", "true"):
            body = {**body, "logs": None}
        return JSONResponse(body)

    async def _result(self, request: Request) -> JSONResponse:
        job = self._job(request)
        if not isinstance(job, Job):
            return job
        with self._lock:
            self.result_fetches[job.request_id] = self.result_fetches.get(job.request_id, 0) + 1
        if not job.completed():
            return JSONResponse({"detail": "Request is still in progress"}, status_code=400)
        if job.canceled:
            return JSONResponse({"detail": "Request was cancelled"}, status_code=400)
        failing = job.script.result_error is not None and (
            job.script.result_error_times is None
            or self.result_fetches[job.request_id] <= job.script.result_error_times
        )
        if failing and job.script.result_error is not None:
            status, body = job.script.result_error
            return JSONResponse(body, status_code=status)
        return JSONResponse(self.output(job.request_id))

    async def _cancel(self, request: Request) -> JSONResponse:
        job = self._job(request)
        if not isinstance(job, Job):
            return job
        with self._lock:
            self.cancels.append(job.request_id)
            job.canceled = True
        return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)

    # ------------------------------------------------------------ webhooks

    def _schedule_webhook(self, job: Job) -> None:
        if job.webhook_sent:
            return
        job.webhook_sent = True
        asyncio.get_running_loop().create_task(self._deliver(job))

    async def _deliver(self, job: Job) -> None:
        assert job.webhook_url is not None
        body = self.webhook_body(job)
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(job.script.webhook_deliveries):
                try:
                    response = await client.post(
                        job.webhook_url, content=body, headers=self.sign(body, job.request_id)
                    )
                except httpx.HTTPError:
                    self.webhooks_sent.append((job.request_id, 0))  # nobody listening
                    continue
                self.webhooks_sent.append((job.request_id, response.status_code))
