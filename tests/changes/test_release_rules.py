"""The rules of services/releases.py one by one, at the service level (both databases): the
planning form's checks and what a new release records, the lists, the test gate's record,
scheduling's window, each deployment outcome's record, and the reminder plan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.db import Database
from models.incident import Level
from models.policy import Policy
from models.release import ReleaseStatus
from services import audit, changes, releases
from services.clock import ManualClock
from services.errors import FieldError, Forbidden, InvalidInput, NotAllowed
from services.permissions import Actor
from tests.changes.conftest import (
    REQUESTER,
    WINDOW_END,
    WINDOW_START,
    Submit,
    approved_change,
    later,
)
from tests.changes.release_support import (
    MANAGER,
    PLANNER,
    make_release,
    to_scheduled,
)

STRANGER = Actor("USTRANGER")


def _plan(database: Database, clock: ManualClock, **given: object):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {
        "name": "Payments",
        "version": "2.4.0",
        "change_keys": [],
        "release_manager": MANAGER.user_id,
        "release_plan": "Blue/green switch",
        "backout_plan": "Switch back to blue",
        "actor": PLANNER,
        "now": clock.now(),
    }
    values.update(given)
    with database.session() as session:
        release = releases.create(session, **values)  # type: ignore[arg-type]
        return release.key


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"name": "  \t "}, "name", "Give the release a name."),
        ({"version": "   "}, "version", "Give the release a version."),
        (
            {"backout_plan": " \n "},
            "backout_plan",
            "Say how the release will be backed out if it fails.",
        ),
        ({"window_start": WINDOW_START}, "window_end", "Give the deployment window's end."),
        ({"window_end": WINDOW_END}, "window_start", "Give the deployment window's start."),
        (
            {"window_start": WINDOW_START, "window_end": WINDOW_START},
            "window_end",
            "The deployment window must end after it starts.",
        ),
        (
            {"window_start": WINDOW_START - later(24 * 30), "window_end": WINDOW_END},
            "window_start",
            "The deployment window starts in the past.",
        ),
        ({"change_keys": ["CHG-999"]}, "changes", "There is no change CHG-999."),
    ],
)
def test_a_planning_form_is_refused_by_field(database, clock, given, field, message) -> None:
    with pytest.raises(FieldError) as refused:
        _plan(database, clock, **given)
    assert (refused.value.field, str(refused.value)) == (field, message)
    with database.session() as session:
        assert releases.list_releases(session) == []


def test_a_key_that_is_not_a_change_key_is_named_in_the_changes_field(database, clock) -> None:
    with pytest.raises(FieldError) as refused:
        _plan(database, clock, change_keys=["REL-1"])
    assert refused.value.field == "changes"
    assert str(refused.value).startswith("'REL-1' is not a change key")


def test_only_agents_plan_releases(database, clock) -> None:
    with pytest.raises(Forbidden) as refused:
        _plan(database, clock, actor=MANAGER)
    assert str(refused.value).startswith(
        "Refused, because only service desk agents can plan releases."
    )


def test_a_new_release_records_its_fields_its_bundle_and_the_audit(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    first = approved_change(database, clock, policy, awaiting)
    second = approved_change(database, clock, policy, awaiting, targets=["Intranet"])
    key = _plan(
        database,
        clock,
        name="  Payments \t  spring  ",
        version=" 2.4.0 ",
        release_plan="  Blue/green  ",
        backout_plan="  Blue again  ",
        change_keys=[f" {second.lower()} ", first, "", second],
        window_start=WINDOW_START,
        window_end=WINDOW_END,
    )
    with database.session() as session:
        release = releases.get(session, key=key)
        assert (release.name, release.version, release.status) == (
            "Payments spring",
            "2.4.0",
            "planned",
        )
        assert (release.release_plan, release.backout_plan) == ("Blue/green", "Blue again")
        assert (release.release_manager, release.created_by) == (MANAGER.user_id, "UMGR1")
        assert (release.window_start, release.window_end) == (WINDOW_START, WINDOW_END)
        assert release.created_at == clock.now() and release.updated_at == clock.now()
        assert [c.key for c in releases.bundled_changes(session, key=key)] == [first, second]
        # What the bundled changes touch, case aside, in order.
        assert releases.targets(session, key=key) == ["Intranet", "Payments"]
        [created] = audit.trail(session, key=key)
        assert (created.action, created.actor, created.field, created.to_value, created.note) == (
            "created",
            "UMGR1",
            "status",
            "planned",
            f"Payments spring 2.4.0; changes: {second}, {first}",
        )
        for change_key in (first, second):
            bundled = audit.trail(session, key=change_key)[-1]
            assert (bundled.action, bundled.field, bundled.to_value, bundled.actor) == (
                "bundled",
                "release",
                key,
                "UMGR1",
            )
    empty = _plan(database, clock)
    with database.session() as session:
        assert audit.trail(session, key=empty)[0].note == "Payments 2.4.0; changes: none"
        assert releases.targets(session, key=empty) == []


def test_a_form_delivered_twice_plans_one_release(database, clock) -> None:
    first = _plan(database, clock, submission_id="V1")
    assert _plan(database, clock, submission_id="V1", name="Other") == first
    with database.session() as session:
        assert [r.key for r in releases.list_releases(session)] == [first]
        assert releases.find_by_submission(session, submission_id="V1").key == first
        assert releases.find_by_submission(session, submission_id="V2") is None
        assert len(audit.trail(session, key=first)) == 1


def test_lists_are_newest_first_by_status_and_manager(database, clock) -> None:
    first = _plan(database, clock)
    clock.advance(timedelta(minutes=1))
    second = _plan(database, clock, release_manager="UOTHER")
    third = _plan(database, clock)  # the same instant: the later id first
    with database.session() as session:
        releases.cancel(session, key=first, actor=MANAGER, now=clock.now())

        def keys(**given):  # type: ignore[no-untyped-def]
            return [r.key for r in releases.list_releases(session, **given)]

        assert keys() == [third, second, first]
        assert keys(limit=2) == [third, second]
        assert keys(status="planned") == [third, second]
        assert keys(status=ReleaseStatus.CANCELLED) == [first]
        assert keys(mine="UOTHER") == [second]
        assert keys(mine=MANAGER.user_id, status="planned") == [third]
        with pytest.raises(ValueError):
            keys(status="nonsense")


def test_a_test_result_is_recorded_once_checked(database, clock) -> None:
    key = _plan(database, clock)
    with database.session() as session:
        releases.build(session, key=key, actor=MANAGER, now=clock.now())
        with pytest.raises(Forbidden):
            releases.record_test(
                session, key=key, passed=True, note="x", actor=STRANGER, now=clock.now()
            )
        with pytest.raises(FieldError) as refused:
            releases.record_test(
                session, key=key, passed=True, note="  ", actor=MANAGER, now=clock.now()
            )
        assert (refused.value.field, str(refused.value)) == (
            "note",
            "Say in a sentence what was tested and how it went.",
        )
        assert releases.get(session, key=key).state is ReleaseStatus.BUILT
        failed = releases.record_test(
            session, key=key, passed=False, note="  Smoke failed ", actor=MANAGER, now=clock.now()
        )
        assert (failed.passed, failed.note, failed.recorded_by) == (False, "Smoke failed", "UMGR1")
    clock.advance(timedelta(minutes=5))
    with database.session() as session:
        releases.record_test(
            session, key=key, passed=True, note="ok", actor=PLANNER, now=clock.now()
        )
        assert [(t.passed, t.note) for t in releases.tests(session, key=key)] == [
            (False, "Smoke failed"),
            (True, "ok"),
        ]
        rows = [r for r in audit.trail(session, key=key) if r.action == "test recorded"]
        assert [(r.field, r.to_value, r.note) for r in rows] == [
            ("test", "failed", "Smoke failed"),
            ("test", "passed", "ok"),
        ]


def test_scheduling_takes_the_planned_window_or_a_new_one(database, clock) -> None:
    planned = _plan(database, clock, window_start=WINDOW_START, window_end=WINDOW_END)
    unplanned = _plan(database, clock)
    for key in (planned, unplanned):
        with database.session() as session:
            releases.build(session, key=key, actor=MANAGER, now=clock.now())
            releases.record_test(
                session, key=key, passed=True, note="ok", actor=MANAGER, now=clock.now()
            )
    with database.session() as session:
        releases.schedule(session, key=planned, actor=MANAGER, now=clock.now())
        assert audit.trail(session, key=planned)[-1].note == (
            "2026-12-01 20:00 to 2026-12-01 22:00 UTC"
        )
        with pytest.raises(FieldError) as refused:
            releases.schedule(session, key=unplanned, actor=MANAGER, now=clock.now())
        assert (refused.value.field, str(refused.value)) == (
            "window_start",
            "Give the deployment window's start.",
        )
        with pytest.raises(FieldError, match="must end after it starts"):
            releases.schedule(
                session,
                key=unplanned,
                actor=MANAGER,
                now=clock.now(),
                start=WINDOW_END,
                end=WINDOW_START,
            )
        moved = releases.schedule(
            session,
            key=planned,
            actor=MANAGER,
            now=clock.now(),
            start=WINDOW_START + later(24),
            end=WINDOW_END + later(24),
        )
        assert (moved.window_start, moved.window_end) == (
            WINDOW_START + later(24),
            WINDOW_END + later(24),
        )
        assert audit.trail(session, key=planned)[-1].note == (
            "2026-12-02 20:00 to 2026-12-02 22:00 UTC"
        )


def test_a_deployment_needs_a_passed_latest_test(database, clock) -> None:
    key = _plan(database, clock, window_start=WINDOW_START, window_end=WINDOW_END)
    to_scheduled(database, clock, key, passed=True)
    with database.session() as session:
        with pytest.raises(Forbidden):
            releases.deploy(session, key=key, actor=STRANGER, now=clock.now())
        releases.build(session, key=key, actor=MANAGER, now=clock.now())
        releases.record_test(
            session, key=key, passed=False, note="broke", actor=MANAGER, now=clock.now()
        )
        with pytest.raises(NotAllowed) as refused:
            releases.schedule(session, key=key, actor=MANAGER, now=clock.now())
        assert str(refused.value) == (
            f"{key}'s latest test failed; fix it, rebuild and record a passed test before "
            "scheduling."
        )


def test_a_successful_deployment_is_recorded_with_or_without_a_note(database, clock) -> None:
    quiet = _plan(database, clock, window_start=WINDOW_START, window_end=WINDOW_END)
    noted = _plan(database, clock, window_start=WINDOW_START, window_end=WINDOW_END)
    for key in (quiet, noted):
        to_scheduled(database, clock, key, passed=True)
    clock.set(WINDOW_START)
    with database.session() as session:
        for key, note in ((quiet, "   "), (noted, "  All green ")):
            releases.deploy(session, key=key, actor=MANAGER, now=clock.now())
            with pytest.raises(Forbidden):
                releases.finish_deployment(
                    session,
                    key=key,
                    succeeded=True,
                    note="",
                    actor=STRANGER,
                    now=clock.now(),
                    policy=Policy(),
                )
            result = releases.finish_deployment(
                session,
                key=key,
                succeeded=True,
                note=note,
                actor=MANAGER,
                now=clock.now(),
                policy=Policy(),
            )
            assert (result.succeeded, result.change_keys, result.backout_plan) == (True, (), None)
            assert result.release.deployed_at == clock.now()
        assert audit.trail(session, key=quiet)[-1].note is None
        assert audit.trail(session, key=noted)[-1].note == "All green"


def test_a_failed_deployment_opens_an_incident_that_says_what_failed(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    # A change on something the policy does not know as a service: the incident has none.
    change = approved_change(database, clock, policy, awaiting, targets=["intranet"])
    key = _plan(
        database, clock, change_keys=[change], window_start=WINDOW_START, window_end=WINDOW_END
    )
    to_scheduled(database, clock, key, passed=True)
    with database.session() as session:
        releases.deploy(session, key=key, actor=MANAGER, now=clock.now())
        result = releases.finish_deployment(
            session,
            key=key,
            succeeded=False,
            note="  Green failed its health checks ",
            actor=MANAGER,
            now=clock.now(),
            policy=policy,
        )
        incident = result.incident
        assert incident is not None and result.change_keys == (change,)
        assert incident.title == f"Deployment of Payments 2.4.0 ({key}) failed"
        assert incident.description == (
            "Green failed its health checks\n\nBackout plan:\nSwitch back to blue"
        )
        assert (incident.impact, incident.urgency) == (Level.MEDIUM.value, Level.HIGH.value)
        assert (incident.service, incident.category, incident.reporter) == (
            None,
            "software",
            "UMGR1",
        )
        [failed] = [r for r in audit.trail(session, key=key) if r.action == "failed"]
        assert (failed.to_value, failed.note) == ("failed", "Green failed its health checks")
        assert changes.get(session, key=change).state.value == "approved"
        with pytest.raises(Forbidden):
            releases.roll_back(session, key=key, actor=STRANGER, now=clock.now(), note="x")
        releases.roll_back(session, key=key, actor=MANAGER, now=clock.now(), note="   ")
        assert audit.trail(session, key=key)[-1].note is None
        assert releases.get(session, key=key).state is ReleaseStatus.ROLLED_BACK


def test_without_a_software_category_the_incident_has_none(database, clock) -> None:
    plain = Policy.model_validate({"incidents": {"categories": ["hardware"]}})
    key = _plan(database, clock, window_start=WINDOW_START, window_end=WINDOW_END)
    to_scheduled(database, clock, key, passed=True)
    with database.session() as session:
        releases.deploy(session, key=key, actor=MANAGER, now=clock.now())
        result = releases.finish_deployment(
            session,
            key=key,
            succeeded=False,
            note="x",
            actor=MANAGER,
            now=clock.now(),
            policy=plain,
        )
        assert result.incident is not None and result.incident.category is None


def test_reminders_only_for_a_window_and_a_release_not_yet_out(database, clock) -> None:
    policy = Policy.model_validate(
        {"releases": {"before_start": ["1h", "1d", "1h"], "at_start": False}}
    )
    key = _plan(database, clock, window_start=WINDOW_START, window_end=WINDOW_END)
    unplanned = _plan(database, clock)
    with database.session() as session:
        release = releases.get(session, key=key)
        assert releases.reminder_plan(release, policy) == [
            ("before_start:1d", WINDOW_START - later(24), MANAGER.user_id),
            ("before_start:1h", WINDOW_START - later(1), MANAGER.user_id),
        ]
        assert releases.reminder_plan(releases.get(session, key=unplanned), policy) == []
        for state in ReleaseStatus:
            release.status = state.value
            expected = state in (
                ReleaseStatus.PLANNED,
                ReleaseStatus.BUILT,
                ReleaseStatus.TESTED,
                ReleaseStatus.SCHEDULED,
            )
            assert bool(releases.reminder_plan(release, policy)) is expected, state
        session.rollback()


def test_cancel_is_the_managers_and_keeps_the_changes_free(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    change = approved_change(database, clock, policy, awaiting)
    key = make_release(database, clock, [change])
    with database.session() as session:
        with pytest.raises(Forbidden):
            releases.cancel(session, key=key, actor=Actor(REQUESTER), now=clock.now())
        releases.cancel(session, key=key, actor=MANAGER, now=clock.now(), note="Not needed")
        row = audit.trail(session, key=key)[-1]
        assert (row.action, row.to_value, row.note) == ("cancel", "cancelled", "Not needed")
    # Free to go into another release.
    assert make_release(database, clock, [change]) != key
    with pytest.raises(InvalidInput):
        with database.session() as session:
            releases.get(session, key="nonsense")


def test_a_release_is_linked_to_the_configuration_items_its_changes_touch(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    from models.cmdb import CIType
    from models.links import RecordLink
    from services import cmdb
    from tests.permissions_support import editor

    with database.session() as session:
        item = cmdb.create_item(
            session, name="payments-db", type=CIType.DATABASE, actor=editor("U1"), now=clock.now()
        ).key
    on_item = approved_change(database, clock, policy, awaiting, targets=["payments-db"])
    on_service = approved_change(database, clock, policy, awaiting)  # "payments": no item
    clock.advance(timedelta(minutes=3))
    key = _plan(database, clock, change_keys=[on_item, on_service])
    with database.session() as session:
        found = [
            (link.a, link.b, link.kind, link.created_by, link.created_at)
            for link in session.exec(select(RecordLink)).all()
        ]
        assert found == [(key, item, cmdb.ITEM_LINK, PLANNER.user_id, clock.now())]
        assert [(e.action, e.actor, e.to_value) for e in audit.trail(session, key=key)][-1] == (
            "linked",
            PLANNER.user_id,
            item,
        )


def test_a_change_not_yet_approved_is_not_bundled(
    database: Database, clock: ManualClock, awaiting: Submit
) -> None:
    pending = awaiting()
    with pytest.raises(FieldError) as refused:
        _plan(database, clock, change_keys=[pending])
    assert (refused.value.field, str(refused.value)) == (
        "changes",
        f"{pending} is Awaiting approval; a release bundles only approved or scheduled changes.",
    )
