"""`POST /capacity/<item>/<metric>`: capacity measurements from monitoring, on the bot's HTTP
port in HTTP mode and in Socket Mode alike (bot.http routes to it).

The caller sends `Authorization: Bearer <CAPACITY_TOKEN>` and a JSON object
`{"value": 71.5, "at": "2026-11-27T10:00:00Z"}` (`at` optional: now). Every answer is JSON:
201 stored (200 when the same item, metric and time was stored before), 400 a body that is
not such an object (`{"error": "…"}` says what), 401 a missing or wrong token, 403 no token
configured (the endpoint is off), 404 an item and metric `[[capacity]]` does not require,
405 not a POST, 413 a body over 4 KiB."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from bot.db import Database
from models.policy import Policy
from services import capacity
from services.clock import Clock
from services.errors import InvalidInput, NotFound

log = logging.getLogger(__name__)

PREFIX = "/capacity/"
MAX_BODY = 4096
FIELDS = {"value", "at"}

StartResponse = Callable[..., Any]


class _Refused(Exception):
    def __init__(self, status: str, message: str, headers: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or []


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


class CapacityEndpoint:
    """The WSGI application behind `/capacity/`. `token` None: every request is refused."""

    def __init__(self, *, db: Database, policy: Policy, clock: Clock, token: str | None) -> None:
        self.db = db
        self.policy = policy
        self.clock = clock
        self.token = token.encode() if token else None

    @staticmethod
    def handles(environ: dict[str, Any]) -> bool:
        return str(environ.get("PATH_INFO") or "").startswith(PREFIX)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, answer = self._handle(environ)
            headers: list[tuple[str, str]] = []
        except _Refused as refused:
            status, answer, headers = refused.status, {"error": str(refused)}, refused.headers
        except Exception:  # noqa: BLE001 - a caller gets JSON, the log gets the traceback
            log.exception("a capacity measurement could not be stored")
            status, answer, headers = "500 Internal Server Error", {"error": "not stored"}, []
        body = json.dumps(answer).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                *headers,
            ],
        )
        return [body]

    def _handle(self, environ: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if environ.get("REQUEST_METHOD") != "POST":
            raise _Refused("405 Method Not Allowed", "use POST", [("Allow", "POST")])
        if self.token is None:
            raise _Refused(
                "403 Forbidden", "capacity measurements are off: CAPACITY_TOKEN is not set"
            )
        offered = str(environ.get("HTTP_AUTHORIZATION") or "")
        scheme, _, credential = offered.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credential.strip().encode("utf-8", "surrogateescape"), self.token
        ):
            raise _Refused(
                "401 Unauthorized",
                "a valid bearer token is required",
                [("WWW-Authenticate", 'Bearer realm="capacity"')],
            )
        item, metric = self._target(environ)
        payload = self._payload(environ)
        now = self.clock.now()
        try:
            capacity.requirement(self.policy, item=item, metric=metric)
            with self.db.session() as session:
                result = capacity.record(
                    session,
                    policy=self.policy,
                    item=item,
                    metric=metric,
                    value=payload.get("value"),
                    at=payload.get("at"),
                    now=now,
                )
        except NotFound as error:
            raise _Refused("404 Not Found", str(error)) from None
        except InvalidInput as error:
            raise _Refused("400 Bad Request", str(error)) from None
        return ("201 Created" if result.stored else "200 OK"), {
            "stored": result.stored,
            "level": result.level.value,
            "forecast_critical_at": (
                result.forecast_at.isoformat() if result.forecast_at is not None else None
            ),
            "alerts": [alert.kind for alert in result.alerts],
        }

    @staticmethod
    def _target(environ: dict[str, Any]) -> tuple[str, str]:
        # The raw URI keeps an encoded "/" inside a name apart from the separators.
        raw = str(environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "")
        parts = raw.split("?", 1)[0].split("/")
        if len(parts) != 4 or parts[1] != PREFIX.strip("/") or not parts[2] or not parts[3]:
            raise _Refused("404 Not Found", "post to /capacity/<item>/<metric>")
        try:
            return unquote(parts[2], errors="strict"), unquote(parts[3], errors="strict")
        except UnicodeDecodeError:
            raise _Refused("404 Not Found", "the item or metric is not UTF-8") from None

    @staticmethod
    def _payload(environ: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _Refused("400 Bad Request", "Content-Length is not a number") from None
        if length > MAX_BODY:
            raise _Refused("413 Payload Too Large", f"the body is over {MAX_BODY} bytes")
        stream = environ.get("wsgi.input")
        raw = stream.read(length) if stream is not None and length > 0 else b""
        try:
            payload = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise _Refused(
                "400 Bad Request",
                'the body must be a JSON object like {"value": 71.5, "at": "2026-11-27T10:00:00Z"}',
            ) from None
        if not isinstance(payload, dict):
            raise _Refused("400 Bad Request", "the body must be a JSON object")
        unknown = sorted(str(key)[:40] for key in payload if key not in FIELDS)
        if unknown:
            raise _Refused(
                "400 Bad Request", f"unknown field(s): {', '.join(unknown)}; send value and at"
            )
        if "value" not in payload:
            raise _Refused("400 Bad Request", "value is missing")
        return payload

