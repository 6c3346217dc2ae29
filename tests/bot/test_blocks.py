"""Long text is spread over sections, never cut or over Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot import blocks
from models.audit import AuditEntry


def _trail(count: int) -> list[AuditEntry]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        AuditEntry(
            id=n,
            record_key="INC-1",
            actor="U1",
            at=start + timedelta(minutes=n),
            action="noted",
            note=f"entry {n} " + "x" * 100,
        )
        for n in range(count)
    ]


def test_line_sections_keep_every_line_within_the_limit():
    lines = [f"line {n} " + "y" * 200 for n in range(60)]
    sections = blocks.line_sections(lines)
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert "\n".join(s["text"]["text"] for s in sections).split("\n") == lines


def test_audit_trail_shows_everything_when_it_fits():
    out = blocks.audit_trail(_trail(30))
    assert out[0]["text"]["text"] == "*Audit trail* (30 entries)"
    text = "\n".join(s["text"]["text"] for s in out[1:])
    assert "entry 0 " in text and "entry 29 " in text


def test_audit_trail_too_long_keeps_the_newest_and_says_how_many_are_hidden():
    out = blocks.audit_trail(_trail(2000), room=10)
    assert len(out) == 10
    shown = sum(s["text"]["text"].count("\n") + 1 for s in out[1:])
    assert (
        out[0]["text"]["text"]
        == f"*Audit trail* (2000 entries), the {2000 - shown} oldest not shown here"
    )
    assert "entry 1999 " in out[-1]["text"]["text"]
    assert len(blocks.audit_trail(_trail(2000), room=-5)) == 2
