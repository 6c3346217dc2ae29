"""Everything a person reads about major incidents in Slack: the summary in the incident's own
channel, the forms (declare, post update), role and update posts, the timeline.

What people typed goes through `b.user_text` where it is put into mrkdwn; the channel topic is
escaped too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers.incidents.ids import Action, Field, View
from handlers.kind import record_form, text_block
from models.carried import RecordRef
from models.incident import Incident
from models.major_incident import REASON_MAX, UPDATE_FIELD_MAX, MajorIncident, Role, TimelineEntry
from services import security
from services.incident_timeline import Moment
from services.mrkdwn import channel_mention, is_user_id

TOPIC_MAX = 250


def heading(incident: Incident) -> str:
    return f":rotating_light: *Major incident {incident.key}* · {b.user_text(incident.title)}"


def topic(incident: Incident) -> str:
    """The channel topic, at most Slack's 250 characters; escaped like any text (Slack says
    topics are not formatted, but a client that did would find nothing to follow)."""
    text = f"Major incident {incident.key} (P{incident.priority}): {b.user_text(incident.title)}"
    return text if len(text) <= TOPIC_MAX else text[: TOPIC_MAX - 1] + "…"


def restricted_topic(key: str) -> str:
    """The topic of a restricted incident's channel: its key and nothing else."""
    return f"{security.RESTRICTED} {b.user_text(key)}"


def redacted_summary(key: str) -> tuple[str, list[b.Block]]:
    """What a restricted incident's summary in its own channel is replaced with."""
    text = f"{security.RESTRICTED} {b.user_text(key)}"
    return text, [
        b.section(f":lock: *{b.user_text(key)}* · {text}"),
        b.context("Its details, roles and status updates are kept with the security team."),
    ]


def rename_failed_text(key: str, channel: str, error: str, restricted: bool) -> str:
    wanted = "a name without its title" if restricted else "its proper name back"
    return (
        f":warning: Slack would not rename {channel_mention(channel)} to {wanted} "
        f"({b.user_text(error)}); rename it by hand. {b.user_text(key)} carries on."
    )


def topic_failed_text(key: str, channel: str, error: str, restricted: bool) -> str:
    wanted = "a topic without its title" if restricted else "its proper topic back"
    return (
        f":warning: Slack would not give {channel_mention(channel)} {wanted} "
        f"({b.user_text(error)}); set it by hand. {b.user_text(key)} carries on."
    )


def channel_note(major: MajorIncident) -> str:
    """The line the incidents channel's message carries once an incident is major."""
    if major.channel_id and major.channel_redacted:
        return (
            f":rotating_light: *Major incident*. While it is restricted, "
            f"{channel_mention(major.channel_id)} shows only its key; it carries on here."
        )
    if major.channel_id:
        return f":rotating_light: *Major incident*, coordinated in {channel_mention(major.channel_id)}."
    if major.channel_error:
        return (
            ":rotating_light: *Major incident*. Its own channel could not be created "
            f"({b.user_text(major.channel_error)}); it carries on here."
        )
    return ":rotating_light: *Major incident*; its channel is being opened."


def roles_line(major: MajorIncident) -> str:
    return (
        f"*{Role.COMMANDER.label}:* {b.user(major.commander, nobody='nobody yet')} · "
        f"*{Role.COMMS_LEAD.label}:* {b.user(major.comms_lead, nobody='nobody yet')}"
    )


def next_update_line(major: MajorIncident) -> str:
    if major.ended_at is not None:
        return "No more status updates are due."
    if major.next_update_due is None:
        return "Next status update: —"
    return f"Next status update due {b.slack_time(major.next_update_due)}"


def summary_blocks(
    incident: Incident, major: MajorIncident, live: Sequence[b.Block]
) -> list[b.Block]:
    """The summary in the incident's channel: why it is major, its roles and update cadence,
    the incidents channel's live message mirrored, and the role pickers and Post update."""
    reason = f"Declared by {b.user(major.declared_by, nobody='the bot')}"
    reason += (
        f": {b.user_text(major.reason)}" if major.reason else f" (logged at P{incident.priority})"
    )
    out: list[b.Block] = [
        b.section(heading(incident)),
        b.context(reason),
        b.section(roles_line(major)),
        b.context(next_update_line(major)),
        b.divider(),
        *live,
    ]
    if major.ended_at is None:
        out.append(role_controls(incident, major))
    return out


def _picker(action_id: str, placeholder: str, current: str | None) -> dict[str, Any]:
    picker: dict[str, Any] = {
        "type": "users_select",
        "action_id": action_id,
        "placeholder": b.plain(placeholder),
    }
    if is_user_id(current):
        picker["initial_user"] = current
    return picker


def role_controls(incident: Incident, major: MajorIncident) -> b.Block:
    value = RecordRef(key=incident.key).dump()
    elements = [
        _picker(Action.COMMANDER, "Incident commander…", major.commander),
        _picker(Action.COMMS_LEAD, "Communications lead…", major.comms_lead),
        b.button("Post update", Action.POST_UPDATE, value, style="primary"),
    ]
    block = b.actions(f"major_roles|{incident.key}", elements)
    assert block is not None
    return block


def summary_text(incident: Incident) -> str:
    return f"Major incident {incident.key}: {b.user_text(incident.title)}"


def declared_text(incident: Incident, major: MajorIncident) -> str:
    who = b.user(major.declared_by, nobody="the bot")
    why = f": {b.user_text(major.reason)}" if major.reason else f" (logged at P{incident.priority})"
    return f":rotating_light: {who} declared {incident.key} a major incident{why}"


def channel_failed_text(incident: Incident, error: str) -> str:
    return (
        f":warning: Slack would not create a channel for {incident.key} ({b.user_text(error)}). "
        "The major incident carries on here in the incidents channel; roles and status updates "
        "still work from this message's summary below."
    )


def role_text(role: Role, user: str, actor: str) -> str:
    return f"{b.user(user)} is now the {role.label} (set by {b.user(actor)})."


def update_text(incident: Incident, entry: TimelineEntry) -> str:
    lines = [
        f":loudspeaker: *Status update on {incident.key}* · {b.user_text(incident.title)}",
        f"*Status:* {b.user_text(entry.text)}",
        f"*Impact:* {b.user_text(entry.impact)}",
    ]
    if entry.next_steps:
        lines.append(f"*Next steps:* {b.user_text(entry.next_steps)}")
    lines.append(f"Posted by {b.user(entry.actor)} {b.slack_time(entry.at)}")
    return "\n".join(lines)


def declare_modal(incident: Incident, ref: RecordRef) -> dict[str, Any]:
    return record_form(
        View.DECLARE,
        "Major incident",
        f"Declare *{incident.key}* · {b.user_text(incident.title)} a major incident: it gets its "
        "own channel, an incident commander and status updates.",
        [text_block(Field.REASON, "Why is it major?", max_length=REASON_MAX)],
        submit="Declare",
        ref=ref,
    )


def update_modal(incident: Incident, ref: RecordRef) -> dict[str, Any]:
    return record_form(
        View.UPDATE,
        "Status update",
        f"*{incident.key}* · {b.user_text(incident.title)}",
        [
            text_block(Field.UPDATE_STATUS, "Status", max_length=UPDATE_FIELD_MAX),
            text_block(Field.UPDATE_IMPACT, "Impact", max_length=UPDATE_FIELD_MAX),
            text_block(Field.UPDATE_NEXT, "Next steps", max_length=UPDATE_FIELD_MAX, optional=True),
        ],
        submit="Post",
        ref=ref,
    )


def moment_line(moment: Moment) -> str:
    subject = f" {b.user(moment.subject)}" if moment.subject else ""
    return (
        f"{b.slack_time(moment.at)} · {b.user(moment.actor, nobody='the bot')}: "
        f"{b.user_text(moment.text)}{subject}{b.user_text(moment.after)}"
    )


def timeline_blocks(incident: Incident, moments: Sequence[Moment]) -> list[b.Block]:
    head = f"*Timeline of {incident.key}* · {b.user_text(incident.title)}"
    if not moments:
        return [b.section(head), b.context("Nothing has happened yet.")]
    # Slack takes 50 blocks a message: the latest lines when a long incident has more.
    return [b.section(head), *b.line_sections([moment_line(m) for m in moments])[-45:]]


def marked_text(key: str, added: bool) -> str:
    shown = b.user_text(key)
    return (
        f"Added to {shown}'s timeline."
        if added
        else f"That message is already on {shown}'s timeline."
    )
