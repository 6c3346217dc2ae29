"""The HTTP side: Bolt's WSGI adapter behind waitress, plus a health check."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context

from bot.db import Database

EVENTS_PATH = "/slack/events"


class _SlackHandler(SlackRequestHandler):
    """Bolt's WSGI handler, with one repair: Bolt takes any form body containing the word
    "payload" for an interactivity payload, so `/incident Kafka payload too large` would reach
    no listener. Such a slash command is parsed again from its raw form (the raw body, and so
    the signature check, is untouched)."""

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        bolt_request = BoltRequest(
            body=request.get_body(), query=request.query_string, headers=request.get_headers()
        )
        if not bolt_request.body and bolt_request.raw_body:
            form = dict(parse_qsl(bolt_request.raw_body, keep_blank_values=True))
            if "command" in form and "payload" not in form:
                bolt_request.body = form
                bolt_request.context = build_context(BoltContext(), form)
        return self.app.dispatch(bolt_request)


def make_wsgi_app(app: App, db: Database) -> Callable[..., Iterable[bytes]]:
    slack = _SlackHandler(app, path=EVENTS_PATH)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
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
        return slack(environ, start_response)

    return wsgi


def serve(app: App, db: Database, *, host: str, port: int, threads: int = 8) -> None:
    """Serve until interrupted, with waitress (a production WSGI server, pure Python)."""
    import waitress

    waitress.serve(
        make_wsgi_app(app, db), host=host, port=port, threads=threads, ident="servicedesk"
    )


def make_server(app: App, db: Database, *, host: str, port: int, threads: int = 8) -> Any:
    """A waitress server object, for tests that start and stop it."""
    from waitress.server import create_server

    return create_server(
        make_wsgi_app(app, db), host=host, port=port, threads=threads, ident="servicedesk"
    )
