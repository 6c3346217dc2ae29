"""Escaping text from the policy file (agreement names, customers) for Slack mrkdwn.

Slack reads &, < and > as markup (links, mentions, entities); a name holding them would render
wrongly or ping people. To be replaced by the project-wide escaping helper once it exists.
"""

from __future__ import annotations


def escape(text: str | None) -> str:
    """`text` with &, < and > written as Slack's entities (None as an empty string)."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
