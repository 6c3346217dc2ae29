"""What a person reads about configuration items: search lists, the item card, usage, options."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers.cmdb.ids import ITEM_SELECT
from models.cmdb import ConfigItem
from services.cmdb import ItemView, OpenRecords

USAGE = "\n".join(
    [
        "*Configuration items*",
        "`/ci <name>` — find items whose name starts with or contains it",
        "`/ci show CI-4` (or `/ci show <name>`) — the item, its relationships, the services it "
        "affects and its open records",
        "`/ci help` — this text",
    ]
)


def item_line(item: ConfigItem) -> str:
    owner = b.user(item.owner, nobody="no owner")
    return f"*{item.key}* {item.name} — {item.type}, {item.status}, {owner}"


def search_blocks(text: str, found: Sequence[ConfigItem]) -> list[b.Block]:
    if not found:
        return [b.section(f"No configuration item matches “{text}”.")]
    return [
        b.section(f"*Items matching “{text}”* ({len(found)})"),
        b.section("\n".join(item_line(item) for item in found)),
    ]


def _names(items: Sequence[ConfigItem]) -> str:
    return ", ".join(f"{i.name} ({i.key})" for i in items) or "—"


def show_blocks(
    view: ItemView, affected: Sequence[ConfigItem], records: OpenRecords
) -> list[b.Block]:
    item = view.item
    out: list[b.Block] = [
        b.section(
            f"*{item.key}* · {item.name}",
            fields=[
                f"*Type*\n{item.type}",
                f"*Status*\n{item.status}",
                f"*Owner*\n{b.user(item.owner, nobody='—')}",
                f"*Team*\n{item.team or '—'}",
                f"*Supplier*\n{item.supplier or '—'}",
            ],
        ),
        b.section(
            "\n".join(
                [
                    f"*Depends on*: {_names(view.depends_on)}",
                    f"*Runs on*: {_names(view.runs_on)}",
                    f"*Used by*: {_names(view.used_by)}",
                    f"*Hosts*: {_names(view.hosts)}",
                ]
            )
        ),
        b.section("*Affects services*: " + (", ".join(s.name for s in affected) or "none")),
        b.section(
            "\n".join(
                [
                    "*Open incidents*: " + (", ".join(records.incidents) or "none"),
                    "*Open problems*: " + (", ".join(records.problems) or "none"),
                    "*Open changes*: " + (", ".join(records.changes) or "none"),
                    "*Other linked records*: " + (", ".join(records.other) or "none"),
                ]
            )
        ),
    ]
    if view.attributes:
        out.append(b.context(" · ".join(f"{k}: {v}" for k, v in view.attributes.items())))
    return out


def options(found: Sequence[ConfigItem]) -> list[dict[str, Any]]:
    """Type-ahead answers: the item's name and type shown, its key carried."""
    return [b.option(f"{item.name} ({item.type})", item.key) for item in found]


def item_select(*, placeholder: str = "Service or item", initial: str | None = None) -> dict:
    element: dict[str, Any] = {
        "type": "external_select",
        "action_id": ITEM_SELECT,
        "placeholder": b.plain(placeholder),
        "min_query_length": 0,
    }
    if initial:
        element["initial_option"] = b.option(initial, initial)
    return element
