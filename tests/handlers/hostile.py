"""Hostile text for escaping tests, and the check that none of it acts as Slack markup.

Every hostile token carries the marker "evil" (or is a broadcast: channel, here, everyone), so
the check can tell it apart from the bot's own markup: the people it mentions on purpose
(`<@U0LEAD>`), the groups it pages (`<!subteam^S0PLATONCALL>`), dates and permalinks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

HOSTILE = (
    "<!channel> <!here> <!everyone> <@U0EVIL> <#C0EVIL> <!subteam^S0EVIL> "
    "<https://evil.example|click me> <mailto:evil@evil.example|mail> <tel:+15550100|evil> "
    "<!date^0^{date}|evil> & done"
)
# One line, short enough for every length limit a form enforces (titles, names).
HOSTILE_SHORT = "<!channel> <@U0EVIL> <https://evil.example|click me> & co"
# What the short one looks like once escaped: visible, inert.
HOSTILE_SHORT_SHOWN = (
    "&lt;!channel&gt; &lt;@U0EVIL&gt; &lt;https://evil.example|click me&gt; &amp; co"
)

# Keys whose strings Slack never renders as mrkdwn: what a form is prefilled with, what a
# button carries back, the view's own metadata, and the ids a call is addressed to (a forged
# id there is refused by Slack, never shown).
NOT_RENDERED = frozenset(
    {"initial_value", "value", "private_metadata", "channel", "user", "user_id", "initial_user"}
)

# Where an unescaped `<` would start markup.
_OPENER = re.compile(r"<(?=[!@#]|https?:|mailto:|tel:)", re.IGNORECASE)
# The bot's own markup: well-formed ids, dates, http(s) links; never with the hostile marker.
_ALLOWED = [
    re.compile(r"<@[UW][A-Z0-9]+>"),
    re.compile(r"<!subteam\^S[A-Z0-9]+>"),
    re.compile(r"<!date\^\d+\^[^|<>]*\|[^<>]*>"),
    re.compile(r"<https?://[^|<>\s]+(\|[^<>]*)?>"),
    re.compile(r"<#[CG][A-Z0-9]+>"),  # a channel the bot created (a major incident's)
]


def rendered_strings(payload: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """(path, text) for every string Slack would parse for markup: everything but plain_text
    objects (headers, buttons, option labels, titles) and values that are never shown."""
    if isinstance(payload, dict):
        if payload.get("type") == "plain_text":
            return
        for key, value in payload.items():
            if key in NOT_RENDERED:
                continue
            yield from rendered_strings(value, f"{path}.{key}")
    elif isinstance(payload, list | tuple):
        for index, value in enumerate(payload):
            yield from rendered_strings(value, f"{path}[{index}]")
    elif isinstance(payload, str):
        yield path, payload


def plain_texts(payload: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """(path, text) of every plain_text object: Slack shows these exactly as given."""
    if isinstance(payload, dict):
        if payload.get("type") == "plain_text" and isinstance(payload.get("text"), str):
            yield path, payload["text"]
        for key, value in payload.items():
            yield from plain_texts(value, f"{path}.{key}")
    elif isinstance(payload, list | tuple):
        for index, value in enumerate(payload):
            yield from plain_texts(value, f"{path}[{index}]")


def markup_problems(payload: Any) -> list[str]:
    """Each place where hostile text survived as markup, was escaped twice, or was escaped
    into plain text (where the person would see `&lt;` instead of `<`)."""
    found: list[str] = []
    for path, text in plain_texts(payload):
        if "&lt;" in text or "&gt;" in text or "&amp;" in text:
            found.append(f"{path}: escaped plain text shows entities: {text[:200]!r}")
    for path, text in rendered_strings(payload):
        if "&amp;lt;" in text or "&amp;gt;" in text or "&amp;amp;" in text:
            found.append(f"{path}: escaped twice: {text[:200]!r}")
        for opener in _OPENER.finditer(text):
            end = text.find(">", opener.start())
            token = text[opener.start() : end + 1] if end != -1 else text[opener.start() :]
            legitimate = (
                end != -1
                and any(pattern.fullmatch(token) for pattern in _ALLOWED)
                and "evil" not in token.lower()
            )
            if not legitimate:
                found.append(f"{path}: unescaped {token[:80]!r} in {text[:200]!r}")
    return found


def assert_no_markup(payload: Any, where: str = "") -> None:
    problems = markup_problems(payload)
    assert not problems, f"{where}: " + "\n".join(problems[:20])
