"""The shape of what Slack sends, checked once before any listener runs.

Listeners read a few parts of each payload (the clicked action, the form's state, the typed
text). A signed request whose parts have the wrong types or are missing is refused here with
a short reason, instead of failing halfway through a listener. Only the parts the bot reads are
typed; anything else Slack adds is let through untouched."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Slack payloads nest about a dozen levels (a form's state, rich text in a message); anything
# much deeper is not from Slack and would only cost recursion further on.
MAX_DEPTH = 64


# What the HTTP layer hands on in place of a body Bolt could not parse (see bot.http).
UNREADABLE_BODY = {"servicedesk_unreadable_body": True}


# Slack's ids (users, channels, views, timestamps) are a dozen characters; the columns that
# keep them hold 32 to 64.
SlackId = Annotated[str, Field(min_length=1, max_length=32)]
ViewId = Annotated[str, Field(min_length=1, max_length=64)]
# Where answers to a command or click go; anything else could not be answered at all.
ResponseUrl = Annotated[str, Field(pattern=r"^https?://[^\s]+$", max_length=2000)]


class MalformedRequest(ValueError):
    """A signed request that is not shaped as Slack shapes it; answered with 400."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


def _not_null(value: Any) -> Any:
    # Slack leaves an optional part out; it never sends it as null.
    if value is None:
        raise ValueError("is null; Slack leaves an absent part out")
    return value


class User(_Part):
    id: SlackId


class Option(_Part):
    value: str


class ElementState(_Part):
    """What one input holds: typed text, a chosen option, users, a date…"""

    type: str | None = None
    value: str | None = None
    selected_option: Option | None = None
    selected_options: list[Option] | None = None
    selected_user: str | None = None
    selected_users: list[str] | None = None
    selected_conversation: str | None = None
    selected_channel: str | None = None
    selected_date: str | None = None
    selected_time: str | None = None
    # Unix seconds; bounded so turning it into a date cannot overflow (up to the year 3000).
    selected_date_time: int | None = Field(default=None, ge=0, le=32_503_680_000)


class Action(ElementState):
    action_id: str = Field(min_length=1)
    block_id: str | None = None

    @model_validator(mode="after")
    def _overflow_has_its_choice(self) -> Action:
        if self.type == "overflow" and self.selected_option is None:
            raise ValueError("an overflow click carries the option chosen")
        return self


class ViewState(_Part):
    values: dict[str, dict[str, ElementState]] = {}


class View(_Part):
    id: ViewId
    # Bolt reads it on every request that carries a view ("modal", "home").
    type: str
    callback_id: str = ""
    private_metadata: str = ""
    state: ViewState = ViewState()

    _state_not_null = field_validator("state", mode="before")(_not_null)


class Channel(_Part):
    id: SlackId


class Message(_Part):
    ts: SlackId | None = None


class BlockActions(_Part):
    type: Literal["block_actions"]
    user: User
    actions: list[Action] = Field(min_length=1)
    trigger_id: str = Field(min_length=1)
    response_url: ResponseUrl | None = None
    view: View = None  # type: ignore[assignment]  # absent is fine, null is not
    channel: Channel = None  # type: ignore[assignment]
    message: Message = None  # type: ignore[assignment]
    container: dict[str, Any] = None  # type: ignore[assignment]

    _parts_not_null = field_validator("view", "channel", "message", "container", mode="before")(
        _not_null
    )


class ViewSubmission(_Part):
    type: Literal["view_submission", "view_closed"]
    user: User
    view: View


class BlockSuggestion(_Part):
    type: Literal["block_suggestion"]
    user: User
    action_id: str = Field(min_length=1)
    block_id: str | None = None
    value: str
    view: View = None  # type: ignore[assignment]

    _view_not_null = field_validator("view", mode="before")(_not_null)


class SlashCommand(_Part):
    # A form body: every field is a string, so only what must be there is checked.
    command: str = Field(pattern=r"^/")
    text: str = ""
    user_id: SlackId
    channel_id: SlackId | None = None
    trigger_id: str = Field(min_length=1)
    response_url: ResponseUrl | None = None


class Event(_Part):
    type: str
    # A user id in most events, an object in some (user_change): checked where it is read.
    user: Any = None
    # Bolt looks into these on every message event.
    message: dict[str, Any] | None = None
    previous_message: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _home_names_its_user(self) -> Event:
        if self.type == "app_home_opened" and not (
            isinstance(self.user, str) and 0 < len(self.user) <= 32
        ):
            raise ValueError("app_home_opened names the user whose tab it is")
        return self


class EventCallback(_Part):
    type: Literal["event_callback"]
    event: Event


class UrlVerification(_Part):
    type: Literal["url_verification"]
    challenge: str


class MessageShortcut(_Part):
    """A message shortcut (the message's ⋮ menu), e.g. "Add to timeline"."""

    type: Literal["message_action"]
    callback_id: str = Field(min_length=1)
    user: User
    channel: Channel
    message: Message
    trigger_id: str = Field(min_length=1)
    response_url: ResponseUrl


_BY_TYPE: dict[str, type[_Part]] = {
    "block_actions": BlockActions,
    "view_submission": ViewSubmission,
    "view_closed": ViewSubmission,
    "block_suggestion": BlockSuggestion,
    "event_callback": EventCallback,
    "url_verification": UrlVerification,
    "message_action": MessageShortcut,
}


def clicked(body: dict[str, Any]) -> Action:
    """The element a block_actions request is about, typed; MalformedRequest (so 400) when
    there is none."""
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        raise MalformedRequest("actions: there is no clicked element")
    try:
        return Action.model_validate(actions[0])
    except ValidationError as error:
        raise MalformedRequest(_reason(error)) from None


def depth(value: Any) -> int:
    """How deeply `value` nests, counted without recursion (so a hostile body cannot exhaust
    the stack while being measured). A NUL character anywhere counts as too deep: Slack never
    sends one, and PostgreSQL cannot store it."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, str):
            if "\x00" in current:
                return MAX_DEPTH + 1
            continue
        if isinstance(current, dict):
            if any(isinstance(key, str) and "\x00" in key for key in current):
                return MAX_DEPTH + 1
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


class Unhandled(Exception):
    """A kind of request the bot has no listener for (shortcuts, dialogs, legacy attachments);
    answered 404 before Bolt looks into a shape nobody checked."""


def check(body: Any) -> None:
    """Raise MalformedRequest, with a reason naming the part (never its content), when the
    body is not shaped as Slack shapes the kind of request it claims to be; Unhandled when it
    is a kind the bot does not handle."""
    if not isinstance(body, dict):
        raise MalformedRequest("the body is not an object")
    if body.get("servicedesk_unreadable_body") is True:
        raise MalformedRequest("the body could not be parsed")
    if depth(body) > MAX_DEPTH:
        raise MalformedRequest(f"the body nests deeper than {MAX_DEPTH} levels or holds a NUL")
    kind = body.get("type")
    if kind is None and "command" in body:
        model: type[_Part] = SlashCommand
    elif isinstance(kind, str) and kind in _BY_TYPE:
        model = _BY_TYPE[kind]
    elif kind is None or isinstance(kind, str):
        raise Unhandled
    else:
        raise MalformedRequest("type is not a string")
    try:
        model.model_validate(body)
    except ValidationError as error:
        raise MalformedRequest(_reason(error)) from None


def _reason(error: ValidationError) -> str:
    """pydantic's problems as `where: what`, leaving out the offending input."""
    parts = []
    for problem in error.errors(include_input=False, include_url=False)[:3]:
        where = ".".join(str(step) for step in problem["loc"]) or "body"
        parts.append(f"{where}: {problem['msg']}")
    return "; ".join(parts)
