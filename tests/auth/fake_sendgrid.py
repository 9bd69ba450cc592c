"""A fake SendGrid v3 API on 127.0.0.1: records `POST /v3/mail/send` like the real one
(JSON body, Bearer key) and answers 202, or the status a test asks for."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeSendGrid:
    api_key: str
    status: int = 202
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                fake.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": json.loads(raw or b"null"),
                    }
                )
                if self.path != "/v3/mail/send":
                    self._answer(404, {"errors": [{"message": "not found"}]})
                elif self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._answer(401, {"errors": [{"message": "bad key"}]})
                elif fake.status != 202:
                    self._answer(fake.status, {"errors": [{"message": "simulated failure"}]})
                else:
                    self._answer(202, None)

            def _answer(self, status: int, body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler

    def mails(self) -> list[dict[str, Any]]:
        return [r["body"] for r in self.requests if r["path"] == "/v3/mail/send"]


def start(api_key: str) -> tuple[FakeSendGrid, ThreadingHTTPServer]:
    fake = FakeSendGrid(api_key=api_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return fake, server
