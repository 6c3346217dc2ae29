"""The HTTP side: Bolt's WSGI adapter behind waitress, plus a health check and /metrics."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context

from bot.capacity_http import CapacityEndpoint
from bot.context import HeldWork
from bot.db import Database
from bot.gate import MALFORMED
from bot.metrics import CONTENT_TYPE, Metrics
from bot.payloads import UNREADABLE_BODY

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Slack's largest payloads (a form with many long fields) are a few hundred kilobytes; waitress
# answers 413 to anything larger before reading it.
MAX_BODY_BYTES = 1024 * 1024


class _SlackHandler(SlackRequestHandler):
    """Bolt's WSGI handler, with two repairs.

    Bolt parses the body while building its request, before the signature is checked, so a
    body it cannot parse (bytes that are not UTF-8, a `payload=` that is not JSON, nesting
    deep enough to exhaust the stack, JSON that is not an object) was a 500. Such a body is
    handed on unparsed and marked unreadable: the gate (bot.gate) then answers 401 when it is
    not signed and 400 when it is.

    Bolt also takes any form body containing the word "payload" for an interactivity payload,
    so `/incident Kafka payload too large` would reach no listener. Such a slash command is
    parsed again from its raw form (the raw body, and so the signature check, is untouched)."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        raw = _read_body(request.environ)
        # surrogateescape keeps every byte, so the signature is checked over exactly what came.
        text = raw.decode("utf-8", "surrogateescape")
        headers = request.get_headers()
        try:
            if not _is_utf8(raw):
                raise ValueError("the body is not UTF-8")
            bolt_request = BoltRequest(body=text, query=request.query_string, headers=headers)
            if not isinstance(bolt_request.body, dict):
                raise ValueError("the body is not an object")
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError):
            bolt_request = BoltRequest(body="", query=request.query_string, headers=headers)
            bolt_request.raw_body = text
            bolt_request.body = dict(UNREADABLE_BODY)
            return self.app.dispatch(bolt_request)
        if not bolt_request.body and bolt_request.raw_body:
            form = dict(parse_qsl(bolt_request.raw_body, keep_blank_values=True))
            if "command" in form and "payload" not in form:
                bolt_request.body = form
                bolt_request.context = build_context(BoltContext(), form)
        try:
            return self.app.dispatch(bolt_request)
        except Exception:
            # Bolt's dispatch catches what listeners and middleware raise; what still escapes
            # came from Bolt reading a signed payload whose shape the gate let through.
            log.exception("Bolt could not dispatch a signed request; answered 400")
            return BoltResponse(status=400, body=MALFORMED)


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return stream.read(length) if length > 0 else b""


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def make_wsgi_app(
    app: App | None,
    db: Database,
    metrics: Metrics | None = None,
    capacity: CapacityEndpoint | None = None,
) -> Callable[..., Iterable[bytes]]:
    """/slack/events (when there is an `app`: not in Socket Mode), /healthz, /metrics (the
    app's own metrics unless others are given) and /capacity/… (when `capacity` is given)."""
    slack = _SlackHandler(app, path=EVENTS_PATH) if app is not None else None
    metrics = metrics or getattr(app, "metrics", None)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (
            environ.get("PATH_INFO") == "/metrics"
            and environ.get("REQUEST_METHOD") == "GET"
            and metrics is not None
        ):
            body = metrics.exposition()
            start_response(
                "200 OK", [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(body)))]
            )
            return [body]
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            try:
                with db.engine.connect() as connection:
                    connection.exec_driver_sql("SELECT 1")
                status, body = "200 OK", b"ok\n"
            except Exception:
                status, body = "503 Service Unavailable", b"database unavailable\n"
            start_response(
                status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            )
            return [body]
        if capacity is not None and capacity.handles(environ):
            return capacity(environ, start_response)
        if slack is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        held = HeldWork()
        try:
            with held:
                answer = slack(environ, start_response)
        except BaseException:
            held.release()
            raise
        return _ReleasedOnClose(answer, held)

    return wsgi


class _ReleasedOnClose:
    """A WSGI response whose listener's follow-up work starts when the server closes it, that
    is once the server holds the whole answer (PEP 3333: close() is called whatever happened
    to the write, a client that went away included)."""

    def __init__(self, answer: Iterable[bytes], held: HeldWork) -> None:
        # Bolt's WSGI adapter answers with a list of one body, its length already a header.
        self.answer = list(answer)
        self.held = held

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.answer)

    def __len__(self) -> int:
        return len(self.answer)

    def close(self) -> None:
        self.held.release()


def serve(
    app: App,
    db: Database,
    *,
    host: str,
    port: int,
    threads: int = 8,
    metrics: Metrics | None = None,
    capacity: CapacityEndpoint | None = None,
) -> None:
    """Serve until interrupted, with waitress (a production WSGI server, pure Python)."""
    import waitress

    waitress.serve(
        make_wsgi_app(app, db, metrics, capacity),
        host=host,
        port=port,
        threads=threads,
        ident="servicedesk",
        max_request_body_size=MAX_BODY_BYTES,
    )


def make_server(
    app: App | None,
    db: Database,
    *,
    host: str,
    port: int,
    threads: int = 8,
    metrics: Metrics | None = None,
    capacity: CapacityEndpoint | None = None,
) -> Any:
    """A waitress server object, for tests that start and stop it."""
    from waitress.server import create_server

    return create_server(
        make_wsgi_app(app, db, metrics, capacity),
        host=host,
        port=port,
        threads=threads,
        ident="servicedesk",
        max_request_body_size=MAX_BODY_BYTES,
    )


def serve_in_background(
    app: App | None,
    db: Database,
    *,
    host: str,
    port: int,
    metrics: Metrics | None = None,
    capacity: CapacityEndpoint | None = None,
) -> Any:
    """Serve on a daemon thread (Socket Mode: /metrics, /healthz and /capacity/… only);
    returns the server. A port already taken is an OSError here, before Socket Mode connects."""
    server = make_server(
        app, db, host=host, port=port, threads=2, metrics=metrics, capacity=capacity
    )

    def run() -> None:
        try:
            server.run()
        except OSError:
            pass  # closed: the process is stopping

    threading.Thread(target=run, name="servicedesk-metrics", daemon=True).start()
    return server
