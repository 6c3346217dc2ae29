"""Releases: bundling approved changes, the test gate, deployment outcomes, links, reminders."""

from __future__ import annotations

import pytest

from bot.db import Database
from models.change import ChangeStatus
from models.incident import IncidentStatus
from models.policy import Policy
from models.release import ReleaseStatus
from services import audit, changes, incidents, links, releases
from services.clock import ManualClock
from services.errors import FieldError, Forbidden, NotAllowed
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


def test_only_approved_or_scheduled_changes_can_be_bundled(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    pending = awaiting()
    with pytest.raises(FieldError, match="Awaiting approval") as refused:
        make_release(database, clock, [pending])
    assert refused.value.field == "changes"
    with pytest.raises(FieldError) as refused:
        make_release(database, clock, ["CHG-99"])
    assert refused.value.field == "changes"
    with database.session() as session:
        assert releases.list_releases(session) == []
    approved = approved_change(database, clock, policy, awaiting)
    key = make_release(database, clock, [approved])
    with database.session() as session:
        assert key == "REL-1"
        assert [c.key for c in releases.bundled_changes(session, key=key)] == [approved]
        assert releases.get(session, key=key).state is ReleaseStatus.PLANNED


def test_release_cannot_deploy_untested(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = make_release(database, clock, [approved_change(database, clock, policy, awaiting)])
    with database.session() as session:
        with pytest.raises(NotAllowed, match="has not been tested"):
            releases.deploy(session, key=key, actor=MANAGER, now=clock.now())


def test_release_cannot_be_scheduled_or_deployed_after_a_failed_test(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = make_release(database, clock, [approved_change(database, clock, policy, awaiting)])
    with database.session() as session:
        releases.build(session, key=key, actor=MANAGER, now=clock.now())
        releases.record_test(
            session, key=key, passed=False, note="Regression suite", actor=MANAGER, now=clock.now()
        )
    with database.session() as session:
        with pytest.raises(NotAllowed, match="latest test failed"):
            releases.schedule(session, key=key, actor=MANAGER, now=clock.now())
        assert releases.get(session, key=key).state is ReleaseStatus.TESTED
        with pytest.raises(NotAllowed, match="latest test failed"):
            releases.deploy(session, key=key, actor=MANAGER, now=clock.now())
        trail = [
            (e.action, e.to_value, e.note)
            for e in audit.trail(session, key=key)
            if e.action == "test recorded"
        ]
        assert trail == [("test recorded", "failed", "Regression suite")]


def test_a_scheduled_release_can_be_rebuilt_or_cancelled(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = make_release(database, clock, [approved_change(database, clock, policy, awaiting)])
    to_scheduled(database, clock, key, passed=True)
    with database.session() as session:
        # Back to build and test: it needs a new passed test before it is scheduled again.
        assert releases.build(session, key=key, actor=MANAGER, now=clock.now()).state is (
            ReleaseStatus.BUILT
        )
        releases.record_test(
            session, key=key, passed=False, note="Broken", actor=MANAGER, now=clock.now()
        )
        with pytest.raises(NotAllowed, match="latest test failed"):
            releases.schedule(session, key=key, actor=MANAGER, now=clock.now())
        release = releases.cancel(session, key=key, actor=MANAGER, now=clock.now(), note="Dropped")
        assert release.state is ReleaseStatus.CANCELLED
        with pytest.raises(NotAllowed, match="REL-1 is Cancelled, so it cannot be marked built"):
            releases.build(session, key=key, actor=MANAGER, now=clock.now())
    with (
        database.session() as session,
        pytest.raises(
            Forbidden, match="only the release manager or a service desk agent can cancel"
        ),
    ):
        releases.cancel(session, key=key, actor=Actor("USTRANGER"), now=clock.now())


def test_a_passed_retest_opens_the_gate(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = make_release(database, clock, [approved_change(database, clock, policy, awaiting)])
    with database.session() as session:
        releases.build(session, key=key, actor=MANAGER, now=clock.now())
        releases.record_test(
            session, key=key, passed=False, note="Two failures", actor=MANAGER, now=clock.now()
        )
        releases.record_test(
            session, key=key, passed=True, note="All green", actor=MANAGER, now=clock.now()
        )
        releases.schedule(session, key=key, actor=MANAGER, now=clock.now())
        release = releases.deploy(session, key=key, actor=MANAGER, now=clock.now())
        assert release.state is ReleaseStatus.DEPLOYING


def test_deployed_release_moves_its_changes_to_review(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    first = approved_change(database, clock, policy, awaiting)
    second = approved_change(database, clock, policy, awaiting)
    with database.session() as session:
        changes.schedule(
            session, key=second, actor=Actor(REQUESTER), now=clock.now(), policy=policy
        )
    key = make_release(database, clock, [first, second])
    to_scheduled(database, clock, key, passed=True)
    clock.set(WINDOW_START)
    with database.session() as session:
        releases.deploy(session, key=key, actor=MANAGER, now=clock.now())
        result = releases.finish_deployment(
            session, key=key, succeeded=True, note="", actor=MANAGER, now=clock.now(), policy=policy
        )
    assert result.succeeded and result.incident is None
    assert result.change_keys == (first, second)
    with database.session() as session:
        assert releases.get(session, key=key).state is ReleaseStatus.DEPLOYED
        for change_key in (first, second):
            assert changes.get(session, key=change_key).state is ChangeStatus.REVIEW
            last = audit.trail(session, key=change_key)[-1]
            assert (last.action, last.to_value, last.note) == (
                "release_deployed",
                "review",
                f"deployed by {key}",
            )
        releases.close(session, key=key, actor=MANAGER, now=clock.now())


def test_failed_deployment_opens_an_incident_linked_to_release_and_changes(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    first = approved_change(database, clock, policy, awaiting)
    second = approved_change(database, clock, policy, awaiting, targets=["intranet"])
    key = make_release(database, clock, [first, second])
    to_scheduled(database, clock, key, passed=True)
    with database.session() as session:
        releases.deploy(session, key=key, actor=MANAGER, now=clock.now())
        with pytest.raises(FieldError, match=r"Say what failed in the deployment\."):
            releases.finish_deployment(
                session,
                key=key,
                succeeded=False,
                note=" ",
                actor=MANAGER,
                now=clock.now(),
                policy=policy,
            )
        result = releases.finish_deployment(
            session,
            key=key,
            succeeded=False,
            note="Health checks failed on green",
            actor=MANAGER,
            now=clock.now(),
            policy=policy,
        )
    assert not result.succeeded
    assert result.backout_plan == "Switch back to blue"
    assert result.incident is not None
    incident_key = result.incident.key
    with database.session() as session:
        incident = incidents.get(session, key=incident_key)
        assert incident.state is IncidentStatus.NEW
        assert incident.service == "Payments"
        assert key in incident.title
        linked = set(links.linked(session, key=incident_key, kind="caused by"))
        assert linked == {key, first, second}
        assert links.linked(session, key=key) == [incident_key]
        assert releases.get(session, key=key).state is ReleaseStatus.FAILED
        # The changes stay where they were: the deployment did not implement them.
        assert changes.get(session, key=first).state is ChangeStatus.APPROVED
        releases.roll_back(session, key=key, actor=MANAGER, now=clock.now(), note="Blue again")
        releases.close(session, key=key, actor=MANAGER, now=clock.now())
        assert releases.get(session, key=key).state is ReleaseStatus.CLOSED


def test_links_are_unique_and_read_from_both_sides(database: Database, clock: ManualClock) -> None:
    with database.session() as session:
        created = links.link(
            session, a="INC-1", b="chg-2", kind="caused by", actor="U1", now=clock.now()
        )
        again = links.link(
            session, a="INC-1", b="CHG-2", kind="caused by", actor="U1", now=clock.now()
        )
        links.link(session, a="PRB-3", b="CHG-2", kind="fixed by", actor="U1", now=clock.now())
    assert created and not again
    with database.session() as session:
        both = links.linked(session, key="CHG-2")
        assert both == ["INC-1", "PRB-3"]
        assert links.linked(session, key="CHG-2", kind="fixed by") == ["PRB-3"]
        assert [e.action for e in audit.trail(session, key="CHG-2")] == ["linked", "linked"]


def test_release_reminder_plan(
    database: Database, clock: ManualClock, policy: Policy, awaiting: Submit
) -> None:
    key = make_release(database, clock, [approved_change(database, clock, policy, awaiting)])
    with database.session() as session:
        plan = releases.reminder_plan(releases.get(session, key=key), policy)
    assert plan == [
        ("before_start:1d", WINDOW_START - later(24), MANAGER.user_id),
        ("before_start:1h", WINDOW_START - later(1), MANAGER.user_id),
        ("at_start", WINDOW_START, MANAGER.user_id),
    ]


def test_release_form_errors_name_the_field(database: Database, clock: ManualClock) -> None:
    with database.session() as session:
        with pytest.raises(FieldError) as refused:
            releases.create(
                session,
                name="Payments",
                version="2.4.0",
                change_keys=[],
                release_manager="UMGR1",
                release_plan="",
                backout_plan="",
                actor=PLANNER,
                now=clock.now(),
            )
        assert refused.value.field == "backout_plan"
        with pytest.raises(FieldError) as refused:
            releases.create(
                session,
                name="Payments",
                version="2.4.0",
                change_keys=[],
                release_manager="UMGR1",
                release_plan="",
                backout_plan="Revert",
                actor=PLANNER,
                now=clock.now(),
                window_start=WINDOW_END,
                window_end=WINDOW_START,
            )
        assert refused.value.field == "window_end"
