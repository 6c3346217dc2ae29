"""A stand-in for Slack's Web API, served over loopback HTTP.

The real slack_sdk ``WebClient`` talks to it through ``base_url=fake.url``, so tests exercise
the same request encoding, error handling and retry handlers as production does.
"""

from __future__ import annotations

import copy
import email.parser
import email.policy
import itertools
import json
import math
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

# Form-encoded calls carry these as JSON strings; tests want to read them as objects.
JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "files", "user_auth_blocks", "outputs"}
)

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"
TEAM_NAME = "Test"
TEAM_URL = "https://test.slack.com/"
APP_ID = "A1"

Json = dict[str, Any]


@dataclass
class Call:
    """One request the fake received."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float = field(default_factory=time.time)
    failed: bool = False
    response: dict[str, Any] | None = None


@dataclass
class _Failure:
    method: str | None
    status: int
    remaining: int
    headers: dict[str, str]
    body: Json | str


class _Handler(BaseHTTPRequestHandler):
    # Connections stay open between requests, as Slack's do (every answer has a length).
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes: without this, on a kept connection the body waits for
    # the client's delayed acknowledgement of the headers (40 ms on Linux).
    disable_nagle_algorithm = True
    # A connection idle this long is closed, as Slack's edge does, so that the threads of
    # clients long gone do not pile up.
    timeout = 10
    server: _Server

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        fake = self.server.fake
        if path.startswith("/api/"):
            status, headers, body = fake._handle_api(
                path.removeprefix("/api/"), self.path, dict(self.headers.items()), raw
            )
        elif path.startswith("/upload/"):
            status, headers, body = fake._handle_upload(path.removeprefix("/upload/"), raw)
        elif path.startswith("/response/"):
            status, headers, body = fake._handle_response_url(
                path.removeprefix("/response/"), dict(self.headers.items()), raw
            )
        else:
            status, headers, body = fake._handle_other_post(path, dict(self.headers.items()), raw)
        self._send(status, headers, body)

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        self._send(*self.server.fake._handle_get(split.path, split.query))

    def _send(self, status: int, headers: dict[str, str], body: Json | str | bytes) -> None:
        headers = dict(headers)
        if isinstance(body, bytes):
            data = body
            content_type = headers.pop("Content-Type", "application/octet-stream")
        elif isinstance(body, str):
            data = body.encode("utf-8")
            content_type = "text/plain; charset=utf-8"
        else:
            data = json.dumps(body).encode("utf-8")
            content_type = "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep pytest output quiet


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeSlack

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.accepted = 0  # connections, for tests of a client that keeps them
        self.open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._sockets_lock:
            self.accepted += 1
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up on a kept connection (reset, broken pipe) is not an error
        worth a traceback on stderr; anything else is printed as before."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def close_open_connections(self) -> None:
        """End every connection a client kept open: a stopped fake answers nothing more."""
        with self._sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    for key in JSON_FIELDS & args.keys():
        value = args[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                args[key] = json.loads(value)
            except json.JSONDecodeError:
                pass  # leave it as sent; the test can see the bad string
    return args


def _parse_multipart(content_type: str, raw: bytes) -> dict[str, Any]:
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + raw)
    args: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        args[str(name)] = payload if part.get_filename() else payload.decode("utf-8")
    return args


def _parse_args(query: str, headers: dict[str, str], raw: bytes) -> dict[str, Any]:
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if raw:
        if content_type.startswith("application/json"):
            args.update(json.loads(raw.decode("utf-8")))
        elif content_type.startswith("multipart/form-data"):
            args.update(_parse_multipart(content_type, raw))
        else:
            args.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    return _decode_json_fields(args)


def _has_token(args: dict[str, Any], headers: dict[str, str]) -> bool:
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return (auth.startswith("Bearer ") and len(auth) > len("Bearer ")) or bool(args.get("token"))


def _token(args: dict[str, Any], headers: dict[str, str]) -> str:
    auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else str(args.get("token"))


def _dm_channel(channel: str) -> str:
    # Posting to a user id lands in the DM with that user, and Slack answers with the D... id.
    return "D" + channel if channel[:1] in ("U", "W") else channel


def _assign_ids(blocks: Any, prefix: str, counter: Callable[[], int]) -> Any:
    """Give blocks and interactive elements ids the way Slack does when the sender left them out."""
    if not isinstance(blocks, list):
        return blocks
    out = []
    for block in blocks:
        block = dict(block)
        block.setdefault("block_id", f"{prefix}{counter()}")
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                block[key] = dict(block[key])
                block[key].setdefault("action_id", f"a{counter()}")
        if isinstance(block.get("elements"), list) and block.get("type") == "actions":
            block["elements"] = [
                {**element, "action_id": element.get("action_id") or f"a{counter()}"}
                for element in block["elements"]
            ]
        out.append(block)
    return out


class FakeSlack:
    """A fake Slack Web API on 127.0.0.1 with an OS-chosen port.

    Every call is recorded; answers mimic Slack's shapes closely enough for slack_sdk and Bolt.
    """

    def __init__(self, *, port: int = 0) -> None:
        self._port = port
        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._down = False
        self._delays: dict[str, tuple[float, int | None]] = {}
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._messages: dict[tuple[str, str], Json] = {}
        self._views: dict[str, Json] = {}
        self._usergroups: dict[str, Json] = {}
        self._users: dict[str, Json] = {}
        self._files: dict[str, Json] = {}
        # Channels the bot created (conversations.create), by id.
        self._channels: dict[str, Json] = {}
        self._refused_tokens: dict[str, str] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # Opt-in: Slack's per-channel pace (seconds per post, burst allowed) and, per
        # channel, the rate algorithm's theoretical arrival time.
        self._post_interval: float | None = None
        self._post_burst = 1
        self._post_tat: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_open_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """Base URL for ``WebClient(base_url=...)``."""
        return f"{self.origin}/api/"

    def response_url(self) -> str:
        """A fresh response_url served by this fake; POSTs to it are recorded as "response_url"."""
        return f"{self.origin}/response/{self._next_id()}"

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far: a client that keeps them alive opens few."""
        return self._server.accepted if self._server is not None else 0

    # ------------------------------------------------------------------ recorded calls

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> Call | None:
        found = self.calls(method)
        return found[-1] if found else None

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` were recorded, and return them all."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                seen = [c.method for c in self.calls()]
                raise AssertionError(
                    f"expected {count} call(s) of {method} within {timeout}s, "
                    f"got {len(found)}; recorded: {seen}"
                )
            time.sleep(0.01)

    def reset(self) -> None:
        """Forget calls, failures, messages, views, files and refused tokens; keep users and
        usergroups."""
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._down = False
            self._delays.clear()
            self._messages.clear()
            self._views.clear()
            self._files.clear()
            self._channels.clear()
            self._post_interval = None
            self._post_tat.clear()
            self._refused_tokens.clear()

    # ------------------------------------------------------------------ failure injection

    def fail_next(
        self,
        method: str | None = None,
        *,
        status: int = 500,
        count: int = 1,
        headers: dict[str, str] | None = None,
        body: Json | str | None = None,
    ) -> None:
        """Answer the next ``count`` calls (of ``method``, or any) with HTTP ``status``."""
        if headers is None:
            headers = {"Retry-After": "1"} if status == 429 else {}
        if body is None:
            body = {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}
        with self._lock:
            self._failures.append(_Failure(method, status, count, dict(headers), body))

    def delay(self, method: str, seconds: float, *, count: int | None = None) -> None:
        """A slow Slack: the next ``count`` calls of ``method`` (every one when None) are
        recorded at once but take effect and are answered only after ``seconds``."""
        with self._lock:
            self._delays[method] = (seconds, count)

    def _take_delay(self, method: str) -> float:
        with self._lock:
            seconds, count = self._delays.get(method, (0.0, None))
            if count is not None:
                if count <= 0:
                    return 0.0
                self._delays[method] = (seconds, count - 1)
            return seconds

    def rate_limit_posts(self, per_second: float | None = 1.0, *, burst: int = 1) -> None:
        """Enforce Slack's per-channel pace on chat.postMessage: `per_second` posts a second
        per channel, `burst` of them at once at most. A post over that is answered 429 with
        Retry-After (and recorded as a failed call). None turns it off."""
        with self._lock:
            self._post_interval = None if per_second is None else 1.0 / per_second
            self._post_burst = burst
            self._post_tat.clear()

    def _paced(self, method: str, args: dict[str, Any]) -> tuple[int, dict[str, str], Json] | None:
        if self._post_interval is None or method != "chat.postMessage":
            return None
        channel = _dm_channel(str(args.get("channel", "")))
        now = time.monotonic()
        with self._lock:
            arrival = max(self._post_tat.get(channel, now), now)
            ahead = arrival - now
            if ahead > self._post_interval * (self._post_burst - 1) + 1e-6:
                wait = ahead - self._post_interval * (self._post_burst - 1)
                retry = {"Retry-After": str(max(1, math.ceil(wait)))}
                return 429, retry, {"ok": False, "error": "ratelimited"}
            self._post_tat[channel] = arrival + self._post_interval
        return None

    def refuse_token(self, token: str, error: str = "invalid_auth") -> None:
        """Answer every call made with `token` as Slack answers a bad token (auth.test
        included): ok false and `error` (invalid_auth, token_revoked, account_inactive…)."""
        with self._lock:
            self._refused_tokens[token] = error

    def down(self, is_down: bool = True) -> None:
        """While down, every API call is answered with 503."""
        with self._lock:
            self._down = is_down

    # ------------------------------------------------------------------ state set-up and reads

    def set_usergroup(
        self, group_id: str, users: list[str], *, handle: str | None = None, name: str | None = None
    ) -> None:
        with self._lock:
            self._usergroups[group_id] = {
                "id": group_id,
                "team_id": TEAM_ID,
                "handle": handle or group_id.lower(),
                "name": name or group_id,
                "users": list(users),
                "user_count": len(users),
            }

    def set_user(self, user_id: str, **fields: Any) -> None:
        """Override parts of the profile ``users.info`` returns (real_name, tz, email, ...)."""
        with self._lock:
            self._users.setdefault(user_id, {}).update(fields)

    def message(self, channel: str, ts: str) -> Json | None:
        """The latest version of a posted message, or None."""
        with self._lock:
            found = self._messages.get((_dm_channel(channel), ts))
            return json.loads(json.dumps(found)) if found is not None else None

    def messages(self, channel: str | None = None) -> list[Json]:
        with self._lock:
            found = [
                m
                for (ch, _), m in self._messages.items()
                if channel is None or ch == _dm_channel(channel)
            ]
            return json.loads(json.dumps(found))

    def view(self, view_id: str) -> Json | None:
        """The latest version of a view opened, pushed, updated or published."""
        with self._lock:
            found = self._views.get(view_id)
            return json.loads(json.dumps(found)) if found is not None else None

    def files(self) -> list[Json]:
        """Every file an upload URL was asked for, in order (content None until uploaded)."""
        with self._lock:
            return [dict(found) for found in self._files.values()]

    def file(self, file_id: str) -> Json | None:
        """An uploaded file: id, name, title, length and the uploaded ``content`` bytes."""
        with self._lock:
            found = self._files.get(file_id)
            return dict(found) if found is not None else None

    # ------------------------------------------------------------------ request handling

    def _next_id(self) -> int:
        return next(self._id_counter)

    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{1_700_000_000 + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _take_failure(self, method: str) -> tuple[int, dict[str, str], Json | str] | None:
        with self._lock:
            if self._down:
                return 503, {}, {"ok": False, "error": "service_unavailable"}
            for failure in self._failures:
                if failure.remaining > 0 and failure.method in (None, method):
                    failure.remaining -= 1
                    if failure.remaining == 0:
                        self._failures.remove(failure)
                    return failure.status, failure.headers, failure.body
        return None

    def _handle_api(
        self, method: str, full_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Json | str]:
        try:
            args = _parse_args(urlsplit(full_path).query, headers, raw)
        except (ValueError, UnicodeDecodeError):
            args = {"_raw": raw}
        call = Call(method=method, args=args, headers=headers)
        failure = self._take_failure(method) or self._paced(method, args)
        if failure is not None:
            call.failed = True
            self._record(call)
            return failure
        self._record(call)
        pause = self._take_delay(method)
        if pause > 0:
            time.sleep(pause)
        if not _has_token(args, headers):
            return 200, {}, {"ok": False, "error": "not_authed"}
        refused = self._refused_tokens.get(_token(args, headers))
        if refused is not None:
            return 200, {}, {"ok": False, "error": refused}
        present = {k: v for k, v in args.items() if v is not None}
        answer = getattr(self, "_api_" + method.replace(".", "_"), None)
        with self._lock:
            body = answer(present) if answer is not None else {"ok": True}
            call.response = body
        return 200, {}, body

    def _handle_upload(self, file_id: str, raw: bytes) -> tuple[int, dict[str, str], str]:
        with self._lock:
            found = self._files.get(file_id)
            if found is None:
                return 404, {}, "unknown upload"
            found["content"] = raw
        return 200, {}, f"OK - {len(raw)}"

    def _handle_response_url(
        self, key: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], str]:
        try:
            args = _parse_args("", headers, raw)
        except (ValueError, UnicodeDecodeError):
            args = {"_raw": raw}
        args["_response_url_id"] = key
        self._record(Call(method="response_url", args=args, headers=headers))
        return 200, {}, "ok"

    def _handle_get(self, path: str, query: str) -> tuple[int, dict[str, str], Json | str | bytes]:
        """GET requests: none in the Web API; a subclass serves pages here."""
        return 404, {}, "not found"

    def _handle_other_post(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Json | str | bytes]:
        """POSTs outside /api/, /upload/ and /response/: a subclass serves its page's calls."""
        return 404, {}, "not found"

    # ------------------------------------------------------------------ API answers
    # Each runs under the lock with None-valued arguments dropped.

    def _api_auth_test(self, args: Json) -> Json:
        return {
            "ok": True,
            "url": TEAM_URL,
            "team": TEAM_NAME,
            "user": "servicedesk",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _bot_message(self, args: Json, ts: str) -> Json:
        message: Json = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "text": args.get("text", ""),
            "ts": ts,
        }
        if "blocks" in args:
            message["blocks"] = _assign_ids(args["blocks"], "b", self._next_id)
        for key in ("attachments", "thread_ts", "metadata"):
            if key in args:
                message[key] = args[key]
        return message

    def _api_chat_postMessage(self, args: Json) -> Json:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        channel = _dm_channel(args["channel"])
        ts = self._next_ts()
        message = self._bot_message(args, ts)
        self._messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _api_chat_update(self, args: Json) -> Json:
        channel = _dm_channel(args.get("channel", ""))
        ts = args.get("ts", "")
        current = self._messages.get((channel, ts))
        if current is None:
            return {"ok": False, "error": "message_not_found"}
        # Slack keeps blocks/attachments that an update leaves out.
        updated = {**current, "text": args.get("text", current.get("text", ""))}
        if "blocks" in args:
            updated["blocks"] = _assign_ids(args["blocks"], "b", self._next_id)
        for key in ("attachments", "metadata"):
            if key in args:
                updated[key] = args[key]
        updated["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        self._messages[(channel, ts)] = updated
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": updated["text"],
            "message": updated,
        }

    def _api_chat_delete(self, args: Json) -> Json:
        key = (_dm_channel(args.get("channel", "")), args.get("ts", ""))
        if self._messages.pop(key, None) is None:
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _api_chat_postEphemeral(self, args: Json) -> Json:
        if not args.get("channel") or not args.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _api_chat_getPermalink(self, args: Json) -> Json:
        channel, ts = args.get("channel", ""), args.get("message_ts", "")
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}",
        }

    def _new_view(
        self,
        spec: Json,
        *,
        view_id: str,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> Json:
        view: Json = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": spec.get("type", "modal"),
            "blocks": _assign_ids(spec.get("blocks", []), "v", self._next_id),
            "private_metadata": spec.get("private_metadata", ""),
            "callback_id": spec.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{self._next_id():08d}",
            "clear_on_close": bool(spec.get("clear_on_close", False)),
            "notify_on_close": bool(spec.get("notify_on_close", False)),
            "external_id": spec.get("external_id", ""),
            "root_view_id": root_view_id or view_id,
            "previous_view_id": previous_view_id,
            "app_id": APP_ID,
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        for key in ("title", "close", "submit"):
            view[key] = spec.get(key)
        self._views[view_id] = view
        return view

    def _api_views_open(self, args: Json) -> Json:
        if not args.get("trigger_id") or not isinstance(args.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = f"V{self._next_id():09d}"
        return {"ok": True, "view": self._new_view(args["view"], view_id=view_id)}

    _api_views_push = _api_views_open

    def _api_views_update(self, args: Json) -> Json:
        if not isinstance(args.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        current = self._views.get(args.get("view_id", ""))
        if current is None and args.get("external_id"):
            current = next(
                (v for v in self._views.values() if v["external_id"] == args["external_id"]), None
            )
        if current is None:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != current["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view = self._new_view(
            args["view"],
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        return {"ok": True, "view": view}

    def _api_views_publish(self, args: Json) -> Json:
        if not args.get("user_id") or not isinstance(args.get("view"), dict):
            return {"ok": False, "error": "invalid_arguments"}
        view_id = f"VH{args['user_id']}"
        return {"ok": True, "view": self._new_view(args["view"], view_id=view_id)}

    def _api_conversations_open(self, args: Json) -> Json:
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}}
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        channel_id = "D" + users[0] if len(users) == 1 else "G" + "".join(sorted(users))
        return {"ok": True, "channel": {"id": channel_id}}

    # ------------------------------------------------------------------ channels

    def add_channel(self, name: str, *, channel_id: str | None = None) -> str:
        """A channel that exists already (so creating one of that name clashes)."""
        with self._lock:
            return self._new_channel(channel_id or f"C{self._next_id():08d}", name)["id"]

    def _new_channel(self, channel_id: str, name: str) -> Json:
        self._channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "topic": "",
            "members": [],
            "is_archived": False,
            # The bot is in the channels it created; tests take it out (remove_bot).
            "bot_is_member": True,
        }
        return self._channels[channel_id]

    def remove_bot(self, channel_id: str) -> None:
        """The bot was removed from the channel: renaming it or setting its topic is refused
        with not_in_channel, as Slack does."""
        with self._lock:
            self._channels[channel_id]["bot_is_member"] = False

    def _managed_channel(self, args: Json) -> tuple[Json | None, Json | None]:
        """The channel a rename or topic call is about, or Slack's refusal."""
        channel = self._known_channel(args)
        if channel is None:
            return None, {"ok": False, "error": "channel_not_found"}
        if channel["is_archived"]:
            return None, {"ok": False, "error": "is_archived"}
        if not channel["bot_is_member"]:
            return None, {"ok": False, "error": "not_in_channel"}
        return channel, None

    def channel(self, channel_id: str) -> Json | None:
        """A channel created through conversations.create (or add_channel), as Slack holds it."""
        with self._lock:
            found = self._channels.get(channel_id)
            return copy.deepcopy(found) if found is not None else None

    def _api_conversations_create(self, args: Json) -> Json:
        # Slack's rules: lower-case letters, digits, hyphens, underscores; 80 characters.
        name = str(args.get("name", ""))
        if not name:
            return {"ok": False, "error": "invalid_name_required"}
        if len(name) > 80:
            return {"ok": False, "error": "invalid_name_maxlength"}
        if not re.fullmatch(r"[a-z0-9_-]+", name):
            return {"ok": False, "error": "invalid_name_specials"}
        if any(c["name"] == name for c in self._channels.values()):
            return {"ok": False, "error": "name_taken"}
        prefix = "G" if str(args.get("is_private", "")).lower() in ("true", "1") else "C"
        channel = self._new_channel(f"{prefix}{self._next_id():08d}", name)
        return {"ok": True, "channel": copy.deepcopy(channel)}

    def _known_channel(self, args: Json) -> Json | None:
        return self._channels.get(str(args.get("channel", "")))

    def _api_conversations_rename(self, args: Json) -> Json:
        channel, refused = self._managed_channel(args)
        if channel is None:
            return refused or {"ok": False, "error": "channel_not_found"}
        name = str(args.get("name", ""))
        if not name:
            return {"ok": False, "error": "invalid_name_required"}
        if len(name) > 80:
            return {"ok": False, "error": "invalid_name_maxlength"}
        if not re.fullmatch(r"[a-z0-9_-]+", name):
            return {"ok": False, "error": "invalid_name_specials"}
        if any(c["name"] == name and c is not channel for c in self._channels.values()):
            return {"ok": False, "error": "name_taken"}
        channel["name"] = name
        return {"ok": True, "channel": copy.deepcopy(channel)}

    def _api_conversations_setTopic(self, args: Json) -> Json:
        channel, refused = self._managed_channel(args)
        if channel is None:
            return refused or {"ok": False, "error": "channel_not_found"}
        if len(str(args.get("topic", ""))) > 250:
            return {"ok": False, "error": "too_long"}
        channel["topic"] = str(args.get("topic", ""))
        return {"ok": True, "channel": copy.deepcopy(channel)}

    def _api_conversations_invite(self, args: Json) -> Json:
        channel = self._known_channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return {"ok": False, "error": "no_user"}
        if len(users) > 1000:
            return {"ok": False, "error": "too_many_users"}
        if any(u in channel["members"] for u in users):
            return {"ok": False, "error": "already_in_channel"}
        channel["members"].extend(users)
        return {"ok": True, "channel": copy.deepcopy(channel)}

    def _api_conversations_archive(self, args: Json) -> Json:
        channel = self._known_channel(args)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if channel["is_archived"]:
            return {"ok": False, "error": "already_archived"}
        channel["is_archived"] = True
        return {"ok": True}

    def _api_users_info(self, args: Json) -> Json:
        user_id = args.get("user", "")
        if not user_id:
            return {"ok": False, "error": "user_not_found"}
        overrides = self._users.get(user_id, {})
        real_name = overrides.get("real_name", f"User {user_id}")
        tz = overrides.get("tz", "Europe/London")
        offset = datetime.now(ZoneInfo(tz)).utcoffset()
        user: Json = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": user_id.lower(),
            "real_name": real_name,
            "tz": tz,
            "tz_label": tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "is_bot": False,
            "is_admin": False,
            "deleted": False,
            "profile": {
                "real_name": real_name,
                "display_name": overrides.get("display_name", real_name),
                "email": overrides.get("email", f"{user_id.lower()}@example.com"),
            },
        }
        user.update({k: v for k, v in overrides.items() if k not in ("display_name", "email")})
        return {"ok": True, "user": user}

    def _api_usergroups_users_list(self, args: Json) -> Json:
        group = self._usergroups.get(args.get("usergroup", ""))
        if group is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(group["users"])}

    def _api_usergroups_list(self, args: Json) -> Json:
        include_users = str(args.get("include_users", "")).lower() in ("1", "true")
        groups = []
        for group in self._usergroups.values():
            listed = dict(group)
            if not include_users:
                listed.pop("users")
            groups.append(listed)
        return {"ok": True, "usergroups": groups}

    def _api_reactions_add(self, args: Json) -> Json:
        if not all(args.get(k) for k in ("channel", "timestamp", "name")):
            return {"ok": False, "error": "invalid_arguments"}
        message = self._messages.get((_dm_channel(args["channel"]), args["timestamp"]))
        if message is not None:
            reactions = message.setdefault("reactions", [])
            if any(r["name"] == args["name"] for r in reactions):
                return {"ok": False, "error": "already_reacted"}
            reactions.append({"name": args["name"], "users": [BOT_USER_ID], "count": 1})
        return {"ok": True}

    def _api_files_getUploadURLExternal(self, args: Json) -> Json:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{self._next_id():09d}"
        self._files[file_id] = {
            "id": file_id,
            "name": args["filename"],
            "title": args["filename"],
            "length": int(args["length"]),
            "content": None,
        }
        return {"ok": True, "upload_url": f"{self.origin}/upload/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, args: Json) -> Json:
        requested = args.get("files")
        if not isinstance(requested, list) or not requested:
            return {"ok": False, "error": "invalid_arguments"}
        channel = args.get("channel_id") or args.get("channels")
        completed = []
        for item in requested:
            stored = self._files.get(item.get("id", ""))
            if stored is None or stored["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            stored["title"] = item.get("title") or stored["name"]
            # Where it was shared (reports: the DM or channel, in the summary's thread).
            stored["channel"] = channel
            stored["thread_ts"] = args.get("thread_ts")
            completed.append(
                {
                    "id": stored["id"],
                    "name": stored["name"],
                    "title": stored["title"],
                    "size": len(stored["content"]),
                    "channels": [channel] if channel else [],
                    "permalink": f"{TEAM_URL}files/{BOT_USER_ID}/{stored['id']}/{stored['name']}",
                }
            )
        return {"ok": True, "files": completed}
