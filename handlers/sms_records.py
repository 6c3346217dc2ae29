"""What the service-management record kinds (audits, nonconformities, improvements) share
beyond handlers.kind: their channel (`[sms] channel`), a thread that starts with who raised
the record, and buttons that carry where the message lives."""

from __future__ import annotations

from handlers.kind import KindHandlers


class SmsRecordHandlers(KindHandlers):
    first_step_by = "created_by"
    refresh_when_announced = True

    @property
    def channel(self) -> str:
        return self.ctx.policy.sms.channel
