"""Slack listeners for the CMDB: /ci and the item type-ahead. No rules here."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond

from bot.context import AppContext
from handlers.cmdb import render
from handlers.cmdb.ids import ITEM_SELECT
from handlers.common import ack_then, run_or_tell, tell
from models.cmdb import NAME_MAX
from services import capacity_standing, cmdb
from services.errors import ServiceDeskError
from services.mrkdwn import user_text

# Slack shows at most 100 options; fewer keeps the answer well inside its 3 seconds.
SUGGESTIONS = 25


class CmdbHandlers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.command("/ci")(ack_then(self.ctx, self._command))
        app.options(ITEM_SELECT)(self.on_suggest)

    def _command(self, body: dict[str, Any], respond: Respond) -> None:
        text = (body.get("text") or "").strip()
        words = text.split()
        head = words[0].lower() if words else ""
        if not words or head == "help":
            respond(text=render.USAGE, response_type="ephemeral")
        elif head == "show":
            self._show(" ".join(words[1:]), respond)
        else:
            self._search(text, respond)

    def _search(self, text: str, respond: Respond) -> None:
        found = run_or_tell(
            self.ctx, respond, lambda session: cmdb.search(session, text=text, limit=SUGGESTIONS)
        )
        if found is None:
            return
        if not found:
            respond(
                text=f"No configuration item matches “{user_text(text)}”.\n\n{render.USAGE}",
                response_type="ephemeral",
            )
            return
        respond(
            text=f"Items matching {user_text(text)}",
            blocks=render.search_blocks(text, found),
            response_type="ephemeral",
        )

    def _show(self, ref: str, respond: Respond) -> None:
        if not ref:
            tell(respond, "Which item? For example `/ci show CI-4` or `/ci show payments`.")
            return
        try:
            with self.ctx.db.session() as session:
                item = cmdb.resolve(session, ref=ref)
                view = cmdb.show(session, key=item.key)
                affected = cmdb.affected_services(session, key=item.key)
                records = cmdb.open_records_for_item(session, key=item.key)
                required = capacity_standing.capacity_status(
                    session, self.ctx.policy, self.ctx.clock.now(), item=item.name
                )
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        respond(
            text=f"{item.key} {user_text(item.name)}",
            blocks=render.show_blocks(view, affected, records, required),
            response_type="ephemeral",
        )

    def on_suggest(self, ack: Ack, body: dict[str, Any]) -> None:
        # Answered in the ack itself: Slack waits for the options, so no Slack calls here.
        query = (body.get("value") or "").strip()
        if len(query) > NAME_MAX:
            # No item has a name this long, and the search need not be asked.
            ack(options=[])
            return
        with self.ctx.db.session() as session:
            # Forms offer what is live: a retired service is no longer chosen.
            found = cmdb.search(session, text=query, limit=SUGGESTIONS, live_only=True)
        ack(options=render.options(found))
