"""Outgoing email: SendGrid (the real client) or a file outbox (one RFC 822 .eml per message).

Sending runs off the event loop (the SendGrid client is synchronous urllib; file writes go
to a thread). `send()` waits and raises PROVIDER_ERROR for callers that must know;
`send_in_background()` never fails the request: failures are logged with their status.
"""

from __future__ import annotations

import asyncio
import email.message
import email.policy
import email.utils
import logging
import urllib.error
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from uuid import uuid4

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Mail

from services.clock import utcnow
from services.errors import AppError, ErrorCode
from settings import Settings

log = logging.getLogger(__name__)
DRAIN_TIMEOUT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    text: str


class EmailBackend(Protocol):
    name: str

    async def send(self, message: EmailMessage) -> None: ...


class FileBackend:
    """The embedded default: each message becomes `<OUTBOX_DIR>/<time>-<id>.eml`."""

    name = "file"

    def __init__(self, outbox: Path, from_email: str):
        self._outbox = outbox
        self._from = from_email

    async def send(self, message: EmailMessage) -> None:
        path = await asyncio.to_thread(self._write, message)
        log.info("email to %s written to %s", message.to, path)

    def _write(self, message: EmailMessage) -> Path:
        mail = email.message.EmailMessage(policy=email.policy.SMTP)
        mail["From"] = self._from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = email.utils.format_datetime(utcnow())
        mail["Message-ID"] = email.utils.make_msgid(domain="clipforge.local")
        mail.set_content(message.text)
        self._outbox.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
        path = self._outbox / f"{stamp}-{uuid4().hex[:12]}.eml"
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(mail.as_bytes())
        tmp.replace(path)  # readers never see half a message
        return path


class SendGridBackend:
    """The real `sendgrid` client; its API host is a setting (SENDGRID_HOST)."""

    name = "sendgrid"

    def __init__(self, settings: Settings):
        self._client = SendGridAPIClient(
            api_key=settings.sendgrid_api_key, host=settings.sendgrid_host.rstrip("/")
        )
        self._client.client.timeout = settings.sendgrid_timeout_seconds
        self._from = settings.sendgrid_from_email

    async def send(self, message: EmailMessage) -> None:
        mail = Mail(
            from_email=self._from,
            to_emails=message.to,
            subject=message.subject,
            plain_text_content=message.text,
        )
        try:
            response: Any = await asyncio.to_thread(self._client.send, mail)
        except HTTPError as error:
            status = int(error.status_code)
            log.error("SendGrid refused the email: HTTP %s %s", status, _short(error.body))
            raise AppError(
                ErrorCode.PROVIDER_ERROR, "the email could not be sent", {"status": status}
            ) from None
        except (urllib.error.URLError, OSError) as error:
            log.error("SendGrid unreachable: %s", error)
            raise AppError(ErrorCode.PROVIDER_ERROR, "the email could not be sent") from None
        log.info("email to %s accepted by SendGrid (HTTP %s)", message.to, response.status_code)


class EmailService:
    def __init__(self, backend: EmailBackend):
        self.backend = backend
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, message: EmailMessage) -> None:
        await self.backend.send(message)

    def send_in_background(self, message: EmailMessage | None) -> None:
        """Send without making the caller wait; None runs the same path and sends nothing
        (so that a request's timing does not say whether an email went out)."""
        self._spawn(self._deliver(message))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, message: EmailMessage | None) -> None:
        if message is None:
            return
        try:
            await self.backend.send(message)
        except AppError:
            pass  # logged with its status by the backend
        except Exception:
            log.exception("unexpected failure sending an email")

    async def drain(self, timeout: float = DRAIN_TIMEOUT_SECONDS) -> None:
        """Wait for the emails still being sent (at shutdown)."""
        pending = [task for task in self._tasks if not task.done()]
        if not pending:
            return
        _, late = await asyncio.wait(pending, timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            log.warning("%d emails were still being sent at shutdown", len(late))

    async def aclose(self) -> None:
        await self.drain()


def build_email(settings: Settings) -> EmailService:
    backend: EmailBackend
    if settings.uses_sendgrid:
        backend = SendGridBackend(settings)
    else:
        backend = FileBackend(settings.effective_outbox_dir, settings.sendgrid_from_email)
    return EmailService(backend)


def _short(body: object) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return text[:300]
