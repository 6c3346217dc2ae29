"""The HTTP side: Bolt's WSGI adapter behind waitress, plus a health check."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.db import Database

EVENTS_PATH = "/slack/events"


def make_wsgi_app(app: App, db: Database) -> Callable[..., Iterable[bytes]]:
    slack = SlackRequestHandler(app, path=EVENTS_PATH)

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            try:
                with db.engine.connect() as connection:
                    connection.exec_driver_sql("SELECT 1")
                status, body = "200 OK", b"ok\n"
            except Exception:
                status, body = "503 Service Unavailable", b"database unavailable\n"
            start_response(status, [("Content-Type", "text/plain"),
                                    ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return wsgi


def serve(app: App, db: Database, *, host: str, port: int, threads: int = 8) -> None:
    """Serve until interrupted, with waitress (a production WSGI server, pure Python)."""
    import waitress

    waitress.serve(make_wsgi_app(app, db), host=host, port=port, threads=threads,
                   ident="servicedesk")


def make_server(app: App, db: Database, *, host: str, port: int, threads: int = 8) -> Any:
    """A waitress server object, for tests that start and stop it."""
    from waitress.server import create_server

    return create_server(make_wsgi_app(app, db), host=host, port=port, threads=threads,
                         ident="servicedesk")
