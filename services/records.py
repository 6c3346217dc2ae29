"""What every record kind shares: its human key (INC-7, CHG-3, …) and fetching it by that key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import update
from sqlmodel import Session, col, select

from services.errors import InvalidInput, NotFound

T = TypeVar("T")


@dataclass(frozen=True)
class RecordKind(Generic[T]):
    """One kind of record: its table, key prefix and the noun people read ("incident")."""

    model: type[T]
    prefix: str
    noun: str
    example: str

    def parse_key(self, key: str) -> int:
        """'INC-7' (any case, spaces trimmed) → 7; anything else is refused in plain words."""
        prefix, _, number = key.strip().upper().partition("-")
        if prefix != self.prefix or not number.isdigit():
            article = "an" if self.noun[0] in "aeiou" else "a"
            raise InvalidInput(
                f"'{key.strip()}' is not {article} {self.noun} key; they look like {self.example}."
            )
        return int(number)

    def get(self, session: Session, *, key: str, for_update: bool = False) -> T:
        """The record with this key. With `for_update` the row is locked until the transaction
        ends (PostgreSQL; SQLite already serialises writers) and re-read, so a second click
        waiting behind the first sees the state the first one left."""
        model: Any = self.model
        statement = select(model).where(model.id == self.parse_key(key))
        if for_update:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        found = session.exec(statement).first()
        if found is None:
            raise NotFound(f"There is no {self.noun} {key.strip().upper()}.")
        return found

    def unannounced(
        self,
        session: Session,
        *,
        now: datetime,
        grace: timedelta = timedelta(minutes=1),
        within: timedelta = timedelta(days=7),
        limit: int = 50,
    ) -> list[str]:
        """Records created more than `grace` ago (and within the last `within`) whose channel
        message was never posted, because Slack was unreachable. The created_at index keeps
        this to the recent ones."""
        model: Any = self.model
        statement = (
            select(model.id)
            .where(
                col(model.channel_id).is_(None),
                col(model.created_at) >= now - within,
                col(model.created_at) <= now - grace,
            )
            .order_by(col(model.created_at))
            .limit(limit)
        )
        return [f"{self.prefix}-{number}" for number in session.exec(statement)]

    # ---- the record's one channel message -----------------------------------------------------

    def claim_announcement(self, session: Session, *, key: str, channel_id: str) -> bool:
        """True for exactly one caller: the one that will post the record's channel message."""
        model: Any = self.model
        result = session.execute(
            update(model)
            .where(col(model.id) == self.parse_key(key), col(model.channel_id).is_(None))
            .values(channel_id=channel_id)
        )
        return result.rowcount == 1

    def release_announcement(self, session: Session, *, key: str) -> None:
        """Posting the channel message failed: let a later attempt claim it again."""
        model: Any = self.model
        session.execute(
            update(model)
            .where(col(model.id) == self.parse_key(key), col(model.message_ts).is_(None))
            .values(channel_id=None)
        )

    def record_message(self, session: Session, *, key: str, channel_id: str, ts: str) -> None:
        """Remember where the record's channel message is, to update it in place."""
        record: Any = self.get(session, key=key)
        record.channel_id = channel_id
        record.message_ts = ts
