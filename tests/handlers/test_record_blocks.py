"""The pieces every kind's messages and forms are built from (handlers/record_blocks.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from types import SimpleNamespace

from bot import blocks as b
from handlers import record_blocks as rb
from models.carried import RecordRef


def _texts(blocks: list[dict]) -> list[str]:
    return [block["text"]["text"] for block in blocks]


def test_a_register_counts_its_records_and_escapes_what_was_typed_in_its_heading() -> None:
    found = [SimpleNamespace(key="PRB-1"), SimpleNamespace(key="PRB-2")]
    blocks = rb.register_blocks(found, "Open <!channel> problems", lambda r: f"*{r.key}*")
    assert _texts(blocks) == ["*Open &lt;!channel&gt; problems* (2)", "*PRB-1*\n*PRB-2*"]


def test_an_empty_register_says_so_in_its_own_words() -> None:
    assert _texts(rb.register_blocks([], "Suppliers", str)) == ["*Suppliers*: none."]
    said = rb.register_blocks([], "Suppliers", str, none="none in the policy file")
    assert _texts(said) == ["*Suppliers*: none in the policy file"]


def test_a_long_register_is_spread_over_sections_slack_accepts() -> None:
    found = [SimpleNamespace(key=f"REL-{n}") for n in range(400)]
    blocks = rb.register_blocks(found, "Releases", lambda r: f"*{r.key}* " + "x" * 40)
    assert len(blocks) > 2
    assert all(len(text) <= b.SECTION_LIMIT for text in _texts(blocks))
    listed = "\n".join(_texts(blocks)[1:]).splitlines()
    assert len(listed) == 400 and listed[-1].startswith("*REL-399*")


def test_texts_people_wrote_are_escaped_cut_at_the_section_limit_and_empty_ones_left_out() -> None:
    blocks = rb.text_sections([("Design", "<" * 3000), ("Budget", None), ("Plan", "ship it")])
    assert len(blocks) == 2
    design, plan = _texts(blocks)
    assert design.startswith("*Design*\n&lt;&lt;") and len(design) == b.SECTION_LIMIT
    assert plan == "*Plan*\nship it"


def test_a_step_post_names_who_and_quotes_their_note_escaped() -> None:
    assert rb.step_post("closed {key}.", "CHG-3", "U1") == "<@U1> closed CHG-3."
    posted = rb.step_post("cancelled {key}.", "REL-2", "U1", "<!here> no window")
    assert posted == "<@U1> cancelled REL-2.\n> &lt;!here&gt; no window"


def test_a_new_record_form_carries_the_ref_new() -> None:
    form = rb.new_record_form("x_new", "New thing", [b.section("hi")], submit="Raise")
    assert RecordRef.load(form["private_metadata"]) == RecordRef(key="new")
    assert form["callback_id"] == "x_new"
    assert json.dumps(form["submit"]).count("Raise") == 1


def test_a_note_is_quoted_escaped_under_its_text_and_left_out_when_empty() -> None:
    assert rb.with_note("<@U1> escalated INC-1.", "<!channel> now") == (
        "<@U1> escalated INC-1.\n> &lt;!channel&gt; now"
    )
    assert rb.with_note("<@U1> closed INC-1.", "") == "<@U1> closed INC-1."
    assert rb.with_note("<@U1> closed INC-1.", None) == "<@U1> closed INC-1."


def test_a_day_reads_the_same_in_every_kind_and_a_missing_one_is_a_dash() -> None:
    assert rb.day(date(2025, 3, 4)) == "Tue 04 Mar 2025"
    assert rb.short_day(date(2025, 3, 4)) == "04 Mar 2025"
    assert rb.short_day(datetime(2025, 3, 4, 23, 59)) == "04 Mar 2025"
    assert rb.day(None) == "—" and rb.short_day(None) == "—"
    assert rb.day(None, none="not yet") == "not yet"


def test_a_records_title_line_starts_with_its_kinds_emoji_and_its_key_in_bold() -> None:
    assert rb.title_line(":mag:", "PRB-3", "Disk full") == ":mag: *PRB-3* · Disk full"


def test_a_fallback_text_lists_the_facts_after_the_name_leaving_out_none() -> None:
    said = rb.fallback_text("PRB-3", "Disk full", "P2", None, "Investigating")
    assert said == "PRB-3 Disk full — P2, Investigating"


def test_a_list_line_has_the_key_in_bold_and_the_emoji_only_when_given() -> None:
    assert rb.list_line("REL-1", "app 1.2", "Planned", None) == "*REL-1* app 1.2 — Planned"
    with_emoji = rb.list_line("CHG-4", "Patch", "Draft", "low risk", emoji=":wrench:")
    assert with_emoji == ":wrench: *CHG-4* Patch — Draft, low risk"


def test_labelled_fields_show_each_label_in_bold_over_its_value() -> None:
    assert rb.labelled([("Owner", "<@U1>"), ("Due", "—")]) == ["*Owner*\n<@U1>", "*Due*\n—"]


def test_a_summary_says_who_raised_the_record_in_the_kinds_own_word() -> None:
    when = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)
    top = rb.summary_blocks(
        "*REL-1*", [("Status", "Planned")], raised_by="U1", raised_at=when, raised="Planned"
    )
    assert top[0]["block_id"] == "summary"
    assert [field["text"] for field in top[0]["fields"]] == ["*Status*\nPlanned"]
    assert top[1]["elements"][0]["text"].startswith("Planned by <@U1> <!date^")
    assert len(rb.summary_blocks("*REL-1*", [("Status", "Planned")])) == 1
