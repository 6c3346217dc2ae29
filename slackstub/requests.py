"""Requests shaped and signed the way Slack sends them to the bot."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as clock_time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

if TYPE_CHECKING:
    from .server import FakeSlack

Json = dict[str, Any]

TEAM = {"id": "T1", "domain": "test"}
APP_ID = "A1"
VERIFICATION_TOKEN = "verification-token"
# Nothing listens on the discard port, so a stray respond() fails fast instead of leaving the host.
DEFAULT_RESPONSE_URL = "http://127.0.0.1:9/response-url-not-served"

_ids = itertools.count(1)


def _trigger_id() -> str:
    return f"{int(time.time())}.{next(_ids)}.trigger"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _user(user_id: str) -> Json:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": "T1"}


def _payload_body(payload: Json) -> str:
    return urlencode({"payload": json.dumps(payload)})


# ---------------------------------------------------------------------- signing


def sign(body: str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack would send with ``body``: content type, timestamp and v0 signature."""
    ts = int(time.time()) if timestamp is None else timestamp
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(ts), body=body)
    content_type = (
        "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    )
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": signature,
    }


# ---------------------------------------------------------------------- body builders


def slash_command(
    command: str,
    text: str = "",
    *,
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = "T1",
    trigger_id: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
) -> str:
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": "test",
            "channel_id": channel_id,
            "channel_name": channel_id.lower(),
            "user_id": user_id,
            "user_name": user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or _trigger_id(),
        }
    )


def block_actions(
    *,
    user_id: str,
    actions: list[Json],
    message: Json | None,
    channel_id: str | None,
    view: Json | None = None,
    trigger_id: str | None = None,
    container: Json | None = None,
    response_url: str | None = None,
) -> str:
    payload: Json = {
        "type": "block_actions",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or _trigger_id(),
        "team": TEAM,
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": actions,
    }
    if view is not None:
        payload["view"] = view
        payload["state"] = view.get("state", {"values": {}})
        payload["container"] = container or {"type": "view", "view_id": view.get("id")}
    if message is not None:
        payload["message"] = message
        payload["state"] = {"values": {}}
        payload["container"] = container or {
            "type": "message",
            "message_ts": message.get("ts"),
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["response_url"] = response_url or DEFAULT_RESPONSE_URL
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": channel_id.lower()}
    if "container" not in payload and container is not None:
        payload["container"] = container
    return _payload_body(payload)


def _options_of(element: Json) -> list[Json]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options.extend(group.get("options", []))
    return options


def _option(element: Json, chosen: str | Json) -> Json:
    if isinstance(chosen, dict):
        return chosen
    for option in _options_of(element):
        if option.get("value") == chosen:
            return option
    if element.get("type", "").startswith(
        ("static_select", "multi_static", "overflow", "radio", "checkboxes")
    ):
        values = [o.get("value") for o in _options_of(element)]
        raise LookupError(f"{chosen!r} is not an option of {element.get('action_id')}: {values}")
    return {"text": {"type": "plain_text", "text": str(chosen)}, "value": str(chosen)}


def _interactive_elements(blocks: list[Json]) -> list[tuple[str | None, Json]]:
    found: list[tuple[str | None, Json]] = []
    for block in blocks:
        block_id = block.get("block_id")
        if block.get("type") == "actions":
            found.extend((block_id, element) for element in block.get("elements", []))
        for key in ("accessory", "element"):
            if isinstance(block.get(key), dict):
                found.append((block_id, block[key]))
    return found


def find_element(blocks: list[Json], action_id: str) -> tuple[str | None, Json]:
    """(block_id, element) for the interactive element with ``action_id``."""
    elements = _interactive_elements(blocks)
    for block_id, element in elements:
        if element.get("action_id") == action_id:
            return block_id, element
    known = [element.get("action_id") for _, element in elements]
    raise LookupError(f"no element with action_id {action_id!r}; found {known}")


def _action(
    block_id: str | None,
    element: Json,
    *,
    value: Any = None,
    selected_user: str | None = None,
    selected_option: str | Json | None = None,
    selected_options: list[str | Json] | None = None,
) -> Json:
    kind = element.get("type", "button")
    action: Json = {
        "type": kind,
        "action_id": element.get("action_id"),
        "block_id": block_id,
        "action_ts": _action_ts(),
    }
    if kind == "button":
        action["text"] = element.get("text")
        chosen = value if value is not None else element.get("value")
        if chosen is not None:
            action["value"] = chosen
        if "style" in element:
            action["style"] = element["style"]
    elif kind in ("users_select", "conversations_select", "channels_select"):
        key = {
            "users_select": "selected_user",
            "conversations_select": "selected_conversation",
            "channels_select": "selected_channel",
        }[kind]
        action[key] = selected_user if kind == "users_select" else value
    elif kind in ("checkboxes",) or kind.startswith("multi_"):
        chosen_list = selected_options if selected_options is not None else [selected_option]
        if kind == "multi_users_select":
            action["selected_users"] = chosen_list
        else:
            action["selected_options"] = [_option(element, c) for c in chosen_list if c]
    elif kind in ("static_select", "external_select", "overflow", "radio_buttons"):
        chosen = selected_option if selected_option is not None else value
        if chosen is None:
            raise ValueError(f"{kind} {element.get('action_id')} needs selected_option")
        action["selected_option"] = _option(element, chosen)
    elif kind == "datepicker":
        action["selected_date"] = _scalar(value, kind)
    elif kind == "timepicker":
        action["selected_time"] = _scalar(value, kind)
    else:
        action["value"] = value
    if "placeholder" in element:
        action["placeholder"] = element["placeholder"]
    return action


def click(
    source: list[Json] | Json,
    action_id: str,
    *,
    user_id: str = "U1",
    value: Any = None,
    selected_user: str | None = None,
    selected_option: str | Json | None = None,
    selected_options: list[str | Json] | None = None,
    channel_id: str = "C1",
    message_ts: str | None = None,
    trigger_id: str | None = None,
    response_url: str | None = None,
) -> str:
    """A block_actions body for using the element ``action_id`` found in ``source``.

    ``source`` is a list of message blocks, a message dict (as ``FakeSlack.message`` returns it)
    or a view dict (as recorded by ``views.open``; it needs its ``id``).
    """
    if isinstance(source, list):
        message: Json | None = {
            "type": "message",
            "ts": message_ts or "1700000000.000100",
            "text": "",
            "blocks": source,
        }
        view = None
    elif source.get("type") in ("modal", "home"):
        message, view = None, source
    else:
        message, view = dict(source), None
        if message_ts is not None:
            message["ts"] = message_ts
    blocks = view["blocks"] if view is not None else (message or {}).get("blocks", [])
    block_id, element = find_element(blocks, action_id)
    action = _action(
        block_id,
        element,
        value=value,
        selected_user=selected_user,
        selected_option=selected_option,
        selected_options=selected_options,
    )
    return block_actions(
        user_id=user_id,
        actions=[action],
        message=message,
        channel_id=channel_id if message is not None else None,
        view=view,
        trigger_id=trigger_id,
        response_url=response_url,
    )


def _scalar(answer: Any, kind: str) -> Any:
    if kind == "datepicker" and isinstance(answer, date):
        return answer.isoformat()
    if kind == "timepicker" and isinstance(answer, clock_time):
        return answer.strftime("%H:%M")
    if kind == "datetimepicker" and isinstance(answer, datetime):
        return int(answer.timestamp())
    return answer


def _state_value(element: Json, answer: Any, answered: bool) -> Json:
    kind = element.get("type", "plain_text_input")
    state: Json = {"type": kind}
    if kind in ("static_select", "external_select", "radio_buttons"):
        state["selected_option"] = _option(element, answer) if answered else None
    elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        state["selected_options"] = [_option(element, a) for a in answer] if answered else []
    elif kind == "users_select":
        state["selected_user"] = answer if answered else None
    elif kind == "multi_users_select":
        state["selected_users"] = list(answer) if answered else []
    elif kind == "conversations_select":
        state["selected_conversation"] = answer if answered else None
    elif kind == "channels_select":
        state["selected_channel"] = answer if answered else None
    elif kind == "datepicker":
        state["selected_date"] = _scalar(answer, kind) if answered else None
    elif kind == "timepicker":
        state["selected_time"] = _scalar(answer, kind) if answered else None
    elif kind == "datetimepicker":
        state["selected_date_time"] = _scalar(answer, kind) if answered else None
    else:
        state["value"] = (str(answer) if answer is not None else None) if answered else None
    return state


def fill(view: Json, answers: dict[str, Any]) -> dict[str, dict[str, Json]]:
    """state.values for ``view`` from a simple action_id -> answer mapping.

    Inputs left unanswered appear empty, as Slack sends them. An action_id not in the view
    raises KeyError so a typo in a test does not pass silently.
    """
    values: dict[str, dict[str, Json]] = {}
    seen: set[str] = set()
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        action_id = element["action_id"]
        seen.add(action_id)
        values.setdefault(block["block_id"], {})[action_id] = _state_value(
            element, answers.get(action_id), action_id in answers
        )
    unknown = set(answers) - seen
    if unknown:
        raise KeyError(f"no input with action_id {sorted(unknown)}; inputs are {sorted(seen)}")
    return values


def view_submission(
    *,
    user_id: str = "U1",
    view: Json,
    values: dict[str, dict[str, Json]] | None = None,
    trigger_id: str | None = None,
) -> str:
    submitted = {**view, "state": {"values": values or {}}}
    return _payload_body(
        {
            "type": "view_submission",
            "team": TEAM,
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id or _trigger_id(),
            "view": submitted,
            "response_urls": [],
            "enterprise": None,
            "is_enterprise_install": False,
        }
    )


def view_closed(*, user_id: str = "U1", view: Json, is_cleared: bool = False) -> str:
    return _payload_body(
        {
            "type": "view_closed",
            "team": TEAM,
            "user": _user(user_id),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "view": view,
            "is_cleared": is_cleared,
            "enterprise": None,
            "is_enterprise_install": False,
        }
    )


def block_suggestion(
    *,
    user_id: str = "U1",
    action_id: str,
    block_id: str,
    value: str,
    view: Json | None = None,
) -> str:
    payload: Json = {
        "type": "block_suggestion",
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "team": TEAM,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "action_ts": _action_ts(),
        "enterprise": None,
        "is_enterprise_install": False,
    }
    if view is not None:
        payload["view"] = view
        payload["container"] = {"type": "view", "view_id": view.get("id")}
    return _payload_body(payload)


def message_shortcut(
    *,
    callback_id: str,
    message: Json,
    channel_id: str,
    user_id: str = "U1",
    response_url: str | None = None,
) -> str:
    """A message shortcut (the message's ⋮ menu) used on `message` in `channel_id`."""
    payload: Json = {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": _trigger_id(),
        "action_ts": _action_ts(),
        "user": _user(user_id),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "team": TEAM,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "message_ts": message.get("ts"),
        "message": message,
        "response_url": response_url or DEFAULT_RESPONSE_URL,
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _payload_body(payload)


def event_callback(event: Json, *, event_id: str | None = None, team_id: str = "T1") -> str:
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": "UBOT",
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }
    )


def url_verification(challenge: str) -> str:
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    )


# ---------------------------------------------------------------------- dispatching


@dataclass
class DispatchResult:
    """What the bot answered: status, body (parsed when it is JSON), headers, the raw response."""

    status: int
    body: Any
    headers: dict[str, Any]
    raw: BoltResponse


class SignedDispatcher:
    """Builds Slack requests, signs them and feeds them to a Bolt ``App``.

    Pass ``fake`` to give commands and message clicks response URLs the fake records.
    """

    def __init__(self, app: App, signing_secret: str, *, fake: FakeSlack | None = None) -> None:
        self.app = app
        self.signing_secret = signing_secret
        self.fake = fake

    def send(self, body: str, headers: dict[str, str]) -> DispatchResult:
        """Dispatch a body with exactly these headers (for tampering tests)."""
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        parsed: Any = response.body
        if response.body and response.body[:1] in ("{", "["):
            try:
                parsed = json.loads(response.body)
            except json.JSONDecodeError:
                pass
        return DispatchResult(response.status, parsed, dict(response.headers), response)

    def dispatch(
        self,
        body: str,
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
    ) -> DispatchResult:
        headers = sign(body, self.signing_secret, timestamp)
        if retry_num is not None:
            headers["x-slack-retry-num"] = str(retry_num)
            headers["x-slack-retry-reason"] = retry_reason
        return self.send(body, headers)

    def _response_url(self, given: str | None) -> str:
        if given is not None:
            return given
        return self.fake.response_url() if self.fake is not None else DEFAULT_RESPONSE_URL

    def command(
        self,
        command: str,
        text: str = "",
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        response_url: str | None = None,
        **fields: Any,
    ) -> DispatchResult:
        body = slash_command(command, text, response_url=self._response_url(response_url), **fields)
        return self.dispatch(body, retry_num=retry_num, timestamp=timestamp)

    def click(
        self,
        source: list[Json] | Json,
        action_id: str,
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        response_url: str | None = None,
        **fields: Any,
    ) -> DispatchResult:
        body = click(source, action_id, response_url=self._response_url(response_url), **fields)
        return self.dispatch(body, retry_num=retry_num, timestamp=timestamp)

    def submit(
        self,
        view: Json,
        answers: dict[str, Any] | None = None,
        *,
        values: dict[str, dict[str, Json]] | None = None,
        user_id: str = "U1",
        retry_num: int | None = None,
        timestamp: int | None = None,
    ) -> DispatchResult:
        state = values if values is not None else fill(view, answers or {})
        body = view_submission(user_id=user_id, view=view, values=state)
        return self.dispatch(body, retry_num=retry_num, timestamp=timestamp)

    def close(
        self, view: Json, *, user_id: str = "U1", timestamp: int | None = None
    ) -> DispatchResult:
        return self.dispatch(view_closed(user_id=user_id, view=view), timestamp=timestamp)

    def suggest(
        self,
        *,
        action_id: str,
        block_id: str,
        value: str,
        view: Json | None = None,
        user_id: str = "U1",
        timestamp: int | None = None,
    ) -> DispatchResult:
        body = block_suggestion(
            user_id=user_id, action_id=action_id, block_id=block_id, value=value, view=view
        )
        return self.dispatch(body, timestamp=timestamp)

    def shortcut(
        self,
        callback_id: str,
        message: Json,
        *,
        channel_id: str,
        user_id: str = "U1",
        response_url: str | None = None,
    ) -> DispatchResult:
        body = message_shortcut(
            callback_id=callback_id,
            message=message,
            channel_id=channel_id,
            user_id=user_id,
            response_url=self._response_url(response_url),
        )
        return self.dispatch(body)

    def event(
        self,
        event: Json,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
    ) -> DispatchResult:
        return self.dispatch(
            event_callback(event, event_id=event_id),
            retry_num=retry_num,
            retry_reason=retry_reason,
            timestamp=timestamp,
        )
