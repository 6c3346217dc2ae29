"""A slash command routed by its sub-command table, for any command: `/kind list|show|help|…`.

`CommandHandlers` routes the first word typed to a row of the table (`SubCommand`), answers
`help` (or nothing) and unknown words with the usage text built from the same table, and runs
the row after the ack. Record kinds build on it (handlers/kind.py); so do commands that are no
record kind (`/supplier`, `/customer`, `/servicedesk`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, ClassVar

from slack_bolt import App, Respond
from slack_sdk import WebClient

from bot.context import AppContext
from handlers.common import ack_then
from services.mrkdwn import user_text


@dataclass(frozen=True)
class Call:
    """One use of the slash command: what was typed, split into words."""

    body: dict[str, Any]
    client: WebClient
    respond: Respond
    words: list[str]

    @property
    def args(self) -> list[str]:
        """The words after the sub-command."""
        return self.words[1:]

    @property
    def user(self) -> str:
        return self.body.get("user_id") or ""

    def open_form(self, view: dict[str, Any]) -> None:
        """Open `view` (a form) for the person who typed the command."""
        self.client.views_open(trigger_id=self.body["trigger_id"], view=view)


@dataclass(frozen=True)
class SubCommand:
    """One row of a kind's sub-command table: `/kind NAME ARGS` — `usage`, run by `run`: the
    name of the handlers' method that takes the call ("on_list"), or any callable taking it.

    `name` "" is the bare command (`/problem`); `aliases` are other words that run it; a
    row with `listed=False` runs but is not in the usage text."""

    name: str
    run: str | Callable[[Call], None]
    usage: str
    args: str = ""
    aliases: tuple[str, ...] = ()
    listed: bool = True


def usage_text(command: str, heading: str, table: Sequence[SubCommand]) -> str:
    """The usage text, built from the sub-command table; `help` always comes last."""
    lines = [heading]
    for sub in table:
        if not sub.listed:
            continue
        words = " ".join(word for word in (command, sub.name, sub.args) if word)
        lines.append(f"`{words}` — {sub.usage}")
    lines.append(f"`{command} help` — this text")
    return "\n".join(lines)


class CommandHandlers:
    """A slash command routed by its sub-command table: `/command help` (or nothing, when no
    row is the bare command) answers the usage text built from the table, a word that is no
    sub-command is refused with it, any other runs its row after the ack."""

    command: ClassVar[str]  # "/supplier"
    heading: ClassVar[str]  # "*Suppliers*", the first line of the usage text
    # The sub-command table, declared: routing and the usage text come from it.
    table: ClassVar[Sequence[Any]] = ()

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def subcommands(self) -> Sequence[SubCommand]:
        """The sub-command table, each row run by these handlers."""
        return [self.row(entry) for entry in self.table]

    def row(self, entry: Any) -> SubCommand:
        """A row of `table` as it runs: a method named by its name is this object's."""
        return replace(entry, run=getattr(self, entry.run)) if isinstance(entry.run, str) else entry

    @cached_property
    def routes(self) -> tuple[SubCommand, ...]:
        """`subcommands()` built once: routing and the usage text read it on every command."""
        return tuple(self.subcommands())

    def register(self, app: App) -> None:
        self.routes  # noqa: B018 - a row naming no method of ours fails here, at start-up
        app.command(self.command)(ack_then(self.ctx, self.route, with_client=True))
        self.register_more(app)

    def register_more(self, app: App) -> None:
        """Listeners beyond the command (buttons, form submissions, …)."""

    @property
    def usage(self) -> str:
        return usage_text(self.command, self.heading, self.routes)

    def route(self, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        """Run the sub-command the first word names; `help` and unknown words get the usage."""
        call = Call(body, client, respond, (body.get("text") or "").split())
        head = call.words[0].lower() if call.words else ""
        for sub in self.routes:
            if head != "help" and (head == sub.name or head in sub.aliases):
                sub.run(call)  # type: ignore[operator]  # `row` bound it
                return
        if head in ("help", ""):
            respond(text=self.usage, response_type="ephemeral")
            return
        self.other(call)

    def other(self, call: Call) -> None:
        """A first word that is no sub-command."""
        call.respond(
            text=f"`{user_text(call.words[0][:80])}` is not {self.what_sub_command}.\n\n{self.usage}",
            response_type="ephemeral",
        )

    @property
    def what_sub_command(self) -> str:
        return f"a {self.command} sub-command"
