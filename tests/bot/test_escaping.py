"""The escaping helper every renderer and notification text uses (services/mrkdwn.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot import blocks as b
from services.mrkdwn import group_mention, link, mention, ref_mention, user_text


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("<!channel> outage", "&lt;!channel&gt; outage"),
        ("<@U0EVIL>", "&lt;@U0EVIL&gt;"),
        ("<!subteam^S0EVIL|@oncall>", "&lt;!subteam^S0EVIL|@oncall&gt;"),
        ("<https://evil.example|click me>", "&lt;https://evil.example|click me&gt;"),
        ("R&D <-> QA", "R&amp;D &lt;-&gt; QA"),
        ("plain words, *bold* and `code`", "plain words, *bold* and `code`"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_user_text_escapes_the_three_control_characters(typed: object, shown: str) -> None:
    assert user_text(typed) == shown


def test_escaping_twice_changes_nothing() -> None:
    """A text escaped where it was composed (a notification, an error quoting a key) and again
    where it is shown must not turn into a visible `&amp;lt;`."""
    once = user_text("<!here> & <@U1>")
    assert user_text(once) == once == "&lt;!here&gt; &amp; &lt;@U1&gt;"
    # A typed entity cannot smuggle markup: Slack shows it as the character, never as a tag.
    assert user_text("&lt;!channel&gt;") == "&lt;!channel&gt;"
    assert user_text("&amp") == "&amp;amp"


def test_the_bots_own_mentions_accept_only_slack_ids() -> None:
    assert mention("U0LEAD") == "<@U0LEAD>"
    assert mention("W012ABC") == "<@W012ABC>"
    assert mention(None) == "Unassigned" and mention("", nobody="—") == "—"
    assert mention("U1><!channel") == "U1&gt;&lt;!channel"
    assert mention("u0lead") == "u0lead"
    assert group_mention("S0ONCALL") == "<!subteam^S0ONCALL>"
    assert group_mention("S0><!here") == "S0&gt;&lt;!here"
    assert ref_mention("S0ONCALL") == "<!subteam^S0ONCALL>" and ref_mention("U0A") == "<@U0A>"
    assert b.user("U0LEAD") == "<@U0LEAD>" and b.ref("S0X1") == "<!subteam^S0X1>"
    assert b.user("<!channel>") == "&lt;!channel&gt;"


def test_links_take_only_http_urls_and_escape_their_label() -> None:
    assert link("https://x.slack.com/archives/C1/p1", "Open <it>") == (
        "<https://x.slack.com/archives/C1/p1|Open &lt;it&gt;>"
    )
    assert link("javascript:alert(1)", "Open") == "Open"
    assert link("https://a.example|<!channel>", "Open") == "Open"


def test_the_helper_imports_nothing_from_slack_or_upper_layers() -> None:
    """services/ may import it, so it must stay a pure function module."""
    source = Path(__file__).resolve().parents[2] / "services" / "mrkdwn.py"
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(ast.parse(source.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "re"}


def test_audit_lines_escape_values_and_notes() -> None:
    from datetime import UTC, datetime

    from models.audit import AuditEntry

    entry = AuditEntry(
        record_key="INC-1",
        actor="U0LEAD",
        at=datetime(2026, 11, 27, tzinfo=UTC),
        action="resolved",
        field="title",
        from_value="<!channel>",
        to_value="<@U0EVIL>",
        note="<https://evil.example|x>",
    )
    line = b.audit_line(entry)
    assert "<@U0LEAD>" in line
    assert "&lt;!channel&gt;" in line and "&lt;@U0EVIL&gt;" in line
    assert "&lt;https://evil.example|x&gt;" in line
