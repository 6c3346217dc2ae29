"""records.record_message: where a record's channel message is, which version it shows, and
whether the record changed after that version, in one statement (both databases)."""

from __future__ import annotations

from models.incident import Incident, IncidentInput, Level
from services import incidents
from services.records import Claim
from tests.stale_support import set_row


def _incident(database, clock, policy, *, version: int, rendered: int) -> str:
    data = IncidentInput(title="Disk full", impact=Level.LOW, urgency=Level.LOW)
    with database.session() as session:
        incident, _ = incidents.create(
            session, data=data, reporter="U0REPORTER", now=clock.now(), policy=policy
        )
        key = incident.key
    set_row(
        database,
        Incident,
        incidents.parse_key(key),
        message_version=version,
        rendered_version=rendered,
    )
    return key


def _row(database, key: str) -> tuple:
    with database.session() as session:
        found = incidents.get(session, key=key)
        return (found.channel_id, found.message_ts, found.rendered_version, found.message_version)


def _record(database, key: str, **given):  # type: ignore[no-untyped-def]
    with database.session() as session:
        return incidents.record_message(session, key=key, channel_id="C1", **given)


def test_the_version_shown_is_recorded_and_not_stale(database, clock, policy) -> None:
    key = _incident(database, clock, policy, version=3, rendered=1)
    recorded = _record(database, key, ts="1.5", rendered_version=3)
    assert (recorded.kept, recorded.stale) == (True, False)
    assert _row(database, key) == ("C1", "1.5", 3, 3)


def test_a_record_that_changed_after_rendering_is_stale(database, clock, policy) -> None:
    key = _incident(database, clock, policy, version=5, rendered=1)
    recorded = _record(database, key, ts="1.5", rendered_version=4)
    assert (recorded.kept, recorded.stale) == (True, True)
    assert _row(database, key) == ("C1", "1.5", 4, 5)


def test_the_rendered_version_never_moves_backwards(database, clock, policy) -> None:
    key = _incident(database, clock, policy, version=6, rendered=6)
    recorded = _record(database, key, ts="1.5", rendered_version=2)
    # Kept where it was (6), so the record is not stale: staleness reads the updated row.
    assert (recorded.kept, recorded.stale) == (True, False)
    assert _row(database, key) == ("C1", "1.5", 6, 6)


def test_without_a_version_only_the_place_is_recorded(database, clock, policy) -> None:
    key = _incident(database, clock, policy, version=2, rendered=1)
    recorded = _record(database, key, ts="1.5")
    assert (recorded.kept, recorded.stale) == (True, True)
    assert _row(database, key) == ("C1", "1.5", 1, 2)
    fresh = _incident(database, clock, policy, version=4, rendered=4)
    assert _record(database, fresh, ts="2.5").stale is False


def test_without_a_claim_the_first_message_recorded_stays(database, clock, policy) -> None:
    key = _incident(database, clock, policy, version=1, rendered=0)
    assert _record(database, key, ts="1.5", rendered_version=1).kept
    second = _record(database, key, ts="9.9", rendered_version=1)
    assert (second.kept, second.stale) == (False, False)
    assert _row(database, key) == ("C1", "1.5", 1, 1)


def test_only_the_claim_holder_records_its_message(database, clock, policy) -> None:
    key = _incident(database, clock, policy, version=2, rendered=0)
    with database.session() as session:
        mine = incidents.claim_announcement(
            session, key=key, channel_id="C1", now=clock.now(), owner="me"
        )
    assert mine is not None
    other = _record(database, key, ts="7.7", rendered_version=2, claim=Claim("other/123"))
    assert (other.kept, other.stale) == (False, False)
    assert _row(database, key) == ("C1", None, 0, 2)
    kept = _record(database, key, ts="1.5", rendered_version=1, claim=mine)
    assert (kept.kept, kept.stale) == (True, True)
    assert _row(database, key) == ("C1", "1.5", 1, 2)
