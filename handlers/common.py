"""Helpers every record kind's listeners share: who clicked, answering privately, follow-up work."""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from pydantic import ValidationError

from bot.blocks import view_values
from bot.context import AppContext
from services.errors import AlreadyDone, ServiceDeskError
from services.permissions import Actor
from services.records import Claim

log = logging.getLogger(__name__)


def user_id(body: dict[str, Any]) -> str:
    return body.get("user_id") or (body.get("user") or {}).get("id") or ""


def actor_of(ctx: AppContext, body: dict[str, Any]) -> Actor:
    return ctx.directory.actor(user_id(body), ctx.policy)


def later(ctx: AppContext, work: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Run `work` after the ack has gone back to Slack; a failure is logged with a reference
    and the person is sent an apology quoting it (AppContext.follow_up), never raised."""
    ctx.follow_up(work, *args, **kwargs)


def ack_then(
    ctx: AppContext, work: Callable[..., None], *, with_client: bool = False
) -> Callable[..., None]:
    """A listener that acks at once and runs `work(body, respond)` after the ack (`later`);
    `with_client`, `work(body, client, respond)` (a form to open with Bolt's client)."""

    def listener(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        later(ctx, work, body, respond)

    def listener_with_client(ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        ack()
        later(ctx, work, body, client, respond)

    chosen = listener_with_client if with_client else listener
    # Bolt names a listener by its function in its logs: name it after the work.
    chosen.__name__ = chosen.__qualname__ = getattr(work, "__name__", "listener")
    return chosen


T = TypeVar("T")


def run_or_tell(
    ctx: AppContext, respond: Callable[..., Any] | None, work: Callable[[Any], T]
) -> T | None:
    """`work(session)` in one transaction, for a command or a click: a refusal
    (ServiceDeskError) is told to the person privately and gives None. So `work` returns what
    the caller goes on with (never None), read before the transaction ends."""
    try:
        with ctx.db.session() as session:
            return work(session)
    except ServiceDeskError as error:
        tell(respond, str(error))
        return None


def open_checked_form(
    ctx: AppContext,
    body: dict[str, Any],
    respond: Callable[..., Any] | None,
    load: Callable[[Any], T],
    build: Callable[[T], dict[str, Any]],
) -> None:
    """Open a form only once `load(session)` has read the record and checked that this person
    may take this step now: refused before the form opens, not after it was filled in."""
    record = run_or_tell(ctx, respond, load)
    if record is None:
        return
    ctx.client.views_open(trigger_id=body["trigger_id"], view=build(record))


R = TypeVar("R")

OUT_OF_DATE = "This form is out of date."


def error_at(view: dict[str, Any], error: ServiceDeskError, default: str) -> str:
    """The block a form error is shown by: the field the error names (a service's FieldError)
    when the form has that block, else `default`."""
    field = getattr(error, "field", None)
    present = {block.get("block_id") for block in view.get("blocks", [])}
    return field if field and field in present else default


def submitted(
    ctx: AppContext,
    ack: Callable[..., Any],
    body: dict[str, Any],
    view: dict[str, Any],
    carried: type[R],
    apply: Callable[[Any, R, Actor, dict[str, Any]], T],
    error_field: str,
    *,
    repeat_is_done: bool = False,
) -> tuple[R, Actor, T] | None:
    """A submitted form about what its `private_metadata` carries (a `carried` model with a
    `load`): `apply(session, carried, actor, values)` in one transaction, written before the ack
    (once Slack closes the form, it is stored), then the ack. The service checks the person
    again, so a forged submission meets the same check as a click. A form out of date, a
    refusal or a bad value is shown on the form, by the field the error names when the form has
    it, else at `error_field`. With `repeat_is_done`, a repeated delivery of the same submission
    (AlreadyDone) closes the form quietly: the first one recorded it. None: nothing to follow."""
    ref = carried.load(view.get("private_metadata"))  # type: ignore[attr-defined]
    if not isinstance(ref, carried):
        ack(response_action="errors", errors={error_field: OUT_OF_DATE})
        return None
    actor = actor_of(ctx, body)
    try:
        with ctx.db.session() as session:
            result = apply(session, ref, actor, view_values(view))
    except ServiceDeskError as error:
        if repeat_is_done and isinstance(error, AlreadyDone):
            ack()
        else:
            ack(response_action="errors", errors={error_at(view, error, error_field): str(error)})
        return None
    ack()
    return ref, actor, result


OLD_BUTTON = "That button is from an old message."


def clicked(
    ctx: AppContext,
    body: dict[str, Any],
    respond: Callable[..., Any] | None,
    carried: type[R],
    apply: Callable[[Any, R, Actor], T],
    *,
    old_button: str = OLD_BUTTON,
) -> tuple[R, Actor, T] | None:
    """A click on a button whose value carries a `carried` model (after the ack):
    `apply(session, carried, actor)` in one transaction; the service checks the person. A value
    that is not ours, a refusal or a bad state is told to the person who clicked, privately.
    None: nothing to follow."""
    ref = carried.load(body["actions"][0].get("value"))  # type: ignore[attr-defined]
    if not isinstance(ref, carried):
        tell(respond, old_button)
        return None
    actor = actor_of(ctx, body)
    try:
        with ctx.db.session() as session:
            result = apply(session, ref, actor)
    except ServiceDeskError as error:
        tell(respond, str(error))
        return None
    return ref, actor, result


def clicked_from(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, ts) of the message whose button was clicked, for a form to update it later."""
    where = body.get("container") or {}
    return where.get("channel_id"), where.get("message_ts")


def tell(respond: Callable[..., Any] | None, text: str) -> None:
    """An ephemeral answer to the person who typed or clicked, leaving the message alone."""
    if respond is None:
        return
    try:
        respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception:
        log.warning("could not answer through response_url")


def claim_owner() -> str:
    """Who holds a claim, for whoever reads the row: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


TAKEN_OVER_NOTE = (
    ":warning: This record may have been announced twice after a restart: the bot stopped "
    "while posting it. This message is the one kept up to date."
)


def post_claimed_message(
    ctx: AppContext,
    records: Any,
    *,
    key: str,
    channel: str,
    text: str,
    blocks: list[Any],
    claim: Claim | None = None,
    version: int | None = None,
    refresh: Callable[[], object] | None = None,
) -> Any:
    """Post the one channel message of a record whose announcement this caller claimed
    (`records` is its service module: claim/release/record_message). If Slack refuses, the
    claim is released so a later sweep (schedules: announce_missed) tries again.

    `version` is the record's message_version the blocks were rendered from; if the record
    changed meanwhile (a click while Slack was slow to answer), `refresh` brings the message
    up to date at once (and the stale-message sweep would, had this process died). A `claim`
    that took over an expired one says in the thread that there may be two messages."""
    try:
        posted = ctx.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
    except Exception:
        with ctx.db.session() as session:
            records.release_announcement(session, key=key)
        raise
    with ctx.db.session() as session:
        recorded = records.record_message(
            session,
            key=key,
            channel_id=posted["channel"],
            ts=posted["ts"],
            rendered_version=version,
            claim=claim,
        )
    if recorded.kept and claim is not None and claim.taken_over:
        ctx.client.chat_postMessage(
            channel=posted["channel"], thread_ts=posted["ts"], text=TAKEN_OVER_NOTE
        )
    if recorded.stale and refresh is not None:
        refresh()
    return posted


def replace_clicked(
    respond: Callable[..., Any] | None, text: str, blocks: list[Any] | None = None
) -> None:
    """Replace the message whose button was clicked (a page, a reminder, a proposal) with what
    became of it; a failure only costs the cosmetic update, so it is logged, not raised."""
    if respond is None:
        return
    extra: dict[str, Any] = {} if blocks is None else {"blocks": blocks}
    try:
        respond(text=text, replace_original=True, **extra)
    except Exception:
        log.warning("could not update the clicked message")


def field_errors(error: ValidationError, *, fallback: str) -> dict[str, str]:
    """pydantic errors → {block_id: message}; our block ids are the field names."""
    errors: dict[str, str] = {}
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else fallback
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] in ("missing", "enum", "literal_error"):
            message = "Choose one."
        errors.setdefault(field, message)
    return errors


def one_of(*action_ids: str) -> re.Pattern[str]:
    """A matcher for several action ids, so one listener is registered once for all of them."""
    return re.compile("^(" + "|".join(re.escape(str(a)) for a in action_ids) + ")$")


_locks_guard = threading.Lock()
_locks: dict[tuple[str, str], threading.Lock] = {}


@contextmanager
def message_lock(ctx: AppContext, records: Any, key: str) -> Iterator[None]:
    """Serialise render-and-update of one record's message: two clicks finishing at once must
    not let the one that read the older state update the message last.

    On PostgreSQL a transaction-level advisory lock (services.records.lock_message) held on its
    own connection for the whole block does it across every process on the database; on
    SQLite (one process) a lock per database file and record in this process does."""
    if ctx.db.dialect == "postgresql":
        with ctx.db.session() as session:
            records.lock_message(session, key=key)
            yield
        return
    name = (str(ctx.db.engine.url), key)
    with _locks_guard:
        lock = _locks.setdefault(name, threading.Lock())
    with lock:
        yield


def rendered(ctx: AppContext, records: Any, *, key: str, version: int) -> None:
    """Slack accepted an update showing `version` of the record: its message is not stale."""
    with ctx.db.session() as session:
        records.mark_rendered(session, key=key, version=version)
