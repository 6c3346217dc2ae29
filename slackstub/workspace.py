"""A small Slack in a browser page, on top of the fake Web API.

`Workspace` is the `FakeSlack` the tests use, plus what a person needs to use the bot without
Slack: people and channels, a page (slackstub/web/) that shows what the bot posted, and the
page's calls (a slash command typed, a button clicked, a form submitted) turned into requests
signed as Slack signs them and sent to the app's real HTTP endpoint. Answers come back the
ways Slack delivers them: the HTTP answer to the request (ack text, response_action), Web API
calls (chat.postMessage, views.open…) and POSTs to response_url.
"""

from __future__ import annotations

import base64
import itertools
import json
import mimetypes
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from . import requests as slack_requests
from .server import BOT_USER_ID, FakeSlack, Json, _dm_channel, _parse_args

# The page's calls are small JSON documents; anything larger is not from the page.
MAX_PAGE_BODY = 256 * 1024
# How long a slash command or click may take before the page is told it failed (Slack: 3 s,
# generous here because a first request warms the app).
FORWARD_TIMEOUT = 10


@dataclass(frozen=True)
class Person:
    """Someone the page can act as."""

    id: str
    name: str
    role: str


@dataclass
class _Origin:
    """Where a response_url's answers go: the channel and person, and the message (or the
    ephemeral message) the click came from."""

    channel: str
    user: str
    message_ts: str | None = None
    ephemeral_id: str | None = None


class PageError(Exception):
    """A call from the page that cannot be carried out (answered 400 with the reason)."""


class Workspace(FakeSlack):
    """The fake Web API plus the page, wired to an app at `request_url` with `signing_secret`."""

    def __init__(
        self,
        *,
        people: list[Person],
        channels: dict[str, str],
        signing_secret: str,
        request_url: str = "",
        port: int = 0,
    ) -> None:
        super().__init__(port=port)
        self.people = list(people)
        self.channels = dict(channels)
        self.signing_secret = signing_secret
        self.request_url = request_url
        self._version = 0
        self._ephemerals: list[Json] = []
        self._origins: dict[str, _Origin] = {}
        self._triggers: dict[str, str] = {}
        self._stacks: dict[str, list[str]] = {}
        self._errors: dict[str, Json] = {}
        self._page_ids = itertools.count(1)
        self._last_ts_micros = 0
        for person in people:
            self.set_user(person.id, real_name=person.name)

    # ------------------------------------------------------------------ bookkeeping

    def _changed(self) -> None:
        with self._lock:
            self._version += 1

    def _handle_api(
        self, method: str, full_path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Json | str]:
        answer = super()._handle_api(method, full_path, headers, raw)
        self._changed()
        return answer

    def _next_ts(self) -> str:
        # Real times, so the page shows when things happened; still unique and increasing.
        with self._lock:
            micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
            self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _page_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._page_ids)}"

    def _new_trigger(self, user: str) -> str:
        trigger = f"{int(time.time())}.{self._page_id('')}.sandbox"
        with self._lock:
            self._triggers[trigger] = user
        return trigger

    def _new_response_url(self, origin: _Origin) -> str:
        key = self._page_id("r")
        with self._lock:
            self._origins[key] = origin
        return f"{self.origin}/response/{key}"

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._ephemerals.clear()
            self._origins.clear()
            self._triggers.clear()
            self._stacks.clear()
            self._errors.clear()
            self._version += 1

    def save(self, path: Path) -> None:
        """Write the channels' messages and the uploaded files to `path` (JSON), so a sandbox
        that keeps its database (--db) finds the messages its records point at next time."""
        with self._lock:
            data = {
                "messages": [{"channel": ch, "message": m} for (ch, _), m in self._messages.items()],
                "files": [
                    {**f, "content": base64.b64encode(f["content"]).decode()}
                    for f in self._files.values()
                    if f.get("content") is not None
                ],
            }
        path.write_text(json.dumps(data, default=str), encoding="utf-8")

    def load(self, path: Path) -> None:
        """Read back what `save` wrote; a missing or unreadable file leaves the workspace empty."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            messages = {(m["channel"], m["message"]["ts"]): m["message"] for m in data["messages"]}
            files = {
                f["id"]: {**f, "content": base64.b64decode(f["content"])} for f in data["files"]
            }
        except (OSError, ValueError, KeyError, TypeError):
            return
        with self._lock:
            self._messages.update(messages)
            self._files.update(files)
            self._version += 1

    # ------------------------------------------------------------------ Web API additions

    def _api_chat_postEphemeral(self, args: Json) -> Json:
        answer = super()._api_chat_postEphemeral(args)
        if answer.get("ok"):
            self._add_ephemeral(
                _dm_channel(args["channel"]), args["user"], args, ts=answer["message_ts"]
            )
        return answer

    def _open_view(self, args: Json, *, push: bool) -> Json:
        answer = super()._api_views_open(args)
        if answer.get("ok"):
            user = self._triggers.get(str(args.get("trigger_id")), "")
            stack = self._stacks.setdefault(user, [])
            if not push:
                stack.clear()
            stack.append(answer["view"]["id"])
        return answer

    def _api_views_open(self, args: Json) -> Json:
        return self._open_view(args, push=False)

    def _api_views_push(self, args: Json) -> Json:
        return self._open_view(args, push=True)

    def _api_views_update(self, args: Json) -> Json:
        answer = super()._api_views_update(args)
        if answer.get("ok"):
            self._errors.pop(answer["view"]["id"], None)
        return answer

    def _api_files_completeUploadExternal(self, args: Json) -> Json:
        answer = super()._api_files_completeUploadExternal(args)
        channel = args.get("channel_id") or args.get("channels")
        if answer.get("ok") and channel:
            channel = _dm_channel(str(channel).split(",")[0])
            ts = self._next_ts()
            message: Json = {
                "type": "message",
                "user": BOT_USER_ID,
                "text": args.get("initial_comment", ""),
                "ts": ts,
                "files": [
                    {k: f[k] for k in ("id", "name", "title", "size")} for f in answer["files"]
                ],
            }
            if args.get("thread_ts"):
                message["thread_ts"] = args["thread_ts"]
            self._messages[(channel, ts)] = message
        return answer

    def _handle_response_url(
        self, key: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], str]:
        answer = super()._handle_response_url(key, headers, raw)
        try:
            args = _parse_args("", headers, raw)
        except (ValueError, UnicodeDecodeError):
            return 400, {}, "invalid_payload"
        with self._lock:
            origin = self._origins.get(key)
            if origin is not None:
                self._deliver(origin, args)
            self._version += 1
        return answer

    def _deliver(self, origin: _Origin, args: Json) -> None:
        """What Slack does with a POST to a response_url."""
        if _true(args.get("delete_original")):
            self._forget_original(origin)
            return
        if _true(args.get("replace_original")):
            if origin.ephemeral_id is not None:
                for ephemeral in self._ephemerals:
                    if ephemeral["id"] == origin.ephemeral_id:
                        ephemeral["text"] = args.get("text", "")
                        ephemeral["blocks"] = args.get("blocks") or []
                        return
            elif origin.message_ts is not None:
                current = self._messages.get((origin.channel, origin.message_ts))
                if current is not None:
                    updated = {**current, "text": args.get("text", "")}
                    updated["blocks"] = args.get("blocks") or []
                    updated["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
                    self._messages[(origin.channel, origin.message_ts)] = updated
                    return
        if args.get("response_type") == "in_channel":
            ts = self._next_ts()
            message = self._bot_message(args, ts)
            self._messages[(origin.channel, ts)] = message
            return
        self._add_ephemeral(origin.channel, origin.user, args)

    def _forget_original(self, origin: _Origin) -> None:
        if origin.ephemeral_id is not None:
            self._ephemerals[:] = [e for e in self._ephemerals if e["id"] != origin.ephemeral_id]
        elif origin.message_ts is not None:
            self._messages.pop((origin.channel, origin.message_ts), None)

    # ------------------------------------------------------------------ the page

    def _handle_get(self, path: str, query: str) -> tuple[int, dict[str, str], Json | str | bytes]:
        if path in ("/", "/index.html"):
            return self._static("index.html")
        if path.startswith("/static/"):
            return self._static(path.removeprefix("/static/"))
        if path == "/sandbox/state":
            params = dict(parse_qsl(query))
            return 200, {"Cache-Control": "no-store"}, self.state(
                user=params.get("user", ""),
                channel=params.get("channel", ""),
                since=_int(params.get("since")),
            )
        if path.startswith("/files/"):
            found = self.file(path.removeprefix("/files/"))
            if found is None or found.get("content") is None:
                return 404, {}, "no such file"
            kind = mimetypes.guess_type(found["name"])[0] or "application/octet-stream"
            return 200, {"Content-Type": kind}, found["content"]
        return 404, {}, "not found"

    def _static(self, name: str) -> tuple[int, dict[str, str], str | bytes]:
        if "/" in name or name.startswith("."):
            return 404, {}, "not found"
        try:
            data = resources.files("slackstub").joinpath("web", name).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            return 404, {}, "not found"
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith("javascript"):
            kind += "; charset=utf-8"
        return 200, {"Content-Type": kind, "Cache-Control": "no-store"}, data

    def _handle_other_post(
        self, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Json | str | bytes]:
        calls = {
            "/sandbox/send": self.send,
            "/sandbox/action": self.act,
            "/sandbox/submit": self.submit,
            "/sandbox/close": self.close_view,
            "/sandbox/suggest": self.suggest,
            "/sandbox/home": self.open_home,
        }
        call = calls.get(path)
        if call is None:
            return 404, {}, "not found"
        if len(raw) > MAX_PAGE_BODY:
            return 413, {}, {"ok": False, "error": "too large"}
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
            if not isinstance(body, dict):
                raise PageError("send a JSON object")
            self._person(str(body.get("user", "")))
            answer = call(body)
        except (ValueError, UnicodeDecodeError) as error:
            return 400, {}, {"ok": False, "error": f"not JSON: {error}"}
        except PageError as error:
            return 400, {}, {"ok": False, "error": str(error)}
        self._changed()
        return 200, {}, answer

    def _person(self, user: str) -> Person:
        for person in self.people:
            if person.id == user:
                return person
        raise PageError(f"no person {user!r} in this workspace")

    def state(self, *, user: str, channel: str, since: int | None = None) -> Json:
        """What the page shows `user` with `channel` open; only the version when nothing
        changed since `since`."""
        with self._lock:
            if since is not None and since == self._version:
                return {"version": self._version}
            messages = sorted(
                (m for (ch, _), m in self._messages.items() if ch == channel),
                key=lambda m: float(m["ts"]),
            )
            ephemerals = [
                e for e in self._ephemerals if e["user"] == user and e["channel"] == channel
            ]
            stack = self._stacks.get(user, [])
            modals = []
            for view_id in stack:
                view = self._views.get(view_id)
                if view is not None:
                    modals.append({**view, "errors": self._errors.get(view_id, {})})
            home = self._views.get(f"VH{user}")
            counts: dict[str, int] = {}
            for ch, _ in self._messages:
                counts[ch] = counts.get(ch, 0) + 1
            return json.loads(
                json.dumps(
                    {
                        "version": self._version,
                        "people": [p.__dict__ for p in self.people],
                        "channels": [
                            {"id": cid, "name": name, "messages": counts.get(cid, 0)}
                            for cid, name in self.channels.items()
                        ],
                        "messages": messages,
                        "ephemerals": ephemerals,
                        "modals": modals,
                        "home": home,
                    },
                    default=str,
                )
            )

    # ------------------------------------------------------------------ page calls → the app

    def _forward(self, body: str) -> tuple[int, Any]:
        """Send `body` to the app, signed, and return its status and (parsed) answer."""
        if not self.request_url:
            raise PageError("no app is connected to this workspace")
        request = urllib.request.Request(
            self.request_url,
            data=body.encode("utf-8"),
            headers=slack_requests.sign(body, self.signing_secret),
        )
        try:
            with urllib.request.urlopen(request, timeout=FORWARD_TIMEOUT) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError as error:
            return 0, f"the app did not answer ({error})"
        text = raw.decode("utf-8", "replace")
        if text[:1] in ("{", "["):
            try:
                return status, json.loads(text)
            except json.JSONDecodeError:
                pass
        return status, text

    def _add_ephemeral(
        self, channel: str, user: str, args: Json, *, ts: str | None = None, slackbot: bool = False
    ) -> None:
        """A message only `user` sees in `channel` (postEphemeral, a response_url answer, or
        Slackbot telling the person that something failed)."""
        blocks = args.get("blocks")
        with self._lock:
            self._ephemerals.append(
                {
                    "id": self._page_id("E"),
                    "channel": channel,
                    "user": user,
                    "ts": ts or self._next_ts(),
                    "text": args.get("text", ""),
                    "blocks": blocks if isinstance(blocks, list) else [],
                    "thread_ts": args.get("thread_ts"),
                    "from_slackbot": slackbot,
                }
            )

    def _failed(self, channel: str, user: str, what: str, status: int, answer: Any) -> Json:
        detail = answer if isinstance(answer, str) else json.dumps(answer)
        text = f"{what} failed: the app answered HTTP {status}. {detail[:300]}"
        self._add_ephemeral(channel, user, {"text": text}, slackbot=True)
        return {"ok": False, "status": status, "error": text}

    def send(self, body: Json) -> Json:
        """The message box: a slash command goes to the app; other text is posted as the
        person's own message."""
        user, channel = str(body["user"]), str(body.get("channel", ""))
        text = str(body.get("text", "")).strip()
        if channel not in self.channels and channel != "D" + user:
            raise PageError(f"no channel {channel!r}")
        if not text:
            raise PageError("nothing to send")
        if not text.startswith("/"):
            with self._lock:
                ts = self._next_ts()
                self._messages[(channel, ts)] = {"type": "message", "user": user, "text": text, "ts": ts}
            return {"ok": True}
        command, _, rest = text.partition(" ")
        origin = _Origin(channel=channel, user=user)
        payload = slack_requests.slash_command(
            command,
            rest.strip(),
            user_id=user,
            channel_id=channel,
            trigger_id=self._new_trigger(user),
            response_url=self._new_response_url(origin),
        )
        status, answer = self._forward(payload)
        if status != 200:
            return self._failed(channel, user, command, status, answer)
        if isinstance(answer, dict) and (answer.get("text") or answer.get("blocks")):
            with self._lock:
                self._deliver(origin, answer)
        elif isinstance(answer, str) and answer.strip():
            self._add_ephemeral(channel, user, {"text": answer})
        return {"ok": True}

    def act(self, body: Json) -> Json:
        """A click or a choice on a message, an ephemeral message, a modal or the Home tab."""
        user = str(body["user"])
        action = body.get("action")
        if not isinstance(action, dict) or not action.get("action_id"):
            raise PageError("an action needs its action_id")
        action = {**action, "action_ts": f"{time.time():.6f}"}
        trigger = self._new_trigger(user)
        view_id, channel = body.get("view_id"), str(body.get("channel", ""))
        if view_id:
            view = self.view(str(view_id))
            if view is None:
                raise PageError(f"no view {view_id!r}")
            view["state"] = {"values": body.get("values") or {}}
            payload = slack_requests.block_actions(
                user_id=user, actions=[action], message=None, channel_id=None, view=view,
                trigger_id=trigger,
            )
        elif body.get("ephemeral_id"):
            ephemeral = next(
                (e for e in self._ephemerals if e["id"] == body["ephemeral_id"]), None
            )
            if ephemeral is None:
                raise PageError("that message is gone")
            origin = _Origin(channel=channel, user=user, ephemeral_id=ephemeral["id"])
            message = {"type": "message", "ts": ephemeral["ts"], "text": ephemeral["text"]}
            payload = slack_requests.block_actions(
                user_id=user, actions=[action], message=message, channel_id=channel,
                trigger_id=trigger, response_url=self._new_response_url(origin),
                container={"type": "message", "message_ts": ephemeral["ts"],
                           "channel_id": channel, "is_ephemeral": True},
            )
        else:
            message = self.message(channel, str(body.get("message_ts", "")))
            if message is None:
                raise PageError("that message is gone")
            origin = _Origin(channel=channel, user=user, message_ts=message["ts"])
            payload = slack_requests.block_actions(
                user_id=user, actions=[action], message=message, channel_id=channel,
                trigger_id=trigger, response_url=self._new_response_url(origin),
            )
        status, answer = self._forward(payload)
        if status != 200:
            return self._failed(channel or "D" + user, user, "That click", status, answer)
        return {"ok": True}

    def submit(self, body: Json) -> Json:
        """The modal's submit button: the app's answer closes, updates, pushes or errors."""
        user, view_id = str(body["user"]), str(body.get("view_id", ""))
        view = self.view(view_id)
        if view is None:
            raise PageError(f"no view {view_id!r}")
        payload = slack_requests.view_submission(
            user_id=user, view=view, values=body.get("values") or {},
            trigger_id=self._new_trigger(user),
        )
        status, answer = self._forward(payload)
        if status != 200:
            return self._failed("D" + user, user, "Submitting the form", status, answer)
        action = answer.get("response_action") if isinstance(answer, dict) else None
        with self._lock:
            stack = self._stacks.setdefault(user, [])
            if action == "errors":
                self._errors[view_id] = dict(answer.get("errors") or {})
                return {"ok": False, "errors": self._errors[view_id]}
            self._errors.pop(view_id, None)
            if action == "update":
                self._new_view(
                    answer["view"], view_id=view_id, root_view_id=view["root_view_id"],
                    previous_view_id=view["previous_view_id"],
                )
            elif action == "push":
                pushed = self._new_view(answer["view"], view_id=f"V{self._next_id():09d}")
                stack.append(pushed["id"])
            elif action == "clear":
                stack.clear()
            elif view_id in stack:
                stack.remove(view_id)
        return {"ok": True}

    def close_view(self, body: Json) -> Json:
        user, view_id = str(body["user"]), str(body.get("view_id", ""))
        view = self.view(view_id)
        with self._lock:
            stack = self._stacks.setdefault(user, [])
            if view_id in stack:
                del stack[stack.index(view_id):]
        if view is not None and view.get("notify_on_close"):
            self._forward(slack_requests.view_closed(user_id=user, view=view))
        return {"ok": True}

    def suggest(self, body: Json) -> Json:
        """Type-ahead in an external select: the app's options for what was typed."""
        user = str(body["user"])
        view = self.view(str(body.get("view_id", "")))
        payload = slack_requests.block_suggestion(
            user_id=user, action_id=str(body.get("action_id", "")),
            block_id=str(body.get("block_id", "")), value=str(body.get("value", "")), view=view,
        )
        status, answer = self._forward(payload)
        if status != 200 or not isinstance(answer, dict):
            return {"ok": False, "options": [], "option_groups": []}
        return {"ok": True, "options": answer.get("options", []),
                "option_groups": answer.get("option_groups", [])}

    def open_home(self, body: Json) -> Json:
        """The person opened the app's Home tab: Slack sends app_home_opened."""
        user = str(body["user"])
        event = {
            "type": "app_home_opened", "user": user, "channel": "D" + user, "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        status, answer = self._forward(slack_requests.event_callback(event))
        return {"ok": status == 200}


def _true(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


__all__ = ["PageError", "Person", "Workspace"]
