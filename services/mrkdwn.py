"""Putting text a person or a file supplied into Slack mrkdwn without letting it act as markup.

Slack reads `<…>` in message text and mrkdwn blocks as control sequences: `<!channel>`,
`<!here>` and `<!everyone>` notify a whole channel, `<@U…>` and `<!subteam^S…>` ping people,
`<#C…>` links a channel and `<https://…|label>` shows a link under a label of the writer's
choosing. A title, note or imported name must never do any of that, so every such value is
passed through `user_text` where it is put into mrkdwn. The bot's own markup (the assignee it
mentions on purpose, a page to an on-call group, a date, a permalink) is built with `mention`,
`group_mention` and `link` here, which accept only well-formed Slack ids and never a person's
words.

Rules of use:

- mrkdwn (section text and fields, context elements, the `text` of chat.postMessage,
  chat.update, chat.postEphemeral and response_url answers, notification texts): escape.
- plain_text objects (headers, buttons, option labels, modal titles) and modal
  `initial_value`s: do NOT escape. Slack never reads markup there, and an escaped value would
  be shown to the person as `&lt;`.

Why this module lives in services/: notification texts are composed in services (SLA
warnings, change and release reminders, test reminders) and stored in the outbox ready to
send, and services may import models but not bot/ or handlers/. A pure function module here is
reachable from every layer that writes text (handlers and bot/blocks import services already),
and it imports nothing from Slack.

Escaping is idempotent: `&amp;`, `&lt;` and `&gt;` already in the text are kept as they are.
Slack decodes exactly those three entities, so a value that was escaped once (a notification
text also kept as an audit note, an error message that quotes a typed key and is shown
again) is never escaped twice into a visible `&amp;lt;`. The only cost is that someone who types
the literal characters `&lt;` sees `<`, which can never turn into markup.
"""

from __future__ import annotations

import re

# An `&` that does not already start one of the three entities Slack decodes.
_BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")
# Slack user ids (U…, and W… on Enterprise Grid) and user-group ids (S…): capitals and digits.
_USER_ID = re.compile(r"^[UW][A-Z0-9]+$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]+$")
_URL = re.compile(r"^https?://[^\s<>|]+$")


def user_text(value: object) -> str:
    """`value` (a title, note, name, reason, answer; None reads as "") made safe to put into
    mrkdwn: `&`, `<` and `>` become entities, so nothing in it mentions, notifies or links."""
    if value is None:
        return ""
    text = str(value)
    if not any(char in text for char in "&<>"):
        return text
    return _BARE_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def is_user_id(value: str | None) -> bool:
    return bool(value) and bool(_USER_ID.match(value or ""))


def is_group_id(value: str | None) -> bool:
    return bool(value) and bool(_GROUP_ID.match(value or ""))


def mention(user_id: str | None, *, nobody: str = "Unassigned") -> str:
    """The bot's own mention of a person: `<@U…>` for a well-formed user id, `nobody` when
    there is none, and anything else shown as (escaped) text rather than trusted as markup."""
    if not user_id:
        return nobody
    return f"<@{user_id}>" if is_user_id(user_id) else user_text(user_id)


def group_mention(group_id: str) -> str:
    """The bot's own mention of a user group (a page to on-call, the approvers)."""
    return f"<!subteam^{group_id}>" if is_group_id(group_id) else user_text(group_id)


def ref_mention(slack_ref: str) -> str:
    """A user or user-group reference from the policy (S… is a group) as a mention."""
    return group_mention(slack_ref) if slack_ref.startswith("S") else mention(slack_ref)


def link(url: str, label: str) -> str:
    """A link the bot makes (a permalink) with a label; the label is escaped and a url that
    is not plain http(s) is shown as text instead of becoming a link."""
    if not _URL.match(url or ""):
        return user_text(label)
    return f"<{url}|{user_text(label)}>"


_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


def channel_mention(channel_id: str | None, *, nowhere: str = "its channel") -> str:
    """The bot's own link to a channel it created (`<#C…>`); anything that is not a
    well-formed channel id is shown as (escaped) text."""
    if channel_id and _CHANNEL_ID.match(channel_id):
        return f"<#{channel_id}>"
    return user_text(channel_id) or nowhere
