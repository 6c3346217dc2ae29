"""The real HTTP server (waitress + the WSGI adapter) on a loopback port, for tests that send
raw bytes the way anyone on the network could."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from bot.app_factory import build_context
from bot.http import make_server
from composition import create_app
from tests.conftest import SIGNING_SECRET


def sign_bytes(
    body: bytes, *, content_type: str | None = None, timestamp: str | None = None
) -> dict[str, str]:
    """Slack's v0 signature over raw bytes, as Slack computes it."""
    ts = str(int(time.time())) if timestamp is None else timestamp
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
    return {
        "content-type": content_type
        or ("application/json" if body.startswith(b"{") else "application/x-www-form-urlencoded"),
        "x-slack-request-timestamp": ts,
        "x-slack-signature": "v0=" + digest.hexdigest(),
    }


@dataclass
class HttpServer:
    url: str

    def post(self, body: bytes, headers: dict[str, str], *, timeout: float = 10) -> tuple[int, str]:
        """POST raw bytes to /slack/events; (status, body text)."""
        request = urllib.request.Request(
            self.url + "/slack/events", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def post_signed(
        self, body: bytes, *, content_type: str | None = None, timeout: float = 10
    ) -> tuple[int, str]:
        """POST `body` with a correct signature (over its bytes, so it need not be text)."""
        return self.post(body, sign_bytes(body, content_type=content_type), timeout=timeout)

    def healthz(self) -> tuple[int, bytes]:
        with urllib.request.urlopen(self.url + "/healthz", timeout=5) as response:
            return response.status, response.read()


@pytest.fixture
def http_server(settings, policy, database, clock) -> Iterator[HttpServer]:  # type: ignore[no-untyped-def]
    pool = ThreadPoolExecutor(max_workers=2)
    ctx = build_context(settings, policy, database, clock=clock, background=pool)
    server = make_server(create_app(ctx), database, host="127.0.0.1", port=0)

    def run() -> None:
        try:
            server.run()
        except OSError:
            pass  # closing the listening socket from the test thread ends the select loop

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield HttpServer(f"http://127.0.0.1:{server.effective_port}")
    server.close()
    thread.join(timeout=5)
    pool.shutdown(wait=True)
