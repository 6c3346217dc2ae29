"""What a person reads about configuration items: search lists, the item card, usage, options.

Names, teams, suppliers and attributes come from people and from imported files: they go
through `b.user_text` in mrkdwn. Type-ahead options are plain_text and stay as they are."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import blocks as b
from handlers import record_blocks as rb
from handlers.capacity.render import item_lines
from handlers.cmdb.ids import ITEM_SELECT
from models.cmdb import ConfigItem
from services.capacity_standing import CapacityRow
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
    return (
        f"*{item.key}* {b.user_text(item.name)} — {b.user_text(item.type)}, "
        f"{b.user_text(item.status)}, {owner}"
    )


def search_blocks(text: str, found: Sequence[ConfigItem]) -> list[b.Block]:
    if not found:
        return [b.section(f"No configuration item matches “{b.user_text(text)}”.")]
    return [
        b.section(f"*Items matching “{b.user_text(text)}”* ({len(found)})"),
        b.section("\n".join(item_line(item) for item in found)),
    ]


def _names(items: Sequence[ConfigItem]) -> str:
    return ", ".join(f"{b.user_text(i.name)} ({i.key})" for i in items) or "—"


def show_blocks(
    view: ItemView,
    affected: Sequence[ConfigItem],
    records: OpenRecords,
    required: Sequence[CapacityRow] = (),
) -> list[b.Block]:
    item = view.item
    out: list[b.Block] = [
        b.section(
            f"*{item.key}* · {b.user_text(item.name)}",
            fields=rb.labelled(
                [
                    ("Type", b.user_text(item.type)),
                    ("Status", b.user_text(item.status)),
                    ("Owner", b.user(item.owner, nobody="—")),
                    ("Team", b.user_text(item.team) or "—"),
                    ("Supplier", b.user_text(item.supplier) or "—"),
                ]
            ),
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
        b.section(
            "*Affects services*: " + (", ".join(b.user_text(s.name) for s in affected) or "none")
        ),
        b.section(
            "\n".join(
                [
                    "*Open incidents*: " + _keys(records.incidents),
                    "*Open problems*: " + _keys(records.problems),
                    "*Open changes*: " + _keys(records.changes),
                    "*Other linked records*: " + _keys(records.other),
                ]
            )
        ),
    ]
    out += b.line_sections(item_lines(required)) if required else []
    if view.attributes:
        out.append(
            b.context(
                " · ".join(
                    f"{b.user_text(k)}: {b.user_text(v)}" for k, v in view.attributes.items()
                )
            )
        )
    return out


def _keys(keys: Sequence[str]) -> str:
    return b.user_text(", ".join(keys)) or "none"


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
