"""Everything a person reads about incidents in Slack: messages, lists, usage (the forms are in
handlers/incidents/forms.py).

Every value a person or a file supplied (titles, descriptions, notes, names) goes through
`b.user_text` where it is put into mrkdwn; modal initial values stay as typed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.incidents.ids import Action, More
from models.audit import AuditEntry
from models.carried import RecordRef
from models.incident import (
    HoldReason,
    Incident,
    IncidentStatus,
    Level,
)
from models.notification import Notification
from models.sla_policy import format_duration
from services import notifications, priority, security
from services.incident_sla import IncidentSla
from services.incidents import LIFECYCLE
from services.mrkdwn import is_user_id, link

PRIORITY_EMOJI = {
    1: ":red_circle:",
    2: ":large_orange_circle:",
    3: ":large_yellow_circle:",
    4: ":large_blue_circle:",
    5: ":white_circle:",
}
LEVELS = [("High", Level.HIGH.value), ("Medium", Level.MEDIUM.value), ("Low", Level.LOW.value)]


def title_line(incident: Incident) -> str:
    lock = " :lock: restricted" if incident.restricted else ""
    emoji = PRIORITY_EMOJI[incident.priority]
    return rb.title_line(emoji, incident.key, b.user_text(incident.title)) + lock


def redacted_message(key: str) -> tuple[str, list[b.Block]]:
    """What a restricted incident's message in the shared channel is replaced with."""
    text = f"{security.RESTRICTED} {b.user_text(key)}"
    return text, [
        b.section(restricted_line(key)),
        b.context("Its details are kept with the security team."),
    ]


def moved_on_text(key: str) -> str:
    """The security channel's message of an incident no longer restricted."""
    return f"{b.user_text(key)} is no longer restricted; it continues in the incidents channel."


def posts_refused_text(key: str, refused: int, restricted: bool) -> str:
    """Slack would not edit some of the bot's earlier posts about the incident."""
    done, left = (
        ("redact", "restricting it again retries them")
        if restricted
        else ("restore", "they still show the restricted placeholder")
    )
    posts = "post" if refused == 1 else "posts"
    return (
        f":warning: Slack would not {done} {refused} of the bot's earlier {posts} about "
        f"{b.user_text(key)}; {left}."
    )


def restriction_text(key: str, actor: str, restricted: bool, reason: str) -> str:
    """The thread post and answer when the security team restricts or releases an incident."""
    done = "restricted" if restricted else "lifted the restriction on"
    return f"{b.user(actor)} {done} {b.user_text(key)}.\n> {b.user_text(reason)}"


def fallback_text(incident: Incident) -> str:
    assigned = f"assigned to {b.user(incident.assignee)}" if incident.assignee else "unassigned"
    name, priority = b.user_text(incident.title), f"P{incident.priority}"
    return rb.fallback_text(incident.key, name, priority, incident.state.label, assigned)


def next_deadline(sla: IncidentSla | None) -> str:
    if sla is None or sla.next_deadline is None:
        return "—"
    name, state = sla.next_deadline
    if state.paused:
        return f"{name} paused (on hold)"
    suffix = " :warning: breached" if state.breached else ""
    return f"{name} by {b.slack_time(state.due_at)}{suffix}"


def message_blocks(
    incident: Incident,
    sla: IncidentSla | None,
    *,
    affects: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> list[b.Block]:
    """The one channel message of an incident, with the buttons its state allows."""
    value = RecordRef(key=incident.key).dump()
    status = incident.state.label
    if incident.state is IncidentStatus.ON_HOLD and incident.hold_reason:
        status += f" ({HoldReason(incident.hold_reason).label.lower()})"
    overridden = " (overridden)" if incident.priority_overridden else ""
    fields = [
        ("Priority", priority.name(incident.priority) + overridden),
        ("Status", status),
        ("Assignee", b.user(incident.assignee)),
        ("Service", b.user_text(incident.service) or "—"),
        ("Team", b.user_text(incident.team) or "—"),
        ("Next SLA deadline", next_deadline(sla)),
    ]
    out = rb.summary_blocks(title_line(incident), fields)
    meta = [
        f"Logged by {b.user(incident.reporter)} {b.slack_time(incident.created_at)}",
        f"impact {b.user_text(incident.impact)} · urgency {b.user_text(incident.urgency)}",
    ]
    if incident.category:
        meta.append(f"category {b.user_text(incident.category)}")
    if incident.agreement:
        meta.append(f"agreement {b.user_text(incident.agreement)}")
    if incident.escalation_level:
        meta.append(f"escalation level {incident.escalation_level}")
    out.append(b.context(" · ".join(meta)))
    if sla is not None and incident.is_open:
        out.append(
            b.context(
                b.sla_line("response", sla.response), b.sla_line("resolution", sla.resolution)
            )
        )
    if affects:
        out.append(b.context("Affects services: " + ", ".join(b.user_text(a) for a in affects)))
    # `notes` are mrkdwn the problems renderer made (it escaped what people typed in them).
    for note in notes:
        out.append(b.section(note))
    if incident.state is IncidentStatus.RESOLVED and incident.resolution_code:
        out.append(
            b.context(
                f"Resolved ({b.user_text(incident.resolution_code)}): "
                f"{b.user_text(incident.resolution_note)}"
            )
        )
    buttons = _buttons(incident, value)
    if buttons:
        out.append(buttons)
    return out


def _buttons(incident: Incident, value: str) -> b.Block | None:
    state = incident.status
    allowed = set(LIFECYCLE.actions_from(state))
    elements = []
    if "acknowledge" in allowed:
        elements.append(b.button("Acknowledge", Action.ACKNOWLEDGE, value, style="primary"))
    if "assign" in allowed:
        picker = {
            "type": "users_select",
            "action_id": Action.ASSIGN.value,
            "placeholder": b.plain("Assign…"),
        }
        if is_user_id(incident.assignee):  # Slack refuses the whole message for a bad id
            picker["initial_user"] = incident.assignee
        elements.append(picker)
    if "escalate" in allowed:
        elements.append(b.button("Escalate", Action.ESCALATE, value, style="danger"))
    if "hold" in allowed:
        elements.append(b.button("Put on hold", Action.HOLD, value))
    if "resume" in allowed:
        elements.append(b.button("Resume", Action.RESUME, value, style="primary"))
    if "resolve" in allowed:
        elements.append(b.button("Resolve", Action.RESOLVE, value, style="primary"))
    if "reopen" in allowed:
        elements.append(b.button("Reopen", Action.REOPEN, value))
    if "close" in allowed:
        elements.append(b.button("Close", Action.CLOSE, value))
    more = []
    if "reprioritise" in allowed:
        more.append(b.option("Change priority…", f"{More.PRIORITY}|{incident.key}"))
    if "cancel" in allowed:
        more.append(b.option("Cancel incident…", f"{More.CANCEL}|{incident.key}"))
    if incident.is_open:
        more.append(b.option("Raise problem…", f"{More.PROBLEM}|{incident.key}"))
    if incident.is_open and not incident.is_major:
        more.append(b.option("Declare major incident…", f"{More.MAJOR}|{incident.key}"))
    if more:
        elements.append({"type": "overflow", "action_id": Action.MORE.value, "options": more})
    return b.actions(f"incident_actions|{incident.key}", elements)


# ---- steps posted in the thread -------------------------------------------------------------


def step_text(action: str, incident: Incident, actor: str, note: str | None = None) -> str:
    """The thread post of one step; `note` is what the person typed with it."""
    actor = b.user(actor)
    texts = {
        "acknowledge": f"{actor} acknowledged {incident.key}; it is in progress.",
        "assign": f"{actor} assigned {incident.key} to {b.user(incident.assignee)}.",
        "hold": f"{actor} put {incident.key} on hold"
        + (f" ({HoldReason(incident.hold_reason).label.lower()})" if incident.hold_reason else "")
        + "; the SLA clock is paused.",
        "resume": f"{actor} resumed {incident.key}; the SLA clock runs again.",
        "resolve": f"{actor} resolved {incident.key} ({b.user_text(incident.resolution_code)}).",
        "reopen": f"{actor} reopened {incident.key}.",
        "close": f"{actor} closed {incident.key}.",
        "cancel": f"{actor} cancelled {incident.key}.",
        "priority": f"{actor} changed the priority of {incident.key} to "
        f"{priority.name(incident.priority)}.",
        "escalate": f"{actor} escalated {incident.key}.",
    }
    return rb.with_note(texts[action], note)


def supplier_text(supplier: str, ticket: str | None) -> str:
    """The thread line naming the supplier an incident put on hold waits on."""
    text = f":truck: Waiting on {b.user_text(supplier)}"
    return text + (f", their ticket {b.user_text(ticket)}." if ticket else ".")


def assigned_text(incident: Incident, actor: str) -> str:
    """The direct message the new assignee gets."""
    return (
        f"{b.user(actor)} assigned *{incident.key}* to you: "
        f"{b.user_text(incident.title)} ({priority.name(incident.priority)})."
    )


def created_text(incident: Incident) -> str:
    return f"{b.user(incident.reporter)} logged {incident.key}: {b.user_text(incident.title)}"


def page_text(incident: Incident) -> str:
    return (
        f":rotating_light: You are paged for *{incident.key}* ({priority.name(incident.priority)}): "
        f"{b.user_text(incident.title)}. Please acknowledge."
    )


def escalation_text(incident: Incident, kind: str, actor: str, note: str) -> str:
    lead = (
        f"{incident.key} was handed to team *{b.user_text(incident.team)}*"
        if kind == "functional"
        else f"{incident.key} was escalated to level {incident.escalation_level}"
    )
    text = (
        f":arrow_double_up: {lead} by {b.user(actor)}: *{b.user_text(incident.title)}* "
        f"({priority.name(incident.priority)})."
    )
    return rb.with_note(text, note)


def dm_blocks(text: str, incident: Incident, *, permalink: str | None = None) -> list[b.Block]:
    """A direct message about an escalation, with an Acknowledge button: it acknowledges a
    New incident, and otherwise records that the person has taken the escalation on.

    `text` is mrkdwn one of the texts above made (they escape what people typed)."""
    out = [b.section(text)]
    if permalink:
        out.append(b.context(link(permalink, "Open the incident message")))
    if incident.is_open:
        out.append(
            b.actions(
                f"incident_dm|{incident.key}",
                [
                    b.button(
                        "Acknowledge",
                        Action.ESCALATION_ACK,
                        RecordRef(key=incident.key).dump(),
                        style="primary",
                    )
                ],
            )
        )
    return [block for block in out if block]


# ---- ephemeral answers ----------------------------------------------------------------------


def restricted_line(key: str) -> str:
    """How a restricted incident appears to anyone outside the security team and its people."""
    key = b.user_text(key)  # always one of ours; escaped all the same
    return f":lock: *{key}* · {security.RESTRICTED} {key}"


def list_blocks(
    found: Sequence[Incident], heading: str, *, hidden: Sequence[str] = ()
) -> list[b.Block]:
    """Incidents, one a line; those whose keys are `hidden` (restricted, and this reader
    may not see them) as "Restricted incident INC-n" and nothing more."""
    # The heading can quote the filters that were typed; register_blocks escapes it.
    return rb.register_blocks(
        found, heading, lambda i: restricted_line(i.key) if i.key in hidden else list_line(i)
    )


def list_line(i: Incident) -> str:
    service = b.user_text(i.service) if i.service else None
    logged = f"logged {b.slack_time(i.created_at, fmt='{date_short} {time}')}"
    facts = (f"P{i.priority}", i.state.label, b.user(i.assignee), service, logged)
    return rb.list_line(i.key, b.user_text(i.title), *facts, emoji=PRIORITY_EMOJI[i.priority])


def show_blocks(
    incident: Incident,
    sla: IncidentSla,
    trail: Sequence[AuditEntry],
    sent: Sequence[Notification] = (),
) -> list[b.Block]:
    out = message_blocks(incident, sla)
    out = [block for block in out if block.get("type") != "actions"]
    if incident.description:
        out.append(b.section(f"*Description*\n{b.user_text(incident.description)}"))
    out.append(
        b.section(
            "*SLA*\n"
            + "\n".join(
                [b.sla_line("response", sla.response), b.sla_line("resolution", sla.resolution)]
            )
        )
    )
    if sent:
        out.append(b.section(f"*Notifications* ({len(sent)})"))
        out += b.line_sections([notification_line(row) for row in sent])[:5]
    return out + b.audit_trail(trail, room=50 - len(out))


def notification_line(row: Notification) -> str:
    """One outbox row for the record's history: what, to whom, due and sent (or why not)."""
    if row.status == "sent" and row.sent_at:
        state = f"sent {row.sent_at:%Y-%m-%d %H:%M}Z"
        late = notifications.late_by(row)
        if late is not None:
            state += f" (late by {format_duration(late)})"
    elif row.status == "cancelled":
        state = "cancelled (no longer applied)"
    else:
        state = f"pending, {row.attempts} attempt(s)" if row.attempts else "pending"
    # The stage can carry a test's name from the policy file; an unknown recipient is text.
    recipient = b.ref(row.recipient) if row.recipient[:1] in "UWS" else b.user_text(row.recipient)
    return (
        f"`{row.due_at:%Y-%m-%d %H:%M}Z` {b.user_text(row.kind)} {b.user_text(row.stage)} "
        f"→ {recipient}: {state}"
    )


def when(at: datetime) -> str:
    return b.slack_time(at)


def unknown_blocks(word: str, usage: str) -> list[b.Block]:
    """A word that is no sub-command: the usage, and a button to log it as a title."""
    return [
        b.section(f"`{b.user_text(word)}` is not an incident sub-command.\n\n{usage}"),
        b.actions(
            "incident_unknown",
            [
                b.button(f"Log “{word[:40]}” as an incident", "incident_log_titled", word[:150]),
            ],
        ),
    ]


def service_changed(
    incident: Incident, actor: str, before_service: str | None, before_agreement: str | None
) -> str:
    """The thread post and the answer when an agent moves an incident to another service."""
    line = (
        f"{b.user(actor)} moved {incident.key} from service "
        f"{b.user_text(before_service or 'none')} to {b.user_text(incident.service or 'none')}."
    )
    if incident.agreement != before_agreement:
        line += (
            f" It now falls under agreement {b.user_text(incident.agreement or 'none')} "
            f"(was {b.user_text(before_agreement or 'none')}); its SLA deadlines follow."
        )
    return line


SERVICE_USAGE = "Use `/incident service INC-12 <service|none> <why>`."
