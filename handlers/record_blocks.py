"""The blocks every record kind's messages are made of, written once: the buttons its
lifecycle allows now, the summary on top, the texts people wrote, a form about one record, the
`show` answer (the message without buttons, then the audit trail) and the register list.
What people typed goes through `user_text` here, so a kind's renderer cannot forget it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot import blocks as b
from models.carried import RecordRef
from services.lifecycle import Lifecycle


@dataclass(frozen=True)
class Button:
    """A button on a record's channel message, shown when its lifecycle move is allowed from
    the record's state (`step_buttons`) and, with `when`, when `when(record)` holds too.
    `text` may be a function of the record ("Rebuild" once a release was built)."""

    move: str
    text: str | Callable[[Any], str]
    action_id: str
    style: str | None = None
    when: Callable[[Any], bool] | None = None

    def label(self, record: Any) -> str:
        return self.text(record) if callable(self.text) else self.text

    def shown(self, record: Any, allowed: set[str]) -> bool:
        return self.move in allowed and (self.when is None or self.when(record))


def step_buttons(
    lifecycle: Lifecycle,
    record: Any,
    buttons: Sequence[Button],
    *,
    ref: RecordRef | None = None,
    block_id: str | None = None,
) -> b.Block | None:
    """The actions block of a record's message: each button whose move the lifecycle allows
    from the record's state, carrying which record (and where its message is) in its value.
    None when no move is open (a final state)."""
    allowed = set(lifecycle.actions_from(record.status))
    value = (ref or RecordRef(key=record.key)).dump()
    elements = [
        b.button(button.label(record), button.action_id, value, style=button.style)
        for button in buttons
        if button.shown(record, allowed)
    ]
    return b.actions(block_id or f"{lifecycle.record_kind}_actions|{record.key}", elements)


def day(when: date | None, *, none: str = "—") -> str:
    """A date as a message shows it ("Tue 04 Mar 2025"), the same in every kind; `none` when
    there is no date."""
    return f"{when:%a %d %b %Y}" if when else none


def short_day(when: date | None, *, none: str = "—") -> str:
    """A date in a list line, a fallback text or a period ("04 Mar 2025"); `none` when there
    is no date."""
    return f"{when:%d %b %Y}" if when else none


def title_line(emoji: str, key: str, name: str) -> str:
    """The line a record's message and its forms start with: the kind's emoji, the key in bold
    and the record's `name` (mrkdwn: what was typed in it already escaped)."""
    return f"{emoji} *{key}* · {name}"


def _facts(facts: Sequence[str | None]) -> str:
    return ", ".join(fact for fact in facts if fact is not None)


def fallback_text(key: str, name: str, *facts: str | None) -> str:
    """A record's message as plain text (notifications, screen readers): the key, the `name`,
    then the `facts` (its state, a due date, …); a fact that is None is left out."""
    return f"{key} {name} — {_facts(facts)}"


def list_line(key: str, name: str, *facts: str | None, emoji: str | None = None) -> str:
    """A record's line in a list: (the `emoji`,) the key in bold, the `name`, then the `facts`;
    a fact that is None is left out."""
    head = f"{emoji} *{key}*" if emoji else f"*{key}*"
    return f"{head} {name} — {_facts(facts)}"


def record_form(
    view_id: str,
    title: str,
    heading: str,
    inputs: Sequence[b.Block],
    *,
    submit: str,
    ref: RecordRef,
) -> dict[str, Any]:
    """A form about one record: the record's title line on top, then the inputs; it carries
    which record (and where its message is) back to the submission."""
    return b.modal(
        view_id, title, [b.section(heading), *inputs], submit=submit, private_metadata=ref.dump()
    )


def with_note(text: str, note: str | None) -> str:
    """`text` with what the person typed with it (`note`) quoted under it, escaped; `text`
    alone when they typed nothing."""
    return text + f"\n> {b.user_text(note)}" if note else text


def step_post(template: str, key: str, actor: str, note: str | None = None) -> str:
    """A step's post in the record's thread: who, `template` with the record's key, and what
    they typed with the step (`note`) quoted under it."""
    return with_note(f"{b.user(actor)} " + template.format(key=key), note)


def new_record_form(
    view_id: str, title: str, inputs: Sequence[b.Block], *, submit: str
) -> dict[str, Any]:
    """The form that raises a new record. It carries the ref `new` where a form about a record
    carries the record's key, so every submission reads its metadata the same way."""
    return b.modal(
        view_id, title, inputs, submit=submit, private_metadata=RecordRef(key="new").dump()
    )


def text_block(
    field: str,
    label: str,
    *,
    max_length: int = 1000,
    multiline: bool = True,
    optional: bool = False,
    hint: str | None = None,
    placeholder: str | None = None,
    initial: str | None = None,
) -> b.Block:
    """A labelled text input whose block and action ids are both `field` (as view_values and
    the field errors expect); `initial` is cut to `max_length`, as Slack refuses it longer."""
    element = b.text_input(
        field,
        multiline=multiline,
        max_length=max_length,
        placeholder=placeholder,
        initial=initial[:max_length] if initial else None,
    )
    return b.input_block(field, label, element, optional=optional, hint=hint)


def title_block(
    field: str,
    *,
    max_length: int,
    placeholder: str | None = None,
    initial: str | None = None,
) -> b.Block:
    """A form's one-line "Title" input (`text_block` on one line)."""
    return text_block(
        field,
        "Title",
        max_length=max_length,
        multiline=False,
        placeholder=placeholder,
        initial=initial,
    )


def select_block(
    field: str,
    label: str,
    options: Sequence[tuple[str, str]],
    *,
    optional: bool = False,
    hint: str | None = None,
    initial: str | None = None,
    placeholder: str = "Choose",
) -> b.Block:
    """A labelled choice of `options` ((text, value) pairs) whose block and action ids are
    both `field`, like `text_block`'s."""
    element = b.static_select(field, options, placeholder=placeholder, initial=initial)
    return b.input_block(field, label, element, optional=optional, hint=hint)


def meeting_inputs(held_on: str, attendees: str) -> list[b.Block]:
    """A review meeting's date and, optionally, who attended (a customer's service review, a
    management review)."""
    return [
        b.input_block(held_on, "Held on", {"type": "datepicker", "action_id": held_on}),
        b.input_block(
            attendees,
            "Attendees",
            {"type": "multi_users_select", "action_id": attendees},
            optional=True,
        ),
    ]


def action_inputs(n: int, text: str, owner: str, due: str, *, max_length: int) -> list[b.Block]:
    """The n-th follow-up action a meeting agreed, all optional: what, who, by when."""
    return [
        text_block(text, f"Action {n}", max_length=max_length, multiline=False, optional=True),
        b.input_block(
            owner, f"Action {n}: who", {"type": "users_select", "action_id": owner}, optional=True
        ),
        b.input_block(
            due, f"Action {n}: by when", {"type": "datepicker", "action_id": due}, optional=True
        ),
    ]


def labelled(fields: Iterable[tuple[str, str]]) -> list[str]:
    """The fields beside a section's text, each `(label, value)` shown as `*label*` over the
    value (mrkdwn: what was typed in it already escaped)."""
    return [f"*{label}*\n{value}" for label, value in fields]


def summary_blocks(
    title: str,
    fields: Iterable[tuple[str, str]],
    *,
    raised_by: str | None = None,
    raised_at: datetime | None = None,
    raised: str = "Raised",
) -> list[b.Block]:
    """The top of a record's message: its title line with the `(label, value)` fields beside
    it (block `summary`, `labelled`), and "Raised by … <when>" under it when `raised_by` is
    given (`raised` another word for it: "Requested", "Planned")."""
    out: list[b.Block] = [b.section(title, fields=labelled(fields), block_id="summary")]
    if raised_by is not None and raised_at is not None:
        out.append(b.context(f"{raised} by {b.user(raised_by)} {b.slack_time(raised_at)}"))
    return out


def text_sections(labelled: Iterable[tuple[str, str | None]]) -> list[b.Block]:
    """A section `*label*` + the text for each text someone wrote; empty ones left out. A text
    that escaping has made longer than a section holds is cut at Slack's limit."""
    return [
        b.section(f"*{label}*\n{b.user_text(value)}"[: b.SECTION_LIMIT])
        for label, value in labelled
        if value
    ]


def with_buttons(
    out: list[b.Block],
    lifecycle: Lifecycle,
    record: Any,
    buttons: Sequence[Button],
    *,
    ref: RecordRef | None = None,
) -> list[b.Block]:
    """`out` and, below it, the buttons the record's state allows (none in a final state)."""
    actions = step_buttons(lifecycle, record, buttons, ref=ref)
    return [*out, actions] if actions else out


def show_with_trail(
    message: Sequence[b.Block], trail: Sequence[Any], *, room: int = 50
) -> list[b.Block]:
    """What `/kind show KEY` answers: the message without its buttons, then the audit trail
    in what is left of `room` blocks."""
    out = [block for block in message if block.get("type") != "actions"]
    return out + b.audit_trail(trail, room=room - len(out))


def register_blocks(
    found: Sequence[Any], heading: str, line: Callable[[Any], str], *, none: str = "none."
) -> list[b.Block]:
    """A list of records under `*heading* (n)`, one `line(record)` each; `*heading*: none.`
    (or `none`) when empty."""
    if not found:
        return [b.section(f"*{b.user_text(heading)}*: {none}")]
    lines = [line(record) for record in found]
    return [b.section(f"*{b.user_text(heading)}* ({len(found)})"), *b.line_sections(lines)]


def record_message(
    record: Any,
    title: str,
    fields: Sequence[tuple[str, str]],
    *,
    raised: bool = False,
    more: Sequence[b.Block] = (),
    texts: Iterable[tuple[str, str | None]] = (),
    after: Sequence[b.Block] = (),
) -> list[b.Block]:
    """A record's channel message, the usual way round: `title` with the `(label, value)`
    fields beside it (values already escaped), "Raised by …" when `raised` (from the record's
    `created_by` and `created_at`), the `more` blocks, the `texts` people wrote
    (`text_sections`), then the `after` blocks; handlers.kind adds the buttons below."""
    out = summary_blocks(
        title,
        fields,
        raised_by=record.created_by if raised else None,
        raised_at=record.created_at if raised else None,
    )
    return [*out, *more, *text_sections(texts), *after]
