"""What the service-management record kinds (nonconformities, improvements) share beyond
handlers.kind: their channel (`[sms] channel`), announcing with the buttons' message
reference, and a form that makes one move and posts it in the record's thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack

from bot.blocks import view_values
from handlers.common import actor_of, later
from handlers.kind import KindHandlers, error_at
from services.errors import ServiceDeskError
from services.permissions import Actor


class SmsRecordHandlers(KindHandlers):
    note_field = "note"  # where a form's error is shown when the service names no field

    @property
    def channel(self) -> str:
        return self.ctx.policy.sms.channel

    def announce(self, key: str) -> Any:
        posted = super().announce(key)
        if posted is not None:
            self.refresh(key)  # the buttons carry where the message lives
        return posted

    def create_form(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        create: Callable[[Any, Actor, dict[str, Any]], Any],
        error_field: str,
    ) -> None:
        """A New form: `create(session, actor, values)` stores the record before the ack (once
        Slack closes the form it is stored); a bad value is shown by its field; then the
        record's message is posted."""
        try:
            with self.ctx.db.session() as session:
                key = create(session, actor_of(self.ctx, body), view_values(view)).key
        except ServiceDeskError as error:
            ack(response_action="errors", errors={error_at(view, error, error_field): str(error)})
            return
        ack()
        later(self.ctx, self.announce, key)

    def move_form(
        self,
        ack: Ack,
        body: dict[str, Any],
        view: dict[str, Any],
        move: str,
        apply: Callable[[Any, str, Actor, dict[str, Any]], Any],
    ) -> None:
        """A submitted form that makes `move` (the service checks the person again); then the
        message follows and the step is posted in its thread."""
        done = self.submit(ack, body, view, apply, self.note_field)
        if done:
            ref, actor, record = done
            later(self.ctx, self.refresh, ref.key, step=self.step_text(move, record, actor.user_id))
