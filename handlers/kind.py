"""What every record kind's Slack listeners share, written once.

A kind declares itself in a `KindHandlers` subclass: its slash command, its service's
`RecordKind`, its sub-command table, the buttons that move a record at once (`steps`), the
buttons that open a form first (`forms`), and how its record is rendered (`message`, `show`).
This class does the rest: routing `/kind list|show|help|…`, the usage text built from the
sub-command table, the step buttons, the permission check before a form opens, the form
submission boilerplate, the one channel message (announce, refresh in place) and the post in
its thread for every step, and the "Refused, because …" answers.

The renderer side is `step_buttons`: the buttons a record's message shows, chosen from the
lifecycle table for the record's state, so the service's table decides both what is allowed and
what is offered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import thread_posts
from bot.blocks import view_values
from bot.context import AppContext
from handlers.common import (
    actor_of,
    claim_owner,
    error_at,
    later,
    message_lock,
    one_of,
    open_checked_form,
    post_claimed_message,
    rendered,
    submitted,
    tell,
)

# Re-exported: kinds build their messages and forms from these.
from handlers.record_blocks import Button as Button
from handlers.record_blocks import record_form as record_form
from handlers.record_blocks import show_with_trail
from handlers.record_blocks import step_buttons as step_buttons
from handlers.record_blocks import text_block as text_block
from models.carried import RecordRef
from services import audit
from services.errors import ServiceDeskError
from services.mrkdwn import user_text
from services.permissions import Actor
from services.records import RecordKind

log = logging.getLogger(__name__)


# ---- declarations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One use of the slash command: what was typed, split into words."""

    body: dict[str, Any]
    client: WebClient
    respond: Respond
    words: list[str]

    @property
    def args(self) -> list[str]:
        """The words after the sub-command."""
        return self.words[1:]

    @property
    def user(self) -> str:
        return self.body.get("user_id") or ""


@dataclass(frozen=True)
class SubCommand:
    """One row of a kind's sub-command table: `/kind NAME ARGS` — `usage`, run by `run`.

    `name` "" is the bare command (`/problem`); `aliases` are other words that run it; a
    row with `listed=False` runs but is not in the usage text."""

    name: str
    run: Callable[[Call], None]
    usage: str
    args: str = ""
    aliases: tuple[str, ...] = ()
    listed: bool = True


@dataclass(frozen=True)
class Step:
    """A button that moves the record at once: the lifecycle move it makes and, when the move
    is more than `RecordKind.step` (a timestamp, a note, a side effect), the service function
    that makes it, called as `apply(session, key=, actor=, now=)` (and `policy=` with
    `with_policy`) and returning the record."""

    move: str
    apply: Callable[..., Any] | None = None
    with_policy: bool = False  # apply also takes policy= (the loaded policy file)


@dataclass(frozen=True)
class Submit:
    """What a submitted form does, declared: the form's callback id (`view`) and the service
    function it calls in one transaction, as `apply(session, key=, actor=, now=, <keyword>=<the
    form's value of field>, …)` (a New form has no `key=`), with what it `takes` of the app
    besides: "policy" (the loaded policy file), "members_of" (the directory's group lookup),
    "submission_id" (Slack's view id, which makes a submitted New form count once). A refusal
    naming no field of the form is shown at `error_field` (default: the kind's `note_field`)."""

    view: str
    apply: Callable[..., Any]
    fields: Mapping[str, str]
    takes: tuple[str, ...] = ()
    error_field: str | None = None


@dataclass(frozen=True)
class Form:
    """A button that opens a form first: the move it leads to (checked for this person and the
    record's state before the form opens), the form's builder `build(record, ref)` and, when its
    submission is only a service call, what the submission does."""

    move: str
    build: Callable[[Any, RecordRef], dict[str, Any]]
    submit: Submit | None = None


def usage_text(command: str, heading: str, table: Sequence[SubCommand]) -> str:
    """The usage text, built from the sub-command table; `help` always comes last."""
    lines = [heading]
    for sub in table:
        if not sub.listed:
            continue
        words = " ".join(word for word in (command, sub.name, sub.args) if word)
        lines.append(f"`{words}` — {sub.usage}")
    lines.append(f"`{command} help` — this text")
    return "\n".join(lines)


# ---- the generic listeners -------------------------------------------------------------------


class CommandHandlers:
    """A slash command routed by its sub-command table: `/command help` (or nothing, when no
    row is the bare command) answers the usage text built from the table, a word that is no
    sub-command is refused with it, any other runs its row after the ack."""

    command: ClassVar[str]  # "/supplier"
    heading: ClassVar[str]  # "*Suppliers*", the first line of the usage text

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def subcommands(self) -> Sequence[SubCommand]:
        """The sub-command table: routing and the usage text come from it."""
        return []

    def register(self, app: App) -> None:
        app.command(self.command)(self.on_command)
        self.register_more(app)

    def register_more(self, app: App) -> None:
        """Listeners beyond the command (buttons, form submissions, …)."""

    @property
    def usage(self) -> str:
        return usage_text(self.command, self.heading, self.subcommands())

    def on_command(
        self, ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond
    ) -> None:
        ack()
        later(self.ctx, self.route, body, client, respond)

    def route(self, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """Run the sub-command the first word names; `help` and unknown words get the usage."""
        call = Call(body, client, respond, (body.get("text") or "").split())
        head = call.words[0].lower() if call.words else ""
        for sub in self.subcommands():
            if head != "help" and (head == sub.name or head in sub.aliases):
                sub.run(call)
                return
        if head in ("help", ""):
            respond(text=self.usage, response_type="ephemeral")
            return
        self.other(call)

    def other(self, call: Call) -> None:
        """A first word that is no sub-command."""
        call.respond(
            text=f"`{user_text(call.words[0][:80])}` is not {self.what_sub_command}.\n\n{self.usage}",
            response_type="ephemeral",
        )

    @property
    def what_sub_command(self) -> str:
        return f"a {self.command} sub-command"


class KindHandlers(CommandHandlers):
    """Base of a record kind's listeners. Subclasses set the class attributes, list their
    sub-commands, and render their record; see the module docstring and the README's "How it is
    built" for adding a kind."""

    kind: ClassVar[RecordKind[Any]]  # services.problems.KIND
    steps: ClassVar[Mapping[str, Step]] = {}  # action id → the move the button makes
    forms: ClassVar[Mapping[str, Form]] = {}  # action id → the form the button opens
    show_example: ClassVar[str | None] = None  # the key `show` examples use (kind.example)
    # The kind's render module, when it has the usual functions: `fallback_text(record)`,
    # `message_blocks(record, *parts, ref=)`, `show_blocks(record, *parts, trail)` and
    # `step_text(move, record, actor)`; then `message`, `show` and `step_text` need no code.
    renderer: ClassVar[Any] = None
    # The record's field naming who the first thread line ("… raised IMP-3: …", the renderer's
    # step "created") is about; None: a new record's thread starts empty.
    first_step_by: ClassVar[str | None] = None
    # Update the message once it is posted, so its buttons carry where it lives.
    refresh_when_announced: ClassVar[bool] = False
    note_field: ClassVar[str] = "note"  # where `move_form` shows an error naming no field
    # The New form's submission, when it is only a service call that creates the record.
    creates: ClassVar[Submit | None] = None

    # ---- what a kind declares (override) --------------------------------------------------

    def subcommands(self) -> Sequence[SubCommand]:
        """The sub-command table: routing and the usage text come from it."""
        return [self.show_subcommand()]

    @property
    def channel(self) -> str:
        """The channel where the kind's records are announced."""
        raise NotImplementedError

    def parts(self, session: Any, record: Any) -> tuple[Any, ...]:
        """What the renderer shows beside the record (linked incidents, findings, actions),
        read in the same transaction; passed to `message_blocks` and `show_blocks`."""
        return ()

    def message(self, session: Any, record: Any, ref: RecordRef | None) -> tuple[str, list[Any]]:
        """The record's channel message: (fallback text, blocks)."""
        parts = self.parts(session, record)
        return self.renderer.fallback_text(record), self.renderer.message_blocks(
            record, *parts, ref=ref
        )

    def show(self, session: Any, record: Any) -> tuple[str, list[Any]]:
        """What `/kind show KEY` answers: (fallback text, blocks): the renderer's `show_blocks`,
        or else its message without buttons followed by the audit trail."""
        parts = self.parts(session, record)
        trail = audit.trail(session, key=record.key)
        text = self.renderer.fallback_text(record)
        if hasattr(self.renderer, "show_blocks"):
            return text, self.renderer.show_blocks(record, *parts, trail)
        return text, show_with_trail(self.renderer.message_blocks(record, *parts), trail)

    def step_text(self, move: str, record: Any, actor: str) -> str:
        """The line posted in the record's thread when `actor` made `move`."""
        return str(self.renderer.step_text(move, record, actor))

    def check_show(self, record: Any, actor: Actor) -> None:
        """Before `show` answers: may this person see the record? Default: anyone may."""

    def check_step(self, session: Any, record: Any, move: str, actor: Actor) -> None:
        """Before a form opens: may this person take `move` now? Default: the lifecycle."""
        self.kind.check_step(record, move, actor)

    # ---- registration --------------------------------------------------------------------

    def register(self, app: App) -> None:
        if self.steps:
            app.action(one_of(*self.steps))(self.on_step)
        if self.forms:
            app.action(one_of(*self.forms))(self.on_open_form)
        for form in self.forms.values():
            if form.submit is not None:
                app.view(form.submit.view)(self._on_submitted(form.submit, form.move))
        if self.creates is not None:
            app.view(self.creates.view)(self._on_submitted(self.creates, None))
        super().register(app)

    # ---- the slash command ---------------------------------------------------------------

    @property
    def what_sub_command(self) -> str:
        noun = self.kind.noun
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} sub-command"

    def show_subcommand(self, usage: str | None = None) -> SubCommand:
        """The `show KEY` row (its usage line names the kind's example key)."""
        return SubCommand(
            "show",
            self.on_show,
            usage or f"one {self.kind.noun} and its audit trail",
            args=self.show_example or self.kind.example,
        )

    def on_show(self, call: Call) -> None:
        if not call.args:
            tell(
                call.respond,
                f"Which {self.kind.noun}? For example "
                f"`{self.command} show {self.show_example or self.kind.example}`.",
            )
            return
        try:
            # Only reads: on SQLite it takes no write lock, so no form waits behind it.
            with self.ctx.db.read_session() as session:
                record = self.kind.get(session, key=call.args[0])
                self.check_show(record, actor_of(self.ctx, call.body))
                text, blocks = self.show(session, record)
        except ServiceDeskError as error:
            tell(call.respond, str(error))
            return
        call.respond(text=text, blocks=blocks, response_type="ephemeral")

    def list_subcommand(
        self,
        usage: str,
        heading: str,
        fetch: Callable[..., Sequence[Any]],
        blocks: Callable[[Sequence[Any], str], list[Any]],
        *,
        everything: str | None = None,
        aliases: tuple[str, ...] = (),
    ) -> SubCommand:
        """The `list` row: `blocks(fetch(session), heading)` answered to the caller alone. With
        `everything` (its heading), `list all` shows closed records too: `fetch` is then
        called with `open_only=` (False for `all`)."""

        def run(call: Call) -> None:
            wide = everything is not None and bool(call.args) and call.args[0].lower() == "all"
            wanted = everything if wide and everything else heading
            extra = {} if everything is None else {"open_only": not wide}
            self.answer_list(call, wanted, lambda session: blocks(fetch(session, **extra), wanted))

        args = "[all]" if everything else ""
        return SubCommand("list", run, usage, args=args, aliases=aliases)

    def answer_list(self, call: Call, heading: str, blocks: Callable[[Any], list[Any]]) -> None:
        """Answer the caller alone with `blocks(session)` under `heading` (the fallback text)."""
        with self.ctx.db.read_session() as session:  # only reads: no write lock
            found = blocks(session)
        call.respond(text=heading, blocks=found, response_type="ephemeral")

    # ---- buttons ---------------------------------------------------------------------------

    def clicked_ref(self, body: dict[str, Any]) -> RecordRef | None:
        """Which record the clicked button is about (None for a value that is not ours), with
        where its message lives taken from the click when the value does not say."""
        ref = RecordRef.load(body["actions"][0].get("value"))
        if ref is None:
            return None
        channel = ref.channel or (body.get("channel") or {}).get("id")
        ts = ref.ts or (body.get("message") or {}).get("ts")
        return RecordRef(key=ref.key, channel=channel, ts=ts)

    def _old_button(self, respond: Respond | None) -> None:
        tell(respond, f"That button is from an old message; use `{self.command} show` instead.")

    def on_step(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        later(self.ctx, self.take_step, body, respond)

    def take_step(self, body: dict[str, Any], respond: Respond) -> None:
        """A step button: make the move (the service checks who and when), then update the
        message and say in its thread who did it; a refusal is answered to the clicker only."""
        step = self.steps[body["actions"][0]["action_id"]]
        ref = self.clicked_ref(body)
        if ref is None:
            self._old_button(respond)
            return
        actor = actor_of(self.ctx, body)
        now = self.ctx.clock.now()
        try:
            with self.ctx.db.session() as session:
                if step.apply is None:
                    record = self.kind.step(
                        session, key=ref.key, action=step.move, actor=actor, now=now
                    )
                else:
                    extra = {"policy": self.ctx.policy} if step.with_policy else {}
                    record = step.apply(session, key=ref.key, actor=actor, now=now, **extra)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        self.after_step(step.move, record, actor)

    def after_step(self, move: str, record: Any, actor: Actor) -> None:
        """After a step button's move: refresh the message and post the step in its thread."""
        self.refresh(record.key, step=self.step_text(move, record, actor.user_id))

    def on_open_form(self, ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        form = self.forms[body["actions"][0]["action_id"]]
        later(self.ctx, self.open_form, body, respond, form.move, form.build)

    def open_form(
        self,
        body: dict[str, Any],
        respond: Respond | None,
        move: str,
        build: Callable[[Any, RecordRef], dict[str, Any]],
    ) -> None:
        """Open a form for `move` once this person may take it on the record now."""
        ref = self.clicked_ref(body)
        if ref is None:
            self._old_button(respond)
            return

        def load(session: Any) -> Any:
            record = self.kind.get(session, key=ref.key)
            self.check_step(session, record, move, actor_of(self.ctx, body))
            return record

        open_checked_form(self.ctx, body, respond, load, lambda record: build(record, ref))

    # ---- form submissions ----------------------------------------------------------------

    def submit(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        apply: Callable[[Any, str, Actor, dict[str, Any]], Any],
        error_field: str,
    ) -> tuple[RecordRef, Actor, Any] | None:
        """A submitted form about one record: `apply(session, key, actor, values)` in one
        transaction (the service checks the person again: a forged submission meets the same
        check as a click). A refusal or bad value is shown on the form by the field it names
        (an error's `field`, when the form has it), else at `error_field`."""
        return submitted(
            self.ctx,
            ack,
            body,
            view,
            RecordRef,
            lambda session, ref, actor, values: apply(session, ref.key, actor, values),
            error_field,
        )

    def create_form(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        create: Callable[[Any, Actor, dict[str, Any]], Any],
        error_field: str,
    ) -> None:
        """A New form: `create(session, actor, values)` stores the record before the ack (once
        Slack closes the form it is stored); a bad value is shown by its field; then the
        record's message is posted."""
        try:
            with self.ctx.db.session() as session:
                key = create(session, actor_of(self.ctx, body), view_values(view)).key
        except ServiceDeskError as error:
            ack(response_action="errors", errors={error_at(view, error, error_field): str(error)})
            return
        ack()
        later(self.ctx, self.announce, key)

    def _on_submitted(self, submit: Submit, move: str | None) -> Callable[..., None]:
        """The listener of a declared form: a New form (`move` None) creates the record through
        `create_form`, any other makes `move` through `move_form`."""

        def listener(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
            context = {
                "policy": self.ctx.policy,
                "members_of": self.ctx.directory.members,
                "submission_id": view.get("id"),
            }

            def call(session: Any, actor: Actor, values: dict[str, Any], **key: str) -> Any:
                return submit.apply(
                    session,
                    **key,
                    **{name: values.get(field) for name, field in submit.fields.items()},
                    **{name: context[name] for name in submit.takes},
                    actor=actor,
                    now=self.ctx.clock.now(),
                )

            if move is None:
                self.create_form(ack, body, view, call, submit.error_field or self.note_field)
            else:
                self.move_form(
                    ack,
                    body,
                    view,
                    move,
                    lambda session, key, actor, values: call(session, actor, values, key=key),
                    submit.error_field,
                )

        return listener

    def move_form(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        move: str,
        apply: Callable[[Any, str, Actor, dict[str, Any]], Any],
        error_field: str | None = None,
    ) -> None:
        """A submitted form that makes `move` (the service checks the person again); then the
        message follows and the step is posted in its thread. An error naming no field of the
        form is shown at `error_field` (default `note_field`)."""
        done = self.submit(ack, body, view, apply, error_field or self.note_field)
        if done:
            ref, actor, record = done
            later(self.ctx, self.refresh, ref.key, step=self.step_text(move, record, actor.user_id))

    # ---- the record's one channel message and its thread ----------------------------------

    def first_step(self, session: Any, record: Any) -> str | None:
        """The first line in a new record's thread ("… raised PRB-3: …"), or None."""
        if self.first_step_by is None:
            return None
        return self.step_text("created", record, getattr(record, self.first_step_by))

    def announce(self, key: str) -> Any:
        """Post the record's one channel message (once, however often this runs) and its
        `first_step` in the thread. Returns the post, or None when another caller had already
        claimed it."""
        with self.ctx.db.session() as session:
            claim = self.kind.claim_announcement(
                session,
                key=key,
                channel_id=self.channel,
                now=self.ctx.clock.now(),
                owner=claim_owner(),
            )
            if claim is None:
                return None  # a second delivery of the same form: already announced
            record = self.kind.get(session, key=key)
            version = record.message_version  # type: ignore[attr-defined]
            text, blocks = self.message(session, record, None)
            first = self.first_step(session, record)
        posted = post_claimed_message(
            self.ctx,
            self.kind,
            key=key,
            channel=self.channel,
            text=text,
            blocks=blocks,
            claim=claim,
            version=version,
            refresh=lambda: self.refresh(key),
        )
        if first:
            self.ctx.client.chat_postMessage(
                channel=posted["channel"], thread_ts=posted["ts"], text=first
            )
        if self.refresh_when_announced:
            self.refresh(key)
        return posted

    def before_refresh(self, session: Any, key: str) -> None:
        """Work in the refresh's transaction before the record is read (e.g. reminders)."""

    def also_update(self, session: Any, record: Any) -> list[tuple[str, str, str, list[Any]]]:
        """Other messages that show the record and follow it (a change's approval requests):
        (channel, ts, fallback text, blocks), updated with its channel message."""
        return []

    def refresh(self, key: str, *, step: str | None = None) -> tuple[str | None, str | None]:
        """Update the record's channel message in place from its committed state and post
        `step` in its thread. Returns where the message is, (None, None) before it is posted
        (the record stays stale and is brought up to date once it is)."""
        with message_lock(self.ctx, self.kind, key):
            with self.ctx.db.session() as session:
                self.before_refresh(session, key)
                record = self.kind.get(session, key=key)
                version = record.message_version  # type: ignore[attr-defined]
                channel, ts = record.channel_id, record.message_ts  # type: ignore[attr-defined]
                if channel and ts:
                    text, blocks = self.message(
                        session, record, RecordRef(key=key, channel=channel, ts=ts)
                    )
                others = self.also_update(session, record)
            for other in others:
                self._update_other(*other)
            if not channel or not ts:
                return None, None
            self.ctx.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
            rendered(self.ctx, self.kind, key=key, version=version)
        if step:
            self.ctx.client.chat_postMessage(channel=channel, thread_ts=ts, text=step)
        return channel, ts

    def _update_other(self, channel: str, ts: str, text: str, blocks: list[Any]) -> None:
        try:
            self.ctx.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as error:
            log.error("could not update a message about a record: %s", error.response.get("error"))

    def post_in_thread(self, key: str, text: str, *, blocks: list[Any] | None = None) -> bool:
        """Post in the record's thread; see `post_in_record_thread`."""
        return post_in_record_thread(self.ctx, self.kind, key, text, blocks=blocks)


def picked_datetime(raw: Any) -> datetime | None:
    """A datetimepicker's unix seconds as an aware UTC datetime (None when left empty)."""
    if raw in (None, ""):
        return None
    return datetime.fromtimestamp(int(raw), UTC)


def typed_text(values: dict[str, Any], field: str) -> str:
    """What was typed into a form's text input or chosen in a select: "" when empty, or when
    a forged submission sent something other than a string."""
    value = values.get(field)
    return value if isinstance(value, str) else ""


def post_in_record_thread(
    ctx: AppContext,
    kind: RecordKind[Any],
    key: str,
    text: str,
    *,
    blocks: list[Any] | None = None,
) -> bool:
    """Post in a record's thread (any kind: a problem telling its incidents); it has one once
    its message was posted. A Slack failure is logged, not raised. False when there is no
    thread (yet) or Slack refused."""
    with ctx.db.session() as session:
        record = kind.get(session, key=key)
    channel, ts = record.channel_id, record.message_ts
    if not channel or not ts:
        return False
    try:
        thread_posts.post(ctx, key, channel, text, thread_ts=ts, blocks=blocks)
    except SlackApiError as error:
        log.error("could not post in %s's thread: %s", key, error.response.get("error"))
        return False
    return True
