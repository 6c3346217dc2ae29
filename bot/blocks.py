"""Small Block Kit builders shared by every record kind's handlers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from models.sla_policy import format_duration
from services.mrkdwn import mention, ref_mention, user_text

# Renderers reach the escaping helper as `b.user_text`: every value a person or a file
# supplied goes through it where it is put into mrkdwn (see services/mrkdwn.py).

if TYPE_CHECKING:
    from services.sla_clock import SlaState

Block = dict[str, Any]


def plain(text: str, *, emoji: bool = True) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:3000], "emoji": emoji}


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text[:3000]}


def section(text: str, *, fields: Sequence[str] = (), block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [mrkdwn(field) for field in fields[:10]]
    if block_id:
        block["block_id"] = block_id
    return block


def fields_section(fields: Sequence[str]) -> Block:
    return {"type": "section", "fields": [mrkdwn(field) for field in fields[:10]]}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text) for text in texts if text][:10]}


def divider() -> Block:
    return {"type": "divider"}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text[:150])}


def button(
    text: str,
    action_id: str,
    value: str,
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text),
        "action_id": action_id,
        "value": value[:2000],
    }
    if style:
        element["style"] = style
    if confirm:
        element["confirm"] = confirm
    return element


def actions(block_id: str, elements: Iterable[dict[str, Any]]) -> Block | None:
    items = list(elements)[:25]
    return {"type": "actions", "block_id": block_id, "elements": items} if items else None


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text[:75]), "value": value[:150]}


def static_select(
    action_id: str,
    options: Sequence[tuple[str, str]],
    *,
    placeholder: str = "Choose",
    initial: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": plain(placeholder),
        "options": [option(text, value) for text, value in options[:100]],
    }
    if initial is not None:
        match = next((option(t, v) for t, v in options if v == initial), None)
        if match:
            element["initial_option"] = match
    return element


def text_input(
    action_id: str,
    *,
    multiline: bool = False,
    initial: str | None = None,
    max_length: int | None = None,
    placeholder: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    if placeholder:
        element["placeholder"] = plain(placeholder)
    return element


def input_block(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint)
    return block


def modal(
    callback_id: str,
    title: str,
    blocks: list[Block],
    *,
    submit: str = "Submit",
    private_metadata: str = "",
) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title[:24]),
        "submit": plain(submit[:24]),
        "close": plain("Cancel"),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


def slack_time(when: datetime | None, *, fmt: str = "{date_short_pretty} {time}") -> str:
    """A time every reader sees in their own time zone (Slack's date formatting), UTC fallback."""
    if when is None:
        return "—"
    return f"<!date^{int(when.timestamp())}^{fmt}|{when:%Y-%m-%d %H:%M} UTC>"


def user(user_id: str | None, *, nobody: str = "Unassigned") -> str:
    """A person the bot mentions on purpose (only a well-formed user id becomes a mention)."""
    return mention(user_id, nobody=nobody)


def ref(slack_ref: str) -> str:
    """A user or user-group reference as a mention."""
    return ref_mention(slack_ref)


def view_values(view: dict[str, Any]) -> dict[str, Any]:
    """state.values flattened to action_id → the value a person chose or typed."""
    flat: dict[str, Any] = {}
    for block in (view.get("state") or {}).get("values", {}).values():
        for action_id, element in block.items():
            kind = element.get("type")
            if kind in ("static_select", "external_select", "radio_buttons"):
                chosen = element.get("selected_option")
                flat[action_id] = chosen.get("value") if chosen else None
            elif kind in ("multi_static_select", "multi_external_select", "checkboxes"):
                flat[action_id] = [o["value"] for o in element.get("selected_options") or []]
            elif kind == "users_select":
                flat[action_id] = element.get("selected_user")
            elif kind == "multi_users_select":
                flat[action_id] = element.get("selected_users") or []
            elif kind == "datepicker":
                flat[action_id] = element.get("selected_date")
            elif kind == "timepicker":
                flat[action_id] = element.get("selected_time")
            elif kind == "datetimepicker":
                flat[action_id] = element.get("selected_date_time")
            else:
                flat[action_id] = element.get("value")
    return flat


SECTION_LIMIT = 2900  # Slack refuses a section text over 3,000 characters


def line_sections(lines: Sequence[str]) -> list[Block]:
    """Lines spread over as many sections as Slack's per-section limit needs, none cut."""
    out: list[Block] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        line = line[:SECTION_LIMIT]
        if chunk and size + len(line) + 1 > SECTION_LIMIT:
            out.append(section("\n".join(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        out.append(section("\n".join(chunk)))
    return out


def audit_line(entry: Any) -> str:
    """One audit row as a line: when (UTC), who, what, from → to, and the note."""
    # Values and notes are what people typed (titles, reasons, notes): escaped.
    change = ""
    if entry.field:
        change = (
            f" {user_text(entry.field)}: {user_text(entry.from_value) or '—'}"
            f" → {user_text(entry.to_value) or '—'}"
        )
    elif entry.to_value:
        change = f" → {user_text(entry.to_value)}"
    note = f" — {user_text(entry.note)}" if entry.note else ""
    who = "servicedesk" if entry.actor == "servicedesk" else user(entry.actor, nobody="—")
    return f"`{entry.at:%Y-%m-%d %H:%M:%S}Z` {who} *{user_text(entry.action)}*{change}{note}"


def audit_trail(trail: Sequence[Any], *, room: int = 40) -> list[Block]:
    """A record's whole audit trail, in at most `room` blocks (a message holds 50). When even
    that is too little, the oldest entries are left out and the heading says how many."""
    room = max(room, 2)
    sections = line_sections([audit_line(entry) for entry in trail])
    heading = f"*Audit trail* ({len(trail)} entries)"
    if len(sections) > room - 1:
        shown = sections[-(room - 1) :]
        hidden = len(trail) - sum(s["text"]["text"].count("\n") + 1 for s in shown)
        heading += f", the {hidden} oldest not shown here"
        sections = shown
    return [section(heading), *sections]


def sla_line(name: str, state: SlaState) -> str:
    """One target in a line: due time, time left or overdue, % used, and running/paused/met."""
    if state.stopped:
        outcome = ":white_check_mark: met" if state.met else ":x: breached"
        return f"{name.capitalize()}: {outcome} ({state.percent_used:.0f}% used)"
    when = slack_time(state.due_at) if state.due_at else "paused"
    if state.breached:
        left = f"overdue by {format_duration(-state.remaining)}"
    else:
        left = f"{format_duration(state.remaining)} left"
    running = ":double_vertical_bar: paused" if state.paused else "running"
    flag = " :warning: *breached*" if state.breached else ""
    return (
        f"{name.capitalize()} due {when} — {left}, {state.percent_used:.0f}% used, {running}{flag}"
    )


def ticked(raw: Any) -> list[str]:
    """A checkbox group's ticked values from `view_values` (anything else: none ticked, so a
    forged value of the wrong type counts as no tick)."""
    return [str(value) for value in raw] if isinstance(raw, list) else []
