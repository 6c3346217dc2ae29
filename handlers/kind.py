"""What every record kind's Slack listeners share, written once.

A kind declares itself in a `KindHandlers` subclass: its slash command, its service's
`RecordKind`, its sub-command table, the buttons that move a record at once (`steps`), the
buttons that open a form first (`forms`), and how its record is rendered (`message`, `show`).
This class does the rest: routing `/kind list|show|help|…` and the usage text built from the
sub-command table (handlers/slash.py), the step buttons, the permission check before a form
opens, the form submission boilerplate, the one channel message (announce, refresh in place)
and the post in its thread for every step (handlers/record_messages.py), and the "Refused,
because …" answers.

The renderer side is `step_buttons`: the buttons a record's message shows, chosen from the
lifecycle table for the record's state, so the service's table decides both what is allowed and
what is offered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from slack_bolt import Ack, App, Respond

from bot.blocks import user, view_values
from handlers.common import (
    ack_then,
    actor_of,
    error_at,
    later,
    one_of,
    open_checked_form,
    submitted,
    tell,
)

# Re-exported (`x as x`): kinds build their commands, messages and forms from these.
from handlers.record_blocks import Button as Button
from handlers.record_blocks import record_form as record_form
from handlers.record_blocks import register_blocks, show_with_trail, with_buttons
from handlers.record_blocks import step_buttons as step_buttons
from handlers.record_blocks import text_block as text_block
from handlers.record_messages import RecordMessages
from handlers.record_messages import post_in_record_thread as post_in_record_thread
from handlers.slash import Call as Call
from handlers.slash import CommandHandlers as CommandHandlers
from handlers.slash import SubCommand as SubCommand
from models.carried import RecordRef
from services import audit
from services.errors import ServiceDeskError
from services.permissions import Actor
from services.records import RecordKind

# ---- declarations ----------------------------------------------------------------------------


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


@dataclass(frozen=True)
class NewForm:
    """The bare command's row when all it does is open the New form `build()`."""

    build: Callable[[], dict[str, Any]]
    usage: str


@dataclass(frozen=True)
class Listing:
    """The `list` row: the records `fetch(session)` returns, one the renderer's
    `list_line(record)` each under `heading` (default "Open <kind>s"; `none` when there are
    none), answered to the caller alone. With `everything`, `list all` shows closed records
    too, under the kind's plural: `fetch` is then called with `open_only=` (False for `all`)."""

    usage: str
    fetch: Callable[..., Sequence[Any]]
    heading: str | None = None
    everything: bool = False
    aliases: tuple[str, ...] = ()
    none: str = "none."


@dataclass(frozen=True)
class Show:
    """The `show KEY` row (its usage line names the kind's example key); `usage` defaults to
    "one <kind> and its audit trail"."""

    usage: str | None = None


# ---- the generic listeners -------------------------------------------------------------------


class KindHandlers(CommandHandlers, RecordMessages):
    """Base of a record kind's listeners. Subclasses set the class attributes, list their
    sub-commands, and render their record; see the module docstring and the README's "How it is
    built" for adding a kind. What a kind sets for its channel message and thread (who the
    first thread line is about, a refresh once announced) is declared on `RecordMessages`."""

    kind: ClassVar[RecordKind[Any]]  # services.problems.KIND
    steps: ClassVar[Mapping[str, Step]] = {}  # action id → the move the button makes
    forms: ClassVar[Mapping[str, Form]] = {}  # action id → the form the button opens
    # The kind's render module, when it has the usual pieces: `BUTTONS` (`rb.Button`s, each
    # shown when the kind's lifecycle allows its move), `fallback_text(record)`,
    # `message_blocks(record, *parts)` (the message but its buttons), `show_blocks(record,
    # *parts, trail)` and `step_texts(record, who)` (each move's thread post, `who` the mention
    # of who made it); then `message`, `show` and `step_text` need no code.
    renderer: ClassVar[Any] = None
    note_field: ClassVar[str] = "note"  # where `move_form` shows an error naming no field
    # The New form's submission, when it is only a service call that creates the record.
    creates: ClassVar[Submit | None] = None

    # The sub-command table: `SubCommand` rows and the usual `NewForm`, `Listing`, `Show`.
    table: ClassVar[Sequence[SubCommand | NewForm | Listing | Show]] = (Show(),)

    # ---- what a kind declares (override) --------------------------------------------------

    @property
    def channel(self) -> str:
        """The channel where the kind's records are announced."""
        raise NotImplementedError

    def parts(self, session: Any, record: Any) -> tuple[Any, ...]:
        """What the renderer shows beside the record (linked incidents, findings, actions),
        read in the same transaction; passed to `message_blocks` and `show_blocks`."""
        return ()

    def message(self, session: Any, record: Any, ref: RecordRef | None) -> tuple[str, list[Any]]:
        """The record's channel message: (fallback text, blocks), the renderer's blocks with
        the buttons its state allows below them, each carrying `ref` (Slack takes 50 blocks)."""
        blocks = self.renderer.message_blocks(record, *self.parts(session, record))
        shown = with_buttons(blocks, self.kind.lifecycle, record, self.renderer.BUTTONS, ref=ref)
        return self.renderer.fallback_text(record), shown[:50]

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
        return str(self.renderer.step_texts(record, user(actor))[move])

    def check_show(self, record: Any, actor: Actor) -> None:
        """Before `show` answers: may this person see the record? Default: anyone may."""

    def check_step(self, session: Any, record: Any, move: str, actor: Actor) -> None:
        """Before a form opens: may this person take `move` now? Default: the lifecycle."""
        self.kind.check_step(record, move, actor)

    # ---- registration --------------------------------------------------------------------

    def register(self, app: App) -> None:
        if self.steps:
            app.action(one_of(*self.steps))(ack_then(self.ctx, self.take_step))
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
    def heading(self) -> str:  # type: ignore[override]
        """The usage text's first line: the kind's noun in the plural ("*Post-incident reviews*");
        a kind whose heading says more sets `heading` itself."""
        return f"*{plural(self.kind.noun).capitalize()}*"

    @property
    def what_sub_command(self) -> str:
        noun = self.kind.noun
        return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun} sub-command"

    def row(self, entry: Any) -> SubCommand:
        """A row of `table` as it runs, the usual `NewForm`, `Listing` and `Show` included."""
        if isinstance(entry, Show):
            usage = entry.usage or f"one {self.kind.noun} and its audit trail"
            return SubCommand("show", self.on_show, usage, args=self.kind.example)
        if isinstance(entry, Listing):
            return self.list_subcommand(entry)
        if isinstance(entry, NewForm):
            return SubCommand("", lambda call: call.open_form(entry.build()), entry.usage)
        return super().row(entry)

    def on_show(self, call: Call) -> None:
        if not call.args:
            tell(
                call.respond,
                f"Which {self.kind.noun}? For example `{self.command} show {self.kind.example}`.",
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

    def list_subcommand(self, listing: Listing) -> SubCommand:
        """The `list` row as it runs; see `Listing`."""
        heading = listing.heading or f"Open {plural(self.kind.noun)}"
        everything = plural(self.kind.noun).capitalize() if listing.everything else None

        def run(call: Call) -> None:
            wide = everything is not None and bool(call.args) and call.args[0].lower() == "all"
            extra = {} if everything is None else {"open_only": not wide}
            self.answer_register(
                call,
                everything if everything and wide else heading,
                lambda session: listing.fetch(session, **extra),
                none=listing.none,
            )

        args = "[all]" if everything else ""
        return SubCommand("list", run, listing.usage, args=args, aliases=listing.aliases)

    def answer_register(
        self,
        call: Call,
        heading: str,
        fetch: Callable[[Any], Sequence[Any]],
        *,
        line: Callable[[Any], str] | None = None,
        none: str = "none.",
    ) -> None:
        """Answer the caller alone with the records `fetch(session)` returns under `heading`,
        one `line(record)` each (default: the renderer's `list_line`)."""
        each = line or self.renderer.list_line
        self.answer_list(
            call, heading, lambda session: register_blocks(fetch(session), heading, each, none=none)
        )

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
        error_field: str | Callable[[ServiceDeskError], str],
    ) -> None:
        """A New form: `create(session, actor, values)` stores the record before the ack (once
        Slack closes the form it is stored); a bad value is shown by its field, else at
        `error_field` (or the field `error_field(error)` names); then the record's message is
        posted."""
        self.store_new(
            ack,
            view,
            lambda session: create(session, actor_of(self.ctx, body), view_values(view)),
            error_field,
        )

    def store_new(
        self,
        ack: Ack,
        view: dict[str, Any],
        store: Callable[[Any], Any],
        error_field: str | Callable[[ServiceDeskError], str],
    ) -> None:
        """A New form whose record `store(session)` writes in one transaction before the ack;
        a refusal is shown by the field it names when the form has it, else at `error_field`
        (or the field `error_field(error)` names); then the record's message is posted."""
        try:
            with self.ctx.db.session() as session:
                key = store(session).key
        except ServiceDeskError as error:
            default = error_field(error) if callable(error_field) else error_field
            ack(response_action="errors", errors={error_at(view, error, default): str(error)})
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


def plural(noun: str) -> str:
    """A kind's noun in the plural: "problem" → "problems", "nonconformity" → "nonconformities"."""
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


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
