"""Kept-alive HTTP connections to Slack's Web API.

slack_sdk's `WebClient` sends each call through `urllib.request.urlopen`, which opens a new
TCP connection (and, to Slack, a new TLS session) for every call and closes it after the
answer: announcing an incident makes four calls, so four handshakes. `KeptAliveClient` sends
the same requests over connections it keeps open between calls, a few per origin, and
answers slack_sdk exactly as urllib would (a 2xx as a dict, anything else as `HTTPError`, a
failure to connect or send as `URLError`), so slack_sdk's retry handlers work unchanged.

A kept connection is not trusted blindly: one the server has closed while it was idle (it has
become readable: an idle connection has nothing to read) or that has been idle longer than
`MAX_IDLE_SECONDS` (a middlebox may have forgotten it without telling either side) is closed
instead of used. If a call fails on a kept connection before any answer arrived, it is sent
once more on a new connection, as a browser does: the server closed that connection between
our check and our request, so it never read the request. A failure on a new connection is
raised as before. Through a proxy, the client leaves everything to slack_sdk. Bolt's client
for one request shares the bot client's pool (bot/app_factory.py).
"""

from __future__ import annotations

import http.client
import io
import select
import ssl
import threading
import time
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request

from slack_sdk import WebClient

# Idle connections kept per origin, beyond what threads hold while calling.
MAX_IDLE_PER_ORIGIN = 4
# Slack's edge and most load balancers close an idle connection after a minute or more.
MAX_IDLE_SECONDS = 20.0

Origin = tuple[str, str, int]


class _Kept:
    __slots__ = ("connection", "idle_since")

    def __init__(self, connection: http.client.HTTPConnection, idle_since: float) -> None:
        self.connection = connection
        self.idle_since = idle_since


class ConnectionPool:
    """Idle connections by origin (scheme, host, port), last in first out; thread-safe."""

    def __init__(self, *, timeout: float, context: ssl.SSLContext | None) -> None:
        self.timeout = timeout
        self.context = context
        self.opened = 0  # connections opened, for tests and benches
        self._idle: dict[Origin, list[_Kept]] = {}
        self._lock = threading.Lock()

    def take(self, origin: Origin) -> tuple[http.client.HTTPConnection, bool]:
        """A connection to `origin` and whether it was kept from an earlier call."""
        now = time.monotonic()
        while True:
            with self._lock:
                stack = self._idle.get(origin)
                kept = stack.pop() if stack else None
            if kept is None:
                return self.open(origin), False
            if now - kept.idle_since <= MAX_IDLE_SECONDS and _still_open(kept.connection):
                return kept.connection, True
            kept.connection.close()

    def give_back(self, origin: Origin, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            stack = self._idle.setdefault(origin, [])
            if len(stack) < MAX_IDLE_PER_ORIGIN:
                stack.append(_Kept(connection, time.monotonic()))
                return
        connection.close()

    def open(self, origin: Origin) -> http.client.HTTPConnection:
        """A new connection (it connects when first used)."""
        scheme, host, port = origin
        with self._lock:
            self.opened += 1
            if scheme == "https" and self.context is None:
                # Made once: building a context reads the system's certificates.
                self.context = ssl.create_default_context()
        if scheme == "https":
            return http.client.HTTPSConnection(
                host, port, timeout=self.timeout, context=self.context
            )
        return http.client.HTTPConnection(host, port, timeout=self.timeout)


def _still_open(connection: http.client.HTTPConnection) -> bool:
    """An idle connection has nothing to read; if it has, the server closed it (or broke the
    protocol): either way it is not used again."""
    sock = connection.sock
    if sock is None:
        return False
    try:
        # poll, not select: select refuses descriptors above 1023, which a busy process has.
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


class KeptAliveClient(WebClient):
    """A `WebClient` whose calls reuse connections; see the module docstring."""

    def __init__(
        self, *args: Any, connections: ConnectionPool | None = None, **kwargs: Any
    ) -> None:
        """`connections`: another client's pool to share (Bolt's client for one request shares
        the bot's, so opening a form within Slack's three seconds needs no new handshake)."""
        super().__init__(*args, **kwargs)
        self.connections = connections or ConnectionPool(timeout=self.timeout, context=self.ssl)

    def _perform_urllib_http_request_internal(self, url: str, req: Request) -> dict[str, Any]:
        split = urlsplit(url)
        scheme = split.scheme.lower()
        if self.proxy is not None or scheme not in ("http", "https") or not split.hostname:
            return super()._perform_urllib_http_request_internal(url, req)
        origin = (scheme, split.hostname, split.port or (443 if scheme == "https" else 80))
        target = split.path or "/"
        if split.query:
            target += "?" + split.query
        headers = dict(req.header_items())
        connection, kept = self.connections.take(origin)
        while True:
            try:
                status, message, body, reason, closing = _exchange(connection, target, req, headers)
                break
            except (_Unsent, http.client.RemoteDisconnected, ConnectionResetError) as error:
                connection.close()
                if not kept:
                    if isinstance(error, _Unsent):
                        raise URLError(error.reason) from error.reason
                    raise
                # The server closed the kept connection as we used it: it did not read the
                # request. Once more, on a new connection.
                connection, kept = self.connections.open(origin), False
            except BaseException:
                connection.close()
                raise
        if closing:
            connection.close()
        else:
            self.connections.give_back(origin, connection)
        if not 200 <= status < 300:
            raise HTTPError(url, status, reason, message, io.BytesIO(body))
        if message.get_content_type() == "application/gzip":
            return {"status": status, "headers": message, "body": body}
        charset = message.get_content_charset() or "utf-8"
        return {"status": status, "headers": message, "body": body.decode(charset)}


class _Unsent(Exception):
    """Connecting or sending the request failed (`reason`): the server never read it."""

    def __init__(self, reason: OSError) -> None:
        super().__init__(reason)
        self.reason = reason


def _exchange(
    connection: http.client.HTTPConnection, target: str, req: Request, headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, bytes, str, bool]:
    """One request and its whole answer, read to the end so that the connection can be used
    again; the last item says whether the server closes the connection after it. As in
    urllib, a failure to connect or send is told apart (`_Unsent`, a `URLError` to slack_sdk)
    from one while waiting for the answer (a timeout there is not retried)."""
    try:
        connection.request("POST", target, body=req.data, headers=headers)
    except OSError as error:
        raise _Unsent(error) from error
    response = connection.getresponse()
    body = response.read()
    return response.status, response.msg, body, response.reason, bool(response.will_close)
