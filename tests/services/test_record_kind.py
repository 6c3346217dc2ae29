"""services/records.py, what every record kind shares, tested through the incident kind at the
service level (both databases): keys, reading, the claim on a record's channel message, the
sweeps' lists, staleness and the version bump, and who counts as a person to tell."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from models.incident import Incident, IncidentInput, Level
from services import audit, incidents, records
from services.errors import InvalidInput, NotFound
from services.permissions import SYSTEM, Actor
from services.records import CLAIM_LEASE, MAX_RECORD_NUMBER, RecordKind
from tests.stale_support import change_behind, set_row

KIND = incidents.KIND


def _log(database, clock, policy, title: str = "Disk full") -> str:
    data = IncidentInput(title=title, impact=Level.LOW, urgency=Level.LOW)
    with database.session() as session:
        incident, _ = incidents.create(
            session, data=data, reporter="U0REPORTER", now=clock.now(), policy=policy
        )
        return incident.key


def _set(database, key: str, **values) -> None:  # type: ignore[no-untyped-def]
    set_row(database, Incident, KIND.parse_key(key), **values)


# ---- keys --------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "number"), [("INC-7", 7), (" inc-12 ", 12), ("Inc-0", 0)])
def test_a_key_in_any_case_with_spaces_gives_its_number(given: str, number: int) -> None:
    assert KIND.parse_key(given) == number


@pytest.mark.parametrize("given", ["CHG-7", "INC7", "INC-", "INC-x1", "INC-²", "INC--1", "", "7"])
def test_anything_else_is_not_a_key(given: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        KIND.parse_key(given)
    assert str(refused.value) == (
        f"'{given.strip()}' is not an incident key; they look like INC-12."
    )


def test_the_refusal_shows_forty_characters_escaped_and_the_right_article() -> None:
    with pytest.raises(InvalidInput) as refused:
        KIND.parse_key("<!channel>" + "x" * 100)
    assert str(refused.value) == (
        "'&lt;!channel&gt;" + "x" * 30 + "' is not an incident key; they look like INC-12."
    )
    request_kind = RecordKind(Incident, "REQ", "request", "REQ-3")
    with pytest.raises(
        InvalidInput, match=r"^'nope' is not a request key; they look like REQ-3\.$"
    ):
        request_kind.parse_key("nope")


def test_a_number_past_any_row_id_is_not_found() -> None:
    assert KIND.parse_key(f"INC-{MAX_RECORD_NUMBER}") == MAX_RECORD_NUMBER
    for too_big in (f"inc-{MAX_RECORD_NUMBER + 1}", "INC-" + "9" * 30, "INC-00000000001"):
        with pytest.raises(NotFound) as missing:
            KIND.parse_key(too_big)
        assert str(missing.value) == f"There is no incident {too_big.upper()[:40]}."


# ---- reading -----------------------------------------------------------------------------


def test_get_reads_by_key_and_names_a_missing_one(database, clock, policy) -> None:
    key = _log(database, clock, policy)
    with database.session() as session:
        assert KIND.get(session, key=" inc-1 ").title == "Disk full"
        with pytest.raises(NotFound) as missing:
            KIND.get(session, key=" inc-99 ")
        assert str(missing.value) == "There is no incident INC-99."
        held = KIND.get(session, key=key)
        # Changed behind the ORM's back (as another transaction would), a locked read sees it.
        change_behind(session, Incident, 1, title="Changed elsewhere")
        assert held.title == "Disk full"
        assert KIND.get(session, key=key, for_update=True) is held
        assert held.title == "Changed elsewhere"


def test_a_kind_without_a_lifecycle_has_no_steps(database) -> None:
    bare = RecordKind(Incident, "INC", "incident", "INC-12")
    with database.session() as session, pytest.raises(TypeError, match="incident has no lifecycle"):
        bare.step(session, key="INC-1", action="resolve", actor=SYSTEM, now=None)  # type: ignore[arg-type]
    bare.check_step(object(), "anything", SYSTEM)  # nothing to check against


# ---- audit helpers -----------------------------------------------------------------------


def test_set_field_audits_from_and_to_with_dates_as_days(database, clock, policy) -> None:
    key = _log(database, clock, policy)
    clock.advance(timedelta(minutes=5))
    actor = Actor("U0AGENT", frozenset())
    with database.session() as session:
        incident = KIND.get(session, key=key)
        KIND.set_field(session, incident, "title", "Disk really full", actor=actor, now=clock.now())
        with session.no_autoflush:
            KIND.set_field(
                session,
                incident,
                "description",
                date(2026, 12, 1),
                actor=actor,
                now=clock.now(),
                action="dated",
                note="why",
            )
            # The column holds text; only the audit row is about the date.
            incident.description = "by 2026-12-01"
        assert incident.title == "Disk really full" and incident.updated_at == clock.now()
        rows = audit.trail(session, key=key)[1:]
        assert [
            (r.action, r.actor, r.field, r.from_value, r.to_value, r.note, r.at) for r in rows
        ] == [
            (
                "field changed",
                "U0AGENT",
                "title",
                "Disk full",
                "Disk really full",
                None,
                clock.now(),
            ),
            ("dated", "U0AGENT", "description", "", "2026-12-01", "why", clock.now()),
        ]


def test_created_is_the_first_row_with_the_state(database, clock, policy) -> None:
    key = _log(database, clock, policy)
    with database.session() as session:
        incident = KIND.get(session, key=key)
        KIND.created(session, incident, actor=Actor("U0X", frozenset()), now=clock.now(), note="n")
        row = audit.trail(session, key=key)[-1]
        assert (row.action, row.actor, row.to_value, row.note, row.at) == (
            "created",
            "U0X",
            "new",
            "n",
            clock.now(),
        )


# ---- the claim on the channel message ----------------------------------------------------


def test_one_claim_until_the_lease_runs_out_then_one_take_over(database, clock, policy) -> None:
    key = _log(database, clock, policy)
    with database.session() as session:
        first = KIND.claim_announcement(
            session, key=key, channel_id="C1", now=clock.now(), owner="host-a" + "x" * 100
        )
        assert first is not None and not first.taken_over
        owner, _, suffix = first.token.rpartition("/")
        assert owner == ("host-a" + "x" * 100)[:60] and len(suffix) == 12
        assert KIND.claim_announcement(session, key=key, channel_id="C1", now=clock.now()) is None
        almost = clock.now() + CLAIM_LEASE - timedelta(seconds=1)
        assert KIND.claim_announcement(session, key=key, channel_id="C1", now=almost) is None
        second = KIND.claim_announcement(
            session, key=key, channel_id="C2", now=clock.now() + CLAIM_LEASE, owner="host-b"
        )
        assert second is not None and second.taken_over
        assert second.token.startswith("host-b/") and second.token != first.token
        incident = KIND.get(session, key=key, for_update=True)
        assert (incident.channel_id, incident.claimed_by) == ("C2", second.token)
        assert incident.claimed_at == clock.now() + CLAIM_LEASE


def test_a_claim_without_a_time_counts_as_expired_but_a_posted_one_never(
    database, clock, policy
) -> None:
    key = _log(database, clock, policy)
    _set(database, key, channel_id="C1", claimed_at=None, claimed_by="old")
    with database.session() as session:
        taken = KIND.claim_announcement(session, key=key, channel_id="C1", now=clock.now())
        assert taken is not None and taken.taken_over
        assert KIND.record_message(session, key=key, channel_id="C1", ts="1.1", claim=taken).kept
        later = clock.now() + CLAIM_LEASE * 10
        assert KIND.claim_announcement(session, key=key, channel_id="C1", now=later) is None


def test_a_released_claim_can_be_claimed_again_but_not_once_posted(database, clock, policy) -> None:
    key = _log(database, clock, policy)
    with database.session() as session:
        assert KIND.claim_announcement(session, key=key, channel_id="C1", now=clock.now())
        KIND.release_announcement(session, key=key)
        incident = KIND.get(session, key=key, for_update=True)
        assert (incident.channel_id, incident.claimed_at, incident.claimed_by) == (None, None, None)
        again = KIND.claim_announcement(session, key=key, channel_id="C1", now=clock.now())
        assert again is not None and not again.taken_over
        KIND.record_message(session, key=key, channel_id="C1", ts="1.1", claim=again)
        KIND.release_announcement(session, key=key)  # too late: the message exists
        incident = KIND.get(session, key=key, for_update=True)
        assert (incident.channel_id, incident.message_ts) == ("C1", "1.1")


# ---- what the sweeps look for ------------------------------------------------------------


def test_unannounced_lists_records_past_the_grace_without_a_live_claim(
    database, clock, policy
) -> None:
    start = clock.now()
    keys = [_log(database, clock, policy, title=f"n{n}") for n in range(5)]
    never, claimed_live, claimed_dead, posted, no_time = keys
    now = start + timedelta(minutes=5)
    _set(database, claimed_live, channel_id="C1", claimed_at=now - timedelta(minutes=1))
    _set(database, claimed_dead, channel_id="C1", claimed_at=now - CLAIM_LEASE)
    _set(database, posted, channel_id="C1", message_ts="1.1", claimed_at=start)
    _set(database, no_time, channel_id="C1", claimed_at=None)
    with database.session() as session:
        assert KIND.unannounced(session, now=now) == [never, claimed_dead, no_time]
        assert KIND.unannounced(session, now=now, limit=2) == [never, claimed_dead]
        # Within the grace after creation: not yet; exactly at its end: listed.
        assert KIND.unannounced(session, now=start + timedelta(seconds=59)) == []
        at_grace = KIND.unannounced(session, now=start + timedelta(minutes=1))
        assert never in at_grace
        # Older than `within`: left alone; exactly `within` old: still listed.
        assert KIND.unannounced(session, now=start + timedelta(days=7)) == [
            never,
            claimed_live,
            claimed_dead,
            no_time,
        ]
        assert KIND.unannounced(session, now=start + timedelta(days=7, seconds=1)) == []
        assert KIND.unannounced(session, now=now, lease=timedelta(seconds=30)) == [
            never,
            claimed_live,
            claimed_dead,
            no_time,
        ]


def test_stale_messages_are_the_posted_ones_behind_their_record(database, clock, policy) -> None:
    keys = [_log(database, clock, policy, title=f"n{n}") for n in range(4)]
    behind, current, unposted, behind_too = keys
    _set(database, behind, message_ts="1.1", message_version=3, rendered_version=2)
    _set(database, current, message_ts="1.2", message_version=3, rendered_version=3)
    _set(database, unposted, message_version=3, rendered_version=0)
    _set(database, behind_too, message_ts="1.3", message_version=1, rendered_version=0)
    with database.session() as session:
        assert KIND.stale_messages(session) == [behind, behind_too]
        assert KIND.stale_messages(session, limit=1) == [behind]
        assert [KIND.is_stale(session, key=k) for k in keys] == [True, False, True, True]
        KIND.mark_rendered(session, key=behind, version=3)
        KIND.mark_rendered(session, key=current, version=1)  # never backwards
        KIND.forget_stale(session, key=behind_too)
        assert KIND.stale_messages(session) == []
        rendered = {k: KIND.get(session, key=k, for_update=True).rendered_version for k in keys}
        assert rendered == {behind: 3, current: 3, unposted: 0, behind_too: 1}


def test_a_change_bumps_the_version_but_message_bookkeeping_does_not(
    database, clock, policy
) -> None:
    key = _log(database, clock, policy)
    with database.session() as session:
        start = KIND.get(session, key=key).message_version
    with database.session() as session:
        incident = KIND.get(session, key=key)
        incident.channel_id, incident.message_ts = "C1", "1.1"
        incident.rendered_version = 0
    with database.session() as session:
        assert KIND.get(session, key=key).message_version == start
    with database.session() as session:
        KIND.get(session, key=key).title = "Something the message shows"
    with database.session() as session:
        KIND.get(session, key=key).assignee = "U0AGENT"
    with database.session() as session:
        assert KIND.get(session, key=key).message_version == start + 2


# ---- people and locks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "is_one"),
    [
        ("U0REPORTER", True),
        ("W0GUEST", True),
        (SYSTEM.user_id, False),
        ("", False),
        (None, False),
        ("B0BOT", False),
        ("u0lower", False),
        ("C0CHANNEL", False),
    ],
)
def test_who_is_a_person_to_tell(user, is_one) -> None:
    assert records.is_person(user) is is_one


def test_lock_ids_are_stable_signed_and_distinct() -> None:
    first = records._lock_id("message:INC-1")
    assert first == records._lock_id("message:INC-1")
    assert first != records._lock_id("message:INC-2")
    assert -(2**63) <= first < 2**63
    assert any(records._lock_id(f"message:INC-{n}") < 0 for n in range(20))


def test_the_message_lock_is_held_until_the_transaction_ends(database, clock, policy) -> None:
    if database.dialect != "postgresql":
        with database.session() as session:
            KIND.lock_message(session, key="INC-1")  # SQLite: nothing to take
            assert session.connection().exec_driver_sql("SELECT 1").scalar() == 1
        return
    lock = records._lock_id("message:INC-1")
    query = (
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        " AND ((classid::bigint << 32) | objid::bigint) = %(lock)s"
    )
    with database.session() as session:
        KIND.lock_message(session, key="INC-1")
        held = session.connection().exec_driver_sql(query, {"lock": lock}).scalar()
        assert held == 1


# ---- one record, never its neighbours ----------------------------------------------------


def test_claims_releases_and_messages_touch_only_their_own_record(database, clock, policy) -> None:
    key, other = (_log(database, clock, policy, title=t) for t in ("mine", "other"))
    with database.session() as session:
        claim = KIND.claim_announcement(session, key=key, channel_id="C1", now=clock.now())
        assert claim is not None and claim.token.startswith("/")  # no owner given
        assert KIND.get(session, key=other, for_update=True).channel_id is None
        KIND.claim_announcement(session, key=other, channel_id="C1", now=clock.now())
        KIND.release_announcement(session, key=key)
        assert KIND.get(session, key=other, for_update=True).claimed_by is not None
    later = clock.now() + CLAIM_LEASE
    with database.session() as session:
        taken = KIND.claim_announcement(session, key=other, channel_id="C2", now=later)
        assert taken is not None and taken.taken_over
        assert KIND.get(session, key=key, for_update=True).channel_id is None
    third = _log(database, clock, policy, title="third")
    with database.session() as session:
        assert KIND.record_message(session, key=third, channel_id="C1", ts="3.3").kept
        assert KIND.get(session, key=key, for_update=True).message_ts is None


def test_a_plain_read_keeps_what_the_session_holds_a_step_reads_afresh(
    database, clock, policy
) -> None:
    key = _log(database, clock, policy)
    with database.session() as session:
        held = KIND.get(session, key=key)
        change_behind(session, Incident, 1, status="resolved", title="Changed")
        assert KIND.get(session, key=key).title == "Disk full"  # no lock, no re-read
        assert held.status == "new"
        # A step locks and re-reads: it sees Resolved, so closing is allowed.
        closed = KIND.step(session, key=key, action="close", actor=SYSTEM, now=clock.now())
        assert closed is held and closed.status == "closed"


def test_set_field_writes_times_as_iso_text(database, clock, policy) -> None:
    key = _log(database, clock, policy)
    first, second = clock.now(), clock.now() + timedelta(hours=1)
    with database.session() as session:
        incident = KIND.get(session, key=key)
        KIND.set_field(session, incident, "acknowledged_at", first, actor=SYSTEM, now=first)
        KIND.set_field(session, incident, "acknowledged_at", second, actor=SYSTEM, now=second)
        row = audit.trail(session, key=key)[-1]
        assert (row.from_value, row.to_value) == (first.isoformat(), second.isoformat())
        assert "T" in row.to_value


def test_a_long_missing_key_is_named_in_forty_characters() -> None:
    key = "INC-" + "9" * 60
    with pytest.raises(NotFound) as missing:
        KIND.parse_key(key)
    assert str(missing.value) == f"There is no incident {key[:40]}."


def test_the_sweeps_take_fifty_and_a_hundred_at_a_time(database, clock, policy) -> None:
    start = clock.now()
    keys = [_log(database, clock, policy, title=f"n{n}") for n in range(101)]
    with database.session() as session:
        session.execute(update(Incident).values(message_ts="1.1", message_version=2))
        assert len(KIND.stale_messages(session)) == 100
        session.execute(update(Incident).values(message_ts=None))
        assert len(KIND.unannounced(session, now=start + timedelta(minutes=5))) == 50
    assert len(keys) == 101


def test_unannounced_goes_by_creation_time_then_key(database, clock, policy) -> None:
    start = clock.now()
    keys = [_log(database, clock, policy, title=f"n{n}") for n in range(3)]
    # The last one logged first; a live claim that lost its channel is listed too.
    _set(database, keys[2], created_at=start - timedelta(minutes=3))
    _set(database, keys[0], channel_id=None, claimed_at=start)
    with database.session() as session:
        assert KIND.unannounced(session, now=start + timedelta(minutes=2)) == [
            keys[2],
            keys[0],
            keys[1],
        ]
