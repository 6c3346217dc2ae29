"""The App Home tab: what is waiting for the person who opens it, and how to start."""

from __future__ import annotations

from typing import Any

from slack_bolt import App

from bot import blocks as b
from bot.context import AppContext
from handlers.common import later
from handlers.incidents import render as incident_render
from services import incidents, requests

COMMANDS = "\n".join(
    [
        "`/incident` log an incident · `/incident list mine`",
        "`/request` ask for something from the catalog",
        "`/change` raise a change · `/change calendar`",
        "`/release` plan a release",
        "`/problem` raise a problem · `/problem known-errors`",
        "`/ci <name>` search configuration items",
        "`/servicedesk availability` availability per service",
    ]
)


class HomeHandlers:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def register(self, app: App) -> None:
        app.event("app_home_opened")(self.on_home_opened)

    def on_home_opened(self, ack: Any, event: dict[str, Any]) -> None:
        ack()
        if event.get("tab", "home") == "home":
            later(self.ctx, self.publish, event["user"])

    def publish(self, user_id: str) -> None:
        self.ctx.client.views_publish(user_id=user_id, view=self.view(user_id))

    def view(self, user_id: str) -> dict[str, Any]:
        """The home tab of one person: incidents assigned to them, incidents they reported that
        are still open, and their open service requests."""
        with self.ctx.db.session() as session:
            mine = incidents.list_open(session, assignee=user_id, limit=10)
            reported = incidents.list_open(session, reporter=user_id, limit=10)
            asked = requests.list_requests(session, requester=user_id, limit=10)
        out: list[b.Block] = [b.header("Service desk")]
        out += incident_render.list_blocks(mine, "Incidents assigned to you")
        out += incident_render.list_blocks(reported, "Open incidents you reported")
        lines = [f"*{r.key}* {b.user_text(r.title)} — {r.state.label}" for r in asked]
        out.append(b.section("*Your open requests*\n" + ("\n".join(lines) or "none.")))
        out += [b.divider(), b.section(COMMANDS)]
        return {"type": "home", "blocks": out[:100]}
