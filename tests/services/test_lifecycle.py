"""The table-driven lifecycle every record kind uses, on a lifecycle of its own: which moves it
allows, the refusal's words, and the audit row a move leaves."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum, StrEnum

import pytest

from services import audit
from services.errors import Forbidden, NotAllowed
from services.lifecycle import Lifecycle, Move, agents
from services.permissions import Actor, Role


class Colour(Enum):
    RED = "red"


class Door(StrEnum):
    SHUT = "shut"
    OPEN = "open"
    LOCKED = "locked"


def _door() -> Lifecycle:
    return Lifecycle(
        "door",
        {
            "open": ([Door.SHUT], Door.OPEN),
            "shut": ([Door.OPEN], Door.SHUT),
            "lock": ((Door.SHUT,), Door.LOCKED),
            "knock": ([Door.SHUT, Door.LOCKED], None),
            "rattle": ([Door.OPEN], Door.OPEN),
        },
        label=lambda state: state.upper(),
        action_label={"open": "opened", "lock": "locked"},
        final=[Door.LOCKED],
    )


@dataclass
class _Record:
    key: str
    status: str
    updated_at: datetime | None = None


def test_the_table_becomes_moves() -> None:
    door = _door()
    assert door.record_kind == "door"
    assert door.moves == {
        "open": Move(frozenset({"shut"}), "open"),
        "shut": Move(frozenset({"open"}), "shut"),
        "lock": Move(frozenset({"shut"}), "locked"),
        "knock": Move(frozenset({"shut", "locked"}), None),
        "rattle": Move(frozenset({"open"}), "open"),
    }
    assert door.final == frozenset({"locked"})
    assert all(type(state) is str for state in door.final)
    assert Lifecycle("bare", {}, label=str, action_label={}).final == frozenset()


def test_allowed_and_actions_from() -> None:
    door = _door()
    assert door.allowed("open", "shut")
    assert not door.allowed("open", "open")
    assert not door.allowed("fly", "shut")
    assert door.actions_from("shut") == ["open", "lock", "knock"]
    assert door.actions_from("locked") == ["knock"]
    assert door.actions_from("open") == ["shut", "rattle"]
    assert door.actions_from("gone") == []


def test_ways_forward_are_the_moves_that_change_the_state() -> None:
    door = _door()
    # Knocking keeps the state (no target), rattling an open door leaves it open.
    assert door.ways_forward("shut") == ["open", "lock"]
    assert door.ways_forward("open") == ["shut"]
    assert door.ways_forward("locked") == []


def test_check_gives_the_next_state_or_the_refusal_in_plain_words() -> None:
    door = _door()
    assert door.check("open", "shut", key="D-1") == "open"
    # An action that keeps the state answers the current one.
    assert door.check("knock", "locked", key="D-1") == "locked"
    with pytest.raises(NotAllowed) as refused:
        door.check("open", "locked", key="D-1")
    assert str(refused.value) == (
        "D-1 is LOCKED, so it cannot be opened now; that is only possible when it is SHUT."
    )
    # No label for the action: its name; several sources: sorted, joined with "or".
    with pytest.raises(NotAllowed) as refused:
        door.check("knock", "open", key="D-2")
    assert str(refused.value) == (
        "D-2 is OPEN, so it cannot be knock now; that is only possible when it is LOCKED or SHUT."
    )


def test_move_sets_the_status_and_audits_the_transition(database) -> None:  # type: ignore[no-untyped-def]
    door = _door()
    now = datetime(2026, 11, 27, 10, 0).astimezone()
    record = _Record("D-1", "shut")
    with database.session() as session:
        door.move(session, record, "knock", actor="U2", now=now)
        door.move(session, record, "open", actor="U1", now=now + timedelta(minutes=1), note="air")
    assert record.status == "open"
    assert record.updated_at == now + timedelta(minutes=1)
    with database.session() as session:
        rows = [
            (e.actor, e.action, e.field, e.from_value, e.to_value, e.note)
            for e in audit.trail(session, key="D-1")
        ]
    assert rows == [
        ("U2", "knock", "status", "shut", "shut", None),
        ("U1", "open", "status", "shut", "open", "air"),
    ]


def test_a_refused_move_changes_nothing(database) -> None:  # type: ignore[no-untyped-def]
    door = _door()
    record = _Record("D-1", "locked")
    with database.session() as session:
        with pytest.raises(NotAllowed, match="cannot be opened now"):
            door.move(session, record, "open", actor="U1", now=datetime.now().astimezone())
    assert (record.status, record.updated_at) == ("locked", None)
    with database.session() as session:
        assert audit.trail(session, key="D-1") == []


def test_audit_rows_store_enum_values_text_and_nothing_as_given(database) -> None:  # type: ignore[no-untyped-def]
    at = datetime(2026, 11, 27, 10, 0).astimezone()
    with database.session() as session:
        audit.record(session, key="D-9", actor="U1", at=at, action="made")
        audit.record(
            session,
            key="D-9",
            actor="U1",
            at=at,
            action="moved",
            field="status",
            before=Door.SHUT,
            after="open",
            note="n",
        )
        audit.record(session, key="D-9", actor="U1", at=at, action="counted", before=2, after=0)
        # An Enum that is not a str is stored by its value, not its repr.
        audit.record(session, key="D-9", actor="U1", at=at, action="coloured", after=Colour.RED)
        audit.record(session, key="OTHER", actor="U1", at=at, action="elsewhere")
        audit.record(session, key="D-9", actor="U3", at=at - timedelta(hours=1), action="earlier")
    with database.session() as session:
        trail = [
            (e.record_key, e.actor, e.at, e.action, e.field, e.from_value, e.to_value, e.note)
            for e in audit.trail(session, key="D-9")
        ]
    assert trail == [
        ("D-9", "U3", at - timedelta(hours=1), "earlier", None, None, None, None),
        ("D-9", "U1", at, "made", None, None, None, None),
        ("D-9", "U1", at, "moved", "status", "shut", "open", "n"),
        ("D-9", "U1", at, "counted", None, "2", "0", None),
        ("D-9", "U1", at, "coloured", None, None, "red", None),
    ]


def _guarded_door() -> Lifecycle:
    """Agents open the door; only the record's own keeper may do anything else."""

    def keeper(actor: Actor, record: _Record) -> None:
        if actor.user_id != "UKEEP":
            raise Forbidden(f"only the keeper may touch {record.key}")

    return Lifecycle(
        "door",
        {"open": ([Door.SHUT], Door.OPEN), "shut": ([Door.OPEN], Door.SHUT)},
        label=str,
        action_label={},
        who={"open": agents("open doors")},
        anyone_else=keeper,
    )


def test_the_who_table_and_anyone_else_decide_who_may_move(database) -> None:  # type: ignore[no-untyped-def]
    door = _guarded_door()
    now = datetime(2026, 11, 27, 10, 0).astimezone()
    record = _Record("D-1", "shut")
    agent = Actor("UAGENT", frozenset({Role.AGENT}))
    with database.session() as session:
        with pytest.raises(
            Forbidden,
            match=r"^Refused, because only service desk agents can open doors\. Ask an agent, or an admin to add you\.$",
        ):
            door.move(session, record, "open", actor=Actor("UKEEP"), now=now)
        with pytest.raises(Forbidden, match=r"^Refused, because only service desk agents can"):
            door.check_step(record, "open", Actor("UOTHER"))
        door.check_step(record, "open", agent)
        door.move(session, record, "open", actor=agent, now=now)
        with pytest.raises(Forbidden, match=r"^Refused, because only the keeper may touch D-1$"):
            door.move(session, record, "shut", actor=agent, now=now)
        door.move(session, record, "shut", actor=Actor("UKEEP"), now=now)
        # An action outside the table is checked for the person alone.
        door.check_step(record, "paint", Actor("UKEEP"))
        with pytest.raises(Forbidden, match=r"^Refused, because only the keeper may touch D-1$"):
            door.check_step(record, "paint", agent)
    assert record.status == "shut"
    with database.session() as session:
        assert [(e.actor, e.action) for e in audit.trail(session, key="D-1")] == [
            ("UAGENT", "open"),
            ("UKEEP", "shut"),
        ]
