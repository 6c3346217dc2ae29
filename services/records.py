"""What every record kind shares: its human key (INC-7, CHG-3, …), fetching it by that key,
and the bookkeeping of its one channel message.

The channel message is posted at least once, and kept up to date durably:

- Posting is claimed (channel_id, claimed_at, claimed_by) before the post and completed by
  storing the ts. A claim still without a ts after CLAIM_LEASE belongs to a poster that died
  (kill -9 between posting and storing) or hung; the announce sweep takes it over and posts
  again. If the first post did reach Slack, the record now has two messages: the second says so.
- Every change to a record bumps its message_version in the same transaction (a before-flush
  hook below, so no service can forget it). A refresh that rendered version v stores
  rendered_version = v after Slack accepted the update; a message whose version is ahead of
  what was rendered is stale, and a sweep refreshes it. A refresh that could not run (the ts
  was not known yet, Slack was down, the process died) is therefore repeated, never dropped.
- Refreshes of one record are serialised across processes by `lock_message` (see there).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import case, event, inspect, or_, text, update
from sqlmodel import Session, col, select

from models.record_message import MESSAGE_COLUMNS
from services import audit, rows
from services.errors import InvalidInput, NotFound
from services.mrkdwn import user_text
from services.permissions import SYSTEM, Actor

if TYPE_CHECKING:
    from services.lifecycle import Lifecycle

T = TypeVar("T")

# Record ids are 32-bit integers in PostgreSQL.
MAX_RECORD_NUMBER = 2**31 - 1

# Longer than one post can take (10 s timeout, two retries of each kind, plus backoff), so a
# live poster is never overtaken; short enough that a dead one's record is announced soon.
CLAIM_LEASE = timedelta(minutes=2)

# Record tables that carry a channel message; filled as RecordKinds are declared.
_MESSAGE_MODELS: set[type] = set()


@dataclass(frozen=True)
class Claim:
    """This caller is to post the record's channel message. `taken_over`: an earlier claim
    expired without a ts, so the record may already have a message in Slack. `token` is what
    this claim wrote to claimed_by: only its holder records the message's ts."""

    token: str
    taken_over: bool = False


@dataclass(frozen=True)
class Recorded:
    """What storing a posted message's ts found: `kept` when it became the record's message
    (False for a poster whose claim was taken over meanwhile), `stale` when the record changed
    after the version the message shows."""

    kept: bool
    stale: bool


@dataclass(frozen=True)
class RecordKind(Generic[T]):
    """One kind of record: its table, key prefix, the noun people read ("incident"), an example
    key, and its lifecycle (states, moves, who may make each; see services.lifecycle).

    A kind's service module declares one (`KIND = RecordKind(...)`) and the generic code works
    from it: fetching by key, the step moves (`step`), the checks before a form opens
    (`check_step`) and the bookkeeping of the record's one channel message."""

    model: type[T]
    prefix: str
    noun: str
    example: str
    lifecycle: Lifecycle | None = None

    def __post_init__(self) -> None:
        if hasattr(self.model, "message_version"):
            _MESSAGE_MODELS.add(self.model)

    def parse_key(self, key: str) -> int:
        """'INC-7' (any case, spaces trimmed) → 7; anything else is refused in plain words."""
        prefix, _, number = key.strip().upper().partition("-")
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        if prefix != self.prefix or not (number.isascii() and number.isdigit()):
            article = "an" if self.noun[0] in "aeiou" else "a"
            raise InvalidInput(
                f"'{user_text(key.strip()[:40])}' is not {article} {self.noun} key; "
                f"they look like {self.example}."
            )
        # Larger than any row id the database can hold (and than SQLite's driver accepts).
        if len(number) > len(str(MAX_RECORD_NUMBER)) or int(number) > MAX_RECORD_NUMBER:
            raise NotFound(f"There is no {self.noun} {key.strip().upper()[:40]}.")
        return int(number)

    def get(self, session: Session, *, key: str, for_update: bool = False) -> T:
        """The record with this key. With `for_update` the row is locked until the transaction
        ends (PostgreSQL; SQLite already serialises writers) and re-read, so a second click
        waiting behind the first sees the state the first one left."""
        return rows.by_id(
            session,
            self.model,
            self.parse_key(key),
            missing=f"There is no {self.noun} {key.strip().upper()}.",
            for_update=for_update,
        )

    def check_step(self, record: T, action: str, actor: Actor) -> None:
        """Before a form for `action` opens (and when it comes back): this person may take it
        and the record's state allows it now; Forbidden or NotAllowed otherwise."""
        if self.lifecycle is not None:
            self.lifecycle.check_step(record, action, actor)

    def step(
        self,
        session: Session,
        *,
        key: str,
        action: str,
        actor: Actor,
        now: datetime,
        note: str | None = None,
    ) -> T:
        """Make the lifecycle move `action` on the record with this key, as `actor`: the row is
        locked (two clicks count once: the second sees the state the first left), who may move
        and from which states is checked against the lifecycle table, the move is audited."""
        if self.lifecycle is None:
            raise TypeError(f"{self.noun} has no lifecycle")
        record = self.get(session, key=key, for_update=True)
        self.lifecycle.move(session, record, action, actor=actor, now=now, note=note)
        return record

    def created(
        self, session: Session, record: T, *, actor: Actor, now: datetime, note: str | None = None
    ) -> None:
        """The first row of a new record's audit trail: who created it, in which state."""
        audit.record(
            session,
            key=record.key,  # type: ignore[attr-defined]
            actor=actor.user_id,
            at=now,
            action="created",
            after=record.status,  # type: ignore[attr-defined]
            note=note,
        )

    def set_field(
        self,
        session: Session,
        record: T,
        field: str,
        value: Any,
        *,
        actor: Actor,
        now: datetime,
        action: str = "field changed",
        note: str | None = None,
    ) -> None:
        """Set one field of the record (and its `updated_at`) and audit it, from and to (dates
        as YYYY-MM-DD), with `note` when given."""
        before = getattr(record, field)
        audit.record(
            session,
            key=record.key,  # type: ignore[attr-defined]
            actor=actor.user_id,
            at=now,
            action=action,
            field=field,
            before=before.isoformat() if isinstance(before, date) else before,
            after=value.isoformat() if isinstance(value, date) else value,
            note=note,
        )
        setattr(record, field, value)
        record.updated_at = now  # type: ignore[attr-defined]

    def unannounced(
        self,
        session: Session,
        *,
        now: datetime,
        grace: timedelta = timedelta(minutes=1),
        within: timedelta = timedelta(days=7),
        limit: int = 50,
        lease: timedelta = CLAIM_LEASE,
    ) -> list[str]:
        """Records created more than `grace` ago (and within the last `within`) whose channel
        message is not known: never posted because Slack was unreachable, or claimed by a
        poster that never stored the ts and whose lease ran out. The partial index on
        created_at (only rows without a ts) keeps this to the few such records."""
        model: Any = self.model
        statement = (
            select(model.id)
            .where(
                col(model.message_ts).is_(None),
                col(model.created_at) >= now - within,
                col(model.created_at) <= now - grace,
                or_(
                    col(model.channel_id).is_(None),
                    col(model.claimed_at).is_(None),
                    col(model.claimed_at) <= now - lease,
                ),
            )
            .order_by(col(model.created_at), col(model.id))
            .limit(limit)
        )
        return [f"{self.prefix}-{number}" for number in session.exec(statement)]

    # ---- the record's one channel message -----------------------------------------------------

    def claim_announcement(
        self,
        session: Session,
        *,
        key: str,
        channel_id: str,
        now: datetime,
        owner: str = "",
        lease: timedelta = CLAIM_LEASE,
    ) -> Claim | None:
        """A Claim for exactly one caller: the one that will post the record's channel message;
        None for everyone else. An unfinished claim older than `lease` is taken over."""
        model: Any = self.model
        number = self.parse_key(key)
        token = f"{owner[:60]}/{secrets.token_hex(6)}"
        values = {"channel_id": channel_id, "claimed_at": now, "claimed_by": token}
        fresh = session.execute(
            update(model)
            .where(col(model.id) == number, col(model.channel_id).is_(None))
            .values(**values)
        )
        if fresh.rowcount == 1:
            return Claim(token)
        # Claimed before claims had a time (claimed_at NULL) counts as expired too.
        expired = session.execute(
            update(model)
            .where(
                col(model.id) == number,
                col(model.message_ts).is_(None),
                or_(col(model.claimed_at).is_(None), col(model.claimed_at) <= now - lease),
            )
            .values(**values)
        )
        return Claim(token, taken_over=True) if expired.rowcount == 1 else None

    def release_announcement(self, session: Session, *, key: str) -> None:
        """Posting the channel message failed: let a later attempt claim it again."""
        model: Any = self.model
        session.execute(
            update(model)
            .where(col(model.id) == self.parse_key(key), col(model.message_ts).is_(None))
            .values(channel_id=None, claimed_at=None, claimed_by=None)
        )

    def record_message(
        self,
        session: Session,
        *,
        key: str,
        channel_id: str,
        ts: str,
        rendered_version: int | None = None,
        claim: Claim | None = None,
    ) -> Recorded:
        """Remember where the record's channel message is, to update it in place, and which
        version of the record it shows. With a `claim`, only while that claim is the record's
        (a poster overtaken after its lease leaves the message of the one that took over);
        without one, the first message recorded stays."""
        model: Any = self.model
        mine = (
            col(model.message_ts).is_(None)
            if claim is None
            else col(model.claimed_by) == claim.token
        )
        values: dict[str, Any] = {"channel_id": channel_id, "message_ts": ts}
        if rendered_version is not None:
            # As mark_rendered: never moves backwards.
            values["rendered_version"] = case(
                (col(model.rendered_version) < rendered_version, rendered_version),
                else_=col(model.rendered_version),
            )
        # One statement: RETURNING reads the row as updated (both databases), so "changed
        # after the version its message shows" is is_stale's test on the new row.
        kept = session.execute(
            update(model)
            .where(col(model.id) == self.parse_key(key), mine)
            .values(**values)
            .returning(col(model.message_version) > col(model.rendered_version))
        ).all()
        if len(kept) != 1:
            return Recorded(kept=False, stale=False)
        return Recorded(kept=True, stale=bool(kept[0][0]))

    def mark_rendered(self, session: Session, *, key: str, version: int) -> None:
        """Slack now shows `version` of the record (never moves backwards)."""
        model: Any = self.model
        session.execute(
            update(model)
            .where(col(model.id) == self.parse_key(key), col(model.rendered_version) < version)
            .values(rendered_version=version)
        )

    def forget_stale(self, session: Session, *, key: str) -> None:
        """Stop refreshing a message that can no longer be updated (deleted in Slack, the bot
        removed from its channel): the sweep would otherwise retry it for ever."""
        model: Any = self.model
        session.execute(
            update(model)
            .where(col(model.id) == self.parse_key(key))
            .values(rendered_version=model.message_version)
        )

    def is_stale(self, session: Session, *, key: str) -> bool:
        """Whether the record changed after the version its message last showed."""
        model: Any = self.model
        statement = select(col(model.message_version) > col(model.rendered_version)).where(
            col(model.id) == self.parse_key(key)
        )
        return bool(session.exec(statement).first())

    def stale_messages(self, session: Session, *, limit: int = 100) -> list[str]:
        """Records whose posted message is behind their state: a refresh was lost (the ts was
        not known yet, Slack failed, the process died). Served by the partial index."""
        model: Any = self.model
        statement = (
            select(model.id)
            .where(
                col(model.message_version) > col(model.rendered_version),
                col(model.message_ts).is_not(None),
            )
            .order_by(col(model.id))
            .limit(limit)
        )
        return [f"{self.prefix}-{number}" for number in session.exec(statement)]

    def lock_message(self, session: Session, *, key: str) -> None:
        """Hold the record's message lock until `session`'s transaction ends.

        On PostgreSQL this is a transaction-level advisory lock keyed by the record, so two
        processes (web replicas on one database) never interleave render-and-update of one
        record's message: whoever holds it renders from the committed state and sends the
        update before the next one reads. It ends with the transaction, so a crash cannot leave
        it held. SQLite has no such lock; a SQLite deployment is one process, and the caller's
        in-process lock does the same there.
        """
        if session.get_bind().dialect.name != "postgresql":
            return
        session.execute(
            text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _lock_id(f"message:{key}")}
        )


def is_person(user: str | None) -> bool:
    """Whether a record's reporter or requester is someone to tell: a Slack user, not the bot
    itself (records a failed URL check or availability test opened have nobody to tell)."""
    return bool(user) and user != SYSTEM.user_id and user[:1] in ("U", "W")


def _lock_id(name: str) -> int:
    """A stable signed 64-bit number for an advisory lock name."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@event.listens_for(Session, "before_flush")
def _bump_message_versions(session: Session, _context: Any, _instances: Any) -> None:
    """Any change to a record that has a channel message makes that message stale, in the same
    transaction. The increment is done by the database (version + 1), so two transactions
    changing one record concurrently both count."""
    for record in session.dirty:
        if type(record) not in _MESSAGE_MODELS:
            continue
        state = inspect(record)
        changed = any(
            attr.history.has_changes() for attr in state.attrs if attr.key not in MESSAGE_COLUMNS
        )
        if changed:
            model: Any = type(record)
            record.message_version = model.message_version + 1  # type: ignore[attr-defined]
