"""Slack listeners for `/supplier`: parse, call services.suppliers, render. No rules here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from handlers.common import actor_of, run_or_tell, tell
from handlers.customers import CustomerHandlers
from handlers.kind import Call, CommandHandlers, SubCommand, post_in_record_thread
from handlers.record_blocks import register_blocks
from handlers.suppliers import render
from models.relationship import PartyKind
from services import changes, incidents, problems, suppliers
from services.errors import ServiceDeskError
from services.mrkdwn import user_text

PERIOD = timedelta(days=30)


class SupplierHandlers(CommandHandlers):
    command = "/supplier"
    heading = "*Suppliers*"

    table = (
        SubCommand(
            "list", "on_list", "every supplier, its contract end and the records waiting on it"
        ),
        SubCommand(
            "show",
            "on_show",
            "the contract, open records waiting on them, performance",
            args="NAME",
        ),
        SubCommand(
            "wait",
            "on_wait",
            "name the supplier an incident on hold awaiting supplier waits on, or a problem "
            "or change involves (without a name: its service's one supplier)",
            args="INC-4 [NAME] [their ticket]",
        ),
    )

    def on_list(self, call: Call) -> None:
        with self.ctx.db.session() as session:
            waiting = suppliers.open_count(session)
        blocks = register_blocks(
            self.ctx.policy.suppliers,
            "Suppliers",
            lambda supplier: render.list_line(supplier, waiting),
            none="none in the policy file",
        )
        call.respond(text="Suppliers", blocks=blocks, response_type="ephemeral")

    def on_show(self, call: Call) -> None:
        name, respond = " ".join(call.args), call.respond
        if not name:
            tell(respond, "Which supplier? For example `/supplier show Acme`.")
            return
        now = self.ctx.clock.now()
        try:
            supplier = suppliers.named(self.ctx.policy, name)
        except ServiceDeskError as error:
            tell(respond, str(error))
            return
        with self.ctx.db.session() as session:
            open_waits = suppliers.waits(session, supplier=supplier.name, open_only=True)
            titles = suppliers.titles(session, [w.record_key for w in open_waits])
            performance = suppliers.performance(
                session, supplier=supplier, since=now - PERIOD, now=now
            )
            past = CustomerHandlers.review_section(session, PartyKind.SUPPLIER, supplier)
            waiting = {w.record_key for w in open_waits}
            named = [
                row.record_key
                for row in suppliers.named_by(session, supplier=supplier.name)
                if row.record_key not in waiting
            ]
        blocks = render.show_blocks(
            supplier, open_waits, titles, performance, named, period=PERIOD, now=now
        )
        blocks += past
        respond(
            text=f"Supplier {user_text(supplier.name)}", blocks=blocks, response_type="ephemeral"
        )

    def on_wait(self, call: Call) -> None:
        body, args, respond = call.body, call.args, call.respond
        if not args:
            tell(respond, "Which record? For example `/supplier wait INC-4 Acme T-123`.")
            return
        key, rest = args[0], args[1:]
        name, ticket = self._split(rest)

        def set_wait(session: Any) -> tuple[str, str, str | None]:
            row = suppliers.set_wait(
                session,
                key=key,
                supplier=name,
                ticket_ref=ticket,
                actor=actor_of(self.ctx, body),
                now=self.ctx.clock.now(),
                policy=self.ctx.policy,
            )
            return row.record_key, row.supplier, row.ticket_ref

        waiting = run_or_tell(self.ctx, respond, set_wait)
        if waiting is None:
            return
        record_key, chosen, ref = waiting
        text = render.wait_text(record_key, chosen, ref)
        tell(respond, text)
        kinds = {"INC": incidents.KIND, "PRB": problems.KIND, "CHG": changes.KIND}
        post_in_record_thread(self.ctx, kinds[record_key.partition("-")[0]], record_key, text)

    def _split(self, words: list[str]) -> tuple[str | None, str]:
        """The longest leading words that name a supplier, and the rest as their ticket."""
        for end in range(len(words), 0, -1):
            if suppliers.find(self.ctx.policy, " ".join(words[:end])) is not None:
                return " ".join(words[:end]), " ".join(words[end:])
        return None, " ".join(words)
